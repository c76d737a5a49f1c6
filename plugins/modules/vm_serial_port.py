#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: vm_serial_port
short_description: Manage the serial ports of a vSphere virtual machine
version_added: 0.1.0
author: vmchannels maintainers (@vmchannels)
description:
  - Makes the serial ports of one VM what O(serial_ports) describes, with every backing vSphere
    offers, in one reconfiguration of the VM.
  - A port is identified by its O(serial_ports[].number) ("Serial port 1" in the vSphere Client),
    never by its backing type, so two ports with the same backing are managed independently.
  - Options left unset keep their current value on an existing port.
  - Adding or removing a port needs the VM powered off. Editing an existing port is attempted while
    the VM runs, as vSphere allows.
  - When a network-backed port is configured and the ESXi firewall rule set it needs is disabled on
    the VM's host, the module warns (unless O(firewall_warnings=false)); enable it with
    M(vmchannels.vsphere.esxi_serial_firewall_ruleset).
extends_documentation_fragment:
  - vmchannels.vsphere.base_options
  - vmchannels.vsphere.vm_identity
  - vmchannels.vsphere.attributes
  - vmchannels.vsphere.attributes.ACTIONS
options:
  serial_ports:
    description:
      - The serial ports to manage. Ports not listed are left alone unless O(exclusive=true).
    type: list
    elements: dict
    required: true
    suboptions:
      number:
        description:
          - The port's number, 1 to 32 ("Serial port N"); it is the unit number on the SIO controller
            plus one. The VM's hardware version may allow fewer (4 before vSphere 6.5).
        type: int
        required: true
      state:
        description:
          - V(absent) removes the port (the VM must be powered off, see O(allow_power_cycle)).
        type: str
        choices: [present, absent]
        default: present
      backing:
        description:
          - Where the port is connected. Required for a new port; when given, it replaces the
            port's backing as a whole (fields left unset take their defaults).
        type: dict
        suboptions:
          type:
            description:
              - V(network) ("Use network", optionally through a Virtual Serial Port Concentrator),
                V(pipe) ("Use named pipe"), V(file) ("Use output file"), V(device) ("Use physical
                serial port"), V(thinprint) ("Use ThinPrint").
            type: str
            required: true
            choices: [network, pipe, file, device, thinprint]
          service_uri:
            description:
              - Network backing. V(telnet://:7001) listens on port 7001 (direction V(server));
                V(tcp://host:7001) connects to a host (direction V(client)). Schemes V(telnet),
                V(telnets), V(tcp), V(tcp4), V(tcp6), V(ssl), V(tcp+ssl), or plain V(host:port).
                Certificate options may follow V(#), for example V(telnets://h:7001#thumbprint=...).
              - V(tcp://5000), without the colon before the port, is refused because vSphere would read 5000
                as a host name and the port would fail at power on.
              - With O(serial_ports[].backing.proxy_uri), the URI names the port to the
                concentrator, and any token without spaces (for example V(vSPC.py)) is accepted,
                also one with a user name and password (V(ops:password@web01)), which the concentrator
                receives as given.
              - Without a concentrator, vSphere listens or connects without credentials, so a user
                name or password in the URI (V(tcp://ops:password@host:7001)) is refused, before any
                request, with a message that quotes the URI masked (V(tcp://ops:********@host:7001))
                and the URI to write instead (V(tcp://host:7001)).
              - A password is never shown, whatever its characters (V(/), V(#), V(?), V(@), V(:), V(%)).
                Messages, results, diffs, the C(-vvv) output and the audit reports show
                V(********) in its place (the whole user info when it has no V(:)). The user info
                is taken to end at the last V(@) of the URI, so an V(@) after the host (in a V(#)
                option) masks what precedes it too. In the diff, a URI whose password alone changes
                is marked C(credentials changed).
            type: str
          direction:
            description:
              - Network backing. V(server) listens for connections, V(client) connects out.
              - Defaults to V(server).
            type: str
            choices: [server, client]
          proxy_uri:
            description:
              - Network backing. The Virtual Serial Port Concentrator, V(telnet://host:port) or
                V(telnets://host:port), without user name or password. With a vSPC, the VM always
                opens the connection to the concentrator, and vMotion keeps the port working.
              - Not set means no concentrator (an existing one is removed).
            type: str
          pipe_name:
            description:
              - Pipe backing. The pipe's name, for example V(\\\\.\\pipe\\web01-com1) or V(/tmp/web01-com1).
            type: str
          endpoint:
            description:
              - Pipe backing. Whether this end of the pipe is the V(server) or the V(client).
              - Defaults to V(server).
            type: str
            choices: [client, server]
          no_rx_loss:
            description:
              - Pipe backing. Optimize for no data loss rather than CPU use (polling mode).
                Defaults to V(false).
            type: bool
          file_path:
            description:
              - File backing. A datastore path, V([datastore1] web01/serial.log).
              - The datastore must be one of the datastores of the VM's host or cluster (read with the
                VM, in the same request); another is refused before anything is changed.
            type: str
          device_name:
            description:
              - Device backing. The host's serial device, for example V(/dev/char/serial/uart0).
            type: str
          auto_detect:
            description:
              - Device backing. Let the host pick the device instead of O(serial_ports[].backing.device_name).
                Defaults to V(false).
            type: bool
      yield_on_poll:
        description:
          - Let the guest yield the CPU when it polls the port ("Yield CPU on poll"). V(true) on a
            new port.
        type: bool
      start_connected:
        description:
          - Connect the port when the VM powers on. V(true) on a new port.
        type: bool
      allow_guest_control:
        description:
          - Let the guest connect and disconnect the port. V(false) on a new port.
        type: bool
      connected:
        description:
          - Whether the port is connected now. Only meaningful while the VM runs; while it is
            powered off, vSphere ignores it, so it is not compared and the module warns that it was
            ignored (O(serial_ports[].start_connected) decides whether the port connects at power on).
        type: bool
  exclusive:
    description:
      - Remove every port of the VM that O(serial_ports) does not list.
    type: bool
    default: false
  allow_power_cycle:
    description:
      - When ports must be added or removed and the VM is powered on, shut the guest down (through
        VMware Tools when they run, otherwise power off), apply the change and power the VM back on.
      - A guest that refuses to shut down, or has not shut down within O(timeout), is powered off.
      - Whatever fails after the VM went down (a refused change, a task still running after
        O(timeout), a lost connection), the module powers the VM back on; when it cannot, the message
        says which state the VM is in and why.
      - Without it such a run fails before changing anything, naming the VM, the ports and the
        power state.
    type: bool
    default: false
  firewall_warnings:
    description:
      - Warn when an ESXi firewall rule set that a network-backed port needs is disabled on the host
        running the VM. RV(firewall) reports the rule sets either way.
      - The C(vmchannels.vsphere.serial_console) role sets V(false) in its planning step, which is
        followed by the step that enables the rule sets, so that it warns only about a rule set that
        stays disabled.
    type: bool
    default: true
notes:
  - Privileges needed on the VM - C(VirtualMachine.Config.AddRemoveDevice) (add, remove),
    C(VirtualMachine.Config.EditDevice) (edit), C(VirtualMachine.Interact.DeviceConnection)
    (connection settings), C(VirtualMachine.Interact.PowerOff) and C(.PowerOn) with
    O(allow_power_cycle).
  - The VM's C(changeVersion) is sent with the change, so a concurrent edit is refused by vSphere
    instead of being lost; the module then reads the VM again and retries (three attempts).
seealso:
  - module: vmchannels.vsphere.vm_serial_port_info
  - module: vmchannels.vsphere.esxi_serial_firewall_ruleset
"""

EXAMPLES = r"""
- name: A console on a vSPC and a log file on the datastore
  vmchannels.vsphere.vm_serial_port:
    hostname: vcenter.example.com
    username: administrator@vsphere.local
    password: "{{ vcenter_password }}"
    name: web01
    serial_ports:
      - number: 1
        backing:
          type: network
          service_uri: "telnet://:7001"
          direction: server
          proxy_uri: "telnet://vspc.example.com:13370"
        yield_on_poll: true
      - number: 2
        backing:
          type: file
          file_path: "[datastore1] web01/serial2.log"
  delegate_to: localhost

- name: Remove port 3, powering the VM off and on if it runs
  vmchannels.vsphere.vm_serial_port:
    uuid: 42165fa3-1b6e-1c0f-3c2a-a2e2b7b2e0a1
    serial_ports:
      - number: 3
        state: absent
    allow_power_cycle: true
  delegate_to: localhost

- name: Exactly one port, a named pipe; every other port is removed
  vmchannels.vsphere.vm_serial_port:
    moid: vm-42
    exclusive: true
    serial_ports:
      - number: 1
        backing: {type: pipe, pipe_name: "\\\\.\\pipe\\web01-com1", endpoint: server}
  delegate_to: localhost

- name: Disconnect port 1 of a running VM (connection settings only)
  vmchannels.vsphere.vm_serial_port:
    name: web01
    datacenter: DC1
    folder: /DC1/vm/prod
    serial_ports:
      - number: 1
        connected: false
  delegate_to: localhost
"""

RETURN = r"""
vm:
  description: The VM.
  returned: always
  type: dict
  sample: {"name": "web01", "moid": "vm-42", "uuid": "42165fa3-1b6e-1c0f-3c2a-a2e2b7b2e0a1",
           "instance_uuid": "50165fa3-1b6e-1c0f-3c2a-a2e2b7b2e0a1", "power_state": "poweredOff"}
serial_ports:
  description:
    - The VM's serial ports after the run (in check mode, as they would be), sorted by number.
  returned: always
  type: list
  elements: dict
  sample:
    - number: 1
      label: Serial port 1
      key: 9000
      backing: {type: network, service_uri: "telnet://:7001", direction: server, proxy_uri: "telnet://vspc.example.com:13370"}
      yield_on_poll: true
      start_connected: true
      allow_guest_control: false
      connected: false
      status: untried
changes:
  description: The port operations of the run (none when nothing changed).
  returned: always
  type: list
  elements: dict
  sample: [{"op": "add", "number": 1}, {"op": "edit", "number": 2}]
power_cycle:
  description:
    - How the VM was powered off for the change, before it was powered back on.
    - C(guest shutdown) - through VMware Tools.
    - C(power off) - VMware Tools do not run, or the guest refused to shut down.
    - C(power off after guest shutdown timeout) - the guest had not shut down within O(timeout).
    - C(would power cycle) - in check mode, the VM would be power cycled.
  returned: when the VM was power cycled (or would be, in check mode)
  type: str
  sample: guest shutdown
firewall:
  description:
    - Per rule set needed by the network-backed ports, whether it is enabled on the VM's host.
  returned: when network-backed ports are configured and the host could be read
  type: dict
  sample: {"host": "esx01.example.com", "rulesets": {"vSPC": true}}
diff:
  description:
    - The managed fields of every port before and after the run (in check mode, as they would be),
      keyed C(port N); C(connected) only while the VM runs.
  returned: when diff mode is on
  type: dict
  sample:
    before: {serial_ports: {}}
    after: {serial_ports: {"port 1": {backing: {type: thinprint}, yield_on_poll: true, start_connected: true,
                                      allow_guest_control: false}}}
"""

from ansible_collections.vmchannels.vsphere.plugins.module_utils.engine.ensure import ensure_one
from ansible_collections.vmchannels.vsphere.plugins.module_utils.engine.record import RunOptions
from ansible_collections.vmchannels.vsphere.plugins.module_utils.engine.results import one_vm_result
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
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.options import (
    VM_IDENTITY_MODULE_KWARGS,
    vm_identity_argument_spec,
    vm_identity_errors,
)


def argument_spec():
    spec = vm_identity_argument_spec()
    spec.update(ports_argument_spec())
    spec.update(
        allow_power_cycle=dict(type="bool", default=False),
        firewall_warnings=dict(type="bool", default=True),
    )
    return spec


def _logic(module, client):
    params = module.params
    entry = dict((k, params[k]) for k in ("name", "uuid", "moid", "datacenter", "folder", "serial_ports", "exclusive"))
    concern = SerialPorts(warn_firewall=params["firewall_warnings"])
    vm_run, warnings = ensure_one(client, concern, entry, RunOptions(
        params["timeout"], allow_power_cycle=params["allow_power_cycle"], check_mode=module.check_mode))
    for warning in warnings:
        module.warn(warning)
    return one_vm_result(concern, vm_run, module._diff)


def main():
    module = build_module(argument_spec(), supports_check_mode=True, **VM_IDENTITY_MODULE_KWARGS)
    fail_on_errors(module, vm_identity_errors(module.params) + validate_ports(module.params["serial_ports"]))
    run(module, _logic)


if __name__ == "__main__":
    main()
