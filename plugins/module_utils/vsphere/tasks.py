# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Waiting for vSphere tasks through the PropertyCollector's update mechanism.

One filter watches ``info.state`` and ``info.error`` of every task given (a bulk run waits for all
its reconfigure tasks at once) and, optionally, properties of other objects: a module that also
watches the VM it reconfigured gets the VM's new state in the same updates, without another read.
``WaitForUpdatesEx`` blocks on the server until something changes: no sleep-and-poll loop.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.errors import VSphereError, fault_to_error

try:
    from pyVmomi import vim, vmodl
except ImportError:  # pragma: no cover - client.HAS_PYVMOMI reports it
    pass

_DONE = ("success", "error")


class TaskOutcome(object):
    """What :func:`wait_for_tasks` saw: per task moid its state and error; per watched object moid
    its latest property values; and whether those were read after all tasks ended."""

    def __init__(self):
        self.state = {}
        self.error = {}
        self.watched = {}
        self.watched_after_completion = False


def _apply(outcome, obj_update):
    moid = obj_update.obj._moId
    is_task = isinstance(obj_update.obj, vim.Task)
    for change in obj_update.changeSet or []:
        if is_task:
            if change.name == "info.state":
                outcome.state[moid] = change.val
            elif change.name == "info.error":
                outcome.error[moid] = change.val
            elif change.name == "info" and change.val is not None:
                outcome.state[moid] = change.val.state
                outcome.error[moid] = change.val.error
        else:
            values = outcome.watched.setdefault(moid, {})
            if change.op == "remove":
                values.pop(change.name, None)
            else:
                values[change.name] = change.val


#: How many times one wait starts again on a renewed session before it gives up.
_SESSION_RESTARTS = 3


def _wait(client, object_set, prop_set, outcome, is_done, timeout, what, destroy_filter=False):
    """Create one filter, feed its updates to ``outcome`` until ``is_done(outcome)`` or timeout.

    The filter lives on the client's collector, which lives with the session. When the session was
    renewed meanwhile (it ended: an expiry, a restart, an administrator; see
    :meth:`VSphereClient.wait_collector`), the collector and its filter are gone: the wait starts
    again on the new session with a new collector and filter, whose first update reads the state of
    every watched object afresh, so nothing that happened meanwhile is missed.
    """
    deadline = time.monotonic() + timeout
    restarts = 0
    while True:
        generation = client.session_generation
        try:
            return _wait_on_session(client, object_set, prop_set, outcome, is_done, deadline, timeout, what,
                                    destroy_filter)
        except VSphereError:
            if client.session_generation == generation or restarts >= _SESSION_RESTARTS:
                raise
            restarts += 1


def _wait_on_session(client, object_set, prop_set, outcome, is_done, deadline, timeout, what, destroy_filter):
    pc_types = vmodl.query.PropertyCollector
    collector = client.wait_collector()
    try:
        flt = collector.CreateFilter(pc_types.FilterSpec(objectSet=object_set, propSet=prop_set), partialUpdates=False)
    except vmodl.MethodFault as fault:
        raise fault_to_error(fault, "watching %s" % what)
    try:
        version = ""
        first = True
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise VSphereError(
                    "%s did not finish within %s seconds. It may still complete in vSphere: check the "
                    "task list before retrying, or raise timeout." % (what[:1].upper() + what[1:], timeout),
                    kind="timeout")
            options = pc_types.WaitOptions(maxWaitSeconds=max(1, min(int(remaining), 60)))
            try:
                update = collector.WaitForUpdatesEx(version, options)
            except vmodl.MethodFault as fault:
                raise fault_to_error(fault, "waiting for %s" % what)
            if update is not None:
                version = update.version
                for filter_update in update.filterSet or []:
                    if filter_update.filter != flt:
                        continue
                    for obj_update in filter_update.objectSet or []:
                        _apply(outcome, obj_update)
            if is_done(outcome):
                # The first update is one consistent snapshot: taken after the tasks had ended.
                outcome.watched_after_completion = first and update is not None
                return outcome
            first = False
    finally:
        if destroy_filter:
            try:
                flt.DestroyPropertyFilter()
            except vmodl.MethodFault:
                pass


def wait_for_tasks(client, tasks, timeout, watch=None, destroy_filter=False, what="the vSphere task"):
    """Wait until every task of ``tasks`` has ended, at most ``timeout`` seconds.

    ``watch`` is a list of ``(object, [property paths])`` to follow in the same updates. Raises
    :class:`VSphereError` (kind ``timeout``) when the tasks do not end in time; task faults are
    *returned* in ``outcome.error`` so bulk callers can report each object. The filter belongs to
    collector :meth:`VSphereClient.wait_collector` gives and dies with it or with the session;
    ``destroy_filter`` removes it at once (one more request), which clients that wait many times
    should ask for.
    """
    pc_types = vmodl.query.PropertyCollector
    watch = list(watch or [])
    object_set = [pc_types.ObjectSpec(obj=t, skip=False) for t in tasks]
    object_set += [pc_types.ObjectSpec(obj=o, skip=False) for o, dummy in watch]
    prop_set = [pc_types.PropertySpec(type=vim.Task, pathSet=["info.state", "info.error"])]
    by_type = {}
    for obj, paths in watch:
        by_type.setdefault(type(obj), set()).update(paths)
    prop_set += [pc_types.PropertySpec(type=t, pathSet=sorted(p)) for t, p in by_type.items()]
    moids = [t._moId for t in tasks]

    def done(outcome):
        return all(outcome.state.get(m) in _DONE for m in moids)

    return _wait(client, object_set, prop_set, TaskOutcome(), done, timeout, what, destroy_filter)


def wait_for_property(client, obj, path, wanted, timeout, what, destroy_filter=True):
    """Wait until ``path`` of ``obj`` equals ``wanted`` (for changes that have no task, such as a
    guest shutdown)."""
    pc_types = vmodl.query.PropertyCollector
    object_set = [pc_types.ObjectSpec(obj=obj, skip=False)]
    prop_set = [pc_types.PropertySpec(type=type(obj), pathSet=[path])]

    def done(outcome):
        return outcome.watched.get(obj._moId, {}).get(path) == wanted

    return _wait(client, object_set, prop_set, TaskOutcome(), done, timeout, what, destroy_filter)


def task_error(outcome, task, what):
    """The :class:`VSphereError` for a task of ``outcome`` that failed, or ``None``."""
    if outcome.state.get(task._moId) != "error":
        return None
    fault = outcome.error.get(task._moId)
    fault = getattr(fault, "fault", None) or fault
    if fault is None:
        return VSphereError("%s failed without a reason." % what, kind="task")
    error = fault_to_error(fault, what)
    if error.kind == "fault":
        error.kind = "task"
    return error
