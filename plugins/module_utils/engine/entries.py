# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``vms`` list of the bulk modules, checked before any request (pure).

What concerns the whole task (``parallel``, an empty list) fails it: :func:`task_errors`. What
concerns one entry is that entry's failure, and the other VMs go on: :func:`entry_runs` gives one
:class:`record.VmRun` per entry, those refused carrying an ``invalid`` error whose message names the
entry (``vms[3] (web03): ...``): options of the wrong type or unknown, no VM named or more than one
way, the concern's own checks, a VM listed twice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.errors import UnsupportedError
from ansible_collections.vmchannels.vsphere.plugins.module_utils.engine.record import VmRun
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.errors import VSphereError
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.options import (
    VM_IDENTITY_MODULE_KWARGS,
    VM_IDENTITY_OPTIONS,
    vm_identity_errors,
)


def task_errors(params):
    """The problems of a bulk module's options that concern the whole task."""
    errors = []
    if params["parallel"] < 1:
        errors.append("parallel must be at least 1, got %d" % params["parallel"])
    if not params["vms"]:
        errors.append("vms is empty: list at least one VM")
    return errors


def entry_runs(entries, entry_spec, entry_errors):
    """One :class:`record.VmRun` per entry of ``entries``, in order. Each entry is checked against
    ``entry_spec`` (the argument spec of one entry; it must name its VM in exactly one way) and then
    by ``entry_errors(entry)`` (the problems that spec cannot express, the entry normalized); an
    entry with problems, or naming the same VM as an earlier entry, is refused: its run has the error
    that says so, every problem of the entry in one message."""
    validator = ArgumentSpecValidator(entry_spec, **VM_IDENTITY_MODULE_KWARGS)
    runs, seen = [], {}
    for index, entry in enumerate(entries):
        checked = validator.validate(entry)
        problems = [("unsupported option %s" % e) if isinstance(e, UnsupportedError) else e.error_message
                    for e in checked.errors]
        if not problems:
            entry = checked.validated_parameters
            problems = vm_identity_errors(entry) + entry_errors(entry)
        identity = tuple((k, entry.get(k)) for k in VM_IDENTITY_OPTIONS)  # alike in all: listed twice
        if identity in seen and any(entry.get(k) for k in ("name", "uuid", "moid")):
            problems.append("the VM is listed twice (also vms[%d])" % seen[identity])
        seen.setdefault(identity, index)
        run = VmRun(entry)
        if problems:
            run.rejected = True
            run.error = VSphereError("vms[%d] (%s): %s" % (
                index, entry.get("name") or entry.get("uuid") or entry.get("moid"), "; ".join(problems)), kind="invalid")
        runs.append(run)
    return runs
