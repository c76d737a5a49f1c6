# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run of vm_serial_port_log: find the VM, read its file-backed serial port's output.

- :func:`validate` checks the options before the first request (pure);
- :func:`select_port` picks the port and refuses the ones without a file (pure);
- :func:`datacenter_path` computes ``dcPath`` from the inventory read (pure);
- :func:`read_vm_for_log` reads, in one ``RetrievePropertiesEx``, the VM's devices, the datastores
  it uses (name, accessible) and the folders and datacenter above it;
- :func:`collect` reads the file (``vsphere.datastore_file``): a tail, the bytes after ``since``, and,
  with ``wait_for``, one ranged GET per poll of the bytes written since the previous one.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import tempfile
import time
from types import MappingProxyType

from ansible_collections.vmchannels.vsphere.plugins.module_utils.serial_ports.devices import read_ports
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere import datastore_file as dsf
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.errors import VSphereError
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.inventory import find_vm
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.masking import mask_uri
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.properties import retrieve, traversal
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.vm_config import vm_identity, vm_label

try:
    from pyVmomi import vim
except ImportError:  # pragma: no cover - client.HAS_PYVMOMI reports it
    pass

#: The defaults of the options whose absence means something (documented in the module).
DEFAULT_TAIL_LINES = 50
DEFAULT_WAIT_TIMEOUT = 300
DEFAULT_POLL_INTERVAL = 2.0
#: The lines kept in a wait_for timeout's message (all are in ``lines``).
MESSAGE_LINES = 10

_BACKING_NAMES = MappingProxyType({
    "network": "a network connection", "pipe": "a named pipe", "device": "a physical serial port of the host",
    "thinprint": "ThinPrint", "unknown": "an unknown backing"})


# -- validation (before the first request) -------------------------------------------------------

def validate(params):
    """Problems with the reading options that the argument spec cannot express."""
    errors = []
    for option in ("tail_lines", "since"):
        value = params.get(option)
        if value is not None and value < 0:
            errors.append("%s is %s; it must be 0 or more" % (option, value))
    number = params.get("number")
    if number is not None and not 1 <= number <= 32:
        errors.append("number is %s; serial ports are numbered 1-32" % number)
    max_bytes = params.get("max_bytes")
    if max_bytes is not None and max_bytes < 1:
        errors.append("max_bytes is %s; it must be at least 1" % max_bytes)
    pattern = params.get("wait_for")
    if pattern is not None:
        if not pattern:
            errors.append("wait_for must not be empty")
        else:
            try:
                re.compile(pattern)
            except re.error as exc:
                errors.append("wait_for '%s' is not a regular expression: %s" % (pattern, exc))
    for option in ("wait_timeout", "poll_interval"):
        value = params.get(option)
        if value is None:
            continue
        if pattern is None:
            errors.append("%s is only used with wait_for" % option)
        elif value <= 0:
            errors.append("%s is %s; it is in seconds and must be more than 0" % (option, value))
    if params.get("dest_whole_file") and not params.get("dest"):
        errors.append("dest_whole_file needs dest")
    dest = params.get("dest")
    if dest is not None and (not dest.strip() or dest.endswith("/")):
        errors.append("dest '%s' is not a file path" % dest)
    return errors


# -- the port and the datacenter (pure) ----------------------------------------------------------

def _describe_backing(backing):
    kind = backing.get("type")
    if kind == "network":
        text = "a network connection (%s)" % mask_uri(backing.get("service_uri") or "")
        if backing.get("proxy_uri"):
            text += (" through the Virtual Serial Port Concentrator %s: the output lives on the concentrator, read "
                     "it there" % mask_uri(backing["proxy_uri"]))
        else:
            text += ": the output goes to whatever is connected to it"
        return text
    if kind == "pipe":
        return "a named pipe (%s): the output goes to the process at the other end" % backing.get("pipe_name")
    if kind == "device":
        return "a physical serial port of the host (%s)" % (backing.get("device_name") or "auto-detected")
    return _BACKING_NAMES.get(kind, kind)


def _port_names(ports):
    return ", ".join("%s (%s)" % (p["number"] if p["number"] is not None else p["label"], p["backing"]["type"])
                     for p in [ports[k] for k in sorted(ports, key=lambda slot: (slot < 0, abs(slot)))])


def select_port(ports, number, label):
    """The port to read: ``number``, or the VM's one file-backed port. ``ports`` is ``{number:
    port dict}`` (:func:`devices.read_ports`); ``label`` names the VM in messages.
    ``ValueError`` with the message otherwise."""
    if number is not None:
        port = ports.get(number)
        if port is None:
            raise ValueError("%s has no serial port %s (%s)." % (
                label, number, "its ports: " + _port_names(ports) if ports else "it has no serial port"))
    else:
        files = [p for p in ports.values() if p["backing"]["type"] == "file"]
        if len(files) != 1:
            if not ports:
                raise ValueError("%s has no serial port; add one with an output file "
                                 "(vmchannels.vsphere.vm_serial_port, backing type file)." % label)
            if not files:
                raise ValueError("%s has no serial port with an output file (its ports: %s): nothing it sends "
                                 "is written to a datastore." % (label, _port_names(ports)))
            raise ValueError("%s has %d serial ports with an output file (%s): say which with number."
                             % (label, len(files), _port_names(dict((p["number"], p) for p in files))))
        port = files[0]
    if port["backing"]["type"] != "file":
        raise ValueError("Serial port %s of %s has no output file to read: it is backed by %s."
                         % (port["number"], label, _describe_backing(port["backing"])))
    return port


def datacenter_path(entities, start):
    """The inventory path of the datacenter above ``start`` (a moid): the names of the folders
    below the root folder, then the datacenter's (``"Europe/DC0"``). ``entities`` is ``{moid:
    (type name, name, parent moid or None)}``; ``None`` when no datacenter is found."""
    moid = start
    seen = set()
    while moid is not None and moid not in seen:
        seen.add(moid)
        kind, name, parent = entities.get(moid, (None, None, None))
        if kind is None:
            return None
        if kind == "Datacenter":
            names = [name]
            while parent is not None:
                kind, name, grand = entities.get(parent, (None, None, None))
                if kind is None:
                    return None
                if grand is None:  # the root folder: not part of the path
                    break
                names.insert(0, name)
                parent = grand
            return "/".join(names)
        moid = parent
    return None


# -- the read of the VM (one request) ------------------------------------------------------------

def read_vm_for_log(client, vm):
    """The VM's properties (devices, datastores), the datastores' names and accessibility, and
    the datacenter path, in one ``RetrievePropertiesEx`` from the VM up to the root folder."""
    select = [
        traversal("vm_parent", vim.VirtualMachine, "parent", "folder_up", "dc_up"),
        traversal("vm_vapp", vim.VirtualMachine, "parentVApp", "vapp_folder"),
        traversal("vapp_folder", vim.VirtualApp, "parentFolder", "folder_up", "dc_up"),
        traversal("folder_up", vim.Folder, "parent", "folder_up", "dc_up"),
        traversal("dc_up", vim.Datacenter, "parent", "folder_up"),
        traversal("vm_datastores", vim.VirtualMachine, "datastore"),
    ]
    paths = {
        vim.VirtualMachine: ["name", "config.uuid", "config.instanceUuid", "config.hardware.device",
                             "runtime.powerState", "parent", "parentVApp"],
        vim.VirtualApp: ["name", "parentFolder"],
        vim.Folder: ["name", "parent"],
        vim.Datacenter: ["name", "parent"],
        vim.Datastore: ["name", "summary.accessible"],
    }
    results = retrieve(client.content, [vm], paths, select=select, what="reading VM %s" % vm._moId)
    props = next((r for r in results if r.moid == vm._moId and isinstance(r.obj, vim.VirtualMachine)), None)
    if props is None:
        raise VSphereError("No virtual machine with moid %s exists (or the user cannot see it)." % vm._moId,
                           kind="not_found")
    entities, datastores = {}, {}
    for item in results:
        kind = type(item.obj).__name__.split(".")[-1]
        if kind == "Datastore":
            datastores[item.get("name")] = item.get("summary.accessible")
            continue
        parent = item.get("parent") or item.get("parentFolder") or item.get("parentVApp")
        entities[item.moid] = (kind, item.get("name"), parent._moId if parent is not None else None)
    return props, datastores, datacenter_path(entities, vm._moId)


# -- reading -------------------------------------------------------------------------------------

class Collected(object):
    """What :func:`collect` found: the lines, the offsets and, with wait_for, the matching line."""

    def __init__(self):
        self.lines = []
        self.matched = None
        self.size = 0
        self.next_offset = 0
        self.truncated = False
        self.capped = False
        self.polls = 0
        self.data = b""  # the bytes read (for dest)


def _lines_of(read):
    return dsf.split_lines(dsf.decode(read.data))


def collect(reader, tail_lines, since, max_bytes, wait_for=None, wait_timeout=None, poll_interval=None,
            clock=time.monotonic, sleep=time.sleep):
    """Read the file: the bytes after ``since``, else the last ``tail_lines`` lines; with
    ``wait_for`` (a compiled pattern), then poll with one ranged GET of the new bytes each time
    until a line matches or ``wait_timeout`` seconds passed. Lines that arrive while waiting are
    kept up to the last ``tail_lines`` (or all that fit ``max_bytes`` after ``since``)."""
    got = Collected()
    first = dsf.read_from(reader, since, max_bytes) if since is not None else dsf.read_tail(reader, tail_lines, max_bytes)
    got.truncated, got.capped, got.size, got.next_offset = first.truncated, first.capped, first.size, first.end
    got.data = first.data
    got.lines = _lines_of(first)
    if wait_for is None:
        return got
    keep = tail_lines if since is None else None
    got.matched = dsf.first_match(wait_for, got.lines)
    deadline = clock() + wait_timeout
    # The last line may be incomplete: it is matched again with what follows it.
    partial = got.lines[-1] if got.lines and not first.data.endswith(b"\n") else ""
    behind = False  # the previous poll stopped at max_bytes: more is waiting, no pause
    while got.matched is None:
        remaining = deadline - clock()
        if remaining <= 0:
            break
        if not behind:
            sleep(min(poll_interval, remaining))
        got.polls += 1
        read = dsf.read_from(reader, got.next_offset, max_bytes)
        got.size = read.size
        behind = read.capped
        if read.truncated:
            got.truncated = True
            partial = ""
        if not read.data and not read.truncated:
            continue
        got.next_offset = read.end
        text = dsf.decode(read.data)
        new_lines = dsf.split_lines(partial + text)
        if partial and got.lines and not read.truncated:
            got.lines.pop()  # replaced by its completed version
        got.lines.extend(new_lines)
        got.data = (got.data + read.data)[-max_bytes:]
        got.matched = dsf.first_match(wait_for, new_lines)
        partial = new_lines[-1] if new_lines and not read.data.endswith(b"\n") else ""
        if len(partial) > max_bytes:
            partial = ""
        if keep is not None and len(got.lines) > max(keep, 1):
            del got.lines[:len(got.lines) - max(keep, 1)]
    return got


def _cap_lines(lines, max_bytes):
    """The last of ``lines`` whose UTF-8 size fits ``max_bytes`` (the result stays small)."""
    out, size = [], 0
    for line in reversed(lines):
        size += len(line.encode("utf-8")) + 1
        if size > max_bytes and out:
            break
        out.append(line)
    return list(reversed(out))


def run_log(module, client):
    """The module's logic: find, read the VM in one request, read the file, maybe write dest."""
    params = module.params
    vm = find_vm(client, name=params["name"], uuid=params["uuid"], moid=params["moid"],
                 datacenter=params["datacenter"], folder=params["folder"])
    props, datastores, dc_path = read_vm_for_log(client, vm)
    label = vm_label(props)
    try:
        port = select_port(read_ports(props)[1], params["number"], label)
    except ValueError as exc:
        raise VSphereError(str(exc), kind="invalid")
    file_path = port["backing"]["file_path"]
    try:
        datastore, relative = dsf.parse_datastore_path(file_path)
    except ValueError as exc:
        raise VSphereError("Serial port %s of %s: %s." % (port["number"], label, exc), kind="invalid")
    if datastores.get(datastore) is False:
        raise VSphereError("Datastore %s, which holds %s of serial port %s of %s, is not accessible (no host that "
                           "mounts it can reach it)." % (datastore, file_path, port["number"], label), kind="fault")
    if dc_path is None:
        raise VSphereError("Cannot tell the datacenter of %s (the user cannot see the folders above it)." % label,
                           kind="not_found")
    pattern = re.compile(params["wait_for"]) if params["wait_for"] is not None else None
    tail_lines = params["tail_lines"] if params["tail_lines"] is not None else DEFAULT_TAIL_LINES
    max_bytes = params["max_bytes"]
    reader = dsf.FolderReader(client, dc_path, datastore, relative, file_path)
    try:
        got = collect(reader, tail_lines, params["since"], max_bytes, wait_for=pattern,
                      wait_timeout=params["wait_timeout"] or DEFAULT_WAIT_TIMEOUT,
                      poll_interval=params["poll_interval"] or DEFAULT_POLL_INTERVAL)
        lines = _cap_lines(got.lines, max_bytes)
        result = dict(changed=False, vm=vm_identity(props), number=port["number"], file_path=file_path,
                      datacenter_path=dc_path, size=got.size, next_offset=got.next_offset, lines=lines,
                      matched=got.matched, truncated=got.truncated, capped=got.capped or len(lines) < len(got.lines),
                      requests=reader.requests, bytes_read=reader.bytes_read)
        if pattern is not None:
            result["polls"] = got.polls
        if params["dest"]:
            content = got.data if not params["dest_whole_file"] else None
            result.update(save(module, reader, params["dest"], content))
    finally:
        reader.close()
    if pattern is not None and got.matched is None:
        shown = lines[-MESSAGE_LINES:]
        failure = VSphereError(
            "No line of serial port %s of %s (%s) matched '%s' within %s seconds (%d polls). Its last lines:\n%s"
            % (port["number"], label, file_path, params["wait_for"], params["wait_timeout"] or DEFAULT_WAIT_TIMEOUT,
               got.polls, "\n".join(shown) if shown else "(nothing written)"), kind="timeout")
        failure.result = dict((k, v) for k, v in result.items() if k != "changed")
        raise failure
    return result


# -- dest ----------------------------------------------------------------------------------------

def _whole_file(reader, chunk=1024 * 1024):
    """The whole file, read in ranged chunks of 1 MiB."""
    parts, offset = [], 0
    while True:
        read = dsf.read_from(reader, offset, chunk)
        if not read.data:
            return b"".join(parts)
        parts.append(read.data)
        offset = read.end
        if read.end >= read.size:
            return b"".join(parts)


def save(module, reader, dest, content):
    """Write ``content`` (bytes; ``None``: the whole file) to ``dest`` on the host the task runs on
    (the controller with ``delegate_to: localhost``) when it differs; never in check mode."""
    if content is None:
        content = _whole_file(reader)
    try:
        with open(dest, "rb") as handle:
            current = handle.read()
    except FileNotFoundError:
        current = None
    except OSError as exc:
        raise VSphereError("Cannot read dest %s: %s" % (dest, exc.strerror or exc), kind="invalid")
    changed = current != content
    out = dict(dest=dest, changed=changed)
    if not changed or module.check_mode:
        return out
    directory = os.path.dirname(os.path.abspath(dest))
    if not os.path.isdir(directory):
        raise VSphereError("The directory of dest %s does not exist." % dest, kind="invalid")
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".vm_serial_port_log.")
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        module.atomic_move(tmp, os.path.abspath(dest))
    except OSError as exc:
        raise VSphereError("Cannot write dest %s: %s" % (dest, exc.strerror or exc), kind="invalid")
    return out
