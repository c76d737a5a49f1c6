"""The serial_console role in bulk mode (serial_console_bulk: true): the same guarantees as the
per-VM mode (tests/integration/roles/test_roles.py) with one request to plan every VM of the play and one
run of the bulk module to configure them, in the run's one vSphere session, proven from the
simulator's trace and by reading the VMs back."""
import pytest

from conftest import connect, run_playbook
from role_support import CLUSTER_HOSTS, SERIAL_CONSOLE, SIX_VMS, Trace, changed_hosts, rulesets, snapshot, write_inventory
from vsphere_helpers import find_vm, power


# ~45 s; the bulk path is in the CI legs through test_roles.py (firewall warnings, bulk)
@pytest.mark.matrix(ci=False)
def test_bulk_plans_and_configures_in_one_session(tmp_path, fresh_vcsim):
    sim = fresh_vcsim(vm=3)
    si = connect(sim)
    for name in SIX_VMS:
        power(find_vm(si, name), "poweredOff")
    power(find_vm(si, "DC0_H0_VM0"), "poweredOn")  # a port must be added: this VM fails, untouched
    inventory = write_inventory(tmp_path, SIX_VMS, group_vars={"serial_console_bulk": True})
    play = [{"import_playbook": SERIAL_CONSOLE}]
    vm_host = find_vm(si, "DC0_C0_RP0_VM2").runtime.host.name
    before_vms = snapshot(si, SIX_VMS)
    trace = Trace(sim)

    run = run_playbook(tmp_path, play, sim=sim, inventory=inventory, args=["--check"], name="check")
    assert "PLAY RECAP" in run.stdout, run
    methods = trace.methods()
    assert not set(methods) & {"EnableRuleset", "ReconfigVM_Task", "PowerOffVM_Task"}, methods
    assert snapshot(si, SIX_VMS) == before_vms

    trace.mark()
    run = run_playbook(tmp_path, play, sim=sim, inventory=inventory, name="apply")
    assert run.rc != 0  # DC0_H0_VM0 is powered on
    failed = sorted(set(e["host"] for e in run.results if e["status"] == "failed"))
    assert failed == ["DC0_H0_VM0"], run
    assert "poweredOn" in [e for e in run.results if e["status"] == "failed"][0]["result"]["msg"]
    methods = trace.methods()
    enables = [i for i, m in enumerate(methods) if m == "EnableRuleset"]
    assert enables and max(enables) < methods.index("ReconfigVM_Task"), methods
    # one plan, two reads for cluster scope, three enable calls (remoteSerialPort on DC0_H0 by host
    # scope, on the cluster's hosts in DC0, vSPC on one cluster host), one configuration: all in the
    # run's one session
    assert methods.count("Login") == 1, methods
    assert methods.count("ReconfigVM_Task") == 5
    hosts = rulesets(si)
    # DC0_H0_VM0 failed before the firewall step: DC0_H0 gets only what DC0_H0_VM1 needs (host scope)
    assert hosts["DC0_H0"] == {"remoteSerialPort": True, "vSPC": False}
    for name in CLUSTER_HOSTS:
        assert hosts[name] == {"remoteSerialPort": True, "vSPC": name == vm_host}
    after = snapshot(si, SIX_VMS)
    assert after["DC0_H0_VM0"] == before_vms["DC0_H0_VM0"]
    for name, settings in SIX_VMS.items():
        if name == "DC0_H0_VM0":
            continue
        assert sorted(after[name][1]) == sorted(p["number"] for p in settings["serial_console_ports"]), name
    # Each VM reports its own change in the report task (the run_once steps count for the first VM
    # of the play, here DC0_H0_VM0, which fails in the report task, untouched).
    reported = [e for e in run.results if "Report | Fail the VM" in e["task"]]
    assert sorted(e["host"] for e in reported if e["result"].get("changed")) == sorted(n for n in SIX_VMS if n != "DC0_H0_VM0")
    assert [e["host"] for e in reported if e["status"] == "failed"] == ["DC0_H0_VM0"]

    power(find_vm(si, "DC0_H0_VM0"), "poweredOff")
    trace.mark()
    run = run_playbook(tmp_path, play, sim=sim, inventory=inventory, name="rest")
    assert run.rc == 0, run
    assert changed_hosts(run) == ["DC0_H0_VM0"]
    assert sorted(snapshot(si, ["DC0_H0_VM0"])["DC0_H0_VM0"][1]) == [1]

    trace.mark()
    run = run_playbook(tmp_path, play, sim=sim, inventory=inventory, name="again")
    assert run.rc == 0, run
    assert changed_hosts(run) == []
    methods = trace.methods()
    assert not set(methods) & {"EnableRuleset", "ReconfigVM_Task"}, methods
    assert methods.count("Login") == 1, methods


def test_bulk_mode_power_cycles_running_vms_when_allowed(tmp_path, fresh_vcsim):
    """serial_console_allow_power_cycle in bulk mode: the running VMs that need a port added are
    powered off (two at most at once, the bulk module's default), changed and powered on again;
    read back through pyVmomi."""
    sim = fresh_vcsim(vm=3)
    si = connect(sim)
    names = ["DC0_H0_VM0", "DC0_H0_VM1", "DC0_H0_VM2"]
    for name in names:
        power(find_vm(si, name), "poweredOn")
    port = [{"number": 1, "backing": {"type": "file", "file_path": "[LocalDS_0] console/com1.log"}}]
    inventory = write_inventory(tmp_path, dict((n, {"serial_console_ports": port}) for n in names),
                                group_vars={"serial_console_bulk": True, "serial_console_allow_power_cycle": True})
    trace = Trace(sim)
    run = run_playbook(tmp_path, [{"import_playbook": SERIAL_CONSOLE}], sim=sim, inventory=inventory)
    assert run.rc == 0, run
    assert changed_hosts(run) == names
    methods = trace.methods()
    assert methods.count("ReconfigVM_Task") == 3 and methods.count("Login") == 1, methods
    assert methods.count("PowerOffVM_Task") + methods.count("ShutdownGuest") == 3, methods
    after = snapshot(si, names)
    assert after == dict((n, ("poweredOn", {1: "FileBackingInfo"})) for n in names), after
