# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Serial ports of one VM: the plan of a VM as read (``ports``, pure, applied to ``devices``' port dicts).

:func:`plan_vm` decides what one VM's run does (a :class:`VmPlan`: the changes, the ports that need
the VM powered off, the warnings, and the device specs through ``devices.device_changes``), checked
against the VM's power state, hardware limit and datastores. :func:`firewall_views`
and :func:`firewall_warnings` say whether the ESXi rule sets the network-backed ports need are
enabled. ``serial_ports.concern`` makes these steps the serial-port concern of the engine
(``engine.ensure``), for one VM (vm_serial_port) or many (vm_serial_port_bulk).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmchannels.vsphere.plugins.module_utils.esxi_firewall.hosts import serial_rulesets_state
from ansible_collections.vmchannels.vsphere.plugins.module_utils.serial_ports import ports as sp
from ansible_collections.vmchannels.vsphere.plugins.module_utils.serial_ports.devices import (
    _describe,
    device_changes,
    read_ports,
)
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.errors import VSphereError
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.vm_config import vm_label

try:
    from pyVmomi import vim
except ImportError:  # pragma: no cover - client.HAS_PYVMOMI reports it
    pass


# -- one VM's plan -------------------------------------------------------------------------------


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

    def change_note(self):
        """What was changed, for the message of a VM that could not be powered back on."""
        return "The serial ports were changed (%s)." % ", ".join("%s %s" % (c["op"], c["number"])
                                                                 for c in self.change_list())

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
