#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: vm_vmci_filter_bulk
short_description: Manage the VMCI firewall of many vSphere virtual machines in one session
version_added: 0.1.0
author: vmchannels maintainers (@vmchannels)
description:
  - The bulk form of M(vmchannels.vsphere.vm_vmci_filter) for inventory-wide runs - one login, one
    read of every VM, the reconfigure tasks started in parallel waves, one wait per wave.
  - Each entry of O(vms) names a VM and says what its VMCI firewall should be, with the options of
    M(vmchannels.vsphere.vm_vmci_filter); the same rules apply per VM (rules compared by content and
    order, unset options kept, one C(ReconfigVM_Task) per VM carrying its C(changeVersion)).
  - An entry that sets neither O(vms[].filter_enabled) nor O(vms[].rules) (with O(vms[].state=present))
    changes nothing and reports the VM's firewall.
  - A VM that cannot be changed (not found, no VMCI device, refused by vSphere) is reported in
    RV(vms) and the others are changed all the same; the task then fails, naming each failed VM.
  - VMs whose change was refused because someone else edited them meanwhile are read again and
    retried (three attempts).
  - An invalid entry of O(vms) (an option of the wrong type or unknown, a value the module refuses, no
    VM named or more than one way, a VM listed twice) is the failure of that VM alone - reported in
    RV(vms) with C(error_kind=invalid) and a message that starts with the entry's position and VM,
    for example C(vms[3] (web03)) - and the other VMs are changed all the same; the task then fails,
    as for any VM that could not be changed. When no entry is valid, nothing is asked of vSphere.
  - What concerns the whole task (the connection options, O(parallel), an empty O(vms)) fails it
    before any request.
  - In check mode with C(--diff), the diff holds every VM whose firewall differs from what O(vms)
    asks for, which makes the module a drift report over many VMs in one session.
extends_documentation_fragment:
  - vmchannels.vsphere.base_options
  - vmchannels.vsphere.attributes
  - vmchannels.vsphere.attributes.ACTIONS
options:
  vms:
    description:
      - The VMs and their VMCI firewalls. Each VM may appear once (a later entry naming it again is that
        entry's failure).
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - The name of the VM. All names of a run are resolved with one inventory read.
          - Exactly one of O(vms[].name), O(vms[].uuid) and O(vms[].moid) is required.
        type: str
      uuid:
        description: The BIOS or instance UUID of the VM (one search request each).
        type: str
      moid:
        description: The managed object ID of the VM (no request at all).
        type: str
      datacenter:
        description: With O(vms[].name), only search this datacenter.
        type: str
      folder:
        description: With O(vms[].name), only match a VM directly in this VM folder.
        type: str
      filter_enabled:
        description:
          - Whether the rules are applied, as O(vmchannels.vsphere.vm_vmci_filter#module:filter_enabled).
          - When not set, filtering stays as it is.
        type: bool
      rules:
        description:
          - The complete, ordered rule list, in the format of
            O(vmchannels.vsphere.vm_vmci_filter#module:rules) (C(action), C(protocol), C(direction),
            C(ports), C(rank)), validated the same way before any request.
          - When not set, the rules stay as they are.
        type: list
        elements: dict
      state:
        description:
          - V(present) applies O(vms[].filter_enabled) and O(vms[].rules).
          - V(absent) removes every rule and turns filtering off.
        type: str
        choices: [present, absent]
        default: present
  parallel:
    description:
      - How many reconfigure tasks run at once (a wave). vCenter queues the rest anyway; a bound keeps a
        run of hundreds of VMs from flooding the task list.
      - The tasks of a wave are started concurrently on the run's one session, at most 16 requests at
        once, and the wave is awaited before the next one starts.
    type: int
    default: 20
notes:
  - "Privilege: VirtualMachine.Config.EditDevice on every VM."
  - "Cost in vSphere API requests: login (2), the look-up of every name (1), one read of every VM (1),
    one read of the names of their ESXi hosts (1) and logout (1); a change adds one C(ReconfigVM_Task)
    per VM and one wait per wave of O(parallel) VMs."
seealso:
  - module: vmchannels.vsphere.vm_vmci_filter
  - module: vmchannels.vsphere.vm_vmci_filter_info
"""

EXAMPLES = r"""
- name: Only the hypervisor's services over VMCI, on every VM of the play, in one session
  vmchannels.vsphere.vm_vmci_filter_bulk:
    vms: "{{ ansible_play_hosts | map('extract', hostvars, 'vmci_entry') | list }}"
  vars:
    vmci_entry:
      name: "{{ inventory_hostname }}"
      filter_enabled: true
      rules:
        - {action: allow, protocol: hypervisor, direction: anyDirection}
        - {action: deny, protocol: anyProtocol, direction: anyDirection}
  run_once: true
  delegate_to: localhost

- name: Which VMs differ from the policy (changes nothing)
  vmchannels.vsphere.vm_vmci_filter_bulk:
    vms:
      - name: web01
        filter_enabled: true
        rules: [{action: deny, protocol: anyProtocol, direction: anyDirection}]
      - moid: vm-42
        state: absent
  check_mode: true
  diff: true
  delegate_to: localhost
  register: vmci_drift
"""

RETURN = r"""
vms:
  description:
    - One entry per VM of O(vms), in the same order - C(vm), C(changed), C(filter_enabled) and C(rules)
      as M(vmchannels.vsphere.vm_vmci_filter) returns them (in check mode, what the run would set);
      C(failed), C(msg) and C(error_kind) for a VM that could not be changed or
      whose entry is invalid (C(error_kind=invalid), C(vm) as the entry names it).
    - C(before), for every VM whose VMCI device was read, holds C(filter_enabled) and C(rules) as
      they were before the run.
    - C(esxi_host) names the ESXi host that runs the VM (when the hosts could be read).
  returned: always
  type: list
  elements: dict
  sample:
    - vm: {"name": "web01", "moid": "vm-42", "uuid": "42165fa3-1b6e-1c0f-3c2a-a2e2b7b2e0a1",
           "instance_uuid": "50165fa3-1b6e-1c0f-3c2a-a2e2b7b2e0a1", "power_state": "poweredOn"}
      changed: true
      filter_enabled: true
      rules:
        - {rank: 1, action: deny, protocol: anyProtocol, direction: anyDirection, ports: null}
      before: {filter_enabled: false, rules: []}
      esxi_host: esx01.example.com
    - vm: {"name": "web02"}
      changed: false
      failed: true
      error_kind: not_found
      msg: "No virtual machine named 'web02' was found."
failed_vms:
  description: How many VMs could not be changed (each has C(failed) and C(msg) in RV(vms)).
  returned: always
  type: int
  sample: 0
diff:
  description:
    - Per VM whose firewall differs from what was asked (keyed C(NAME (MOID))), C(filter_enabled) and
      C(rules) before and after; with C(--diff) only.
  returned: when diff mode is on
  type: dict
  sample:
    before: {vms: {"web01 (vm-42)": {filter_enabled: false, rules: []}}}
    after:
      vms:
        "web01 (vm-42)":
          filter_enabled: true
          rules: [{rank: 1, action: deny, protocol: anyProtocol, direction: anyDirection, ports: null}]
"""

from functools import partial

from ansible_collections.vmchannels.vsphere.plugins.module_utils.engine.ensure import ensure
from ansible_collections.vmchannels.vsphere.plugins.module_utils.engine.entries import entry_runs, task_errors
from ansible_collections.vmchannels.vsphere.plugins.module_utils.engine.record import RunOptions
from ansible_collections.vmchannels.vsphere.plugins.module_utils.engine.results import bulk_result
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vmci.concern import VmciFirewall
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vmci.rules import policy_argument_spec
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vmci.rules import validate as validate_rules
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.ansible_module import (
    build_module,
    fail_on_errors,
    run,
)
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.options import vm_identity_argument_spec


def entry_spec():
    """The options of one entry of ``vms``: checked per entry (``engine.entries``), so that an invalid
    entry is that VM's failure."""
    spec = vm_identity_argument_spec()
    spec.update(policy_argument_spec())
    return spec


def argument_spec():
    return dict(
        vms=dict(type="list", elements="dict", required=True),
        parallel=dict(type="int", default=20),
    )


def _logic(module, client, runs):
    concern = VmciFirewall("reconfiguring the VMCI firewall")
    options = RunOptions(module.params["timeout"], parallel=module.params["parallel"], check_mode=module.check_mode,
                         name_hosts=True)
    for warning in ensure(client, concern, runs, options):
        module.warn(warning)
    return bulk_result(concern, runs, module._diff, module.check_mode)


def main():
    module = build_module(argument_spec(), supports_check_mode=True)
    fail_on_errors(module, task_errors(module.params))
    runs = entry_runs(module.params["vms"], entry_spec(), validate_rules)
    run(module, partial(_logic, runs=runs), connect=any(vm_run.error is None for vm_run in runs))


if __name__ == "__main__":
    main()
