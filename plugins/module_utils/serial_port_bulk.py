# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Serial ports of many VMs in one session: the serial-port concern of the bulk run (``bulk``).

The per-VM logic is the one of ``vm_serial_port`` (``serial_ports.plan``, ``check_changes``,
``device_changes``); the run is ``bulk.run_many``. On top of it, the ESXi rule sets the
network-backed ports need are read for all their hosts in the same request that names the hosts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmchannels.vsphere.plugins.module_utils import serial_ports as sp
from ansible_collections.vmchannels.vsphere.plugins.module_utils.bulk import Concern, bulk_result, run_many
from ansible_collections.vmchannels.vsphere.plugins.module_utils.client import VSphereError
from ansible_collections.vmchannels.vsphere.plugins.module_utils.firewall import serial_rulesets_state
from ansible_collections.vmchannels.vsphere.plugins.module_utils.serial_port_api import (
    check_changes,
    device_changes,
    explain_fault,
    read_ports,
)


class SerialPorts(Concern):
    noun = "the serial ports"
    extra_paths = ("environmentBrowser",)

    def plan(self, client, run):
        power_state = run.props.get("runtime.powerState")
        sio_key, current, devices = read_ports(run.props)
        run.before = current
        try:
            changes = sp.plan(current, run.entry["serial_ports"] or [], run.entry.get("exclusive") or False,
                              powered_on=power_state == "poweredOn")
        except ValueError as exc:
            raise VSphereError("%s: %s" % (run.label, exc), kind="invalid")
        run.changes, run.wanted = changes, sp.predicted(current, changes)
        check_changes(client, run.props, changes, sio_key, allow_power_cycle=False)
        return device_changes(changes, devices, sio_key)

    def explain(self, error, run):
        return explain_fault(error, run.changes, run.label)

    def state_from_devices(self, devices):
        return read_ports({"config.hardware.device": devices})[1]

    def result_fields(self, run):
        out = dict(changes=[dict(op=c.op, number=c.number if c.number > 0 else None) for c in run.changes or []])
        if run.before is not None:
            out["serial_ports_before"] = sp.port_list(run.before)
        if run.after is not None:
            out["serial_ports"] = sp.port_list(run.after)
        if run.host is not None and run.after is not None:
            needed = sorted(set(r for r in (sp.needed_ruleset(p.get("backing")) for p in run.after.values()) if r))
            if needed:
                out["firewall"] = {"host": run.host.get("name"), "rulesets": dict((r, run.host.get(r)) for r in needed)}
        return out

    def diff_halves(self, run):
        half = sp.diff(run.before, run.wanted, run.props.get("runtime.powerState") == "poweredOn")
        return half["before"]["serial_ports"], half["after"]["serial_ports"]

    def host_states(self, client, host_refs):
        """The hosts' names and serial-port rule sets, in one request."""
        return serial_rulesets_state(client, host_refs)


def _firewall_warnings(runs):
    """One warning per host and rule set that the network-backed ports of some VMs need but is disabled."""
    needs = {}
    for run in runs:
        if run.error is not None or run.host is None or run.after is None:
            continue
        for port in run.after.values():
            ruleset = sp.needed_ruleset(port.get("backing"))
            if ruleset and run.host.get(ruleset) is False:
                needs.setdefault((run.host.get("name"), ruleset), set()).add(run.props.get("name"))
    return ["The ESXi firewall rule set '%s' is disabled on host %s, which runs %d of these VMs (%s): their "
            "network-backed serial ports cannot connect. Enable it with vmchannels.vsphere.esxi_serial_firewall_ruleset."
            % (ruleset, host, len(names), ", ".join(sorted(names)[:10]) + (", ..." if len(names) > 10 else ""))
            for (host, ruleset), names in sorted(needs.items())]


def ensure_many(client, entries, timeout, parallel, check_mode, want_diff):
    """Make the serial ports of every VM of ``entries`` what each entry asks for.

    Returns ``(result, warnings)``. ``result["failed_vms"]`` counts the VMs that could not be
    changed (each with its message in ``result["vms"]``); the others were changed all the same.
    """
    concern = SerialPorts()
    runs, warnings = run_many(client, concern, entries, timeout, parallel, check_mode)
    return bulk_result(concern, runs, want_diff), warnings + _firewall_warnings(runs)
