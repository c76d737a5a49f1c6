# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The serial ports as a concern of the engine (``engine.ensure``), for vm_serial_port (one VM) and
vm_serial_port_bulk (many): one path for both.

:class:`SerialPorts` plans a VM with ``plan.plan_vm`` (the VM read with the datastores it can use),
rewords vSphere's refusals to name the port (``devices.explain_fault``), reads the ports back after
the change, and after the run reads the ESXi rule sets the network-backed ports need, for all their
hosts in one request (naming the hosts too for the bulk module), warning about those disabled.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmchannels.vsphere.plugins.module_utils.engine.record import Concern
from ansible_collections.vmchannels.vsphere.plugins.module_utils.serial_ports import ports as sp
from ansible_collections.vmchannels.vsphere.plugins.module_utils.serial_ports.devices import explain_fault, read_ports
from ansible_collections.vmchannels.vsphere.plugins.module_utils.serial_ports.plan import (
    firewall_views,
    firewall_warnings,
    plan_vm,
)


class SerialPorts(Concern):
    """The serial ports of each VM, as its entry's ``serial_ports`` and ``exclusive`` ask;
    ``warn_firewall``: warn about disabled rule sets (each VM's ``firewall`` view is filled either way)."""

    names_hosts = True  # the firewall read names them

    extra_paths = ("environmentBrowser",)
    with_datastores = True

    def __init__(self, warn_firewall=True):
        self.warn_firewall = warn_firewall

    def plan(self, client, run, allow_power_cycle):
        return plan_vm(client, run.props, run.entry, allow_power_cycle)

    def explain(self, error, run):
        return explain_fault(error, run.plan.changes, run.label)

    def state_after(self, props):
        return read_ports(props)[1]

    def inspect_hosts(self, client, runs, name_hosts):
        """The firewall view of every VM that was changed or planned and, with ``name_hosts``, the name
        of the host of every VM read (one request for all hosts); the warnings about disabled rule sets."""
        checked = [run for run in runs if run.error is None and run.props is not None and run.after is not None]
        read = [run for run in runs if run.props is not None] if name_hosts else []
        states = {}
        views = firewall_views(client, [(run.props.get("runtime.host"), sp.port_list(run.after)) for run in checked],
                               more_hosts=[run.props.get("runtime.host") for run in read], states=states)
        for run, view in zip(checked, views):
            if view is not None:
                run.details["firewall"] = view
        for run in read:
            host = run.props.get("runtime.host")
            if host is not None and host._moId in states:
                run.host = states[host._moId].get("name")
        if not self.warn_firewall:
            return []
        return firewall_warnings([(run.props.get("name"), run.details["firewall"]) for run in runs
                                  if run.details.get("firewall")], one_vm=len(runs) == 1)

    def result_fields(self, run):
        out = dict(changes=run.plan.change_list() if run.plan else [])
        if run.after is not None:
            out["serial_ports"] = sp.port_list(run.after)
        out.update(run.details)
        return out

    def before_fields(self, run):
        """The VM's ports before the run (``serial_ports_before``), for every VM read."""
        return dict(serial_ports_before=sp.port_list(read_ports(run.props)[1])) if run.props is not None else {}

    def diff(self, run):
        return run.plan.diff()

    def diff_halves(self, run):
        diff = run.plan.diff()
        return diff["before"]["serial_ports"], diff["after"]["serial_ports"]
