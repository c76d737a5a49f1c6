"""ESXi serial-port firewall rule sets, the pure logic (esxi_firewall/rulesets.py): validation of the
target and the rule sets, the argument spec, the view of a rule set, the plan, the result and the
diff. Table-driven."""
import pytest
from ansible_collections.vmchannels.vsphere.plugins.module_utils.esxi_firewall.rulesets import (
    build_diff,
    build_result,
    plan_changes,
    ruleset_view,
    unique,
    validate_params,
    validate_rulesets,
    validate_target,
)

from .helpers import make_ruleset


# -- pure logic ----------------------------------------------------------------------------------

@pytest.mark.parametrize("target,words", [
    (dict(esxi_hostname=[]), ["esxi_hostname is an empty list"]),
    (dict(esxi_hostname=["esx01", " "]), ["item 2"]),
    (dict(cluster_name=""), ["cluster_name is empty"]),
    (dict(datacenter=" "), ["datacenter is empty"]),
])
def test_validate_target_errors(target, words):
    message = validate_target(**target)
    for word in words:
        assert word in message


@pytest.mark.parametrize("target", [
    dict(esxi_hostname=["esx01"]), dict(esxi_hostname=["esx01", "esx02"], datacenter="DC0"),
    dict(cluster_name="C0"), dict(cluster_name="C0", datacenter="DC0"), dict(datacenter="DC0"),
])
def test_validate_target_ok(target):
    assert validate_target(**target) is None


@pytest.mark.parametrize("rulesets,words", [
    ([], ["rulesets is empty"]),
    (None, ["rulesets is empty"]),
])
def test_validate_rulesets_errors(rulesets, words):
    message = validate_rulesets(rulesets)
    for word in words:
        assert word in message


def test_validate_params_order():
    assert "rulesets" in validate_params(dict(rulesets=[], cluster_name=" "))
    assert "cluster_name is empty" in validate_params(dict(rulesets=["vSPC"], cluster_name=" "))
    assert validate_params(dict(datacenter="DC0"), with_rulesets=False) is None


@pytest.mark.parametrize("args,expected", [
    ({}, "one of the following is required: esxi_hostname, cluster_name, datacenter"),
    ({"esxi_hostname": ["esx01"], "cluster_name": "C0"}, "parameters are mutually exclusive: esxi_hostname|cluster_name"),
])
def test_host_selectors_combine_through_the_argument_spec(args, expected):
    """One of esxi_hostname, cluster_name and datacenter is required, and esxi_hostname excludes
    cluster_name: the argument spec says so (TARGET_MODULE_KWARGS, which both modules pass to
    AnsibleModule; the end-to-end cases are in tests/integration/all_modules/test_bad_input.py)."""
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
    from ansible_collections.vmchannels.vsphere.plugins.module_utils.esxi_firewall.rulesets import (
        TARGET_MODULE_KWARGS,
        target_argument_spec,
    )

    result = ArgumentSpecValidator(target_argument_spec(), **TARGET_MODULE_KWARGS).validate(args)
    assert any(expected in message for message in result.error_messages), result.error_messages
    assert validate_target(**args) is None  # no second, hand-written check


def test_unique():
    assert unique(["vSPC", "remoteSerialPort", "vSPC"]) == ["vSPC", "remoteSerialPort"]


def test_ruleset_view():
    view = ruleset_view(make_ruleset("remoteSerialPort", enabled=True, all_ip=False, ips=["192.0.2.1"],
                                     networks=["10.0.0.0/8"]))
    assert view == {
        "label": "label of remoteSerialPort", "enabled": True, "required": False, "user_controllable": None,
        "allowed_hosts": {"all_ip": False, "ip_addresses": ["192.0.2.1"], "ip_networks": ["10.0.0.0/8"]},
        "rules": [
            {"port": 0, "end_port": 65535, "direction": "outbound", "port_type": "dst", "protocol": "tcp"},
            {"port": 23, "end_port": 0, "direction": "inbound", "port_type": "dst", "protocol": "tcp"},
            {"port": 1024, "end_port": 65535, "direction": "inbound", "port_type": "dst", "protocol": "tcp"},
        ],
    }


def host(name, state="connected", **table):
    return dict(name=name, moid="host-" + name, obj=None, cluster=None, datacenter="DC0", connection_state=state,
                firewall_read=state == "connected", rulesets=table, firewall_system=None)


@pytest.mark.parametrize("state,hosts,changes,skipped", [
    ("enabled", [host("a", vSPC=make_ruleset("vSPC"))], {"a": ["vSPC"]}, []),
    ("enabled", [host("a", vSPC=make_ruleset("vSPC", enabled=True))], {"a": []}, []),
    ("disabled", [host("a", vSPC=make_ruleset("vSPC", enabled=True))], {"a": ["vSPC"]}, []),
    ("disabled", [host("a", vSPC=make_ruleset("vSPC"))], {"a": []}, []),
    ("enabled", [host("a", "disconnected"), host("b", "notResponding"), host("c", vSPC=make_ruleset("vSPC"))],
     {"c": ["vSPC"]}, ["a", "b"]),
])
def test_plan_changes(state, hosts, changes, skipped):
    assert plan_changes(hosts, ["vSPC"], state) == (changes, skipped, [])


def test_plan_changes_collects_every_error():
    hosts = [host("a", vSPC=make_ruleset("vSPC", user_controllable=False)), host("b"),
             host("c", "maintenance")]
    changes, skipped, errors = plan_changes(hosts, ["vSPC", "remoteSerialPort"], "enabled")
    assert len(errors) == 5
    assert "'vSPC' on ESXi host a is not user-controllable" in errors[0]
    assert "'remoteSerialPort' does not exist on ESXi host a" in errors[1]
    assert "'vSPC' does not exist on ESXi host b" in errors[2]
    assert "could not be read" in errors[4] and "host c" in errors[4]
    assert changes == {"a": [], "b": []} and skipped == []


def test_build_result_and_diff():
    hosts = [host("a", vSPC=make_ruleset("vSPC"), remoteSerialPort=make_ruleset("remoteSerialPort")),
             host("b", "disconnected")]
    report = build_result(hosts, ["vSPC"], {"a": ["vSPC"]}, ["b"], state="enabled")
    assert report["a"]["changed"] is True
    assert list(report["a"]["rulesets"]) == ["vSPC"]
    assert report["b"] == {"moid": "host-b", "cluster": None, "datacenter": "DC0",
                           "connection_state": "disconnected", "skipped": True, "rulesets": {}, "changed": False}
    assert build_diff(report) == {"before": {"a": {"vSPC": {"enabled": False}}},
                                  "after": {"a": {"vSPC": {"enabled": True}}}}
