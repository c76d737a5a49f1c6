# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filters of the roles serial_console and vmci_firewall: thin wrappers of
``plugins/plugin_utils/roles/`` (where the decisions live, unit-tested), documented each in its
``<name>.yml`` beside this file.

- ``vm_locator``: how a VM is found (moid, else uuid, else name with datacenter and folder), the
  rule of the modules (``module_utils/vsphere/options.py``);
- ``serial_console_note``, ``serial_console_outcome``, ``serial_console_datacenters``,
  ``serial_console_firewall_calls``, ``serial_console_results``: the steps of the serial_console role;
- ``vmci_firewall_note``, ``vmci_firewall_bulk_entries``, ``vmci_firewall_results``,
  ``vmci_firewall_managed``: the vmci_firewall role and its playbook;
- ``warn_unknown_variables``: the warning about a misspelled role variable, once per play;
- ``audit_wanted``: what the inventory asks of every VM through the roles' variables, for
  ``playbooks/audit.yml`` (the same reading as the roles').
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.utils.display import Display
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.options import VM_IDENTITY_OPTIONS, vm_locator
from ansible_collections.vmchannels.vsphere.plugins.plugin_utils.roles import (
    serial_console,
    variables,
    vmci_firewall,
    wanted,
)

display = Display()


def _mapping(value, what):
    if not hasattr(value, "get"):
        raise AnsibleFilterError("%s expects a dict, got %s" % (what, type(value).__name__))
    return value


def vm_locator_filter(options):
    """``{name, uuid, moid, datacenter, folder}`` -> the options that count."""
    options = _mapping(options, "vm_locator")
    unknown = sorted(set(options) - set(VM_IDENTITY_OPTIONS))
    if unknown:
        raise AnsibleFilterError("vm_locator: unknown key(s) %s; it takes %s" % (", ".join(unknown),
                                                                                 ", ".join(VM_IDENTITY_OPTIONS)))
    return vm_locator(**dict(options))


def serial_console_note(role_variables, host):
    return serial_console.note(_mapping(role_variables, "serial_console_note"), host)


def serial_console_outcome(notes, plan):
    return serial_console.outcome(list(notes or []), plan)


def serial_console_datacenters(vm_hosts):
    return serial_console.datacenters(vm_hosts)


def serial_console_firewall_calls(needs, vm_hosts=None, dc_hosts=None):
    return serial_console.firewall_calls(needs, vm_hosts, dc_hosts)


def serial_console_results(outcome, applied=None):
    return serial_console.results(_mapping(outcome, "serial_console_results"), applied)


def vmci_firewall_note(role_variables, host):
    return vmci_firewall.note(_mapping(role_variables, "vmci_firewall_note"), host)


def vmci_firewall_bulk_entries(notes):
    return vmci_firewall.bulk_entries(notes)


def vmci_firewall_results(notes, applied=None):
    return vmci_firewall.results(list(notes or []), applied)


def vmci_firewall_managed(names):
    return wanted.vmci_firewall_managed(list(names or []))


def audit_wanted(hosts, hostvars):
    try:
        return wanted.audit_wanted(list(hosts or []), hostvars)
    except ValueError as exc:
        raise AnsibleFilterError("audit_wanted: %s" % exc)


def vmci_firewall_unmanaged_notes(hosts, hostvars):
    notes = variables.inventory_notes(list(hosts or []), hostvars, "vmci_firewall")
    return [note for note in notes if not wanted.vmci_firewall_managed(note["variables"])]


def warn_unknown_variables(notes, role):
    """Warn about every ``<role>_*`` variable of the notes that the role does not know; the notes,
    unchanged. Ansible shows a warning once, however often the same text comes."""
    if role not in variables.ROLE_RESULTS:
        raise AnsibleFilterError("warn_unknown_variables: unknown role '%s'; one of: %s"
                                 % (role, ", ".join(variables.ROLE_RESULTS)))
    for name, hosts, nearest in variables.unknown_variables(notes, role, variables.known_variables(role)):
        display.warning(variables.unknown_variable_warning(role, name, hosts, nearest))
    return notes


class FilterModule(object):
    def filters(self):
        return {
            "vm_locator": vm_locator_filter,
            "serial_console_note": serial_console_note,
            "serial_console_outcome": serial_console_outcome,
            "serial_console_datacenters": serial_console_datacenters,
            "serial_console_firewall_calls": serial_console_firewall_calls,
            "serial_console_results": serial_console_results,
            "vmci_firewall_note": vmci_firewall_note,
            "vmci_firewall_bulk_entries": vmci_firewall_bulk_entries,
            "vmci_firewall_results": vmci_firewall_results,
            "vmci_firewall_managed": vmci_firewall_managed,
            "audit_wanted": audit_wanted,
            "warn_unknown_variables": warn_unknown_variables,
            "vmci_firewall_unmanaged_notes": vmci_firewall_unmanaged_notes,
        }
