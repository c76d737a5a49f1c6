# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Property reads through the PropertyCollector: N properties of M objects in one request.

Never read a managed object's properties attribute by attribute (``vm.config.hardware``): each
attribute access is a round trip. Ask :func:`retrieve` for everything a run needs at once.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.errors import VSphereError, fault_to_error

try:
    from pyVmomi import vim, vmodl
except ImportError:  # pragma: no cover - client.HAS_PYVMOMI reports it
    pass


class ObjectProperties(dict):
    """The properties read for one managed object: a dict of ``path -> value`` plus the object.

    A property that is unset on the server (or could not be read) is absent; ``missing`` maps the
    paths vSphere refused to read to their fault.
    """

    def __init__(self, obj, values, missing=None):
        super(ObjectProperties, self).__init__(values)
        self.obj = obj
        self.missing = missing or {}

    @property
    def moid(self):
        return self.obj._moId


def traversal(name, vim_type, path, *select):
    """A TraversalSpec; ``select`` names other specs (or this one) to follow from the reached objects."""
    return vmodl.query.PropertyCollector.TraversalSpec(
        name=name, type=vim_type, path=path, skip=False,
        selectSet=[vmodl.query.PropertyCollector.SelectionSpec(name=s) for s in select],
    )


def retrieve(content, objects, paths, select=None, what="reading properties"):
    """Read ``paths`` (``{vim type: [property path, ...]}``) of ``objects`` in one request.

    ``select`` is a list of TraversalSpecs followed from every object of ``objects`` (the starting
    objects themselves are then included too, with the properties asked for their type). Results
    are paged by the server; the pages are fetched with ContinueRetrievePropertiesEx. Returns a list
    of :class:`ObjectProperties` in the server's order.
    """
    pc_types = vmodl.query.PropertyCollector
    object_set = [pc_types.ObjectSpec(obj=o, skip=False, selectSet=list(select or [])) for o in objects]
    prop_set = [pc_types.PropertySpec(type=t, all=False, pathSet=sorted(set(p))) for t, p in paths.items()]
    spec = pc_types.FilterSpec(objectSet=object_set, propSet=prop_set, reportMissingObjectsInResults=False)
    return retrieve_specs(content, [spec], what)


def retrieve_specs(content, specs, what="reading properties"):
    """Read what the FilterSpecs ``specs`` select in one request (one ``RetrievePropertiesEx`` and
    the pages that follow it). An object that several specs select comes back once, with the
    properties of all of them."""
    pc_types = vmodl.query.PropertyCollector
    collector = content.propertyCollector
    out = {}
    try:
        result = collector.RetrievePropertiesEx(specs, pc_types.RetrieveOptions())
        while result is not None:
            for obj_content in result.objects or []:
                values = dict((p.name, p.val) for p in obj_content.propSet or [])
                missing = dict((m.path, m.fault) for m in obj_content.missingSet or [])
                props = out.get(obj_content.obj._moId)
                if props is None:
                    out[obj_content.obj._moId] = ObjectProperties(obj_content.obj, values, missing)
                else:
                    props.update(values)
                    props.missing.update(missing)
            if not result.token:
                break
            result = collector.ContinueRetrievePropertiesEx(result.token)
    except vmodl.MethodFault as fault:
        raise fault_to_error(fault, what)
    return list(out.values())


def retrieve_one(content, obj, paths, what):
    """Read ``paths`` (a list) of one object; a missing object is a ``not_found`` error naming it."""
    results = retrieve(content, [obj], {type(obj): paths}, what=what)
    if not results:
        raise VSphereError("No %s with moid %s exists (%s)." % (type(obj).__name__.split(".")[-1], obj._moId, what),
                           kind="not_found")
    return results[0]


def inventory_traversal(kind):
    """TraversalSpecs from the root folder that reach every VM (``kind="vm"``) or every host
    (``kind="host"``), with the folders, datacenters, vApps and compute resources on the way."""
    if kind == "vm":
        return [
            traversal("folder_children", vim.Folder, "childEntity", "folder_children", "dc_vm_folder", "vapp_vms"),
            traversal("dc_vm_folder", vim.Datacenter, "vmFolder", "folder_children"),
            traversal("vapp_vms", vim.VirtualApp, "vm"),
        ]
    return [
        traversal("folder_children", vim.Folder, "childEntity", "folder_children", "dc_host_folder", "cr_hosts"),
        traversal("dc_host_folder", vim.Datacenter, "hostFolder", "folder_children"),
        traversal("cr_hosts", vim.ComputeResource, "host"),
    ]
