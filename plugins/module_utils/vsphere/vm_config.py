# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading a VM's configuration in one request and reconfiguring it in one task.

Shared by every module that edits VM devices: :func:`read_vm_properties` fetches all a run needs
in one ``RetrievePropertiesEx`` (:func:`read_vms_properties` for many VMs at once);
:func:`start_reconfigure` sends one ``ReconfigVM_Task`` carrying the ``changeVersion`` that was read
(so a concurrent edit is refused, not lost): the one place a VM's config spec is built. The engine
(``engine.waves.reconfigure_wave``) awaits the tasks and brings the VMs' properties back.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.errors import VSphereError, fault_to_error
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.inventory import find_vm
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.properties import (
    retrieve,
    retrieve_one,
    traversal,
)
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.tasks import wait_for_property

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


def read_vm_properties(client, vm, extra_paths=()):
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


def find_and_read_vm(client, params):
    """Find the VM the identity options of ``params`` name (``inventory.find_vm``) and read its
    properties (identity, devices, power state, changeVersion) in one request. Returns (vm, props)."""
    vm = find_vm(client, name=params.get("name"), uuid=params.get("uuid"), moid=params.get("moid"),
                 datacenter=params.get("datacenter"), folder=params.get("folder"))
    return vm, read_vm_properties(client, vm)


def vm_identity(props):
    """The VM as modules return it."""
    return dict(name=props.get("name"), moid=props.moid, uuid=props.get("config.uuid"),
                instance_uuid=props.get("config.instanceUuid"), power_state=props.get("runtime.powerState"))


def vm_label(props):
    return "VM '%s' (%s)" % (props.get("name"), props.moid)


def start_reconfigure(props, device_changes, what):
    """Start one ``ReconfigVM_Task`` applying ``device_changes`` to the VM read as ``props``, with
    the ``changeVersion`` that was read; returns the task. (The one place a VM's config spec is built.)"""
    spec = vim.vm.ConfigSpec(deviceChange=list(device_changes))
    if props.get("config.changeVersion"):
        spec.changeVersion = props.get("config.changeVersion")
    try:
        return props.obj.ReconfigVM_Task(spec=spec)
    except vmodl.MethodFault as fault:
        raise fault_to_error(fault, what)


def read_vms_properties(client, vms, extra_paths=(), with_datastores=False):
    """Bulk form of :func:`read_vm_properties`: many VMs in one request; ``{moid: properties}``.

    ``with_datastores`` also follows each VM's resource pool to its cluster or host (its compute
    resource) and reads the names of that compute resource's datastores, in the same request: the
    datastores the VM can use. Each VM's properties then carry ``datastore_names`` (a frozenset;
    ``None`` when it could not be read, for example for a template, which has no resource pool).
    """
    paths = {vim.VirtualMachine: list(VM_PATHS) + list(extra_paths)}
    select = None
    if with_datastores:
        paths[vim.VirtualMachine].append("resourcePool")
        paths.update({vim.ResourcePool: ["owner"], vim.ComputeResource: ["datastore"], vim.Datastore: ["name"]})
        select = [traversal("vm_pool", vim.VirtualMachine, "resourcePool", "pool_owner"),
                  traversal("pool_owner", vim.ResourcePool, "owner", "owner_datastores"),
                  traversal("owner_datastores", vim.ComputeResource, "datastore")]
    results = retrieve(client.content, list(vms), paths, select=select, what="reading %d VMs" % len(vms))
    by_moid = dict((p.moid, p) for p in results)
    vms_out = dict((p.moid, p) for p in results if isinstance(p.obj, vim.VirtualMachine))
    if with_datastores:
        for props in vms_out.values():
            pool = by_moid.get(getattr(props.get("resourcePool"), "_moId", None))
            owner = by_moid.get(getattr((pool or {}).get("owner"), "_moId", None))
            stores = (owner or {}).get("datastore")
            names = [by_moid[d._moId].get("name") for d in stores or [] if d._moId in by_moid]
            props.datastore_names = frozenset(n for n in names if n) if names else None
    return vms_out


def wait_for_power_state(client, vm, wanted, timeout, what):
    """Wait until ``runtime.powerState`` of ``vm`` is ``wanted`` (a guest shutdown has no task)."""
    return wait_for_property(client, vm, "runtime.powerState", wanted, timeout, what)
