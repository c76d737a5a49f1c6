"""Reconfiguration faults name the port concerned. vcsim never raises these (it hot-adds serial
ports to running VMs and accepts any device spec), so this is unit-tested on the pure mapping,
with the fault objects a real vCenter returns."""
import pytest
from ansible_collections.vmchannels.vsphere.plugins.module_utils.serial_ports.devices import explain_fault
from ansible_collections.vmchannels.vsphere.plugins.module_utils.serial_ports.ports import Change
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.errors import VSphereError
from pyVmomi import vim

CHANGES = [Change("edit", 1, {}, {}), Change("add", 3, None, {})]


def error_for(fault):
    return VSphereError("vSphere refused it", kind="task", fault=fault)


def test_hot_plug_names_the_port_and_the_way_out():
    error = explain_fault(error_for(vim.fault.DeviceHotPlugNotSupported(deviceIndex=1, msg="no hot plug")),
                          CHANGES, "VM 'web01' (vm-1)")
    assert error.kind == "power_state"
    assert "add serial port 3 (add) of VM 'web01' (vm-1)" in error.msg
    assert "allow_power_cycle" in error.msg


def test_invalid_device_spec_names_the_port():
    error = explain_fault(error_for(vim.fault.InvalidDeviceSpec(deviceIndex=0, msg="bad backing")),
                          CHANGES, "VM 'web01' (vm-1)")
    assert error.kind == "invalid"
    assert "serial port 1 (edit)" in error.msg and "bad backing" in error.msg


@pytest.mark.parametrize("fault", [None, vim.fault.NoPermission(privilegeId="X"),
                                   vim.fault.InvalidDeviceSpec(deviceIndex=7)])
def test_other_faults_are_left_alone_or_generic(fault):
    error = explain_fault(error_for(fault), CHANGES, "VM 'x' (vm-2)")
    if isinstance(fault, vim.fault.InvalidDeviceSpec):
        assert "a serial port of VM 'x' (vm-2)" in error.msg
    else:
        assert error.msg == "vSphere refused it"
