"""The playbooks over a dynamic inventory: the collection's inventory source for vmware.vmware.vms
(playbooks/inventory/vsphere/vmchannels.vms.yml) against the simulator, both used unchanged.

vmware.vmware 2.6.0 comes from PyPI's ``ansible`` package, pinned (tests/pypi_collections.py). The
connection is written once, as users do: the simulator's VMWARE_* variables, read by the inventory
plugin and by the modules. The VMs' settings come from a second inventory source, as a user's own
inventory would give them. What is proven, by reading the VMs back and from the simulator's trace:
a first run changes every VM, a second run changes nothing, and no VM is ever looked up by name
(every vSphere task names the VM by the moid the plugin found).
"""
import json
import os

import pytest
from pypi_collections import collections_path

from conftest import ROOT, connect, run_playbook
from role_support import LISTEN, VSPC, Trace, changed_hosts, vmci_state
from vsphere_helpers import find_vm, serial_ports

SOURCE = os.path.join(ROOT, "playbooks", "inventory", "vsphere", "vmchannels.vms.yml")
PLAYBOOKS = [os.path.join(ROOT, "playbooks", book) for book in ("serial_console.yml", "vmci_firewall.yml")]
AUDIT = os.path.join(ROOT, "playbooks", "audit.yml")
VMS = ["DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1", "DC0_H0_VM0", "DC0_H0_VM1"]


@pytest.mark.matrix
def test_playbooks_over_vmware_vmware_vms_change_then_nothing_vms_found_by_moid(tmp_path, fresh_vcsim):
    sim = fresh_vcsim()
    si = connect(sim)
    moids = dict((name, find_vm(si, name)._moId) for name in VMS)
    settings = tmp_path / "settings.yml"
    settings.write_text(json.dumps({"vms": {
        "vars": {"serial_console_allow_power_cycle": True, "serial_console_ports": [{"number": 1, "backing": VSPC}],
                 "vmci_firewall_profile": "hypervisor_only"},
        "hosts": {"DC0_H0_VM1": {"serial_console_ports": [{"number": 1, "backing": LISTEN},
                                                          {"number": 2, "backing": {"type": "thinprint"}}],
                                 "vmci_firewall_profile": "deny_all"}},
    }}))
    collections = [os.path.join(ROOT, ".build", "collections"), collections_path("vmware.vmware")]
    env = {"ANSIBLE_COLLECTIONS_PATH": os.pathsep.join(collections)}

    def run_books(books, name):
        runs = []
        for book in books:
            run = run_playbook(tmp_path, [{"import_playbook": book}], sim=sim, inventory=SOURCE,
                               args=["-i", str(settings), "-e", "audit_report_dir=%s" % (tmp_path / "audit")],
                               env=env, name="%s-%s" % (name, os.path.basename(book)[:-4]))
            assert run.rc == 0, run
            runs.append(run)
        return runs

    trace = Trace(sim)
    first = run_books(PLAYBOOKS, "first")
    for run in first:
        assert changed_hosts(run) == VMS, run
        # Every vSphere task about a VM named it by the moid of the plugin's host; the bulk runs
        # (the serial_console role plans every VM in one) found exactly the plugin's VMs.
        for entry in run.results:
            if entry["action"].startswith("vmchannels.vsphere.vm_") and entry["status"] == "ok":
                if entry["action"].endswith("_bulk"):
                    runs = entry["result"].get("results", [entry["result"]])
                    found = sorted(vm["vm"]["moid"] for r in runs for vm in r.get("vms", []))
                    assert found == sorted(moids.values()), entry
                else:
                    assert entry["result"]["vm"]["moid"] == moids[entry["host"]], entry
    assert trace.vm_name_lookups() == []
    for name in VMS:
        vm = find_vm(si, name)
        ports = serial_ports(vm)
        if name == "DC0_H0_VM1":
            assert sorted(ports) == [1, 2] and ports[1]["backing"]["serviceURI"] == LISTEN["service_uri"]
            assert vmci_state(si, name)[1] == [("deny", "anyProtocol", "anyDirection", None, None)]
        else:
            assert sorted(ports) == [1] and ports[1]["backing"]["proxyURI"] == VSPC["proxy_uri"], (name, ports)
            assert [r[1] for r in vmci_state(si, name)[1]] == ["hypervisor", "anyProtocol"], name
        assert vm.runtime.powerState == "poweredOn", name

    trace.mark()
    for run in run_books(PLAYBOOKS, "again"):
        assert changed_hosts(run) == [], run
        recap = [line.split() for line in run.stdout.splitlines() if " : ok=" in line]
        assert sorted(r[0] for r in recap) == VMS and all("changed=0" in r for r in recap), run.stdout[-2000:]
    run_books([AUDIT], "audit")
    assert trace.vm_name_lookups() == []
    assert "ReconfigVM_Task" not in trace.methods()
    report = json.loads((tmp_path / "audit" / "vmchannels-audit.json").read_text())
    assert sorted((vm["name"], vm["moid"]) for vm in report["vms"]) == sorted(moids.items())
    assert report["summary"]["network_ports_not_ready"] == 0
