"""The VMCI device of a VM (vmci/firewall.py): finding it (a VM without one is an error) and the
device change that sets its filter, with the rules given or keeping the current ones."""
import pytest
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vmci.firewall import device_change, vmci_device_of
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vmci.rules import desired_rules
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.errors import VSphereError
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.properties import ObjectProperties
from pyVmomi import vim

from .helpers import rule, specs


class Ref(object):
    def __init__(self, moid):
        self._moId = moid


def props_with(devices, version="vmx-04"):
    return ObjectProperties(Ref("vm-7"), {"name": "old01", "config.version": version,
                                          "config.hardware.device": devices})


def test_vm_without_vmci_device_is_an_error():
    with pytest.raises(VSphereError) as exc:
        vmci_device_of(props_with([vim.vm.device.VirtualSerialPort(key=9000)]))
    assert "VM 'old01' (vm-7) has no VMCI device" in exc.value.msg
    assert "vmx-04" in exc.value.msg and "hardware version 7" in exc.value.msg
    assert exc.value.kind == "invalid"


def vmci_device(filters=None, enabled=True):
    return vim.vm.device.VirtualVMCIDevice(
        key=12000, controllerKey=100, unitNumber=17, id=-1, filterEnable=enabled,
        deviceInfo=vim.Description(label="VMCI device", summary="VMCI"),
        filterInfo=vim.vm.device.VirtualVMCIDevice.FilterInfo(filters=filters or []))


def test_device_change_edits_device_with_rules():
    device = vmci_device()
    assert vmci_device_of(props_with([device], "vmx-13")) is device
    wanted = desired_rules([rule(ports="0-100"), rule("deny", "anyProtocol", "anyDirection")])
    change = device_change(device, False, wanted)
    assert change.operation == "edit"
    assert change.device.key == 12000 and change.device.deviceInfo.label == "VMCI device"
    assert change.device.filterEnable is False
    sent = change.device.filterInfo.filters
    assert [(f.rank, f.action, f.lowerDstPortBoundary, f.upperDstPortBoundary) for f in sent] == [
        (1, "allow", 0, 100), (2, "deny", None, None)]


def test_device_change_keeps_rules_when_none_given():
    device = vmci_device(filters=specs((7, "allow", "stream", "host")), enabled=False)
    device.deviceInfo = None
    sent = device_change(device, True, None).device
    assert sent.filterEnable is True
    assert [f.rank for f in sent.filterInfo.filters] == [7]
    assert sent.deviceInfo is not None  # vcsim crashes on an edit without deviceInfo
