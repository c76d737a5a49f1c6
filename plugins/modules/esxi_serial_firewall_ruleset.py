#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: esxi_serial_firewall_ruleset
short_description: Enable or disable the ESXi firewall rule sets of network serial ports
version_added: 0.1.0
author: vmchannels maintainers (@vmchannels)
description:
  - Enables or disables the ESXi firewall rule sets that virtual machine serial ports connected
    over the network need, V(remoteSerialPort) (port connected over the network) and V(vSPC)
    (port connected through a Virtual Serial Port Concentrator).
  - Only switches rule sets on or off (C(EnableRuleset), C(DisableRuleset)). As the vSphere
    documentation asks, the allowed-IP list of these rule sets is never changed; it is reported,
    as found, in RV(hosts). Other rule sets are never touched.
  - Works through a vCenter Server on hosts, a cluster or a datacenter, or connected straight to
    one ESXi host.
  - Hosts that are disconnected or not responding are skipped with a warning and listed in
    RV(skipped_hosts). A selected rule set that does not exist on a host, or that the host does not
    let users control (C(userControllable) false, vSphere 8.0 Update 2 and later), fails the task
    before anything is changed.
  - All selected hosts are read with one request; only the rule sets that differ from O(state)
    are changed, one request each.
extends_documentation_fragment:
  - vmchannels.vsphere.base_options
  - vmchannels.vsphere.attributes
  - vmchannels.vsphere.attributes.ACTIONS
options:
  rulesets:
    description:
      - The rule sets to enable or disable, by the ID C(esxcli network firewall ruleset list) shows
        (case-sensitive).
      - V(remoteSerialPort) is "VM serial port connected over network", for ports that connect or
        listen themselves; V(vSPC) is "VM serial port connected to vSPC", for ports that go through
        a Virtual Serial Port Concentrator.
    type: list
    elements: str
    required: true
    choices: [remoteSerialPort, vSPC]
  state:
    description:
      - Whether the rule sets must be enabled or disabled.
    type: str
    default: enabled
    choices: [enabled, disabled]
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
notes:
  - Needs the privilege C(Host.Config.NetService) on the hosts.
  - Enabling a rule set that a concurrent run has just enabled succeeds.
seealso:
  - module: vmchannels.vsphere.esxi_serial_firewall_ruleset_info
  - name: Configure the ESXi firewall for network serial ports
    description: vSphere Virtual Machine Administration, "Adding a Firewall Rule Set for Serial Port Network Connections".
    link: https://docs.vmware.com/en/VMware-vSphere/index.html
"""

EXAMPLES = r"""
- name: Let the VMs of esx01 reach their Virtual Serial Port Concentrator
  vmchannels.vsphere.esxi_serial_firewall_ruleset:
    hostname: vcenter.example.com
    username: administrator@vsphere.local
    password: "{{ vcenter_password }}"
    esxi_hostname: esx01.example.com
    rulesets: [vSPC]
    state: enabled
  delegate_to: localhost

- name: Allow network serial ports on every host of a cluster
  vmchannels.vsphere.esxi_serial_firewall_ruleset:
    hostname: vcenter.example.com
    username: administrator@vsphere.local
    password: "{{ vcenter_password }}"
    datacenter: DC1
    cluster_name: prod
    rulesets: [remoteSerialPort, vSPC]
  delegate_to: localhost

- name: Close network serial ports again on two hosts, showing what would change
  vmchannels.vsphere.esxi_serial_firewall_ruleset:
    hostname: vcenter.example.com
    username: administrator@vsphere.local
    password: "{{ vcenter_password }}"
    esxi_hostname: [esx01.example.com, esx02.example.com]
    rulesets: [remoteSerialPort]
    state: disabled
  check_mode: true
  diff: true
  delegate_to: localhost

- name: Connected straight to one ESXi host
  vmchannels.vsphere.esxi_serial_firewall_ruleset:
    hostname: esx03.example.com
    username: root
    password: "{{ esxi_password }}"
    esxi_hostname: esx03.example.com
    rulesets: [remoteSerialPort]
  delegate_to: localhost
"""

RETURN = r"""
hosts:
  description:
    - Per selected host (by name), the selected rule sets before and after the run.
    - In check mode, the C(enabled) of each rule set is the state the run would reach.
    - A skipped host has C(skipped) true and no rule sets.
  returned: always
  type: dict
  sample:
    esx01.example.com:
      moid: host-21
      cluster: prod
      datacenter: DC1
      connection_state: connected
      skipped: false
      changed: true
      rulesets:
        vSPC:
          label: VM serial port connected to vSPC
          enabled_before: false
          enabled: true
          required: false
          user_controllable: null
          allowed_hosts:
            all_ip: false
            ip_addresses: [192.0.2.10]
            ip_networks: [198.51.100.0/24]
          rules:
            - port: 0
              end_port: 65535
              direction: outbound
              port_type: dst
              protocol: tcp
changed_hosts:
  description: Names of the hosts on which at least one rule set was (or, in check mode, would be) changed.
  returned: always
  type: list
  elements: str
  sample: [esx01.example.com]
skipped_hosts:
  description: Names of the hosts skipped because they are disconnected or not responding.
  returned: always
  type: list
  elements: str
  sample: [esx04.example.com]
rulesets:
  description: The rule sets the run was about, without duplicates.
  returned: always
  type: list
  elements: str
  sample: [vSPC]
state:
  description: The state asked for.
  returned: always
  type: str
  sample: enabled
diff:
  description: With C(--diff), C(enabled) of each rule set per host, before and after.
  returned: when diff mode is on
  type: dict
  sample:
    before:
      esx01.example.com:
        vSPC:
          enabled: false
    after:
      esx01.example.com:
        vSPC:
          enabled: true
"""

from ansible_collections.vmchannels.vsphere.plugins.module_utils.esxi_firewall.hosts import ensure_rulesets
from ansible_collections.vmchannels.vsphere.plugins.module_utils.esxi_firewall.rulesets import (
    TARGET_MODULE_KWARGS,
    ruleset_argument_spec,
    target_argument_spec,
    validate_params,
)
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.ansible_module import build_module, run


def _logic(module, client):
    return ensure_rulesets(client, module.params, check_mode=module.check_mode, diff=module._diff, warn=module.warn)


def main():
    spec = ruleset_argument_spec()
    spec.update(target_argument_spec())
    module = build_module(spec, supports_check_mode=True, **TARGET_MODULE_KWARGS)
    error = validate_params(module.params)
    if error:
        module.fail_json(msg=error, error_kind="invalid")
    run(module, _logic)


if __name__ == "__main__":
    main()
