# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A run of vm_serial_port (one VM) or vm_serial_port_bulk (many): one path for both.

1. every VM is found at once (names with one inventory read, ``bulk.find_runs``);
2. every VM is read in ONE ``RetrievePropertiesEx`` (``bulk.read_all``) (with the datastores it can use) and planned
   (``serial_port_api.plan_vm``); a VM that cannot be changed is reported, the others go on; check
   mode stops here;
3. the VMs that can change while they run are reconfigured in waves of ``parallel`` tasks, started
   concurrently, each wave awaited with one property filter, which also brings back the VMs' new properties
   (``bulk.reconfigure_wave``, the waves of vm_vmci_filter_bulk too);
4. the VMs that must be powered off (``allow_power_cycle``) go in batches of ``max_powered_off``:
   down, read again, planned again, reconfigured, powered back on whatever happened
   (``power_cycle.power_cycled``);
5. VMs whose edit was refused as concurrent (stale ``changeVersion``) are read again, planned again
   and retried, up to three attempts (``bulk.with_retries``);
6. the ESXi rule sets the network-backed ports need are read for all their hosts in one request.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmchannels.vsphere.plugins.module_utils.engine.power_cycle import (
    WOULD_POWER_CYCLE,
    PowerCycle,
    power_cycled,
)
from ansible_collections.vmchannels.vsphere.plugins.module_utils.engine.runs import (
    find_runs,
    not_found,
    read_all,
    reconfigure_wave,
    requested,
    with_retries,
)
from ansible_collections.vmchannels.vsphere.plugins.module_utils.serial_ports import ports as sp
from ansible_collections.vmchannels.vsphere.plugins.module_utils.serial_ports.devices import explain_fault, read_ports
from ansible_collections.vmchannels.vsphere.plugins.module_utils.serial_ports.plan import (
    firewall_views,
    firewall_warnings,
    plan_vm,
)
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.client import VSphereError
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.vm_config import (
    read_vms_properties,
    vm_identity,
    vm_label,
)


class RunOptions(object):
    """How the run goes: ``timeout`` (seconds per vSphere task), ``parallel`` (reconfigure tasks at
    once), ``allow_power_cycle``, ``max_powered_off`` (VMs down at once), ``check_mode``, ``want_diff``,
    ``firewall_warnings`` (warn about disabled rule sets; each VM's ``firewall`` view is filled either way),
    ``name_hosts`` (name the ESXi host of every VM read, in the request that reads the rule sets)."""

    def __init__(self, timeout, parallel=1, allow_power_cycle=False, max_powered_off=1, check_mode=False,
                 want_diff=False, firewall_warnings=True, name_hosts=False):
        self.timeout = timeout
        self.firewall_warnings = firewall_warnings
        self.parallel = parallel
        self.allow_power_cycle = allow_power_cycle
        self.max_powered_off = max_powered_off
        self.check_mode = check_mode
        self.want_diff = want_diff
        self.name_hosts = name_hosts


class VmRun(object):
    """One VM of the run: what was asked, what was read and planned, what happened."""

    def __init__(self, entry):
        self.entry = entry
        self.ref = None
        self.props = None  # as read before the change
        self.plan = None
        self.error = None
        self.after = None  # {number: port} after the run (predicted in check mode)
        self.final = None  # the VM's properties after the change
        self.applied = False  # the change was made (or, in check mode, would be)
        self.power_cycle = None
        self.firewall = None
        self.host = None  # the name of the ESXi host that runs the VM (with name_hosts)
        self.warnings = []  # what happened that the user should know (the plan's own are in plan.warnings)

    @property
    def label(self):
        return vm_label(self.props) if self.props is not None else str(requested(self.entry))

    def result(self):
        """The VM's result, as vm_serial_port returns it (and each entry of vm_serial_port_bulk's ``vms``)."""
        props = self.final if self.final is not None else self.props
        out = dict(vm=vm_identity(props) if props is not None else requested(self.entry), changed=self.applied,
                   changes=self.plan.change_list() if self.plan else [])
        if self.error is not None:
            out.update(failed=True, msg=self.error.msg, error_kind=self.error.kind)
        if self.after is not None:
            out["serial_ports"] = sp.port_list(self.after)
        if self.power_cycle is not None:
            out["power_cycle"] = self.power_cycle
        if self.firewall is not None:
            out["firewall"] = self.firewall
        return out

    def bulk_result(self):
        """The VM's entry of vm_serial_port_bulk's ``vms``: :meth:`result` with the VM's ports before
        the run (``serial_ports_before``, for every VM read) and its ``esxi_host``."""
        out = self.result()
        if self.props is not None:
            out["serial_ports_before"] = sp.port_list(read_ports(self.props)[1])
        if self.host is not None:
            out["esxi_host"] = self.host
        return out


# -- the run ---------------------------------------------------------------------------------------

def ensure_serial_ports(client, entries, options):
    """Make the serial ports of every VM of ``entries`` what each entry asks for.

    Returns ``(runs, warnings)``: one :class:`VmRun` per entry, in order (a VM that could not be
    changed has its ``error``; the others were changed all the same), and the warnings to show.
    """
    runs = find_runs(client, entries, VmRun)

    def attempt(pending):
        _read_and_plan(client, pending, options)
        if options.check_mode:
            return []
        return _apply(client, [run for run in pending if run.error is None], options)

    warnings = with_retries(runs, attempt)
    _check_firewall(client, runs, options.name_hosts)
    for run in runs:
        warnings += (run.plan.warnings if run.plan is not None else []) + run.warnings
    if options.firewall_warnings:
        warnings += firewall_warnings([(run.props.get("name"), run.firewall) for run in runs if run.firewall],
                                      one_vm=len(runs) == 1)
    return runs, warnings


def _read_and_plan(client, runs, options):
    """Read ``runs`` (one request) and plan each; a VM that cannot be changed gets its error."""
    if not runs:
        return
    props, missing = read_all(client, [run.ref for run in runs], extra_paths=("environmentBrowser",),
                              with_datastores=True)
    for run in runs:
        run.props = props.get(run.ref._moId)
        run.error = missing.get(run.ref._moId) or (None if run.props is not None else not_found(run.ref))
        if run.error is None:
            _plan(client, run, options.allow_power_cycle)
        if run.error is None:
            run.after = run.plan.after
            if options.check_mode and run.plan.changes:
                run.applied = True
                if run.plan.blocked:
                    run.power_cycle = WOULD_POWER_CYCLE


def _plan(client, run, allow_power_cycle):
    try:
        run.plan = plan_vm(client, run.props, run.entry, allow_power_cycle)
    except VSphereError as exc:
        run.error = exc
        run.plan = getattr(exc, "plan", None)  # what a VM that cannot be changed would need


def _apply(client, runs, options):
    """Reconfigure ``runs`` (those with changes): in waves while they run, in power-cycled batches
    when they must be off. Returns the runs refused as concurrent edits."""
    changing = [run for run in runs if run.plan.changes]
    hot = [run for run in changing if not run.plan.blocked]
    cold = [run for run in changing if run.plan.blocked]
    retry = []
    destroy = len(changing) > 1 or bool(cold)  # filters of a long session die at once, not at logout
    for first in range(0, len(hot), options.parallel):
        retry += _reconfigure(client, hot[first:first + options.parallel], options.timeout, destroy)
    for first in range(0, len(cold), options.max_powered_off):
        retry += _power_cycle(client, cold[first:first + options.max_powered_off], options)
    return retry


def _reconfigure(client, runs, timeout, destroy_filter):
    """One wave (``bulk.reconfigure_wave``): the reconfigure task of every run, all awaited with one
    filter (which also brings back the VMs' properties). Returns the runs refused as concurrent edits."""
    outcomes = reconfigure_wave(client, [(run.props, run.plan.device_changes(), run.plan.what()) for run in runs],
                                timeout, destroy_filter)
    retry = []
    for run, (error, props) in zip(runs, outcomes):
        if error is not None:
            run.error = explain_fault(error, run.plan.changes, run.label)
            if error.kind == "concurrent":
                retry.append(run)
            continue
        run.applied = True
        run.final = props
        if props is not None:
            run.after = read_ports(props)[1]
    return retry


def _read_after(client, runs):
    """Read the VMs of ``runs`` again (one request): their ports and state after the change."""
    if not runs:
        return
    props = read_vms_properties(client, [run.ref for run in runs])
    for run in runs:
        run.final = props.get(run.ref._moId)
        if run.final is not None:
            run.after = read_ports(run.final)[1]


def _power_cycle(client, runs, options):
    """One batch of running VMs whose change needs them off: down, read again and planned again,
    reconfigured, back on (see ``power_cycle.power_cycled``). Returns the runs refused as concurrent."""
    cycles = dict((run, PowerCycle(run.ref, run.label, run.props.get("guest.toolsRunningStatus") == "guestToolsRunning"))
                  for run in runs)
    by_cycle = dict((cycle, run) for run, cycle in cycles.items())
    retry = []

    def apply(down):
        off = [by_cycle[cycle] for cycle in down]
        # The change version moved with the power state, and what must change may have too; what
        # the plan of the running VM had to say stays (not that connected is ignored while it is off).
        said = dict((run, run.plan.warnings) for run in off)
        _read_and_plan(client, off, RunOptions(options.timeout, allow_power_cycle=True))
        for run in off:
            if run.plan is not None:
                run.plan.warnings = said[run]
        changing = [run for run in off if run.error is None and run.plan.changes]
        for first in range(0, len(changing), options.parallel):
            retry.extend(_reconfigure(client, changing[first:first + options.parallel], options.timeout, True))

    power_cycled(client, list(cycles.values()), options.timeout, apply)
    restored = []
    for run, cycle in cycles.items():
        run.warnings += cycle.warnings
        if cycle.error is not None:  # not taken down: nothing changed
            run.error = cycle.error
        elif run.error is not None:
            if cycle.note():
                run.error.msg += " " + cycle.note()
        elif cycle.restored:
            run.power_cycle = cycle.how
            restored.append(run)
        else:
            run.error = VSphereError("%s The serial ports were changed (%s)." % (
                cycle.note(), ", ".join("%s %s" % (c["op"], c["number"]) for c in run.plan.change_list())),
                kind="power_state")
    _read_after(client, restored)  # their power state and ports now
    return retry


# -- after the change --------------------------------------------------------------------------------

def _check_firewall(client, runs, name_hosts):
    """The firewall view of every VM that was changed or planned and, with ``name_hosts``, the name
    of the host of every VM read (one request for all hosts)."""
    checked = [run for run in runs if run.error is None and run.props is not None and run.after is not None]
    read = [run for run in runs if run.props is not None] if name_hosts else []
    states = {}
    views = firewall_views(client, [(run.props.get("runtime.host"), sp.port_list(run.after)) for run in checked],
                           more_hosts=[run.props.get("runtime.host") for run in read], states=states)
    for run, view in zip(checked, views):
        run.firewall = view
    for run in read:
        host = run.props.get("runtime.host")
        if host is not None and host._moId in states:
            run.host = states[host._moId].get("name")


def bulk_diff(runs, check_mode):
    """``{before, after}`` of the ports of every VM that changes, keyed ``name (moid)``; in check mode
    also of every VM that differs but cannot be changed (its ``after`` is what was asked)."""
    before, after = {}, {}
    for run in runs:
        if run.plan is None or not run.plan.changes or (run.error is not None and not check_mode):
            continue
        key = "%s (%s)" % (run.props.get("name"), run.props.moid)
        half = run.plan.diff()
        before[key], after[key] = half["before"]["serial_ports"], half["after"]["serial_ports"]
    return dict(before=dict(vms=before), after=dict(vms=after))
