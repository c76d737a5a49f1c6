# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Serial ports of a VM: pure logic.

Everything here works on plain dicts: validation of what the user asked for, the port a device
describes, the plan that turns the current ports into the wanted ones, and the diff. Nothing here
talks to vSphere; ``serial_port_api`` turns a plan into device specs.

A port is identified by its *number*, as the vSphere Client shows it ("Serial port 1"), which is its
unit number on the SIO controller plus one. Ports are never matched by backing type.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re
from types import MappingProxyType

from ansible_collections.vmchannels.vsphere.plugins.module_utils.masking import (
    mask_uri,
    masked,
    masked_change,
    userinfo_spans,
)

MAX_PORTS = 32
BACKING_TYPES = ("network", "pipe", "file", "device", "thinprint")
BACKING_FIELDS = MappingProxyType({
    "network": ("service_uri", "direction", "proxy_uri"),
    "pipe": ("pipe_name", "endpoint", "no_rx_loss"),
    "file": ("file_path",),
    "device": ("device_name", "auto_detect"),
    "thinprint": (),
})
#: Defaults of backing fields left unset: the backing you give is the backing you get.
BACKING_DEFAULTS = MappingProxyType({
    "network": MappingProxyType({"direction": "server", "proxy_uri": None}),
    "pipe": MappingProxyType({"endpoint": "server", "no_rx_loss": False}),
    "file": MappingProxyType({}),
    "device": MappingProxyType({"device_name": None, "auto_detect": False}),
    "thinprint": MappingProxyType({}),
})
OPTIONS = ("yield_on_poll", "start_connected", "allow_guest_control", "connected")
NEW_PORT_DEFAULTS = MappingProxyType(
    {"yield_on_poll": True, "start_connected": True, "allow_guest_control": False, "connected": False})

SERVICE_URI_SCHEMES = ("telnet", "telnets", "tcp", "tcp4", "tcp6", "ssl", "tcp+ssl", "tcp4+ssl", "tcp6+ssl")
_PORT = r"(?P<port>[0-9]{1,5})"
_HOST = r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]*)"
_SERVICE_URI = re.compile(r"^(?:(?P<scheme>[a-z0-9+]+)://)?" + _HOST + ":" + _PORT + r"(?P<options>#\S*)?$")
_PROXY_URI = re.compile(r"^(?P<scheme>telnets?)://(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):" + _PORT + r"(?P<options>#\S*)?$")
_DATASTORE_PATH = re.compile(r"^\[(?P<datastore>[^\[\]]+)\] (?P<path>\S.*)$")
_LABEL_NUMBER = re.compile(r"^Serial port (\d+)$")


# -- validation ----------------------------------------------------------------------------------

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


def normalize_backing(backing):
    """The backing with every field of its type present (defaults for the unset ones)."""
    kind = backing["type"]
    out = {"type": kind}
    for field in BACKING_FIELDS[kind]:
        value = backing.get(field)
        out[field] = BACKING_DEFAULTS[kind].get(field) if value is None else value
    if kind == "device" and out["auto_detect"]:
        out["device_name"] = out["device_name"] or None
    return out


# -- the current state ---------------------------------------------------------------------------

def port_number(unit_number, label):
    """The user-facing number of a port: its unit number + 1, else the N of a "Serial port N" label."""
    if unit_number is not None:
        return unit_number + 1
    match = _LABEL_NUMBER.match(label or "")
    return int(match.group(1)) if match else None


def needed_ruleset(backing):
    """The ESXi firewall rule set a backing needs on the VM's host, or ``None``."""
    if backing and backing.get("type") == "network":
        return "vSPC" if backing.get("proxy_uri") else "remoteSerialPort"
    return None


# -- the plan ------------------------------------------------------------------------------------

class Change(object):
    """One port operation: ``op`` is add, edit or remove; ``before``/``after`` are port dicts."""

    __slots__ = ("op", "number", "before", "after")

    def __init__(self, op, number, before, after):
        self.op = op
        self.number = number
        self.before = before
        self.after = after

    def __repr__(self):
        return "Change(%s, %s)" % (self.op, self.number)


def comparable(port, powered_on):
    """The fields of a port that the module manages (``connected`` only while the VM runs)."""
    out = dict((k, port.get(k)) for k in ("yield_on_poll", "start_connected", "allow_guest_control"))
    out["backing"] = port.get("backing")
    if powered_on:
        out["connected"] = port.get("connected")
    return out


def desired_port(wanted, current):
    """The port ``wanted`` asks for, starting from ``current`` (``None`` for a new port)."""
    base = copy.deepcopy(current) if current else dict(NEW_PORT_DEFAULTS, backing=None)
    out = dict(base)
    out["number"] = wanted["number"]
    if wanted.get("backing") is not None:
        out["backing"] = normalize_backing(wanted["backing"])
    for option in OPTIONS:
        if wanted.get(option) is not None:
            out[option] = wanted[option]
    return out


def plan(current, wanted, exclusive=False, powered_on=False):
    """The changes that turn ``current`` ({number: port}) into what ``wanted`` (the validated
    ``serial_ports`` entries) asks for. With ``exclusive`` every port not listed is removed.

    Raises ``ValueError`` when a new port has no backing.
    """
    changes = []
    listed = set()
    for entry in sorted(wanted, key=lambda e: e["number"]):
        number = entry["number"]
        listed.add(number)
        have = current.get(number)
        if entry.get("state", "present") == "absent":
            if have is not None:
                changes.append(Change("remove", number, have, None))
            continue
        if have is None and entry.get("backing") is None:
            raise ValueError("serial_ports: port %d does not exist yet, so it needs a backing" % number)
        after = desired_port(entry, have)
        if have is None:
            changes.append(Change("add", number, None, after))
        elif comparable(after, powered_on) != comparable(have, powered_on):
            changes.append(Change("edit", number, have, after))
    if exclusive:
        for number in sorted(n for n in current if n not in listed):
            changes.append(Change("remove", number, current[number], None))
    return changes


def predicted(current, changes):
    """The ports after ``changes`` (for check mode), as a {number: port} dict."""
    out = dict(current)
    for change in changes:
        if change.op == "remove":
            out.pop(change.number, None)
        else:
            out[change.number] = change.after
    return out


def masked_backing(backing):
    """A backing as results and diffs show it: the passwords of its URIs masked (``masking.masked``)."""
    return masked(backing)


def public_port(port):
    """A port as modules return it."""
    keys = ("number", "label", "key", "backing", "yield_on_poll", "start_connected", "allow_guest_control",
            "connected", "status")
    out = dict((k, port.get(k)) for k in keys)
    out["backing"] = masked_backing(out["backing"])
    return out


def _port_order(item):
    number, port = item
    return (number is None or number < 0, number or 0, port.get("key") or 0)


def port_list(ports):
    """{number: port} -> list sorted by number (ports without a number last, by key)."""
    return [public_port(item[1]) for item in sorted(ports.items(), key=_port_order)]


def _changed_backing(backing, old):
    """``backing`` as the "after" half of a diff shows it: masked, and a URI whose credentials alone
    changed from ``old`` (the backing before) marked so (``masking.masked_change``)."""
    shown = masked_backing(backing)
    if shown and old:
        for key in ("service_uri", "proxy_uri"):
            if key in shown:
                shown[key] = masked_change(old.get(key), backing.get(key))
    return shown


def diff(before, after, powered_on):
    """``{before, after}`` of the managed fields of every port, keyed ``port N``; passwords masked."""
    def view(ports, old=None):
        return dict(("port %s" % n, dict(comparable(p, powered_on), backing=_changed_backing(
            p.get("backing"), ((old or {}).get(n) or {}).get("backing"))))
            for n, p in ports.items())

    return {"before": {"serial_ports": view(before)}, "after": {"serial_ports": view(after, before)}}


def datastore_of(path):
    """The datastore name of a datastore path ``[datastore1] web01/serial.log``, or ``None``."""
    match = _DATASTORE_PATH.match(path or "")
    return match.group("datastore") if match else None


def unknown_datastores(changes, datastore_names):
    """``(number, file_path, datastore)`` of every file backing ``changes`` would send whose datastore
    is not one of ``datastore_names`` (the datastores the VM can use). ``datastore_names`` ``None``
    (not known) finds nothing."""
    if not datastore_names:
        return []
    out = []
    for change in changes:
        backing = (change.after or {}).get("backing") or {}
        if change.op in ("add", "edit") and backing.get("type") == "file":
            datastore = datastore_of(backing.get("file_path"))
            if datastore is not None and datastore not in datastore_names:
                out.append((change.number, backing["file_path"], datastore))
    return out


def ignored_connected(wanted, power_state):
    """Numbers of the ``wanted`` ports that set ``connected`` although the VM is not running (where
    vSphere ignores it: a port is connected only while the VM runs)."""
    if power_state == "poweredOn":
        return []
    return sorted(p["number"] for p in wanted or [] if p.get("connected") is not None
                  and p.get("state", "present") == "present")


def power_problem(changes, power_state):
    """Numbers of the ports whose change needs the VM powered off, when it is not."""
    if power_state == "poweredOff":
        return []
    return [c.number for c in changes if c.op in ("add", "remove")]
