# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The VMCI firewall as a concern of the engine (``engine.ensure``), for vm_vmci_filter (one VM) and
vm_vmci_filter_bulk (many): one path for both, with the same reads, waves and retries of concurrent
edits as the serial ports.

:class:`VmciFirewall` plans a VM with ``rules.plan`` from its VMCI device as read
(:class:`VmciPlan`), rewords a refusal of a running VM's change (``rules.refusal_message``) and
reads the firewall back after the change. An entry that sets neither ``filter_enabled`` nor ``rules``
changes nothing and reports the VM's firewall.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmchannels.vsphere.plugins.module_utils.engine.record import Concern
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vmci.firewall import (
    current_state,
    device_change,
    find_vmci_device,
    vmci_device_of,
)
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vmci.rules import plan, refusal_message, state_view
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.vm_config import vm_label


class VmciPlan(object):
    """What one VM's run does to its VMCI firewall: ``before`` and ``after`` are ``(filter_enabled,
    rules)``; ``changes`` says they differ. The firewall changes while the VM runs (``blocked`` is
    empty) and needs no warning."""

    blocked = ()

    def __init__(self, props, device, decision, doing):
        self.props = props
        self.device = device
        self.before = current_state(device)
        self.after = (decision["filter_enabled"], decision["rules"])
        self.changes = decision["changed"]
        self.rules_changed = decision["rules_changed"]
        self.doing = doing
        self.warnings = []

    def device_changes(self):
        return [device_change(self.device, self.after[0], self.after[1] if self.rules_changed else None)]

    def what(self):
        return "%s of %s" % (self.doing, vm_label(self.props))


class VmciFirewall(Concern):
    """The VMCI firewall of each VM, as its entry's ``filter_enabled``, ``rules`` and ``state`` ask.
    ``doing`` names the reconfiguration in messages (each module keeps its wording)."""

    diff_of_failed = True  # the bulk diff shows every VM whose firewall differs from what was asked

    def __init__(self, doing):
        self.doing = doing

    def plan(self, client, run, allow_power_cycle):
        device = vmci_device_of(run.props)
        enabled, rules = current_state(device)
        entry = run.entry
        return VmciPlan(run.props, device, plan(enabled, rules, state=entry.get("state") or "present",
                                                filter_enabled=entry.get("filter_enabled"), rules=entry.get("rules")),
                        self.doing)

    def explain(self, error, run):
        error.msg = refusal_message(error.msg, error.kind, run.props.get("runtime.powerState"))
        return error

    def state_after(self, props):
        device = find_vmci_device(props.get("config.hardware.device"))
        return current_state(device) if device is not None else None

    def result_fields(self, run):
        return state_view(*run.after) if run.error is None and run.after is not None else {}

    def before_fields(self, run):
        """The firewall before the run (``before``), for every VM whose VMCI device was read."""
        return dict(before=state_view(*run.plan.before)) if run.plan is not None else {}

    def diff(self, run):
        return dict(before=state_view(*run.plan.before),
                    after=state_view(*(run.after if run.after is not None else run.plan.after)))

    def diff_halves(self, run):
        return state_view(*run.plan.before), state_view(*run.plan.after)
