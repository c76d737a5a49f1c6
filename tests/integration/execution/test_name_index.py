"""The VM name index kept for the tasks of one run (``module_utils/vsphere/inventory.py``): the first look-up
by name reads the inventory, the later ones check what they select with one small read and read
the inventory afresh when the check or the selection fails. Real runs against the simulator, the
requests counted from its trace, the VMs read back through pyVmomi."""
import json
import sys

import pytest

from conftest import connect, run_playbook
from vsphere_helpers import name_index_checks, vm_name_lookups

SHIPPED = {"VMCHANNELS_IN_PROCESS": "false"}
VMCI_ALLOW_HYPERVISOR = [{"action": "allow", "protocol": "hypervisor", "direction": "anyDirection"}]

# Renames and deletes VMs as an administrator would between two tasks of a run.
MUTATE = (
    "import json, sys\n"
    "from pyVim.connect import SmartConnect\n"
    "from pyVim.task import WaitForTask\n"
    "si = SmartConnect(host=sys.argv[1], port=int(sys.argv[2]), user=sys.argv[3], pwd=sys.argv[4],\n"
    "                  disableSslCertValidation=True)\n"
    "search = si.content.searchIndex\n"
    "for change in json.loads(sys.argv[5]):\n"
    "    vm = search.FindByInventoryPath('DC0/vm/' + change['vm'])\n"
    "    if change.get('rename'):\n"
    "        WaitForTask(vm.Rename_Task(change['rename']))\n"
    "    else:\n"
    "        if vm.runtime.powerState == 'poweredOn':\n"
    "            WaitForTask(vm.PowerOffVM_Task())\n"
    "        WaitForTask(vm.Destroy_Task())\n"
)

pytestmark = pytest.mark.shared_state


def reads_of_vms(requests):
    return [r for r in requests if r["method"] == "RetrievePropertiesEx" and r.get("objects")
            and all(o.startswith("VirtualMachine:") for o in r["objects"])]


def _tasks():
    names = ["DC0_H0_VM0", "DC0_H0_VM1", "DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1"]
    tasks = [{"name": "read %s" % vm, "vmchannels.vsphere.vm_serial_port_info": {"name": vm}} for vm in names]
    tasks.append({"name": "filter", "vmchannels.vsphere.vm_vmci_filter": {
        "name": "DC0_H0_VM1", "rules": VMCI_ALLOW_HYPERVISOR}})
    tasks.append({"name": "bulk", "vmchannels.vsphere.vm_serial_port_bulk": {"vms": [
        {"name": "DC0_H0_VM0", "serial_ports": []}, {"name": "DC0_C0_RP0_VM1", "serial_ports": []}]}})
    return names, tasks


@pytest.mark.matrix
def test_later_look_ups_by_name_use_the_runs_index(fresh_vcsim, tmp_path):
    sim = fresh_vcsim()
    names, tasks = _tasks()
    sim.reset_trace()
    run = run_playbook(tmp_path, tasks, sim=sim, name="in_process")
    assert run.rc == 0, run
    assert [run.result("read %s" % vm)["vm"]["name"] for vm in names] == names
    assert [r["vm"]["name"] for r in run.result("bulk")["vms"]] == ["DC0_H0_VM0", "DC0_C0_RP0_VM1"]
    fast = sim.soap_requests()

    # The same tasks shipped: every task reads the whole index, as before.
    sim.reset_trace()
    run = run_playbook(tmp_path, tasks, sim=sim, env=SHIPPED, name="shipped")
    assert run.rc == 0, run
    shipped = sim.soap_requests()
    assert len(vm_name_lookups(shipped)) == len(tasks)
    # In-process, one read of the index for the run; each later task checks it instead, one read
    # of every VM's name and of the paths of the VMs named, so the number of reads per task stays
    # the same. (The shipped run changes nothing: the in-process run applied the filter already.)
    assert len(vm_name_lookups(fast)) == 1
    assert len(name_index_checks(fast)) == len(tasks) - 1 and not name_index_checks(shipped)
    assert len(reads_of_vms(fast)) == len(reads_of_vms(shipped))
    assert len([r for r in fast if r["method"] == "RetrievePropertiesEx"]) == len(
        [r for r in shipped if r["method"] == "RetrievePropertiesEx"])

    # The change reached the VM the name named.
    vm = connect(sim).content.searchIndex.FindByInventoryPath("DC0/vm/DC0_H0_VM1")
    (vmci,) = [d for d in vm.config.hardware.device if hasattr(d, "filterInfo")]
    assert [f.protocol for f in vmci.filterInfo.filters] == ["hypervisor"]


def test_renamed_new_and_deleted_vms_are_looked_up_afresh(fresh_vcsim, tmp_path):
    sim = fresh_vcsim()

    def mutate(name, changes):
        return {"name": name, "no_log": True,
                "ansible.builtin.command": {"argv": [
                    sys.executable, "-c", MUTATE, sim.host, str(sim.port), sim.username, sim.password,
                    json.dumps(changes)]}}

    tasks = [
        {"name": "first", "vmchannels.vsphere.vm_serial_port_info": {"name": "DC0_H0_VM0"}},
        # VM0 renamed away, VM1 given VM0's name, RP0_VM0 deleted
        mutate("mutate one", [{"vm": "DC0_H0_VM0", "rename": "DC0_H0_VM0-old"},
                              {"vm": "DC0_H0_VM1", "rename": "DC0_H0_VM0"},
                              {"vm": "DC0_C0_RP0_VM0"}]),
        {"name": "renamed", "vmchannels.vsphere.vm_vmci_filter": {
            "name": "DC0_H0_VM0", "rules": VMCI_ALLOW_HYPERVISOR}},
        mutate("mutate two", [{"vm": "DC0_C0_RP0_VM1", "rename": "brand-new"}]),
        {"name": "new name", "vmchannels.vsphere.vm_serial_port_info": {"name": "brand-new"}},
        {"name": "gone", "ignore_errors": True, "vmchannels.vsphere.vm_serial_port_info": {"name": "DC0_C0_RP0_VM0"}},
        {"name": "old name", "vmchannels.vsphere.vm_serial_port_info": {"name": "DC0_H0_VM0-old"}},
    ]
    search = connect(sim).content.searchIndex
    moids = dict((name, search.FindByInventoryPath("DC0/vm/" + name)._moId)
                 for name in ("DC0_H0_VM0", "DC0_H0_VM1", "DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1"))
    sim.reset_trace()
    run = run_playbook(tmp_path, tasks, sim=sim)
    assert run.rc == 0, run
    first, renamed = run.result("first")["vm"], run.result("renamed")["vm"]
    assert first["moid"] == moids["DC0_H0_VM0"]
    # the name now belongs to the former VM1: the change went there, not to the VM the index had
    assert renamed["moid"] == moids["DC0_H0_VM1"] and renamed["name"] == "DC0_H0_VM0"
    assert run.result("new name")["vm"]["name"] == "brand-new"
    assert run.task("gone")["status"] == "failed"
    gone = run.result("gone")
    assert gone["error_kind"] == "not_found"
    assert "No virtual machine named 'DC0_C0_RP0_VM0' was found" in gone["msg"]
    assert run.result("old name")["vm"]["moid"] == moids["DC0_H0_VM0"]
    # first; "renamed" (its VM's name changed); "new name" (not in the index); "gone" (never
    # "not found" from the index). "old name" used the index "gone" read.
    assert len(vm_name_lookups(sim.soap_requests())) == 4

    filters = {}
    for name in ("DC0_H0_VM0", "DC0_H0_VM0-old"):
        vm = search.FindByInventoryPath("DC0/vm/" + name)
        (vmci,) = [d for d in vm.config.hardware.device if hasattr(d, "filterInfo")]
        filters[vm._moId] = [f.protocol for f in (vmci.filterInfo.filters if vmci.filterInfo else [])]
    assert filters == {moids["DC0_H0_VM1"]: ["hypervisor"], moids["DC0_H0_VM0"]: []}


def test_no_index_is_kept_without_a_shared_session(fresh_vcsim, tmp_path):
    sim = fresh_vcsim()
    _names, tasks = _tasks()
    sim.reset_trace()
    run = run_playbook(tmp_path, tasks, sim=sim, env={"VMCHANNELS_SHARED_SESSION": "false"})
    assert run.rc == 0, run
    assert len(vm_name_lookups(sim.soap_requests())) == len(tasks)
