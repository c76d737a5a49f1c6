#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: vm_serial_port_bulk
short_description: Manage the serial ports of many vSphere virtual machines in one session
version_added: 0.1.0
author: vmchannels maintainers (@vmchannels)
description:
  - The bulk form of M(vmchannels.vsphere.vm_serial_port) for inventory-wide runs - one login, one
    read of every VM, the reconfigure tasks started in parallel waves, one wait per wave.
  - Each entry of O(vms) names a VM and says what its serial ports should be, in exactly the format
    of M(vmchannels.vsphere.vm_serial_port); the same rules apply per VM (ports identified by number,
    unset options kept, one C(ReconfigVM_Task) per VM carrying its C(changeVersion)).
  - A VM that cannot be changed (not found, powered on while ports must be added or removed
    without O(allow_power_cycle), refused by vSphere) is reported in RV(vms) and the others are
    changed all the same; the task then fails, naming each failed VM.
  - Both modules run one code path - M(vmchannels.vsphere.vm_serial_port) is this module for one VM.
  - VMs whose change was refused because someone else edited them meanwhile are read again and
    retried (three attempts).
  - An invalid entry of O(vms) (an option of the wrong type or unknown, a value the module refuses, no
    VM named or more than one way, a VM listed twice) is the failure of that VM alone - reported in
    RV(vms) with C(error_kind=invalid) and a message that starts with the entry's position and VM,
    for example C(vms[3] (web03)) - and the other VMs are changed all the same; the task then fails,
    as for any VM that could not be changed. When no entry is valid, nothing is asked of vSphere.
  - What concerns the whole task (the connection options, O(parallel), an empty O(vms)) fails it
    before any request.
  - In check mode with C(--diff), the diff holds every VM whose ports differ from what O(vms) asks
    for, also the VMs that could not be changed (their C(after) is what was asked), which makes the
    module a drift report over many VMs in one session.
extends_documentation_fragment:
  - vmchannels.vsphere.base_options
  - vmchannels.vsphere.attributes
  - vmchannels.vsphere.attributes.ACTIONS
options:
  vms:
    description:
      - The VMs and their serial ports. Each VM may appear once (a later entry naming it again is that
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
      serial_ports:
        description:
          - The serial ports of this VM, in the format of
            O(vmchannels.vsphere.vm_serial_port#module:serial_ports), validated the same way before
            any request.
        type: list
        elements: dict
        required: true
      exclusive:
        description: Remove every port of this VM that O(vms[].serial_ports) does not list.
        type: bool
        default: false
  parallel:
    description:
      - How many reconfigure tasks run at once (a wave). vCenter queues the rest anyway; a bound keeps a
        run of hundreds of VMs from flooding the task list.
      - The tasks of a wave are started concurrently on the run's one session, at most 16 requests at
        once, and the wave is awaited before the next one starts.
    type: int
    default: 20
  allow_power_cycle:
    description:
      - As O(vmchannels.vsphere.vm_serial_port#module:allow_power_cycle), for every VM of the run
        - when ports must be added to or removed from a running VM, shut it down (or power it off),
        apply the change and power it back on; whatever fails after it went down, it is powered back
        on, or its message says which state it is in and why.
      - The VMs that need it are power cycled in batches of at most O(max_powered_off), after the
        VMs that can be changed while they run.
    type: bool
    default: false
  max_powered_off:
    description:
      - With O(allow_power_cycle), how many VMs are down at once at most. Each batch is shut down,
        changed and powered back on before the next one goes down.
    type: int
    default: 2
  firewall_warnings:
    description:
      - Warn when an ESXi firewall rule set that network-backed ports need is disabled on a host
        running VMs of O(vms) (one warning per host and rule set). The C(firewall) entry of each VM
        in RV(vms) reports the rule sets either way.
      - The C(vmchannels.vsphere.serial_console) role sets V(false) in its planning step when it
        enables the rule sets next.
    type: bool
    default: true
notes:
  - Privileges as for M(vmchannels.vsphere.vm_serial_port), on every VM (the power privileges with
    O(allow_power_cycle)).
seealso:
  - module: vmchannels.vsphere.vm_serial_port
  - module: vmchannels.vsphere.esxi_serial_firewall_ruleset
"""

EXAMPLES = r"""
- name: One vSPC console port on every VM of the play, in one session
  vmchannels.vsphere.vm_serial_port_bulk:
    vms: "{{ ansible_play_hosts | map('extract', hostvars, 'bulk_entry') | list }}"
  vars:
    bulk_entry:
      name: "{{ inventory_hostname }}"
      serial_ports:
        - number: 1
          backing:
            type: network
            service_uri: vSPC.py
            proxy_uri: "telnet://vspc.example.com:13370"
  run_once: true
  delegate_to: localhost

- name: Two VMs, one by name and one by moid
  vmchannels.vsphere.vm_serial_port_bulk:
    vms:
      - name: web01
        serial_ports:
          - number: 2
            backing: {type: file, file_path: "[datastore1] web01/serial2.log"}
      - moid: vm-42
        exclusive: true
        serial_ports:
          - number: 1
            backing: {type: network, service_uri: "telnet://:7001"}
  delegate_to: localhost

- name: A log file on every VM, power cycling the running ones, three at a time
  vmchannels.vsphere.vm_serial_port_bulk:
    vms: "{{ ansible_play_hosts | map('extract', hostvars, 'log_entry') | list }}"
    allow_power_cycle: true
    max_powered_off: 3
  vars:
    log_entry:
      name: "{{ inventory_hostname }}"
      serial_ports:
        - number: 2
          backing: {type: file, file_path: "[datastore1] {{ inventory_hostname }}/serial2.log"}
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
vms:
  description:
    - One entry per VM of O(vms), in the same order - C(vm), C(changed), C(changes), C(serial_ports)
      as M(vmchannels.vsphere.vm_serial_port) returns them; C(failed), C(msg) and C(error_kind) for
      a VM that could not be changed or
      whose entry is invalid (C(error_kind=invalid), C(vm) as the entry names it).
    - C(serial_ports_before), for every VM that was read, lists its ports as they were before the
      run, in the format of C(serial_ports).
    - C(changes) of a VM that could not be changed because of its power state (or its hardware
      version) still lists the port operations it needs; it has no C(serial_ports).
    - C(esxi_host) names the ESXi host that runs the VM (when the hosts could be read).
    - C(firewall), for a VM with network-backed ports, names the ESXi host that runs it and says
      whether each rule set its ports need is enabled there.
    - C(power_cycle), for a VM that was power cycled (or would be, in check mode), says how, with the
      values of RV(vmchannels.vsphere.vm_serial_port#module:power_cycle) - C(guest shutdown),
      C(power off), C(power off after guest shutdown timeout), C(would power cycle).
    - C(changed) is true for a VM whose ports were changed, even if it failed afterwards (for
      example when it could not be powered back on).
  returned: always
  type: list
  elements: dict
  sample:
    - vm: {"name": "web01", "moid": "vm-42", "uuid": "42165fa3-1b6e-1c0f-3c2a-a2e2b7b2e0a1",
           "instance_uuid": "50165fa3-1b6e-1c0f-3c2a-a2e2b7b2e0a1", "power_state": "poweredOff"}
      changed: true
      changes: [{"op": "add", "number": 1}]
      serial_ports:
        - number: 1
          label: Serial port 1
          key: 9000
          backing: {type: network, service_uri: vSPC.py, direction: server, proxy_uri: "telnet://vspc.example.com:13370"}
          yield_on_poll: true
          start_connected: true
          allow_guest_control: false
          connected: false
          status: null
      serial_ports_before: []
      esxi_host: esx01.example.com
      firewall: {"host": "esx01.example.com", "rulesets": {"vSPC": true}}
    - vm: {"name": "web02"}
      changed: false
      changes: []
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
    - Per VM that changes (or would, in check mode), keyed C(name (moid)), the managed fields of its
      ports before and after, as M(vmchannels.vsphere.vm_serial_port) shows them.
    - In check mode it also holds every VM whose ports differ from what O(vms) asks for but that
      could not be changed (for example because of its power state or hardware version); its
      C(after) is what was asked, not what it would reach.
  returned: when diff mode is on
  type: dict
  sample:
    before: {vms: {"web01 (vm-42)": {}}}
    after: {vms: {"web01 (vm-42)": {"port 1": {backing: {type: thinprint}, yield_on_poll: true,
                                               start_connected: true, allow_guest_control: false}}}}
"""

from functools import partial

from ansible_collections.vmchannels.vsphere.plugins.module_utils.engine.ensure import ensure
from ansible_collections.vmchannels.vsphere.plugins.module_utils.engine.entries import entry_runs, task_errors
from ansible_collections.vmchannels.vsphere.plugins.module_utils.engine.record import RunOptions
from ansible_collections.vmchannels.vsphere.plugins.module_utils.engine.results import bulk_result
from ansible_collections.vmchannels.vsphere.plugins.module_utils.serial_ports.concern import SerialPorts
from ansible_collections.vmchannels.vsphere.plugins.module_utils.serial_ports.validation import (
    ports_argument_spec,
    validate_ports,
)
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
    spec.update(ports_argument_spec())
    return spec


def argument_spec():
    return dict(
        vms=dict(type="list", elements="dict", required=True),
        parallel=dict(type="int", default=20),
        allow_power_cycle=dict(type="bool", default=False),
        max_powered_off=dict(type="int", default=2),
        firewall_warnings=dict(type="bool", default=True),
    )


def validate(params):
    """The problems that fail the whole task, before any request."""
    errors = task_errors(params)
    if params["max_powered_off"] < 1:
        errors.append("max_powered_off must be at least 1, got %d" % params["max_powered_off"])
    return errors


def _logic(module, client, runs):
    params = module.params
    concern = SerialPorts(warn_firewall=params["firewall_warnings"])
    options = RunOptions(params["timeout"], parallel=params["parallel"], allow_power_cycle=params["allow_power_cycle"],
                         max_powered_off=params["max_powered_off"], check_mode=module.check_mode, name_hosts=True)
    for warning in ensure(client, concern, runs, options):
        module.warn(warning)
    return bulk_result(concern, runs, module._diff, module.check_mode)


def main():
    module = build_module(argument_spec(), supports_check_mode=True)
    fail_on_errors(module, validate(module.params))
    runs = entry_runs(module.params["vms"], entry_spec(), lambda vm: validate_ports(vm["serial_ports"]))
    run(module, partial(_logic, runs=runs), connect=any(vm_run.error is None for vm_run in runs))


if __name__ == "__main__":
    main()
