# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Finding VMs and hosts without walking the inventory object by object.

* by moid: a reference built locally, no request (existence is checked by the first read);
* by uuid: one ``SearchIndex.FindAllByUuid`` request (BIOS UUID, then instance UUID);
* by name: one PropertyCollector request that fetches only ``name`` and ``parent`` of the folders,
  datacenters, compute resources and VMs or hosts, from which inventory paths are computed here.

The VM name index is O(number of VMs) to read and to parse. Within one Ansible run whose tasks
share a vSphere session (``client.recall``/``client.remember``), the first look-up by name keeps
the index for the later ones. A later look-up uses it only after ONE read has shown that a fresh
index would give the same answer (:func:`index_still_answers`): the name of every VM (no VM took
or lost the name: created, renamed, deleted) and the name and parent of every object on the paths
of the VMs that bear it (neither they nor any folder, datacenter or vApp above them was renamed,
moved or deleted), which is all a selection by name, datacenter and folder depends on. Otherwise,
and before any "not found" or "ambiguous" answer, the index is read afresh, so a task changes the
VM its name designates when it runs, as a task that reads the index itself would
(docs/execution.md).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.errors import VSphereError, fault_to_error
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.options import VM_IDENTITY_OPTIONS, vm_locator
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.properties import (
    inventory_traversal,
    retrieve,
    retrieve_specs,
    traversal,
)

try:
    from pyVmomi import vim, vmodl
except ImportError:  # pragma: no cover - client.HAS_PYVMOMI reports it
    pass


class Entity(object):
    """One inventory object seen by a name look-up."""

    __slots__ = ("obj", "name", "parent", "kind")

    def __init__(self, obj, name, parent, kind):
        self.obj = obj
        self.name = name
        self.parent = parent
        self.kind = kind

    @property
    def moid(self):
        return self.obj._moId


class InventoryIndex(object):
    """Entities by moid, with inventory paths computed from the ``parent`` chain (pure logic)."""

    def __init__(self, entities):
        self.by_moid = dict((e.moid, e) for e in entities)

    def rows(self):
        """The index as JSON data: ``[moid, kind, name, parent moid]`` per entity."""
        return [[e.moid, e.kind, e.name, e.parent] for e in self.by_moid.values()]

    @classmethod
    def from_rows(cls, rows, make_ref):
        """The index that :meth:`rows` gave; ``make_ref(kind, moid)`` builds each reference."""
        return cls(Entity(make_ref(kind, moid), name, parent, kind) for moid, kind, name, parent in rows)

    def chain(self, moid):
        """The entities from the top (below the root folder) down to ``moid``."""
        out = []
        seen = set()
        while moid and moid in self.by_moid and moid not in seen:
            seen.add(moid)
            entity = self.by_moid[moid]
            out.append(entity)
            moid = entity.parent
        out.reverse()
        # The root folder ("Datacenters") has no parent and is not part of user-facing paths.
        if out and out[0].kind == "Folder" and out[0].parent is None:
            out = out[1:]
        return out

    def path(self, moid):
        """``/DC0/vm/prod/web01`` for a VM, ``/DC0/host/C0/esx1`` for a host."""
        return "/" + "/".join(e.name for e in self.chain(moid))

    def datacenter(self, moid):
        for entity in reversed(self.chain(moid)):
            if entity.kind == "Datacenter":
                return entity
        return None

    def cluster(self, moid):
        for entity in reversed(self.chain(moid)):
            if entity.kind == "ClusterComputeResource":
                return entity
        return None

    def folder_paths(self, moid):
        """The forms a user may give for the VM folder holding ``moid``: the full path and the path
        below the datacenter's VM folder (with and without the ``vm`` component)."""
        chain = self.chain(moid)[:-1]
        names = [e.name for e in chain]
        forms = set(["/".join(names)])
        for i, entity in enumerate(chain):
            if entity.kind == "Datacenter":
                below = names[i + 1:]
                forms.add("/".join(below))
                forms.add("/".join(below[1:]))
        return forms

    def of_kind(self, *kinds):
        return [e for e in self.by_moid.values() if e.kind in kinds]


def normalize_folder(folder):
    """``/DC0/vm/prod/`` -> ``DC0/vm/prod``; empty components dropped."""
    return "/".join(part for part in (folder or "").split("/") if part)


def select_by_name(index, name, kinds, datacenter=None, folder=None):
    """Entities of ``kinds`` named ``name``, narrowed by datacenter name and folder path.

    Returns ``(matches, all_named)``: the narrowed matches and every entity of that name, so errors
    can list the candidates that the narrowing excluded.
    """
    named = [e for e in index.of_kind(*kinds) if e.name == name]
    matches = named
    if datacenter:
        matches = [e for e in matches if (index.datacenter(e.moid) or Entity(None, None, None, None)).name == datacenter]
    if folder is not None:
        wanted = normalize_folder(folder)
        matches = [e for e in matches if wanted in index.folder_paths(e.moid)]
    return matches, named


def _narrowing(datacenter, folder):
    parts = []
    if datacenter:
        parts.append("datacenter '%s'" % datacenter)
    if folder is not None:
        parts.append("folder '%s'" % folder)
    return (" in " + " and ".join(parts)) if parts else ""


def _read_index(client, kind):
    if kind == "vm":
        paths = {vim.Folder: ["name", "parent"], vim.Datacenter: ["name", "parent"],
                 vim.VirtualApp: ["name", "parent", "parentFolder"],
                 vim.VirtualMachine: ["name", "parent", "parentVApp"]}
    else:
        paths = {vim.Folder: ["name", "parent"], vim.Datacenter: ["name", "parent"],
                 vim.ComputeResource: ["name", "parent"], vim.ClusterComputeResource: ["name", "parent"],
                 vim.HostSystem: ["name", "parent"]}
    results = retrieve(client.content, [client.content.rootFolder], paths,
                       select=inventory_traversal(kind), what="searching the inventory by name")
    entities = []
    for props in results:
        parent = props.get("parent") or props.get("parentVApp") or props.get("parentFolder")
        entities.append(Entity(props.obj, props.get("name"), parent._moId if parent is not None else None,
                               type(props.obj).__name__.split(".")[-1]))
    return InventoryIndex(entities)


def _find_by_uuid(client, uuid):
    search = client.content.searchIndex
    try:
        found = search.FindAllByUuid(uuid=uuid, vmSearch=True, instanceUuid=False)
        if not found:
            found = search.FindAllByUuid(uuid=uuid, vmSearch=True, instanceUuid=True)
    except vmodl.MethodFault as fault:
        raise fault_to_error(fault, "searching a VM with UUID %s" % uuid)
    if not found:
        raise VSphereError("No virtual machine has the BIOS or instance UUID %s." % uuid, kind="not_found")
    if len(found) > 1:
        raise VSphereError(
            "%d virtual machines have the UUID %s (%s): give the VM's moid instead."
            % (len(found), uuid, ", ".join(sorted(vm._moId for vm in found))), kind="ambiguous",
        )
    return found[0]


def _select_vm(index, name, datacenter, folder):
    matches, named = select_by_name(index, name, ("VirtualMachine",), datacenter, folder)
    if len(matches) == 1:
        return matches[0].obj
    if not matches:
        msg = "No virtual machine named '%s' was found%s." % (name, _narrowing(datacenter, folder))
        if named:
            msg += " VMs with that name exist in: %s." % ", ".join(
                sorted("%s (moid %s)" % (index.path(e.parent), e.moid) for e in named))
        else:
            msg += " Names are case-sensitive; check the name as shown in the vSphere Client."
        raise VSphereError(msg, kind="not_found")
    raise VSphereError(
        "%d virtual machines are named '%s'%s, in: %s. Narrow the search with datacenter and folder, "
        "or name the VM by uuid or moid."
        % (len(matches), name, _narrowing(datacenter, folder),
           ", ".join(sorted("%s (moid %s)" % (index.path(e.parent), e.moid) for e in matches))),
        kind="ambiguous",
    )


#: The name under which a run's tasks keep the VM name index (``client.remember``).
VM_INDEX_MEMO = "vm-name-index"


def _vm_index(client, fresh):
    """``(index, remembered)``: the run's remembered VM name index unless ``fresh``, else the index
    read now (and remembered for the run's later tasks)."""
    if not fresh:
        rows = client.recall(VM_INDEX_MEMO)
        if rows:
            return InventoryIndex.from_rows(rows, lambda kind, moid: client.ref(getattr(vim, kind), moid)), True
    index = _read_index(client, "vm")
    client.remember(VM_INDEX_MEMO, index.rows())
    return index, False


def _select_all(index, identities):
    out = []
    for ident in identities:
        try:
            out.append(_select_vm(index, ident["name"], ident.get("datacenter"), ident.get("folder")))
        except VSphereError as exc:
            out.append(exc)
    return out


def _path_traversal():
    """TraversalSpecs from a VM up to the root folder: its folder or vApp, and every folder,
    datacenter and vApp above it."""
    return [
        traversal("up", vim.ManagedEntity, "parent", "up", "vapp_folder"),
        traversal("vm_vapp", vim.VirtualMachine, "parentVApp", "up", "vapp_folder"),
        traversal("vapp_folder", vim.VirtualApp, "parentFolder", "up"),
    ]


def index_still_answers(index, names, path_reads, vm_names):
    """Whether a fresh index would select what ``index`` selects for VMs called any of ``names``
    (pure logic).

    A selection by name, datacenter and folder depends on nothing but which VMs bear the name and
    the names and parents of the objects from each of them up to the root. ``path_reads`` maps the
    moid of each object read from those VMs upwards to its ``(name, parent moid)`` now; ``vm_names``
    maps every VM of the inventory now to its name. The index still answers when the same VMs
    bear the names and every object on their paths has the name and parent the index has.
    """
    names = set(names)
    bearers = set(e.moid for e in index.of_kind("VirtualMachine") if e.name in names)
    if bearers != set(moid for moid, name in vm_names.items() if name in names):
        return False  # a VM took or lost one of the names: created, renamed, deleted
    for moid in bearers:
        for entity in index.chain(moid):
            if path_reads.get(entity.moid) != (entity.name, entity.parent):
                return False  # renamed, moved or deleted: the VM or a folder, datacenter, vApp above it
    return True


def _unchanged_since_indexed(client, index, names):
    """Whether ``index`` still answers the look-ups of ``names``: ONE read of the objects on the
    paths of the VMs that bear the names and of the name of every VM (see :func:`index_still_answers`)."""
    bearers = [e.obj for e in index.of_kind("VirtualMachine") if e.name in set(names)]
    pc_types = vmodl.query.PropertyCollector
    paths = pc_types.FilterSpec(
        objectSet=[pc_types.ObjectSpec(obj=vm, skip=False, selectSet=_path_traversal()) for vm in bearers],
        propSet=[pc_types.PropertySpec(type=t, pathSet=p) for t, p in (
            (vim.VirtualMachine, ["name", "parent", "parentVApp"]), (vim.VirtualApp, ["name", "parent", "parentFolder"]),
            (vim.Folder, ["name", "parent"]), (vim.Datacenter, ["name", "parent"]))],
    )
    everyone = pc_types.FilterSpec(
        objectSet=[pc_types.ObjectSpec(obj=client.content.rootFolder, skip=True, selectSet=inventory_traversal("vm"))],
        propSet=[pc_types.PropertySpec(type=vim.VirtualMachine, pathSet=["name"])],
    )
    try:
        read = retrieve_specs(client.content, [everyone, paths], what="checking the VMs found by name")
    except VSphereError as exc:
        if exc.kind == "not_found":  # vCenter refuses the whole read when one of them is gone
            return False
        raise
    path_reads, vm_names = {}, {}
    bearer_moids = set(vm._moId for vm in bearers)
    for props in read:
        if isinstance(props.obj, vim.VirtualMachine) and "name" in props:
            vm_names[props.moid] = props["name"]
        if props.moid in bearer_moids or not isinstance(props.obj, vim.VirtualMachine):
            parent = props.get("parent") or props.get("parentVApp") or props.get("parentFolder")
            if "name" in props:
                path_reads[props.moid] = (props["name"], parent._moId if parent is not None else None)
    return index_still_answers(index, names, path_reads, vm_names)


def _find_by_names(client, identities):
    """One ``vim.VirtualMachine`` or :class:`VSphereError` per identity (``name``, ``datacenter``,
    ``folder``): from the run's remembered index when what it selects is still so, else from an
    index read now (see the module's docstring)."""
    index, remembered = _vm_index(client, fresh=False)
    found = _select_all(index, identities)
    if remembered and (any(isinstance(f, VSphereError) for f in found)
                       or not _unchanged_since_indexed(client, index, [i["name"] for i in identities])):
        index, _remembered = _vm_index(client, fresh=True)
        found = _select_all(index, identities)
    return found


def find_vm(client, name=None, uuid=None, moid=None, datacenter=None, folder=None):
    """The ``vim.VirtualMachine`` named by ``moid``, ``uuid`` or ``name`` (``options.vm_locator``)."""
    locator = vm_locator(name=name, uuid=uuid, moid=moid, datacenter=datacenter, folder=folder)
    if "moid" in locator:
        return client.ref(vim.VirtualMachine, moid)
    if "uuid" in locator:
        return _find_by_uuid(client, uuid)
    found = _find_by_names(client, [dict(name=name, datacenter=datacenter, folder=folder)])[0]
    if isinstance(found, VSphereError):
        raise found
    return found


def find_vms(client, identities):
    """Bulk form of :func:`find_vm`: one result per identity dict (``name``/``uuid``/``moid``,
    ``datacenter``, ``folder``), each a ``vim.VirtualMachine`` or the :class:`VSphereError` that
    says why it was not found. All names are resolved with ONE inventory read (or the run's
    remembered index and one check); each uuid costs one ``FindAllByUuid``; moids cost nothing."""
    out = [None] * len(identities)
    by_name = []
    for position, ident in enumerate(identities):
        if "name" not in vm_locator(**dict((k, ident.get(k)) for k in VM_IDENTITY_OPTIONS)):
            try:
                out[position] = find_vm(client, uuid=ident.get("uuid"), moid=ident.get("moid"))
            except VSphereError as exc:
                if exc.kind not in ("not_found", "ambiguous"):
                    raise
                out[position] = exc
        else:
            by_name.append(position)
    if by_name:
        for position, found in zip(by_name, _find_by_names(client, [identities[p] for p in by_name])):
            out[position] = found
    return out


class HostTarget(object):
    """A host selected by :func:`find_hosts`, with where it sits in the inventory."""

    __slots__ = ("obj", "name", "cluster", "datacenter", "path")

    def __init__(self, obj, name, cluster, datacenter, path):
        self.obj = obj
        self.name = name
        self.cluster = cluster
        self.datacenter = datacenter
        self.path = path

    @property
    def moid(self):
        return self.obj._moId


def find_hosts(client, names=None, cluster=None, datacenter=None, cluster_peers=False):
    """Hosts selected by name(s), by cluster (optionally in a datacenter) or by datacenter alone.
    Connected straight to an ESXi host with no selector, that host. One request. ``cluster_peers``
    adds, to hosts selected by name, every other host of their clusters (from the same read)."""
    index = _read_index(client, "host")
    hosts = index.of_kind("HostSystem")

    def target(entity):
        cl = index.cluster(entity.moid)
        dc = index.datacenter(entity.moid)
        return HostTarget(entity.obj, entity.name, cl.name if cl else None, dc.name if dc else None,
                          index.path(entity.moid))

    if datacenter:
        known = set(e.name for e in index.of_kind("Datacenter"))
        if datacenter not in known:
            raise VSphereError("No datacenter named '%s' exists (datacenters: %s)."
                               % (datacenter, ", ".join(sorted(known)) or "none"), kind="not_found")
        hosts = [h for h in hosts if (index.datacenter(h.moid) or Entity(None, None, None, None)).name == datacenter]
    if cluster:
        clusters = [c for c in index.of_kind("ClusterComputeResource") if c.name == cluster
                    and (not datacenter or index.datacenter(c.moid).name == datacenter)]
        if not clusters:
            raise VSphereError("No cluster named '%s' was found%s (clusters: %s)." % (
                cluster, _narrowing(datacenter, None),
                ", ".join(sorted(index.path(c.moid) for c in index.of_kind("ClusterComputeResource"))) or "none"),
                kind="not_found")
        if len(clusters) > 1:
            raise VSphereError("%d clusters are named '%s' (%s): give the datacenter too." % (
                len(clusters), cluster, ", ".join(sorted(index.path(c.moid) for c in clusters))), kind="ambiguous")
        hosts = [h for h in hosts if index.cluster(h.moid) is clusters[0]]
    if names:
        wanted = list(names)
        found = []
        for host_name in wanted:
            matches = [h for h in hosts if h.name == host_name]
            if not matches:
                raise VSphereError("No ESXi host named '%s' was found%s. Give the name as shown in the "
                                   "vSphere Client (often the FQDN)." % (host_name, _narrowing(datacenter, None)),
                                   kind="not_found")
            if len(matches) > 1:
                raise VSphereError("%d hosts are named '%s' (%s): give the datacenter too." % (
                    len(matches), host_name, ", ".join(sorted(index.path(h.moid) for h in matches))),
                    kind="ambiguous")
            found.append(matches[0])
        if cluster_peers:
            clusters = set(index.cluster(h.moid).moid for h in found if index.cluster(h.moid) is not None)
            chosen = set(h.moid for h in found)
            found += [h for h in hosts if h.moid not in chosen and index.cluster(h.moid) is not None
                      and index.cluster(h.moid).moid in clusters]
        hosts = found
    return sorted((target(h) for h in hosts), key=lambda t: t.name)
