# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the inventory asks of a VM, read from the variables of the roles serial_console and
vmci_firewall: the one place where those variables turn into the entries of the modules.

The roles (their notes, ``roles/*/tasks/main.yml``) and the audit (``playbooks/audit.yml``) read the
variables through these functions, so a VM is found, and its ports and VMCI policy are understood,
the same way everywhere:

- the VM is named by :func:`vm_locator` (``module_utils/vsphere/options.py``: moid, else uuid, else
  name narrowed by datacenter and folder), the rule the modules apply;
- its serial ports are managed when ``serial_console_ports`` is not empty or
  ``serial_console_exclusive`` is true (:func:`serial_console_managed`);
- its VMCI firewall is managed when the inventory sets ``vmci_firewall_profile``,
  ``vmci_firewall_rules`` or ``vmci_firewall_enabled`` (:func:`vmci_firewall_managed`), the rules
  winning over the profile (:func:`vmci_firewall_rules`, the profiles in :data:`VMCI_PROFILES`).

Everything here takes plain mappings (a host's variables, ``hostvars[host]`` in a play) and returns
plain dicts: no Ansible object, so the unit tests call it directly.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from types import MappingProxyType

from ansible.module_utils.parsing.convert_bool import boolean
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.options import vm_locator

#: The ready-made policies of ``vmci_firewall_profile``, in the rule format of ``vm_vmci_filter``.
VMCI_PROFILES = MappingProxyType({
    # No VMCI traffic at all, in either direction.
    "deny_all": (
        MappingProxyType({"action": "deny", "protocol": "anyProtocol", "direction": "anyDirection"}),
    ),
    # Only the services of the ESXi hypervisor itself (what VMware Tools need); every VMCI transport to
    # vmkernel modules and VIB applications is refused.
    "hypervisor_only": (
        MappingProxyType({"action": "allow", "protocol": "hypervisor", "direction": "anyDirection"}),
        MappingProxyType({"action": "deny", "protocol": "anyProtocol", "direction": "anyDirection"}),
    ),
    # No rule: nothing is filtered.
    "unrestricted": (),
})

#: Set in the inventory, any of these makes playbooks/vmci_firewall.yml and the audit manage the
#: VM's VMCI firewall.
VMCI_POLICY_VARIABLES = ("vmci_firewall_profile", "vmci_firewall_rules", "vmci_firewall_enabled")


def value(variables, name, default=None):
    """The variable ``name``, ``default`` when it is not set or null."""
    found = variables.get(name) if variables is not None else None
    return default if found is None else found


def flag(variables, name, default):
    """The variable ``name`` as a boolean the way Ansible reads one (``"yes"``, ``"false"``...)."""
    return boolean(value(variables, name, default), strict=False)


def truth(found):
    """A value as a boolean the way Ansible reads one; ``None`` is false."""
    return boolean(found, strict=False) if found is not None else False


def vm_of(variables, role, default_name):
    """How the role ``role`` finds the VM: :func:`vm_locator` over ``<role>_vm`` (``default_name``
    when unset), ``<role>_vm_uuid``, ``<role>_vm_moid``, ``<role>_datacenter`` and ``<role>_folder``."""
    return vm_locator(name=value(variables, role + "_vm", default_name),
                      uuid=value(variables, role + "_vm_uuid"), moid=value(variables, role + "_vm_moid"),
                      datacenter=value(variables, role + "_datacenter"), folder=value(variables, role + "_folder"))


def serial_console_managed(ports, exclusive):
    """Whether the serial ports of a VM are managed: some are listed, or the others are removed."""
    return bool(ports) or bool(exclusive)


def serial_console_entry(variables, host, name=None):
    """The ``vm_serial_port_bulk`` entry of a VM from its ``serial_console_*`` variables (``host``:
    its inventory name; ``name``: the VM's name when ``serial_console_vm`` is not set, else ``host``)."""
    entry = vm_of(variables, "serial_console", name or host)
    entry["serial_ports"] = list(value(variables, "serial_console_ports", []))
    entry["exclusive"] = flag(variables, "serial_console_exclusive", False)
    return entry


def vmci_firewall_managed(names):
    """Whether the VMCI firewall of a VM is managed, from the names of the variables set for it."""
    return any(name in VMCI_POLICY_VARIABLES for name in names)


def vmci_firewall_rules(profile=None, rules=None):
    """The rule list a policy means: ``rules`` when given (an empty list removes every rule), else
    the rules of the profile, else ``None`` (the rules are kept). Raises ``ValueError`` for a profile
    that does not exist."""
    if rules is not None:
        return list(rules)
    if not profile:
        return None
    if profile not in VMCI_PROFILES:
        raise ValueError("vmci_firewall_profile must be one of: %s; got '%s'" % (", ".join(VMCI_PROFILES), profile))
    return [dict(rule) for rule in VMCI_PROFILES[profile]]


def vmci_firewall_entry(variables, host, name=None):
    """The ``vm_vmci_filter_bulk`` entry of a VM from its ``vmci_firewall_*`` variables (the options
    of ``vm_vmci_filter`` too): the VM, ``filter_enabled`` and, unless the rules are kept, ``rules``."""
    entry = vm_of(variables, "vmci_firewall", name or host)
    entry["filter_enabled"] = flag(variables, "vmci_firewall_enabled", True)
    rules = vmci_firewall_rules(value(variables, "vmci_firewall_profile"), value(variables, "vmci_firewall_rules"))
    if rules is not None:
        entry["rules"] = rules
    return entry


def audit_wanted(hosts, hostvars):
    """What the inventory asks of every VM of the audit (``playbooks/audit.yml``), from the variables
    each host sets (``hostvars``: host -> its variables, role defaults not included):

    ``vms``: per host, ``inventory_hostname``, ``name``, ``serial_managed`` and ``vmci_managed``;
    ``serial`` and ``vmci``: the entries of ``vm_serial_port_bulk`` and ``vm_vmci_filter_bulk``, in the
    same order. A VM whose serial ports or VMCI firewall are not managed gets an entry that changes
    nothing (no port, no VMCI setting): it is read all the same."""
    out = dict(vms=[], serial=[], vmci=[])
    for host in hosts:
        variables = hostvars[host]
        name = value(variables, "serial_console_vm", value(variables, "vmci_firewall_vm", host))
        serial = serial_console_entry(variables, host, name)
        serial_managed = serial_console_managed(serial["serial_ports"], serial["exclusive"])
        if not serial_managed:
            serial["serial_ports"] = []
        vmci_managed = vmci_firewall_managed(list(variables))
        if vmci_managed:
            vmci = vmci_firewall_entry(variables, host, name)
        else:
            vmci = vm_of(variables, "vmci_firewall", name)
        out["vms"].append(dict(inventory_hostname=host, name=name, serial_managed=serial_managed,
                               vmci_managed=vmci_managed))
        out["serial"].append(serial)
        out["vmci"].append(vmci)
    return out
