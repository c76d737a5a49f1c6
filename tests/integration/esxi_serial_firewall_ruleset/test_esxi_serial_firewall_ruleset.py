"""esxi_serial_firewall_ruleset and esxi_serial_firewall_ruleset_info against the simulator.

How "the allowed-IP list stays unchanged" is proven: the launcher gives every host its own rule-set
table and implements UpdateRuleset for test set-up only (tests/vcsim/launcher/firewall.go), so the
set-up below restricts allowed-IP lists with UpdateRuleset through pyVmomi; after each playbook
run, every rule set of every host (enabled flag, allIp, addresses, networks) is read back and
compared with the state before. The simulator trace (sim.soap_calls()) shows the modules never
call UpdateRuleset; tests/unit/plugins/module_utils/esxi_firewall/test_hosts.py proves the same with a recorded call list.

Every test that changes a firewall uses its own simulator (fresh_vcsim): other modules' tests
read the rule sets of the session simulator's hosts.
"""
from concurrent.futures import ThreadPoolExecutor

import pytest
from pyVim.connect import Disconnect, SmartConnect
from pyVim.task import WaitForTask
from pyVmomi import vim, vmodl

M = "vmchannels.vsphere.esxi_serial_firewall_ruleset"
INFO = "vmchannels.vsphere.esxi_serial_firewall_ruleset_info"
CLUSTER_HOSTS = ["DC0_C0_H0", "DC0_C0_H1", "DC0_C0_H2"]
ALL_HOSTS = sorted(CLUSTER_HOSTS + ["DC0_H0"])
SERIAL = ("remoteSerialPort", "vSPC")


def task(name, module=M, check_mode=None, diff=None, ignore_errors=False, **args):
    entry = {"name": name, module: args, "register": "out"}
    if check_mode is not None:
        entry["check_mode"] = check_mode
    if diff is not None:
        entry["diff"] = diff
    if ignore_errors:
        entry["ignore_errors"] = True
    return entry


class Session(object):
    """A pyVmomi session on a simulator, to set up and read back firewall tables."""

    def __init__(self, sim):
        self.si = SmartConnect(host=sim.host, port=sim.port, user=sim.username, pwd=sim.password,
                               disableSslCertValidation=True)
        self.content = self.si.content

    def close(self):
        Disconnect(self.si)

    def hosts(self):
        view = self.content.viewManager.CreateContainerView(self.content.rootFolder, [vim.HostSystem], True)
        try:
            return dict((h.name, h) for h in view.view)
        finally:
            view.Destroy()

    def tables(self, source="firewallInfo"):
        """{host name: {rule set key: (enabled, allIp, ip addresses, ip networks)}}, every rule set, as
        the host's firewall system holds them (``firewallInfo``: what Enable/DisableRuleset change, on
        ESXi as on every vcsim), or as ``host.config.firewall`` shows them (``source="config"``:
        a stale copy on upstream vcsim)."""
        pc = vmodl.query.PropertyCollector
        hosts = list(self.hosts().values())
        to_system = pc.TraversalSpec(name="fw", type=vim.HostSystem, path="configManager.firewallSystem", skip=False)
        spec = pc.FilterSpec(objectSet=[pc.ObjectSpec(obj=h, selectSet=[to_system]) for h in hosts],
                             propSet=[pc.PropertySpec(type=vim.HostSystem,
                                                      pathSet=["name", "config.firewall", "configManager.firewallSystem"]),
                                      pc.PropertySpec(type=vim.host.FirewallSystem, pathSet=["firewallInfo"])])
        objects = self.content.propertyCollector.RetrieveContents([spec])
        infos = dict((obj.obj._moId, obj.propSet[0].val) for obj in objects
                     if isinstance(obj.obj, vim.host.FirewallSystem) and obj.propSet)
        out = {}
        for obj in objects:
            if not isinstance(obj.obj, vim.HostSystem):
                continue
            props = dict((p.name, p.val) for p in obj.propSet)
            info = props["config.firewall"] if source == "config" else infos[props["configManager.firewallSystem"]._moId]
            table = {}
            for rs in info.ruleset:
                allowed = rs.allowedHosts
                table[rs.key] = (rs.enabled, allowed.allIp, tuple(allowed.ipAddress or ()),
                                 tuple("%s/%s" % (n.network, n.prefixLength) for n in allowed.ipNetwork or ()))
            out[props["name"]] = table
        return out

    def restrict(self, host_name, key, ips=(), networks=()):
        """Test set-up only: restrict a rule set's allowed-IP list (the launcher's UpdateRuleset)."""
        system = self.hosts()[host_name].configManager.firewallSystem
        ip_list = vim.host.Ruleset.IpList(
            allIp=False, ipAddress=list(ips),
            ipNetwork=[vim.host.Ruleset.IpNetwork(network=n.split("/")[0], prefixLength=int(n.split("/")[1]))
                       for n in networks])
        system.UpdateRuleset(id=key, spec=vim.host.Ruleset.RulesetSpec(allowedHosts=ip_list))

    def add_disconnected_host(self, cluster_name, host_name):
        """A host in the cluster whose connection state is 'disconnected' (AddHost_Task asConnected=false)."""
        view = self.content.viewManager.CreateContainerView(self.content.rootFolder,
                                                            [vim.ClusterComputeResource], True)
        cluster = [c for c in view.view if c.name == cluster_name][0]
        view.Destroy()
        spec = vim.host.ConnectSpec(hostName=host_name, userName="root", password="x", force=True)
        WaitForTask(cluster.AddHost_Task(spec=spec, asConnected=False))


def failure(run, name):
    """The result of task ``name``, which must have failed."""
    entry = run.task(name)
    assert entry["status"] == "failed", entry
    return entry["result"]


def enabled(tables, host, key):
    return tables[host][key][0]


def expect(before, **changes):
    """``before`` with the ``enabled`` flags of ``changes`` ({host: {key: bool}}) replaced."""
    out = dict((h, dict(t)) for h, t in before.items())
    for host, keys in changes.items():
        for key, value in keys.items():
            out[host][key] = (value,) + out[host][key][1:]
    return out


@pytest.fixture
def vc(fresh_vcsim):
    sim = fresh_vcsim()
    session = Session(sim)
    yield sim, session
    session.close()


@pytest.mark.matrix
def test_vcenter_cluster_list_datacenter(vc, playbook):
    sim, session = vc
    session.restrict("DC0_C0_H0", "vSPC", ips=["192.0.2.10"], networks=["198.51.100.0/24"])
    session.restrict("DC0_H0", "remoteSerialPort", ips=["192.0.2.20"])
    session.add_disconnected_host("DC0_C0", "esx-down")
    before = session.tables()
    assert before["DC0_C0_H0"]["vSPC"] == (False, False, ("192.0.2.10",), ("198.51.100.0/24",))
    for host in ALL_HOSTS:
        assert not enabled(before, host, "vSPC") and not enabled(before, host, "remoteSerialPort")

    # 1. Check mode, with diff: reports the change, changes nothing.
    sim.reset_trace()
    run = playbook([
        task("check cluster", check_mode=True, diff=True, cluster_name="DC0_C0", rulesets=["vSPC"]),
        task("check list", check_mode=True, esxi_hostname=["DC0_H0", "DC0_C0_H1"],
             rulesets=["remoteSerialPort", "vSPC"]),
    ], sim=sim, args=["--diff"], name="check")
    assert run.rc == 0, run
    calls = sim.soap_calls()
    assert "EnableRuleset" not in calls and "UpdateRuleset" not in calls
    result = run.result("check cluster")
    assert result["changed"] is True
    assert result["changed_hosts"] == CLUSTER_HOSTS
    assert result["skipped_hosts"] == ["esx-down"]
    assert any("esx-down" in w and "disconnected" in w for w in result["warnings"])
    assert result["diff"]["before"] == dict((h, {"vSPC": {"enabled": False}}) for h in CLUSTER_HOSTS)
    assert result["diff"]["after"] == dict((h, {"vSPC": {"enabled": True}}) for h in CLUSTER_HOSTS)
    assert result["hosts"]["esx-down"]["skipped"] is True
    assert run.result("check list")["changed_hosts"] == ["DC0_C0_H1", "DC0_H0"]
    assert session.tables() == before

    # 2. Enable: a cluster, then a list of hosts overlapping it, then the cluster again (idempotent).
    run = playbook([
        task("enable cluster", diff=True, cluster_name="DC0_C0", datacenter="DC0", rulesets=["vSPC"]),
        task("enable list", esxi_hostname=["DC0_H0", "DC0_C0_H1"], rulesets=["remoteSerialPort", "vSPC"]),
        task("enable cluster again", cluster_name="DC0_C0", rulesets=["vSPC"]),
        task("enable list again", esxi_hostname="DC0_H0,DC0_C0_H1", rulesets=["vSPC", "remoteSerialPort"]),
        task("audit", module=INFO, datacenter="DC0"),
    ], sim=sim, args=["--diff"], name="enable")
    assert run.rc == 0, run
    result = run.result("enable cluster")
    assert result["changed"] is True and result["changed_hosts"] == CLUSTER_HOSTS
    view = result["hosts"]["DC0_C0_H0"]["rulesets"]["vSPC"]
    assert (view["enabled_before"], view["enabled"]) == (False, True)
    assert view["allowed_hosts"] == {"all_ip": False, "ip_addresses": ["192.0.2.10"],
                                     "ip_networks": ["198.51.100.0/24"]}
    assert {"port": 0, "end_port": 65535, "direction": "outbound", "port_type": "dst",
            "protocol": "tcp"} in view["rules"]
    result = run.result("enable list")
    assert result["changed_hosts"] == ["DC0_C0_H1", "DC0_H0"]
    assert result["hosts"]["DC0_C0_H1"]["rulesets"]["vSPC"]["enabled_before"] is True
    assert result["hosts"]["DC0_H0"]["rulesets"]["remoteSerialPort"]["allowed_hosts"]["ip_addresses"] == [
        "192.0.2.20"]
    for name in ("enable cluster again", "enable list again"):
        assert run.result(name)["changed"] is False, name
        assert run.result(name)["changed_hosts"] == [], name
    audit = run.result("audit")
    assert audit["changed"] is False
    assert audit["vspc_ready_hosts"] == ALL_HOSTS
    assert audit["network_serial_ready_hosts"] == ["DC0_C0_H1", "DC0_H0"]
    assert audit["skipped_hosts"] == ["esx-down"]
    assert audit["hosts"]["DC0_C0_H0"]["network_serial_ready"] is False
    assert audit["hosts"]["DC0_C0_H0"]["vspc_ready"] is True
    after = session.tables()
    assert after == expect(before, DC0_C0_H0={"vSPC": True}, DC0_C0_H2={"vSPC": True},
                           DC0_C0_H1={"vSPC": True, "remoteSerialPort": True},
                           DC0_H0={"vSPC": True, "remoteSerialPort": True})

    # 3. Disable on the whole datacenter, again (idempotent); unknown host and cluster fail cleanly.
    sim.reset_trace()
    run = playbook([
        task("disable datacenter", diff=True, datacenter="DC0", rulesets=["remoteSerialPort", "vSPC"],
             state="disabled"),
    ], sim=sim, args=["--diff"], name="disable")
    assert run.rc == 0, run
    calls = sim.soap_calls()
    result = run.result("disable datacenter")
    assert result["changed_hosts"] == ALL_HOSTS
    assert result["diff"]["before"]["DC0_H0"] == {"remoteSerialPort": {"enabled": True}, "vSPC": {"enabled": True}}
    assert result["diff"]["after"]["DC0_C0_H0"] == {"remoteSerialPort": {"enabled": False},
                                                    "vSPC": {"enabled": False}}
    # One run: log in, one names-only read, one read of every host, one call per rule set to change.
    assert calls == {"RetrieveServiceContent": 1, "Login": 1, "RetrievePropertiesEx": 2, "DisableRuleset": 6,
                     "Logout": 1}, calls
    run = playbook([
        task("disable datacenter again", datacenter="DC0", rulesets=["remoteSerialPort", "vSPC"], state="disabled"),
        task("unknown host", ignore_errors=True, esxi_hostname=["DC0_H0", "nohost"], rulesets=["vSPC"]),
        task("unknown cluster", ignore_errors=True, cluster_name="nocluster", rulesets=["vSPC"]),
        task("unknown datacenter", module=INFO, ignore_errors=True, datacenter="nodc"),
    ], sim=sim, name="again")
    assert run.rc == 0, run
    assert run.result("disable datacenter again")["changed"] is False
    failed = failure(run, "unknown host")
    assert "'nohost'" in failed["msg"] and failed["error_kind"] == "not_found"
    failed = failure(run, "unknown cluster")
    assert "'nocluster'" in failed["msg"] and "/DC0/host/DC0_C0" in failed["msg"]
    failed = failure(run, "unknown datacenter")
    assert "'nodc'" in failed["msg"] and "DC0" in failed["msg"]
    assert session.tables() == before


def test_esx_mode_and_concurrent_runs(fresh_vcsim, playbook):
    sim = fresh_vcsim(esx=True)
    session = Session(sim)
    try:
        session.restrict("localhost.localdomain", "vSPC", ips=["192.0.2.30"])
        before = session.tables()
        assert list(before) == ["localhost.localdomain"]

        # Two runs enabling the same rule set on the same host at the same time: both succeed.
        plays = [task("enable", esxi_hostname=[sim.host], rulesets=["vSPC"])]
        with ThreadPoolExecutor(max_workers=2) as pool:
            runs = list(pool.map(lambda n: playbook(plays, sim=sim, name="concurrent%d" % n), [1, 2]))
        for run in runs:
            assert run.rc == 0, run
        assert sum(run.result("enable")["changed"] for run in runs) >= 1

        sim.reset_trace()
        run = playbook([
            task("check", check_mode=True, diff=True, esxi_hostname="localhost.localdomain",
                 rulesets=["remoteSerialPort", "vSPC"]),
            task("enable by host name", esxi_hostname="localhost.localdomain", rulesets=["remoteSerialPort"]),
            task("again by address", esxi_hostname=sim.host, rulesets=["remoteSerialPort", "vSPC"]),
            task("audit", module=INFO, esxi_hostname=sim.host),
            task("other host", ignore_errors=True, esxi_hostname="esx99", rulesets=["vSPC"]),
            task("disable by datacenter", diff=True, datacenter="ha-datacenter", rulesets=["vSPC"],
                 state="disabled"),
        ], sim=sim, args=["--diff"], name="esx")
        assert run.rc == 0, run
        assert "UpdateRuleset" not in sim.soap_calls()
        check = run.result("check")
        assert check["changed_hosts"] == ["localhost.localdomain"]
        assert check["diff"] == {"before": {"localhost.localdomain": {"remoteSerialPort": {"enabled": False},
                                                                      "vSPC": {"enabled": True}}},
                                 "after": {"localhost.localdomain": {"remoteSerialPort": {"enabled": True},
                                                                     "vSPC": {"enabled": True}}}}
        assert run.result("enable by host name")["changed"] is True
        assert run.result("again by address")["changed"] is False
        audit = run.result("audit")
        assert audit["network_serial_ready_hosts"] == ["localhost.localdomain"]
        assert audit["vspc_ready_hosts"] == ["localhost.localdomain"]
        assert audit["hosts"]["localhost.localdomain"]["rulesets"]["vSPC"]["allowed_hosts"] == {
            "all_ip": False, "ip_addresses": ["192.0.2.30"], "ip_networks": []}
        failed = failure(run, "other host")
        assert "'esx99'" in failed["msg"] and "localhost.localdomain" in failed["msg"]
        disable = run.result("disable by datacenter")
        assert disable["changed"] is True
        assert disable["diff"]["after"] == {"localhost.localdomain": {"vSPC": {"enabled": False}}}
        assert session.tables() == expect(before, **{"localhost.localdomain": {"remoteSerialPort": True}})
    finally:
        session.close()


def test_idempotent_on_upstream_vcsim(fresh_vcsim, playbook):
    """Upstream vcsim never updates host.config.firewall on Enable/DisableRuleset (the launcher's
    -upstream-firewall models it): the modules read the firewall system's firewallInfo, so a second
    run changes nothing there either, at the same request count as on ESXi."""
    sim = fresh_vcsim(upstream_firewall=True)
    session = Session(sim)
    try:
        before = session.tables()
        # The mode does model upstream: a rule set enabled through the API leaves config.firewall stale.
        session.hosts()["DC0_H0"].configManager.firewallSystem.EnableRuleset(id="remoteSerialPort")
        assert enabled(session.tables(), "DC0_H0", "remoteSerialPort") is True
        assert enabled(session.tables(source="config"), "DC0_H0", "remoteSerialPort") is False

        runs = []
        for attempt in ("first", "second"):
            sim.reset_trace()
            run = playbook([
                task("enable", cluster_name="DC0_C0", rulesets=["vSPC"]),
                task("enable host", esxi_hostname=["DC0_H0"], rulesets=["remoteSerialPort", "vSPC"]),
                task("audit", module=INFO, datacenter="DC0"),
            ], sim=sim, name=attempt)
            assert run.rc == 0, run
            runs.append((run, sim.soap_calls()))
        (first, first_calls), (second, second_calls) = runs
        assert first.result("enable")["changed_hosts"] == CLUSTER_HOSTS
        assert first.result("enable host")["changed_hosts"] == ["DC0_H0"]  # vSPC only: remoteSerialPort was on
        assert first.result("enable host")["hosts"]["DC0_H0"]["rulesets"]["remoteSerialPort"]["enabled_before"] is True
        assert first_calls["EnableRuleset"] == 4, first_calls
        for name in ("enable", "enable host"):
            assert second.result(name)["changed"] is False, (name, second.result(name))
        assert "EnableRuleset" not in second_calls, second_calls
        # one login for the run; per task: the service content, a names-only read, and ONE read of the
        # hosts with their firewall systems (the traversal costs no request)
        assert second_calls == {"RetrieveServiceContent": 3, "Login": 1, "RetrievePropertiesEx": 6, "Logout": 1}, \
            second_calls
        assert second.result("audit")["vspc_ready_hosts"] == ALL_HOSTS
        assert session.tables() == expect(before, DC0_C0_H0={"vSPC": True}, DC0_C0_H1={"vSPC": True},
                                          DC0_C0_H2={"vSPC": True},
                                          DC0_H0={"vSPC": True, "remoteSerialPort": True})
        # ... while config.firewall, which the collection no longer reads, still says disabled.
        assert not any(enabled(session.tables(source="config"), h, "vSPC") for h in ALL_HOSTS)
    finally:
        session.close()


def test_bad_arguments_fail_before_any_request(playbook, vcsim):
    vcsim.reset_trace()
    run = playbook([
        task("unknown ruleset", ignore_errors=True, esxi_hostname="DC0_H0", rulesets=["vspc"]),
        task("empty rulesets", ignore_errors=True, esxi_hostname="DC0_H0", rulesets=[]),
        task("no target", ignore_errors=True, rulesets=["vSPC"]),
        task("conflicting targets", ignore_errors=True, esxi_hostname="DC0_H0", cluster_name="DC0_C0",
             rulesets=["vSPC"]),
        task("info no target", module=INFO, ignore_errors=True),
    ])
    assert run.rc == 0, run
    messages = dict((e["task"], e["result"].get("msg", "")) for e in run.results)
    assert [e["status"] for e in run.results] == ["failed"] * 5, messages
    assert "rulesets" in messages["unknown ruleset"] and "vspc" in messages["unknown ruleset"]
    assert "remoteSerialPort, vSPC" in messages["unknown ruleset"]
    assert "rulesets is empty" in messages["empty rulesets"]
    # required_one_of and mutually_exclusive of the argument spec (esxi_firewall.rulesets.TARGET_MODULE_KWARGS)
    assert "one of the following is required: esxi_hostname, cluster_name, datacenter" in messages["no target"]
    assert "mutually exclusive: esxi_hostname|cluster_name" in messages["conflicting targets"]
    assert "one of the following is required: esxi_hostname, cluster_name, datacenter" in messages["info no target"]
    assert sum(vcsim.soap_calls().values()) == 0, vcsim.soap_calls()


@pytest.mark.matrix
def test_info_on_the_session_simulator_is_read_only(playbook, vcsim):
    """Reads the shared simulator without changing it: one names-only read and one host read."""
    vcsim.reset_trace()
    run = playbook([task("audit", module=INFO, cluster_name="DC0_C0", datacenter="DC0")], args=["--check"])
    assert run.rc == 0, run
    calls = vcsim.soap_calls()
    assert calls == {"RetrieveServiceContent": 1, "Login": 1, "RetrievePropertiesEx": 2, "Logout": 1}, calls
    audit = run.result("audit")
    assert sorted(audit["hosts"]) == CLUSTER_HOSTS
    for name in CLUSTER_HOSTS:
        assert sorted(audit["hosts"][name]["rulesets"]) == sorted(SERIAL)
        assert audit["hosts"][name]["datacenter"] == "DC0" and audit["hosts"][name]["cluster"] == "DC0_C0"
