#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: vm_serial_port_info
short_description: Read the serial ports of a vSphere virtual machine
version_added: 0.1.0
author: vmchannels maintainers (@vmchannels)
description:
  - Returns every serial port of one VM, read in one request, in the format
    M(vmchannels.vsphere.vm_serial_port) takes and returns.
  - Also says, for the network-backed ports, whether the ESXi firewall rule set each needs is
    enabled on the VM's host.
extends_documentation_fragment:
  - vmchannels.vsphere.base_options
  - vmchannels.vsphere.vm_identity
  - vmchannels.vsphere.attributes
  - vmchannels.vsphere.attributes.INFO_MODULE
seealso:
  - module: vmchannels.vsphere.vm_serial_port
"""

EXAMPLES = r"""
- name: Read the serial ports of web01
  vmchannels.vsphere.vm_serial_port_info:
    hostname: vcenter.example.com
    username: administrator@vsphere.local
    password: "{{ vcenter_password }}"
    name: web01
  delegate_to: localhost
  register: web01_ports

- name: Show the backing of each port
  ansible.builtin.debug:
    msg: "{{ item.number }}: {{ item.backing.type }}"
  loop: "{{ web01_ports.serial_ports }}"
"""

RETURN = r"""
vm:
  description: The VM.
  returned: always
  type: dict
  sample: {"name": "web01", "moid": "vm-42", "uuid": "42165fa3-1b6e-1c0f-3c2a-a2e2b7b2e0a1",
           "instance_uuid": "50165fa3-1b6e-1c0f-3c2a-a2e2b7b2e0a1", "power_state": "poweredOn"}
serial_ports:
  description: The VM's serial ports, sorted by number.
  returned: always
  type: list
  elements: dict
  sample:
    - number: 1
      label: Serial port 1
      key: 9000
      backing: {type: network, service_uri: "telnet://:7001", direction: server, proxy_uri: null}
      yield_on_poll: true
      start_connected: true
      allow_guest_control: false
      connected: true
      status: ok
firewall:
  description: Per rule set needed by the network-backed ports, whether it is enabled on the VM's host.
  returned: when the VM has network-backed ports and its host could be read
  type: dict
  sample: {"host": "esx01.example.com", "rulesets": {"remoteSerialPort": false}}
"""

from ansible_collections.vmchannels.vsphere.plugins.module_utils.serial_ports.devices import read_ports
from ansible_collections.vmchannels.vsphere.plugins.module_utils.serial_ports.plan import firewall_views
from ansible_collections.vmchannels.vsphere.plugins.module_utils.serial_ports.ports import port_list
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
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.vm_config import (
    find_and_read_vm,
    vm_identity,
)


def _logic(module, client):
    params = module.params
    dummy, props = find_and_read_vm(client, params)
    result = dict(changed=False, vm=vm_identity(props), serial_ports=port_list(read_ports(props)[1]))
    firewall = firewall_views(client, [(props.get("runtime.host"), result["serial_ports"])])[0]
    if firewall:
        result["firewall"] = firewall
    return result


def main():
    module = build_module(vm_identity_argument_spec(), supports_check_mode=True, **VM_IDENTITY_MODULE_KWARGS)
    fail_on_errors(module, vm_identity_errors(module.params))
    run(module, _logic)


if __name__ == "__main__":
    main()
