"""A clean run prints no warning: the three playbooks of the README's main job (serial_console.yml,
vmci_firewall.yml, audit.yml) over the example inventory's settings, given to the simulator's VMs as
scripts/main-job gives them, without any ANSIBLE_* setting that would hide a warning. And a task of the
collection that tries to reach a VM of the inventory says to delegate it to the controller."""
import os
import shutil

import pytest
from conftest import ROOT, run_playbook

PLAYBOOKS = os.path.join(ROOT, "playbooks")
EXAMPLE = os.path.join(PLAYBOOKS, "inventory", "example")
VMS = ["DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1", "DC0_H0_VM0", "DC0_H0_VM1"]
# Every kind of warning on, also those the tests' environment quiets (tests/integration/conftest.py).
WARNINGS_ON = dict((key, "true") for key in (
    "ANSIBLE_LOCALHOST_WARNING", "ANSIBLE_INVENTORY_UNPARSED_WARNING", "ANSIBLE_DEPRECATION_WARNINGS",
    "ANSIBLE_ACTION_WARNINGS", "ANSIBLE_SYSTEM_WARNINGS"))


def example_inventory(tmp_path):
    """The example inventory with the simulator's VMs as hosts, each with the settings of one of the
    example's hosts (as scripts/main-job writes it)."""
    dest = tmp_path / "inventory"
    (dest / "host_vars").mkdir(parents=True)
    (dest / "group_vars" / "vms").mkdir(parents=True)
    shutil.copy(os.path.join(EXAMPLE, "group_vars", "all.yml"), str(dest / "group_vars" / "all.yml"))
    shutil.copy(os.path.join(EXAMPLE, "group_vars", "vms.yml"), str(dest / "group_vars" / "vms" / "10-example.yml"))
    (dest / "group_vars" / "vms" / "20-simulator.yml").write_text("---\nserial_console_allow_power_cycle: true\n")
    settings = sorted(os.listdir(os.path.join(EXAMPLE, "host_vars")))
    lines = ["---", "vms:", "  hosts:"]
    for index, name in enumerate(VMS):
        lines.append("    %s:" % name)
        shutil.copy(os.path.join(EXAMPLE, "host_vars", settings[index % len(settings)]),
                    str(dest / "host_vars" / ("%s.yml" % name)))
    (dest / "hosts.yml").write_text("\n".join(lines) + "\n")
    return str(dest)


@pytest.mark.matrix
@pytest.mark.docs
def test_the_three_playbooks_print_no_warning(tmp_path, fresh_vcsim):
    sim = fresh_vcsim()
    inventory = example_inventory(tmp_path)
    for book, args in (("serial_console.yml", []), ("vmci_firewall.yml", []), ("serial_console.yml", ["--check"]),
                       ("audit.yml", ["-e", "audit_report_dir=%s" % (tmp_path / "audit"), "-e", "audit_show_report=false"])):
        run = run_playbook(tmp_path, [{"import_playbook": os.path.join(PLAYBOOKS, book)}], sim=sim, inventory=inventory,
                           env=WARNINGS_ON, args=args, name=book[:-4])
        assert run.rc == 0, run
        text = run.stdout + run.stderr
        assert "[WARNING]" not in text and "[DEPRECATION WARNING]" not in text, (book, args, text[-5000:])
    assert (tmp_path / "audit" / "vmchannels-audit.json").exists()


@pytest.mark.bad_input
def test_a_task_not_delegated_to_the_controller_says_to_delegate_it(tmp_path):
    """A module of the collection run on a VM of the inventory (no delegate_to, no connection: local):
    Ansible tries to log in to the VM; the failure says what to do. No simulator: nothing is reached."""
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("vms:\n  hosts:\n    web01:\n      ansible_host: 127.0.0.1\n      ansible_port: 1\n"
                         "      ansible_connection: ssh\n")
    plays = [{"hosts": "vms", "gather_facts": False, "tasks": [
        {"name": "read", "vmchannels.vsphere.vm_serial_port_info": {"name": "web01"}}]}]
    run = run_playbook(tmp_path, plays, inventory=str(inventory), env={"ANSIBLE_TIMEOUT": "5"})
    assert run.rc == 4, run  # unreachable
    msg = run.result("read")["msg"]
    assert "The task tried to reach host 'web01' (connection ssh) to run vmchannels.vsphere.vm_serial_port_info" in msg
    assert "add 'delegate_to: localhost' to the task (or 'connection: local' to the play)" in msg, msg
