"""RETURN documents every value the serial-port modules return: every key, and every value of
power_cycle (the check-mode one included), in vm_serial_port and in the per-VM entries of
vm_serial_port_bulk. (The integration tests compare the keys of real results with these docs.)"""
import importlib

import pytest
import yaml
from ansible_collections.vmchannels.vsphere.plugins.module_utils.engine import power_cycle

POWER_CYCLE_VALUES = (power_cycle.GUEST_SHUTDOWN, power_cycle.POWER_OFF, power_cycle.POWER_OFF_AFTER_GUEST,
                      power_cycle.WOULD_POWER_CYCLE)


def documented_return(module):
    return yaml.safe_load(importlib.import_module(
        "ansible_collections.vmchannels.vsphere.plugins.modules." + module).RETURN)


def test_vm_serial_port_documents_every_key_and_power_cycle_value():
    doc = documented_return("vm_serial_port")
    assert set(doc) == {"vm", "serial_ports", "changes", "power_cycle", "firewall", "diff"}
    described = " ".join(doc["power_cycle"]["description"])
    for value in POWER_CYCLE_VALUES:
        assert "C(%s)" % value in described, value


def test_vm_serial_port_bulk_documents_every_key_and_power_cycle_value():
    doc = documented_return("vm_serial_port_bulk")
    assert set(doc) == {"vms", "failed_vms", "diff"}
    described = " ".join(doc["vms"]["description"])
    for key in ("vm", "changed", "changes", "serial_ports", "failed", "msg", "error_kind", "firewall", "power_cycle"):
        assert "C(%s)" % key in described, key
    for value in POWER_CYCLE_VALUES:
        assert "C(%s)" % value in described, value


@pytest.mark.parametrize("module", ["vm_serial_port", "vm_serial_port_bulk"])
def test_every_returned_key_has_a_sample(module):
    for key, entry in documented_return(module).items():
        assert "sample" in entry, key
