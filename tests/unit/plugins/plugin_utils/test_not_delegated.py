"""The advice of a task of the collection that failed to reach a host that is not the controller
(plugins/plugin_utils/in_process.py: not_delegated_advice)."""
from ansible_collections.vmchannels.vsphere.plugins.plugin_utils.in_process import not_delegated_advice


def test_the_advice_says_to_delegate_to_the_controller():
    text = not_delegated_advice("Failed to connect to the host via ssh: Connection refused",
                                "vmchannels.vsphere.vm_serial_port", "web01", "ssh")
    assert text.startswith("Failed to connect to the host via ssh: Connection refused\n")
    assert "The task tried to reach host 'web01' (connection ssh) to run vmchannels.vsphere.vm_serial_port there." in text
    assert "add 'delegate_to: localhost' to the task (or 'connection: local' to the play)" in text
