"""The playbooks of the documentation run as written against a fresh simulator, do what the pages
say (read back with pyVmomi), and would change nothing the second time; the error messages quoted in
docs/troubleshooting.md are the ones the modules give.

All example playbooks run in ONE ansible-playbook invocation (in the order of the pages), with the
connection settings only in the VMWARE_* variables, as docs/getting-started.md tells users to.
"""
import json
import os
import re
import subprocess

import pytest
import yaml
from pyVim.connect import Disconnect
from pyVmomi import vim

from conftest import ROOT, ansible_env, connect, run_playbook
from vsphere_helpers import find_vm

pytestmark = pytest.mark.docs

EXAMPLES = os.path.join(ROOT, "docs", "examples")
INVENTORY = os.path.join(EXAMPLES, "inventory.yml")
# Every playbook of docs/examples, in the order the pages build on each other.
DOC_PLAYBOOKS = [
    "first-contact.yml",             # getting-started.md
    "console-vspc.yml",              # console-vspc.md (and README.md)
    "reconnect-port.yml",            # troubleshooting.md, on the console port just added
    "serial-log-file.yml",           # serial-log-file.md
    "serial-console-panic.yml",      # serial-console-output.md, on the file port just added
    "serial-console-wait-login.yml",  # serial-console-output.md
    "named-pipe.yml",                # named-pipe.md
    "physical-port.yml",             # physical-port.md
    "physical-port-disconnect.yml",  # physical-port.md
    "vmci-lockdown.yml",             # vmci-lockdown.md
    "vmci-copy-rules.yml",           # vmci-lockdown.md
    "audit.yml",                     # audit.md, last: it reports what the others did
]
CLUSTER_VMS = ["DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1"]
HOST_VMS = ["DC0_H0_VM0", "DC0_H0_VM1"]
PIPE = "/tmp/DC0_H0_VM0-DC0_H0_VM1"


def _is_playbook(path):
    with open(path) as handle:
        data = yaml.safe_load(handle)
    return isinstance(data, list) and all(isinstance(p, dict) and "hosts" in p for p in data)


def test_every_example_playbook_is_run():
    playbooks = sorted(f for f in os.listdir(EXAMPLES) if f.endswith((".yml", ".yaml"))
                       and _is_playbook(os.path.join(EXAMPLES, f)))
    assert sorted(DOC_PLAYBOOKS) == playbooks, "add new docs/examples playbooks to DOC_PLAYBOOKS (in page order)"


def _changes_things(playbook):
    """Whether a playbook uses a module of the collection that is not an _info module."""
    with open(os.path.join(EXAMPLES, playbook)) as handle:
        text = handle.read()
    return any(not m.endswith("_info") for m in re.findall(r"vmchannels\.vsphere\.([a-z_]+):", text))


def run_docs(tmp_path, sim, name, extra_args=(), playbooks=None):
    results_file = tmp_path / ("%s.results.jsonl" % name)
    env = ansible_env(sim, {"RECORD_RESULTS_FILE": str(results_file)})
    # As written: no interpreter or connection settings from the test; the inventory says them.
    env.pop("ANSIBLE_PYTHON_INTERPRETER", None)
    cmd = ["ansible-playbook", "-i", INVENTORY] + [os.path.join(EXAMPLES, p) for p in (playbooks or DOC_PLAYBOOKS)]
    cmd += ["-e", "audit_report_path=%s" % (tmp_path / "audit.md")] + list(extra_args)
    proc = subprocess.run(cmd, cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=600, check=False)
    results = [json.loads(line) for line in results_file.read_text().splitlines() if line.strip()]
    return proc, results


def _summary(proc, results):
    failed = ["%s %s: %s" % (r["host"], r["task"], r["result"].get("msg")) for r in results if r["status"] == "failed"]
    return "rc=%s failed=%s\n%s\n%s" % (proc.returncode, failed, proc.stdout[-4000:], proc.stderr[-2000:])


def _ports(vm):
    out = {}
    for device in vm.config.hardware.device:
        if isinstance(device, vim.vm.device.VirtualSerialPort):
            out[device.unitNumber + 1] = device
    return out


def _ruleset(host, key):
    return [r for r in host.configManager.firewallSystem.firewallInfo.ruleset if r.key == key][0]


#: What the guest of DC0_H0_VM0 wrote to its serial port 2 (serial-log-file.yml) before it panicked
#: on an earlier boot, then booted again: the simulator runs no guest, the test writes the file.
CONSOLE = (b"".join(b"[    %d.000000] early boot message %d\n" % (i, i) for i in range(100))
           + b"[  101.000000] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\n"
           + b"[    0.000000] Linux version 6.1.0-13-amd64\r\n\r\nDebian GNU/Linux 12 DC0_H0_VM0 ttyS1\r\n\r\n"
           + b"DC0_H0_VM0 login: ")


def _write_console(sim):
    si = connect(sim)
    try:
        view = si.content.viewManager.CreateContainerView(si.content.rootFolder, [vim.Datastore], True)
        directory = [ds for ds in view.view if ds.name == "LocalDS_0"][0].info.url
    finally:
        Disconnect(si)
    os.makedirs(os.path.join(directory, "DC0_H0_VM0"), exist_ok=True)
    with open(os.path.join(directory, "DC0_H0_VM0", "serial.log"), "wb") as handle:
        handle.write(CONSOLE)


def test_doc_playbooks_run_as_written(fresh_vcsim, tmp_path):
    sim = fresh_vcsim()
    _write_console(sim)
    proc, results = run_docs(tmp_path, sim, "first")
    assert proc.returncode == 0, _summary(proc, results)
    tasks = set(r["task"] for r in results)
    for playbook in DOC_PLAYBOOKS:  # every playbook ran at least one task of its own
        with open(os.path.join(EXAMPLES, playbook)) as handle:
            names = set(t["name"] for play in yaml.safe_load(handle) for t in play.get("tasks", []))
        assert names & tasks, (playbook, sorted(tasks))

    si = connect(sim)
    try:
        # console-vspc.yml: vSPC enabled on the cluster's hosts only, allowed-IP lists untouched
        hosts = si.content.viewManager.CreateContainerView(si.content.rootFolder, [vim.HostSystem], True).view
        for host in hosts:
            vspc = _ruleset(host, "vSPC")
            assert vspc.enabled == host.name.startswith("DC0_C0_"), host.name
            assert vspc.allowedHosts.allIp
            assert not _ruleset(host, "remoteSerialPort").enabled
        for name in CLUSTER_VMS:
            vm = find_vm(si, name)
            port = _ports(vm)[1]
            assert isinstance(port.backing, vim.vm.device.VirtualSerialPort.URIBackingInfo)
            assert (port.backing.serviceURI, port.backing.direction, port.backing.proxyURI) == (
                name, "server", "telnet://vspc.example.com:13370")
            assert port.yieldOnPoll and port.connectable.startConnected
            assert vm.runtime.powerState == "poweredOn"  # power cycled and back on
        # reconnect-port.yml
        assert _ports(find_vm(si, "DC0_C0_RP0_VM0"))[1].connectable.connected
        # serial-log-file.yml and named-pipe.yml
        vm0, vm1 = find_vm(si, "DC0_H0_VM0"), find_vm(si, "DC0_H0_VM1")
        assert _ports(vm0)[2].backing.fileName == "[LocalDS_0] DC0_H0_VM0/serial.log"
        for vm, endpoint in ((vm0, "server"), (vm1, "client")):
            pipe = _ports(vm)[1].backing
            assert isinstance(pipe, vim.vm.device.VirtualSerialPort.PipeBackingInfo)
            assert (pipe.pipeName, pipe.endpoint, pipe.noRxLoss) == (PIPE, endpoint, True)
        # physical-port.yml, then physical-port-disconnect.yml
        device = _ports(vm1)[2]
        assert device.backing.deviceName == "/dev/char/serial/uart0"
        assert not device.connectable.connected and device.connectable.startConnected
        assert not device.connectable.allowGuestControl
        # vmci-lockdown.yml (and vmci-copy-rules.yml, which copies the same rules)
        for name in CLUSTER_VMS + HOST_VMS:
            vm = find_vm(si, name)
            assert vm.runtime.powerState == "poweredOn"
            vmci = [d for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualVMCIDevice)][0]
            assert vmci.filterEnable
            assert [(f.rank, f.action, f.protocol, f.direction) for f in vmci.filterInfo.filters] == [
                (1, "allow", "hypervisor", "host"), (2, "deny", "anyProtocol", "anyDirection")]
    finally:
        Disconnect(si)

    # serial-console-panic.yml and serial-console-wait-login.yml read the console written above
    summary = [r for r in results if r["task"] == "List the VMs that panicked"][0]["result"]["msg"]
    assert summary == "Kernel panic on: DC0_H0_VM0", summary
    shown = [r for r in results if r["task"] == "Show the panic and the lines before it"][0]["result"]["msg"]
    assert any("Kernel panic - not syncing" in line for line in shown) and shown[-1] == "DC0_H0_VM0 login: "
    ready = [r for r in results if r["task"] == "Show the prompt"][0]["result"]["msg"]
    assert ready == "DC0_H0_VM0 is up: DC0_H0_VM0 login: ", ready

    # first-contact.yml printed what it read
    shown = [r for r in results if r["task"] == "Show what was found"][0]["result"]["msg"]
    assert shown[0] == "DC0_H0_VM0 (poweredOn) has 0 serial port(s).", shown
    # audit.yml: the report, and the excerpt docs/audit.md shows
    report = (tmp_path / "audit.md").read_text()
    assert "| DC0_C0_H0 | DC0_C0 | disabled | enabled |" in report and "| DC0_H0 |  | disabled | disabled |" in report
    for line in _audit_excerpt():
        assert line in report.splitlines(), (line, report)
    assert "port 2 (device) ties the VM to its host" in report

    # Run the playbooks that change things again, with --check --diff as docs/audit.md suggests for
    # drift: nothing would change. (The modules decide "changed" from the same plan in check mode and
    # for real, so this is also the idempotency check, at the cost of one run instead of two; the
    # read-only playbooks are left out.)
    changing = [p for p in DOC_PLAYBOOKS if _changes_things(p)]
    assert "console-vspc.yml" in changing and "audit.yml" not in changing
    proc, results = run_docs(tmp_path, sim, "again", ("--check", "--diff"), changing)
    assert proc.returncode == 0, _summary(proc, results)
    changed = ["%s %s" % (r["host"], r["task"]) for r in results if r["result"].get("changed")]
    assert changed == [], changed
    assert set(r["task"] for r in results) >= set(["Add or update the console port", "Same filtering, same rules, same order"])


def _audit_excerpt():
    text = open(os.path.join(ROOT, "docs", "audit.md")).read()
    block = re.search(r"<!-- audit-report-excerpt -->\n```text\n(.*?)```", text, re.S)
    assert block, "docs/audit.md lost its <!-- audit-report-excerpt --> block"
    return block.group(1).strip().splitlines()


# -- the messages quoted in docs/troubleshooting.md ---------------------------------------------------

def doc_messages():
    text = open(os.path.join(ROOT, "docs", "troubleshooting.md")).read()
    return dict(re.findall(r"<!-- message: ([a-z-]+) -->\n```text\n(.*?)\n```", text, re.S))


def matches(template, message):
    """``template`` with ``<placeholders>`` (any text) is exactly ``message``."""
    pattern = "".join(".+?" if re.match(r"^<[a-z ]+>$", part) else re.escape(part)
                      for part in re.split(r"(<[a-z ]+>)", template))
    return re.fullmatch(pattern, message) is not None


def test_troubleshooting_quotes_the_real_messages(fresh_vcsim, tmp_path):
    messages = doc_messages()
    assert sorted(messages) == ["certificate", "missing-colon", "permission", "power-state", "ruleset-warning"]
    sim = fresh_vcsim()
    file_port = {"number": 5, "backing": {"type": "file", "file_path": "[LocalDS_0] DC0_H0_VM0/x.log"}}
    tasks = [
        {"name": "power-state", "vmchannels.vsphere.vm_serial_port": {"name": "DC0_H0_VM0", "serial_ports": [file_port]},
         "ignore_errors": True},
        {"name": "missing-colon", "vmchannels.vsphere.vm_serial_port": {
            "name": "DC0_H0_VM0", "serial_ports": [{"number": 6, "backing": {
                "type": "network", "service_uri": "tcp://5000", "direction": "client"}}]}, "ignore_errors": True},
        {"name": "ruleset-warning", "check_mode": True, "vmchannels.vsphere.vm_serial_port": {
            "name": "DC0_H0_VM0", "allow_power_cycle": True,
            "serial_ports": [{"number": 7, "backing": {"type": "network", "service_uri": "telnet://:7001"}}]}},
        {"name": "certificate", "vmchannels.vsphere.vm_serial_port_info": {"name": "DC0_H0_VM0", "validate_certs": True},
         "ignore_errors": True},
    ]
    run = run_playbook(tmp_path, tasks, sim=sim)
    got = {}
    for name in ("power-state", "missing-colon", "certificate"):
        result = run.result(name)
        assert run.task(name)["status"] == "failed", (name, result)
        got[name] = result["msg"]
    warnings = run.result("ruleset-warning").get("warnings") or []
    got["ruleset-warning"] = warnings[0] if warnings else run.stdout + run.stderr

    from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.errors import fault_to_error

    fault = vim.fault.NoPermission(privilegeId="Host.Config.NetService", object=vim.HostSystem("host-21"))
    got["permission"] = fault_to_error(fault, "enabling the vSPC rule set on host DC0_C0_H0").msg
    for name, template in sorted(messages.items()):
        assert matches(template, got[name]), (
            "docs/troubleshooting.md quotes the %s message as\n%s\nbut the module says\n%s" % (name, template, got[name]))
