"""The vmci_firewall role in bulk mode (vmci_firewall_bulk: true): the same results per VM as the
default mode (tests/integration/roles/test_roles.py) with one vm_vmci_filter_bulk run for the VMs of the
play, in the run's one session; and the same task-count discipline as the serial_console role: four
tasks per VM in either mode (the argument validation, the note, the report, the configuration task
of the default mode), every other task once for the play. Read back through pyVmomi."""

import pytest
from conftest import connect, run_playbook
from role_support import VMCI_FIREWALL, Trace, assert_tasks_per_vm, changed_hosts, vmci_state, write_inventory

DENY_ALL = ("deny", "anyProtocol", "anyDirection", None, None)
VMS = {
    "DC0_H0_VM0": {"vmci_firewall_profile": "hypervisor_only"},
    # explicit rules win over a profile
    "DC0_H0_VM1": {"vmci_firewall_profile": "deny_all",
                   "vmci_firewall_rules": [{"action": "allow", "protocol": "stream", "direction": "host",
                                            "ports": "2000-2010"},
                                           {"action": "deny", "protocol": "anyProtocol", "direction": "anyDirection"}]},
    "DC0_C0_RP0_VM0": {"vmci_firewall_profile": "unrestricted", "vmci_firewall_enabled": False},
    "DC0_C0_RP0_VM1": {},  # no VMCI setting: left alone (the playbook does not apply the role)
}
PER_VM_TASKS = [
    "Validating arguments against arg spec 'main' - Apply a VMCI firewall policy to a VM",
    "Plan | Note the VMCI policy the VM asks for",
    "Report | Fail the VM that could not be changed, report the others",
    "Apply the VMCI firewall policy of the VM",
]
# Every task of the role that runs once for the play (run_once), whatever the number of VMs.
MAX_PLAY_TASKS = 4


def assert_four_tasks_per_vm(run, vms):
    return assert_tasks_per_vm(run, vms, "vmci_firewall", PER_VM_TASKS, MAX_PLAY_TASKS)


@pytest.mark.matrix
@pytest.mark.performance
def test_bulk_mode_gives_every_vm_what_the_default_mode_gives_in_one_session(tmp_path, fresh_vcsim):
    results = {}
    for bulk in (False, True):
        sim = fresh_vcsim()
        si = connect(sim)
        untouched = vmci_state(si, "DC0_C0_RP0_VM1")
        inventory = write_inventory(tmp_path, VMS, name="bulk-%s.json" % bulk, group_vars={"vmci_firewall_bulk": bulk})
        trace = Trace(sim)
        run = run_playbook(tmp_path, [{"import_playbook": VMCI_FIREWALL}], sim=sim, inventory=inventory,
                           args=["--check"], name="check-%s" % bulk)
        assert run.rc == 0, run
        assert changed_hosts(run) == ["DC0_C0_RP0_VM0", "DC0_H0_VM0", "DC0_H0_VM1"]
        assert "ReconfigVM_Task" not in trace.methods()

        trace.mark()
        run = run_playbook(tmp_path, [{"import_playbook": VMCI_FIREWALL}], sim=sim, inventory=inventory,
                           name="apply-%s" % bulk)
        assert run.rc == 0, run
        assert changed_hosts(run) == ["DC0_C0_RP0_VM0", "DC0_H0_VM0", "DC0_H0_VM1"]
        assert_four_tasks_per_vm(run, [name for name in VMS if VMS[name]])
        methods = trace.methods()
        assert methods.count("ReconfigVM_Task") == 3 and methods.count("Login") == 1, methods
        bulk_runs = [e for e in run.results if e["action"] == "vmchannels.vsphere.vm_vmci_filter_bulk"
                     and e["status"] != "skipped"]
        assert len(bulk_runs) == (1 if bulk else 0), bulk_runs
        assert vmci_state(si, "DC0_H0_VM0") == (True, [("allow", "hypervisor", "anyDirection", None, None), DENY_ALL])
        assert vmci_state(si, "DC0_H0_VM1") == (True, [("allow", "stream", "host", 2000, 2010), DENY_ALL])
        assert vmci_state(si, "DC0_C0_RP0_VM0") == (False, [])
        assert vmci_state(si, "DC0_C0_RP0_VM1") == untouched
        results[bulk] = dict((name, vmci_state(si, name)) for name in VMS)

        trace.mark()
        run = run_playbook(tmp_path, [{"import_playbook": VMCI_FIREWALL}], sim=sim, inventory=inventory,
                           name="again-%s" % bulk)
        assert run.rc == 0, run
        assert changed_hosts(run) == []
        assert "ReconfigVM_Task" not in trace.methods()
    assert results[True] == results[False]


def test_bulk_mode_fails_only_the_vm_that_cannot_be_changed_and_registers_every_result(tmp_path, fresh_vcsim):
    """A VM that is not found fails with its own message in its report, untouched; the others are
    configured, one of them in the default mode (modes mixed in a play); vmci_firewall_result is
    each VM's entry of the bulk run."""
    sim = fresh_vcsim()
    si = connect(sim)
    hosts = {
        "DC0_H0_VM0": {"vmci_firewall_profile": "deny_all"},
        "no-such-vm": {"vmci_firewall_profile": "deny_all"},
        "DC0_C0_RP0_VM0": {"vmci_firewall_profile": "hypervisor_only", "vmci_firewall_bulk": False},
    }
    inventory = write_inventory(tmp_path, hosts, group_vars={"vmci_firewall_bulk": True})
    plays = [{"import_playbook": VMCI_FIREWALL},
             {"hosts": "vms", "gather_facts": False, "tasks": [
                 {"name": "result", "ansible.builtin.debug": {"var": "vmci_firewall_result"}}]}]
    run = run_playbook(tmp_path, plays, sim=sim, inventory=inventory)
    assert run.rc != 0, run
    failed = dict((e["host"], e["result"]["msg"]) for e in run.results if e["status"] == "failed")
    assert list(failed) == ["no-such-vm"], failed
    assert "No virtual machine named 'no-such-vm' was found" in failed["no-such-vm"], failed
    assert changed_hosts(run) == ["DC0_C0_RP0_VM0", "DC0_H0_VM0"]
    assert vmci_state(si, "DC0_H0_VM0") == (True, [DENY_ALL])
    assert vmci_state(si, "DC0_C0_RP0_VM0")[1][0][1] == "hypervisor"
    shown = dict((e["host"], e["result"]["vmci_firewall_result"]) for e in run.results if e["task"] == "result")
    assert shown["DC0_H0_VM0"]["vm"]["name"] == "DC0_H0_VM0" and shown["DC0_H0_VM0"]["changed"] is True
    assert shown["DC0_C0_RP0_VM0"]["rules"][0]["protocol"] == "hypervisor"  # the default mode's own task
