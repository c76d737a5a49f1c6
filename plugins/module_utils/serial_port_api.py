# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Serial ports of a VM: between the pure plan (``serial_ports``) and pyVmomi.

:func:`read_ports` turns a VM's devices into port dicts, :func:`device_changes` turns a plan into
``VirtualDeviceSpec`` objects, and :func:`ensure` runs a whole module invocation: one read, one
plan, at most one ``ReconfigVM_Task`` (retried after a concurrent edit), the firewall warning.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmchannels.vsphere.plugins.module_utils import serial_ports as sp
from ansible_collections.vmchannels.vsphere.plugins.module_utils.client import VSphereError
from ansible_collections.vmchannels.vsphere.plugins.module_utils.firewall import serial_rulesets_state
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vm_config import (
    power_task,
    read_vm,
    reconfigure,
    vm_identity,
    vm_label,
    wait_for_power_state,
)

try:
    from pyVmomi import vim
except ImportError:  # pragma: no cover - client.HAS_PYVMOMI reports it
    pass

CONCURRENT_RETRIES = 3


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
    """``(sio_controller_key, {number: port}, {number: device})`` from a VM read by ``read_vm``.

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


# -- a module run --------------------------------------------------------------------------------

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


def _power_cycle_off(client, props, timeout, warnings):
    vm = props.obj
    label = vm_label(props)
    if props.get("guest.toolsRunningStatus") == "guestToolsRunning":
        try:
            vm.ShutdownGuest()
        except Exception as exc:  # tools answered but refused: fall back to a hard power off
            warnings.append("Guest shutdown of %s failed (%s); powering it off." % (label, exc))
        else:
            wait_for_power_state(client, vm, "poweredOff", timeout, "the guest shutdown of %s" % label)
            return "guest shutdown"
    power_task(client, vm, "PowerOffVM_Task", timeout, "powering off %s" % label)
    return "power off"


def _plan(props, params):
    power_state = props.get("runtime.powerState")
    sio_key, current, devices = read_ports(props)
    try:
        changes = sp.plan(current, params["serial_ports"] or [], params["exclusive"],
                          powered_on=power_state == "poweredOn")
    except ValueError as exc:
        raise VSphereError("%s: %s" % (vm_label(props), exc), kind="invalid")
    return power_state, sio_key, current, devices, changes


def check_changes(client, props, changes, sio_key, allow_power_cycle):
    """Refuse, before any change, what vSphere would refuse: ports on a VM without SIO controller,
    more ports than the hardware version allows, adding or removing ports while the VM runs
    (unless ``allow_power_cycle``) or is suspended. Returns the numbers of the ports whose change
    needs the VM powered off."""
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


def ensure(client, params, vm, check_mode, want_diff):
    """Make the VM's serial ports what ``params`` asks for.

    Returns ``(result, warnings, host)``: the module result, the warnings to show, and the VM's
    host (for the firewall check).
    """
    warnings = []
    result = dict(changed=False)
    timeout = params["timeout"]
    for attempt in range(1, CONCURRENT_RETRIES + 1):
        props = read_vm(client, vm, extra_paths=("environmentBrowser",))
        label = vm_label(props)
        power_state, sio_key, current, devices, changes = _plan(props, params)
        blocked = check_changes(client, props, changes, sio_key, params["allow_power_cycle"])
        after = sp.predicted(current, changes)
        result.update(vm=vm_identity(props), changes=[
            dict(op=c.op, number=c.number if c.number > 0 else None) for c in changes])
        if want_diff:
            result["diff"] = sp.diff(current, after, power_state == "poweredOn")
        if not changes:
            result["serial_ports"] = sp.port_list(current)
            break
        result["changed"] = True
        if check_mode:
            result["serial_ports"] = sp.port_list(after)
            if blocked:
                result["power_cycle"] = "would power cycle"
            break
        cycled = None
        if blocked:
            cycled = _power_cycle_off(client, props, timeout, warnings)
            props = read_vm(client, vm)  # the change version moved with the power state
        try:
            new_props = reconfigure(client, props, device_changes(changes, devices, sio_key), timeout,
                                    "reconfiguring the serial ports (%s) of %s"
                                    % (", ".join("%s %s" % (c.op, c.number) for c in changes), label))
        except VSphereError as exc:
            exc = explain_fault(exc, changes, label)
            if cycled:
                power_task(client, vm, "PowerOnVM_Task", timeout, "powering %s back on" % label)
            if exc.kind == "concurrent" and attempt < CONCURRENT_RETRIES:
                warnings.append("%s was changed by someone else during the run; read it again (attempt %d)."
                                % (label, attempt + 1))
                continue
            raise exc
        except Exception as exc:  # the connection died mid-change: do not leave the VM powered off
            if not cycled:
                raise
            try:
                power_task(client, vm, "PowerOnVM_Task", timeout, "powering %s back on" % label)
            except Exception:
                raise VSphereError(
                    "%s was powered off for the change, then the connection was lost (%s) and it could not be "
                    "powered back on: power it on. The serial-port change may or may not have been applied; run "
                    "the task again." % (label, exc), kind="connection")
            raise
        if cycled:
            power_task(client, vm, "PowerOnVM_Task", timeout, "powering %s back on" % label)
            result["power_cycle"] = cycled
            new_props = read_vm(client, vm)
        result["serial_ports"] = sp.port_list(read_ports(new_props)[1])
        result["vm"] = vm_identity(new_props)
        break
    return result, warnings, props.get("runtime.host")


def firewall_check(client, host, ports):
    """Whether the rule sets the network-backed ``ports`` need are enabled on ``host`` (the VM's
    host): ``{"host": name, "rulesets": {id: enabled}}``, or ``None`` when no port needs one or the
    host cannot be read (for example without permission on it). One request."""
    needed = sorted(set(r for r in (sp.needed_ruleset(p.get("backing")) for p in ports) if r))
    if not needed or host is None:
        return None
    try:
        state = serial_rulesets_state(client, [host]).get(host._moId)
    except VSphereError:
        return None
    if not state:
        return None
    return {"host": state.get("name"), "rulesets": dict((r, state.get(r)) for r in needed)}
