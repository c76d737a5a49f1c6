"""plugin_utils/roles/wanted.py: the roles' variables read once, for the roles and the audit."""
import pytest
from ansible_collections.vmchannels.vsphere.plugins.plugin_utils.roles import wanted

PORT = {"number": 1, "backing": {"type": "thinprint"}}


@pytest.mark.parametrize("variables,expected", [
    ({}, {"name": "web01"}),
    ({"serial_console_vm": "web01.example"}, {"name": "web01.example"}),
    ({"serial_console_datacenter": "DC1", "serial_console_folder": "DC1/vm/prod"},
     {"name": "web01", "datacenter": "DC1", "folder": "DC1/vm/prod"}),
    ({"serial_console_vm_uuid": "4216", "serial_console_datacenter": "DC1"}, {"uuid": "4216"}),
    ({"serial_console_vm_moid": "vm-42", "serial_console_vm_uuid": "4216"}, {"moid": "vm-42"}),
    ({"serial_console_vm_moid": "", "serial_console_vm_uuid": None}, {"name": "web01"}),
])
def test_the_vm_is_found_by_moid_then_uuid_then_name(variables, expected):
    assert wanted.vm_of(variables, "serial_console", "web01") == expected


def test_serial_entry_and_managed():
    entry = wanted.serial_console_entry({"serial_console_ports": [PORT], "serial_console_exclusive": "yes"}, "web01")
    assert entry == {"name": "web01", "serial_ports": [PORT], "exclusive": True}
    assert wanted.serial_console_managed([], False) is False
    assert wanted.serial_console_managed([], True) is True
    assert wanted.serial_console_managed([PORT], False) is True


@pytest.mark.parametrize("names,managed", [
    ([], False),
    (["vmci_firewall_vm_moid", "serial_console_ports"], False),
    (["vmci_firewall_profile"], True),
    (["vmci_firewall_rules"], True),
    (["vmci_firewall_enabled"], True),
])
def test_vmci_is_managed_when_the_inventory_sets_a_policy(names, managed):
    assert wanted.vmci_firewall_managed(names) is managed


def test_vmci_rules_win_over_the_profile():
    rules = [{"action": "allow", "protocol": "stream", "direction": "host"}]
    assert wanted.vmci_firewall_rules("deny_all", rules) == rules
    assert wanted.vmci_firewall_rules("deny_all", []) == []
    assert wanted.vmci_firewall_rules("deny_all") == [{"action": "deny", "protocol": "anyProtocol",
                                                       "direction": "anyDirection"}]
    assert wanted.vmci_firewall_rules("unrestricted") == []
    assert wanted.vmci_firewall_rules(None, None) is None
    with pytest.raises(ValueError, match="vmci_firewall_profile must be one of: deny_all, hypervisor_only, "
                                         "unrestricted; got 'deny_everything'"):
        wanted.vmci_firewall_rules("deny_everything")


def test_vmci_entry_keeps_the_rules_without_a_policy():
    assert wanted.vmci_firewall_entry({}, "web01") == {"name": "web01", "filter_enabled": True}
    assert wanted.vmci_firewall_entry({"vmci_firewall_enabled": False, "vmci_firewall_profile": "hypervisor_only",
                                       "vmci_firewall_vm_moid": "vm-7"}, "web01") == {
        "moid": "vm-7", "filter_enabled": False, "rules": [
            {"action": "allow", "protocol": "hypervisor", "direction": "anyDirection"},
            {"action": "deny", "protocol": "anyProtocol", "direction": "anyDirection"}]}


def test_profiles_cannot_be_changed_through_a_result():
    rules = wanted.vmci_firewall_rules("deny_all")
    rules[0]["action"] = "allow"
    assert wanted.vmci_firewall_rules("deny_all")[0]["action"] == "deny"


def test_audit_wanted_reads_every_host_as_the_roles_do():
    hostvars = {
        "web01": {"serial_console_ports": [PORT], "vmci_firewall_profile": "deny_all"},
        "web02": {"serial_console_vm_moid": "vm-9", "vmci_firewall_vm_uuid": "4216", "serial_console_exclusive": True},
        "db01": {"serial_console_vm": "db01.example", "vmci_firewall_datacenter": "DC1"},
    }
    out = wanted.audit_wanted(["web01", "web02", "db01"], hostvars)
    assert out["vms"] == [
        {"inventory_hostname": "web01", "name": "web01", "serial_managed": True, "vmci_managed": True},
        {"inventory_hostname": "web02", "name": "web02", "serial_managed": True, "vmci_managed": False},
        {"inventory_hostname": "db01", "name": "db01.example", "serial_managed": False, "vmci_managed": False},
    ]
    assert out["serial"] == [
        {"name": "web01", "serial_ports": [PORT], "exclusive": False},
        {"moid": "vm-9", "serial_ports": [], "exclusive": True},
        {"name": "db01.example", "serial_ports": [], "exclusive": False},
    ]
    # An unmanaged VM's VMCI entry changes nothing: it names the VM only.
    assert out["vmci"] == [
        {"name": "web01", "filter_enabled": True,
         "rules": [{"action": "deny", "protocol": "anyProtocol", "direction": "anyDirection"}]},
        {"uuid": "4216"},
        {"name": "db01.example", "datacenter": "DC1"},
    ]
