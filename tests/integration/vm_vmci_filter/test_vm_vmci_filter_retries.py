"""vm_vmci_filter retries a concurrent edit that vSphere refused, as vm_serial_port does (one engine:
read again, planned again, up to three attempts, with a warning), and so does vm_vmci_filter_bulk.

The edit is provoked deterministically, as for the serial ports (tests/integration/all_modules/test_concurrency.py):
a TLS proxy holds the module's first ReconfigVM_Task while another client changes the same VM's VMCI
firewall; then the module's reconfigure goes on with the changeVersion it read, vSphere refuses it
(ConcurrentAccess, which the simulator enforces), and the module must read the VM again and succeed.
The state is read back with pyVmomi.
"""
import pytest
from pyVim.task import WaitForTask
from pyVmomi import vim
from vcsimctl import soap_methods

from conftest import run_playbook
from reliability_support import VF, VFB, FaultProxy, Reader, firewall_guard, make_pki, other_sessions

# The autouse fixture, named here so that it is visibly used: scans this file's simulator traces.
pytestmark = [pytest.mark.usefixtures(firewall_guard.__name__), pytest.mark.concurrency]

RETRY_WARNING = "was changed by someone else during the run; read it again (attempt 2)"
ALLOW_HYPERVISOR = [{"action": "allow", "protocol": "hypervisor", "direction": "host"}]
# (rank, action, protocol, direction, lower, upper) as vSphere has them
ALLOWED = [(1, "allow", "hypervisor", "host", None, None)]


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(str(tmp_path_factory.mktemp("pki")))


def deny_stream_behind_the_modules_back(sim, name):
    """Another client's edit: a rule set through pyVmomi (it moves the VM's changeVersion)."""
    def hook():
        with Reader(sim) as reader:
            vm = reader.vm(name)
            device = [d for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualVMCIDevice)][0]
            device.filterInfo = vim.vm.device.VirtualVMCIDevice.FilterInfo(filters=[
                vim.vm.device.VirtualVMCIDevice.FilterSpec(rank=1, action="deny", protocol="stream", direction="host",
                                                           lowerDstPortBoundary=2000, upperDstPortBoundary=2010)])
            WaitForTask(vm.ReconfigVM_Task(vim.vm.ConfigSpec(deviceChange=[
                vim.vm.device.VirtualDeviceSpec(operation="edit", device=device)])))
            assert reader.vmci(name)[1] == [(1, "deny", "stream", "host", 2000, 2010)]
    return hook


def test_a_refused_concurrent_edit_is_read_again_and_retried(fresh_vcsim, pki, tmp_path):
    sim = fresh_vcsim(vm=1)
    with Reader(sim) as reader:
        enabled = reader.vmci("DC0_H0_VM0")[0]
    offset = sim._trace_offset
    proxy = FaultProxy(sim, pki["self_cert"], pki["self_key"], "ReconfigVM_Task", "hook",
                       hook=deny_stream_behind_the_modules_back(sim, "DC0_H0_VM0"))
    try:
        run = run_playbook(tmp_path, [{"name": "rules", VF: {"name": "DC0_H0_VM0", "rules": ALLOW_HYPERVISOR},
                                       "diff": True}], sim=sim, env=proxy.env(), name="vmci_retry")
    finally:
        proxy.close()
    assert proxy.fired.is_set()
    assert run.rc == 0, run
    result = run.result("rules")
    assert result["changed"] is True
    assert any(RETRY_WARNING in w and "DC0_H0_VM0" in w for w in result.get("warnings", [])), result
    assert result["rules"] == [dict(rank=1, action="allow", protocol="hypervisor", direction="host", ports=None)]
    # the diff starts from what the retry read: the other client's rule
    assert result["diff"]["before"]["rules"] == [
        dict(rank=1, action="deny", protocol="stream", direction="host", ports="2000-2010")]
    # the module's ReconfigVM_Task twice (refused, then accepted after reading again), one read each
    assert proxy.methods.count("ReconfigVM_Task") == 2
    assert proxy.methods.count("RetrievePropertiesEx") == 1 + 2  # the name look-up, then a read per attempt
    assert soap_methods(sim.trace_file, offset).count("ReconfigVM_Task") == 3  # the other client's too
    with Reader(sim) as reader:
        assert reader.vmci("DC0_H0_VM0") == (enabled, ALLOWED)
    assert other_sessions(sim) == []


def test_the_bulk_module_retries_the_vm_edited_meanwhile(fresh_vcsim, pki, tmp_path):
    sim = fresh_vcsim(vm=2)
    proxy = FaultProxy(sim, pki["self_cert"], pki["self_key"], "ReconfigVM_Task", "hook",
                       hook=deny_stream_behind_the_modules_back(sim, "DC0_H0_VM1"))
    vms = [{"name": name, "filter_enabled": True, "rules": ALLOW_HYPERVISOR} for name in ("DC0_H0_VM0", "DC0_H0_VM1")]
    try:
        # parallel 1: DC0_H0_VM0 alone in the first wave, whose task lets the other client edit DC0_H0_VM1
        run = run_playbook(tmp_path, [{"name": "bulk", VFB: {"vms": vms, "parallel": 1}}], sim=sim, env=proxy.env(),
                           name="vmci_bulk_retry")
    finally:
        proxy.close()
    assert proxy.fired.is_set()
    assert run.rc == 0, run
    result = run.result("bulk")
    assert [r["changed"] for r in result["vms"]] == [True, True] and result["failed_vms"] == 0
    assert any("1 VMs were changed by someone else during the run (DC0_H0_VM1)" in w
               for w in result.get("warnings", [])), result
    assert proxy.methods.count("ReconfigVM_Task") == 3
    with Reader(sim) as reader:
        assert reader.vmci("DC0_H0_VM0") == (True, ALLOWED)
        assert reader.vmci("DC0_H0_VM1") == (True, ALLOWED)
    assert other_sessions(sim) == []
