# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ESXi firewall rule sets of network-backed serial ports: pure logic.

The rule sets (``remoteSerialPort``, ``vSPC``), the module options and their validation, what a host's
rule set looks like in results, which changes a run makes and the result and diff it reports. Values
in, values out: ``esxi_firewall.hosts`` does the reads and the ``EnableRuleset``/``DisableRuleset`` calls.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from types import MappingProxyType

SERIAL_RULESETS = ("remoteSerialPort", "vSPC")


RULESET_STATES = ("enabled", "disabled")


# Hosts in these states cannot be read or changed: they are skipped with a warning.
UNREACHABLE_STATES = ("disconnected", "notResponding")


def target_argument_spec():
    """How both modules name the ESXi hosts: documented in their DOCUMENTATION, change together."""
    return dict(
        esxi_hostname=dict(type="list", elements="str"),
        cluster_name=dict(type="str"),
        datacenter=dict(type="str"),
    )


#: How the options of target_argument_spec() combine, checked by AnsibleModule before anything else.
TARGET_MODULE_KWARGS = MappingProxyType(dict(
    mutually_exclusive=(("esxi_hostname", "cluster_name"),),
    required_one_of=(("esxi_hostname", "cluster_name", "datacenter"),),
))


def ruleset_argument_spec():
    return dict(
        rulesets=dict(type="list", elements="str", required=True, choices=list(SERIAL_RULESETS)),
        state=dict(type="str", default="enabled", choices=list(RULESET_STATES)),
    )


def unique(values):
    """``values`` without duplicates, first occurrence kept."""
    out = []
    for value in values or []:
        if value not in out:
            out.append(value)
    return out


def validate_target(esxi_hostname=None, cluster_name=None, datacenter=None):
    """The error message for empty host selectors, or ``None``. Called before connecting (that one
    of them is given, and not both esxi_hostname and cluster_name, is TARGET_MODULE_KWARGS's job)."""
    if cluster_name is not None and not cluster_name.strip():
        return "cluster_name is empty: give the name of the cluster whose hosts to use."
    if datacenter is not None and not datacenter.strip():
        return "datacenter is empty: give the name of a datacenter, or leave the option out."
    if esxi_hostname is not None:
        if not esxi_hostname:
            return ("esxi_hostname is an empty list: give at least one ESXi host name, or use cluster_name "
                    "or datacenter instead.")
        blank = [i for i, n in enumerate(esxi_hostname) if n is None or not str(n).strip()]
        if blank:
            return ("esxi_hostname holds an empty host name (item %s of %s): give host names as shown in the "
                    "vSphere Client." % (blank[0] + 1, esxi_hostname))
    return None


def validate_rulesets(rulesets):
    """The error message for an empty ``rulesets``, or ``None`` (the argument spec's ``choices``
    refuse names other than remoteSerialPort and vSPC)."""
    if not rulesets:
        return "rulesets is empty: give remoteSerialPort, vSPC or both."
    return None


def validate_params(params, with_rulesets=True):
    """The first error of the module parameters, or ``None``; no request is made."""
    error = None
    if with_rulesets:
        error = validate_rulesets(params.get("rulesets"))
    return error or validate_target(params.get("esxi_hostname"), params.get("cluster_name"), params.get("datacenter"))


def _rulesets_by_key(firewall):
    return dict((rs.key, rs) for rs in (getattr(firewall, "ruleset", None) or []))


def host_state(target, props):
    """One host as the pure functions see it (``props``: path -> value of :data:`HOST_PATHS`, and
    ``props.firewall``, the rule-set table read by :func:`read_with_firewall`)."""
    firewall = getattr(props, "firewall", None)
    return dict(
        name=props.get("name") or target.name or target.moid,
        moid=target.moid,
        obj=target.obj,
        cluster=getattr(target, "cluster", None),
        datacenter=getattr(target, "datacenter", None),
        connection_state=props.get("runtime.connectionState"),
        firewall_read=firewall is not None,
        rulesets=_rulesets_by_key(firewall),
        firewall_system=props.get("configManager.firewallSystem"),
    )


def _ip_network_text(net):
    prefix = getattr(net, "prefixLength", None)
    return "%s/%s" % (net.network, prefix) if prefix is not None else str(net.network)


def ruleset_view(ruleset):
    """What the modules report of one rule set: values only, ready for JSON."""
    allowed = getattr(ruleset, "allowedHosts", None)
    allowed_view = None
    if allowed is not None:
        allowed_view = dict(
            all_ip=bool(allowed.allIp),
            ip_addresses=list(allowed.ipAddress or []),
            ip_networks=[_ip_network_text(n) for n in (allowed.ipNetwork or [])],
        )
    return dict(
        label=ruleset.label,
        enabled=bool(ruleset.enabled),
        required=bool(getattr(ruleset, "required", False)),
        user_controllable=getattr(ruleset, "userControllable", None),
        allowed_hosts=allowed_view,
        rules=[dict(port=r.port, end_port=r.endPort, direction=r.direction, port_type=r.portType,
                    protocol=r.protocol) for r in (ruleset.rule or [])],
    )


def is_skipped(host):
    return host["connection_state"] in UNREACHABLE_STATES


def skip_warning(host):
    return ("ESXi host %s is %s: skipped, its firewall cannot be read or changed until it is connected again."
            % (host["name"], host["connection_state"]))


def plan_changes(hosts, keys, state):
    """Decide per host which of the rule sets ``keys`` must change to reach ``state``.

    Returns ``(changes, skipped, errors)``: ``changes`` maps host name to the keys to change (every
    host that is not skipped has an entry, possibly empty), ``skipped`` lists the names of
    disconnected or not-responding hosts, ``errors`` one message per missing or not user-controllable
    rule set, naming the host and the rule set.
    """
    want = state == "enabled"
    changes = {}
    skipped = []
    errors = []
    for host in hosts:
        if is_skipped(host):
            skipped.append(host["name"])
            continue
        if not host["firewall_read"]:
            errors.append("The firewall of ESXi host %s could not be read (connection state %s); check the host "
                          "in the vSphere Client." % (host["name"], host["connection_state"]))
            continue
        todo = []
        for key in keys:
            ruleset = host["rulesets"].get(key)
            if ruleset is None:
                errors.append("The rule set '%s' does not exist on ESXi host %s; its serial-port rule sets are: %s."
                              % (key, host["name"], ", ".join(k for k in SERIAL_RULESETS if k in host["rulesets"])
                                 or "none"))
                continue
            if getattr(ruleset, "userControllable", None) is False:
                errors.append("The rule set '%s' on ESXi host %s is not user-controllable (userControllable: "
                              "false): ESXi manages it, it cannot be %s here." % (key, host["name"], state))
                continue
            if bool(ruleset.enabled) != want:
                todo.append(key)
        changes[host["name"]] = todo
    return changes, skipped, errors


def build_result(hosts, keys, changes, skipped, state=None):
    """The per-host report. ``state`` given: the action module's view, with ``enabled_before``
    and ``enabled`` (the state after the run, or that the run would reach in check mode) and
    ``changed``; otherwise the info view, with ``network_serial_ready`` and ``vspc_ready``."""
    report = {}
    for host in hosts:
        entry = dict(moid=host["moid"], cluster=host["cluster"], datacenter=host["datacenter"],
                     connection_state=host["connection_state"], skipped=host["name"] in skipped, rulesets={})
        if state is not None:
            entry["changed"] = bool(changes.get(host["name"]))
        for key in keys:
            ruleset = host["rulesets"].get(key)
            if ruleset is None or entry["skipped"]:
                continue
            view = ruleset_view(ruleset)
            if state is not None:
                view["enabled_before"] = view["enabled"]
                if key in changes.get(host["name"], []):
                    view["enabled"] = state == "enabled"
            entry["rulesets"][key] = view
        if state is None:
            entry["network_serial_ready"] = bool(entry["rulesets"].get("remoteSerialPort", {}).get("enabled"))
            entry["vspc_ready"] = bool(entry["rulesets"].get("vSPC", {}).get("enabled"))
        report[host["name"]] = entry
    return report


def build_diff(report):
    """``{before, after}`` of ``enabled`` per host and rule set, from an action report."""
    before = {}
    after = {}
    for name in sorted(report):
        entry = report[name]
        if entry["skipped"]:
            continue
        before[name] = dict((k, dict(enabled=v["enabled_before"])) for k, v in entry["rulesets"].items())
        after[name] = dict((k, dict(enabled=v["enabled"])) for k, v in entry["rulesets"].items())
    return dict(before=before, after=after)
