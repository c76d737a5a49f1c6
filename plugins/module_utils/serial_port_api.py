# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Serial ports of one VM: between the pure plan (``serial_ports``) and pyVmomi.

:func:`read_ports` turns a VM's devices into port dicts, :func:`plan_vm` decides what one VM's run
does (a :class:`VmPlan`: the changes, the ports that need the VM powered off, the warnings), and
:func:`device_changes` turns the changes into ``VirtualDeviceSpec`` objects. :func:`firewall_views`
and :func:`firewall_warnings` say whether the ESXi rule sets the network-backed ports need are
enabled. ``serial_port_run`` runs these steps for one VM (vm_serial_port) or many
(vm_serial_port_bulk): one path for both.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmchannels.vsphere.plugins.module_utils import serial_ports as sp
from ansible_collections.vmchannels.vsphere.plugins.module_utils.client import VSphereError
from ansible_collections.vmchannels.vsphere.plugins.module_utils.firewall import serial_rulesets_state
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vm_config import vm_label

try:
    from pyVmomi import vim
except ImportError:  # pragma: no cover - client.HAS_PYVMOMI reports it
    pass


# -- devices <-> dicts ---------------------------------------------------------------------------

def backing_to_dict(backing):
    port = vim.vm.device.VirtualSerialPort
    if isinstance(backing, port.URIBackingInfo):
        return {"type": "network", "service_uri": backing.serviceURI, "direction": backing.direction,
                "proxy_uri": backing.proxyURI or None}
    if isinstance(backing, port.PipeBackingInfo):
        return {"type": "pipe", "pipe_name": backing.pipeName, "endpoint": backing.endpoint,
                "no_rx_loss": bool(backing.noRxLoss)}
    if isinstance(backing, port.FileBackingInfo):
        return {"type": "file", "file_path": backing.fileName}
    if isinstance(backing, port.DeviceBackingInfo):
        return {"type": "device", "device_name": backing.deviceName or None, "auto_detect": bool(backing.useAutoDetect)}
    if isinstance(backing, port.ThinPrintBackingInfo):
        return {"type": "thinprint"}
    return {"type": "unknown", "class": type(backing).__name__ if backing is not None else None}


def dict_to_backing(backing):
    port = vim.vm.device.VirtualSerialPort
    kind = backing["type"]
    if kind == "network":
        out = port.URIBackingInfo(serviceURI=backing["service_uri"], direction=backing["direction"])
        if backing.get("proxy_uri"):
            out.proxyURI = backing["proxy_uri"]
        return out
    if kind == "pipe":
        return port.PipeBackingInfo(pipeName=backing["pipe_name"], endpoint=backing["endpoint"],
                                    noRxLoss=bool(backing.get("no_rx_loss")))
    if kind == "file":
        return port.FileBackingInfo(fileName=backing["file_path"])
    if kind == "device":
        return port.DeviceBackingInfo(deviceName=backing.get("device_name") or "",
                                      useAutoDetect=bool(backing.get("auto_detect")))
    return port.ThinPrintBackingInfo()


def device_to_port(device):
    label = device.deviceInfo.label if device.deviceInfo is not None else None
    connectable = device.connectable
    return {
        "number": sp.port_number(device.unitNumber, label),
        "label": label,
        "key": device.key,
        "backing": backing_to_dict(device.backing),
        "yield_on_poll": bool(device.yieldOnPoll),
        "start_connected": bool(connectable.startConnected) if connectable else False,
        "allow_guest_control": bool(connectable.allowGuestControl) if connectable else False,
        "connected": bool(connectable.connected) if connectable else False,
        "status": connectable.status if connectable else None,
    }


def read_ports(props):
    """``(sio_controller_key, {number: port}, {number: device})`` from a VM's properties.

    Ports vSphere reports without a unit number or a "Serial port N" label (vcsim 0.24.2 does so
    for ports added without one) are keyed by the negative device key so they can still be
    listed and removed; their ``number`` stays ``None``.
    """
    sio_key = None
    ports = {}
    devices = {}
    for device in props.get("config.hardware.device") or []:
        if isinstance(device, vim.vm.device.VirtualSIOController) and sio_key is None:
            sio_key = device.key
        elif isinstance(device, vim.vm.device.VirtualSerialPort):
            port = device_to_port(device)
            slot = port["number"] if port["number"] is not None else -device.key
            ports[slot] = port
            devices[slot] = device
    return sio_key, ports, devices


def device_changes(changes, devices, sio_key):
    """``VirtualDeviceSpec`` objects for ``changes`` (new ports get distinct negative keys)."""
    specs = []
    operation = vim.vm.device.VirtualDeviceSpec.Operation
    temp_key = -100
    for change in changes:
        if change.op == "remove":
            specs.append(vim.vm.device.VirtualDeviceSpec(operation=operation.remove, device=devices[change.number]))
            continue
        after = change.after
        if change.op == "add":
            temp_key -= 1
            device = vim.vm.device.VirtualSerialPort(
                key=temp_key, controllerKey=sio_key, unitNumber=change.number - 1,
                deviceInfo=vim.Description(label="Serial port %d" % change.number, summary="Serial port"),
            )
        else:
            current = devices[change.number]
            # Send the existing device back (with its deviceInfo: vcsim 0.24.2 crashes on an edit
            # without it) and change only the managed fields.
            device = vim.vm.device.VirtualSerialPort(
                key=current.key, controllerKey=current.controllerKey, unitNumber=current.unitNumber,
                deviceInfo=current.deviceInfo,
            )
        device.backing = dict_to_backing(after["backing"])
        device.yieldOnPoll = bool(after["yield_on_poll"])
        device.connectable = vim.vm.device.VirtualDevice.ConnectInfo(
            startConnected=bool(after["start_connected"]), allowGuestControl=bool(after["allow_guest_control"]),
            connected=bool(after["connected"]),
        )
        specs.append(vim.vm.device.VirtualDeviceSpec(
            operation=operation.add if change.op == "add" else operation.edit, device=device))
    return specs


# -- one VM's plan -------------------------------------------------------------------------------

def explain_fault(error, changes, label):
    """Rewrite a reconfiguration :class:`VSphereError` so that it names the port concerned.

    ``InvalidDeviceSpec`` (and its subclass ``DeviceHotPlugNotSupported``) carry ``deviceIndex``,
    the position of the refused device in the spec, which is the position in ``changes``.
    """
    fault = error.fault
    if fault is None or not isinstance(fault, vim.fault.InvalidDeviceSpec):
        return error
    index = getattr(fault, "deviceIndex", None)
    change = changes[index] if index is not None and 0 <= index < len(changes) else None
    port = ("serial port %s (%s)" % (change.number, change.op)) if change is not None and change.number > 0 else \
        "a serial port"
    reason = getattr(fault, "msg", None) or getattr(fault, "_wsdlName", "InvalidDeviceSpec")
    if isinstance(fault, vim.fault.DeviceHotPlugNotSupported):
        error.msg = ("vSphere cannot %s %s of %s while it runs (DeviceHotPlugNotSupported): power the VM off, "
                     "or set allow_power_cycle: true. Nothing was changed." % (
                         change.op if change is not None else "change", port, label))
        error.kind = "power_state"
    else:
        error.msg = "vSphere refused the spec of %s of %s (InvalidDeviceSpec): %s. Nothing was changed." % (
            port, label, reason)
        error.kind = "invalid"
    return error


def _describe(numbers):
    named = [str(n) for n in numbers if n is not None and n > 0]
    return "serial port%s %s" % ("s" if len(named) != 1 else "", ", ".join(named) or "without number")


def _hardware_limit(client, props):
    """The number of serial ports the VM's hardware version allows (QueryConfigOption); ``None`` if
    vSphere does not say. Costs one request, so it is asked only when a port above 4 is added."""
    browser = props.get("environmentBrowser")
    if browser is None:
        return None
    try:
        option = browser.QueryConfigOption(key=props.get("config.version"))
    except Exception:  # no permission or not supported: fall back to the documented limit
        return None
    for controller in (getattr(getattr(option, "hardwareOptions", None), "virtualDeviceOption", None) or []):
        if isinstance(controller, vim.vm.device.VirtualSIOControllerOption):
            return getattr(getattr(controller, "numSerialPorts", None), "max", None)
    return None


def check_changes(client, props, changes, sio_key, allow_power_cycle):
    """Refuse, before any change, what vSphere would refuse: ports on a VM without SIO controller,
    more ports than the hardware version allows, a file on a datastore the VM cannot use, adding or
    removing ports while the VM runs (unless ``allow_power_cycle``) or is suspended. Returns the
    numbers of the ports whose change needs the VM powered off."""
    label = vm_label(props)
    power_state = props.get("runtime.powerState")
    adds = [c for c in changes if c.op == "add"]
    if adds and sio_key is None:
        raise VSphereError("%s has no SIO controller, so it cannot have serial ports." % label, kind="invalid")
    highest = max([c.number for c in adds] or [0])
    if highest > 4:
        limit = _hardware_limit(client, props)
        if limit is not None and highest > limit:
            raise VSphereError(
                "%s allows %d serial ports with its hardware version %s; port %d was asked for. Upgrade the "
                "VM's compatibility or use a lower number." % (label, limit, props.get("config.version"), highest),
                kind="invalid")
    datastores = getattr(props, "datastore_names", None)
    for number, path, datastore in sp.unknown_datastores(changes, datastores):
        raise VSphereError(
            "Serial port %d of %s: the file_path '%s' is on the datastore '%s', which the VM's host or cluster "
            "does not have (its datastores: %s). Give a datastore path on one of them. Nothing was changed."
            % (number, label, path, datastore, ", ".join(sorted(datastores))), kind="not_found")
    blocked = sp.power_problem(changes, power_state)
    if blocked and power_state != "poweredOff" and not allow_power_cycle:
        raise VSphereError(
            "%s is %s: adding or removing %s needs it powered off. Power it off first, or set "
            "allow_power_cycle: true to shut it down, apply the change and power it back on. Nothing was changed."
            % (label, power_state, _describe(blocked)), kind="power_state")
    if blocked and power_state == "suspended":
        raise VSphereError("%s is suspended: resume or power it off before adding or removing %s. Nothing was changed."
                           % (label, _describe(blocked)), kind="power_state")
    return blocked


class VmPlan(object):
    """What one VM's run does, decided from one read of the VM (``props``).

    ``changes`` turn ``current`` (``{number: port}``) into ``after``; ``blocked`` are the numbers of
    the ports whose change needs the VM powered off (it runs); ``warnings`` are what the user should
    know about inputs that have no effect.
    """

    def __init__(self, props, sio_key, current, devices, changes, blocked, warnings):
        self.props = props
        self.sio_key = sio_key
        self.current = current
        self.devices = devices
        self.changes = changes
        self.blocked = blocked
        self.warnings = warnings
        self.after = sp.predicted(current, changes)

    @property
    def powered_on(self):
        return self.props.get("runtime.powerState") == "poweredOn"

    def device_changes(self):
        return device_changes(self.changes, self.devices, self.sio_key)

    def what(self):
        """The reconfiguration, for messages: ``reconfiguring the serial ports (add 1) of VM 'x' (vm-1)``."""
        return "reconfiguring the serial ports (%s) of %s" % (
            ", ".join("%s %s" % (c.op, c.number if c.number > 0 else "?") for c in self.changes), vm_label(self.props))

    def change_list(self):
        """The ``changes`` result value."""
        return [dict(op=c.op, number=c.number if c.number > 0 else None) for c in self.changes]

    def diff(self):
        return sp.diff(self.current, self.after, self.powered_on)


def plan_vm(client, props, entry, allow_power_cycle):
    """The :class:`VmPlan` of one VM read as ``props`` for ``entry`` (``serial_ports`` and
    ``exclusive``, validated). Raises :class:`VSphereError` for what vSphere would refuse (see
    :func:`check_changes`; the error's ``plan`` is then what the VM would need); asks vSphere only
    for the hardware limit when a port above 4 is added."""
    power_state = props.get("runtime.powerState")
    sio_key, current, devices = read_ports(props)
    wanted = entry["serial_ports"] or []
    try:
        changes = sp.plan(current, wanted, entry.get("exclusive") or False, powered_on=power_state == "poweredOn")
    except ValueError as exc:
        raise VSphereError("%s: %s" % (vm_label(props), exc), kind="invalid")
    try:
        blocked = check_changes(client, props, changes, sio_key, allow_power_cycle)
    except VSphereError as exc:
        # What the VM would need is still said (the result's changes, the check-mode diff).
        exc.plan = VmPlan(props, sio_key, current, devices, changes, [], [])
        raise
    warnings = []
    ignored = sp.ignored_connected(wanted, power_state)
    if ignored:
        warnings.append(
            "%s is %s: connected is ignored for %s, since a port is connected only while the VM runs "
            "(start_connected says whether it connects when the VM powers on)."
            % (vm_label(props), power_state, _describe(ignored)))
    return VmPlan(props, sio_key, current, devices, changes, blocked, warnings)


# -- the ESXi firewall the ports need ---------------------------------------------------------------

def firewall_views(client, items, more_hosts=(), states=None):
    """For each ``(host, ports)`` of ``items`` (a VM's host and its ports, as results show them):
    ``{"host": name, "rulesets": {id: enabled}}`` for the rule sets its network-backed ports need,
    or ``None`` when no port needs one or the host cannot be read (for example without permission
    on it). One request for all the hosts, and for ``more_hosts`` too: ``states``, when given (a
    dict), receives ``{host moid: {"name": ..., rule set: enabled}}`` of every host read."""
    needs = [sorted(set(r for r in (sp.needed_ruleset(p.get("backing")) for p in ports or []) if r))
             for _host, ports in items]
    hosts = [host for (host, _ports), needed in zip(items, needs) if needed and host is not None]
    hosts += [host for host in more_hosts if host is not None]
    if not hosts:
        return [None] * len(items)
    try:
        state = serial_rulesets_state(client, hosts)
    except VSphereError:
        return [None] * len(items)
    if states is not None:
        states.update(state)
    views = []
    for (host, _ports), needed in zip(items, needs):
        host_state = state.get(host._moId) if needed and host is not None else None
        views.append({"host": host_state.get("name"), "rulesets": dict((r, host_state.get(r)) for r in needed)}
                     if host_state else None)
    return views


def firewall_warnings(vms, one_vm):
    """One warning per host and disabled rule set, from ``vms`` (``(VM name, firewall view)``):
    naming the VM when the run is about ``one_vm``, counting the VMs otherwise."""
    disabled = {}
    for name, view in vms:
        for ruleset, enabled in sorted(((view or {}).get("rulesets") or {}).items()):
            if enabled is False:
                disabled.setdefault((view["host"], ruleset), set()).add(name)
    warnings = []
    for (host, ruleset), names in sorted(disabled.items()):
        names = sorted(names)
        if one_vm:
            who, their = "VM '%s'" % names[0], "its"
        else:
            who, their = "%d of these VMs (%s)" % (len(names), ", ".join(names[:10]) + (", ..." if len(names) > 10
                                                                                        else "")), "their"
        warnings.append(
            "The ESXi firewall rule set '%s' is disabled on host %s, which runs %s: %s network-backed serial ports "
            "cannot connect. Enable it with vmchannels.vsphere.esxi_serial_firewall_ruleset (rulesets: [%s], "
            "state: enabled)." % (ruleset, host, who, their, ruleset))
    return warnings
