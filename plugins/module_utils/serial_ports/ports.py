# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Serial ports of a VM: pure logic.

Everything here works on plain dicts: the backing types and their fields, the port a device
describes, the plan that turns the current ports into the wanted ones, the rule set a network port
needs (:func:`needed_ruleset`), and the diff. Nothing here talks to vSphere: ``validation`` checks
what the user asked for, ``devices`` turns a plan into device specs.

A port is identified by its *number*, as the vSphere Client shows it ("Serial port 1"), which is its
unit number on the SIO controller plus one. Ports are never matched by backing type.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re
from types import MappingProxyType

from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.masking import (
    masked,
    masked_change,
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

_DATASTORE_PATH = re.compile(r"^\[(?P<datastore>[^\[\]]+)\] (?P<path>\S.*)$")
_LABEL_NUMBER = re.compile(r"^Serial port (\d+)$")


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
