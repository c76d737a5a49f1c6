# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: role_variables
version_added: 0.1.0
author: vmchannels maintainers (@vmchannels)
short_description: Every variable of a role's prefix that the host has, with its value
description:
  - Returns a dict of every variable named C(ROLE_*) in the task's scope (inventory, play, role
    defaults and vars, extra vars), templated, leaving out C(ROLE_result), which the role sets.
  - The roles M(vmchannels.vsphere.serial_console) and M(vmchannels.vsphere.vmci_firewall) read
    their variables through it for their note of the VM - what the VM asks for, and the names the
    role does not know, which it warns about. One lookup per VM; the same as
    C(query('ansible.builtin.varnames', ...)) followed by C(query('ansible.builtin.vars', ...)),
    which cost a VM three lookups.
options:
  _terms:
    description:
      - The role - V(serial_console) or V(vmci_firewall).
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Note what the VM asks for
  ansible.builtin.set_fact:
    note: "{{ lookup('vmchannels.vsphere.role_variables', 'serial_console') | vmchannels.vsphere.serial_console_note(inventory_hostname) }}"
"""

RETURN = r"""
_raw:
  description:
    - One dict per role given, of the role's variables set for the host (name to value).
  type: list
  elements: dict
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible_collections.vmchannels.vsphere.plugins.plugin_utils.roles.variables import ROLE_RESULTS, role_variable_names


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        variables = variables or {}
        out = []
        for role in terms:
            if role not in ROLE_RESULTS:
                raise AnsibleLookupError("role_variables: unknown role '%s'; one of: %s" % (role, ", ".join(ROLE_RESULTS)))
            out.append(dict((name, self._templar.template(variables[name]))
                            for name in role_variable_names(variables, role)))
        return out
