"""playbooks/: the audit report against the simulator, the connection through the vcenter_*
variables, and the example inventory."""
import json
import os
import subprocess

import pytest
from pyVmomi import vim

from conftest import BIN, ROOT, ansible_env, connect, run_playbook
from vsphere_helpers import add_serial_port, find_vm

PLAYBOOKS = os.path.join(ROOT, "playbooks")
EXAMPLE = os.path.join(PLAYBOOKS, "inventory", "example")


def write_inventory(tmp_path, hosts, name="hosts.json"):
    path = tmp_path / name
    path.write_text(json.dumps({"vms": {"hosts": hosts, "vars": {"ansible_connection": "local"}}}))
    return str(path)


# ~30 s; audit.yml is in the CI legs through test_roles.py and test_dynamic_inventory.py
@pytest.mark.matrix(ci=False)
def test_audit_report_tables_json_and_unreadable_vms(tmp_path, fresh_vcsim):
    sim = fresh_vcsim()
    si = connect(sim)
    # DC0_H0_VM0: a vSPC port configured by the role (rule set enabled).
    # DC0_H0_VM1: a network port added behind the role's back: its rule set stays disabled.
    # DC0_C0_RP0_VM0: no serial port, VMCI rules. ghost01: no such VM.
    add_serial_port(find_vm(si, "DC0_H0_VM1"), 0, vim.vm.device.VirtualSerialPort.URIBackingInfo(
        serviceURI="telnet://:7005", direction="server"))
    inventory = write_inventory(tmp_path, {
        "DC0_H0_VM0": {"serial_console_allow_power_cycle": True, "serial_console_ports": [
            {"number": 1, "backing": {"type": "network", "service_uri": "vSPC.py",
                                      "proxy_uri": "telnet://vspc.example.com:13370"}},
            {"number": 2, "backing": {"type": "pipe", "pipe_name": "\\\\.\\pipe\\a|b"}}]},
        "DC0_H0_VM1": {},
        "DC0_C0_RP0_VM0": {"vmci_firewall_profile": "hypervisor_only"},
        "ghost01": {},
    })
    for book in ("serial_console.yml", "vmci_firewall.yml"):
        run = run_playbook(tmp_path, [{"import_playbook": os.path.join(PLAYBOOKS, book)}], sim=sim,
                           inventory=inventory, args=["--limit", "!ghost01"], name=book[:-4])
        assert run.rc == 0, run

    # The connection through the playbook's vcenter_* variables (module_defaults), no VMWARE_*.
    report_dir = tmp_path / "report"
    extra = {"vcenter_hostname": sim.host, "vcenter_port": sim.port, "vcenter_username": sim.username,
             "vcenter_password": sim.password, "vcenter_validate_certs": False, "audit_report_dir": str(report_dir)}
    run = run_playbook(tmp_path, [{"import_playbook": os.path.join(PLAYBOOKS, "audit.yml")}], inventory=inventory,
                       args=["-e", json.dumps(extra)], name="audit")
    assert run.rc == 2, run  # ghost01 fails; the others are reported
    assert not [e for e in run.results if e["status"] == "failed" and e["host"] != "ghost01"], run
    assert not [e for e in run.results if e["result"].get("changed") and e["action"].startswith("vmchannels")]

    data = json.loads((report_dir / "vmchannels-audit.json").read_text())
    assert data["unreadable_vms"] == ["ghost01"]
    assert data["summary"] == {"vms": 3, "vms_unreadable": 1, "serial_ports": 3, "network_ports": 2,
                               "network_ports_not_ready": 1, "vms_with_vmci_filtering": 1}
    vms = dict((vm["name"], vm) for vm in data["vms"])
    assert [(p["number"], p["backing"]["type"], p["ruleset"], p["ruleset_ready"])
            for p in vms["DC0_H0_VM0"]["serial_ports"]] == [(1, "network", "vSPC", True), (2, "pipe", None, None)]
    assert [(p["ruleset"], p["ruleset_ready"]) for p in vms["DC0_H0_VM1"]["serial_ports"]] == [("remoteSerialPort", False)]
    assert vms["DC0_C0_RP0_VM0"]["serial_ports"] == []
    assert vms["DC0_C0_RP0_VM0"]["vmci"]["filter_enabled"] is True
    assert [r["protocol"] for r in vms["DC0_C0_RP0_VM0"]["vmci"]["rules"]] == ["hypervisor", "anyProtocol"]
    assert data["hosts"]["DC0_H0"]["vSPC"] is True and data["hosts"]["DC0_H0"]["remoteSerialPort"] is False

    table = (report_dir / "vmchannels-audit.md").read_text()
    lines = table.splitlines()
    assert "| VM | power | port | backing | connected | rule set ready | VMCI filtering |" in lines
    assert any(l.startswith("| DC0_H0_VM0 | poweredOn | 1 | network server vSPC.py via vSPC telnet://vspc.example.com:13370 |")
               and "vSPC on DC0_H0: ready" in l for l in lines), table
    assert any(l.startswith("| DC0_H0_VM0 | poweredOn | 2 | pipe server \\\\.\\pipe\\a\\|b |") for l in lines), table
    assert any(l.startswith("| DC0_H0_VM1 |") and "remoteSerialPort on DC0_H0: NOT READY" in l for l in lines), table
    assert any(l.startswith("| DC0_C0_RP0_VM0 | poweredOn | — | no serial port |")
               and "on, 2 rules: allow hypervisor, deny anyProtocol" in l for l in lines), table
    assert "| DC0_H0 | — | DC0 | disabled | enabled |" in lines
    assert "Could not be read (see the play output): ghost01." in lines
    # Every table row has the header's number of cells (escaped pipes do not split cells).
    for line in lines:
        if line.startswith("| DC0_"):
            assert len(line.replace("\\|", "").split("|")) in (7, 9), line
    shown = run.task("Show the report")["result"]["msg"]
    assert shown == lines
    stats = run.task("Hand the summary to AWX (job artifacts)")["result"]["ansible_stats"]["data"]
    assert stats["vmchannels_audit"] == data["summary"]
    assert sim.password not in run.stdout + run.stderr


@pytest.mark.matrix
def test_example_inventory_shows_every_backing_and_parses(tmp_path):
    proc = subprocess.run([os.path.join(BIN, "ansible-inventory"), "-i", EXAMPLE, "--list"], env=ansible_env(),
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    hostvars = data["_meta"]["hostvars"]
    vms = sorted(h for group in ("web", "db", "legacy") for h in data[group]["hosts"])
    assert vms == ["db01", "legacy01", "web01", "web02"]
    backings = set()
    for name in vms:
        for port in hostvars[name]["serial_console_ports"]:
            backing = port["backing"]
            backings.add((backing["type"], bool(backing.get("proxy_uri")), backing.get("direction")))
        assert hostvars[name]["serial_console_firewall_scope"] == "cluster"
    kinds = set(b[0] for b in backings)
    assert kinds == {"network", "pipe", "file", "device", "thinprint"}
    assert ("network", True, "server") in backings  # through a vSPC
    assert ("network", False, "server") in backings and ("network", False, "client") in backings
    for book in ("serial_console.yml", "vmci_firewall.yml", "audit.yml"):
        proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", EXAMPLE, "--syntax-check",
                               os.path.join(PLAYBOOKS, book)], env=ansible_env(), capture_output=True, text=True,
                              check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.matrix
def test_serial_console_playbook_targets_another_group(tmp_path, fresh_vcsim):
    """vmchannels_hosts picks the group; VMs outside it are not read."""
    sim = fresh_vcsim()
    inventory = tmp_path / "hosts.json"
    inventory.write_text(json.dumps({"all": {"vars": {"ansible_connection": "local"}, "children": {
        "lab": {"hosts": {"DC0_H0_VM0": {"serial_console_allow_power_cycle": True, "serial_console_ports": [
            {"number": 1, "backing": {"type": "thinprint"}}]}}},
        "vms": {"hosts": {"DC0_H0_VM1": {"serial_console_ports": [{"number": 1, "backing": {"type": "thinprint"}}]}}},
    }}}))
    run = run_playbook(tmp_path, [{"import_playbook": os.path.join(PLAYBOOKS, "serial_console.yml")}], sim=sim,
                       inventory=str(inventory), args=["-e", "vmchannels_hosts=lab"])
    assert run.rc == 0, run
    assert sorted(set(e["host"] for e in run.results)) == ["DC0_H0_VM0"]
    si = connect(sim)
    assert [d for d in find_vm(si, "DC0_H0_VM0").config.hardware.device
            if isinstance(d, vim.vm.device.VirtualSerialPort)]
    assert not [d for d in find_vm(si, "DC0_H0_VM1").config.hardware.device
                if isinstance(d, vim.vm.device.VirtualSerialPort)]


@pytest.mark.matrix
def test_playbooks_fail_when_the_host_pattern_matches_no_host(tmp_path):
    """Without a group 'vms' (what an inventory plugin gives), each playbook fails and says what to
    do, instead of Ansible's warning and a run that did nothing and exits 0; also when --limit
    leaves none of the pattern's hosts. No vSphere request: there is no simulator."""
    inventory = tmp_path / "hosts.json"
    inventory.write_text(json.dumps({"all": {"vars": {"ansible_connection": "local"}, "children": {
        "lab": {"hosts": {"DC0_H0_VM0": {}}}, "other": {"hosts": {"DC0_H0_VM1": {}}}}}}))
    for book, extra in (("serial_console.yml", []), ("vmci_firewall.yml", []), ("audit.yml", []),
                        ("serial_console.yml", ["-e", "vmchannels_hosts=lab", "--limit", "other"])):
        run = run_playbook(tmp_path, [{"import_playbook": os.path.join(PLAYBOOKS, book)}], inventory=str(inventory),
                           args=extra, name=book[:-4])
        assert run.rc == 2, run
        failed = [e for e in run.results if e["status"] == "failed"]
        assert len(failed) == 1, run
        msg = failed[0]["result"]["msg"]
        if extra:
            assert "The host pattern 'lab' matches no host of the inventory within --limit other" in msg, msg
        else:
            assert "The host pattern 'vms' matches no host of the inventory, so there is nothing to do" in msg, msg
        assert "-e vmchannels_hosts=PATTERN" in msg and "Groups of this inventory: lab, other." in msg, msg
        assert not [e for e in run.results if e["action"].startswith("vmchannels")], run
