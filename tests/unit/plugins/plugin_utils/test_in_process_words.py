"""What the modules' action plugin says beyond the module (plugins/plugin_utils/in_process.py): the
advice of a task that failed to reach a host that is not the controller, and which tasks word their
message in a role's variables."""
import pytest
from ansible_collections.vmchannels.vsphere.plugins.plugin_utils.in_process import _collection_role, not_delegated_advice


class Role(object):
    def __init__(self, name):
        self.name = name

    def get_name(self):
        return self.name


def test_the_advice_says_to_delegate_to_the_controller():
    text = not_delegated_advice("Failed to connect to the host via ssh: Connection refused",
                                "vmchannels.vsphere.vm_serial_port", "web01", "ssh")
    assert text.startswith("Failed to connect to the host via ssh: Connection refused\n")
    assert "The task tried to reach host 'web01' (connection ssh) to run vmchannels.vsphere.vm_serial_port there." in text
    assert "add 'delegate_to: localhost' to the task (or 'connection: local' to the play)" in text


@pytest.mark.parametrize("name,expected", [
    ("vmchannels.vsphere.serial_console", "serial_console"),
    ("vmchannels.vsphere.vmci_firewall", "vmci_firewall"),
    ("serial_console", "serial_console"),  # the role copied into a project's roles/
    ("other.collection.serial_console", None),
    ("webservers", None),
])
def test_the_collection_roles_are_told_apart(name, expected):
    assert _collection_role(Role(name)) == expected
    assert _collection_role(None) is None
