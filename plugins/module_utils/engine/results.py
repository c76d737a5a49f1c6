# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the VM-configuring modules return, from the run records (pure: values in, dicts out).

:func:`vm_result` is one VM's result, as the one-VM modules return it and as each entry of a bulk
module's ``vms`` (with ``bulk``); :func:`one_vm_result` is the whole result of a one-VM module (its
VM's error raised); :func:`bulk_result` the whole result of a bulk module, with its diff, or
:func:`failure`, the error that fails a bulk task some of whose VMs could not be changed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmchannels.vsphere.plugins.module_utils.engine.record import requested
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.errors import VSphereError
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.vm_config import vm_identity


def vm_result(concern, run, bulk=False):
    """The result of the VM of ``run``: ``vm`` (as read after the change when it was read again),
    ``changed``, the concern's fields, ``failed``/``msg``/``error_kind`` for a VM that could not be
    changed, ``power_cycle`` for one power cycled; with ``bulk``, also the concern's fields of the VM
    before the run and its ``esxi_host``."""
    props = run.final if run.final is not None else run.props
    out = dict(vm=vm_identity(props) if props is not None else requested(run.entry), changed=run.applied)
    out.update(concern.result_fields(run))
    if run.error is not None:
        out.update(failed=True, msg=run.error.msg, error_kind=run.error.kind)
    if run.power_cycle is not None:
        out["power_cycle"] = run.power_cycle
    if bulk:
        out.update(concern.before_fields(run))
        if run.host is not None:
            out["esxi_host"] = run.host
    return out


def one_vm_result(concern, run, want_diff):
    """The result of a one-VM module; the VM's error is raised (the module fails with its message)."""
    if run.error is not None:
        raise run.error
    result = vm_result(concern, run)
    if want_diff:
        result["diff"] = concern.diff(run)
    return result


def bulk_diff(concern, runs, check_mode):
    """``{before, after}`` of every VM that changes, keyed ``name (moid)``; in check mode (and for a
    concern whose ``diff_of_failed`` says so, always) also of every VM that differs but could not be
    changed (its ``after`` is then what was asked)."""
    before, after = {}, {}
    for run in runs:
        if run.plan is None or not run.plan.changes:
            continue
        if run.error is not None and not (check_mode or concern.diff_of_failed):
            continue
        key = "%s (%s)" % (run.props.get("name"), run.props.moid)
        before[key], after[key] = concern.diff_halves(run)
    return dict(before=dict(vms=before), after=dict(vms=after))


def bulk_result(concern, runs, want_diff, check_mode):
    """The result of a bulk module: ``changed``, ``vms`` (one per entry, in order), ``failed_vms`` and,
    with ``want_diff``, the diff (:func:`bulk_diff`). When some VMs could not be changed, the
    :func:`failure` that carries it is raised instead."""
    results = [vm_result(concern, run, bulk=True) for run in runs]
    result = dict(changed=any(r["changed"] for r in results), vms=results,
                  failed_vms=sum(1 for r in results if r.get("failed")))
    if want_diff:
        result["diff"] = bulk_diff(concern, runs, check_mode)
    if result["failed_vms"]:
        raise failure(runs, result, check_mode)
    return result


def failure(runs, result, check_mode):
    """The error that fails a bulk task some of whose VMs could not be changed, carrying ``result``.
    Its message names each failed VM (an entry refused before any request by its position, which its
    message starts with)."""
    failures = [run.error.msg if run.rejected else "%s: %s" % (_name(vm), run.error.msg)
                for run, vm in zip(runs, result["vms"]) if run.error is not None]
    error = VSphereError("%d of %d VMs could not be changed (%s): %s" % (
        len(failures), len(runs), "check mode: nothing was changed" if check_mode else "the others were",
        " | ".join(failures)), kind="partial")
    error.result = result
    return error


def _name(vm):
    return vm["vm"].get("name") or vm["vm"].get("moid") or vm["vm"].get("uuid")
