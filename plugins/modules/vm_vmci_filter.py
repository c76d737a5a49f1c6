#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: vm_vmci_filter
short_description: Manage the VMCI firewall of a virtual machine
version_added: 0.1.0
author: vmchannels maintainers (@vmchannels)
description:
  - Manages the VMCI firewall of a virtual machine, the rules on its VMCI device that restrict which
    hypervisor-based and VMCI-based services the VM can reach (services of the ESXi hypervisor,
    of vmkernel modules and of applications installed from verified VIBs).
  - Switches filtering on or off (O(filter_enabled)) and replaces the rule list (O(rules)) as a whole,
    in order, in one reconfiguration of the VM.
  - Options that are not set are left as they are.
  - Every VM from hardware version 7 (vmx-07) has exactly one VMCI device; a VM with an older
    hardware version has none, and the module fails saying so.
  - The change is also attempted on a powered-on VM; if vSphere refuses it, the module fails with
    vSphere's reason.
  - Values are checked against the documented vSphere values and the port range 0-65535 before the
    module connects; a host that supports fewer values refuses the change with its own message.
extends_documentation_fragment:
  - vmchannels.vsphere.base_options
  - vmchannels.vsphere.attributes
  - vmchannels.vsphere.attributes.ACTIONS
  - vmchannels.vsphere.vm_identity
options:
  filter_enabled:
    description:
      - Whether the rules are applied (the VMCI device's C(filterEnable)).
      - When O(filter_enabled) is set alone, the rules are kept as they are.
      - When not set, filtering stays as it is.
    type: bool
  rules:
    description:
      - The complete, ordered rule list of the VMCI firewall; it replaces the current list.
      - vSphere applies the rules in ascending rank. The first rule of the list gets the lowest rank
        (1, then 2, ...), unless every rule sets O(rules[].rank).
      - The current rules are compared by content and order; ranks count only when they are set
        explicitly. A list equal to the current one changes nothing.
      - An empty list removes every rule and leaves filtering as it is.
      - When not set, the rules stay as they are.
    type: list
    elements: dict
    suboptions:
      action:
        description:
          - What happens to the traffic the rule matches.
        type: str
        required: true
        choices: [allow, deny]
      protocol:
        description:
          - The kind of VMCI traffic the rule matches.
          - V(hypervisor) is the traffic to services of the hypervisor itself, V(doorbell),
            V(queuepair), V(datagram) and V(stream) are the VMCI transports, V(anyProtocol) matches
            all of them.
        type: str
        required: true
        choices: [hypervisor, doorbell, queuepair, datagram, stream, anyProtocol]
      direction:
        description:
          - The direction of the traffic the rule matches. vSphere names a direction after its
            destination, which reads backwards easily.
          - V(guest) is traffic from the host into the guest (to the VM).
          - V(host) is traffic from the guest out to the host (from the VM).
          - V(anyDirection) is traffic both ways.
        type: str
        required: true
        choices: [guest, host, anyDirection]
      ports:
        description:
          - The destination ports the rule matches, either one port (V(2000)) or a range of ports
            written low-high (V(2000-2010)).
          - V(2000-) matches port 2000 and every higher port of the protocol.
          - Ports are between 0 and 65535.
          - When not set, the rule matches every port of the protocol.
        type: raw
      rank:
        description:
          - The rank of the rule; vSphere applies rules in ascending rank.
          - Set it on every rule or on none. When set, ranks must be unique, between 0 and
            4294967295, and they are compared with the current ranks too.
          - When not set, ranks follow the list order (1, 2, ...).
        type: int
  state:
    description:
      - V(present) applies O(filter_enabled) and O(rules); at least one of them is required.
      - V(absent) removes every rule and turns filtering off; O(filter_enabled) and O(rules) must
        not be set with it.
    type: str
    choices: [present, absent]
    default: present
notes:
  - "Privilege: VirtualMachine.Config.EditDevice on the VM."
  - "Cost in vSphere API requests: login (2), one read of the VM and logout (1) when nothing changes,
    4 in all with the VM given by O(moid); a change adds the reconfiguration and its wait (3, more
    only when the task runs long). O(name) and a BIOS O(uuid) add one request, an instance UUID two."
  - The VM's C(changeVersion) is sent with the change, so a concurrent edit is refused by vSphere
    instead of being lost; the module then reads the VM again and retries (three attempts), as
    M(vmchannels.vsphere.vm_serial_port) does.
seealso:
  - module: vmchannels.vsphere.vm_vmci_filter_info
"""

EXAMPLES = r"""
- name: Let web01 reach the hypervisor and the stream service on port 2000, and nothing else
  vmchannels.vsphere.vm_vmci_filter:
    hostname: "{{ vcenter_hostname }}"
    username: "{{ vcenter_username }}"
    password: "{{ vcenter_password }}"
    name: web01
    datacenter: DC1
    filter_enabled: true
    rules:
      - action: allow
        protocol: hypervisor
        direction: host
      - action: allow
        protocol: stream
        direction: host
        ports: 2000
      - action: deny
        protocol: anyProtocol
        direction: anyDirection
  delegate_to: localhost

- name: Allow a range of datagram ports from the host into the guest
  vmchannels.vsphere.vm_vmci_filter:
    moid: vm-42
    rules:
      - action: allow
        protocol: datagram
        direction: guest
        ports: "2000-2010"
      - action: deny
        protocol: anyProtocol
        direction: anyDirection
  delegate_to: localhost

- name: Switch filtering off for a while, keeping the rules
  vmchannels.vsphere.vm_vmci_filter:
    uuid: 4213c5b6-7a21-29c8-d1f1-0f4d7a6e9b10
    filter_enabled: false
  delegate_to: localhost

- name: Remove every rule and turn filtering off
  vmchannels.vsphere.vm_vmci_filter:
    name: web01
    state: absent
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
  description:
    - Whether the rules are applied, after the run.
    - In check mode, what the run would set.
  returned: success
  type: bool
  sample: true
rules:
  description:
    - The rules after the run, in ascending rank (the order vSphere applies them).
    - In check mode, what the run would set.
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
      description: The protocol the rule matches.
      type: str
      sample: stream
    direction:
      description: V(guest) (host to guest), V(host) (guest to host) or V(anyDirection).
      type: str
      sample: host
    ports:
      description:
        - The ports as O(rules[].ports) takes them, V(null) for every port.
      type: str
      sample: "2000-2010"
  sample:
    - {rank: 1, action: allow, protocol: hypervisor, direction: host, ports: null}
    - {rank: 2, action: allow, protocol: stream, direction: host, ports: "2000"}
    - {rank: 3, action: deny, protocol: anyProtocol, direction: anyDirection, ports: null}
diff:
  description: The state before and after the run, with O(filter_enabled) and O(rules); with C(--diff) only.
  returned: when diff mode is on
  type: dict
  sample:
    before: {filter_enabled: false, rules: []}
    after:
      filter_enabled: true
      rules:
        - {rank: 1, action: deny, protocol: anyProtocol, direction: anyDirection, ports: null}
"""

from ansible_collections.vmchannels.vsphere.plugins.module_utils.engine.ensure import ensure_one
from ansible_collections.vmchannels.vsphere.plugins.module_utils.engine.record import RunOptions
from ansible_collections.vmchannels.vsphere.plugins.module_utils.engine.results import one_vm_result
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vmci.concern import VmciFirewall
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vmci.rules import policy_argument_spec, validate
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
    params = module.params
    entry = dict((k, params[k]) for k in ("name", "uuid", "moid", "datacenter", "folder", "filter_enabled", "rules",
                                          "state"))
    concern = VmciFirewall("changing the VMCI firewall")
    vm_run, warnings = ensure_one(client, concern, entry, RunOptions(params["timeout"], check_mode=module.check_mode))
    for warning in warnings:
        module.warn(warning)
    return one_vm_result(concern, vm_run, module._diff)


def main():
    spec = vm_identity_argument_spec()
    spec.update(policy_argument_spec())
    module = build_module(spec, supports_check_mode=True,
                          required_if=[("state", "present", ("filter_enabled", "rules"), True)],
                          **VM_IDENTITY_MODULE_KWARGS)
    fail_on_errors(module, vm_identity_errors(module.params) + validate(module.params))
    run(module, _logic)


if __name__ == "__main__":
    main()
