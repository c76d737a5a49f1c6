# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The VMCI firewall's rules: pure logic.

A rule is handled here as a dict with ``rank``, ``action``, ``protocol``, ``direction``, ``lower``
and ``upper`` (the destination port boundaries). Validation of the options, normalization, comparison
and the plan take values, never pyVmomi objects or the module; ``vmci.firewall`` reads the VMCI device
and applies the plan.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


# Supported values: the documented enums of vim.vm.device.VirtualVMCIDevice (Action, Protocol,
# Direction) and ports 0..65535. QueryConfigOption's VirtualVMCIDeviceOption.filterSpecOption would
# give the host's own lists and ranges, but it costs at least one more request on every run (the
# environment browser's QueryConfigOption, on top of the one read of the VM), so the common path
# validates against the documented values instead, before any request; a host that supports fewer
# values refuses the reconfiguration, and that refusal is reported with vSphere's own message.
ACTIONS = ("allow", "deny")


PROTOCOLS = ("hypervisor", "doorbell", "queuepair", "datagram", "stream", "anyProtocol")


DIRECTIONS = ("guest", "host", "anyDirection")


PORT_MIN = 0


PORT_MAX = 65535


# A rank only orders the rules (ascending). The API types it xsd:long and documents no range of its
# own; ranks are kept to 0..2^32-1, the range VirtualVMCIDeviceOption.filterSpecOption gives the port
# boundaries of the same FilterSpec, so that a negative or oversized rank (a typo) is refused here
# instead of being stored as an order nobody meant.
RANK_MIN = 0


RANK_MAX = 2 ** 32 - 1


def rule_argument_spec():
    """The argument spec of one ``rules`` entry (documented in vm_vmci_filter)."""
    return dict(
        action=dict(type="str", required=True, choices=list(ACTIONS)),
        protocol=dict(type="str", required=True, choices=list(PROTOCOLS)),
        direction=dict(type="str", required=True, choices=list(DIRECTIONS)),
        ports=dict(type="raw"),
        rank=dict(type="int"),
    )


def policy_argument_spec():
    """The options of a VM's VMCI firewall policy: vm_vmci_filter's and each entry of
    vm_vmci_filter_bulk's ``vms`` (documented in both)."""
    return dict(
        filter_enabled=dict(type="bool"),
        rules=dict(type="list", elements="dict", options=rule_argument_spec()),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )


def parse_ports(value):
    """``(lower, upper)`` from a ``ports`` value: ``None`` (every port), ``2000``, ``"2000"``,
    ``"2000-2010"`` or ``"2000-"`` (from 2000 up to the protocol's highest port: ``upper`` is
    ``None``). Raises ``ValueError`` with a message (without the option's name)."""
    if value is None:
        return None, None
    hint = "give a port (2000) or a range (\"2000-2010\")"
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError("%r is not a port or a port range; %s" % (value, hint))
    if isinstance(value, int):
        lower = upper = value
    else:
        text = value.strip()
        parts = [p.strip() for p in text.split("-")] if "-" in text[1:] else [text]
        open_ended = len(parts) == 2 and parts[1] == ""
        if open_ended:
            parts = parts[:1]
        if len(parts) > 2 or not all(p.isascii() and p.isdigit() for p in parts):
            raise ValueError("'%s' is not a port or a port range; %s" % (value, hint))
        lower = int(parts[0])
        upper = None if open_ended else int(parts[-1])
    for port in (lower, upper):
        if port is not None and not PORT_MIN <= port <= PORT_MAX:
            raise ValueError("%s is outside the ports vSphere allows (%d-%d)" % (port, PORT_MIN, PORT_MAX))
    if upper is not None and lower > upper:
        raise ValueError("'%s' has its lower port %d above its upper port %d; write the range low-high, for "
                         "example \"%d-%d\"" % (value, lower, upper, upper, lower))
    return lower, upper


def format_ports(lower, upper):
    """The ``ports`` text of normalized boundaries: ``None``, ``"2000"``, ``"2000-2010"``, or
    ``"2000-"`` (a lower boundary only: up to the protocol's highest port)."""
    if lower is None and upper is None:
        return None
    if upper is None:
        return "%d-" % lower
    if lower == upper:
        return "%d" % lower
    return "%d-%d" % (lower, upper)


def make_rule(rank, action, protocol, direction, lower=None, upper=None):
    """A normalized rule dict: an unset lower boundary equals 0, and a rule that matches every port
    has both boundaries ``None``."""
    if upper is None and not lower:
        lower = None
    elif lower is None:
        lower = 0
    return dict(rank=rank, action=action, protocol=protocol, direction=direction, lower=lower, upper=upper)


def public_rule(rule):
    """A rule as results show it, in the form the ``rules`` option takes."""
    return dict(rank=rule["rank"], action=rule["action"], protocol=rule["protocol"], direction=rule["direction"],
                ports=format_ports(rule["lower"], rule["upper"]))


def validate(params):
    """Every problem of the options, as a list of messages (empty when all is well), for
    ``ansible_module.fail_on_errors``. Pure: runs before the module connects, so bad input never costs a
    request."""
    errors = []
    rules = params.get("rules")
    if params.get("state") == "absent":
        extra = [o for o in ("rules", "filter_enabled") if params.get(o) is not None]
        if extra:
            errors.append("state=absent removes every rule and turns filtering off; do not set %s with it"
                          % " or ".join(extra))
        return errors
    if not rules:
        return errors
    allowed = (("action", ACTIONS), ("protocol", PROTOCOLS), ("direction", DIRECTIONS))
    ranked, unranked = [], []
    for number, rule in enumerate(rules, 1):
        rule = rule or {}
        for option, values in allowed:
            value = rule.get(option)
            if value not in values:
                errors.append("rule #%d: %s %s is not allowed; use one of: %s"
                              % (number, option, "is missing" if value is None else "'%s'" % value, ", ".join(values)))
        try:
            parse_ports(rule.get("ports"))
        except ValueError as exc:
            errors.append("rule #%d: ports %s" % (number, exc))
        rank = rule.get("rank")
        if rank is not None and not RANK_MIN <= rank <= RANK_MAX:
            errors.append("rule #%d: rank %d is outside the ranks allowed (%d-%d)" % (number, rank, RANK_MIN, RANK_MAX))
        (ranked if rank is not None else unranked).append(number)
    if ranked and unranked:
        errors.append("rank is set on rule%s %s but not on %s: give rank on every rule, or on none (the "
                      "ranks then follow the list order)" % (
                          "s" if len(ranked) > 1 else "", ", ".join("#%d" % n for n in ranked),
                          ", ".join("#%d" % n for n in unranked)))
    elif ranked:
        by_rank = {}
        for number, rule in enumerate(rules, 1):
            by_rank.setdefault(rule["rank"], []).append(number)
        for rank in sorted(r for r, numbers in by_rank.items() if len(numbers) > 1):
            errors.append("rules %s have the same rank %d: ranks must be unique (vSphere applies the rules in "
                          "ascending rank)" % (" and ".join("#%d" % n for n in by_rank[rank]), rank))
    return errors


def desired_rules(rules):
    """The normalized rules of the ``rules`` option (validated), in the order vSphere applies them.

    Without explicit ranks the first rule gets rank 1, the next 2, and so on."""
    explicit = has_explicit_ranks(rules)
    out = []
    for number, rule in enumerate(rules or [], 1):
        lower, upper = parse_ports(rule.get("ports"))
        rank = rule["rank"] if explicit else number
        out.append(make_rule(rank, rule["action"], rule["protocol"], rule["direction"], lower, upper))
    return sorted(out, key=lambda r: r["rank"])


def has_explicit_ranks(rules):
    return bool(rules) and all(r.get("rank") is not None for r in rules)


def rules_from_specs(filters):
    """Normalized rules from vSphere FilterSpecs (objects with rank, action, ...), by ascending rank
    (the order vSphere applies them; equal ranks keep their list order)."""
    out = [make_rule(f.rank, f.action, f.protocol, f.direction, f.lowerDstPortBoundary, f.upperDstPortBoundary)
           for f in filters or []]
    return sorted(out, key=lambda r: r["rank"])


def _content(rule, with_rank):
    key = (rule["action"], rule["protocol"], rule["direction"], rule["lower"], rule["upper"])
    return key + ((rule["rank"],) if with_rank else ())


def same_rules(current, desired, compare_ranks=False):
    """Whether two rule lists (normalized, in applied order) are the same by content and order.

    Rank values count only when ``compare_ranks`` (the user gave explicit ranks); an unset lower port
    boundary and 0 are equal (make_rule normalizes them)."""
    if len(current) != len(desired):
        return False
    return all(_content(c, compare_ranks) == _content(d, compare_ranks) for c, d in zip(current, desired))


def plan(current_enabled, current_rules, state="present", filter_enabled=None, rules=None):
    """What a run should do. Returns a dict: ``changed``, ``filter_enabled`` and ``rules`` (the
    state after the run), ``rules_changed`` (whether the rule list must be sent)."""
    current_enabled = bool(current_enabled)
    if state == "absent":
        filter_enabled, rules = False, []
    want_enabled = current_enabled if filter_enabled is None else bool(filter_enabled)
    after_rules = current_rules
    rules_changed = False
    if rules is not None:
        wanted = desired_rules(rules)
        if not same_rules(current_rules, wanted, compare_ranks=has_explicit_ranks(rules)):
            after_rules, rules_changed = wanted, True
    changed = rules_changed or want_enabled != current_enabled
    return dict(changed=changed, filter_enabled=want_enabled, rules=after_rules, rules_changed=rules_changed)


def state_view(filter_enabled, rules):
    """The user-facing state: the ``diff`` halves and the result keys."""
    return dict(filter_enabled=bool(filter_enabled), rules=[public_rule(r) for r in rules])


def refusal_message(message, kind, power_state):
    """The message for a reconfiguration vSphere refused; a refusal of a running VM's change says
    what to do about the power state. (vcsim never refuses: this is unit-tested.)"""
    if power_state == "poweredOn" and kind in ("task", "fault"):
        message += (" The VM is powered on: where the host does not allow changing the VMCI firewall of a "
                    "running VM, power it off and run again.")
    return message
