# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Power cycling running VMs for a change that needs them powered off, without leaving them off.

:func:`power_cycled` takes a batch of running VMs down (a guest shutdown through VMware Tools when
they run, with a hard power-off when the guest refuses or has not shut down within ``timeout``;
otherwise a power-off), lets the caller apply its change to those that are off, and then powers back
on every VM it took down, whatever happened in between: a refused change, a task that outlasted
``timeout``, a lost connection. What it could not restore is said in the VM's :class:`PowerCycle`:
the state the VM is in and why, for the caller's message.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.errors import (
    CONNECTION_ERRORS,
    VSphereError,
    fault_to_error,
    lost_connection_error,
)
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.properties import retrieve
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.tasks import (
    TaskOutcome,
    task_error,
    wait_for_tasks,
)
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.vm_config import wait_for_power_state

try:
    from pyVmomi import vim, vmodl
except ImportError:  # pragma: no cover - client.HAS_PYVMOMI reports it
    pass

#: How a VM was taken down (the ``power_cycle`` result value).
GUEST_SHUTDOWN = "guest shutdown"
POWER_OFF = "power off"
POWER_OFF_AFTER_GUEST = "power off after guest shutdown timeout"
#: The ``power_cycle`` value in check mode.
WOULD_POWER_CYCLE = "would power cycle"


class PowerCycle(object):
    """One VM's power cycle.

    ``how`` is how it went down (``None``: it did not). ``error`` is set when it could not be taken
    down (so nothing was changed); ``restored`` says it was powered back on; ``stranded`` is the
    message that says in which state it was left and why, when it was not; ``warnings`` are
    what the user should know although all went well (a fallback to a hard power-off).
    """

    def __init__(self, vm, label, tools_running):
        self.vm = vm
        self.label = label
        self.tools_running = tools_running
        self.how = None
        self.error = None
        self.restored = False
        self.stranded = None
        self.warnings = []
        self._asked = False  # a power-off or a guest shutdown was requested
        self._guest_timed_out = False

    @property
    def down(self):
        return self.how is not None

    def note(self):
        """What happened to the VM's power, for a message about a change that went wrong."""
        if self.restored:
            return "%s, powered off for the change, was powered back on." % self.label
        return self.stranded or ""


def power_cycled(client, cycles, timeout, apply):
    """Take the VMs of ``cycles`` (running VMs) down, call ``apply(down)`` with the cycles of the VMs
    that are now off, and power all of those back on, whatever ``apply`` did.

    ``apply`` records its per-VM outcome itself; it may raise. A lost connection (in any step) is
    raised again as a :class:`VSphereError` whose message says what became of every VM; any other
    exception of ``apply`` is raised again after the VMs were powered back on.
    """
    try:
        _take_down(client, cycles, timeout)
        down = [c for c in cycles if c.down]
        if down:
            apply(down)
    except CONNECTION_ERRORS as exc:
        _recover(client, cycles, timeout, exc)
        raise lost_connection_error(client, exc, _notes(cycles))
    except VSphereError as exc:  # the run cannot go on (for example the session ended)
        _power_on(client, [c for c in cycles if c.down], timeout)
        if _notes(cycles):
            exc.msg += " " + _notes(cycles)
        raise
    except Exception:
        _power_on(client, [c for c in cycles if c.down], timeout)
        raise
    _power_on(client, [c for c in cycles if c.down], timeout)


def _notes(cycles):
    """What became of each VM's power, for the message of a run that stopped."""
    notes = []
    for cycle in cycles:
        if cycle.note():
            notes.append(cycle.note())
        elif cycle._asked and not cycle.down:
            notes.append("%s may be going down: a %s was requested for the change before the run stopped; check it "
                         "and power it on." % (cycle.label, "guest shutdown" if cycle.tools_running else "power-off"))
    return " ".join(notes)


# -- down --------------------------------------------------------------------------------------

def _take_down(client, cycles, timeout):
    hard = [c for c in cycles if not c.tools_running]
    guests = [c for c in cycles if c.tools_running]
    asked = []
    for cycle in guests:
        try:
            cycle.vm.ShutdownGuest()
        except vmodl.MethodFault as fault:  # Tools answered but refused: fall back to a power-off
            cycle.warnings.append("The guest shutdown of %s was refused (%s); powering it off instead."
                                  % (cycle.label, fault_to_error(fault, "shutting down the guest").msg))
            hard.append(cycle)
            continue
        cycle._asked = True
        asked.append(cycle)
    deadline = time.monotonic() + timeout
    for cycle in asked:
        remaining = max(1, int(deadline - time.monotonic()))
        try:
            wait_for_power_state(client, cycle.vm, "poweredOff", remaining, "the guest shutdown of %s" % cycle.label)
        except VSphereError as exc:
            if exc.kind != "timeout":
                raise
            cycle.warnings.append("The guest of %s did not shut down within %s seconds (timeout); powering it off instead."
                                  % (cycle.label, timeout))
            cycle._guest_timed_out = True
            hard.append(cycle)
            continue
        cycle.how = GUEST_SHUTDOWN
    if hard:
        _power_off(client, hard, timeout)


def _power_off(client, cycles, timeout):
    started = _start(cycles, "PowerOffVM_Task", "powering off")
    for cycle in started:
        cycle._asked = True
    outcome, unfinished = _wait(client, started, timeout, "powering off %d VMs" % len(started))
    for cycle, task in started.items():
        if task._moId in unfinished:
            cycle.error = VSphereError(
                "%s is still powered on, but the task powering it off for the change (%s) did not finish within "
                "%s seconds (timeout) and is still running in vSphere: the VM will be powered off when it ends, "
                "with nothing changed. Power it on again then, or run the task again with a higher timeout."
                % (cycle.label, task._moId, timeout), kind="timeout")
            continue
        error = task_error(outcome, task, "powering off %s" % cycle.label)
        if error is None:
            cycle.how = POWER_OFF_AFTER_GUEST if cycle._guest_timed_out else POWER_OFF
        elif cycle.tools_running and isinstance(error.fault, vim.fault.InvalidPowerState):
            cycle.how = GUEST_SHUTDOWN  # the guest got there first
        else:
            error.msg += " Nothing was changed; %s was not powered off." % cycle.label
            cycle.error = error


# -- up ----------------------------------------------------------------------------------------

def _power_on(client, cycles, timeout, retry_after_lost_connection=True):
    """Power on every VM of ``cycles``; what fails is said in the cycle's ``stranded``."""
    if not cycles:
        return
    try:
        started = _start(cycles, "PowerOnVM_Task", "powering back on")
        outcome, unfinished = _wait(client, started, timeout, "powering %d VMs back on" % len(started))
    except CONNECTION_ERRORS as exc:
        if retry_after_lost_connection:
            _recover(client, cycles, timeout, exc)
        else:
            for cycle in cycles:
                cycle.stranded = (
                    "%s is powered off: it was powered off for the change, and the connection to %s:%s was lost "
                    "while powering it back on (%s). Power it on." % (cycle.label, client.hostname, client.port, exc))
        return
    for cycle, task in started.items():
        if task._moId in unfinished:
            cycle.stranded = (
                "%s is not powered on yet: it was powered off for the change, and the task powering it back on "
                "(%s) did not finish within %s seconds (timeout); it is still running in vSphere."
                % (cycle.label, task._moId, timeout))
            continue
        error = task_error(outcome, task, "powering %s back on" % cycle.label)
        if error is None:
            cycle.restored = True
        else:
            cycle.stranded = ("%s is powered off: it was powered off for the change, and powering it back on failed "
                              "(%s). Power it on." % (cycle.label, error.msg))
    for cycle in cycles:
        if cycle not in started and not cycle.stranded:
            cycle.stranded = "%s is powered off: it was powered off for the change and could not be powered back on." \
                % cycle.label


def _recover(client, cycles, timeout, exc):
    """After a lost connection: read the power state of the VMs a power operation was asked for (a
    new connection) and power on those that are off, once."""
    asked = [c for c in cycles if c._asked]
    if not asked:
        return
    try:
        states = dict((p.moid, p.get("runtime.powerState")) for p in retrieve(
            client.content, [c.vm for c in asked], {vim.VirtualMachine: ["runtime.powerState"]},
            what="reading the power state of %d VMs" % len(asked)))
    except (VSphereError,) + CONNECTION_ERRORS as again:
        for cycle in asked:
            cycle.stranded = (
                "%s may be powered off: a power-off was requested for the change, then the connection to %s:%s was "
                "lost (%s) and its power state could not be read again (%s). Check it and power it on."
                % (cycle.label, client.hostname, client.port, exc, again))
        return
    off = []
    for cycle in asked:
        state = states.get(cycle.vm._moId)
        if state == "poweredOff":
            cycle.how = cycle.how or POWER_OFF  # its power-off went through, though its answer was lost
            off.append(cycle)
        elif state == "poweredOn" and cycle.down:
            cycle.restored = True  # the power-on went through, though its answer was lost
        elif state == "poweredOn":
            cycle.stranded = ("%s is powered on: the connection was lost before it went down, so nothing was "
                              "changed on it%s." % (cycle.label, " (its guest may still shut down: check it)"
                                                    if cycle.tools_running else ""))
    _power_on(client, off, timeout, retry_after_lost_connection=False)
    for cycle in asked:
        if cycle.restored:
            cycle.warnings.append("The connection to %s:%s was lost while %s was powered off for the change (%s); "
                                  "its power state was read again and it was powered back on."
                                  % (client.hostname, client.port, cycle.label, exc))


# -- tasks -------------------------------------------------------------------------------------

def _start(cycles, method, doing):
    """Start ``method`` on the VM of each cycle: ``{cycle: task}``; a refusal is the cycle's error."""
    started = {}
    for cycle in cycles:
        try:
            started[cycle] = getattr(cycle.vm, method)()
        except vmodl.MethodFault as fault:
            error = fault_to_error(fault, "%s %s" % (doing, cycle.label))
            if method == "PowerOnVM_Task":
                cycle.stranded = ("%s is powered off: it was powered off for the change, and powering it back on was "
                                  "refused (%s). Power it on." % (cycle.label, error.msg))
            else:
                cycle.error = error
    return started


def _wait(client, started, timeout, what):
    """Wait for the tasks of ``started``; returns the outcome and the moids of the tasks still
    running at the timeout (read again in one request)."""
    tasks = list(started.values())
    if not tasks:
        return None, set()
    try:
        return wait_for_tasks(client, tasks, timeout, what=what, destroy_filter=len(tasks) > 1), set()
    except VSphereError as exc:
        if exc.kind != "timeout":
            raise
    return task_states(client, tasks)


def task_states(client, tasks):
    """The outcome of ``tasks`` read now (one request), and the moids of those still running."""
    outcome = TaskOutcome()
    for props in retrieve(client.content, tasks, {vim.Task: ["info.state", "info.error"]},
                          what="reading %d vSphere tasks" % len(tasks)):
        outcome.state[props.moid] = props.get("info.state")
        outcome.error[props.moid] = props.get("info.error")
    return outcome, set(t._moId for t in tasks if outcome.state.get(t._moId) not in ("success", "error"))
