#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: vm_vmci_filter_info
short_description: Read the VMCI firewall of a virtual machine
version_added: 0.1.0
author: vmchannels maintainers (@vmchannels)
description:
  - Returns whether the VMCI firewall of a virtual machine is on and its rules, in the order vSphere
    applies them.
  - The rules come back in the form the O(vmchannels.vsphere.vm_vmci_filter#module:rules) option takes them, with
    their ranks, so they can be copied to another VM.
  - A VM with a hardware version older than 7 (vmx-07) has no VMCI device; the module fails saying so.
  - Reads the VM with one vSphere API request (plus login and logout; plus the look-up when the VM is
    given by O(name) or O(uuid)).
extends_documentation_fragment:
  - vmchannels.vsphere.base_options
  - vmchannels.vsphere.attributes
  - vmchannels.vsphere.attributes.INFO_MODULE
  - vmchannels.vsphere.vm_identity
notes:
  - "Privilege: System.Read on the VM."
seealso:
  - module: vmchannels.vsphere.vm_vmci_filter
"""

EXAMPLES = r"""
- name: Read the VMCI firewall of web01
  vmchannels.vsphere.vm_vmci_filter_info:
    hostname: "{{ vcenter_hostname }}"
    username: "{{ vcenter_username }}"
    password: "{{ vcenter_password }}"
    name: web01
  delegate_to: localhost
  register: web01_vmci

- name: Copy the rules of web01 to web02
  vmchannels.vsphere.vm_vmci_filter:
    name: web02
    filter_enabled: "{{ web01_vmci.filter_enabled }}"
    rules: "{{ web01_vmci.rules }}"
  delegate_to: localhost
"""

RETURN = r"""
vm:
  description: The virtual machine.
  returned: success
  type: dict
  contains:
    name:
      description: The name of the VM.
      type: str
      sample: web01
    moid:
      description: The managed object ID of the VM.
      type: str
      sample: vm-42
    uuid:
      description: The BIOS UUID of the VM.
      type: str
      sample: 4213c5b6-7a21-29c8-d1f1-0f4d7a6e9b10
    instance_uuid:
      description: The instance UUID of the VM.
      type: str
      sample: 5013c5b6-7a21-29c8-d1f1-0f4d7a6e9b10
    power_state:
      description: The power state of the VM when it was read.
      type: str
      sample: poweredOn
  sample:
    name: web01
    moid: vm-42
    uuid: 4213c5b6-7a21-29c8-d1f1-0f4d7a6e9b10
    instance_uuid: 5013c5b6-7a21-29c8-d1f1-0f4d7a6e9b10
    power_state: poweredOn
filter_enabled:
  description: Whether the rules are applied (the VMCI device's C(filterEnable)).
  returned: success
  type: bool
  sample: true
rules:
  description: The rules in ascending rank (the order vSphere applies them); empty when there are none.
  returned: success
  type: list
  elements: dict
  contains:
    rank:
      description: The rank of the rule.
      type: int
      sample: 2
    action:
      description: V(allow) or V(deny).
      type: str
      sample: allow
    protocol:
      description: >-
        The protocol the rule matches: V(hypervisor), V(doorbell), V(queuepair), V(datagram),
        V(stream) or V(anyProtocol).
      type: str
      sample: stream
    direction:
      description: V(guest) (traffic from the host to the guest), V(host) (from the guest to the host) or V(anyDirection).
      type: str
      sample: host
    ports:
      description:
        - The ports as O(vmchannels.vsphere.vm_vmci_filter#module:rules[].ports) takes them, V(null) for every port.
        - V(2000-) is port 2000 and every higher port of the protocol.
      type: str
      sample: "2000-2010"
  sample:
    - {rank: 1, action: allow, protocol: hypervisor, direction: host, ports: null}
    - {rank: 2, action: allow, protocol: stream, direction: host, ports: "2000-2010"}
"""

from ansible_collections.vmchannels.vsphere.plugins.module_utils.vmci.firewall import info
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.ansible_module import (
    build_module,
    fail_on_errors,
    run,
)
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.options import (
    VM_IDENTITY_MODULE_KWARGS,
    vm_identity_argument_spec,
    vm_identity_errors,
)


def _logic(module, client):
    return info(client, module.params)


def main():
    module = build_module(vm_identity_argument_spec(), supports_check_mode=True, **VM_IDENTITY_MODULE_KWARGS)
    fail_on_errors(module, vm_identity_errors(module.params))
    run(module, _logic)


if __name__ == "__main__":
    main()
