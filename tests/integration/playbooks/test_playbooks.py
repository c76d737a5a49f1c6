"""playbooks/: the audit report against the simulator, the connection through the vcenter_*
variables, and the example inventory."""
import json
import os
import subprocess

import pytest
from pyVmomi import vim

from conftest import BIN, ROOT, ansible_env, connect, run_playbook
from vsphere_helpers import find_vm

PLAYBOOKS = os.path.join(ROOT, "playbooks")
EXAMPLE = os.path.join(PLAYBOOKS, "inventory", "example")


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
