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


from ansible_collections.vmchannels.vsphere.plugins.module_utils.esxi_firewall.rulesets import (
    SERIAL_RULESETS,
    _rulesets_by_key,
    build_diff,
    build_result,
    host_state,
    is_skipped,
    plan_changes,
    skip_warning,
    unique,
)
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.errors import VSphereError, fault_to_error
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.inventory import find_hosts
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.properties import retrieve, traversal

try:
    from pyVmomi import vim, vmodl
except ImportError:  # pragma: no cover - client.HAS_PYVMOMI reports it
    pass

HOST_PATHS = ("name", "runtime.connectionState", "configManager.firewallSystem")


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
