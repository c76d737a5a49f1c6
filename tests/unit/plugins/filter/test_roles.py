"""plugins/filter/roles.py: the filters of the roles are thin (argument checks, then plugin_utils/roles/)."""
import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.vmchannels.vsphere.plugins.filter import roles


def test_every_filter_has_its_documentation_file():
    import os
    here = os.path.dirname(roles.__file__)
    for name in roles.FilterModule().filters():
        assert os.path.exists(os.path.join(here, name + ".yml")), name


def test_vm_locator_takes_the_options_of_the_modules():
    assert roles.vm_locator_filter({"name": "web01", "uuid": None, "moid": "vm-3", "datacenter": "DC0"}) == {"moid": "vm-3"}
    assert roles.vm_locator_filter({"name": "web01", "datacenter": "DC0", "folder": ""}) == {
        "name": "web01", "datacenter": "DC0"}
    with pytest.raises(AnsibleFilterError, match="unknown key"):
        roles.vm_locator_filter({"name": "web01", "cluster": "C0"})
    with pytest.raises(AnsibleFilterError, match="expects a dict"):
        roles.vm_locator_filter("web01")


def test_warn_unknown_variables_warns_once_per_name_and_returns_the_notes(monkeypatch):
    shown = []
    monkeypatch.setattr(roles.display, "warning", shown.append)
    notes = [{"host": "a", "variables": ["serial_console_port", "serial_console_ports"]},
             {"host": "b", "variables": ["serial_console_port"]}]
    assert roles.warn_unknown_variables(notes, "serial_console") is notes
    assert shown == ["The variable serial_console_port (set for a, b) is not a variable of the role "
                     "vmchannels.vsphere.serial_console, which ignores it. Did you mean serial_console_ports?"]
    with pytest.raises(AnsibleFilterError, match="unknown role 'serial'"):
        roles.warn_unknown_variables(notes, "serial")


def test_audit_wanted_names_an_unknown_profile():
    with pytest.raises(AnsibleFilterError, match="audit_wanted: vmci_firewall_profile must be one of"):
        roles.audit_wanted(["a"], {"a": {"vmci_firewall_profile": "nope"}})


def test_vmci_firewall_unmanaged_notes_leave_out_the_vms_the_role_runs_for():
    """playbooks/vmci_firewall.yml runs the role only where the policy is set: a VM whose only setting
    is misspelled is checked through these notes, a managed VM by the role's own note."""
    hostvars = {"web01": {"vmci_firewall_profle": "deny_all"},
                "web02": {"vmci_firewall_profile": "deny_all", "vmci_firewall_bulck": True},
                "web03": {}}
    assert roles.vmci_firewall_unmanaged_notes(["web01", "web02", "web03"], hostvars) == [
        {"host": "web01", "variables": ["vmci_firewall_profle"]}, {"host": "web03", "variables": []}]
