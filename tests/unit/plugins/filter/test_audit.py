"""The audit report data (plugins/filter/audit.py): the drift in words from the modules' diffs,
each VM's status, the summary figures and the CSP hashes. Pure functions, no vSphere."""
import base64
import hashlib

import pytest
from ansible_collections.vmchannels.vsphere.plugins.filter.audit import (
    FilterModule,
    audit_report,
    connected_text,
    csp_hash,
    generated_text,
    serial_drift,
    vmci_drift,
)

FILE = {"type": "file", "file_path": "[ds] a/serial.log"}
PIPE = {"type": "pipe", "pipe_name": "/tmp/a", "endpoint": "server", "no_rx_loss": False}
LISTEN = {"type": "network", "service_uri": "telnet://:7001", "direction": "server", "proxy_uri": None}
OPTIONS = {"yield_on_poll": True, "start_connected": True, "allow_guest_control": False}
HYPERVISOR = {"rank": 1, "action": "allow", "protocol": "hypervisor", "direction": "anyDirection", "ports": None}
DENY = {"rank": 2, "action": "deny", "protocol": "anyProtocol", "direction": "anyDirection", "ports": None}


def port(number, backing, **extra):
    return dict({"number": number, "label": "Serial port %d" % number, "backing": backing, "connected": False,
                 "start_connected": True, "status": None}, **extra)


def test_serial_drift_in_words_from_the_diff_halves():
    before = {"port 1": dict(OPTIONS, backing=LISTEN), "port 2": dict(OPTIONS, backing=FILE),
              "port 3": dict(OPTIONS, backing=PIPE)}
    after = {"port 1": dict(OPTIONS, backing=dict(LISTEN, service_uri="telnet://:7002"), yield_on_poll=False),
             "port 2": dict(OPTIONS, backing=PIPE), "port 10": dict(OPTIONS, backing={"type": "thinprint"})}
    assert serial_drift(before, after) == [
        "port 1: service_uri telnet://:7001 -> telnet://:7002",
        "port 1: yield_on_poll yes -> no",
        "port 2: backing file -> pipe (pipe server /tmp/a)",
        "port 3: pipe server /tmp/a is not in the inventory (removed when exclusive)",
        "port 10: missing (wanted: thinprint)",
    ]
    assert serial_drift(before, before) == []


def test_vmci_drift_in_words():
    assert vmci_drift({"filter_enabled": False, "rules": [HYPERVISOR, DENY]},
                      {"filter_enabled": True, "rules": [HYPERVISOR, DENY]}) == ["VMCI filtering off -> on"]
    assert vmci_drift({"filter_enabled": True, "rules": []}, {"filter_enabled": True, "rules": [DENY]}) == [
        "VMCI rules: no rules -> deny anyProtocol anyDirection"]


def _serial_result(name, moid, before_ports, diff=None, **extra):
    out = dict({"vm": {"name": name, "moid": moid, "power_state": "poweredOn"}, "changed": False, "changes": [],
                "serial_ports_before": before_ports, "esxi_host": "esx1"}, **extra)
    return out, diff


def test_report_statuses_figures_and_problems():
    wanted = [
        {"inventory_hostname": "a", "name": "a", "serial_managed": True, "vmci_managed": True},   # in policy
        {"inventory_hostname": "b", "name": "b", "serial_managed": True, "vmci_managed": False},  # drifted ports
        {"inventory_hostname": "c", "name": "c", "serial_managed": False, "vmci_managed": True},  # drifted VMCI
        {"inventory_hostname": "d", "name": "d", "serial_managed": False, "vmci_managed": False},  # not managed
        {"inventory_hostname": "e", "name": "e", "serial_managed": True, "vmci_managed": True},   # not found
        {"inventory_hostname": "f", "name": "f", "serial_managed": True, "vmci_managed": False},  # power-blocked
    ]
    serial = {"vms": [
        _serial_result("a", "vm-1", [port(1, LISTEN)])[0],
        _serial_result("b", "vm-2", [port(1, FILE), port(2, dict(LISTEN, proxy_uri="telnet://v:1"))])[0],
        _serial_result("c", "vm-3", [])[0],
        _serial_result("d", "vm-4", [port(1, {"type": "thinprint"}, status="unrecoverableError")])[0],
        {"vm": {"name": "e"}, "changed": False, "changes": [], "failed": True, "error_kind": "not_found",
         "msg": "No virtual machine named 'e' was found."},
        _serial_result("f", "vm-6", [], failed=True, error_kind="power_state", msg="VM 'f' is poweredOn: ...",
                       changes=[{"op": "add", "number": 1}])[0],
    ], "diff": {"before": {"vms": {"b (vm-2)": {"port 1": dict(OPTIONS, backing=FILE)}, "f (vm-6)": {}}},
                "after": {"vms": {"b (vm-2)": {"port 1": dict(OPTIONS, backing=PIPE)},
                                  "f (vm-6)": {"port 1": dict(OPTIONS, backing={"type": "thinprint"})}}}}}
    filtering = {"filter_enabled": True, "rules": [HYPERVISOR, DENY]}
    vmci = {"vms": [
        {"vm": {"name": "a", "moid": "vm-1"}, "changed": False, "before": filtering, "esxi_host": "esx1"},
        {"vm": {"name": "b", "moid": "vm-2"}, "changed": False, "before": {"filter_enabled": True, "rules": []}},
        {"vm": {"name": "c", "moid": "vm-3"}, "changed": True, "before": {"filter_enabled": False, "rules": [DENY]}},
        {"vm": {"name": "d", "moid": "vm-4"}, "changed": False, "before": filtering},
        {"vm": {"name": "e"}, "failed": True, "msg": "No virtual machine named 'e' was found."},
        {"vm": {"name": "f", "moid": "vm-6"}, "changed": False, "before": filtering},
    ], "diff": {"before": {"vms": {"c (vm-3)": {"filter_enabled": False, "rules": [DENY]}}},
                "after": {"vms": {"c (vm-3)": {"filter_enabled": True, "rules": [DENY]}}}}}
    hosts = {"hosts": {"esx1": {"cluster": "C1", "datacenter": "DC", "connection_state": "connected",
                                "rulesets": {"remoteSerialPort": {"enabled": True}, "vSPC": {"enabled": False}}}}}
    report = audit_report(wanted, serial, vmci, hosts, "2026-01-01T00:00:00Z")
    vms = dict((vm["name"], vm) for vm in report["vms"])
    assert [vm["status"] for vm in report["vms"]] == ["in policy", "drifted", "drifted", "not managed", "error",
                                                      "drifted"]
    assert vms["b"]["drift"] == ["port 1: backing file -> pipe (pipe server /tmp/a)"]
    assert vms["c"]["drift"] == ["VMCI filtering off -> on"]
    assert vms["f"]["drift"] == ["port 1: missing (wanted: thinprint)"] and vms["f"]["notes"]
    assert vms["e"]["errors"] == ["No virtual machine named 'e' was found."]
    assert vms["a"]["cluster"] == "C1" and vms["a"]["serial_ports"][0]["ruleset_ready"] is True
    # the vSPC port of b needs a rule set that is disabled on its host (one word for that state everywhere)
    assert (vms["b"]["serial_ports"][1]["ruleset"], vms["b"]["serial_ports"][1]["ruleset_ready"]) == ("vSPC", False)
    assert vms["b"]["serial_ports"][1]["ruleset_state"] == "disabled"
    assert vms["a"]["serial_ports"][0]["ruleset_state"] == "enabled"
    assert any("rule set vSPC is disabled on esx1" in p for p in vms["b"]["problems"])
    assert "port 1: unrecoverableError" in vms["d"]["problems"]
    assert "VMCI: no filtering in force" in vms["b"]["problems"] and "VMCI: no filtering in force" in vms["c"]["problems"]
    assert report["summary"] == {
        "vms": 6, "vms_unreadable": 1, "serial_ports": 4,
        "ports_by_backing": {"network": 2, "pipe": 0, "file": 1, "device": 0, "thinprint": 1},
        "network_ports": 2, "network_ports_not_ready": 1,
        "vms_with_vmci_filtering": 3, "vms_without_vmci_filtering": 2,
        "vms_in_policy": 1, "vms_drifted": 3, "vms_not_managed": 1, "vms_error": 1,
    }
    assert report["unreadable_vms"] == ["e"]
    assert report["hosts"] == {"esx1": {"cluster": "C1", "datacenter": "DC", "connection_state": "connected",
                                        "audited_vms": sum(1 for vm in report["vms"] if vm["esxi_host"] == "esx1"),
                                        "remoteSerialPort": True, "vSPC": False,
                                        "remoteSerialPort_state": "enabled", "vSPC_state": "disabled"}}
    assert report["generated_text"] == "2026-01-01 00:00:00 UTC" and report["vcenter"] is None


@pytest.mark.parametrize("generated,text", [
    ("2026-12-03T09:56:08Z", "2026-12-03 09:56:08 UTC"),
    ("2026-12-03T10:56:08+01:00", "2026-12-03 10:56:08 UTC+01:00"),
    ("2026-12-03T09:56:08", "2026-12-03 09:56:08 (time zone not given)"),
    (None, "at an unknown time"),
])
def test_generated_text_names_the_zone(generated, text):
    assert generated_text(generated) == text


@pytest.mark.parametrize("vcenter,text", [
    ({"hostname": "vc.example.com", "port": 443}, "vc.example.com"),
    ({"hostname": "vc.example.com", "port": "8443"}, "vc.example.com:8443"),
    ({"hostname": "", "port": 443}, None),
    ("vc2.example.com", "vc2.example.com"),
])
def test_the_vcenter_is_named(vcenter, text):
    assert audit_report([], {}, {}, None, "2026-01-01T00:00:00Z", vcenter)["vcenter"] == text


@pytest.mark.parametrize("connected,start_connected,power,text", [
    (True, True, "poweredOn", "yes"),
    (False, True, "poweredOn", "no"),  # running, not connected: it will not connect by itself
    (False, True, "poweredOff", "no (VM off; connects at power on)"),
    (False, False, "poweredOff", "no (VM off)"),
    (False, True, "suspended", "no (VM suspended; connects at power on)"),
    (None, None, None, "unknown"),
])
def test_connected_is_true_to_the_power_state(connected, start_connected, power, text):
    assert connected_text(connected, start_connected, power) == text


def test_hosts_without_a_read_rule_set_are_not_called_disabled():
    hosts = {"hosts": {"esx9": {"cluster": "C1", "datacenter": "DC", "connection_state": "disconnected",
                                "rulesets": {}}}}
    view = audit_report([], {}, {}, hosts)["hosts"]["esx9"]
    assert (view["remoteSerialPort_state"], view["vSPC_state"], view["audited_vms"]) == ("unknown", "unknown", 0)


def test_csp_hash_is_the_base64_sha256_of_the_exact_text():
    text = "body { color: red; }\n"
    assert csp_hash(text) == "'sha256-%s'" % base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    assert csp_hash(text) != csp_hash(text.strip())
    assert set(FilterModule().filters()) == {"audit_report", "csp_hash"}
