# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine's round trips: finding VMs, reading them, reconfiguring them in waves, retrying.

:func:`find_runs` finds every VM of a run at once (names with one inventory read, see
``inventory.find_vms``); :func:`read_all` reads them in one request, the missing ones told apart;
:func:`reconfigure_wave` starts a wave of ``ReconfigVM_Task`` concurrently (:func:`start_all`) and
awaits it with one property filter, which also brings back the VMs' new properties;
:func:`with_retries` reads, plans and tries again the VMs whose edit was refused as concurrent (a
stale ``changeVersion``), up to :data:`CONCURRENT_RETRIES` attempts; :func:`name_vm_hosts` names the
ESXi hosts that run the VMs, in one request. ``engine.ensure`` runs these steps for every concern.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.vmchannels.vsphere.plugins.module_utils.engine.power_cycle import task_states
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.errors import VSphereError
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.inventory import find_vms
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.properties import ObjectProperties, retrieve
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.tasks import task_error, wait_for_tasks
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.vm_config import (
    VM_PATHS,
    read_vms_properties,
    start_reconfigure,
)

try:
    from pyVmomi import vim
except ImportError:  # pragma: no cover - client.HAS_PYVMOMI reports it
    pass

CONCURRENT_RETRIES = 3
#: How many ``ReconfigVM_Task`` starts of a wave are in flight at once at most (each on its own
#: HTTPS connection of the session): enough to hide the round trips, few enough for any vCenter.
MAX_CONCURRENT_STARTS = 16


def find_runs(client, runs):
    """Find the VM of every run of ``runs`` not refused already, all at once
    (``inventory.find_vms``): the run's ``ref``, or its ``error`` when the VM was not found."""
    pending = [run for run in runs if run.error is None]
    for run, found in zip(pending, find_vms(client, [run.entry for run in pending])):
        if isinstance(found, VSphereError):
            run.error = found
        else:
            run.ref = found


def not_found(ref):
    return VSphereError("No virtual machine with moid %s exists (or the user cannot see it)." % ref._moId,
                        kind="not_found")


def read_all(client, refs, **read_options):
    """Read ``refs`` in one request (``vm_config.read_vms_properties`` with ``read_options``):
    ``({moid: properties}, {moid: error})``. When one of them no longer exists (the whole read fails
    on vCenter), the halves are read again, down to the missing VMs: about ``2 log2(n)`` requests per
    missing VM instead of one per VM."""
    try:
        return read_vms_properties(client, refs, **read_options), {}
    except VSphereError as exc:
        if exc.kind != "not_found":
            raise
    if len(refs) == 1:
        return {}, {refs[0]._moId: not_found(refs[0])}
    found, missing = {}, {}
    half = len(refs) // 2
    for part in (refs[:half], refs[half:]):
        part_found, part_missing = read_all(client, part, **read_options)
        found.update(part_found)
        missing.update(part_missing)
    return found, missing


def start_all(client, changes):
    """Start one ``ReconfigVM_Task`` per ``(props, device_changes, what)`` of ``changes``
    (``vm_config.start_reconfigure``), at most :data:`MAX_CONCURRENT_STARTS` at once on the session's
    one stub: each start is a round trip, and a wave of hundreds of them one after another spends its
    time waiting for the server. pyVmomi's stub is thread-safe (each request takes a connection of
    its pool, or opens one); the pool is made large enough to keep one connection per thread.

    Returns one item per change, in order: the task, or the :class:`VSphereError` that refused it
    (the others start all the same). Any other error (a lost connection) stops the starts not yet
    sent and is raised, the first in order, once those in flight have answered."""
    if len(changes) < 2:
        return [_start_one(change) for change in changes]
    workers = min(len(changes), MAX_CONCURRENT_STARTS)
    stub = client.stub
    if getattr(stub, "poolSize", workers) < workers:
        stub.poolSize = workers
    stop = threading.Event()

    def start(change):
        if stop.is_set():
            return None
        try:
            return _start_one(change)
        except BaseException:
            stop.set()
            raise

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(start, change) for change in changes]
    for future in futures:  # the first error in order, as when they were started one by one
        if future.exception() is not None:
            raise future.exception()
    return [future.result() for future in futures]


def _start_one(change):
    props, device_changes, what = change
    try:
        return start_reconfigure(props, device_changes, what)
    except VSphereError as exc:
        return exc


def reconfigure_wave(client, changes, timeout, destroy_filter=True):
    """One wave of reconfigurations: one ``ReconfigVM_Task`` per ``(props, device_changes, what)`` of
    ``changes``, started concurrently (:func:`start_all`), all awaited with ONE property filter, which
    also brings back the VMs' properties (``vm_config.VM_PATHS``).

    Returns one ``(error, props)`` per item, in order: ``error`` is a :class:`VSphereError` when the
    task could not start, failed (kind ``concurrent`` for a stale ``changeVersion``) or did not finish
    within ``timeout`` (kind ``timeout``: it still runs), else ``None``; ``props`` are the VM's
    properties after the task (read again, in one request for the wave, when the filter did not
    bring them back)."""
    outcomes = [None] * len(changes)
    started = []
    for index, task in enumerate(start_all(client, changes)):
        if isinstance(task, VSphereError):
            outcomes[index] = (task, None)
        else:
            started.append((index, task))
    if not started:
        return outcomes
    tasks = [task for _index, task in started]
    try:
        outcome = wait_for_tasks(client, tasks, timeout, destroy_filter=destroy_filter,
                                 watch=[(changes[index][0].obj, list(VM_PATHS)) for index, _task in started],
                                 what=changes[started[0][0]][2] if len(tasks) == 1
                                 else "reconfiguring %d VMs" % len(tasks))
        unfinished = set()
    except VSphereError as exc:
        if exc.kind != "timeout":
            raise
        outcome, unfinished = task_states(client, tasks)
    reread = []
    for index, task in started:
        props, _device_changes, what = changes[index]
        if task._moId in unfinished:
            outcomes[index] = (VSphereError(
                "%s did not finish within %s seconds (timeout). It is still running in vSphere and may still apply "
                "the change: check the VM before running the task again, or raise timeout."
                % (what[:1].upper() + what[1:], timeout), kind="timeout"), None)
            continue
        error = task_error(outcome, task, what)
        if error is not None:
            outcomes[index] = (error, None)
            continue
        watched = outcome.watched.get(props.moid)
        if outcome.watched_after_completion and watched and "config.hardware.device" in watched:
            outcomes[index] = (None, ObjectProperties(props.obj, watched))
        else:
            reread.append(index)
    if reread:
        after = read_vms_properties(client, [changes[index][0].obj for index in reread])
        for index in reread:
            outcomes[index] = (None, after.get(changes[index][0].moid))
    return outcomes


def with_retries(runs, attempt):
    """Run ``attempt(pending)`` (read, plan and change the VMs of ``pending``; it returns the runs
    refused as concurrent edits, a stale ``changeVersion``) on the runs found, then again on those it
    returned, up to ``CONCURRENT_RETRIES`` attempts. Returns the warnings that say so."""
    pending = [run for run in runs if run.error is None]
    warnings = []
    for number in range(1, CONCURRENT_RETRIES + 1):
        retry = attempt(pending) if pending else []
        if not retry or number == CONCURRENT_RETRIES:
            break
        warnings.append(_retry_warning(retry, len(runs), number + 1))
        for run in retry:
            run.error = None
        pending = retry
    return warnings


def _retry_warning(retry, total, attempt):
    if total == 1:
        return "%s was changed by someone else during the run; read it again (attempt %d)." % (retry[0].label, attempt)
    return "%d VMs were changed by someone else during the run (%s); read them again (attempt %d)." % (
        len(retry), ", ".join(sorted(run.props.get("name") for run in retry)), attempt)


def name_vm_hosts(client, runs):
    """Give every VM that was read the host that runs it (no name when the hosts cannot be read)."""
    refs, seen = [], set()
    for run in runs:
        host = run.props.get("runtime.host") if run.props is not None else None
        if host is not None and host._moId not in seen:
            seen.add(host._moId)
            refs.append(host)
    if not refs:
        return
    try:
        names = dict((props.moid, props.get("name")) for props in retrieve(
            client.content, refs, {vim.HostSystem: ["name"]}, what="reading the names of %d ESXi host(s)" % len(refs)))
    except VSphereError:
        return
    for run in runs:
        host = run.props.get("runtime.host") if run.props is not None else None
        if host is not None and host._moId in names:
            run.host = names[host._moId]
