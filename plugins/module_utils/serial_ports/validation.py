# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Serial ports: validation of what the user asked for, before any request (pure).

``port_argument_spec`` is the ``ports`` option of vm_serial_port and of each entry of
vm_serial_port_bulk; :func:`validate_ports` checks a whole list and words every problem with the
port's place in it. URIs are shown masked (``vsphere.masking``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.vmchannels.vsphere.plugins.module_utils.serial_ports.ports import (
    _DATASTORE_PATH,
    BACKING_FIELDS,
    BACKING_TYPES,
    MAX_PORTS,
    OPTIONS,
)
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.masking import (
    mask_uri,
    userinfo_spans,
)

SERVICE_URI_SCHEMES = ("telnet", "telnets", "tcp", "tcp4", "tcp6", "ssl", "tcp+ssl", "tcp4+ssl", "tcp6+ssl")


_PORT = r"(?P<port>[0-9]{1,5})"


_HOST = r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]*)"


_SERVICE_URI = re.compile(r"^(?:(?P<scheme>[a-z0-9+]+)://)?" + _HOST + ":" + _PORT + r"(?P<options>#\S*)?$")


_PROXY_URI = re.compile(r"^(?P<scheme>telnets?)://(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):" + _PORT + r"(?P<options>#\S*)?$")


def ports_argument_spec():
    """The options of a VM's serial ports: vm_serial_port's and each entry of vm_serial_port_bulk's
    ``vms`` (documented in both)."""
    return dict(
        serial_ports=dict(type="list", elements="dict", required=True, options=port_argument_spec()),
        exclusive=dict(type="bool", default=False),
    )


def port_argument_spec():
    """The argument spec of one ``serial_ports`` entry (documented in vm_serial_port)."""
    backing = dict(
        type=dict(type="str", required=True, choices=list(BACKING_TYPES)),
        service_uri=dict(type="str"),
        direction=dict(type="str", choices=["server", "client"]),
        proxy_uri=dict(type="str"),
        pipe_name=dict(type="str"),
        endpoint=dict(type="str", choices=["client", "server"]),
        no_rx_loss=dict(type="bool"),
        file_path=dict(type="str"),
        device_name=dict(type="str"),
        auto_detect=dict(type="bool"),
    )
    return dict(
        number=dict(type="int", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        backing=dict(type="dict", options=backing),
        yield_on_poll=dict(type="bool"),
        start_connected=dict(type="bool"),
        allow_guest_control=dict(type="bool"),
        connected=dict(type="bool"),
    )


def _valid_port(text):
    return text.isdigit() and 1 <= int(text) <= 65535


MAX_HOST_LENGTH = 253  # the longest DNS name


def _long_host(uri, host):
    return "'%s...' has a host name of %d characters; a host name has at most %d" % (
        mask_uri(uri)[:40], len(host), MAX_HOST_LENGTH)


def validate_service_uri(uri, direction, proxied):
    """An error message for a ``service_uri`` vSphere would not accept, or ``None``. The URI is
    quoted with its password masked (``mask_uri``). A user name or password in it is refused unless
    the port goes through a vSPC (``proxied``), where the URI is only passed on to the concentrator;
    the rest of the URI is checked without them."""
    shown = mask_uri(uri)
    if not uri or uri != uri.strip() or any(c.isspace() for c in uri):
        return "must be a non-empty URI without spaces, for example telnet://:7001 (listen) or tcp://host:7001"
    userinfo = userinfo_spans(uri)
    if userinfo:  # the rest is checked without them, and then the credentials
        uri = uri[:userinfo[0][0]] + uri[userinfo[0][1] + 1:]
    problem = _service_uri_problem(uri, shown, direction, proxied)
    if problem is None and userinfo and not proxied:
        return ("'%s' carries a user name or password: vSphere connects to or listens on HOST:PORT without "
                "credentials and would read them as part of the host name; write %s (only through a "
                "vSPC, with proxy_uri, is the service URI passed on to the concentrator with them)" % (shown, uri))
    return problem


def _service_uri_problem(uri, shown, direction, proxied):
    missing_colon = re.match(r"^([a-z0-9+]+)://([0-9]{1,5})$", uri)
    if missing_colon:
        return ("'%s' has no colon before the port: vSphere reads '%s' as a host name and the port fails with "
                "unrecoverableError at power on; write %s://:%s (listen) or %s://HOST:%s"
                % (shown, missing_colon.group(2), missing_colon.group(1), missing_colon.group(2),
                   missing_colon.group(1), missing_colon.group(2)))
    match = _SERVICE_URI.match(uri)
    if proxied and not match and "://" not in uri:
        # Through a vSPC the service URI names the port to the concentrator (for example
        # "vSPC.py" or "telnet://:7001"); any token without spaces is accepted.
        return None
    if not match:
        return ("'%s' is not a URI vSphere accepts: use SCHEME://HOST:PORT (client), SCHEME://:PORT (server) or "
                "HOST:PORT, with SCHEME one of %s" % (shown, ", ".join(SERVICE_URI_SCHEMES)))
    scheme = match.group("scheme")
    if scheme is not None and scheme not in SERVICE_URI_SCHEMES:
        return "'%s' uses the scheme '%s'; vSphere accepts %s" % (shown, scheme, ", ".join(SERVICE_URI_SCHEMES))
    if not _valid_port(match.group("port")):
        return "'%s' has port %s; a port is 1-65535" % (shown, match.group("port"))
    if len(match.group("host")) > MAX_HOST_LENGTH:
        return _long_host(uri, match.group("host"))
    if direction == "client" and not match.group("host") and not proxied:
        return ("'%s' has no host, but direction is client: a client connects to HOST:PORT "
                "(an empty host means listen, which needs direction: server)" % shown)
    return None


def validate_proxy_uri(uri):
    shown = mask_uri(uri)
    if "@" in uri:
        return "'%s' carries a user name or password; a vSPC URI takes none (telnet://HOST:PORT)" % shown
    match = _PROXY_URI.match(uri)
    if not match:
        return ("'%s' is not a vSPC URI: use telnet://HOST:PORT or telnets://HOST:PORT "
                "(other schemes are not accepted for a Virtual Serial Port Concentrator)" % shown)
    if not _valid_port(match.group("port")):
        return "'%s' has port %s; a port is 1-65535" % (shown, match.group("port"))
    if len(match.group("host")) > MAX_HOST_LENGTH:
        return _long_host(uri, match.group("host"))
    return None


def validate_datastore_path(path):
    if not _DATASTORE_PATH.match(path or ""):
        return "'%s' is not a datastore path: write '[DATASTORE] FOLDER/FILE', for example '[datastore1] web01/serial.log'" % path
    return None


def validate_ports(ports, max_ports=MAX_PORTS):
    """Every problem with the ``serial_ports`` the user gave, as messages naming the option.

    ``ports`` are the entries as the argument spec parsed them (unset options are ``None``).
    """
    errors = []
    seen = {}
    for index, port in enumerate(ports or []):
        number = port.get("number")
        where = "serial_ports[%d] (number %s)" % (index, number)
        if number is None or not 1 <= number <= max_ports:
            errors.append("%s: number must be between 1 and %d" % (where, max_ports))
        elif number in seen:
            errors.append("%s: port number %d is listed twice (also serial_ports[%d])" % (where, number, seen[number]))
        else:
            seen[number] = index
        backing = port.get("backing")
        if port.get("state", "present") == "absent":
            extra = [o for o in ("backing",) + OPTIONS if port.get(o) is not None]
            if extra:
                errors.append("%s: state absent takes only number; remove %s" % (where, ", ".join(extra)))
            continue
        if backing is None:
            continue
        errors.extend("%s.backing: %s" % (where, e) for e in validate_backing(backing))
    return errors


def validate_backing(backing):
    errors = []
    kind = backing.get("type")
    if kind not in BACKING_TYPES:
        return ["type must be one of %s, got %r" % (", ".join(BACKING_TYPES), kind)]
    allowed = BACKING_FIELDS[kind]
    foreign = sorted(k for k, v in backing.items() if k != "type" and v is not None and k not in allowed)
    if foreign:
        errors.append("%s do%s not belong to a %s backing (it takes %s)"
                      % (", ".join(foreign), "es" if len(foreign) == 1 else "", kind, ", ".join(allowed) or "no option"))
    if kind == "network":
        if not backing.get("service_uri"):
            errors.append("service_uri is required for a network backing (for example telnet://:7001)")
        else:
            problem = validate_service_uri(backing["service_uri"], backing.get("direction") or "server",
                                           bool(backing.get("proxy_uri")))
            if problem:
                errors.append("service_uri %s" % problem)
        if backing.get("proxy_uri") is not None:
            problem = validate_proxy_uri(backing["proxy_uri"])
            if problem:
                errors.append("proxy_uri %s" % problem)
    elif kind == "pipe":
        name = backing.get("pipe_name")
        if not name or not name.strip():
            errors.append("pipe_name is required for a pipe backing (for example \\\\.\\pipe\\web01-com1 or /tmp/web01-com1)")
    elif kind == "file":
        path = backing.get("file_path")
        if not path or not path.strip():
            errors.append("file_path is required for a file backing (for example '[datastore1] web01/serial.log')")
        else:
            problem = validate_datastore_path(path)
            if problem:
                errors.append("file_path %s" % problem)
    elif kind == "device":
        if not backing.get("device_name") and not backing.get("auto_detect"):
            errors.append("device_name is required for a device backing (for example /dev/char/serial/uart0), "
                          "unless auto_detect: true")
        elif backing.get("device_name") and backing.get("auto_detect"):
            errors.append("device_name and auto_detect: true exclude each other")
    return errors
