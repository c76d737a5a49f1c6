# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run of every VM-configuring module: one path for one VM and for many, for every concern.

:func:`ensure` makes what a concern manages (``serial_ports.concern``, ``vmci.concern``) on every VM
of the run what each entry asks for:

1. every VM is found at once (names with one inventory read, ``waves.find_runs``);
2. every VM is read in ONE ``RetrievePropertiesEx`` (``waves.read_all``) and planned by the concern;
   a VM that cannot be changed is reported, the others go on; check mode stops here;
3. the VMs that can change while they run are reconfigured in waves of ``parallel`` tasks, started
   concurrently, each wave awaited with one property filter, which also brings back the VMs' new
   properties (``waves.reconfigure_wave``);
4. the VMs whose change needs them powered off (``allow_power_cycle``) go in batches of
   ``max_powered_off``: down, read again, planned again, reconfigured, powered back on whatever
   happened (``power_cycle.power_cycled``);
5. VMs whose edit was refused as concurrent (stale ``changeVersion``) are read again, planned again
   and retried, up to three attempts (``waves.with_retries``);
6. the concern looks at the VMs' hosts (the rule sets the serial ports need), naming them for the
   bulk modules, in one request.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmchannels.vsphere.plugins.module_utils.engine.power_cycle import (
    WOULD_POWER_CYCLE,
    PowerCycle,
    power_cycled,
)
from ansible_collections.vmchannels.vsphere.plugins.module_utils.engine.record import VmRun
from ansible_collections.vmchannels.vsphere.plugins.module_utils.engine.waves import (
    find_runs,
    name_vm_hosts,
    not_found,
    read_all,
    reconfigure_wave,
    with_retries,
)
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.errors import VSphereError, fault_to_error
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.vm_config import read_vms_properties


def ensure(client, concern, runs, options):
    """Make ``concern`` of every VM of ``runs`` (:class:`record.VmRun`, one per entry; those refused
    already have their ``error``) what its entry asks for, as ``options`` (:class:`record.RunOptions`)
    say. Each run records what happened: a VM that could not be changed has its ``error``, the
    others were changed all the same. Returns the warnings to show."""
    find_runs(client, runs)

    def attempt(pending):
        _read_and_plan(client, concern, pending, options.allow_power_cycle, options.check_mode)
        if options.check_mode:
            return []
        return _apply(client, concern, [run for run in pending if run.error is None], options)

    warnings = with_retries(runs, attempt)
    host_warnings = concern.inspect_hosts(client, runs, options.name_hosts)
    if options.name_hosts and not concern.names_hosts:
        name_vm_hosts(client, runs)
    for run in runs:
        warnings += (run.plan.warnings if run.plan is not None else []) + run.warnings
    return warnings + host_warnings


def ensure_one(client, concern, entry, options):
    """:func:`ensure` for the one VM of ``entry`` (the one-VM modules): ``(run, warnings)``."""
    run = VmRun(entry)
    return run, ensure(client, concern, [run], options)


def _read_and_plan(client, concern, runs, allow_power_cycle, check_mode=False):
    """Read ``runs`` (one request) and plan each; a VM that cannot be changed gets its error."""
    if not runs:
        return
    props, missing = read_all(client, [run.ref for run in runs], extra_paths=concern.extra_paths,
                              with_datastores=concern.with_datastores)
    for run in runs:
        run.props = props.get(run.ref._moId)
        run.error = missing.get(run.ref._moId) or (None if run.props is not None else not_found(run.ref))
        if run.error is None and "config.hardware.device" in run.props.missing:  # not readable (a permission)
            run.error = fault_to_error(run.props.missing["config.hardware.device"],
                                       "reading the devices of VM %s" % run.ref._moId)
        if run.error is None:
            try:
                run.plan = concern.plan(client, run, allow_power_cycle)
            except VSphereError as exc:
                run.error = exc
                run.plan = getattr(exc, "plan", None)  # what a VM that cannot be changed would need
        if run.error is None:
            run.after = run.plan.after
            if check_mode and run.plan.changes:
                run.applied = True
                if run.plan.blocked:
                    run.power_cycle = WOULD_POWER_CYCLE


def _apply(client, concern, runs, options):
    """Reconfigure ``runs`` (those with changes): in waves while they run, in power-cycled batches
    when they must be off. Returns the runs refused as concurrent edits."""
    changing = [run for run in runs if run.plan.changes]
    hot = [run for run in changing if not run.plan.blocked]
    cold = [run for run in changing if run.plan.blocked]
    retry = []
    destroy = len(changing) > 1 or bool(cold)  # filters of a long session die at once, not at logout
    for first in range(0, len(hot), options.parallel):
        retry += _reconfigure(client, concern, hot[first:first + options.parallel], options.timeout, destroy)
    for first in range(0, len(cold), options.max_powered_off):
        retry += _power_cycle(client, concern, cold[first:first + options.max_powered_off], options)
    return retry


def _reconfigure(client, concern, runs, timeout, destroy_filter):
    """One wave (``waves.reconfigure_wave``): the reconfigure task of every run, all awaited with one
    filter (which also brings back the VMs' properties). Returns the runs refused as concurrent edits."""
    outcomes = reconfigure_wave(client, [(run.props, run.plan.device_changes(), run.plan.what()) for run in runs],
                                timeout, destroy_filter)
    retry = []
    for run, (error, props) in zip(runs, outcomes):
        if error is not None:
            run.error = concern.explain(error, run)
            if error.kind == "concurrent":
                retry.append(run)
            continue
        run.applied = True
        run.final = props
        if props is not None:
            run.after = concern.state_after(props)
    return retry


def _read_after(client, concern, runs):
    """Read the VMs of ``runs`` again (one request): their state after the change."""
    if not runs:
        return
    props = read_vms_properties(client, [run.ref for run in runs])
    for run in runs:
        run.final = props.get(run.ref._moId)
        if run.final is not None:
            run.after = concern.state_after(run.final)


def _power_cycle(client, concern, runs, options):
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
        _read_and_plan(client, concern, off, allow_power_cycle=True)
        for run in off:
            if run.plan is not None:
                run.plan.warnings = said[run]
        changing = [run for run in off if run.error is None and run.plan.changes]
        for first in range(0, len(changing), options.parallel):
            retry.extend(_reconfigure(client, concern, changing[first:first + options.parallel], options.timeout,
                                      True))

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
            run.error = VSphereError("%s %s" % (cycle.note(), run.plan.change_note()), kind="power_state")
    _read_after(client, concern, restored)  # their power state and state now
    return retry
