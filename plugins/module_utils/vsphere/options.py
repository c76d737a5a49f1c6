# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument specs shared by every module of the collection.

``base_argument_spec()`` is documented by the ``vmchannels.vsphere.base_options`` doc fragment and
``vm_identity_argument_spec()`` by ``vmchannels.vsphere.vm_identity``: change them together.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from types import MappingProxyType

from ansible.module_utils.basic import env_fallback
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.masking import (
    host_of,
    mask_uri,
    userinfo_spans,
)


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

#: The environment variable each connection option falls back to (``base_argument_spec``).
CONNECTION_VARIABLES = MappingProxyType(dict(
    hostname="VMWARE_HOST", username="VMWARE_USER", password="VMWARE_PASSWORD", port="VMWARE_PORT",
    validate_certs="VMWARE_VALIDATE_CERTS", proxy_host="VMWARE_PROXY_HOST", proxy_port="VMWARE_PROXY_PORT"))


def connection_sources(task_options, environ):
    """How the run gave each connection option, for messages to name what the user wrote: the
    option's name when the task set it (``task_options`` are the names in the task's arguments,
    aliases included), its ``VMWARE_*`` variable when the environment gave it, else ``None`` (its
    default)."""
    spec = base_argument_spec()
    sources = {}
    for option, variable in CONNECTION_VARIABLES.items():
        names = [option] + list(spec[option].get("aliases") or [])
        if any(name in task_options for name in names):
            sources[option] = option
        elif variable in environ:
            sources[option] = variable
        else:
            sources[option] = None
    return sources


def option_label(option, sources=None):
    """The name to show for ``option``: the one the run used (see :func:`connection_sources`), else
    the option with its variable (``hostname (VMWARE_HOST)``) when the source is not known."""
    if sources is not None and sources.get(option):
        return sources[option]
    variable = CONNECTION_VARIABLES.get(option)
    if sources is None and variable:
        return "%s (%s)" % (option, variable)
    return option


def split_host_port(text):
    """``(host, port)`` of ``host``, ``host:port``, ``[v6]`` or ``[v6]:port``; ``port`` is the text
    after the colon or ``None``. A bare IPv6 address (several colons, no brackets) has no port."""
    if text.startswith("["):
        close = text.find("]")
        if close != -1:
            rest = text[close + 1:]
            return text[1:close], (rest[1:] if rest.startswith(":") else None)
        return text, None
    if text.count(":") == 1:
        host, port = text.split(":", 1)
        return host, port
    return text, None


def _port_shown(params, sources):
    """How the port option reads in a message: ``port is 37919``, ``VMWARE_PORT is 37919``, or
    ``port is 443 (its default)``."""
    value = params.get("port")
    if sources is not None and not sources.get("port"):
        return "port is %s (its default)" % value
    return "%s is %s" % (option_label("port", sources) if sources is not None else "port", value)


def _port_option(sources):
    """Where to give the port: where the run gives it already, else beside the host (in the task or
    in the environment)."""
    if sources and sources.get("port"):
        return sources["port"]
    return "VMWARE_PORT" if sources and sources.get("hostname") == "VMWARE_HOST" else "port"


def connection_errors(params, sources=None):
    """Problems with the connection options that the argument spec cannot express (checked before
    connecting: an out-of-range port, a URL or a port in the hostname would otherwise fail later,
    less clearly). ``sources`` (:func:`connection_sources`) lets the messages name the option or the
    environment variable the run actually used."""
    errors = []
    for option, variable, what in REQUIRED_CONNECTION:
        value = params.get(option)
        if value is None or not value.strip():
            errors.append("%s is %s: set the %s option or the %s environment variable (%s)"
                          % (option, "missing" if value is None else "empty", option, variable, what))
    for option in ("port", "proxy_port"):
        value = params.get(option)
        if value is not None and not 1 <= value <= 65535:
            errors.append("%s is %s; a TCP port is 1-65535" % (option_label(option, sources) if sources else option,
                                                               value))
    timeout = params.get("timeout")
    if timeout is not None and timeout < 1:
        errors.append("timeout is %s; it is in seconds and must be at least 1" % timeout)
    hostname = params.get("hostname")
    name = option_label("hostname", sources) if sources else "hostname"
    if hostname and hostname.strip():
        if "://" in hostname or "/" in hostname or "@" in hostname:
            host, port = split_host_port(host_of(hostname))
            advice = "give the host name or address only, for example '%s'" % (host or "vc.example.com")
            if port:
                advice += ", and the port %s in %s" % (port, _port_option(sources))
            if userinfo_spans(hostname):
                advice += ", and the user name and password in username and password"
            errors.append("%s '%s' is a URL; %s" % (name, mask_uri(hostname), advice))
        elif any(c.isspace() for c in hostname):
            errors.append("%s '%s' contains spaces; give a host name or address, for example "
                          "vc.example.com" % (name, hostname))
        else:
            host, port = split_host_port(hostname)
            if port is not None:
                errors.append("%s '%s' includes a port (%s), and %s: give the host alone in %s ('%s') and the "
                              "port only in %s, so that one value says where to connect"
                              % (name, hostname, port or "empty", _port_shown(params, sources), name, host,
                                 _port_option(sources)))
    proxy = params.get("proxy_host")
    if proxy and ("://" in proxy or "/" in proxy or "@" in proxy or any(c.isspace() for c in proxy)):
        host = host_of(proxy).split(":", 1)[0]
        errors.append("%s '%s' is not a host name; give the proxy's host name or address only, for "
                      "example '%s', and its port in proxy_port (a proxy that needs a user name and password is "
                      "not supported)" % (option_label("proxy_host", sources) if sources else "proxy_host",
                                          mask_uri(proxy), host or "proxy.example.com"))
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


#: The options that name a VM, in the order in which one wins over the others.
VM_IDENTITY_OPTIONS = ("moid", "uuid", "name", "datacenter", "folder")


def vm_locator(name=None, uuid=None, moid=None, datacenter=None, folder=None):
    """How a VM is found, the one rule of the collection: by ``moid`` when set (no request), else by
    ``uuid`` (the search index), else by ``name``, narrowed by ``datacenter`` and ``folder`` when set.

    Returns the options that count, as a dict (``{"moid": "vm-42"}``, ``{"uuid": ...}``, or
    ``{"name": ..., "datacenter": ..., "folder": ...}`` without the unset ones): what the modules
    look a VM up by (``inventory.find_vm``), and what the roles and the audit pass them. Empty
    strings count as unset."""
    if moid:
        return dict(moid=moid)
    if uuid:
        return dict(uuid=uuid)
    out = dict(name=name)
    if datacenter:
        out["datacenter"] = datacenter
    if folder:
        out["folder"] = folder
    return out


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
