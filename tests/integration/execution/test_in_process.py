"""In-process execution on the controller and one vSphere session per run, end to end: real
``ansible-playbook`` runs against the simulator, results read back through the simulator's request
trace and pyVmomi."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import BIN, ROOT, ansible_env, connect, run_playbook

pytestmark = pytest.mark.shared_state

SHIPPED = {"VMCHANNELS_IN_PROCESS": "false"}
VMCI_ALLOW_HYPERVISOR = [{"action": "allow", "protocol": "hypervisor", "direction": "anyDirection"}]


def _scenario(sim):
    """Tasks that exercise what a result carries: read, check mode with diff, change, rerun, a
    warning, a failure with error_kind, bad input, no_log, and the VMWARE_* variables coming from
    the task's environment keyword instead of the controller's environment."""
    network_port = [{"number": 1, "backing": {"type": "network", "service_uri": "telnet://:7001",
                                              "direction": "server"}}]
    env = sim.env()
    return [
        {"name": "read", "vmchannels.vsphere.vm_serial_port_info": {"name": "DC0_H0_VM0"}},
        {"name": "check", "check_mode": True, "diff": True,
         "vmchannels.vsphere.vm_serial_port": {"name": "DC0_H0_VM1", "allow_power_cycle": True,
                                               "serial_ports": network_port}},
        {"name": "change", "diff": True,
         "vmchannels.vsphere.vm_serial_port": {"name": "DC0_H0_VM1", "allow_power_cycle": True,
                                               "serial_ports": network_port}},
        {"name": "rerun", "vmchannels.vsphere.vm_serial_port": {"name": "DC0_H0_VM1", "serial_ports": network_port}},
        {"name": "vmci", "vmchannels.vsphere.vm_vmci_filter": {"moid": "vm-57", "rules": VMCI_ALLOW_HYPERVISOR}},
        {"name": "firewall", "vmchannels.vsphere.esxi_serial_firewall_ruleset": {
            "cluster_name": "DC0_C0", "rulesets": ["vSPC"], "state": "enabled"}},
        {"name": "missing", "ignore_errors": True,
         "vmchannels.vsphere.vm_serial_port_info": {"name": "no-such-vm"}},
        {"name": "invalid", "ignore_errors": True,
         "vmchannels.vsphere.vm_serial_port": {"name": "DC0_H0_VM0", "serial_ports": [{"number": 40}]}},
        {"name": "from task environment", "environment": env,
         "vmchannels.vsphere.vm_vmci_filter_info": {"name": "DC0_H0_VM0"}},
        {"name": "password given as an option", "no_log": False,
         "vmchannels.vsphere.vm_serial_port_info": {"name": "DC0_H0_VM0", "password": env["VMWARE_PASSWORD"]}},
    ]


def _results(run, sim):
    text = json.dumps([[e["task"], e["status"], e["result"]] for e in run.results], sort_keys=True)
    results = json.loads(text.replace('"port": %d' % sim.port, '"port": "PORT"').replace(":%d" % sim.port, ":PORT"))
    for _task, _status, result in results:
        # Before ansible-core 2.19, fail_json at -vvv adds the module's traceback: its file names are
        # those of the AnsiballZ payload when shipped, of the checkout in-process. Its presence counts.
        if isinstance(result.get("exception"), str):
            result["exception"] = "<the module's traceback>"
    return results


@pytest.mark.matrix
def test_results_are_those_of_the_shipped_module(fresh_vcsim, tmp_path):
    runs = {}
    for mode, env in (("in-process", {}), ("shipped", SHIPPED)):
        sim = fresh_vcsim()
        plays = [{"hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": _scenario(sim)}]
        # the connection settings come from the task's environment keyword only in the last tasks
        run = run_playbook(tmp_path, plays, sim=sim, env=env, args=["-vvv"], name=mode)
        assert run.rc == 0, run
        runs[mode] = (run, _results(run, sim), sim)
    fast, shipped = runs["in-process"], runs["shipped"]
    assert [r[:2] for r in fast[1]] == [r[:2] for r in shipped[1]]
    for mine, theirs in zip(fast[1], shipped[1]):
        assert mine == theirs, mine[0]
    # the path each took, as -vvv tells it
    assert fast[0].stdout.count("inside the Ansible worker") == len(fast[1])
    assert "as a shipped module (turned off by vmchannels_in_process / VMCHANNELS_IN_PROCESS)" in shipped[0].stdout
    assert "inside the Ansible worker" not in shipped[0].stdout
    # what the scenario checks, so that equal results are not equally wrong
    by_name = dict((r[0], r) for r in fast[1])
    assert by_name["check"][2]["changed"] is True and by_name["check"][2]["diff"]
    assert by_name["change"][2]["changed"] is True and by_name["rerun"][2]["changed"] is False
    assert any("remoteSerialPort" in w for w in by_name["change"][2].get("warnings", [])) or \
        "remoteSerialPort" in fast[0].stdout
    assert by_name["missing"][1] == "failed" and by_name["missing"][2]["error_kind"] == "not_found"
    assert by_name["invalid"][1] == "failed" and "40" in by_name["invalid"][2]["msg"]
    assert by_name["from task environment"][1] == "ok"
    run, _results_, sim = fast
    assert sim.password not in run.stdout + run.stderr
    # The shipped path is not held to this: at -vvv Ansible prints the EXEC command line of a
    # shipped module, and with it the task's environment keyword (VMWARE_PASSWORD=...).
    assert sim.password in shipped[0].stdout
    for run, _results_, sim in runs.values():
        assert "vmware_soap_session" not in run.stdout + run.stderr
    # both changed the VM the same way, as the simulator tells
    for _run, _res, sim in runs.values():
        service_instance = connect(sim)
        vm = service_instance.content.searchIndex.FindByInventoryPath("DC0/vm/DC0_H0_VM1")
        ports = [d for d in vm.config.hardware.device if d.__class__.__name__.endswith("VirtualSerialPort")]
        assert [p.backing.serviceURI for p in ports] == ["telnet://:7001"]


@pytest.mark.matrix
def test_one_login_per_run_logged_out_at_its_end(fresh_vcsim, tmp_path):
    sim = fresh_vcsim()
    tasks = [
        {"name": "read %d" % i, "vmchannels.vsphere.vm_serial_port_info": {"name": vm}}
        for i, vm in enumerate(["DC0_H0_VM0", "DC0_H0_VM1", "DC0_C0_RP0_VM0"])
    ] + [{"name": "change", "vmchannels.vsphere.vm_vmci_filter": {"name": "DC0_H0_VM0", "rules": VMCI_ALLOW_HYPERVISOR}}]
    sim.reset_trace()
    run = run_playbook(tmp_path, tasks, sim=sim)
    assert run.rc == 0, run
    requests = sim.soap_requests()
    methods = [r["method"] for r in requests]
    assert methods.count("Login") == 1 and methods.count("Logout") == 1
    assert methods[-1] == "Logout"
    # every authenticated request, the logout included, used the one session
    sessions = set(r["session"] for r in requests if r["method"] not in ("RetrieveServiceContent", "Login"))
    assert len(sessions) == 1 and "" not in sessions
    # per task, logins aside: a read is RetrieveServiceContent + look-up + read; the change waits
    # on a private collector
    assert methods.count("RetrieveServiceContent") == 4  # one per task; the logout needs none
    assert methods.count("CreatePropertyCollector") == methods.count("DestroyPropertyCollector") == 1


def test_shared_session_can_be_turned_off(fresh_vcsim, tmp_path):
    sim = fresh_vcsim()
    tasks = [{"name": "read %d" % i, "vmchannels.vsphere.vm_serial_port_info": {"name": "DC0_H0_VM0"}}
             for i in range(3)]
    plays = [{"hosts": "localhost", "connection": "local", "gather_facts": False,
              "vars": {"vmchannels_shared_session": False}, "tasks": tasks}]
    sim.reset_trace()
    assert run_playbook(tmp_path, plays, sim=sim).rc == 0
    calls = sim.soap_calls()
    assert calls["Login"] == calls["Logout"] == 3
    sim.reset_trace()
    assert run_playbook(tmp_path, tasks, sim=sim, env={"VMCHANNELS_SHARED_SESSION": "0"}).rc == 0
    assert sim.soap_calls()["Login"] == 3


@pytest.mark.matrix
def test_parallel_forks_share_one_session_and_wait_on_their_own_collectors(fresh_vcsim, tmp_path):
    sim = fresh_vcsim(vm=5)
    vms = ["DC0_H0_VM%d" % v for v in range(5)] + ["DC0_C0_RP0_VM%d" % v for v in range(5)]
    inventory = tmp_path / "inventory.ini"
    inventory.write_text("[vms]\n" + "\n".join(vms) + "\n")
    plays = [{"hosts": "vms", "gather_facts": False, "tasks": [
        {"name": "filter", "delegate_to": "localhost",
         "vmchannels.vsphere.vm_vmci_filter": {"name": "{{ inventory_hostname }}", "rules": VMCI_ALLOW_HYPERVISOR}},
    ]}]
    sim.reset_trace()
    run = run_playbook(tmp_path, plays, sim=sim, inventory=str(inventory), args=["--forks", "5"])
    assert run.rc == 0, run
    assert len([e for e in run.results if e["status"] == "ok" and e["result"]["changed"]]) == len(vms)
    calls = sim.soap_calls()
    assert 1 <= calls["Login"] <= 2 and calls["Logout"] == calls["Login"]
    assert calls["ReconfigVM_Task"] == len(vms)
    assert calls["CreatePropertyCollector"] == calls["DestroyPropertyCollector"] == len(vms)
    service_instance = connect(sim)
    search = service_instance.content.searchIndex
    filtered = [name for name in vms if any(
        getattr(getattr(d, "filterInfo", None), "filters", None)
        for d in search.FindByInventoryPath("DC0/vm/" + name).config.hardware.device)]
    assert sorted(filtered) == sorted(vms)


@pytest.mark.matrix
def test_an_ended_session_is_replaced_without_failing_the_task(fresh_vcsim, tmp_path):
    sim = fresh_vcsim()
    terminate = tmp_path / "terminate.py"
    terminate.write_text(
        "import sys\n"
        "from pyVim.connect import SmartConnect\n"
        "si = SmartConnect(host=sys.argv[1], port=int(sys.argv[2]), user=sys.argv[3], pwd=sys.argv[4],\n"
        "                  disableSslCertValidation=True)\n"
        "manager = si.content.sessionManager\n"
        "mine = manager.currentSession.key\n"
        "others = [x.key for x in manager.sessionList if x.key != mine]\n"
        "manager.TerminateSession(others)\n"
        "print(len(others))\n"
    )
    tasks = [
        {"name": "before", "vmchannels.vsphere.vm_serial_port_info": {"name": "DC0_H0_VM0"}},
        {"name": "end the sessions", "ansible.builtin.command": {"argv": [
            sys.executable, str(terminate), sim.host, str(sim.port), sim.username, sim.password]},
         "no_log": True},
        {"name": "after", "vmchannels.vsphere.vm_serial_port_info": {"name": "DC0_H0_VM0"}},
        {"name": "again", "vmchannels.vsphere.vm_serial_port_info": {"name": "DC0_H0_VM1"}},
    ]
    sim.reset_trace()
    run = run_playbook(tmp_path, tasks, sim=sim)
    assert run.rc == 0, run
    assert run.result("after")["vm"]["name"] == "DC0_H0_VM0"
    methods = [r["method"] for r in sim.soap_requests()]
    # our first login, the terminating script's, then the replacement of the ended session; the
    # run's last task reuses the replacement
    assert methods.count("Login") == 3
    assert methods.count("TerminateSession") == 1


@pytest.mark.matrix
def test_a_session_refused_to_concurrent_starts_is_renewed_once(fresh_vcsim, tmp_path):
    """A bulk wave sends its ReconfigVM_Task starts at once from several threads; when the shared
    session ends, vCenter refuses them all with NotAuthenticated. The first refusal renews the
    session; the others resend with the new cookie instead of logging in again or failing their
    VM. (The launcher's end_session fault ends the session at the first start, as an expiry
    would, between the read and the starts of the wave, where a TerminateSession from outside
    cannot be timed; with 200 ms per request, every start is sent before the renewal is done.)"""
    sim = fresh_vcsim(vm=3, delay_ms=200)
    vms = ["DC0_H0_VM%d" % v for v in range(3)] + ["DC0_C0_RP0_VM%d" % v for v in range(3)]
    for name in vms:
        sim.inject_faults(name, end_session={"ReconfigVM_Task": 1})
    tasks = [
        {"name": "join", "vmchannels.vsphere.vm_serial_port_info": {"name": vms[0]}},
        {"name": "bulk", "vmchannels.vsphere.vm_vmci_filter_bulk": {
            "parallel": 6, "vms": [{"name": name, "rules": VMCI_ALLOW_HYPERVISOR} for name in vms]}},
    ]
    sim.reset_trace()
    run = run_playbook(tmp_path, tasks, sim=sim)
    assert run.rc == 0, (run, run.result("bulk"), run.stderr[-3000:])
    assert [(r["vm"]["name"], r["changed"]) for r in run.result("bulk")["vms"]] == [(name, True) for name in vms]
    calls = sim.soap_calls()
    assert calls["ReconfigVM_Task"] == 2 * len(vms)  # each refused once, then sent again
    assert calls["Login"] == 2 and calls["Logout"] == 1  # the run's login and ONE renewal
    search = connect(sim).content.searchIndex
    for name in vms:
        vm = search.FindByInventoryPath("DC0/vm/" + name)
        (vmci,) = [d for d in vm.config.hardware.device if hasattr(d, "filterInfo")]
        assert [f.protocol for f in vmci.filterInfo.filters] == ["hypervisor"], name


@pytest.mark.matrix
def test_main_process_preloads_modules_types_and_store(fresh_vcsim, tmp_path):
    sim = fresh_vcsim()
    for strategy in ("linear", "free"):
        state_file = tmp_path / ("state-%s.json" % strategy)
        plays = [{"hosts": "localhost", "connection": "local", "gather_facts": False, "strategy": strategy,
                  "tasks": [{"name": "read", "vmchannels.vsphere.vm_serial_port_info": {"name": "DC0_H0_VM0"}}]}]
        env = {"MAIN_PROCESS_STATE_FILE": str(state_file),
               "ANSIBLE_CALLBACKS_ENABLED": "record_results,main_process_state"}
        run = run_playbook(tmp_path, plays, sim=sim, env=env, name=strategy)
        assert run.rc == 0, run
        state = json.loads(state_file.read_text())
        assert "vm_serial_port_info" in state["modules"], strategy
        assert state["pyvmomi"] and state["types_created"], strategy
        assert state["store_pid"] == state["pid"], strategy
        # the store lived in the run's private temporary directory, removed with it
        assert not os.path.exists(state["store_directory"])


def test_shipped_where_the_task_does_not_run_with_the_controllers_python(fresh_vcsim, tmp_path):
    sim = fresh_vcsim()
    # a virtual environment without pyVmomi: another interpreter than the controller's
    other = tmp_path / "other-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(other)], check=True)
    tasks = [
        {"name": "other interpreter", "ignore_errors": True, "vars": {"ansible_python_interpreter": str(other / "bin" / "python")},
         "vmchannels.vsphere.vm_serial_port_info": {"name": "DC0_H0_VM0"}},
        {"name": "async", "async": 60, "poll": 1, "vmchannels.vsphere.vm_serial_port_info": {"name": "DC0_H0_VM0"}},
        {"name": "here", "vmchannels.vsphere.vm_serial_port_info": {"name": "DC0_H0_VM0"}},
    ]
    run = run_playbook(tmp_path, tasks, sim=sim, args=["-vvv"])
    assert run.rc == 0, run
    assert "pyVmomi" in run.result("other interpreter")["msg"]
    assert "as a shipped module (the task's interpreter %s" % (other / "bin" / "python") in run.stdout
    assert "as a shipped module (async task)" in run.stdout
    assert run.result("async")["vm"]["name"] == run.result("here")["vm"]["name"] == "DC0_H0_VM0"


def test_task_timeout_ends_the_task_and_the_run_goes_on(fresh_vcsim, tmp_path):
    sim = fresh_vcsim(delay_ms=1500)
    tasks = [
        {"name": "first", "vmchannels.vsphere.vm_serial_port_info": {"moid": "vm-57"}},
        # with the session open, RetrieveServiceContent takes 1.5 s and the look-up is in flight
        # when the alarm ends the task
        {"name": "too slow", "timeout": 2, "ignore_errors": True,
         "vmchannels.vsphere.vm_serial_port_info": {"name": "DC0_H0_VM0"}},
        {"name": "next", "vmchannels.vsphere.vm_serial_port_info": {"moid": "vm-57"}},
    ]
    sim.reset_trace()
    run = run_playbook(tmp_path, tasks, sim=sim)
    assert run.rc == 0, run
    assert run.task("too slow")["status"] == "failed"
    assert "timed out" in run.result("too slow")["msg"].lower()
    assert run.result("next")["vm"]["moid"] == "vm-57"
    assert sim.soap_calls()["Logout"] == sim.soap_calls()["Login"]


def test_store_files_are_private_and_hold_no_password(fresh_vcsim, tmp_path):
    sim = fresh_vcsim()
    listing = tmp_path / "listing.json"
    script = (
        "import json, os, stat, sys\n"
        "import glob\n"
        "d, = glob.glob(os.path.join(sys.argv[1], 'ansible-local-*', 'vmchannels-sessions'))\n"
        "out = {'dir': oct(stat.S_IMODE(os.stat(d).st_mode)), 'files': {}}\n"
        "for n in os.listdir(d):\n"
        "    p = os.path.join(d, n)\n"
        "    out['files'][n] = [oct(stat.S_IMODE(os.stat(p).st_mode)), open(p).read()]\n"
        "json.dump(out, open(sys.argv[2], 'w'))\n"
    )
    tasks = [
        {"name": "read", "vmchannels.vsphere.vm_serial_port_info": {"name": "DC0_H0_VM0"}},
        {"name": "list", "ansible.builtin.command": {"argv": [
            sys.executable, "-c", script, str(tmp_path / "local"), str(listing)]}},
    ]
    # the run's private temporary directory (DEFAULT_LOCAL_TMP) is made under ANSIBLE_LOCAL_TEMP
    run = run_playbook(tmp_path, tasks, sim=sim, env={"ANSIBLE_LOCAL_TEMP": str(tmp_path / "local")})
    assert run.rc == 0, run
    found = json.loads(listing.read_text())
    assert found["dir"] == "0o700"
    records = [text for name, (mode, text) in found["files"].items() if name.endswith(".json")]
    assert len(records) == 1
    assert all(mode == "0o600" for mode, _text in found["files"].values())
    assert sim.password not in records[0] and sim.username in records[0]
    # the record, its lock and the VM name index the look-up by name keeps for the run's later tasks
    assert len(found["files"]) == 3, sorted(found["files"])
    (memo,) = [text for name, (_mode, text) in found["files"].items() if name.endswith(".vm-name-index.memo")]
    assert sim.password not in memo and sim.username not in memo
    assert ["VirtualMachine", "DC0_H0_VM0"] in [row[1:3] for row in json.loads(memo)]


def test_ansible_doc_and_module_files_are_unchanged_by_the_action_plugins():
    out = subprocess.run([os.path.join(BIN, "ansible-doc"), "--json", "vmchannels.vsphere.vm_serial_port"],
                         capture_output=True, text=True, check=True,
                         env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".build", "collections")))
    doc = json.loads(out.stdout)["vmchannels.vsphere.vm_serial_port"]["doc"]
    assert doc["module"] == "vm_serial_port" and "serial_ports" in doc["options"]


@pytest.mark.parametrize("module", ["vm_serial_port_bulk", "esxi_serial_firewall_ruleset_info"])
def test_run_once_tasks_use_the_shared_session(fresh_vcsim, tmp_path, module):
    sim = fresh_vcsim()
    args = {"vm_serial_port_bulk": {"vms": [{"name": "DC0_H0_VM0", "serial_ports": []}]},
            "esxi_serial_firewall_ruleset_info": {"cluster_name": "DC0_C0"}}[module]
    tasks = [{"name": "one", "vmchannels.vsphere.%s" % module: args},
             {"name": "two", "vmchannels.vsphere.%s" % module: args}]
    sim.reset_trace()
    assert run_playbook(tmp_path, tasks, sim=sim).rc == 0
    assert sim.soap_calls()["Login"] == 1


def test_an_interrupted_run_logs_its_session_out(fresh_vcsim, tmp_path):
    """Ctrl-C (SIGINT) ends ansible-playbook through its normal exit: the run itself logs the session
    out. (A killed run's sessions are ended by its reaper: test_killed_run.py.)"""
    sim = fresh_vcsim()
    playbook = tmp_path / "pause.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": [
        {"name": "read", "vmchannels.vsphere.vm_serial_port_info": {"name": "DC0_H0_VM0"}},
        {"name": "wait", "ansible.builtin.pause": {"seconds": 120}}]}]))
    sim.reset_trace()
    proc = subprocess.Popen([os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", str(playbook)],
                            env=ansible_env(sim), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, text=True)
    try:
        deadline = time.monotonic() + 120
        while "RetrievePropertiesEx" not in sim.soap_calls() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1)
        assert sim.soap_calls()["Login"] == 1 and "Logout" not in sim.soap_calls()
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert sim.soap_calls()["Logout"] == 1
