"""The roles speak in their own variables: a misspelled serial_console_* or vmci_firewall_* variable
is warned about once for the play, with the nearest known name (and nothing is said when every
name is right), and a module's message reaching the user through a role names the role's
variables (serial_console_datacenter...), not the module's options (datacenter...)."""
import json

import pytest
from conftest import connect, run_playbook
from pyVim.task import WaitForTask
from pyVmomi import vim
from role_support import SERIAL_CONSOLE, VMCI_FIREWALL
from vsphere_helpers import find_vm, power

THINPRINT = [{"number": 1, "backing": {"type": "thinprint"}}]


def inventory(tmp_path, hosts, name="hosts.json", **group_vars):
    data = {"vms": {"hosts": hosts, "vars": dict({"ansible_connection": "local"}, **group_vars)}}
    path = tmp_path / name
    path.write_text(json.dumps(data, indent=1))
    return str(path)


def output(run):
    """stdout and stderr, the lines Ansible wrapped joined."""
    return " ".join((run.stdout + run.stderr).split())


@pytest.mark.bad_input
def test_unknown_role_variables_are_warned_about_once_with_the_nearest_name(tmp_path, fresh_vcsim):
    sim = fresh_vcsim()
    misspelled = inventory(tmp_path, {
        "DC0_H0_VM0": {"serial_console_port": THINPRINT, "vmci_firewall_profil": "deny_all", "vmci_firewall_enabled": True},
        "DC0_H0_VM1": {"serial_console_port": THINPRINT, "vmci_firewall_enabled": True},
    }, name="misspelled.json", serial_console_bulck=True)
    run = run_playbook(tmp_path, [{"import_playbook": SERIAL_CONSOLE}], sim=sim, inventory=misspelled, name="serial")
    assert run.rc == 0, run
    text = output(run)
    warning = ("[WARNING]: The variable serial_console_port (set for DC0_H0_VM0, DC0_H0_VM1) is not a variable of "
               "the role vmchannels.vsphere.serial_console, which ignores it. Did you mean serial_console_ports?")
    assert text.count(warning) == 1, text[-3000:]
    assert text.count("The variable serial_console_bulck (set for DC0_H0_VM0, DC0_H0_VM1)") == 1, text[-3000:]
    assert "Did you mean serial_console_bulk?" in text
    assert "vmci_firewall_profil" not in text  # the other role's variables are its own business

    run = run_playbook(tmp_path, [{"import_playbook": VMCI_FIREWALL}], sim=sim, inventory=misspelled, name="vmci")
    assert run.rc == 0, run
    text = output(run)
    assert text.count("The variable vmci_firewall_profil (set for DC0_H0_VM0) is not a variable of the role "
                      "vmchannels.vsphere.vmci_firewall, which ignores it. Did you mean vmci_firewall_profile?") == 1
    assert "serial_console_port" not in text

    # a VM whose only vmci_firewall_* setting is misspelled: the playbook leaves it out of the role
    # (its policy is not set), and warns all the same
    lone = inventory(tmp_path, {"DC0_H0_VM0": {"vmci_firewall_profle": "deny_all"}, "DC0_H0_VM1": {}}, name="lone.json")
    run = run_playbook(tmp_path, [{"import_playbook": VMCI_FIREWALL}], sim=sim, inventory=lone, name="lone")
    assert run.rc == 0, run
    assert output(run).count("The variable vmci_firewall_profle (set for DC0_H0_VM0) is not a variable of the role "
                             "vmchannels.vsphere.vmci_firewall, which ignores it. Did you mean "
                             "vmci_firewall_profile?") == 1, output(run)[-3000:]

    spelled = inventory(tmp_path, {"DC0_H0_VM0": {"serial_console_ports": THINPRINT, "vmci_firewall_profile": "deny_all"}},
                        name="spelled.json", serial_console_bulk=True, serial_console_allow_power_cycle=True)
    for book in (SERIAL_CONSOLE, VMCI_FIREWALL):
        run = run_playbook(tmp_path, [{"import_playbook": book}], sim=sim, inventory=spelled, name="spelled")
        assert run.rc == 0, run
        assert "is not a variable of the role" not in output(run), output(run)[-3000:]


@pytest.fixture
def two_vms_named_alike(fresh_vcsim):
    """A simulator where two VMs are named DC0_H0_VM1 (the second in the folder DC0/vm/dup-folder)."""
    sim = fresh_vcsim()
    si = connect(sim)
    source = find_vm(si, "DC0_H0_VM1")
    power(source, "poweredOff")
    folder = si.content.rootFolder.childEntity[0].vmFolder.CreateFolder("dup-folder")
    WaitForTask(source.CloneVM_Task(folder=folder, name="DC0_H0_VM1",
                                    spec=vim.vm.CloneSpec(location=vim.vm.RelocateSpec())))
    return sim


@pytest.mark.parametrize("bulk", [False, True], ids=["per_vm", "bulk"])
def test_role_messages_name_the_role_variables(tmp_path, two_vms_named_alike, bulk):
    sim = two_vms_named_alike
    hosts = inventory(tmp_path, {"DC0_H0_VM1": {"serial_console_ports": THINPRINT, "vmci_firewall_profile": "deny_all"}},
                      serial_console_bulk=bulk, vmci_firewall_bulk=bulk)
    for book, role in ((SERIAL_CONSOLE, "serial_console"), (VMCI_FIREWALL, "vmci_firewall")):
        run = run_playbook(tmp_path, [{"import_playbook": book}], sim=sim, inventory=hosts, name=role)
        assert run.rc != 0, run
        failed = [e for e in run.results if e["status"] == "failed"]
        assert len(failed) == 1 and failed[0]["host"] == "DC0_H0_VM1", run
        msg = failed[0]["result"]["msg"]
        assert "2 virtual machines are named 'DC0_H0_VM1'" in msg, msg
        assert ("Narrow the search with {0}_datacenter and {0}_folder, or name the VM by {0}_vm_uuid or "
                "{0}_vm_moid.".format(role)) in msg, msg
        assert "vms[" not in msg, msg

    # The role's folder variable narrows the search as the message says.
    narrowed = inventory(tmp_path, {"DC0_H0_VM1": {
        "serial_console_ports": THINPRINT, "serial_console_folder": "DC0/vm/dup-folder",
        "vmci_firewall_profile": "deny_all", "vmci_firewall_folder": "DC0/vm/dup-folder"}},
        name="narrowed.json", serial_console_bulk=bulk, vmci_firewall_bulk=bulk)
    si = connect(sim)
    clone = [vm for vm in si.content.rootFolder.childEntity[0].vmFolder.childEntity
             if isinstance(vm, vim.Folder) and vm.name == "dup-folder"][0].childEntity[0]
    for book in (SERIAL_CONSOLE, VMCI_FIREWALL):
        run = run_playbook(tmp_path, [{"import_playbook": book}], sim=sim, inventory=narrowed, name="narrowed")
        assert run.rc == 0, run
    assert [d for d in clone.config.hardware.device if isinstance(d, vim.vm.device.VirtualSerialPort)]
    vmci = [d for d in clone.config.hardware.device if isinstance(d, vim.vm.device.VirtualVMCIDevice)][0]
    assert [f.action for f in vmci.filterInfo.filters] == ["deny"]
