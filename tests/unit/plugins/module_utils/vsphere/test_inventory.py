"""Pure logic of name look-ups: inventory paths, folder forms, narrowing."""
import pytest
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.inventory import (
    Entity,
    InventoryIndex,
    index_still_answers,
    normalize_folder,
    select_by_name,
)


class Ref(object):
    def __init__(self, moid):
        self._moId = moid


def entity(moid, name, parent, kind):
    return Entity(Ref(moid), name, parent, kind)


@pytest.fixture
def index():
    return InventoryIndex([
        entity("group-d1", "Datacenters", None, "Folder"),
        entity("dc-1", "DC0", "group-d1", "Datacenter"),
        entity("group-v1", "vm", "dc-1", "Folder"),
        entity("group-v2", "prod", "group-v1", "Folder"),
        entity("vm-1", "web01", "group-v2", "VirtualMachine"),
        entity("vm-2", "web01", "group-v1", "VirtualMachine"),
        entity("group-f", "emea", "group-d1", "Folder"),
        entity("dc-2", "DC1", "group-f", "Datacenter"),
        entity("group-v3", "vm", "dc-2", "Folder"),
        entity("vm-3", "web01", "group-v3", "VirtualMachine"),
        entity("vm-4", "db01", "group-v3", "VirtualMachine"),
    ])


def test_paths_skip_root_folder(index):
    assert index.path("vm-1") == "/DC0/vm/prod/web01"
    assert index.path("vm-3") == "/emea/DC1/vm/web01"
    assert index.datacenter("vm-3").name == "DC1"


def test_folder_forms(index):
    assert index.folder_paths("vm-1") == {"DC0/vm/prod", "vm/prod", "prod"}
    assert index.folder_paths("vm-2") == {"DC0/vm", "vm", ""}


@pytest.mark.parametrize("datacenter,folder,expected", [
    (None, None, {"vm-1", "vm-2", "vm-3"}),
    ("DC0", None, {"vm-1", "vm-2"}),
    ("DC1", None, {"vm-3"}),
    (None, "/DC0/vm/prod/", {"vm-1"}),
    (None, "prod", {"vm-1"}),
    ("DC0", "vm", {"vm-2"}),
    (None, "/emea/DC1/vm", {"vm-3"}),
    ("DC0", "nothere", set()),
    ("NoDC", None, set()),
])
def test_select_by_name(index, datacenter, folder, expected):
    matches, named = select_by_name(index, "web01", ("VirtualMachine",), datacenter, folder)
    assert set(e.moid for e in matches) == expected
    assert len(named) == 3


def test_select_by_name_is_exact_and_case_sensitive(index):
    assert select_by_name(index, "WEB01", ("VirtualMachine",))[0] == []
    assert [e.moid for e in select_by_name(index, "db01", ("VirtualMachine",))[0]] == ["vm-4"]


def test_parent_cycle_does_not_hang():
    idx = InventoryIndex([entity("a", "a", "b", "Folder"), entity("b", "b", "a", "Folder")])
    assert idx.path("a") in ("/b/a", "/a/b", "/a", "/b")


@pytest.mark.parametrize("given,expected", [("/DC0/vm/", "DC0/vm"), ("", ""), (None, ""), ("a//b", "a/b")])
def test_normalize_folder(given, expected):
    assert normalize_folder(given) == expected


def test_rows_give_back_the_same_index(index):
    """The index a run's tasks keep (JSON rows) selects and names what the index read did."""
    import json

    made = []

    def make_ref(kind, moid):
        made.append(kind)
        return Ref(moid)

    again = InventoryIndex.from_rows(json.loads(json.dumps(index.rows())), make_ref)
    assert sorted(again.by_moid) == sorted(index.by_moid)
    assert again.path("vm-1") == "/DC0/vm/prod/web01" and again.datacenter("vm-3").name == "DC1"
    assert sorted(e.moid for e in select_by_name(again, "web01", ("VirtualMachine",), "DC0")[0]) == ["vm-1", "vm-2"]
    assert sorted(set(made)) == ["Datacenter", "Folder", "VirtualMachine"]


# -- whether the run's remembered index still answers a look-up (index_still_answers) -----------
def _now(index, **changes):
    """``(path_reads, vm_names)`` as the check read would see ``index`` after ``changes``: moid ->
    ``(name, parent)`` (``None``: deleted)."""
    state = dict((e.moid, (e.name, e.parent)) for e in index.by_moid.values())
    state.update(changes)
    state = dict((moid, value) for moid, value in state.items() if value is not None)
    vm_names = dict((moid, value[0]) for moid, value in state.items() if moid.startswith("vm-"))
    return state, vm_names


def test_an_unchanged_inventory_still_answers(index):
    assert index_still_answers(index, ["web01"], *_now(index))
    # changes away from the paths of the VMs bearing the name do not matter
    assert index_still_answers(index, ["web01"], *_now(index, **{"vm-4": ("db02", "group-v3")}))


@pytest.mark.parametrize("changes", [
    {"vm-1": ("web01-old", "group-v2")},  # the VM renamed
    {"vm-1": ("web01", "group-v1")},  # the VM moved to another folder
    {"vm-1": None},  # the VM deleted
    {"group-v2": ("prod-old", "group-v1")},  # its folder renamed (the folder option selects on it)
    {"group-v2": ("prod", "group-v3")},  # its folder moved to another datacenter
    {"dc-2": ("DC9", "group-f")},  # a datacenter renamed (the datacenter option selects on it)
    {"group-f": ("apac", "group-d1")},  # a folder above a datacenter renamed
    {"vm-4": ("web01", "group-v3")},  # another VM takes the name by a rename...
    {"vm-9": ("web01", "group-v3")},  # ... or is created with it, anywhere
], ids=["vm-renamed", "vm-moved", "vm-deleted", "folder-renamed", "folder-moved", "datacenter-renamed",
        "folder-above-datacenter-renamed", "vm-renamed-to-the-name", "vm-created-with-the-name"])
def test_any_change_that_could_change_the_answer_is_seen(index, changes):
    assert not index_still_answers(index, ["web01"], *_now(index, **changes))
