# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading a VM's configuration in one request and reconfiguring it in one task.

Shared by every module that edits VM devices: :func:`read_vm` fetches all a run needs in one
``RetrievePropertiesEx``; :func:`reconfigure` sends one ``ReconfigVM_Task`` carrying the
``changeVersion`` that was read (so a concurrent edit is refused, not lost), waits for it through
the update mechanism and returns the VM's properties as they are after the task.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmchannels.vsphere.plugins.module_utils.client import VSphereError, fault_to_error
from ansible_collections.vmchannels.vsphere.plugins.module_utils.properties import (
    ObjectProperties,
    retrieve,
    retrieve_one,
)
from ansible_collections.vmchannels.vsphere.plugins.module_utils.tasks import (
    task_error,
    wait_for_property,
    wait_for_tasks,
)

try:
    from pyVmomi import vim, vmodl
except ImportError:  # pragma: no cover - client.HAS_PYVMOMI reports it
    pass

#: What every VM read includes: identity, devices, power and the change version.
VM_PATHS = (
    "name",
    "config.uuid",
    "config.instanceUuid",
    "config.version",
    "config.changeVersion",
    "config.hardware.device",
    "runtime.powerState",
    "runtime.host",
    "guest.toolsRunningStatus",
)


def read_vm(client, vm, extra_paths=()):
    """The properties of :data:`VM_PATHS` (plus ``extra_paths``) of ``vm`` in one request."""
    try:
        props = retrieve_one(client.content, vm, list(VM_PATHS) + list(extra_paths), what="reading VM %s" % vm._moId)
    except VSphereError as exc:
        if exc.kind != "not_found":
            raise
        raise VSphereError("No virtual machine with moid %s exists (or the user cannot see it)." % vm._moId,
                           kind="not_found")
    if props.get("config.hardware.device") is None and "config.hardware.device" in props.missing:
        raise fault_to_error(props.missing["config.hardware.device"], "reading the devices of VM %s" % vm._moId)
    return props


def vm_identity(props):
    """The VM as modules return it."""
    return dict(name=props.get("name"), moid=props.moid, uuid=props.get("config.uuid"),
                instance_uuid=props.get("config.instanceUuid"), power_state=props.get("runtime.powerState"))


def vm_label(props):
    return "VM '%s' (%s)" % (props.get("name"), props.moid)


def reconfigure(client, props, device_changes, timeout, what):
    """Apply ``device_changes`` to the VM read as ``props`` in one ``ReconfigVM_Task``.

    Returns the VM's properties (:data:`VM_PATHS`) after the task. A stale ``changeVersion``
    raises :class:`VSphereError` of kind ``concurrent``; callers may read again and retry.
    """
    vm = props.obj
    spec = vim.vm.ConfigSpec(deviceChange=list(device_changes))
    if props.get("config.changeVersion"):
        spec.changeVersion = props.get("config.changeVersion")
    try:
        task = vm.ReconfigVM_Task(spec=spec)
    except vmodl.MethodFault as fault:
        raise fault_to_error(fault, what)
    outcome = wait_for_tasks(client, [task], timeout, watch=[(vm, list(VM_PATHS))], what=what)
    error = task_error(outcome, task, what)
    if error is not None:
        raise error
    if outcome.watched_after_completion and vm._moId in outcome.watched:
        return ObjectProperties(vm, outcome.watched[vm._moId])
    return read_vm(client, vm)


def wait_for_power_state(client, vm, wanted, timeout, what):
    """Wait until ``runtime.powerState`` of ``vm`` is ``wanted`` (a guest shutdown has no task)."""
    return wait_for_property(client, vm, "runtime.powerState", wanted, timeout, what)


def power_task(client, vm, operation, timeout, what):
    """Run ``PowerOnVM_Task`` or ``PowerOffVM_Task`` and wait for it."""
    try:
        task = getattr(vm, operation)()
    except vmodl.MethodFault as fault:
        raise fault_to_error(fault, what)
    outcome = wait_for_tasks(client, [task], timeout, what=what)
    error = task_error(outcome, task, what)
    if error is not None:
        raise error


def read_vms(client, vms, extra_paths=()):
    """Bulk form of :func:`read_vm`: many VMs in one request, by moid."""
    results = retrieve(client.content, list(vms), {vim.VirtualMachine: list(VM_PATHS) + list(extra_paths)},
                       what="reading %d VMs" % len(vms))
    return dict((p.moid, p) for p in results)
