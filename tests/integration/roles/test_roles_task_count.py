"""What the serial_console role costs per VM, counted, not timed: Ansible's linear strategy starts a
worker process per host for every task the host reaches, also for a task its ``when:`` skips, so
the role's cost over many VMs is its number of per-host tasks (docs/performance.md, "The
serial_console role"). The test callback records every task result per host (ok, failed and
skipped alike); the role must run exactly four tasks per VM in either mode (its argument
validation, the note of what the VM asks for, the report, the configuration task of the default
mode), and every other task once for the whole play, whatever the number of VMs. The ports are
read back through pyVmomi."""

import pytest
from conftest import connect, run_playbook
from role_support import SERIAL_CONSOLE, SIX_VMS, assert_tasks_per_vm, snapshot, write_inventory
from vsphere_helpers import find_vm, power

pytestmark = pytest.mark.performance

PER_VM_TASKS = [
    "Validating arguments against arg spec 'main' - Configure the serial ports of a VM, firewall first",
    "Plan | Note what the VM asks for",
    "Report | Fail the VM that could not be planned or changed (untouched), report the others",
    "Ports | Configure the serial ports of the VM",
]
BULK_PORTS_TASK = "Ports | Configure the serial ports of every VM of bulk mode whose plan shows a change (one session)"
# Every task of the role that runs once for the play (run_once), whatever the number of VMs.
MAX_PLAY_TASKS = 10


def assert_four_tasks_per_vm(run, vms):
    return assert_tasks_per_vm(run, vms, "serial_console", PER_VM_TASKS, MAX_PLAY_TASKS)


@pytest.mark.matrix
@pytest.mark.parametrize("bulk", [False, True], ids=["per_vm", "bulk"])
def test_serial_console_runs_four_tasks_per_vm(tmp_path, fresh_vcsim, bulk):
    sim = fresh_vcsim(vm=3)
    si = connect(sim)
    vms = dict(SIX_VMS)
    vms["DC0_C0_RP0_VM0"] = dict(vms["DC0_C0_RP0_VM0"], serial_console_bulk=not bulk)  # one VM of the other mode
    vms["DC0_H0_VM2"] = {}  # asks for nothing: left alone
    for name in vms:  # bulk mode does not power cycle
        power(find_vm(si, name), "poweredOff")
    before = snapshot(si, vms)
    inventory = write_inventory(tmp_path, vms, group_vars={"serial_console_bulk": bulk,
                                                           "serial_console_allow_power_cycle": True})
    play = [{"import_playbook": SERIAL_CONSOLE}]

    # Check mode with --diff: the same four tasks per VM, nothing changed, the diff of every VM that
    # would change (printed by its configuration task, or by the bulk run).
    run = run_playbook(tmp_path, play, sim=sim, inventory=inventory, args=["--check", "--diff"], name="check")
    assert run.rc == 0, run
    assert_four_tasks_per_vm(run, vms)
    assert snapshot(si, vms) == before
    sections = dict((text.split("]", 1)[0], text) for text in run.stdout.split("TASK [")[1:])
    bulk_diff = sections.get("vmchannels.vsphere.serial_console : " + BULK_PORTS_TASK, "")
    ports_diff = sections["vmchannels.vsphere.serial_console : " + PER_VM_TASKS[3]]
    changing = [name for name, settings in vms.items() if settings.get("serial_console_ports")]
    for name in changing:
        if vms[name].get("serial_console_bulk", bulk):
            assert '+        "%s (vm-' % name in bulk_diff, (name, bulk_diff)
        else:
            assert "changed: [%s -> localhost]" % name in ports_diff, (name, ports_diff)
    assert ports_diff.count("--- before") == ports_diff.count("changed: [") > 0, ports_diff

    run = run_playbook(tmp_path, play, sim=sim, inventory=inventory, name="apply")
    assert run.rc == 0, run
    tasks = assert_four_tasks_per_vm(run, vms)
    ports_runs = dict(tasks["Ports | Configure the serial ports of the VM"])
    reports = [e for e in run.results if e["task"].endswith(PER_VM_TASKS[2])]
    for name, settings in vms.items():
        own_bulk = settings.get("serial_console_bulk", bulk)
        asks = bool(settings.get("serial_console_ports"))
        # The configuration task runs for the VMs of the default mode that change, and only for them.
        assert ports_runs[name] == ("ok" if asks and not own_bulk else "skipped"), (name, ports_runs)
        report = [e for e in reports if e["host"] == name][0]
        assert report["result"].get("changed", False) == (asks and own_bulk), (name, report)
    after = snapshot(si, vms)
    assert after["DC0_H0_VM2"] == before["DC0_H0_VM2"]
    for name, settings in vms.items():
        wanted = sorted(p["number"] for p in settings.get("serial_console_ports", []))
        if wanted:
            assert sorted(after[name][1]) == wanted, (name, after[name])

    run = run_playbook(tmp_path, play, sim=sim, inventory=inventory, name="again")
    assert run.rc == 0, run
    tasks = assert_four_tasks_per_vm(run, vms)
    assert set(status for dummy, status in tasks["Ports | Configure the serial ports of the VM"]) == {"skipped"}
    assert not [e for e in run.results if e["result"].get("changed")], run
    assert snapshot(si, vms) == after


def test_a_later_run_of_the_role_in_the_play_plans_only_its_own_vms(tmp_path, fresh_vcsim):
    """The role included twice in a play, the second time for one VM only (include_role with a
    when): the second plan reads that VM alone, and the other VM is not changed again."""
    sim = fresh_vcsim()
    si = connect(sim)
    for name in ("DC0_H0_VM0", "DC0_H0_VM1"):
        power(find_vm(si, name), "poweredOff")
    inventory = write_inventory(tmp_path, {"DC0_H0_VM0": {}, "DC0_H0_VM1": {}},
                                group_vars={"serial_console_ports": [{"number": 1, "backing": {"type": "thinprint"}}]})
    include = {"ansible.builtin.include_role": {"name": "vmchannels.vsphere.serial_console"}}
    plays = [{"hosts": "vms", "gather_facts": False, "tasks": [
        dict(include, name="all VMs"),
        dict(include, name="one VM", when="inventory_hostname == 'DC0_H0_VM1'",
             vars={"serial_console_ports": [{"number": 2, "backing": {"type": "thinprint"}}]}),
    ]}]
    run = run_playbook(tmp_path, plays, sim=sim, inventory=inventory)
    assert run.rc == 0, run
    plans = [e for e in run.results if e["task"].endswith("Plan | Read every VM of the play and plan its serial ports "
                                                          "(one request, changes nothing)")]
    assert [sorted(vm["vm"]["name"] for r in e["result"]["results"] for vm in r["vms"]) for e in plans] == [
        ["DC0_H0_VM0", "DC0_H0_VM1"], ["DC0_H0_VM1"]], plans
    reports = [(e["host"], e["result"].get("changed")) for e in run.results if e["task"].endswith(PER_VM_TASKS[2])]
    # the first run reports both VMs (the forks finish them in either order), the second VM1 alone
    assert sorted(reports[:2]) == [("DC0_H0_VM0", False), ("DC0_H0_VM1", False)], reports
    assert reports[2:] == [("DC0_H0_VM1", False)], reports
    assert sorted(snapshot(si, ["DC0_H0_VM0"])["DC0_H0_VM0"][1]) == [1]
    assert sorted(snapshot(si, ["DC0_H0_VM1"])["DC0_H0_VM1"][1]) == [1, 2]


@pytest.mark.parametrize("bulk", [False, True], ids=["per_vm", "bulk"])
def test_each_batch_of_a_serial_play_plans_only_its_own_vms(tmp_path, fresh_vcsim, bulk):
    sim = fresh_vcsim()
    si = connect(sim)
    names = ["DC0_H0_VM0", "DC0_H0_VM1"]
    for name in names:
        power(find_vm(si, name), "poweredOff")
    inventory = write_inventory(tmp_path, dict((name, {}) for name in names), group_vars={
        "serial_console_bulk": bulk, "serial_console_ports": [{"number": 1, "backing": {"type": "thinprint"}}]})
    plays = [{"hosts": "vms", "gather_facts": False, "serial": 1, "roles": ["vmchannels.vsphere.serial_console"]}]
    run = run_playbook(tmp_path, plays, sim=sim, inventory=inventory)
    assert run.rc == 0, run
    plans = [e for e in run.results if e["task"].endswith("Plan | Read every VM of the play and plan its serial ports "
                                                          "(one request, changes nothing)")]
    assert [[vm["vm"]["name"] for r in e["result"]["results"] for vm in r["vms"]] for e in plans] == [[n] for n in names]
    for name in names:
        assert sorted(snapshot(si, [name])[name][1]) == [1]
