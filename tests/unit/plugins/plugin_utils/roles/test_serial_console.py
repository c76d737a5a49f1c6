"""plugin_utils/roles/serial_console.py: the decisions of the serial_console role, from the notes and
the modules' registered results (the role's templates before)."""
from ansible_collections.vmchannels.vsphere.plugins.plugin_utils.roles import serial_console

VSPC = {"type": "network", "service_uri": "telnet://:7001", "proxy_uri": "telnet://vspc.example.com:13370"}
LISTEN = {"type": "network", "service_uri": "telnet://:7001"}
FILE = {"type": "file", "file_path": "[ds] a.log"}


def note(host, ports=(), **variables):
    base = {"serial_console_vm": host, "serial_console_ports": list(ports), "serial_console_exclusive": False,
            "serial_console_allow_power_cycle": False, "serial_console_manage_firewall": True,
            "serial_console_firewall_scope": "cluster", "serial_console_bulk": False}
    base.update(("serial_console_" + k, v) for k, v in variables.items())
    return serial_console.note(base, host)


def planned(host, ports, esxi="esx1", enabled=None, changes=("add",)):
    return {"vm": {"name": host}, "serial_ports": [{"number": i + 1, "backing": b} for i, b in enumerate(ports)],
            "changes": list(changes), "firewall": {"host": esxi, "rulesets": enabled or {}} if esxi else {}}


def test_note():
    out = note("web01", [{"number": 1, "backing": VSPC}], allow_power_cycle="true", manage_firewall=False,
               vm_moid="vm-4")
    assert out["entry"] == {"moid": "vm-4", "serial_ports": [{"number": 1, "backing": VSPC}], "exclusive": False}
    assert (out["asks"], out["allow_power_cycle"], out["manage_firewall"], out["plan_group"]) == (
        True, True, False, "power cycle, warnings")
    assert "serial_console_vm_moid" in out["variables"]
    assert note("web02")["asks"] is False
    assert note("web02", exclusive=True)["asks"] is True


def test_outcome_sorts_out_failures_needs_and_bulk_changes():
    notes = [note("a", [{"number": 1, "backing": VSPC}, {"number": 2, "backing": FILE}]),
             note("b", [{"number": 1, "backing": LISTEN}], firewall_scope="host", bulk=True),
             note("c", [{"number": 1, "backing": LISTEN}]),
             note("d"),
             note("e", [{"number": 1, "backing": LISTEN}], firewall_scope="datacenter"),
             note("f", [{"number": 1, "backing": LISTEN}], manage_firewall=False, bulk=True)]
    plan = {"results": [
        {"item": "no power cycle", "vms": [
            planned("a", [VSPC, FILE], enabled={"vSPC": False}),
            planned("b", [LISTEN], esxi="esx2", enabled={"remoteSerialPort": True}),
            planned("c", [LISTEN], esxi=None),
            {"vm": {"name": "e"}, "failed": True, "msg": "never used"}]},
        {"item": "no power cycle, warnings", "vms": [planned("f", [LISTEN], esxi=None)]},
    ]}
    out = serial_console.outcome(notes, plan)
    vms = out["vms"]
    assert list(vms) == ["a", "b", "c", "d", "e", "f"]
    assert not vms["a"]["failed"] and vms["a"]["changes"] == ["add"]
    assert vms["a"]["vm_id"] == {"name": "a"}  # for the configuration task: no port, so no password
    assert vms["c"]["failed"] and "need the ESXi firewall rule set(s) remoteSerialPort, but the host" in vms["c"]["msg"]
    assert vms["d"]["result"]["skipped"] and not vms["d"]["failed"]
    assert vms["e"]["msg"] == ("serial_console_firewall_scope must be one of: cluster, host; got 'datacenter'. "
                               "Nothing was changed.")
    assert not vms["f"]["failed"]  # manages no firewall: needs no host
    assert out["needs"] == [
        {"vm": "a", "esxi_host": "esx1", "scope": "cluster", "enabled": {"vSPC": False}, "rulesets": ["vSPC"]},
        {"vm": "b", "esxi_host": "esx2", "scope": "host", "enabled": {"remoteSerialPort": True},
         "rulesets": ["remoteSerialPort"]}]
    assert out["cluster_vm_hosts"] == ["esx1"]
    assert out["apply"] == [
        {"firewall_warnings": True, "allow_power_cycle": False, "hosts": ["b"]},
        {"firewall_warnings": False, "allow_power_cycle": False, "hosts": ["f"]}]


def test_outcome_fails_only_the_vm_whose_entry_is_invalid():
    """The bulk module reports an invalid entry as that VM's failure and plans the others of its group;
    a run that failed as a whole (no vms) fails every VM of the group with its message."""
    notes = [note("a", [{"number": 33, "backing": LISTEN}]), note("b", [{"number": 1, "backing": FILE}])]
    plan = {"results": [{"item": "no power cycle", "failed": True, "msg": "1 of 2 VMs could not be changed",
                         "vms": [{"vm": {"name": "a"}, "changed": False, "failed": True, "error_kind": "invalid",
                                  "msg": "vms[0] (a): serial_ports[0] (number 33): number must be between 1 and 32"},
                                 planned("b", [FILE])]}]}
    out = serial_console.outcome(notes, plan)
    assert out["vms"]["a"]["failed"]
    assert out["vms"]["a"]["msg"] == "serial_console_ports[0] (number 33): number must be between 1 and 32"
    assert not out["vms"]["b"]["failed"] and out["vms"]["b"]["changes"] == ["add"]
    whole = {"results": [{"item": "no power cycle", "failed": True, "msg": "Cannot connect to vc:443"}]}
    out = serial_console.outcome(notes, whole)
    assert all(out["vms"][h]["failed"] and out["vms"][h]["msg"] == "Cannot connect to vc:443" for h in "ab")


def test_datacenters_of_the_clusters_to_read():
    vm_hosts = {"hosts": {"C0_H0": {"cluster": "C0", "datacenter": "DC0"}, "C1_H0": {"cluster": "C1", "datacenter": "DC1"},
                          "C0_H1": {"cluster": "C0", "datacenter": "DC0"}, "H0": {"cluster": None, "datacenter": "DC0"}}}
    assert serial_console.datacenters(vm_hosts) == ["DC0", "DC1"]
    assert serial_console.datacenters({"skipped": True}) == []
    assert serial_console.datacenters({"hosts": {"H0": {"cluster": None, "datacenter": "DC0"}}}) == []


def test_firewall_calls_per_scope():
    needs = [
        {"vm": "a", "esxi_host": "C0_H0", "scope": "cluster", "enabled": {}, "rulesets": ["remoteSerialPort"]},
        {"vm": "b", "esxi_host": "H0", "scope": "cluster", "enabled": {}, "rulesets": ["vSPC"]},
        {"vm": "c", "esxi_host": "H0", "scope": "host", "enabled": {"remoteSerialPort": False},
         "rulesets": ["remoteSerialPort"]},
        {"vm": "d", "esxi_host": "C0_H1", "scope": "host", "enabled": {"vSPC": True}, "rulesets": ["vSPC"]},
    ]
    vm_hosts = {"hosts": {"C0_H0": {"cluster": "C0", "datacenter": "DC0"},
                          "H0": {"cluster": None, "datacenter": "DC0", "rulesets": {"vSPC": {"enabled": False}}}}}
    dc_hosts = {"results": [{"item": "DC0", "hosts": {
        "C0_H0": {"cluster": "C0", "rulesets": {"remoteSerialPort": {"enabled": False}}},
        "C0_H1": {"cluster": "C0", "rulesets": {"remoteSerialPort": {"enabled": True}}},
        "C0_H2": {"cluster": "C0", "rulesets": {}},
        "C1_H0": {"cluster": "C1", "rulesets": {}},
        "H0": {"cluster": None, "rulesets": {}}}}]}
    assert serial_console.firewall_calls(needs, vm_hosts, dc_hosts) == [
        {"datacenter": "DC0", "rulesets": ["remoteSerialPort"], "hosts": ["C0_H0", "C0_H2"]},
        {"datacenter": "DC0", "rulesets": ["remoteSerialPort", "vSPC"], "hosts": ["H0"]},
    ]
    # nothing to enable, or the reads skipped
    assert serial_console.firewall_calls([], {"skipped": True}, {"results": []}) == []
    assert serial_console.firewall_calls(needs[2:3]) == [
        {"datacenter": None, "rulesets": ["remoteSerialPort"], "hosts": ["H0"]}]


def test_results_take_the_bulk_run_for_its_vms():
    outcome = {"vms": {
        "a": {"host": "a", "bulk": True, "failed": False, "msg": "", "changes": ["add"], "result": {"plan": 1}},
        "b": {"host": "b", "bulk": True, "failed": False, "msg": "", "changes": ["add"], "result": {"plan": 2}},
        "c": {"host": "c", "bulk": False, "failed": False, "msg": "", "changes": ["add"], "result": {"plan": 3}},
        "d": {"host": "d", "bulk": True, "failed": True, "msg": "own", "changes": [], "result": {"failed": True}},
        "e": {"host": "e", "bulk": True, "failed": False, "msg": "", "changes": [], "result": {"changed": False}},
    }}
    applied = {"results": [{"item": {"hosts": ["a", "b"]}, "vms": [
        {"changed": True}, {"changed": False, "failed": True, "msg": "vms[1] (b): set allow_power_cycle: true"}]}]}
    out = dict((r["host"], r) for r in serial_console.results(outcome, applied))
    assert (out["a"]["changed"], out["a"]["failed"], out["a"]["result"]) == (True, False, {"changed": True})
    assert out["b"]["failed"] and out["b"]["msg"] == "set serial_console_allow_power_cycle: true"
    assert (out["c"]["changed"], out["c"]["result"]) == (False, {"plan": 3})  # its own task changes it
    assert out["d"]["failed"] and out["d"]["msg"] == "own" and not out["d"]["changed"]
    assert not out["e"]["changed"] and not out["e"]["failed"]
    assert [h for h in "abcde" if out[h]["reset_result"]] == ["a", "e"]
    failed_run = {"results": [{"item": {"hosts": ["a"]}, "failed": True, "msg": "lost"}]}
    assert [r["msg"] for r in serial_console.results(outcome, failed_run) if r["host"] == "a"] == ["lost"]
