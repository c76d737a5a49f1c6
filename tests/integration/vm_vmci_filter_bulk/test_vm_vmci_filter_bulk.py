"""vm_vmci_filter_bulk: the VMCI firewall of many VMs in one session, against the simulator, read
back with pyVmomi."""
import pytest
from pyVim.task import WaitForTask
from pyVmomi import vim

from conftest import module_simulator
from vsphere_helpers import find_vm

BULK = "vmchannels.vsphere.vm_vmci_filter_bulk"
HYPERVISOR_ONLY = [{"action": "allow", "protocol": "hypervisor", "direction": "anyDirection"},
                   {"action": "deny", "protocol": "anyProtocol", "direction": "anyDirection"}]


sim, si, play = module_simulator(vm=4)


def vmci(vm):
    """(filterEnable, [(rank, action, protocol, direction, lower, upper)]) read with pyVmomi."""
    device = [d for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualVMCIDevice)][0]
    filters = device.filterInfo.filters if device.filterInfo is not None else []
    return bool(device.filterEnable), [(f.rank, f.action, f.protocol, f.direction, f.lowerDstPortBoundary,
                                        f.upperDstPortBoundary) for f in filters]


def names(host, count):
    return ["DC0_%s_VM%d" % (host, i) for i in range(count)]


def test_check_mode_reports_the_drift_and_changes_nothing_then_the_change_in_one_session(play, si, sim):
    vms = names("H0", 4)
    before = dict((n, vmci(find_vm(si, n))) for n in vms)
    entries = [dict(name=vms[0], filter_enabled=True, rules=HYPERVISOR_ONLY),
               dict(name=vms[1], filter_enabled=False),
               dict(name=vms[2], state="absent"),
               dict(moid=find_vm(si, vms[3])._moId)]  # neither: reported, never changed
    sim.reset_trace()
    run = play([{"name": "check", BULK: {"vms": entries, "parallel": 2}, "check_mode": True, "diff": True}])
    assert run.rc == 0, run
    check = run.result("check")
    assert "ReconfigVM_Task" not in sim.soap_calls()
    assert dict((n, vmci(find_vm(si, n))) for n in vms) == before
    # vcsim's VMCI devices start with filtering on and no rule: VM0 gets rules, VM1 filtering off;
    # VM2 (absent) differs too (filtering on -> off); VM3 asks for nothing.
    assert [r["changed"] for r in check["vms"]] == [True, True, True, False]
    assert [r["esxi_host"] for r in check["vms"]] == ["DC0_H0"] * 4
    for result in check["vms"]:
        assert result["before"] == {"filter_enabled": True, "rules": []}
    assert [r["protocol"] for r in check["vms"][0]["rules"]] == ["hypervisor", "anyProtocol"]
    key = "%s (%s)" % (vms[0], find_vm(si, vms[0])._moId)
    assert check["diff"]["before"]["vms"][key] == {"filter_enabled": True, "rules": []}
    assert [r["rank"] for r in check["diff"]["after"]["vms"][key]["rules"]] == [1, 2]
    assert len(check["diff"]["after"]["vms"]) == 3

    sim.reset_trace()
    run = play([{"name": "apply", BULK: {"vms": entries, "parallel": 2}}])
    assert run.rc == 0, run
    calls = sim.soap_calls()
    assert calls["Login"] == 1 and calls["ReconfigVM_Task"] == 3
    assert calls["CreateFilter"] == 2  # two waves of at most 2 tasks
    assert vmci(find_vm(si, vms[0])) == (True, [(1, "allow", "hypervisor", "anyDirection", None, None),
                                                (2, "deny", "anyProtocol", "anyDirection", None, None)])
    assert vmci(find_vm(si, vms[1])) == (False, [])
    assert vmci(find_vm(si, vms[2])) == (False, [])
    assert vmci(find_vm(si, vms[3])) == before[vms[3]]
    applied = run.result("apply")["vms"]
    assert applied[0]["filter_enabled"] is True and len(applied[0]["rules"]) == 2

    sim.reset_trace()
    run = play([{"name": "again", BULK: {"vms": entries}}])
    assert run.rc == 0, run
    assert run.result("again")["changed"] is False
    assert "ReconfigVM_Task" not in sim.soap_calls()


def test_a_vm_without_vmci_device_and_a_missing_vm_fail_the_others_are_changed(play, si):
    vms = names("C0_RP0", 2)
    vm = find_vm(si, vms[1])
    device = [d for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualVMCIDevice)][0]
    WaitForTask(vm.ReconfigVM_Task(spec=vim.vm.ConfigSpec(deviceChange=[
        vim.vm.device.VirtualDeviceSpec(operation="remove", device=device)])))
    entries = [dict(name=vms[0], rules=HYPERVISOR_ONLY), dict(name=vms[1], rules=HYPERVISOR_ONLY),
               dict(name="no-such-vm", filter_enabled=True)]
    run = play([{"name": "mixed", BULK: {"vms": entries}}])
    assert run.rc != 0
    result = run.result("mixed")
    assert result["failed_vms"] == 2 and "2 of 3 VMs could not be changed" in result["msg"]
    assert [r.get("failed", False) for r in result["vms"]] == [False, True, True]
    assert "has no VMCI device" in result["vms"][1]["msg"] and result["vms"][1]["error_kind"] == "invalid"
    assert result["vms"][2]["error_kind"] == "not_found"
    assert [r[2] for r in vmci(find_vm(si, vms[0]))[1]] == ["hypervisor", "anyProtocol"]
    assert "Traceback" not in run.stdout + run.stderr


@pytest.mark.parametrize("args,fragment", [
    ({"vms": []}, "vms is empty"),
    ({"vms": [{"filter_enabled": True}]}, "one of the following is required: name, uuid, moid"),
    ({"vms": [{"name": "a", "rules": [{"action": "allow", "protocol": "tcp", "direction": "host"}]}]}, "protocol"),
    ({"vms": [{"name": "a", "rules": [{"action": "allow", "protocol": "stream", "direction": "host",
                                       "ports": "70000"}]}]}, "vms[0] (a): rule #1: ports 70000 is outside"),
    ({"vms": [{"name": "a", "state": "absent", "filter_enabled": True}]}, "do not set filter_enabled"),
    # every entry invalid (a duplicate of a valid entry: vm_serial_port_bulk/test_invalid_entries.py)
    ({"vms": [{"name": "a", "state": "gone"}, {"name": "a"}]}, "listed twice"),
    ({"vms": [{"name": "a"}], "parallel": 0}, "parallel must be at least 1"),
    ({"vms": [{"name": "a", "uuid": "x"}]}, "mutually exclusive"),
])
def test_validation_before_any_request(play, sim, args, fragment):
    sim.reset_trace()
    run = play([{"name": "bad", BULK: args}])
    assert run.rc != 0
    assert fragment in run.result("bad")["msg"], run.result("bad")["msg"]
    assert sum(sim.soap_calls().values()) == 0
