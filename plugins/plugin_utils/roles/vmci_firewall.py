# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The decisions of the vmci_firewall role (``roles/vmci_firewall/tasks/main.yml``):

1. :func:`note`: what one VM asks for, from its ``vmci_firewall_*`` variables (per VM): the entry of
   ``vm_vmci_filter_bulk`` (the options of ``vm_vmci_filter`` too), the mode, and the names set;
2. :func:`results`: every VM's outcome for the report task, with the result of the one
   ``vm_vmci_filter_bulk`` run that configures the VMs of bulk mode (``vmci_firewall_bulk``).

The policy a VM's variables mean (the rules winning over the profile, the profiles themselves) is
``wanted.vmci_firewall_entry``, which the audit reads too. Messages name the role's variables.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmchannels.vsphere.plugins.plugin_utils.roles.registered import per_vm
from ansible_collections.vmchannels.vsphere.plugins.plugin_utils.roles.variables import role_message
from ansible_collections.vmchannels.vsphere.plugins.plugin_utils.roles.wanted import truth, vmci_firewall_entry

ROLE = "vmci_firewall"


def note(variables, host):
    """What the VM ``host`` asks for, from its ``vmci_firewall_*`` variables (the role's defaults
    included): ``host``, ``vm``, ``entry``, ``bulk``, ``error`` (why the variables cannot be applied,
    else ``None``: the role's argument validation says so first, unless it is turned off) and
    ``variables`` (the names set)."""
    out = dict(host=host, vm=variables.get("vmci_firewall_vm") or host,
               bulk=truth(variables.get("vmci_firewall_bulk")), entry=None, error=None, variables=sorted(variables))
    try:
        out["entry"] = vmci_firewall_entry(variables, host)
    except ValueError as exc:
        out["error"] = "%s. Nothing was changed." % exc
    return out


def bulk_entries(notes):
    """The entries of the VMs of bulk mode that the bulk run configures, in the order of ``notes``."""
    return [n["entry"] for n in bulk_notes(notes)]


def bulk_notes(notes):
    """The notes of the VMs of bulk mode that the bulk run takes (their input is valid), in order."""
    return [n for n in notes or [] if truth(n["bulk"]) and not n["error"]]


def results(notes, applied=None):
    """Every VM's outcome: ``host``, ``bulk``, ``failed``, ``msg``, ``changed``, ``result`` (its
    ``vmci_firewall_result`` unless its configuration task registers one: in bulk mode, its entry of
    ``vms`` of the bulk run), ``reset_result`` (the VM's skipped configuration task, in bulk mode,
    registers over it: the role sets it again afterwards) and ``entry`` for the configuration task of
    the default mode. ``applied``: the registered ``vm_vmci_filter_bulk`` run over
    :func:`bulk_entries` (skipped when no VM is of bulk mode)."""
    by_host = per_vm(applied, [n["host"] for n in bulk_notes(notes)])
    out = []
    for vm_note in notes or []:
        bulk = truth(vm_note["bulk"])
        if vm_note["error"]:
            result = dict(changed=False, failed=True, msg=vm_note["error"])
        elif bulk:
            result = by_host[vm_note["host"]]
        else:
            result = dict(changed=False, skipped=True, skip_reason="vmci_firewall_bulk is false: the VM's own task runs")
        failed = truth(result.get("failed"))
        out.append(dict(host=vm_note["host"], bulk=bulk, entry=vm_note["entry"], failed=failed,
                        msg=role_message(result.get("msg", "the change failed"), ROLE) if failed else "",
                        changed=bulk and not failed and truth(result.get("changed")), result=result,
                        reset_result=bulk and not failed))
    return out
