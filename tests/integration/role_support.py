"""What the role and playbook tests share: the playbooks, the VMs and ports they configure, the
simulator's trace of a run and reads of the VMs and hosts back through pyVmomi.
"""
import collections
import json
import os

from conftest import ROOT
from pyVmomi import vim
from vcsimctl import soap_methods, soap_requests
from vsphere_helpers import find_vm, name_index_checks, serial_ports, vm_name_lookups

SERIAL_CONSOLE = os.path.join(ROOT, "playbooks", "serial_console.yml")
VMCI_FIREWALL = os.path.join(ROOT, "playbooks", "vmci_firewall.yml")
CLUSTER_HOSTS = ["DC0_C0_H0", "DC0_C0_H1", "DC0_C0_H2"]
VSPC = {"type": "network", "service_uri": "telnet://:7001", "proxy_uri": "telnet://vspc.example.com:13370"}


LISTEN = {"type": "network", "service_uri": "telnet://:7001"}


class Trace(object):
    """The SOAP methods the simulator received since ``mark()``, in order."""

    def __init__(self, sim):
        self.path = sim.trace_file
        self.offset = 0
        self.mark()

    def mark(self):
        self.offset = os.path.getsize(self.path) if os.path.exists(self.path) else 0

    def methods(self):
        return soap_methods(self.path, self.offset)

    def vm_name_lookups(self):
        """The reads that look VMs up by name since ``mark()``: reads of the inventory
        (``vsphere_helpers.vm_name_lookups``) and checks of a remembered index
        (``vsphere_helpers.name_index_checks``)."""
        requests = soap_requests(self.path, self.offset)
        return vm_name_lookups(requests) + name_index_checks(requests)


def write_inventory(tmp_path, hosts, name="hosts.json", group_vars=None):
    inventory = {"vms": {"hosts": hosts, "vars": dict({"ansible_connection": "local"}, **(group_vars or {}))}}
    path = tmp_path / name
    path.write_text(json.dumps(inventory, indent=1))
    return str(path)


def rulesets(si):
    """{host name: {rule set key: enabled}} for the two serial-port rule sets of every host."""
    view = si.content.viewManager.CreateContainerView(si.content.rootFolder, [vim.HostSystem], True)
    try:
        out = {}
        for host in view.view:
            table = dict((r.key, r.enabled) for r in host.configManager.firewallSystem.firewallInfo.ruleset)
            out[host.name] = {"remoteSerialPort": table["remoteSerialPort"], "vSPC": table["vSPC"]}
        return out
    finally:
        view.Destroy()


def snapshot(si, names):
    """{VM name: (power state, {port number: backing class})}."""
    out = {}
    for name in names:
        vm = find_vm(si, name)
        ports = dict((n, p["backing"]["class"]) for n, p in serial_ports(vm).items())
        out[name] = (vm.runtime.powerState, ports)
    return out


def changed_hosts(run):
    return sorted(set(e["host"] for e in run.results if e["result"].get("changed")))


# Six VMs: two VMs per rule set on some hosts, both scopes, and a VM without network port.
SIX_VMS = {
    "DC0_H0_VM0": {"serial_console_ports": [{"number": 1, "backing": VSPC}]},
    "DC0_H0_VM1": {"serial_console_firewall_scope": "host",
                   "serial_console_ports": [{"number": 1, "backing": {"type": "network", "direction": "client",
                                                                      "service_uri": "tcp://console.example.com:7002"}}]},
    "DC0_H0_VM2": {"serial_console_ports": [{"number": 1, "backing": {"type": "file",
                                                                      "file_path": "[LocalDS_0] DC0_H0_VM2/com1.log"}}]},
    "DC0_C0_RP0_VM0": {"serial_console_ports": [{"number": 1, "backing": LISTEN},
                                                {"number": 2, "backing": {"type": "thinprint"}}]},
    "DC0_C0_RP0_VM1": {"serial_console_ports": [{"number": 1, "backing": LISTEN}]},
    "DC0_C0_RP0_VM2": {"serial_console_firewall_scope": "host", "serial_console_ports": [{"number": 1, "backing": VSPC}]},
}


def vmci_state(si, name):
    vm = find_vm(si, name)
    device = [d for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualVMCIDevice)][0]
    rules = [(f.action, f.protocol, f.direction, f.lowerDstPortBoundary, f.upperDstPortBoundary)
             for f in sorted((device.filterInfo.filters if device.filterInfo else []) or [], key=lambda f: f.rank)]
    return device.filterEnable, rules


def role_tasks(run, role):
    """{task name (without the role prefix): [(host, status), ...]} of the tasks of ``role`` (its
    argument validation included), from the test callback's results."""
    tasks = collections.OrderedDict()
    for entry in run.results:
        if entry["task"].startswith("vmchannels.vsphere.%s : " % role) or "arg spec 'main'" in entry["task"]:
            tasks.setdefault(entry["task"].split(" : ", 1)[-1], []).append((entry["host"], entry["status"]))
    return tasks


def assert_tasks_per_vm(run, vms, role, per_vm_tasks, max_play_tasks):
    """The role ran exactly ``per_vm_tasks`` for each VM of ``vms`` and at most ``max_play_tasks``
    once for the play (run_once, for the first VM of the play). Returns :func:`role_tasks`."""
    tasks = role_tasks(run, role)
    per_vm = [name for name, runs in tasks.items() if len(runs) > 1]
    assert per_vm == per_vm_tasks, list(tasks)
    for name in per_vm:
        assert sorted(host for host, dummy in tasks[name]) == sorted(vms), (name, tasks[name])
    once = [name for name, runs in tasks.items() if len(runs) == 1]
    assert len(once) <= max_play_tasks, once
    per_host = collections.Counter(host for runs in tasks.values() for host, dummy in runs)
    first = set(runs[0][0] for name, runs in tasks.items() if name in once)
    assert len(first) <= 1, first  # the run_once tasks run for the first VM of the play
    for vm in vms:
        assert per_host[vm] == len(per_vm_tasks) + (len(once) if vm in first else 0), (vm, per_host)
    return tasks
