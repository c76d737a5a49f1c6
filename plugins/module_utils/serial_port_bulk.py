# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Serial ports of many VMs in one session: one login, one read, parallel reconfigure tasks.

The per-VM logic is the one of ``vm_serial_port`` (``serial_ports.plan``, ``check_changes``,
``device_changes``); what differs is the shape of the run:

1. every VM is found at once (names with one inventory read, see ``inventory.find_vms``);
2. every VM is read in ONE ``RetrievePropertiesEx``;
3. each VM's change is planned and checked; a VM that cannot be changed is reported, the others go on;
4. the reconfigure tasks are started in waves of ``parallel`` and each wave is awaited with one
   property filter, which also brings back the VMs' new devices;
5. VMs whose edit was refused as concurrent (stale ``changeVersion``) are read again in one request,
   planned again and retried, up to three times;
6. the ESXi rule sets the network-backed ports need are read for all their hosts in one request.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmchannels.vsphere.plugins.module_utils import serial_ports as sp
from ansible_collections.vmchannels.vsphere.plugins.module_utils.client import VSphereError, fault_to_error
from ansible_collections.vmchannels.vsphere.plugins.module_utils.firewall import serial_rulesets_state
from ansible_collections.vmchannels.vsphere.plugins.module_utils.inventory import find_vms
from ansible_collections.vmchannels.vsphere.plugins.module_utils.serial_port_api import (
    CONCURRENT_RETRIES,
    check_changes,
    device_changes,
    explain_fault,
    read_ports,
)
from ansible_collections.vmchannels.vsphere.plugins.module_utils.tasks import task_error, wait_for_tasks
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vm_config import read_vms, vm_identity, vm_label

try:
    from pyVmomi import vim, vmodl
except ImportError:  # pragma: no cover - client.HAS_PYVMOMI reports it
    pass


def _requested(entry):
    """How the user named a VM, for results of VMs that were not found."""
    return dict((k, entry.get(k)) for k in ("name", "uuid", "moid") if entry.get(k))


def _read(client, refs):
    """Read ``refs`` in one request; when one of them no longer exists (the whole read fails on
    vCenter), read them one by one to tell which."""
    try:
        return read_vms(client, refs, extra_paths=("environmentBrowser",)), {}
    except VSphereError as exc:
        if exc.kind != "not_found":
            raise
    found, missing = {}, {}
    for ref in refs:
        try:
            found.update(read_vms(client, [ref], extra_paths=("environmentBrowser",)))
        except VSphereError as exc:
            if exc.kind != "not_found":
                raise
            missing[ref._moId] = VSphereError("No virtual machine with moid %s exists." % ref._moId, kind="not_found")
    return found, missing


class _VmRun(object):
    """One VM of the bulk run: what was asked, what was read, what happened."""

    def __init__(self, entry):
        self.entry = entry
        self.ref = None
        self.props = None
        self.error = None
        self.changes = []
        self.current = {}
        self.after = None
        self.firewall = None

    def result(self):
        out = dict(vm=vm_identity(self.props) if self.props is not None else _requested(self.entry),
                   changed=bool(self.changes) and self.error is None,
                   changes=[dict(op=c.op, number=c.number if c.number > 0 else None) for c in self.changes])
        if self.error is not None:
            out.update(failed=True, msg=self.error.msg, error_kind=self.error.kind)
            out["changed"] = False
        if self.after is not None:
            out["serial_ports"] = sp.port_list(self.after)
        if self.firewall is not None:
            out["firewall"] = self.firewall
        return out


def _plan(client, run):
    power_state = run.props.get("runtime.powerState")
    sio_key, current, devices = read_ports(run.props)
    try:
        changes = sp.plan(current, run.entry["serial_ports"] or [], run.entry.get("exclusive") or False,
                          powered_on=power_state == "poweredOn")
    except ValueError as exc:
        raise VSphereError("%s: %s" % (vm_label(run.props), exc), kind="invalid")
    check_changes(client, run.props, changes, sio_key, allow_power_cycle=False)
    run.current, run.changes = current, changes
    return device_changes(changes, devices, sio_key)


def _start(client, runs, check_mode):
    """Plan every run and start its task; returns ``{task moid: (task, run, specs)}``."""
    started = {}
    for run in runs:
        try:
            specs = _plan(client, run)
        except VSphereError as exc:
            run.error = exc
            continue
        run.after = sp.predicted(run.current, run.changes) if run.changes else run.current
        if not run.changes or check_mode:
            continue
        spec = vim.vm.ConfigSpec(deviceChange=specs)
        if run.props.get("config.changeVersion"):
            spec.changeVersion = run.props.get("config.changeVersion")
        what = "reconfiguring the serial ports of %s" % vm_label(run.props)
        try:
            task = run.ref.ReconfigVM_Task(spec=spec)
        except vmodl.MethodFault as fault:
            run.error = explain_fault(fault_to_error(fault, what), run.changes, vm_label(run.props))
            continue
        started[task._moId] = (task, run)
    return started


def _wave(client, runs, timeout, check_mode):
    """Start and await the tasks of ``runs``; returns the runs refused as concurrent edits."""
    started = _start(client, runs, check_mode)
    if not started:
        return []
    tasks = [task for task, _run in started.values()]
    outcome = wait_for_tasks(client, tasks, timeout, destroy_filter=True,
                             watch=[(run.ref, ["config.hardware.device"]) for _task, run in started.values()],
                             what="reconfiguring the serial ports of %d VMs" % len(tasks))
    retry, reread = [], []
    for task, run in started.values():
        label = vm_label(run.props)
        error = task_error(outcome, task, "reconfiguring the serial ports of %s" % label)
        if error is not None:
            error = explain_fault(error, run.changes, label)
            if error.kind == "concurrent":
                retry.append(run)
            run.error = error
            continue
        devices = outcome.watched.get(run.ref._moId, {}).get("config.hardware.device")
        if outcome.watched_after_completion and devices is not None:
            run.after = read_ports({"config.hardware.device": devices})[1]
        else:
            reread.append(run)
    if reread:
        props = read_vms(client, [run.ref for run in reread])
        for run in reread:
            run.after = read_ports(props[run.ref._moId])[1]
    return retry


def _firewall(client, runs):
    """Per host and rule set, the VMs whose network-backed ports need a disabled rule set."""
    needs = {}
    for run in runs:
        if run.error is not None or run.props is None or run.after is None:
            continue
        host = run.props.get("runtime.host")
        for port in run.after.values():
            ruleset = sp.needed_ruleset(port.get("backing"))
            if ruleset and host is not None:
                needs.setdefault(host._moId, (host, {}))[1].setdefault(ruleset, []).append(run)
    if not needs:
        return []
    try:
        state = serial_rulesets_state(client, [host for host, _rs in needs.values()])
    except VSphereError:
        return []
    warnings = []
    for moid, (host, rulesets) in sorted(needs.items()):
        host_state = state.get(moid) or {}
        for ruleset, runs_needing in sorted(rulesets.items()):
            for run in runs_needing:
                run.firewall = run.firewall or {"host": host_state.get("name"), "rulesets": {}}
                run.firewall["rulesets"][ruleset] = host_state.get(ruleset)
            if host_state.get(ruleset) is False:
                names = sorted(set(r.props.get("name") for r in runs_needing))
                warnings.append(
                    "The ESXi firewall rule set '%s' is disabled on host %s, which runs %d of these VMs (%s): their "
                    "network-backed serial ports cannot connect. Enable it with "
                    "vmchannels.vsphere.esxi_serial_firewall_ruleset." % (
                        ruleset, host_state.get("name") or moid, len(names),
                        ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")))
    return warnings


def ensure_many(client, entries, timeout, parallel, check_mode, want_diff, firewall_warnings=True):
    """Make the serial ports of every VM of ``entries`` what each entry asks for.

    Returns ``(result, warnings)``; the warnings about disabled rule sets only with
    ``firewall_warnings`` (each VM's ``firewall`` entry is filled either way). ``result["failed_vms"]`` counts the VMs that could not be
    changed (each with its message in ``result["vms"]``); the others were changed all the same.
    """
    runs = [_VmRun(entry) for entry in entries]
    for run, found in zip(runs, find_vms(client, entries)):
        if isinstance(found, VSphereError):
            run.error = found
        else:
            run.ref = found
    pending = [run for run in runs if run.error is None]
    warnings = []
    for attempt in range(1, CONCURRENT_RETRIES + 1):
        if not pending:
            break
        props, missing = _read(client, [run.ref for run in pending])
        for run in pending:
            run.error = missing.get(run.ref._moId)
            run.props = props.get(run.ref._moId)
        readable = [run for run in pending if run.error is None]
        retry = []
        for first in range(0, len(readable), parallel):
            retry += _wave(client, readable[first:first + parallel], timeout, check_mode)
        if retry and attempt < CONCURRENT_RETRIES:
            warnings.append("%d VMs were changed by someone else during the run (%s); read them again (attempt %d)."
                            % (len(retry), ", ".join(sorted(r.props.get("name") for r in retry)), attempt + 1))
            for run in retry:
                run.error = None
        pending = retry if attempt < CONCURRENT_RETRIES else []
    firewall = _firewall(client, runs)
    if firewall_warnings:
        warnings += firewall
    results = [run.result() for run in runs]
    result = dict(changed=any(r["changed"] for r in results), vms=results,
                  failed_vms=sum(1 for r in results if r.get("failed")))
    if want_diff:
        before, after = {}, {}
        for run in runs:
            if run.props is None or not run.changes or run.error is not None:
                continue
            key = "%s (%s)" % (run.props.get("name"), run.props.moid)
            powered_on = run.props.get("runtime.powerState") == "poweredOn"
            half = sp.diff(run.current, sp.predicted(run.current, run.changes), powered_on)
            before[key], after[key] = half["before"]["serial_ports"], half["after"]["serial_ports"]
        result["diff"] = dict(before=dict(vms=before), after=dict(vms=after))
    return result, warnings
