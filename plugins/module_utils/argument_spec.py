# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument specs shared by every module of the collection.

``base_argument_spec()`` is documented by the ``vmchannels.vsphere.base_options`` doc fragment and
``vm_identity_argument_spec()`` by ``vmchannels.vsphere.vm_identity``: change them together.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import env_fallback

from types import MappingProxyType

from ansible_collections.vmchannels.vsphere.plugins.module_utils.masking import host_of, mask_uri


def base_argument_spec():
    """Connection options, with the VMWARE_* environment fallbacks of the other VMware collections.

    hostname, username and password are required, but not ``required=True``: when one is missing,
    :func:`connection_errors` names the option and its environment variable (Ansible's own message
    would name only the option)."""
    return dict(
        hostname=dict(type="str", fallback=(env_fallback, ["VMWARE_HOST"])),
        username=dict(type="str", aliases=["user", "admin"], fallback=(env_fallback, ["VMWARE_USER"])),
        password=dict(
            type="str", no_log=True, aliases=["pass", "pwd"], fallback=(env_fallback, ["VMWARE_PASSWORD"]),
        ),
        port=dict(type="int", default=443, fallback=(env_fallback, ["VMWARE_PORT"])),
        validate_certs=dict(type="bool", default=True, fallback=(env_fallback, ["VMWARE_VALIDATE_CERTS"])),
        proxy_host=dict(type="str", fallback=(env_fallback, ["VMWARE_PROXY_HOST"])),
        proxy_port=dict(type="int", fallback=(env_fallback, ["VMWARE_PROXY_PORT"])),
        timeout=dict(type="int", default=300),
    )


#: The connection options every run needs, with the environment variable that can give each.
REQUIRED_CONNECTION = (("hostname", "VMWARE_HOST", "the vCenter Server or ESXi host to connect to"),
                       ("username", "VMWARE_USER", "the user to log in as"),
                       ("password", "VMWARE_PASSWORD", "the user's password"))


def connection_errors(params):
    """Problems with the connection options that the argument spec cannot express (checked before
    connecting: an out-of-range port or a URL as hostname would otherwise fail later, less clearly)."""
    errors = []
    for option, variable, what in REQUIRED_CONNECTION:
        value = params.get(option)
        if value is None or not value.strip():
            errors.append("%s is %s: set the %s option or the %s environment variable (%s)"
                          % (option, "missing" if value is None else "empty", option, variable, what))
    for option in ("port", "proxy_port"):
        value = params.get(option)
        if value is not None and not 1 <= value <= 65535:
            errors.append("%s is %s; a TCP port is 1-65535" % (option, value))
    timeout = params.get("timeout")
    if timeout is not None and timeout < 1:
        errors.append("timeout is %s; it is in seconds and must be at least 1" % timeout)
    hostname = params.get("hostname")
    if hostname and hostname.strip():
        if "://" in hostname or "/" in hostname or "@" in hostname:
            host = host_of(hostname)
            errors.append("hostname '%s' is a URL; give the host name or address only, for example '%s' "
                          "(and the port in port, the user name and password in username and password)"
                          % (mask_uri(hostname), host or "vc.example.com"))
        elif any(c.isspace() for c in hostname):
            errors.append("hostname '%s' contains spaces; give a host name or address, for example "
                          "vc.example.com" % hostname)
    proxy = params.get("proxy_host")
    if proxy and ("://" in proxy or "/" in proxy or "@" in proxy or any(c.isspace() for c in proxy)):
        host = host_of(proxy).split(":", 1)[0]
        errors.append("proxy_host '%s' is not a host name; give the proxy's host name or address only, for "
                      "example '%s', and its port in proxy_port (a proxy that needs a user name and password is "
                      "not supported)" % (mask_uri(proxy), host or "proxy.example.com"))
    return errors


def vm_identity_argument_spec():
    """How a module names one virtual machine: name (narrowed by datacenter and folder), uuid or moid."""
    return dict(
        name=dict(type="str"),
        uuid=dict(type="str"),
        moid=dict(type="str"),
        datacenter=dict(type="str"),
        folder=dict(type="str"),
    )


VM_IDENTITY_MODULE_KWARGS = MappingProxyType(dict(
    required_one_of=(("name", "uuid", "moid"),),
    mutually_exclusive=(("name", "uuid", "moid"),),
))


_UUID_HEX = "0123456789abcdefABCDEF"


def vm_identity_errors(params):
    """Problems with the VM identity options that the argument spec cannot express (checked
    before the first request)."""
    errors = []
    for option in ("name", "uuid", "moid", "datacenter", "folder"):
        value = params.get(option)
        if value is not None and not value.strip():
            errors.append("%s must not be empty" % option)
    uuid = params.get("uuid")
    if uuid and uuid.strip():
        digits = uuid.replace("-", "").replace(" ", "")
        if len(digits) != 32 or any(c not in _UUID_HEX for c in digits):
            errors.append("uuid '%s' is not a UUID: 32 hexadecimal digits, for example "
                          "42165fa3-1b6e-1c0f-3c2a-a2e2b7b2e0a1" % uuid)
    moid = params.get("moid")
    if moid and (any(c.isspace() for c in moid) or len(moid) > 80):
        errors.append("moid '%s' is not a managed object ID (for example vm-42)" % moid[:80])
    name = params.get("name")
    if name and len(name) > 80:
        errors.append("name is %d characters long; vSphere VM names have at most 80" % len(name))
    return errors
