"""The roles serial_console and vmci_firewall against the simulator.

What is proven here, by reading the simulator's request trace and the VMs and hosts back with
pyVmomi (tests/integration/vsphere_helpers.py), not by trusting ``changed``:

* the firewall step runs before any port is touched (every EnableRuleset precedes the first
  PowerOffVM_Task / ReconfigVM_Task), once per ESXi host and rule set however many VMs share the
  host, on the VM's host or on every host of its cluster as the scope says;
* when the firewall step fails, no port of any VM is touched and no VM is power cycled;
* check mode changes nothing; a second run changes nothing and enables nothing;
* role arguments are validated before the first vSphere request;
* the molecule scenarios of both roles pass (converge, idempotence, verify against the simulator).
"""
import json
import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT, ansible_env, connect, run_playbook
from role_support import (
    CLUSTER_HOSTS,
    LISTEN,
    SERIAL_CONSOLE,
    SIX_VMS,
    VMCI_FIREWALL,
    VSPC,
    Trace,
    changed_hosts,
    rulesets,
    snapshot,
    vmci_state,
    write_inventory,
)
from vsphere_helpers import find_vm, power, serial_ports


@pytest.mark.matrix
@pytest.mark.parametrize("upstream_firewall", [False, True], ids=["esxi", "upstream-vcsim"])
def test_serial_console_check_mode_then_firewall_once_per_host_before_ports_then_idempotent(
        tmp_path, fresh_vcsim, upstream_firewall):
    """Also on a simulator that behaves as upstream vcsim (host.config.firewall never follows the
    rule-set changes): the role reads the firewall systems, so its second run changes nothing there too."""
    sim = fresh_vcsim(vm=3, upstream_firewall=upstream_firewall)
    si = connect(sim)
    inventory = write_inventory(tmp_path, SIX_VMS, group_vars={"serial_console_allow_power_cycle": True})
    play = [{"import_playbook": SERIAL_CONSOLE}]
    vm_host = find_vm(si, "DC0_C0_RP0_VM2").runtime.host.name
    before_hosts = rulesets(si)
    before_vms = snapshot(si, SIX_VMS)
    trace = Trace(sim)

    # Check mode: reports the changes, makes none.
    run = run_playbook(tmp_path, play, sim=sim, inventory=inventory, args=["--check"], name="check")
    assert run.rc == 0, run
    assert changed_hosts(run) == sorted(SIX_VMS)
    methods = trace.methods()
    assert not set(methods) & {"EnableRuleset", "DisableRuleset", "ReconfigVM_Task", "PowerOffVM_Task",
                               "PowerOnVM_Task", "ShutdownGuest"}, methods
    assert rulesets(si) == before_hosts
    assert snapshot(si, SIX_VMS) == before_vms

    # The real run.
    trace.mark()
    run = run_playbook(tmp_path, play, sim=sim, inventory=inventory, name="apply")
    assert run.rc == 0, run
    methods = trace.methods()
    enables = [i for i, m in enumerate(methods) if m == "EnableRuleset"]
    first_port_change = min(i for i, m in enumerate(methods) if m in ("ReconfigVM_Task", "PowerOffVM_Task"))
    assert enables and max(enables) < first_port_change, methods
    # Once per host and rule set: DC0_H0 x2, the three cluster hosts x1 (remoteSerialPort, two VMs
    # of cluster scope), and vSPC on the host of DC0_C0_RP0_VM2 only (host scope).
    assert len(enables) == 6, methods
    assert "DisableRuleset" not in methods and "UpdateRuleset" not in methods
    # One session for the whole run, shared by its forks: the plans, the reads, the enable calls and
    # the reconfigurations (tests/integration/execution/test_in_process.py), logged out at the end.
    assert methods.count("Login") == 1 and methods[-1] == "Logout", methods
    fw_runs = [e for e in run.results if e["task"].endswith("Firewall | Enable the rule sets the serial ports need")
               and e["status"] != "skipped"]
    assert len(fw_runs) == 1 and len(fw_runs[0]["result"]["results"]) <= 2, fw_runs

    hosts = rulesets(si)
    expected = dict((name, {"remoteSerialPort": False, "vSPC": False}) for name in hosts)
    expected["DC0_H0"] = {"remoteSerialPort": True, "vSPC": True}
    for name in CLUSTER_HOSTS:
        expected[name] = {"remoteSerialPort": True, "vSPC": name == vm_host}
    assert hosts == expected
    after = snapshot(si, SIX_VMS)
    for name, settings in SIX_VMS.items():
        power, ports = after[name]
        assert power == "poweredOn", name  # power cycled for the new ports, and back on
        wanted = dict((p["number"], p["backing"]["type"]) for p in settings["serial_console_ports"])
        assert sorted(ports) == sorted(wanted), (name, ports)
        for number, kind in wanted.items():
            assert ports[number].lower().startswith({"network": "uri", "file": "file", "thinprint": "thinprint"}[kind])

    # Second run: nothing changes, nothing is enabled or reconfigured, no enable session opened.
    trace.mark()
    run = run_playbook(tmp_path, play, sim=sim, inventory=inventory, name="again")
    assert run.rc == 0, run
    assert changed_hosts(run) == []
    methods = trace.methods()
    assert not set(methods) & {"EnableRuleset", "ReconfigVM_Task", "PowerOffVM_Task"}, methods
    # The 5 plans, the 2 reads, and DC0_H0_VM2 (no network port: not planned, applied directly), in
    # the run's one session.
    assert methods.count("Login") == 1, methods.count("Login")
    assert snapshot(si, SIX_VMS) == after


def test_firewall_failure_leaves_every_port_untouched(tmp_path, fresh_vcsim):
    """The firewall step fails (here vCenter refuses the account used for the firewall task, as it
    would refuse an account without Host.Config.NetService): no VM is power cycled or reconfigured,
    including the VM whose ports need no rule set, and the run fails."""
    sim = fresh_vcsim(username="automation@vsphere.local", password="Right-Password-1")
    si = connect(sim)
    names = ["DC0_H0_VM0", "DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1"]
    inventory = write_inventory(tmp_path, {
        "DC0_H0_VM0": {"serial_console_ports": [{"number": 1, "backing": VSPC}]},
        "DC0_C0_RP0_VM0": {"serial_console_firewall_scope": "host",
                           "serial_console_ports": [{"number": 1, "backing": LISTEN}]},
        "DC0_C0_RP0_VM1": {"serial_console_ports": [{"number": 1, "backing": {"type": "thinprint"}}]},
    }, group_vars={"serial_console_allow_power_cycle": True})
    connection = {"hostname": sim.host, "port": sim.port, "username": sim.username, "password": sim.password,
                  "validate_certs": False}
    plays = [{
        "name": "Serial consoles", "hosts": "vms", "gather_facts": False,
        "module_defaults": {
            "group/vmchannels.vsphere.vsphere": connection,
            "vmchannels.vsphere.esxi_serial_firewall_ruleset": {"password": "Wrong-Password-2"},
        },
        "roles": ["vmchannels.vsphere.serial_console"],
    }]
    before_vms = snapshot(si, names)
    before_hosts = rulesets(si)
    trace = Trace(sim)
    run = run_playbook(tmp_path, plays, inventory=inventory)  # no VMWARE_* variables: module_defaults only
    assert run.rc != 0, run
    failed = [e for e in run.results if e["status"] == "failed"]
    assert [e["task"].split(" : ")[-1] for e in failed] == ["Firewall | Enable the rule sets the serial ports need"], failed
    assert "password" in json.dumps(failed[0]["result"]).lower() or "log in" in json.dumps(failed[0]["result"])
    assert not [e for e in run.results if "Ports |" in e["task"] and e["status"] != "skipped"]
    methods = trace.methods()
    assert not set(methods) & {"ReconfigVM_Task", "PowerOffVM_Task", "ShutdownGuest", "EnableRuleset"}, methods
    assert snapshot(si, names) == before_vms
    assert rulesets(si) == before_hosts
    assert "Wrong-Password-2" not in run.stdout + run.stderr


@pytest.mark.matrix
def test_serial_console_fails_only_the_vms_whose_plan_failed_untouched(tmp_path, fresh_vcsim):
    """Default mode plans every VM in one check-mode run of the bulk module: a VM whose input the
    modules refuse (port 33: the argument spec cannot say so) and a running VM that would need a
    power cycle it is not allowed fail untouched, each with its own message, before any port of
    theirs is touched; the VMs planned with them are configured all the same."""
    sim = fresh_vcsim()
    si = connect(sim)
    power(find_vm(si, "DC0_C0_RP0_VM0"), "poweredOff")
    power(find_vm(si, "DC0_C0_RP0_VM1"), "poweredOff")
    power(find_vm(si, "DC0_H0_VM1"), "poweredOn")
    vms = {
        "DC0_H0_VM0": {"serial_console_ports": [{"number": 33, "backing": LISTEN}]},
        "DC0_H0_VM1": {"serial_console_ports": [{"number": 1, "backing": VSPC}]},
        "DC0_C0_RP0_VM0": {"serial_console_ports": [{"number": 1, "backing": LISTEN}]},
        "DC0_C0_RP0_VM1": {"serial_console_ports": [{"number": 2, "backing": {"type": "thinprint"}}]},
    }
    inventory = write_inventory(tmp_path, vms)
    before = snapshot(si, vms)
    run = run_playbook(tmp_path, [{"import_playbook": SERIAL_CONSOLE}], sim=sim, inventory=inventory)
    assert run.rc != 0, run
    failed = dict((e["host"], e["result"]["msg"]) for e in run.results if e["status"] == "failed")
    assert sorted(failed) == ["DC0_H0_VM0", "DC0_H0_VM1"], failed
    assert "number must be between 1 and 32" in failed["DC0_H0_VM0"], failed
    assert "DC0_H0_VM1" not in failed["DC0_H0_VM0"], failed  # its own problem only
    assert "poweredOn" in failed["DC0_H0_VM1"] and "allow_power_cycle" in failed["DC0_H0_VM1"], failed
    after = snapshot(si, vms)
    assert after["DC0_H0_VM0"] == before["DC0_H0_VM0"] and after["DC0_H0_VM1"] == before["DC0_H0_VM1"]
    assert sorted(after["DC0_C0_RP0_VM0"][1]) == [1] and sorted(after["DC0_C0_RP0_VM1"][1]) == [2], after
    # Only the firewall of the VM that was configured: remoteSerialPort on its cluster, no vSPC
    # (DC0_H0_VM1 failed before the firewall step).
    hosts = rulesets(si)
    assert hosts["DC0_H0"] == {"remoteSerialPort": False, "vSPC": False}, hosts
    assert all(hosts[name] == {"remoteSerialPort": True, "vSPC": False} for name in CLUSTER_HOSTS), hosts


def test_role_arguments_are_checked_before_any_request(tmp_path, fresh_vcsim):
    sim = fresh_vcsim()
    inventory = write_inventory(tmp_path, {
        "DC0_H0_VM0": {"serial_console_ports": [{"backing": VSPC}]},  # no number
        "DC0_H0_VM1": {"serial_console_firewall_scope": "datacenter",
                       "serial_console_ports": [{"number": 1, "backing": VSPC}]},
    })
    trace = Trace(sim)
    run = run_playbook(tmp_path, [{"import_playbook": SERIAL_CONSOLE}], sim=sim, inventory=inventory)
    assert run.rc != 0
    errors = dict((e["host"], " ".join(e["result"].get("argument_errors", [])))
                  for e in run.results if e["status"] == "failed")
    assert "number" in errors["DC0_H0_VM0"], errors
    assert "serial_console_firewall_scope" in errors["DC0_H0_VM1"] and "cluster, host" in errors["DC0_H0_VM1"], errors

    inventory = write_inventory(tmp_path, {"DC0_H0_VM0": {"vmci_firewall_profile": "deny_everything"}}, name="v.json")
    run = run_playbook(tmp_path, [{"import_playbook": VMCI_FIREWALL}], sim=sim, inventory=inventory, name="vmci")
    assert run.rc != 0
    failed = [e for e in run.results if e["status"] == "failed"]
    assert "deny_all, hypervisor_only, unrestricted" in " ".join(failed[0]["result"]["argument_errors"]), failed
    assert trace.methods() == []


def test_without_argument_validation_the_role_still_refuses_bad_input(tmp_path, fresh_vcsim):
    """A caller may skip the role's argument validation (rolespec_validate: false, a task per VM
    less); the plan still fails the VM whose input is wrong, with a message, before any change."""
    sim = fresh_vcsim()
    si = connect(sim)
    vms = {"DC0_H0_VM0": {"serial_console_ports": [{"number": 1, "backing": LISTEN}],
                          "serial_console_firewall_scope": "datacenter"},
           "DC0_H0_VM1": {"serial_console_ports": [{"number": 0, "backing": LISTEN}]}}
    inventory = write_inventory(tmp_path, vms)
    plays = [{"hosts": "vms", "gather_facts": False, "tasks": [
        {"ansible.builtin.import_role": {"name": "vmchannels.vsphere.serial_console", "rolespec_validate": False}}]}]
    before, before_hosts = snapshot(si, vms), rulesets(si)
    trace = Trace(sim)
    run = run_playbook(tmp_path, plays, sim=sim, inventory=inventory)
    assert run.rc != 0, run
    assert not [e for e in run.results if "arg spec" in e["task"]], run
    failed = dict((e["host"], e["result"]["msg"]) for e in run.results if e["status"] == "failed")
    assert "serial_console_firewall_scope must be one of: cluster, host" in failed["DC0_H0_VM0"], failed
    assert "number must be between 1 and 32" in failed["DC0_H0_VM1"], failed
    assert not set(trace.methods()) & {"EnableRuleset", "ReconfigVM_Task", "PowerOffVM_Task"}
    assert snapshot(si, vms) == before and rulesets(si) == before_hosts


@pytest.mark.matrix
def test_vmci_firewall_profiles_rules_and_untouched_vms(tmp_path, fresh_vcsim):
    sim = fresh_vcsim()
    si = connect(sim)
    inventory = write_inventory(tmp_path, {
        "DC0_H0_VM0": {"vmci_firewall_profile": "hypervisor_only"},
        # Explicit rules win over a profile set for a whole group.
        "DC0_H0_VM1": {"vmci_firewall_profile": "deny_all",
                       "vmci_firewall_rules": [{"action": "allow", "protocol": "stream", "direction": "host",
                                                "ports": "2000-2010"},
                                               {"action": "deny", "protocol": "anyProtocol",
                                                "direction": "anyDirection"}]},
        "DC0_C0_RP0_VM0": {"vmci_firewall_profile": "unrestricted", "vmci_firewall_enabled": False},
        "DC0_C0_RP0_VM1": {},  # no VMCI setting: left alone
    })
    untouched = vmci_state(si, "DC0_C0_RP0_VM1")
    trace = Trace(sim)
    run = run_playbook(tmp_path, [{"import_playbook": VMCI_FIREWALL}], sim=sim, inventory=inventory)
    assert run.rc == 0, run
    assert changed_hosts(run) == ["DC0_C0_RP0_VM0", "DC0_H0_VM0", "DC0_H0_VM1"]
    assert trace.methods().count("ReconfigVM_Task") == 3
    deny_all = ("deny", "anyProtocol", "anyDirection", None, None)
    assert vmci_state(si, "DC0_H0_VM0") == (True, [("allow", "hypervisor", "anyDirection", None, None), deny_all])
    assert vmci_state(si, "DC0_H0_VM1") == (True, [("allow", "stream", "host", 2000, 2010), deny_all])
    assert vmci_state(si, "DC0_C0_RP0_VM0") == (False, [])
    assert vmci_state(si, "DC0_C0_RP0_VM1") == untouched
    trace.mark()
    run = run_playbook(tmp_path, [{"import_playbook": VMCI_FIREWALL}], sim=sim, inventory=inventory, name="again")
    assert run.rc == 0, run
    assert changed_hosts(run) == []
    assert "ReconfigVM_Task" not in trace.methods()


@pytest.mark.matrix
def test_roles_and_audit_find_vms_by_moid_or_uuid_without_name_lookups(tmp_path, fresh_vcsim):
    """serial_console_vm_moid / _uuid and vmci_firewall_vm_moid / _uuid: the inventory hosts are
    labels, not VM names; the VMs are found by moid (no request) or uuid (FindAllByUuid), never
    by a name look-up, and the moid wins over a wrong name."""
    sim = fresh_vcsim()
    si = connect(sim)
    by_moid, by_uuid = find_vm(si, "DC0_H0_VM0"), find_vm(si, "DC0_C0_RP0_VM0")
    inventory = write_inventory(tmp_path, {
        "console-a": {"serial_console_vm_moid": by_moid._moId, "vmci_firewall_vm_moid": by_moid._moId,
                      "serial_console_vm": "no-such-vm", "serial_console_ports": [{"number": 1, "backing": VSPC}],
                      "vmci_firewall_profile": "deny_all"},
        "console-b": {"serial_console_vm_uuid": by_uuid.config.uuid, "vmci_firewall_vm_uuid": by_uuid.config.uuid,
                      "serial_console_ports": [{"number": 1, "backing": LISTEN}],
                      "vmci_firewall_profile": "hypervisor_only"},
    }, group_vars={"serial_console_allow_power_cycle": True})
    books = [SERIAL_CONSOLE, VMCI_FIREWALL]
    trace = Trace(sim)
    for book in books:
        run = run_playbook(tmp_path, [{"import_playbook": book}], sim=sim, inventory=inventory,
                           name=os.path.basename(book)[:-4])
        assert run.rc == 0, run
        assert changed_hosts(run) == ["console-a", "console-b"]
    assert trace.vm_name_lookups() == []
    methods = trace.methods()
    # console-b by uuid: one search per vSphere task of its own (plan, ports, VMCI).
    assert methods.count("FindAllByUuid") == 3, methods
    ports = serial_ports(by_moid)
    assert sorted(ports) == [1] and ports[1]["backing"]["proxyURI"] == VSPC["proxy_uri"]
    assert sorted(serial_ports(by_uuid)) == [1]
    assert vmci_state(si, "DC0_H0_VM0")[1] == [("deny", "anyProtocol", "anyDirection", None, None)]
    assert [r[1] for r in vmci_state(si, "DC0_C0_RP0_VM0")[1]] == ["hypervisor", "anyProtocol"]

    trace.mark()
    for book in books:
        run = run_playbook(tmp_path, [{"import_playbook": book}], sim=sim, inventory=inventory, name="again")
        assert run.rc == 0, run
        assert changed_hosts(run) == []
    audit_dir = tmp_path / "audit"
    run = run_playbook(tmp_path, [{"import_playbook": os.path.join(ROOT, "playbooks", "audit.yml")}], sim=sim,
                       inventory=inventory, args=["-e", "audit_report_dir=%s" % audit_dir], name="audit")
    assert run.rc == 0, run
    assert trace.vm_name_lookups() == []
    assert "ReconfigVM_Task" not in trace.methods()
    report = json.loads((audit_dir / "vmchannels-audit.json").read_text())
    assert sorted((vm["inventory_hostname"], vm["name"], vm["moid"]) for vm in report["vms"]) == [
        ("console-a", "DC0_H0_VM0", by_moid._moId), ("console-b", "DC0_C0_RP0_VM0", by_uuid._moId)]


def firewall_warnings(run):
    """(rule set, host) of every warning about a disabled rule set in the output (wrapped lines joined)."""
    text = " ".join((run.stdout + run.stderr).split())
    return re.findall(r"The ESXi firewall rule set '(\w+)' is disabled on host ([\w.-]+)", text)


@pytest.mark.matrix
@pytest.mark.parametrize("bulk", [False, True], ids=["per_vm", "bulk"])
def test_role_warns_only_about_a_rule_set_that_stays_disabled(tmp_path, fresh_vcsim, bulk):
    """The planning step reads a disabled rule set that the firewall step then enables: no warning.
    With serial_console_manage_firewall: false the rule set stays disabled: the role warns, on the
    first run and on a run that changes nothing."""
    sim = fresh_vcsim()
    si = connect(sim)
    for name in ("DC0_H0_VM0", "DC0_H0_VM1"):
        power(find_vm(si, name), "poweredOff")
    common = {"serial_console_bulk": bulk}
    managed = write_inventory(tmp_path, {"DC0_H0_VM0": {"serial_console_ports": [{"number": 1, "backing": VSPC}]}},
                              name="managed.json", group_vars=common)
    assert rulesets(si)["DC0_H0"] == {"remoteSerialPort": False, "vSPC": False}
    run = run_playbook(tmp_path, [{"import_playbook": SERIAL_CONSOLE}], sim=sim, inventory=managed, name="managed")
    assert run.rc == 0, run
    assert changed_hosts(run) == ["DC0_H0_VM0"]
    assert rulesets(si)["DC0_H0"]["vSPC"] is True
    assert firewall_warnings(run) == []

    unmanaged = write_inventory(tmp_path, {"DC0_H0_VM1": {"serial_console_ports": [{"number": 1, "backing": LISTEN}]}},
                                name="unmanaged.json", group_vars=dict(common, serial_console_manage_firewall=False))
    for attempt in ("first", "again"):
        run = run_playbook(tmp_path, [{"import_playbook": SERIAL_CONSOLE}], sim=sim, inventory=unmanaged,
                           name="unmanaged-" + attempt)
        assert run.rc == 0, run
        assert changed_hosts(run) == (["DC0_H0_VM1"] if attempt == "first" else [])
        warnings = firewall_warnings(run)
        assert warnings and set(warnings) == {("remoteSerialPort", "DC0_H0")}, run.stdout
        assert rulesets(si)["DC0_H0"]["remoteSerialPort"] is False
    assert sorted(serial_ports(find_vm(si, "DC0_H0_VM1"))) == [1]


@pytest.mark.parametrize("role", ["serial_console", "vmci_firewall"])
def test_molecule_scenario(role, tmp_path):
    """`molecule test` of the role: create (starts the simulator), check, converge, idempotence,
    verify, destroy (stops it)."""
    env = ansible_env(extra={
        "MOLECULE_NO_LOG": "false",
        "NO_COLOR": "1",
        "PY_COLORS": "0",
        # Molecule keeps its ephemeral state (and the simulator's) under here.
        "MOLECULE_EPHEMERAL_DIRECTORY": str(tmp_path / "ephemeral"),
        "HOME": os.environ.get("HOME", str(tmp_path)),
    })
    for key in ("ANSIBLE_CALLBACKS_ENABLED", "ANSIBLE_CALLBACK_PLUGINS"):
        env.pop(key, None)
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "molecule"), "test"],
                          cwd=os.path.join(ROOT, "roles", role), env=env, capture_output=True, text=True,
                          timeout=600, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    for step in ("create", "check", "converge", "idempotence", "verify", "destroy"):
        assert "%s: Executed: Successful" % step in output.replace("\u279c ", ""), (step, output[-3000:])
    assert not os.path.exists(str(tmp_path / "ephemeral" / "vcsim" / "state.json")), "simulator not stopped"
