"""Pure logic of the VMCI firewall rules (vmci/rules.py): ports, validation, normalization,
comparison, plan, the state shown and the refusal message."""
import pytest
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vmci.rules import (
    desired_rules,
    make_rule,
    parse_ports,
    plan,
    public_rule,
    refusal_message,
    rules_from_specs,
    same_rules,
    state_view,
    validate,
)

from .helpers import rule, specs


# -- ports ------------------------------------------------------------------------------------
@pytest.mark.parametrize("value,expected", [
    (None, (None, None)),
    (2000, (2000, 2000)),
    ("2000", (2000, 2000)),
    (" 2000 ", (2000, 2000)),
    ("2000-2010", (2000, 2010)),
    ("2000 - 2010", (2000, 2010)),
    ("0-65535", (0, 65535)),
    (0, (0, 0)),
    ("2000-", (2000, None)),
])
def test_parse_ports(value, expected):
    assert parse_ports(value) == expected


@pytest.mark.parametrize("value,fragment", [
    ("2010-2000", "lower port 2010 above its upper port 2000"),
    (70000, "70000 is outside the ports vSphere allows (0-65535)"),
    ("2000-70000", "70000 is outside"),
    (-1, "-1 is outside"),
    ("-1", "not a port or a port range"),
    ("abc", "not a port or a port range"),
    ("1-2-3", "not a port or a port range"),
    ("", "not a port or a port range"),
    (True, "not a port or a port range"),
    (1.5, "not a port or a port range"),
    (["1"], "not a port or a port range"),
])
def test_parse_ports_errors(value, fragment):
    with pytest.raises(ValueError) as exc:
        parse_ports(value)
    assert fragment in str(exc.value)


# -- validation -------------------------------------------------------------------------------
@pytest.mark.parametrize("params,fragments", [
    (dict(state="present", rules=[rule(), rule(ports="1-2")]), []),
    (dict(state="present", filter_enabled=True, rules=None), []),
    (dict(state="present", rules=[]), []),
    (dict(state="present", rules=[rule(rank=5), rule(rank=1)]), []),
    (dict(state="absent"), []),
    (dict(state="absent", rules=[rule()]), ["state=absent", "do not set rules"]),
    (dict(state="absent", filter_enabled=False), ["do not set filter_enabled"]),
    (dict(state="present", rules=[rule(action="permit")]),
     ["rule #1: action 'permit' is not allowed; use one of: allow, deny"]),
    (dict(state="present", rules=[rule(), rule(protocol="tcp")]),
     ["rule #2: protocol 'tcp' is not allowed; use one of: hypervisor, doorbell, queuepair, datagram, stream, "
      "anyProtocol"]),
    (dict(state="present", rules=[rule(direction="in")]),
     ["rule #1: direction 'in' is not allowed", "guest, host, anyDirection"]),
    (dict(state="present", rules=[rule(direction=None)]), ["rule #1: direction is missing"]),
    (dict(state="present", rules=[rule(ports="9-1")]), ["rule #1: ports '9-1' has its lower port 9 above"]),
    (dict(state="present", rules=[rule(ports=65536)]), ["rule #1: ports 65536 is outside"]),
    (dict(state="present", rules=[rule(rank=1), rule(), rule(rank=3)]),
     ["rank is set on rules #1, #3 but not on #2"]),
    (dict(state="present", rules=[rule(rank=1), rule(rank=2), rule(rank=1)]),
     ["rules #1 and #3 have the same rank 1: ranks must be unique"]),
])
def test_validate(params, fragments):
    errors = validate(params)
    text = " ".join(errors)
    if not fragments:
        assert errors == []
    for fragment in fragments:
        assert fragment in text


def test_validate_reports_every_problem():
    errors = validate(dict(state="present", rules=[rule(action="x", ports="5-1"), rule(protocol="y")]))
    assert len(errors) == 3


# -- normalization and comparison -------------------------------------------------------------
@pytest.mark.parametrize("lower,upper,expected", [
    (None, None, (None, None, None)),
    (0, None, (None, None, None)),          # lower 0 alone: every port
    (None, 100, (0, 100, "0-100")),         # vSphere's unset lower boundary is 0
    (0, 100, (0, 100, "0-100")),
    (2000, 2000, (2000, 2000, "2000")),
    (2000, None, (2000, None, "2000-")),
])
def test_make_rule_normalizes_ports(lower, upper, expected):
    made = make_rule(1, "allow", "stream", "host", lower, upper)
    assert (made["lower"], made["upper"], public_rule(made)["ports"]) == expected


def test_rules_from_specs_sorted_by_rank():
    rules = rules_from_specs(specs((20, "deny", "anyProtocol", "anyDirection"), (10, "allow", "stream", "host", None, 9)))
    assert [public_rule(r) for r in rules] == [
        dict(rank=10, action="allow", protocol="stream", direction="host", ports="0-9"),
        dict(rank=20, action="deny", protocol="anyProtocol", direction="anyDirection", ports=None),
    ]
    assert rules_from_specs(None) == []


CURRENT = rules_from_specs(specs(
    (1, "allow", "hypervisor", "host"),
    (2, "allow", "stream", "host", None, 100),      # vSphere reports lower 0 as unset
    (3, "deny", "anyProtocol", "anyDirection"),
))


@pytest.mark.parametrize("wanted,compare_ranks,same", [
    # identical content, lower boundary 0 given explicitly: equal to vSphere's unset one
    ([rule("allow", "hypervisor", "host"), rule(ports="0-100"), rule("deny", "anyProtocol", "anyDirection")],
     False, True),
    # reordered
    ([rule(ports="0-100"), rule("allow", "hypervisor", "host"), rule("deny", "anyProtocol", "anyDirection")],
     False, False),
    # different port range
    ([rule("allow", "hypervisor", "host"), rule(ports="1-100"), rule("deny", "anyProtocol", "anyDirection")],
     False, False),
    # every port instead of 0-100
    ([rule("allow", "hypervisor", "host"), rule(), rule("deny", "anyProtocol", "anyDirection")], False, False),
    # fewer rules
    ([rule("allow", "hypervisor", "host"), rule(ports="0-100")], False, False),
    # different action
    ([rule("deny", "hypervisor", "host"), rule(ports="0-100"), rule("deny", "anyProtocol", "anyDirection")],
     False, False),
    # explicit ranks that match
    ([rule("allow", "hypervisor", "host", rank=1), rule(ports="0-100", rank=2),
      rule("deny", "anyProtocol", "anyDirection", rank=3)], True, True),
    # explicit ranks given in another list order but the same applied order
    ([rule("deny", "anyProtocol", "anyDirection", rank=3), rule("allow", "hypervisor", "host", rank=1),
      rule(ports="0-100", rank=2)], True, True),
    # explicit ranks with other values: a change
    ([rule("allow", "hypervisor", "host", rank=10), rule(ports="0-100", rank=20),
      rule("deny", "anyProtocol", "anyDirection", rank=30)], True, False),
])
def test_same_rules(wanted, compare_ranks, same):
    assert same_rules(CURRENT, desired_rules(wanted), compare_ranks=compare_ranks) is same


def test_ranks_ignored_without_explicit_ranks():
    current = rules_from_specs(specs((10, "allow", "stream", "host"), (20, "deny", "anyProtocol", "anyDirection")))
    assert same_rules(current, desired_rules([rule(), rule("deny", "anyProtocol", "anyDirection")]))


def test_desired_rules_ranks_follow_order():
    wanted = desired_rules([rule("deny", "anyProtocol", "anyDirection"), rule(ports=2000), rule(ports="5-9")])
    assert [(r["rank"], r["action"], r["lower"], r["upper"]) for r in wanted] == [
        (1, "deny", None, None), (2, "allow", 2000, 2000), (3, "allow", 5, 9)]


# -- plan -------------------------------------------------------------------------------------
@pytest.mark.parametrize("current_enabled,kwargs,changed,enabled,rules_changed,n_rules", [
    (True, dict(filter_enabled=True), False, True, False, 3),
    (True, dict(filter_enabled=False), True, False, False, 3),           # toggle alone keeps rules
    (False, dict(rules=[rule("allow", "hypervisor", "host"), rule(ports="0-100"),
                        rule("deny", "anyProtocol", "anyDirection")]), False, False, False, 3),
    (False, dict(rules=[rule()]), True, False, True, 1),                  # rules alone keep filterEnable
    (True, dict(rules=[]), True, True, True, 0),
    (True, dict(state="absent"), True, False, True, 0),
    (None, dict(filter_enabled=False), False, False, False, 3),          # unset filterEnable reads as off
])
def test_plan(current_enabled, kwargs, changed, enabled, rules_changed, n_rules):
    decision = plan(current_enabled, CURRENT, **kwargs)
    assert decision["changed"] is changed
    assert decision["filter_enabled"] is enabled
    assert decision["rules_changed"] is rules_changed
    assert len(decision["rules"]) == n_rules


def test_plan_absent_when_already_clear():
    assert plan(False, [], state="absent")["changed"] is False


def test_state_view_is_public():
    view = state_view(True, CURRENT)
    assert view["filter_enabled"] is True
    assert view["rules"][1] == dict(rank=2, action="allow", protocol="stream", direction="host", ports="0-100")


# -- refusals and the device ------------------------------------------------------------------
# vcsim never refuses a VMCI change (power state, unsupported values): the message is tested here.
@pytest.mark.parametrize("kind,power,hint", [
    ("task", "poweredOn", True),
    ("fault", "poweredOn", True),
    ("task", "poweredOff", False),
    ("permission", "poweredOn", False),
    ("concurrent", "poweredOn", False),
])
def test_refusal_message(kind, power, hint):
    msg = refusal_message("vSphere refused changing X: InvalidPowerState", kind, power)
    assert msg.startswith("vSphere refused changing X: InvalidPowerState")
    assert ("power it off" in msg) is hint
