"""The translation of vSphere faults raised in the middle of a run into error messages
(vsphere/errors.py): which kind each fault is, and what the message says. Pure: faults are built
from pyVmomi's types, no server."""
import pytest
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.errors import fault_to_error
from pyVmomi import vim, vmodl


@pytest.mark.parametrize("fault,kind,fragments", [
    # NotAuthenticated is a NoPermission subclass: it must not read as a missing privilege.
    (vim.fault.NotAuthenticated(privilegeId="System.View"), "login", ["session ended", "Run the task again"]),
    (vim.fault.NoPermission(privilegeId="VirtualMachine.Config.AddRemoveDevice"), "permission",
     ["VirtualMachine.Config.AddRemoveDevice"]),
    (vim.fault.ConcurrentAccess(), "concurrent", ["changed by someone else", "retry"]),
    (vmodl.fault.ManagedObjectNotFound(), "not_found", ["no longer exists"]),
    (vmodl.fault.NotSupported(msg="template"), "fault", ["NotSupported"]),
])
def test_faults_during_a_run(fault, kind, fragments):
    error = fault_to_error(fault, "reconfiguring VM 'web01'")
    assert error.kind == kind
    for fragment in fragments:
        assert fragment in error.msg, error.msg
    assert "web01" in error.msg
