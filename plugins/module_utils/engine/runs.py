# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Many VMs in one session: what the bulk modules share.

Shared by every many-VM run (``serial_port_run`` for the serial ports, :func:`run_many` for the VMCI
firewall): :func:`validate_entries` (the ``vms`` list, before any request), :func:`find_runs` (every
VM found at once), :func:`read_all` (every VM read in one request, the missing ones told apart),
:func:`reconfigure_wave` (a wave of reconfigure tasks started concurrently, awaited with one property
filter), :func:`with_retries` (concurrent edits read, planned and tried again), :func:`failure` (the
partial failure that carries the results). The serial-port run adds its power cycling on top (``serial_port_run``).

What ``vm_vmci_filter_bulk`` manages on each VM is a *concern*, an object that plans one VM's change
from what was read and turns the devices read back into its state (see :class:`Concern`);
:func:`run_many` runs it:

1. every VM is found at once (names with one inventory read, see ``inventory.find_vms``);
2. every VM is read in ONE ``RetrievePropertiesEx``;
3. each VM's change is planned and checked; a VM that cannot be changed is reported, the others go on;
4. the reconfigure tasks are started in waves of ``parallel``, the starts of a wave concurrently
   (:func:`start_all`), and each wave is awaited with one property filter, which also brings back the
   VMs' new devices;
5. VMs whose edit was refused as concurrent (stale ``changeVersion``) are read again in one request,
   planned again and retried, up to three times (:func:`with_retries`, the serial-port run's too);
6. the ESXi hosts that run the VMs are named, in one request for all of them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.vmchannels.vsphere.plugins.module_utils.engine.power_cycle import task_states
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.client import VSphereError
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.inventory import find_vms
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.options import vm_identity_errors
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.properties import ObjectProperties, retrieve
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.tasks import task_error, wait_for_tasks
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.vm_config import (
    VM_PATHS,
    read_vms_properties,
    start_reconfigure,
    vm_identity,
    vm_label,
)

try:
    from pyVmomi import vim
except ImportError:  # pragma: no cover - client.HAS_PYVMOMI reports it
    pass

CONCURRENT_RETRIES = 3
#: How many ``ReconfigVM_Task`` starts of a wave are in flight at once at most (each on its own
#: HTTPS connection of the session): enough to hide the round trips, few enough for any vCenter.
MAX_CONCURRENT_STARTS = 16


def validate_entries(params, entry_errors):
    """Every problem with ``vms`` and ``parallel`` of a bulk module, before any request.

    ``entry_errors(entry)`` returns the problems of what one entry asks for (it may normalize the
    entry in place); each is prefixed with the entry's position and VM."""
    errors = []
    if params["parallel"] < 1:
        errors.append("parallel must be at least 1, got %d" % params["parallel"])
    if not params["vms"]:
        errors.append("vms is empty: list at least one VM")
    seen = {}
    for index, vm in enumerate(params["vms"] or []):
        where = "vms[%d] (%s)" % (index, vm.get("name") or vm.get("uuid") or vm.get("moid"))
        identity = tuple((k, vm.get(k)) for k in ("name", "uuid", "moid", "datacenter", "folder"))
        if identity in seen:
            errors.append("%s: the VM is listed twice (also vms[%d])" % (where, seen[identity]))
        seen.setdefault(identity, index)
        errors += ["%s: %s" % (where, e) for e in vm_identity_errors(vm) + entry_errors(vm)]
    return errors


class Concern(object):
    """What a bulk module manages on each VM. Subclasses define:

    - ``noun``: what is changed, for messages ("the VMCI firewall");
    - :meth:`plan`: set ``run.before`` (the state as read), ``run.changes`` (true when something must
      change) and ``run.wanted`` (the state after the change), then check the change and return the
      device specs. A check that fails raises :class:`VSphereError` *after* setting them, so that a
      VM that cannot be changed still says how it differs;
    - :meth:`state_from_devices`: the state of ``config.hardware.device`` as read after the task;
    - :meth:`result_fields`: the concern's keys of the VM's result;
    - :meth:`diff_halves`: ``(before, after)`` of the VM for the diff.
    """

    noun = "the devices"
    extra_paths = ()

    def plan(self, client, run):
        raise NotImplementedError

    def explain(self, error, run):
        """Rewrite a refusal of the VM's reconfiguration (the default: as it is)."""
        return error

    def state_from_devices(self, devices):
        raise NotImplementedError

    def result_fields(self, run):
        raise NotImplementedError

    def diff_halves(self, run):
        raise NotImplementedError


class VmRun(object):
    """One VM of the bulk run: what was asked, what was read, what happened."""

    def __init__(self, entry):
        self.entry = entry
        self.ref = None
        self.props = None
        self.error = None
        self.before = None
        self.changes = None
        self.wanted = None
        self.after = None
        self.host = None

    @property
    def label(self):
        return vm_label(self.props)

    def result(self, concern):
        out = dict(vm=vm_identity(self.props) if self.props is not None else requested(self.entry),
                   changed=bool(self.changes) and self.error is None)
        out.update(concern.result_fields(self))
        if self.host is not None:
            out["esxi_host"] = self.host
        if self.error is not None:
            out.update(failed=True, msg=self.error.msg, error_kind=self.error.kind)
        return out


def requested(entry):
    """How the user named a VM, for results of VMs that were not found."""
    return dict((k, entry.get(k)) for k in ("name", "uuid", "moid") if entry.get(k))


def find_runs(client, entries, make_run):
    """One ``make_run(entry)`` per entry, in order, each VM found at once (``inventory.find_vms``):
    the run's ``ref``, or its ``error`` when the VM was not found."""
    runs = [make_run(entry) for entry in entries]
    for run, found in zip(runs, find_vms(client, entries)):
        if isinstance(found, VSphereError):
            run.error = found
        else:
            run.ref = found
    return runs


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
    bring them back). The serial-port run and the VMCI run both reconfigure through it."""
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


def _wave(client, concern, runs, timeout, check_mode):
    """Plan ``runs`` and reconfigure those that change (one :func:`reconfigure_wave`); returns the
    runs refused as concurrent edits."""
    changing = []
    for run in runs:
        try:
            specs = concern.plan(client, run)
        except VSphereError as exc:
            run.error = exc
            continue
        run.after = run.wanted
        if run.changes and not check_mode:
            changing.append((run, specs))
    outcomes = reconfigure_wave(client, [(run.props, specs, "reconfiguring %s of %s" % (concern.noun, run.label))
                                         for run, specs in changing], timeout)
    retry = []
    for (run, _specs), (error, props) in zip(changing, outcomes):
        if error is not None:
            run.error = concern.explain(error, run)
            run.after = None
            if run.error.kind == "concurrent":
                retry.append(run)
        elif props is not None:
            run.after = concern.state_from_devices(props.get("config.hardware.device"))
    return retry


def _name_hosts(client, runs):
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


def run_many(client, concern, entries, timeout, parallel, check_mode):
    """Make ``concern`` of every VM of ``entries`` what each entry asks for.

    Returns ``(runs, warnings)``: one :class:`VmRun` per entry, in order. A VM that could not be
    changed has its ``error``; the others were changed all the same.
    """
    runs = find_runs(client, entries, VmRun)

    def attempt(pending):
        props, missing = read_all(client, [run.ref for run in pending], extra_paths=concern.extra_paths)
        for run in pending:
            run.error = missing.get(run.ref._moId)
            run.props = props.get(run.ref._moId)
        readable = [run for run in pending if run.error is None]
        retry = []
        for first in range(0, len(readable), parallel):
            retry += _wave(client, concern, readable[first:first + parallel], timeout, check_mode)
        return retry

    warnings = with_retries(runs, attempt)
    _name_hosts(client, runs)
    return runs, warnings


def bulk_result(concern, runs, want_diff):
    """The module result of a bulk run: ``changed``, ``vms`` (one per entry), ``failed_vms`` and,
    with ``want_diff``, the diff of every VM whose state differs from what was asked - also of a
    VM that could not be changed (its ``after`` is then what was asked, not reached)."""
    results = [run.result(concern) for run in runs]
    result = dict(changed=any(r["changed"] for r in results), vms=results,
                  failed_vms=sum(1 for r in results if r.get("failed")))
    if want_diff:
        before, after = {}, {}
        for run in runs:
            if run.props is None or not run.changes:
                continue
            key = "%s (%s)" % (run.props.get("name"), run.props.moid)
            before[key], after[key] = concern.diff_halves(run)
        result["diff"] = dict(before=dict(vms=before), after=dict(vms=after))
    return result


def failure(results, check_mode):
    """The error that fails a bulk task some of whose VMs could not be changed, carrying ``results``."""
    failures = ["%s: %s" % (r["vm"].get("name") or r["vm"].get("moid") or r["vm"].get("uuid"), r["msg"])
                for r in results["vms"] if r.get("failed")]
    error = VSphereError("%d of %d VMs could not be changed (%s): %s" % (
        len(failures), len(results["vms"]), "check mode: nothing was changed" if check_mode else "the others were",
        " | ".join(failures)), kind="partial")
    error.result = results
    return error
