# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The VMCI firewall of a VM (``vim.vm.device.VirtualVMCIDevice``: ``filterEnable`` and
``filterInfo.filters``) between pyVmomi and the rules of ``vmci.rules``.

:func:`vmci_device_of` finds the device in the devices read, :func:`current_state` turns it into
``(filter_enabled, rules)``, :func:`device_change` into the spec that edits it; :func:`info` is the
run of vm_vmci_filter_info (one look-up, one read). The runs that change the firewall go through
the engine (``vmci.concern``).

A rule is handled here as a dict with ``rank``, ``action``, ``protocol``, ``direction``, ``lower``
and ``upper`` (the destination port boundaries). The boundaries are normalized so that an unset
lower boundary and 0 are the same thing (vSphere reports a lower boundary of 0 as unset), and a rule
without boundaries has both as ``None``. Results show rules in the form the ``rules`` option takes
(``rules.public_rule``), so the output of the info module can be fed back to the module.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmchannels.vsphere.plugins.module_utils.vmci.rules import rules_from_specs, state_view
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.errors import VSphereError
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.vm_config import (
    find_and_read_vm,
    vm_identity,
    vm_label,
)

try:
    from pyVmomi import vim
except ImportError:  # pragma: no cover - client.HAS_PYVMOMI reports it
    pass


def find_vmci_device(devices):
    for device in devices or []:
        if isinstance(device, vim.vm.device.VirtualVMCIDevice):
            return device
    return None


def vmci_device_of(props):
    """The VMCI device of the VM read in ``props``; a VM without one is an error saying why."""
    device = find_vmci_device(props.get("config.hardware.device"))
    if device is None:
        version = props.get("config.version")
        raise VSphereError(
            "%s has no VMCI device, so it has no VMCI firewall%s. The VMCI device exists from hardware "
            "version 7 (vmx-07) on: upgrade the VM's compatibility first." % (
                vm_label(props), " (its hardware version is %s)" % version if version else ""),
            kind="invalid")
    return device


def _filter_specs(rules):
    spec_type = vim.vm.device.VirtualVMCIDevice.FilterSpec
    out = []
    for rule in rules:
        spec = spec_type(rank=rule["rank"], action=rule["action"], protocol=rule["protocol"],
                         direction=rule["direction"])
        if rule["lower"] is not None:
            spec.lowerDstPortBoundary = rule["lower"]
        if rule["upper"] is not None:
            spec.upperDstPortBoundary = rule["upper"]
        out.append(spec)
    return out


def device_change(device, filter_enabled, rules=None):
    """The device spec editing ``device`` (the VMCI device as read, modified in place): filtering on
    or off and, when ``rules`` is not None, the rule list replaced by ``rules``. The device is sent
    whole, with its ``deviceInfo`` (vcsim crashes on an edit without it)."""
    device.filterEnable = bool(filter_enabled)
    if rules is not None:
        device.filterInfo = vim.vm.device.VirtualVMCIDevice.FilterInfo(filters=_filter_specs(rules))
    if device.deviceInfo is None:
        device.deviceInfo = vim.Description(label="VMCI device", summary="VMCI device")
    return vim.vm.device.VirtualDeviceSpec(operation=vim.vm.device.VirtualDeviceSpec.Operation.edit, device=device)


def current_state(device):
    """``(filter_enabled, rules)`` of a VMCI device as read."""
    info = device.filterInfo
    return bool(device.filterEnable), rules_from_specs(info.filters if info is not None else [])


def info(client, params):
    """The whole run of vm_vmci_filter_info."""
    vm, props = find_and_read_vm(client, params)
    enabled, rules = current_state(vmci_device_of(props))
    result = dict(changed=False, vm=vm_identity(props))
    result.update(state_view(enabled, rules))
    return result
