"""Never the wrong VM: whatever is renamed, moved or created during a run, a task changes the VM its
``name``/``folder``/``datacenter`` designate when it runs, exactly as the shipped module (which reads
the inventory itself) does. Each case runs the same playbook in-process (the run's remembered name
index) and shipped, each on a simulator of its own set up the same way, and reads the VMs back."""
import json
import sys

import pytest

from conftest import connect, run_playbook

pytestmark = pytest.mark.shared_state

SHIPPED = {"VMCHANNELS_IN_PROCESS": "false"}
RULES = [{"action": "allow", "protocol": "hypervisor", "direction": "anyDirection"}]

# Changes the inventory as an administrator would between two tasks of a run: each change names
# an object by its inventory path below the root folder.
MUTATE = r"""
import json, sys
from pyVim.connect import SmartConnect
from pyVim.task import WaitForTask

si = SmartConnect(host=sys.argv[1], port=int(sys.argv[2]), user=sys.argv[3], pwd=sys.argv[4],
                  disableSslCertValidation=True)
find = si.content.searchIndex.FindByInventoryPath
for change in json.loads(sys.argv[5]):
    obj = find(change["path"])
    assert obj is not None, change
    if "rename" in change:
        WaitForTask(obj.Rename_Task(change["rename"]))
    if "into" in change:
        WaitForTask(find(change["into"]).MoveIntoFolder_Task([obj]))
"""


def _mutate(sim, changes):
    return {"name": "an administrator changes the inventory", "no_log": True, "ansible.builtin.command": {"argv": [
        sys.executable, "-c", MUTATE, sim.host, str(sim.port), sim.username, sim.password, json.dumps(changes)]}}


def _setup(sim):
    """Two VMs called web01: vm-A in /DC0/vm/prod, vm-B in /DC0/vm/staging (and /DC0/vm/archive,
    empty). With two datacenters, vm-B is in /DC1/vm/staging instead. Returns {"A": moid, "B": moid}."""
    si = connect(sim)
    find = si.content.searchIndex.FindByInventoryPath
    from pyVim.task import WaitForTask

    two_dcs = find("DC1") is not None
    prod = find("DC0/vm").CreateFolder("prod")
    find("DC0/vm").CreateFolder("archive")
    staging = find("DC1/vm" if two_dcs else "DC0/vm").CreateFolder("staging")
    moids = {}
    for key, path, folder in (("A", "DC0/vm/DC0_H0_VM0", prod),
                              ("B", "DC1/vm/DC1_H0_VM0" if two_dcs else "DC0/vm/DC0_H0_VM1", staging)):
        vm = find(path)
        WaitForTask(folder.MoveIntoFolder_Task([vm]))
        WaitForTask(vm.Rename_Task("web01"))
        moids[key] = vm._moId
    return moids


def _filters(sim, moids):
    """Which of vm-A and vm-B carry the VMCI rule the run's last task sets."""
    si = connect(sim)
    out = {}
    for key, moid in moids.items():
        from pyVmomi import vim

        vm = vim.VirtualMachine(moid, si._stub)
        (vmci,) = [d for d in vm.config.hardware.device if hasattr(d, "filterInfo")]
        out[key] = bool(vmci.filterInfo and vmci.filterInfo.filters)
    return out


CASES = {
    # the case: the folders are renamed, "prod" now names the folder that holds vm-B
    "folders-swapped": (dict(folder="/DC0/vm/prod"), [
        {"path": "DC0/vm/prod", "rename": "prod-old"}, {"path": "DC0/vm/staging", "rename": "prod"}], "B"),
    # vm-A moved out of prod, vm-B moved into it
    "vms-moved": (dict(folder="/DC0/vm/prod"), [
        {"path": "DC0/vm/prod/web01", "into": "DC0/vm/archive"},
        {"path": "DC0/vm/staging/web01", "into": "DC0/vm/prod"}], "B"),
    # a datacenter renamed: "DC0" now names the datacenter that holds vm-B
    "datacenters-swapped": (dict(datacenter="DC0"), [
        {"path": "DC0", "rename": "DC0-old"}, {"path": "DC1", "rename": "DC0"}], "B"),
    # another VM takes the name: vm-B, renamed away before the first task, gets web01 back; the
    # name alone now designates two VMs (the task fails, as shipped, and changes neither)
    "another-vm-takes-the-name": (dict(), [{"path": "DC0/vm/staging/web01-other", "rename": "web01"}], None),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_task_changes_the_vm_its_name_designates_when_it_runs(fresh_vcsim, tmp_path, case):
    narrowing, changes, expected = CASES[case]
    outcomes = {}
    for path, env in (("in-process", {}), ("shipped", SHIPPED)):
        sim = fresh_vcsim(dc=2 if "datacenter" in narrowing else 1)
        moids = _setup(sim)
        setup = []
        if case == "another-vm-takes-the-name":
            setup = [_mutate(sim, [{"path": "DC0/vm/staging/web01", "rename": "web01-other"}])]
        tasks = setup + [
            {"name": "first", "vmchannels.vsphere.vm_serial_port_info": dict(narrowing, name="web01")},
            _mutate(sim, changes),
            {"name": "change", "ignore_errors": True,
             "vmchannels.vsphere.vm_vmci_filter": dict(narrowing, name="web01", rules=RULES)},
        ]
        run = run_playbook(tmp_path, tasks, sim=sim, env=env, name=path)
        assert run.result("first")["vm"]["moid"] == moids["A"], (path, run)
        change = run.result("change")
        outcomes[path] = (change.get("vm", {}).get("moid"), change.get("error_kind"), _filters(sim, moids))
        if expected:
            assert run.rc == 0, (path, run)
            assert change["changed"] and change["vm"]["moid"] == moids[expected], (path, change)
            assert outcomes[path][2] == {"A": expected == "A", "B": expected == "B"}, path
        else:
            assert run.task("change")["status"] == "failed" and change["error_kind"] == "ambiguous", (path, change)
            assert "2 virtual machines are named 'web01'" in change["msg"]
            assert outcomes[path][2] == {"A": False, "B": False}, path
    # the same VM (or the same failure) both ways
    assert outcomes["in-process"][0:2] == outcomes["shipped"][0:2]
