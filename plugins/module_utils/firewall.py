# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ESXi firewall rule sets of network-backed serial ports: ``remoteSerialPort`` and ``vSPC``.

The vSphere guide says to enable one of them before a network serial port can talk, and not to
change the allowed-IP list of either. So this module only ever calls ``EnableRuleset`` and
``DisableRuleset``; it never calls ``UpdateRuleset``, and the allowed-IP list is reported, read-only.

A run costs: one names-only inventory read (:func:`select_hosts`), one PropertyCollector read of
every selected host (:func:`read_hosts`), then one ``EnableRuleset``/``DisableRuleset`` per rule set
that has to change. Pure functions (:func:`validate_params`, :func:`plan_changes`,
:func:`ruleset_view`, :func:`build_result`, ...) take values, not the module.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from types import MappingProxyType

from ansible_collections.vmchannels.vsphere.plugins.module_utils.client import VSphereError, fault_to_error
from ansible_collections.vmchannels.vsphere.plugins.module_utils.inventory import find_hosts
from ansible_collections.vmchannels.vsphere.plugins.module_utils.properties import retrieve, traversal

try:
    from pyVmomi import vim, vmodl
except ImportError:  # pragma: no cover - client.HAS_PYVMOMI reports it
    pass

SERIAL_RULESETS = ("remoteSerialPort", "vSPC")
RULESET_STATES = ("enabled", "disabled")
# Hosts in these states cannot be read or changed: they are skipped with a warning.
UNREACHABLE_STATES = ("disconnected", "notResponding")
HOST_PATHS = ("name", "runtime.connectionState", "configManager.firewallSystem")


# -- argument specs and validation (pure) ---------------------------------------------------------

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


# -- reading -----------------------------------------------------------------------------------

def select_hosts(client, esxi_hostname=None, cluster_name=None, datacenter=None, cluster_peers=False):
    """The :class:`HostTarget` list of the hosts named by the options, in one names-only request
    (``cluster_peers``: with the other hosts of the clusters of the hosts named).

    Connected straight to an ESXi host, the target is that host: ``esxi_hostname`` must then be
    its name or the address the session was opened with (``hostname``).
    """
    names = unique(n.strip() for n in esxi_hostname) if esxi_hostname else None
    if names and not client.is_vcenter:
        hosts = find_hosts(client)
        known = set([client.hostname] + [h.name for h in hosts])
        unknown = [n for n in names if n not in known]
        if unknown:
            raise VSphereError(
                "Connected straight to the ESXi host %s (named '%s'): esxi_hostname %s names another host. "
                "Give '%s' or '%s', or connect to the vCenter Server that manages the other hosts."
                % (client.hostname, hosts[0].name if hosts else "?", ", ".join("'%s'" % n for n in unknown),
                   hosts[0].name if hosts else "?", client.hostname), kind="not_found")
        return hosts
    hosts = find_hosts(client, names=names, cluster=cluster_name, datacenter=datacenter, cluster_peers=cluster_peers)
    if not hosts:
        where = ("cluster '%s'" % cluster_name) if cluster_name else ("datacenter '%s'" % datacenter)
        raise VSphereError("The %s holds no ESXi host." % where, kind="not_found")
    return hosts


def _rulesets_by_key(firewall):
    return dict((rs.key, rs) for rs in (getattr(firewall, "ruleset", None) or []))


def read_with_firewall(client, refs, host_paths, what):
    """``host_paths`` of the hosts ``refs`` and the rule-set table of each, in ONE request.

    The table is read from the host's firewall system (``configManager.firewallSystem`` ->
    ``firewallInfo``), reached by a traversal from the host in the same PropertyCollector read: it
    is what Enable/DisableRuleset change. ``host.config.firewall`` is a copy that a real ESXi host
    refreshes but upstream vcsim never does, so a run reading it would enable the rule sets again
    and again. A server that does not follow the traversal costs one more read (of the firewall
    systems), never more. Returns the hosts' :class:`ObjectProperties`, each with ``firewall``: the
    ``HostFirewallInfo``, or ``None`` when it could not be read (a disconnected host).
    """
    paths = sorted(set(host_paths) | {"configManager.firewallSystem"})
    host_moids = set(ref._moId for ref in refs)
    results = retrieve(client.content, refs, {vim.HostSystem: paths, vim.host.FirewallSystem: ["firewallInfo"]},
                       select=[traversal("host_firewall_system", vim.HostSystem, "configManager.firewallSystem")],
                       what=what)
    hosts = [props for props in results if props.moid in host_moids]
    tables = dict((props.moid, props.get("firewallInfo")) for props in results if props.moid not in host_moids)
    unread = [props["configManager.firewallSystem"] for props in hosts
              if props.get("configManager.firewallSystem") is not None
              and props["configManager.firewallSystem"]._moId not in tables]
    if unread:
        tables.update((props.moid, props.get("firewallInfo")) for props in retrieve(
            client.content, unread, {vim.host.FirewallSystem: ["firewallInfo"]}, what=what))
    for props in hosts:
        system = props.get("configManager.firewallSystem")
        props.firewall = tables.get(system._moId) if system is not None else None
    return hosts


def read_hosts(client, targets):
    """Read name, connection state, firewall system and its rule-set table of every target in ONE
    PropertyCollector request (:func:`read_with_firewall`). Returns a list of host dicts (see
    :func:`host_state`) in the order of ``targets``."""
    if not targets:
        return []
    results = read_with_firewall(client, [t.obj for t in targets], HOST_PATHS,
                                 "reading the firewall of %d ESXi host(s)" % len(targets))
    by_moid = dict((props.moid, props) for props in results)
    hosts = []
    for target in targets:
        props = by_moid.get(target.moid)
        if props is None:
            raise VSphereError("The ESXi host %s (moid %s) no longer exists."
                               % (target.name or target.moid, target.moid), kind="not_found")
        hosts.append(host_state(target, props))
    return hosts


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


def serial_rulesets_state(client, host_refs):
    """Whether ``remoteSerialPort`` and ``vSPC`` are enabled on each host of ``host_refs``, in one request.

    Returns ``{host_moid: {"remoteSerialPort": bool|None, "vSPC": bool|None, "name": str,
    "connection_state": str}}``; ``None`` when the rule set does not exist on the host or the host's
    firewall cannot be read (for example a disconnected host). Hosts that no longer exist are absent.
    """
    refs = []
    seen = set()
    for ref in host_refs or []:
        if ref is not None and ref._moId not in seen:
            seen.add(ref._moId)
            refs.append(ref)
    if not refs:
        return {}
    results = read_with_firewall(client, refs, ["name", "runtime.connectionState"],
                                 "reading the serial-port firewall rule sets of %d ESXi host(s)" % len(refs))
    out = {}
    for props in results:
        rulesets = _rulesets_by_key(props.firewall)
        entry = dict(name=props.get("name"), connection_state=props.get("runtime.connectionState"))
        for key in SERIAL_RULESETS:
            ruleset = rulesets.get(key)
            entry[key] = bool(ruleset.enabled) if ruleset is not None else None
        out[props.moid] = entry
    return out


# -- pure logic --------------------------------------------------------------------------------

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


# -- changing ----------------------------------------------------------------------------------

def _set_ruleset(client, host, key, enable):
    """Enable or disable one rule set of one host; never touches its allowed-IP list.

    Returns ``True`` when this call changed it, ``False`` when a concurrent change had already
    brought it to the wanted state (vSphere raised a fault, and a read-back shows the wanted state).
    """
    action = "enabling" if enable else "disabling"
    what = "%s the firewall rule set '%s' on ESXi host %s" % (action, key, host["name"])
    system = host["firewall_system"]
    if system is None:
        raise VSphereError("ESXi host %s has no firewall system (configManager.firewallSystem is unset): "
                           "cannot change rule set '%s'." % (host["name"], key), kind="not_found")
    try:
        if enable:
            system.EnableRuleset(id=key)
        else:
            system.DisableRuleset(id=key)
        return True
    except vim.fault.NotFound as fault:
        raise VSphereError("The rule set '%s' does not exist on ESXi host %s (NotFound while %s)."
                           % (key, host["name"], action), kind="not_found", fault=fault)
    except vmodl.MethodFault as fault:
        # Two runs may change the same rule set at once; if vSphere objects that it is already in the
        # wanted state, that is success. Decide on the state read back, not on the fault's wording.
        now = serial_rulesets_state(client, [host["obj"]]).get(host["moid"], {}).get(key)
        if now is enable:
            return False
        raise fault_to_error(fault, what)


def apply_changes(client, hosts, changes, state):
    """Call Enable/DisableRuleset for each planned change. Returns ``{host name: [keys applied]}``.

    A failure raises :class:`VSphereError` whose ``result`` says which hosts were already changed.
    """
    enable = state == "enabled"
    applied = {}
    for host in hosts:
        keys = changes.get(host["name"]) or []
        for key in keys:
            try:
                _set_ruleset(client, host, key, enable)
            except VSphereError as exc:
                done = sorted(name for name, k in applied.items() if k)
                exc.result = dict(changed=bool(done), changed_hosts=done)
                if done:
                    exc.msg += " Already %s before the failure: %s." % (state, ", ".join(
                        "%s (%s)" % (name, ", ".join(applied[name])) for name in done))
                raise
            applied.setdefault(host["name"], []).append(key)
    return applied


# -- the two modules' logic --------------------------------------------------------------------

def _select_and_read(client, params):
    targets = select_hosts(client, params.get("esxi_hostname"), params.get("cluster_name"), params.get("datacenter"),
                           bool(params.get("cluster_peers")))
    return read_hosts(client, targets)


def ensure_rulesets(client, params, check_mode=False, diff=False, warn=None):
    """The esxi_serial_firewall_ruleset module: bring ``params['rulesets']`` to ``params['state']``
    on the selected hosts. Returns the module result."""
    keys = unique(params["rulesets"])
    state = params["state"]
    hosts = _select_and_read(client, params)
    changes, skipped, errors = plan_changes(hosts, keys, state)
    if errors:
        raise VSphereError(" ".join(errors) + " Nothing was changed.", kind="invalid")
    for host in hosts:
        if is_skipped(host) and warn is not None:
            warn(skip_warning(host))
    # The report is built from the state read before any change (``enabled`` being the planned state).
    report = build_result(hosts, keys, changes, skipped, state=state)
    if not check_mode:
        apply_changes(client, hosts, changes, state)
    changed_hosts = sorted(name for name, todo in changes.items() if todo)
    result = dict(changed=bool(changed_hosts), hosts=report, changed_hosts=changed_hosts,
                  skipped_hosts=sorted(skipped), rulesets=keys, state=state)
    if diff:
        result["diff"] = build_diff(report)
    return result


def audit_rulesets(client, params, warn=None):
    """The esxi_serial_firewall_ruleset_info module: the per-host view of both rule sets."""
    hosts = _select_and_read(client, params)
    skipped = sorted(h["name"] for h in hosts if is_skipped(h))
    for host in hosts:
        if is_skipped(host) and warn is not None:
            warn(skip_warning(host))
    report = build_result(hosts, SERIAL_RULESETS, {}, skipped)
    return dict(
        changed=False,
        hosts=report,
        skipped_hosts=skipped,
        network_serial_ready_hosts=sorted(n for n, e in report.items() if e["network_serial_ready"]),
        vspc_ready_hosts=sorted(n for n, e in report.items() if e["vspc_ready"]),
    )
