# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Documents exactly plugins/module_utils/vsphere/options.py:base_argument_spec().
    DOCUMENTATION = r"""
options:
  hostname:
    description:
      - The vCenter Server or ESXi host to connect to, as a host name or address only (an IPv6
        address may be in brackets), not a URL, and without a port. The port goes in O(port) only; a
        O(hostname) with V(:PORT) is refused before any request.
      - If not set, the value of the E(VMWARE_HOST) environment variable is used. One of them is
        required; without both, the module fails naming the option and the variable.
    type: str
  username:
    description:
      - The user name to log in with, for example V(administrator@vsphere.local).
      - If not set, the value of the E(VMWARE_USER) environment variable is used. One of them is
        required.
    type: str
    aliases: [admin, user]
  password:
    description:
      - The password of O(username).
      - If not set, the value of the E(VMWARE_PASSWORD) environment variable is used. One of them
        is required.
      - It never appears in results, warnings, errors or logs.
    type: str
    aliases: [pass, pwd]
  port:
    description:
      - The HTTPS port of the vSphere API.
      - If not set, the value of the E(VMWARE_PORT) environment variable is used.
    type: int
    default: 443
  validate_certs:
    description:
      - Whether to verify the TLS certificate of O(hostname).
      - Leave it V(true) in production. To trust a private certificate authority, point the
        E(REQUESTS_CA_BUNDLE) or E(SSL_CERT_FILE) environment variable at its PEM bundle. A bundle
        that does not exist or cannot be read fails the module before it connects, naming it.
      - If not set, the value of the E(VMWARE_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  proxy_host:
    description:
      - An HTTP proxy to reach O(hostname) through (HTTP CONNECT), as a host name or address
        (no URL, no credentials; the proxy must not require authentication).
      - If not set, the value of the E(VMWARE_PROXY_HOST) environment variable is used.
    type: str
  proxy_port:
    description:
      - The port of O(proxy_host); 80 when not set.
      - If not set, the value of the E(VMWARE_PROXY_PORT) environment variable is used.
    type: int
  timeout:
    description:
      - Seconds to wait for one vSphere task (for example a reconfiguration) before failing.
      - Also the timeout of the connection to O(hostname).
    type: int
    default: 300
"""
