#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: esxi_serial_firewall_ruleset_info
short_description: Report the ESXi firewall rule sets of network serial ports
version_added: 0.1.0
author: vmchannels maintainers (@vmchannels)
description:
  - Reports, per ESXi host, the firewall rule sets V(remoteSerialPort) and V(vSPC) (enabled or not,
    the allowed-IP list and the rules), and whether the host is ready for virtual machine serial
    ports connected over the network (V(remoteSerialPort) enabled) or through a Virtual Serial Port
    Concentrator (V(vSPC) enabled).
  - Changes nothing. All selected hosts are read with one request.
  - Hosts that are disconnected or not responding are skipped with a warning and listed in
    RV(skipped_hosts). A rule set that does not exist on a host is absent from its report.
extends_documentation_fragment:
  - vmchannels.vsphere.base_options
  - vmchannels.vsphere.attributes
  - vmchannels.vsphere.attributes.INFO_MODULE
options:
  esxi_hostname:
    description:
      - The ESXi host, or a list of hosts, as named in the vSphere Client (often the FQDN).
      - Connected straight to an ESXi host (no vCenter Server), that host is the target; give its
        name or the address used as O(hostname).
      - Mutually exclusive with O(cluster_name). One of O(esxi_hostname), O(cluster_name) and
        O(datacenter) is required.
    type: list
    elements: str
  cluster_name:
    description:
      - Every host of this cluster.
      - When several datacenters have a cluster of that name, give O(datacenter) too.
    type: str
  datacenter:
    description:
      - Alone, every host of this datacenter (clustered and standalone).
      - With O(cluster_name) or O(esxi_hostname), only look in this datacenter.
    type: str
  cluster_peers:
    description:
      - With O(esxi_hostname), also report every other host of the clusters those hosts belong to
        (a report of whole clusters from the hosts that matter, for example those that run given
        VMs). Standalone hosts have no peers. No request more.
    type: bool
    default: false
notes:
  - Needs read access (C(System.Read)) to the hosts.
seealso:
  - module: vmchannels.vsphere.esxi_serial_firewall_ruleset
"""

EXAMPLES = r"""
- name: Which hosts of the datacenter could carry a network serial port today?
  vmchannels.vsphere.esxi_serial_firewall_ruleset_info:
    hostname: vcenter.example.com
    username: administrator@vsphere.local
    password: "{{ vcenter_password }}"
    datacenter: DC1
  delegate_to: localhost
  register: serial_firewall

- name: Show them
  ansible.builtin.debug:
    msg: "Network serial ports: {{ serial_firewall.network_serial_ready_hosts }}; vSPC: {{ serial_firewall.vspc_ready_hosts }}"

- name: Audit one cluster
  vmchannels.vsphere.esxi_serial_firewall_ruleset_info:
    hostname: vcenter.example.com
    username: administrator@vsphere.local
    password: "{{ vcenter_password }}"
    cluster_name: prod
  delegate_to: localhost
"""

RETURN = r"""
hosts:
  description:
    - Per selected host (by name), the two serial-port rule sets and the host's readiness.
    - A skipped host has C(skipped) true, no rule sets and is not ready.
  returned: always
  type: dict
  sample:
    esx01.example.com:
      moid: host-21
      cluster: prod
      datacenter: DC1
      connection_state: connected
      skipped: false
      network_serial_ready: false
      vspc_ready: true
      rulesets:
        remoteSerialPort:
          label: VM serial port connected over network
          enabled: false
          required: false
          user_controllable: null
          allowed_hosts:
            all_ip: true
            ip_addresses: []
            ip_networks: []
          rules:
            - port: 0
              end_port: 65535
              direction: outbound
              port_type: dst
              protocol: tcp
            - port: 23
              end_port: 0
              direction: inbound
              port_type: dst
              protocol: tcp
        vSPC:
          label: VM serial port connected to vSPC
          enabled: true
          required: false
          user_controllable: null
          allowed_hosts:
            all_ip: false
            ip_addresses: [192.0.2.10]
            ip_networks: []
          rules:
            - port: 0
              end_port: 65535
              direction: outbound
              port_type: dst
              protocol: tcp
network_serial_ready_hosts:
  description: Names of the hosts whose C(remoteSerialPort) rule set is enabled.
  returned: always
  type: list
  elements: str
  sample: [esx02.example.com]
vspc_ready_hosts:
  description: Names of the hosts whose C(vSPC) rule set is enabled.
  returned: always
  type: list
  elements: str
  sample: [esx01.example.com, esx02.example.com]
skipped_hosts:
  description: Names of the hosts skipped because they are disconnected or not responding.
  returned: always
  type: list
  elements: str
  sample: []
"""

from ansible_collections.vmchannels.vsphere.plugins.module_utils.esxi_firewall.hosts import audit_rulesets
from ansible_collections.vmchannels.vsphere.plugins.module_utils.esxi_firewall.rulesets import (
    TARGET_MODULE_KWARGS,
    target_argument_spec,
    validate_params,
)
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.ansible_module import build_module, run


def _logic(module, client):
    return audit_rulesets(client, module.params, warn=module.warn)


def main():
    spec = target_argument_spec()
    spec.update(cluster_peers=dict(type="bool", default=False))
    module = build_module(spec, supports_check_mode=True, **TARGET_MODULE_KWARGS)
    error = validate_params(module.params, with_rulesets=False)
    if error:
        module.fail_json(msg=error, error_kind="invalid")
    run(module, _logic)


if __name__ == "__main__":
    main()
