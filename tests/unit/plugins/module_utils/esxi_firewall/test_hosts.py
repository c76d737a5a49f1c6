"""ESXi serial-port firewall rule sets on the hosts (esxi_firewall/hosts.py): as issue 4 asks, a
recorded call list proving that no run ever calls UpdateRuleset (or anything but Enable/DisableRuleset),
and the host selection, reads, changes and audit behind it.

The recorded tests use a fake PropertyCollector and fake firewall systems that record every call
made to them, with real pyVmomi data objects for the firewall tables. They do not depend on the
simulator: vcsim 0.24.2 has no UpdateRuleset, and a call to an unimplemented method would only show
up as a fault, not as a recorded call.
"""
from types import SimpleNamespace

import pytest
from ansible_collections.vmchannels.vsphere.plugins.module_utils.esxi_firewall.hosts import (
    audit_rulesets,
    ensure_rulesets,
    serial_rulesets_state,
)
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.errors import VSphereError
from pyVmomi import vim

from .helpers import make_ruleset

# -- fakes ---------------------------------------------------------------------------------------


def default_table(**overrides):
    table = {
        "sshServer": make_ruleset("sshServer", enabled=True),
        "remoteSerialPort": make_ruleset("remoteSerialPort"),
        "vSPC": make_ruleset("vSPC"),
    }
    table.update(overrides)
    return table


class FakeFirewallSystem(object):
    """Records every method called on it. Enable/DisableRuleset change the table; any other method
    (UpdateRuleset above all) is recorded and would also change the allowed-IP list."""

    def __init__(self, host, calls):
        self._host = host
        self._moId = "firewall-%s" % host.moid
        self._calls = calls
        self.fault = None          # raised by the next Enable/DisableRuleset
        self.concurrent = None     # state another run sets just before the fault

    def __getattr__(self, method):
        if method.startswith("_"):
            raise AttributeError(method)

        def call(*args, **kwargs):
            ruleset_id = kwargs.get("id", args[0] if args else None)
            self._calls.append((self._host.moid, method, ruleset_id))
            table = self._host.table
            if method in ("EnableRuleset", "DisableRuleset"):
                if ruleset_id not in table:
                    raise vim.fault.NotFound()
                fault = self.fault
                if fault is not None:
                    self.fault = None
                    if self.concurrent is not None:
                        table[ruleset_id].enabled = self.concurrent
                    raise fault
                table[ruleset_id].enabled = method == "EnableRuleset"
            else:
                table[ruleset_id].allowedHosts = vim.host.Ruleset.IpList(allIp=False)
        return call


class FakeHost(object):
    def __init__(self, moid, name, parent, calls, state="connected", table=None):
        self.moid = moid
        self.name = name
        self.parent = parent
        self.state = state
        self.table = table if table is not None else default_table()
        self.ref = vim.HostSystem(moid, None)
        self.firewall_system = FakeFirewallSystem(self, calls)


def prop(name, val):
    return SimpleNamespace(name=name, val=val)


def firewall_object(host):
    """The firewall system of ``host`` as a read returns it (vCenter has no firewall info of a
    disconnected host)."""
    props = []
    if host.state == "connected":
        props.append(prop("firewallInfo", vim.host.FirewallInfo(ruleset=list(host.table.values()))))
    return SimpleNamespace(obj=host.firewall_system, propSet=props, missingSet=[])


class FakePropertyCollector(object):
    """``traverses``: whether the host -> firewall system traversal is followed (a server that does
    not follow it makes the reader read the firewall systems in a second request)."""

    def __init__(self, inventory, hosts, calls):
        self.inventory = inventory
        self.hosts = dict((h.moid, h) for h in hosts)
        self.firewalls = dict((h.firewall_system._moId, h) for h in hosts)
        self.calls = calls
        self.traverses = True
        self.real_refs = False  # configManager.firewallSystem as a pyVmomi reference (read only, no calls)

    def RetrievePropertiesEx(self, specSet, options):
        paths = sorted(set(p for spec in specSet for ps in spec.propSet for p in ps.pathSet))
        self.calls.append(("PropertyCollector", "RetrievePropertiesEx", tuple(paths)))
        objects = []
        if "parent" in paths:  # the names-only inventory read of find_hosts
            for ref, name, parent in self.inventory:
                props = [prop("name", name)]
                if parent is not None:
                    props.append(prop("parent", parent))
                objects.append(SimpleNamespace(obj=ref, propSet=props, missingSet=[]))
        else:
            for spec in specSet:
                for object_spec in spec.objectSet:
                    if object_spec.obj._moId in self.firewalls:  # a firewall system read directly
                        objects.append(firewall_object(self.firewalls[object_spec.obj._moId]))
                        continue
                    host = self.hosts.get(object_spec.obj._moId)
                    if host is None:
                        continue
                    props = [prop("name", host.name), prop("runtime.connectionState", host.state)]
                    if "config.firewall" in paths:  # stale on purpose, as upstream vcsim's: never to be read
                        props.append(prop("config.firewall", vim.host.FirewallInfo(ruleset=[])))
                    if "configManager.firewallSystem" in paths:
                        props.append(prop("configManager.firewallSystem", vim.host.FirewallSystem(
                            host.firewall_system._moId, None) if self.real_refs else host.firewall_system))
                    objects.append(SimpleNamespace(obj=host.ref, propSet=props, missingSet=[]))
                    followed = [ts.path for ts in object_spec.selectSet or []]
                    if self.traverses and "configManager.firewallSystem" in followed:
                        objects.append(firewall_object(host))
        return SimpleNamespace(objects=objects, token=None)

    def ContinueRetrievePropertiesEx(self, token):  # pragma: no cover - never paged here
        raise AssertionError("unexpected paging")


class World(object):
    """DC0 with cluster C0 (esx01, esx02) and a standalone host esx03."""

    def __init__(self, api_type="VirtualCenter", states=None, tables=None):
        self.calls = []
        states = states or {}
        tables = tables or {}
        root = vim.Folder("group-d1", None)
        dc = vim.Datacenter("dc-1", None)
        host_folder = vim.Folder("group-h1", None)
        cluster = vim.ClusterComputeResource("domain-c1", None)
        standalone = vim.ComputeResource("domain-s1", None)
        self.hosts = [
            FakeHost("host-1", "esx01", cluster, self.calls, states.get("esx01", "connected"), tables.get("esx01")),
            FakeHost("host-2", "esx02", cluster, self.calls, states.get("esx02", "connected"), tables.get("esx02")),
            FakeHost("host-3", "esx03", standalone, self.calls, states.get("esx03", "connected"), tables.get("esx03")),
        ]
        inventory = [(root, "Datacenters", None), (dc, "DC0", root), (host_folder, "host", dc),
                     (cluster, "C0", host_folder), (standalone, "esx03", host_folder)]
        inventory += [(h.ref, h.name, h.parent) for h in self.hosts]
        self.pc = FakePropertyCollector(inventory, self.hosts, self.calls)
        self.client = SimpleNamespace(
            content=SimpleNamespace(propertyCollector=self.pc, rootFolder=root,
                                    about=SimpleNamespace(apiType=api_type)),
            hostname="vc.example.com", is_vcenter=api_type == "VirtualCenter",
        )

    def host(self, name):
        return [h for h in self.hosts if h.name == name][0]

    def firewall_calls(self):
        return [c for c in self.calls if c[0] != "PropertyCollector"]

    def methods(self):
        return [c[1] for c in self.calls]


def params(**kw):
    out = dict(rulesets=["vSPC"], state="enabled", esxi_hostname=None, cluster_name=None, datacenter=None)
    out.update(kw)
    return out


def allowed(ruleset):
    a = ruleset.allowedHosts
    return (a.allIp, list(a.ipAddress), [(n.network, n.prefixLength) for n in a.ipNetwork])


# -- recorded call lists -----------------------------------------------------------------------

def test_enable_calls_only_enable_and_keeps_restricted_list():
    restricted = make_ruleset("vSPC", all_ip=False, ips=["192.0.2.10"], networks=["198.51.100.0/24"])
    world = World(tables={"esx01": default_table(vSPC=restricted),
                          "esx02": default_table(vSPC=make_ruleset("vSPC", enabled=True))})
    before = allowed(restricted)
    result = ensure_rulesets(world.client, params(cluster_name="C0"))
    assert world.calls == [
        ("PropertyCollector", "RetrievePropertiesEx", ("name", "parent")),
        ("PropertyCollector", "RetrievePropertiesEx",
         ("configManager.firewallSystem", "firewallInfo", "name", "runtime.connectionState")),
        ("host-1", "EnableRuleset", "vSPC"),
    ]
    assert world.host("esx01").table["vSPC"].enabled is True
    assert allowed(world.host("esx01").table["vSPC"]) == before
    assert result["changed"] is True and result["changed_hosts"] == ["esx01"]
    view = result["hosts"]["esx01"]["rulesets"]["vSPC"]
    assert (view["enabled_before"], view["enabled"]) == (False, True)
    assert view["allowed_hosts"] == {"all_ip": False, "ip_addresses": ["192.0.2.10"],
                                     "ip_networks": ["198.51.100.0/24"]}
    assert result["hosts"]["esx02"]["changed"] is False


@pytest.mark.parametrize("state", ["enabled", "disabled"])
@pytest.mark.parametrize("rulesets", [["vSPC"], ["remoteSerialPort"], ["remoteSerialPort", "vSPC"]])
@pytest.mark.parametrize("check_mode", [False, True])
def test_no_update_ruleset_ever(state, rulesets, check_mode):
    """Every combination, from mixed starting states, twice in a row: only Enable/DisableRuleset
    are called, every allowed-IP list and every other rule set stay as they were."""
    tables = {
        "esx01": default_table(vSPC=make_ruleset("vSPC", enabled=True, all_ip=False, ips=["192.0.2.1"]),
                               remoteSerialPort=make_ruleset("remoteSerialPort", all_ip=False,
                                                             networks=["10.0.0.0/8"])),
        "esx02": default_table(remoteSerialPort=make_ruleset("remoteSerialPort", enabled=True)),
        "esx03": default_table(),
    }
    world = World(tables=tables)
    lists_before = dict(((h.name, k), allowed(r)) for h in world.hosts for k, r in h.table.items())
    others_before = dict((h.name, h.table["sshServer"].enabled) for h in world.hosts)
    for dummy in range(2):
        ensure_rulesets(world.client, params(rulesets=rulesets, state=state, datacenter="DC0"),
                        check_mode=check_mode, diff=True)
    assert "UpdateRuleset" not in world.methods()
    assert set(c[1] for c in world.firewall_calls()) <= {"EnableRuleset", "DisableRuleset"}
    assert set(c[2] for c in world.firewall_calls()) <= set(rulesets)
    assert dict(((h.name, k), allowed(r)) for h in world.hosts for k, r in h.table.items()) == lists_before
    assert dict((h.name, h.table["sshServer"].enabled) for h in world.hosts) == others_before
    if check_mode:
        assert world.firewall_calls() == []
    # Each run: one inventory read and one host read, whatever the number of hosts.
    assert world.methods().count("RetrievePropertiesEx") == 4


def test_second_run_calls_nothing_and_is_not_changed():
    world = World()
    first = ensure_rulesets(world.client, params(esxi_hostname=["esx01", "esx03"], rulesets=["remoteSerialPort"]))
    assert first["changed_hosts"] == ["esx01", "esx03"]
    del world.calls[:]
    second = ensure_rulesets(world.client, params(esxi_hostname=["esx01", "esx03"], rulesets=["remoteSerialPort"]))
    assert second["changed"] is False and second["changed_hosts"] == []
    assert world.firewall_calls() == []


def test_check_mode_reports_the_change_without_making_it():
    world = World()
    result = ensure_rulesets(world.client, params(esxi_hostname=["esx02"]), check_mode=True, diff=True)
    assert result["changed"] is True
    assert world.firewall_calls() == []
    assert world.host("esx02").table["vSPC"].enabled is False
    assert result["diff"] == {"before": {"esx02": {"vSPC": {"enabled": False}}},
                              "after": {"esx02": {"vSPC": {"enabled": True}}}}


def test_disconnected_host_is_skipped_with_a_warning():
    world = World(states={"esx02": "notResponding"})
    warnings = []
    result = ensure_rulesets(world.client, params(cluster_name="C0"), warn=warnings.append)
    assert result["skipped_hosts"] == ["esx02"]
    assert result["hosts"]["esx02"]["skipped"] is True and result["hosts"]["esx02"]["rulesets"] == {}
    assert world.firewall_calls() == [("host-1", "EnableRuleset", "vSPC")]
    assert len(warnings) == 1 and "esx02" in warnings[0] and "notResponding" in warnings[0]


@pytest.mark.parametrize("table,words", [
    (default_table(vSPC=make_ruleset("vSPC", user_controllable=False)), ["vSPC", "esx03", "not user-controllable"]),
    ({"sshServer": make_ruleset("sshServer")}, ["vSPC", "esx03", "does not exist"]),
])
def test_unusable_ruleset_fails_before_any_change(table, words):
    world = World(tables={"esx03": table})
    with pytest.raises(VSphereError) as err:
        ensure_rulesets(world.client, params(datacenter="DC0"))
    for word in words:
        assert word in err.value.msg
    assert "Nothing was changed" in err.value.msg
    assert world.firewall_calls() == []


def test_user_controllable_true_is_fine():
    world = World(tables={"esx01": default_table(vSPC=make_ruleset("vSPC", user_controllable=True))})
    assert ensure_rulesets(world.client, params(esxi_hostname=["esx01"]))["changed"] is True


def test_fault_with_the_wanted_state_already_reached_is_success():
    """Two runs enabling the same rule set at once: if vSphere answers the second with a fault
    because the rule set is already enabled, the run succeeds (decided on a read-back)."""
    world = World()
    system = world.host("esx01").firewall_system
    system.fault = vim.fault.HostConfigFault(msg="Ruleset vSPC is already enabled")
    system.concurrent = True
    result = ensure_rulesets(world.client, params(esxi_hostname=["esx01"]))
    assert result["hosts"]["esx01"]["rulesets"]["vSPC"]["enabled"] is True
    assert world.methods()[-2:] == ["EnableRuleset", "RetrievePropertiesEx"]
    assert "UpdateRuleset" not in world.methods()


def test_fault_without_the_wanted_state_fails_and_says_what_was_done():
    world = World()
    world.host("esx02").firewall_system.fault = vim.fault.HostConfigFault(msg="firewall is busy")
    with pytest.raises(VSphereError) as err:
        ensure_rulesets(world.client, params(cluster_name="C0"))
    assert "esx02" in err.value.msg and "vSPC" in err.value.msg and "firewall is busy" in err.value.msg
    assert err.value.result == {"changed": True, "changed_hosts": ["esx01"]}
    assert "esx01 (vSPC)" in err.value.msg


def test_not_found_while_changing_names_host_and_ruleset():
    world = World()
    world.host("esx01").firewall_system.fault = vim.fault.NotFound()
    with pytest.raises(VSphereError) as err:
        ensure_rulesets(world.client, params(esxi_hostname=["esx01"]))
    assert err.value.kind == "not_found" and "'vSPC'" in err.value.msg and "esx01" in err.value.msg


def test_unknown_host_and_cluster():
    world = World()
    with pytest.raises(VSphereError) as err:
        ensure_rulesets(world.client, params(esxi_hostname=["esx09"]))
    assert "esx09" in err.value.msg and err.value.kind == "not_found"
    with pytest.raises(VSphereError) as err:
        ensure_rulesets(world.client, params(cluster_name="C9"))
    assert "C9" in err.value.msg and "/DC0/host/C0" in err.value.msg
    assert world.firewall_calls() == []


def test_connected_to_esxi_the_target_is_that_host():
    world = World(api_type="HostAgent")
    world.hosts = world.hosts[2:]
    world.pc.inventory = [e for e in world.pc.inventory if e[1] not in ("esx01", "esx02", "C0")]
    result = ensure_rulesets(world.client, params(esxi_hostname=["vc.example.com"]))
    assert list(result["hosts"]) == ["esx03"] and result["changed"] is True
    result = ensure_rulesets(world.client, params(esxi_hostname=["esx03"]))
    assert result["changed"] is False
    with pytest.raises(VSphereError) as err:
        ensure_rulesets(world.client, params(esxi_hostname=["other"]))
    assert "'other'" in err.value.msg and "esx03" in err.value.msg


def test_audit_changes_nothing_and_reports_readiness():
    world = World(tables={"esx01": default_table(vSPC=make_ruleset("vSPC", enabled=True)),
                          "esx02": default_table(remoteSerialPort=make_ruleset("remoteSerialPort", enabled=True))},
                  states={"esx03": "disconnected"})
    warnings = []
    result = audit_rulesets(world.client, params(datacenter="DC0"), warn=warnings.append)
    assert world.firewall_calls() == []
    assert world.methods() == ["RetrievePropertiesEx", "RetrievePropertiesEx"]
    assert result["vspc_ready_hosts"] == ["esx01"]
    assert result["network_serial_ready_hosts"] == ["esx02"]
    assert result["skipped_hosts"] == ["esx03"] and len(warnings) == 1
    assert result["hosts"]["esx03"]["vspc_ready"] is False
    assert sorted(result["hosts"]["esx01"]["rulesets"]) == ["remoteSerialPort", "vSPC"]
    assert "enabled_before" not in result["hosts"]["esx01"]["rulesets"]["vSPC"]


def test_serial_rulesets_state_one_call():
    world = World(tables={"esx01": default_table(vSPC=make_ruleset("vSPC", enabled=True)),
                          "esx02": {"remoteSerialPort": make_ruleset("remoteSerialPort", enabled=True)}},
                  states={"esx03": "disconnected"})
    refs = [h.ref for h in world.hosts] + [world.hosts[0].ref]
    state = serial_rulesets_state(world.client, refs)
    assert world.calls == [("PropertyCollector", "RetrievePropertiesEx",
                            ("configManager.firewallSystem", "firewallInfo", "name", "runtime.connectionState"))]
    assert state == {
        "host-1": {"remoteSerialPort": False, "vSPC": True, "name": "esx01", "connection_state": "connected"},
        "host-2": {"remoteSerialPort": True, "vSPC": None, "name": "esx02", "connection_state": "connected"},
        "host-3": {"remoteSerialPort": None, "vSPC": None, "name": "esx03", "connection_state": "disconnected"},
    }
    assert serial_rulesets_state(world.client, []) == {}
    assert len(world.calls) == 1


def test_cluster_peers_add_the_other_hosts_of_the_clusters_at_no_cost():
    world = World()
    result = audit_rulesets(world.client, params(esxi_hostname=["esx01"], cluster_peers=True))
    assert sorted(result["hosts"]) == ["esx01", "esx02"]  # esx03 is standalone: not a peer
    assert world.methods() == ["RetrievePropertiesEx"] * 2
    world = World()
    assert sorted(audit_rulesets(world.client, params(esxi_hostname=["esx03"], cluster_peers=True))["hosts"]) == [
        "esx03"]
    assert sorted(audit_rulesets(World().client, params(esxi_hostname=["esx01"]))["hosts"]) == ["esx01"]


def test_server_without_the_traversal_costs_one_more_read():
    """A server that does not follow the host -> firewall system traversal: the firewall systems are
    read in one more request (one, whatever the number of hosts), and the result is the same."""
    world = World(tables={"esx01": default_table(vSPC=make_ruleset("vSPC", enabled=True))},
                  states={"esx03": "disconnected"})
    world.pc.traverses = False
    world.pc.real_refs = True  # the second read names them in an ObjectSpec
    state = serial_rulesets_state(world.client, [h.ref for h in world.hosts])
    assert world.calls == [
        ("PropertyCollector", "RetrievePropertiesEx",
         ("configManager.firewallSystem", "firewallInfo", "name", "runtime.connectionState")),
        ("PropertyCollector", "RetrievePropertiesEx", ("firewallInfo",)),
    ]
    assert state["host-1"]["vSPC"] is True and state["host-2"]["vSPC"] is False
    assert state["host-3"]["vSPC"] is None
