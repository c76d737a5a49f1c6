"""Concurrent runs: nothing is lost. Every port asked for is there at the end, and a concurrent edit
that vSphere refuses (stale changeVersion: ConcurrentAccess, which the launcher enforces) is retried
(vm_serial_port, vm_serial_port_bulk and vm_vmci_filter alike, one engine: read again, up to three
attempts, with a warning; tests/integration/vm_vmci_filter/test_vm_vmci_filter_retries.py for the
VMCI firewall in detail), never silently dropped.

* The retry path, proven deterministically: run A reads the VM; a TLS proxy holds A's ReconfigVM_Task
  while a whole run B changes the same VM; then A's reconfigure goes on with the changeVersion it read,
  vSphere refuses it, and A must read again and succeed.
* The same race left to chance: two ansible-playbook processes started together against a simulator
  with a per-call delay (so their reads overlap), and six runs adding six ports to one VM inside a
  bulk run with forks 20 (22 module runs at once).
* Many runs enabling the same rule set on the same host at once: the rule set ends enabled, its
  allowed-IP list and every other rule set as they were, and no UpdateRuleset is ever called.
"""
import json
import subprocess

import pytest
from vcsimctl import Simulator, soap_methods

from conftest import BIN, ansible_env, run_playbook
from reliability_support import (
    BULK,
    FW,
    SP,
    VF,
    FaultProxy,
    Reader,
    firewall_guard,
    make_pki,
    other_sessions,
)
from vsphere_helpers import power, serial_ports

# The autouse fixture, named here so that it is visibly used: scans this file's simulator traces.
pytestmark = [pytest.mark.usefixtures(firewall_guard.__name__), pytest.mark.concurrency]

RETRY_WARNING = "was changed by someone else during the run; read it again (attempt 2)"


def add_port(vm, number, **extra):
    args = {"name": vm, "serial_ports": [{"number": number, "backing": {
        "type": "network", "service_uri": "telnet://:%d" % (7000 + number)}}]}
    args.update(extra)
    return {"name": "port %d" % number, SP: args}


def uris(vm):
    return dict((n, p["backing"].get("serviceURI")) for n, p in serial_ports(vm).items())


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(str(tmp_path_factory.mktemp("pki")))


def test_refused_concurrent_edit_is_retried_or_reported(fresh_vcsim, pki, tmp_path):
    sim = fresh_vcsim(vm=1)
    with Reader(sim) as reader:
        power(reader.vm("DC0_H0_VM0"), "poweredOff")
        power(reader.vm("DC0_C0_RP0_VM0"), "poweredOff")
    vmci_b = [{"action": "deny", "protocol": "stream", "direction": "host", "ports": "2000-2010"}]
    vmci_a = [{"action": "allow", "protocol": "hypervisor", "direction": "host"}]
    inner = {}

    def run_b(tasks, name):
        def hook():
            inner[name] = run_playbook(tmp_path, tasks, sim=sim, name=name)
        return hook

    # vm_serial_port: A adds port 1 while B adds port 2 between A's read and A's reconfigure.
    proxy = FaultProxy(sim, pki["self_cert"], pki["self_key"], "ReconfigVM_Task", "hook",
                       hook=run_b([add_port("DC0_H0_VM0", 2)], "serial_b"))
    try:
        run_a = run_playbook(tmp_path, [add_port("DC0_H0_VM0", 1)], sim=sim, env=proxy.env(), name="serial_a")
    finally:
        proxy.close()
    assert proxy.fired.is_set()
    assert inner["serial_b"].rc == 0, inner["serial_b"]
    assert run_a.rc == 0, run_a
    result = run_a.result("port 1")
    assert any(RETRY_WARNING in w for w in result.get("warnings", [])), result
    assert [p["number"] for p in result["serial_ports"]] == [1, 2]
    # A sent ReconfigVM_Task twice: refused, then (after reading again) accepted.
    assert proxy.methods.count("ReconfigVM_Task") == 2

    # vm_serial_port_bulk: A adds port 3 to two VMs while B adds port 4 to one of them; A retries that one.
    proxy = FaultProxy(sim, pki["self_cert"], pki["self_key"], "ReconfigVM_Task", "hook",
                       hook=run_b([add_port("DC0_H0_VM0", 4)], "bulk_b"))
    bulk = [dict(add_port(vm, 3)[SP]) for vm in ("DC0_H0_VM0", "DC0_C0_RP0_VM0")]
    try:
        run_a = run_playbook(tmp_path, [{"name": "bulk", BULK: {"vms": bulk}}], sim=sim, env=proxy.env(),
                             name="bulk_a")
    finally:
        proxy.close()
    assert inner["bulk_b"].rc == 0, inner["bulk_b"]
    assert run_a.rc == 0, run_a
    warnings = run_a.result("bulk").get("warnings", [])
    assert any("1 VMs were changed by someone else during the run (DC0_H0_VM0)" in w for w in warnings), warnings

    # vm_vmci_filter retries the same way: A reads B's rules and replaces them with its own.
    proxy = FaultProxy(sim, pki["self_cert"], pki["self_key"], "ReconfigVM_Task", "hook",
                       hook=run_b([{"name": "rules b", VF: {"name": "DC0_H0_VM0", "rules": vmci_b}}], "vmci_b"))
    try:
        run_a = run_playbook(tmp_path, [{"name": "rules a", VF: {"name": "DC0_H0_VM0", "rules": vmci_a}}],
                             sim=sim, env=proxy.env(), name="vmci_a")
    finally:
        proxy.close()
    assert inner["vmci_b"].rc == 0, inner["vmci_b"]
    assert run_a.rc == 0, run_a
    assert any(RETRY_WARNING in w for w in run_a.result("rules a").get("warnings", [])), run_a.result("rules a")
    assert proxy.methods.count("ReconfigVM_Task") == 2
    with Reader(sim) as reader:
        vm = reader.vm("DC0_H0_VM0")
        assert uris(vm) == {1: "telnet://:7001", 2: "telnet://:7002", 3: "telnet://:7003", 4: "telnet://:7004"}
        assert uris(reader.vm("DC0_C0_RP0_VM0")) == {3: "telnet://:7003"}
        assert reader.vmci("DC0_H0_VM0")[1] == [(1, "allow", "hypervisor", "host", None, None)]
    assert other_sessions(sim) == []


def test_two_processes_editing_different_ports_of_one_vm(fresh_vcsim, tmp_path):
    sim = fresh_vcsim(vm=1, delay_ms=150)
    with Reader(sim) as reader:
        power(reader.vm("DC0_H0_VM0"), "poweredOff")
    procs = []
    for number in (1, 2):
        path = tmp_path / ("p%d.yml" % number)
        path.write_text(json.dumps([{"hosts": "localhost", "connection": "local", "gather_facts": False,
                                     "tasks": [add_port("DC0_H0_VM0", number)]}]))
        env = ansible_env(sim, {"RECORD_RESULTS_FILE": str(tmp_path / ("p%d.jsonl" % number))})
        procs.append(subprocess.Popen([BIN + "/ansible-playbook", "-i", "localhost,", str(path)], cwd=str(tmp_path),
                                      env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    results = []
    for number, proc, output in zip((1, 2), procs, outputs):
        assert proc.returncode == 0, output
        assert "Traceback" not in output
        results.append(json.loads((tmp_path / ("p%d.jsonl" % number)).read_text().splitlines()[-1])["result"])
    with Reader(sim) as reader:
        assert uris(reader.vm("DC0_H0_VM0")) == {1: "telnet://:7001", 2: "telnet://:7002"}
    assert all(r["changed"] for r in results)
    # Whether the reads overlapped is up to timing: the deterministic test above proves the retry.
    print("retries:", sum(any(RETRY_WARNING in w for w in r.get("warnings", [])) for r in results))


def test_many_runs_enable_one_rule_set_on_one_host(fresh_vcsim, tmp_path, request):
    sim = fresh_vcsim(vm=1, delay_ms=50)
    from pyVmomi import vim

    with Reader(sim) as reader:
        host = [h for h in reader._all(vim.HostSystem) if h.name == "DC0_C0_H1"][0]
        # Set-up only: a restricted allowed-IP list, which enabling must keep (declared to firewall_guard).
        request.node.update_ruleset_setup = 1
        host.configManager.firewallSystem.UpdateRuleset(id="vSPC", spec=vim.host.Ruleset.RulesetSpec(
            allowedHosts=vim.host.Ruleset.IpList(allIp=False, ipAddress=["192.0.2.7"])))
        before = reader.firewalls()
    sim.reset_trace()
    offset = sim._trace_offset
    runs = 12
    inventory = ",".join("r%02d" % i for i in range(runs)) + ","
    run = run_playbook(tmp_path, [{"hosts": "all", "connection": "local", "gather_facts": False, "tasks": [
        {"name": "enable", FW: {"esxi_hostname": "DC0_C0_H1", "rulesets": ["vSPC"]}}]}],
        sim=sim, inventory=inventory, args=["--forks", str(runs)])
    assert run.rc == 0, run
    results = [e for e in run.results if e["task"] == "enable"]
    assert len(results) == runs and all(e["status"] == "ok" for e in results)
    assert any(e["result"]["changed"] for e in results)
    with Reader(sim) as reader:
        after = reader.firewalls()
    expected = dict((h, dict(t)) for h, t in before.items())
    expected["DC0_C0_H1"]["vSPC"] = (True,) + before["DC0_C0_H1"]["vSPC"][1:]
    assert after == expected
    assert after["DC0_C0_H1"]["vSPC"] == (True, False, ("192.0.2.7",), ())
    methods = soap_methods(sim.trace_file, offset)
    assert "UpdateRuleset" not in methods
    assert set(m for m in methods if "Ruleset" in m) == {"EnableRuleset"}
    print("EnableRuleset calls:", methods.count("EnableRuleset"), "changed:",
          sum(bool(e["result"]["changed"]) for e in results))


def test_bulk_run_with_forks_20(tmp_path):
    """20 VMs configured at once (two ports each), while six more runs in the same play add six
    different ports to one more VM."""
    sim = Simulator(vm=11, delay_ms=20, trace=str(tmp_path / "trace.jsonl")).start()
    try:
        with Reader(sim) as reader:
            from pyVmomi import vim
            vms = dict((v.name, v) for v in reader._all(vim.VirtualMachine))
            for vm in vms.values():
                power(vm, "poweredOff")
        bulk = sorted(n for n in vms if n != "DC0_H0_VM10")[:20]
        hosts = dict((name, {"kind": "bulk", "index": i}) for i, name in enumerate(bulk))
        hosts.update(("contend%d" % n, {"kind": "contend", "index": n}) for n in range(1, 7))
        inventory = tmp_path / "inventory.json"
        inventory.write_text(json.dumps({"all": {"hosts": hosts}}))
        play = {"hosts": "all", "connection": "local", "gather_facts": False, "tasks": [
            {"name": "ports", "when": "kind == 'bulk'", SP: {"name": "{{ inventory_hostname }}", "serial_ports": [
                {"number": 1, "backing": {"type": "network", "service_uri": "telnet://:{{ 7100 + index }}"}},
                {"number": 2, "backing": {"type": "file", "file_path": "[LocalDS_0] {{ inventory_hostname }}/s2.log"}},
            ]}},
            {"name": "contend", "when": "kind == 'contend'", "ignore_errors": True, SP: {
                "name": "DC0_H0_VM10", "serial_ports": [
                    {"number": "{{ index }}", "backing": {"type": "network",
                                                          "service_uri": "telnet://:{{ 7200 + index }}"}}]}},
        ]}
        run = run_playbook(tmp_path, [play], sim=sim, inventory=str(inventory), args=["--forks", "20"])
        assert "Traceback" not in run.stdout + run.stderr
        by_task = {}
        for entry in run.results:
            if entry["status"] != "skipped":
                by_task.setdefault(entry["task"], {})[entry["host"]] = entry
        assert sorted(by_task["ports"]) == bulk
        assert all(e["status"] == "ok" and e["result"]["changed"] for e in by_task["ports"].values())
        contend = by_task["contend"]
        assert len(contend) == 6
        with Reader(sim) as reader:
            for i, name in enumerate(bulk):
                vm = reader.vm(name)
                assert uris(vm) == {1: "telnet://:%d" % (7100 + i), 2: None}, name
                assert serial_ports(vm)[2]["backing"]["fileName"] == "[LocalDS_0] %s/s2.log" % name
            ports = uris(reader.vm("DC0_H0_VM10"))
        # Every contending run either succeeded and its port is there, or reported the refused edit.
        for host, entry in contend.items():
            number = int(host[len("contend"):])
            if entry["status"] == "ok":
                assert ports.get(number) == "telnet://:%d" % (7200 + number), (host, ports)
            else:
                assert "ConcurrentAccess" in entry["result"]["msg"], entry["result"]
                assert number not in ports
        assert set(ports) == set(int(h[len("contend"):]) for h, e in contend.items() if e["status"] == "ok")
        retried = sum(any(RETRY_WARNING[:40] in w for w in e["result"].get("warnings", [])) for e in contend.values())
        print("contending runs:", len(contend), "ok:", len(ports), "retried:", retried)
        assert other_sessions(sim) == []
    finally:
        sim.stop()
