"""plugin_utils/roles/variables.py: unknown role variables (with the nearest known name) and the
modules' messages worded for a role."""
import pytest
from ansible_collections.vmchannels.vsphere.plugins.plugin_utils.roles import variables


def test_known_variables_are_the_argument_spec_and_the_result():
    known = variables.known_variables("serial_console")
    assert {"serial_console_ports", "serial_console_bulk", "serial_console_folder", "serial_console_result"} <= known
    assert all(name.startswith("serial_console_") for name in known)
    vmci = variables.known_variables("vmci_firewall")
    assert {"vmci_firewall_profile", "vmci_firewall_bulk", "vmci_firewall_result"} <= vmci


def test_unknown_variables_name_their_hosts_and_the_nearest_known_name():
    known = variables.known_variables("serial_console")
    notes = [
        {"host": "web01", "variables": ["serial_console_port", "serial_console_vm", "vmci_firewall_profile"]},
        {"host": "web02", "variables": ["serial_console_port", "serial_console_zzz_unrelated"]},
        {"host": "web03", "variables": ["serial_console_ports"]},
    ]
    assert variables.unknown_variables(notes, "serial_console", known) == [
        ("serial_console_port", ["web01", "web02"], "serial_console_ports"),
        ("serial_console_zzz_unrelated", ["web02"], None),
    ]
    assert variables.unknown_variables(notes[2:], "serial_console", known) == []


def test_the_warning_names_the_variable_the_hosts_and_the_nearest_name():
    text = variables.unknown_variable_warning("serial_console", "serial_console_port", ["web01", "web02"],
                                              "serial_console_ports")
    assert text == ("The variable serial_console_port (set for web01, web02) is not a variable of the role "
                    "vmchannels.vsphere.serial_console, which ignores it. Did you mean serial_console_ports?")
    many = variables.unknown_variable_warning("vmci_firewall", "vmci_firewall_x", ["h%d" % i for i in range(8)], None)
    assert "(set for h0, h1, h2, h3, h4 and 3 more)" in many
    assert many.endswith("ansible-doc -t role vmchannels.vsphere.vmci_firewall")


@pytest.mark.parametrize("message,expected", [
    ("2 virtual machines are named 'web01', in: /DC0/vm (moid vm-1), /DC1/vm (moid vm-2). Narrow the search with "
     "datacenter and folder, or name the VM by uuid or moid.",
     "2 virtual machines are named 'web01', in: /DC0/vm (moid vm-1), /DC1/vm (moid vm-2). Narrow the search with "
     "serial_console_datacenter and serial_console_folder, or name the VM by serial_console_vm_uuid or "
     "serial_console_vm_moid."),
    ("vms[0] (DC0_H0_VM0): serial_ports[0] (number 33): number must be between 1 and 32",
     "serial_console_ports[0] (number 33): number must be between 1 and 32"),
    ("VM 'x' (vm-1) is poweredOn: set allow_power_cycle: true to shut it down. Nothing was changed.",
     "VM 'x' (vm-1) is poweredOn: set serial_console_allow_power_cycle: true to shut it down. Nothing was changed."),
    ("vms[1] (x): uuid 'abc' is not a UUID: 32 hexadecimal digits",
     "serial_console_vm_uuid 'abc' is not a UUID: 32 hexadecimal digits"),
    ("No virtual machine named 'x' was found in datacenter 'DC1'.",
     "No virtual machine named 'x' was found in datacenter 'DC1'."),
    ("", ""),
])
def test_messages_name_the_role_variables(message, expected):
    assert variables.role_message(message, "serial_console") == expected


def test_vmci_messages_name_the_vmci_variables():
    assert variables.role_message("vms[0] (x): rules[1].ports: '9-2' is not a range", "vmci_firewall") == \
        "vmci_firewall_rules[1].ports: '9-2' is not a range"
    assert variables.role_message("moid 'a b' is not a managed object ID", "vmci_firewall") == \
        "vmci_firewall_vm_moid 'a b' is not a managed object ID"
    assert variables.role_message("text", "no_such_role") == "text"


def test_inventory_notes_hold_the_role_variables_each_host_sets():
    hostvars = {"web01": {"vmci_firewall_profle": "deny_all", "serial_console_ports": [], "ansible_host": "x"},
                "web02": {}}
    assert variables.inventory_notes(["web01", "web02"], hostvars, "vmci_firewall") == [
        {"host": "web01", "variables": ["vmci_firewall_profle"]}, {"host": "web02", "variables": []}]


def test_role_variable_names_leave_out_other_roles_and_what_the_role_sets():
    names = ["serial_console_ports", "serial_console_result", "serial_console_port", "vmci_firewall_profile", "x"]
    assert variables.role_variable_names(names, "serial_console") == ["serial_console_port", "serial_console_ports"]
    assert variables.role_variable_names(names, "vmci_firewall") == ["vmci_firewall_profile"]
