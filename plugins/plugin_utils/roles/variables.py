# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The variables of the roles: which ones exist, the misspelled ones, and messages in their words.

- :func:`known_variables` reads a role's variables from its ``meta/argument_specs.yml`` (the one list
  of them), plus what the role sets itself (:data:`ROLE_RESULTS`);
- :func:`unknown_variables` finds, over the notes of the VMs of a play, the ``<role>_*`` variables
  the role does not know, each with the hosts that set it and the nearest known name (``difflib``),
  and :func:`unknown_variable_warning` words it: a misspelled ``serial_console_port:`` is no longer
  ignored without a word;
- :func:`role_message` rewrites a module's message for a role: the options it names
  (``datacenter``, ``allow_power_cycle``, ``serial_ports[0]``...) become the role's variables
  (``serial_console_datacenter``...), and the position in the bulk module's ``vms`` list goes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import os
import re
from types import MappingProxyType

#: What each role sets itself, besides the variables of its argument spec.
ROLE_RESULTS = MappingProxyType({
    "serial_console": ("serial_console_result",),
    "vmci_firewall": ("vmci_firewall_result",),
})

#: Per role, the module options a message may name -> the role's variable for it.
ROLE_OPTIONS = MappingProxyType({
    "serial_console": MappingProxyType({
        "name": "serial_console_vm", "uuid": "serial_console_vm_uuid", "moid": "serial_console_vm_moid",
        "datacenter": "serial_console_datacenter", "folder": "serial_console_folder",
        "serial_ports": "serial_console_ports", "exclusive": "serial_console_exclusive",
        "allow_power_cycle": "serial_console_allow_power_cycle",
    }),
    "vmci_firewall": MappingProxyType({
        "name": "vmci_firewall_vm", "uuid": "vmci_firewall_vm_uuid", "moid": "vmci_firewall_vm_moid",
        "datacenter": "vmci_firewall_datacenter", "folder": "vmci_firewall_folder",
        "rules": "vmci_firewall_rules", "filter_enabled": "vmci_firewall_enabled",
    }),
})

_ROLES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))),
                          "roles")

# "vms[3] (web01): " - where an entry sits in the bulk module's list; the role has no such list.
_ENTRY_PREFIX = re.compile(r"vms\[\d+\] \([^)]*\): ")
# The identity options, as the checks of vm_identity_errors begin their messages.
_IDENTITY_START = re.compile(r"(^|: |; )(name|uuid|moid|datacenter|folder)(?= must | is |\s'|$)")
# The narrowing advice of a name that several VMs share (module_utils/vsphere/inventory.py).
_NARROW = "Narrow the search with datacenter and folder, or name the VM by uuid or moid"


def spec_variables(spec):
    """The variable names of a role's argument spec (the parsed ``meta/argument_specs.yml``)."""
    names = set()
    for entry in ((spec or {}).get("argument_specs") or {}).values():
        names.update(((entry or {}).get("options") or {}).keys())
    return names


def known_variables(role, roles_dir=None):
    """Every variable of the role ``role``: its argument spec's and what it sets (:data:`ROLE_RESULTS`)."""
    import yaml  # a dependency of ansible-core

    with open(os.path.join(roles_dir or _ROLES_DIR, role, "meta", "argument_specs.yml")) as handle:
        spec = yaml.safe_load(handle)
    return frozenset(spec_variables(spec) | set(ROLE_RESULTS.get(role, ())))


def unknown_variables(notes, role, known):
    """``[(name, hosts, nearest)]``, sorted by name: the ``<role>_*`` variables of the notes
    (``note["host"]``, ``note["variables"]``: the names set for that host) that are not in ``known``;
    ``nearest`` is the closest known name, or ``None`` when none is close."""
    prefix = role + "_"
    found = {}
    for note in notes or []:
        for name in note.get("variables") or []:
            if name.startswith(prefix) and name not in known:
                found.setdefault(name, [])
                if note.get("host") not in found[name]:
                    found[name].append(note.get("host"))
    # compared without the prefix they all share, which would make any two names look alike
    suffixes = dict((k[len(prefix):], k) for k in known if k.startswith(prefix))
    out = []
    for name in sorted(found):
        nearest = difflib.get_close_matches(name[len(prefix):], sorted(suffixes), n=1, cutoff=0.6)
        out.append((name, found[name], suffixes[nearest[0]] if nearest else None))
    return out


def role_variable_names(names, role):
    """The names of ``names`` that belong to ``role`` (``<role>_*``), less what the role sets itself
    (:data:`ROLE_RESULTS`); sorted."""
    prefix, own = role + "_", ROLE_RESULTS.get(role, ())
    return sorted(name for name in names if name.startswith(prefix) and name not in own)


def inventory_notes(hosts, hostvars, role):
    """``[{host, variables}]`` (what :func:`unknown_variables` reads) from the inventory variables of
    ``hosts``: for the VMs a playbook does not run the role for, whose notes the role never takes."""
    prefix = role + "_"
    return [dict(host=host, variables=sorted(name for name in hostvars[host] if name.startswith(prefix)))
            for host in hosts]


def unknown_variable_warning(role, name, hosts, nearest, shown_hosts=5):
    """The warning about one unknown variable."""
    where = ", ".join(str(h) for h in hosts[:shown_hosts]) + (" and %d more" % (len(hosts) - shown_hosts)
                                                              if len(hosts) > shown_hosts else "")
    text = "The variable %s (set for %s) is not a variable of the role vmchannels.vsphere.%s, which ignores it." % (
        name, where, role)
    if nearest:
        return text + " Did you mean %s?" % nearest
    return text + " Its variables are listed by: ansible-doc -t role vmchannels.vsphere.%s" % role


def role_message(message, role):
    """``message`` of a module, worded for the role ``role``: its options named as the role's variables."""
    if not message or role not in ROLE_OPTIONS:
        return message
    options = ROLE_OPTIONS[role]
    text = _ENTRY_PREFIX.sub("", str(message))
    text = text.replace(_NARROW, "Narrow the search with %s and %s, or name the VM by %s or %s" % (
        options["datacenter"], options["folder"], options["uuid"], options["moid"]))
    text = _IDENTITY_START.sub(lambda m: m.group(1) + options[m.group(2)], text)
    for option in ("serial_ports", "allow_power_cycle", "filter_enabled"):  # names no sentence uses otherwise
        if option in options:
            text = re.sub(r"(?<![\w.])%s\b" % option, options[option], text)
    if "rules" in options:
        text = re.sub(r"(?<![\w.])rules(?=\[)", options["rules"], text)
    return text
