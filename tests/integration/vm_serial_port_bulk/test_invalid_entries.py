"""An invalid entry of vm_serial_port_bulk or vm_vmci_filter_bulk is the failure of that VM: the
valid VMs are changed all the same (read back with pyVmomi), the entry is reported failed with a
message that names it (``vms[1] (...)``) and ``error_kind: invalid``, and the task fails like any
partial failure. What concerns the whole task still fails before any request."""
import pytest
from pyVmomi import vim

from conftest import module_simulator
from vsphere_helpers import find_vm, power, serial_ports

pytestmark = pytest.mark.bad_input

SPB = "vmchannels.vsphere.vm_serial_port_bulk"
VFB = "vmchannels.vsphere.vm_vmci_filter_bulk"
THINPRINT = [{"number": 1, "backing": {"type": "thinprint"}}]
DENY_ALL = [{"action": "deny", "protocol": "anyProtocol", "direction": "anyDirection"}]

sim, si, play = module_simulator(vm=3)


def vmci(vm):
    device = [d for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualVMCIDevice)][0]
    filters = device.filterInfo.filters if device.filterInfo is not None else []
    return bool(device.filterEnable), [(f.rank, f.action, f.protocol, f.direction) for f in filters]


def test_serial_ports_invalid_entries_fail_alone(play, si):
    names = ["DC0_H0_VM%d" % i for i in range(3)]
    for name in names:
        power(find_vm(si, name), "poweredOff")
    entries = [
        dict(name=names[0], serial_ports=THINPRINT),
        dict(name=names[1], serial_ports=[{"number": 40, "backing": {"type": "thinprint"}}]),  # invalid port
        dict(serial_ports=THINPRINT),  # names no VM
        dict(moid=find_vm(si, names[2])._moId, serial_ports=THINPRINT, exclusive="maybe"),  # wrong type
        dict(name=names[2], serial_ports=THINPRINT),
        dict(name=names[0], serial_ports=[]),  # listed twice
    ]
    run = play([{"name": "bulk", SPB: {"vms": entries}, "ignore_errors": True}])
    entry = run.task("bulk")
    assert entry["status"] == "failed", run
    result = entry["result"]
    assert result["failed_vms"] == 4 and result["changed"] is True
    assert result["msg"].startswith("4 of 6 VMs could not be changed (the others were): "), result["msg"]
    assert [r.get("failed", False) for r in result["vms"]] == [False, True, True, True, False, True]
    failed = dict((i, r) for i, r in enumerate(result["vms"]) if r.get("failed"))
    assert all(r["error_kind"] == "invalid" and r["changed"] is False and r["changes"] == [] for r in failed.values())
    assert failed[1]["msg"].startswith("vms[1] (DC0_H0_VM1): ") and "between 1 and 32" in failed[1]["msg"]
    assert failed[2]["msg"] == "vms[2] (None): one of the following is required: name, uuid, moid"
    assert failed[3]["msg"].startswith("vms[3] (vm-") and "exclusive" in failed[3]["msg"]
    assert failed[5]["msg"] == "vms[5] (DC0_H0_VM0): the VM is listed twice (also vms[0])"
    assert failed[1]["vm"] == {"name": "DC0_H0_VM1"}
    for index in (1, 2, 5):
        assert failed[index]["msg"] in result["msg"]
    # the valid VMs were changed; the VM of the invalid entry was not
    assert [r["changes"] for r in (result["vms"][0], result["vms"][4])] == [[{"op": "add", "number": 1}]] * 2
    assert sorted(serial_ports(find_vm(si, names[0]))) == [1]
    assert sorted(serial_ports(find_vm(si, names[2]))) == [1]
    assert serial_ports(find_vm(si, names[1])) == {}
    assert "Traceback" not in run.stdout + run.stderr


def test_vmci_invalid_entries_fail_alone(play, si):
    names = ["DC0_C0_RP0_VM%d" % i for i in range(3)]
    before = dict((n, vmci(find_vm(si, n))) for n in names)
    entries = [
        dict(name=names[0], filter_enabled=True, rules=DENY_ALL),
        dict(name=names[1], rules=[{"action": "permit", "protocol": "stream", "direction": "host"}]),  # invalid
        dict(name=names[2], state="absent", filter_enabled=True),  # contradicts itself
        dict(uuid=find_vm(si, names[2]).config.uuid, filter_enabled=False),
    ]
    run = play([{"name": "bulk", VFB: {"vms": entries}, "ignore_errors": True}])
    entry = run.task("bulk")
    assert entry["status"] == "failed", run
    result = entry["result"]
    assert result["failed_vms"] == 2 and result["changed"] is True
    assert [r.get("failed", False) for r in result["vms"]] == [False, True, True, False]
    assert result["vms"][1]["msg"].startswith("vms[1] (DC0_C0_RP0_VM1): ") and "permit" in result["vms"][1]["msg"]
    assert result["vms"][2]["msg"].startswith("vms[2] (DC0_C0_RP0_VM2): ")
    assert "do not set filter_enabled" in result["vms"][2]["msg"]
    assert all(result["vms"][i]["error_kind"] == "invalid" for i in (1, 2))
    assert "before" not in result["vms"][1]  # never read
    assert vmci(find_vm(si, names[0])) == (True, [(1, "deny", "anyProtocol", "anyDirection")])
    assert vmci(find_vm(si, names[1])) == before[names[1]]
    assert vmci(find_vm(si, names[2]))[0] is False  # by uuid: the valid entry of that VM
    assert "Traceback" not in run.stdout + run.stderr


@pytest.mark.parametrize("module,args,fragment", [
    (SPB, {"vms": [{"name": "a", "serial_ports": THINPRINT}], "max_powered_off": 0}, "max_powered_off must be"),
    (VFB, {"vms": [{"name": "a"}], "parallel": 0}, "parallel must be at least 1"),
    (VFB, {"vms": []}, "vms is empty"),
    # every entry invalid: nothing to ask vSphere, so nothing is asked
    (SPB, {"vms": [{"serial_ports": THINPRINT}]}, "vms[0] (None): one of the following is required"),
    (VFB, {"vms": [{"name": "a", "state": "gone"}]}, "vms[0] (a): value of state must be one of: present, absent"),
])
def test_what_concerns_the_whole_task_or_every_entry_fails_before_any_request(play, sim, module, args, fragment):
    sim.reset_trace()
    run = play([{"name": "bad", module: args, "ignore_errors": True}])
    assert run.task("bad")["status"] == "failed"
    assert fragment in run.result("bad")["msg"], run.result("bad")["msg"]
    assert sum(sim.soap_calls().values()) == 0
