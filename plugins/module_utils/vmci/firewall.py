# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The VMCI firewall of a VM (``vim.vm.device.VirtualVMCIDevice``: ``filterEnable`` and
``filterInfo.filters``).

Pure functions validate the options, normalize rules, compare them and build the diff; a few small
functions read the VM (one RetrievePropertiesEx) and apply the change (one ReconfigVM_Task, whose
wait also brings back the VM's new devices).

A rule is handled here as a dict with ``rank``, ``action``, ``protocol``, ``direction``, ``lower``
and ``upper`` (the destination port boundaries). The boundaries are normalized so that an unset
lower boundary and 0 are the same thing (vSphere reports a lower boundary of 0 as unset), and a rule
without boundaries has both as ``None``. Results show rules in the form the ``rules`` option takes
(:func:`public_rule`), so the output of the info module can be fed back to the module.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmchannels.vsphere.plugins.module_utils.engine.runs import Concern, bulk_result, run_many
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vmci.rules import (
    plan,
    refusal_message,
    rules_from_specs,
    state_view,
)
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.client import VSphereError
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.inventory import find_vm
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.vm_config import (
    read_vm_properties,
    reconfigure,
    vm_identity,
    vm_label,
)

try:
    from pyVmomi import vim
except ImportError:  # pragma: no cover - client.HAS_PYVMOMI reports it
    pass


# -- one VM ------------------------------------------------------------------------------------

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


def find_and_read_vm(client, params):
    """Find the VM the options name and read its properties (identity, devices, power state,
    changeVersion) in one request. Returns (vm, props)."""
    vm = find_vm(client, name=params.get("name"), uuid=params.get("uuid"), moid=params.get("moid"),
                 datacenter=params.get("datacenter"), folder=params.get("folder"))
    return vm, read_vm_properties(client, vm)


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


def apply(client, props, device, filter_enabled, rules, timeout):
    """Reconfigure once (with the VM's changeVersion) and wait; returns the VMCI device after it."""
    try:
        after = reconfigure(client, props, [device_change(device, filter_enabled, rules)], timeout,
                            "changing the VMCI firewall of %s" % vm_label(props))
    except VSphereError as error:
        error.msg = refusal_message(error.msg, error.kind, props.get("runtime.powerState"))
        raise
    return find_vmci_device(after.get("config.hardware.device"))


def current_state(device):
    """``(filter_enabled, rules)`` of a VMCI device as read."""
    info = device.filterInfo
    return bool(device.filterEnable), rules_from_specs(info.filters if info is not None else [])


def ensure(client, params, check_mode=False, want_diff=False):
    """The whole run of vm_vmci_filter; returns the module result."""
    vm, props = find_and_read_vm(client, params)
    device = vmci_device_of(props)
    before_enabled, before_rules = current_state(device)
    decision = plan(before_enabled, before_rules, state=params.get("state") or "present",
                    filter_enabled=params.get("filter_enabled"), rules=params.get("rules"))
    after_enabled, after_rules = decision["filter_enabled"], decision["rules"]
    if decision["changed"] and not check_mode:
        after_device = apply(client, props, device, after_enabled,
                             after_rules if decision["rules_changed"] else None, params.get("timeout") or 300)
        if after_device is not None:
            after_enabled, after_rules = current_state(after_device)
    result = dict(changed=decision["changed"], vm=vm_identity(props))
    result.update(state_view(after_enabled, after_rules))
    if want_diff:
        result["diff"] = dict(before=state_view(before_enabled, before_rules),
                              after=state_view(after_enabled, after_rules))
    return result


def info(client, params):
    """The whole run of vm_vmci_filter_info."""
    vm, props = find_and_read_vm(client, params)
    enabled, rules = current_state(vmci_device_of(props))
    result = dict(changed=False, vm=vm_identity(props))
    result.update(state_view(enabled, rules))
    return result


# -- many VMs in one session (vm_vmci_filter_bulk) ---------------------------------------------
class VmciFirewall(Concern):
    """The VMCI firewall as the concern of ``bulk.run_many``. An entry that sets neither
    ``filter_enabled`` nor ``rules`` changes nothing and reports the VM's firewall."""

    noun = "the VMCI firewall"

    def plan(self, client, run):
        device = vmci_device_of(run.props)
        run.before = current_state(device)
        entry = run.entry
        decision = plan(run.before[0], run.before[1], state=entry.get("state") or "present",
                        filter_enabled=entry.get("filter_enabled"), rules=entry.get("rules"))
        run.changes = decision["changed"]
        run.wanted = (decision["filter_enabled"], decision["rules"])
        return [device_change(device, decision["filter_enabled"],
                              decision["rules"] if decision["rules_changed"] else None)]

    def explain(self, error, run):
        error.msg = refusal_message(error.msg, error.kind, run.props.get("runtime.powerState"))
        return error

    def state_from_devices(self, devices):
        device = find_vmci_device(devices)
        return current_state(device) if device is not None else None

    def result_fields(self, run):
        out = {}
        if run.before is not None:
            out["before"] = state_view(*run.before)
        if run.after is not None:
            out.update(state_view(*run.after))
        return out

    def diff_halves(self, run):
        return state_view(*run.before), state_view(*run.wanted)


def ensure_many(client, entries, timeout, parallel, check_mode, want_diff):
    """The whole run of vm_vmci_filter_bulk: ``(result, warnings)``."""
    concern = VmciFirewall()
    runs, warnings = run_many(client, concern, entries, timeout, parallel, check_mode)
    return bulk_result(concern, runs, want_diff), warnings
