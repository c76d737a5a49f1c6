# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Serial ports and pyVmomi: devices to port dicts and changes to device specs.

:func:`read_ports` turns a VM's devices into port dicts (``serial_ports.ports``' form),
:func:`device_changes` turns planned changes into ``VirtualDeviceSpec`` objects and
:func:`explain_fault` words a refused reconfiguration for the ports concerned.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmchannels.vsphere.plugins.module_utils.serial_ports import ports as sp

try:
    from pyVmomi import vim
except ImportError:  # pragma: no cover - client.HAS_PYVMOMI reports it
    pass


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
