"""Faults, through real ansible-playbook runs: each ends in a clear error (no traceback), the VM is read
back afterwards and is either fully changed or not at all, and no session is left logged in on the
simulator (SessionManager.sessionList read back).

How the faults are made (tests/integration/reliability_support.py):
* stopped before the run: a simulator that was started, then stopped;
* connection lost between the read and the reconfigure: a TLS proxy between module and simulator
  drops the connection on the first ReconfigVM_Task (or EnableRuleset) without forwarding it; a second
  proxy forwards it and loses vSphere's answer (the change is then complete);
* simulator killed between the read and the reconfigure: with a per-call delay of 300 ms, a thread
  SIGKILLs the launcher as soon as its trace logs the arriving ReconfigVM_Task (before vcsim executes
  it, as the delay comes first). The simulator's state dies with it, so that VM cannot be read back:
  the proxy faults above are the read-back proof for the same moment of the run;
* answering slowly: a per-call delay (1.2 s) above the module's timeout (1 s);
* a vSphere task that fails: a VM marked as template (vcsim, like vCenter, refuses to reconfigure
  its devices: the ReconfigVM_Task ends in NotSupported);
* bad credentials (the simulator enforcing user and password) and a session that ends in the middle
  of the run (terminated by an administrator, as an expired session: NotAuthenticated).
Untrusted certificates are in test_security.py.
"""
import pytest
from vcsimctl import Simulator

from conftest import run_playbook
from reliability_support import (
    BULK,
    FW,
    FWI,
    SP,
    SPI,
    VF,
    VFB,
    VFI,
    FaultProxy,
    Reader,
    firewall_guard,
    kill_on,
    make_pki,
    other_sessions,
    register_trace,
)
from vsphere_helpers import power, serial_ports

# The autouse fixture, named here so that it is visibly used: scans this file's simulator traces.
pytestmark = [pytest.mark.usefixtures(firewall_guard.__name__), pytest.mark.reliability]

TWO_PORTS = [{"number": 1, "backing": {"type": "thinprint"}},
             {"number": 2, "backing": {"type": "file", "file_path": "[LocalDS_0] x/serial2.log"}}]
RULES = [{"action": "allow", "protocol": "hypervisor", "direction": "host"},
         {"action": "deny", "protocol": "anyProtocol", "direction": "anyDirection"}]
# One task per module, for faults that hit every module alike.
ALL_MODULES = [
    (SP, {"name": "DC0_H0_VM0", "serial_ports": TWO_PORTS}),
    (SPI, {"name": "DC0_H0_VM0"}),
    (FW, {"cluster_name": "DC0_C0", "rulesets": ["vSPC"]}),
    (FWI, {"datacenter": "DC0"}),
    (VF, {"name": "DC0_H0_VM0", "rules": RULES}),
    (VFI, {"name": "DC0_H0_VM0"}),
    (BULK, {"vms": [{"name": "DC0_H0_VM0", "serial_ports": TWO_PORTS}]}),
    (VFB, {"vms": [{"name": "DC0_H0_VM0", "rules": RULES}]}),
]


BULK_VMS = ("DC0_C0_RP0_VM1", "DC0_H0_VM3", "DC0_C0_RP0_VM3")


def each_module(**extra):
    tasks = []
    for module, args in ALL_MODULES:
        args = dict(args, **extra)
        tasks.append({"name": module.rsplit(".", maxsplit=1)[-1], module: args, "ignore_errors": True})
    return tasks


def failed(run, name):
    entry = run.task(name)
    assert entry["status"] == "failed", entry
    result = entry["result"]
    assert "Module failed" not in result["msg"] and "MODULE FAILURE" not in result["msg"], result["msg"]
    return result


def no_traceback(run):
    assert "Traceback" not in run.stdout + run.stderr


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(str(tmp_path_factory.mktemp("pki")))


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    simulator = register_trace(Simulator(vm=4, trace=str(tmp_path_factory.mktemp("faults") / "trace.jsonl")).start())
    yield simulator
    simulator.stop()


def test_simulator_stopped_before_the_run(fresh_vcsim, tmp_path):
    stopped = fresh_vcsim(vm=1)
    stopped.stop()
    run = run_playbook(tmp_path, each_module(), sim=stopped)
    no_traceback(run)
    for module, dummy in ALL_MODULES:
        result = failed(run, module.rsplit(".", maxsplit=1)[-1])
        assert "Cannot reach 127.0.0.1:%d" % stopped.port in result["msg"], result["msg"]
        assert "VMWARE_HOST" in result["msg"] and result["error_kind"] == "connection"


def test_unreachable_or_refusing_http_proxy_is_named(sim, tmp_path):
    """With proxy_host, a proxy that does not answer, or answers the CONNECT with 403, is named: the
    message is about the proxy, not about VMWARE_HOST and VMWARE_PORT (which are fine)."""
    import socket
    import threading

    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()  # nothing listens there
    refusing = socket.socket()
    refusing.bind(("127.0.0.1", 0))
    refusing.listen(8)
    refusing_port = refusing.getsockname()[1]

    def answer_403():
        while True:
            try:
                conn, dummy = refusing.accept()
            except OSError:
                return
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            conn.close()

    threading.Thread(target=answer_403, daemon=True).start()
    sim.reset_trace()
    try:
        run = run_playbook(tmp_path, [
            {"name": "closed", SPI: {"name": "DC0_H0_VM0", "proxy_host": "127.0.0.1", "proxy_port": closed_port},
             "ignore_errors": True},
            {"name": "403", FWI: {"datacenter": "DC0", "proxy_host": "127.0.0.1", "proxy_port": refusing_port},
             "ignore_errors": True},
        ], sim=sim)
    finally:
        refusing.close()
    no_traceback(run)
    closed_msg = failed(run, "closed")["msg"]
    assert "Cannot reach the HTTP proxy 127.0.0.1:%d" % closed_port in closed_msg, closed_msg
    # proxy_host and proxy_port came from the task: the message names those options, not the variables
    assert "Check proxy_host and proxy_port" in closed_msg and "VMWARE_" not in closed_msg, closed_msg
    refused = failed(run, "403")
    assert "The HTTP proxy 127.0.0.1:%d refused to connect to 127.0.0.1:%d" % (refusing_port, sim.port) \
        in refused["msg"], refused["msg"]
    assert "403 Forbidden" in refused["msg"] and refused["error_kind"] == "connection"
    assert not sim.soap_calls()  # no request reached vSphere


def test_connection_lost_at_the_change(sim, pki, tmp_path):
    """The connection dies when the change is sent: before it reaches vSphere (nothing changed, the
    VM powered off for it is powered back on, the firewall of the hosts not reached is untouched),
    or after vSphere executed it (the change is complete; the next run has nothing to do)."""
    with Reader(sim) as reader:
        for name in ("DC0_H0_VM0", "DC0_H0_VM2") + BULK_VMS:
            power(reader.vm(name), "poweredOff")
        power(reader.vm("DC0_H0_VM1"), "poweredOn")
        vmci_before = reader.vmci("DC0_C0_RP0_VM0")
        firewalls_before = reader.firewalls()
    proxies = dict(
        drop_serial=FaultProxy(sim, pki["self_cert"], pki["self_key"], "ReconfigVM_Task", "drop"),
        drop_cycle=FaultProxy(sim, pki["self_cert"], pki["self_key"], "ReconfigVM_Task", "drop"),
        drop_vmci=FaultProxy(sim, pki["self_cert"], pki["self_key"], "ReconfigVM_Task", "drop"),
        drop_firewall=FaultProxy(sim, pki["self_cert"], pki["self_key"], "EnableRuleset", "drop", occurrence=2),
        lost_answer=FaultProxy(sim, pki["self_cert"], pki["self_key"], "ReconfigVM_Task", "drop_response"),
        drop_bulk=FaultProxy(sim, pki["self_cert"], pki["self_key"], "ReconfigVM_Task", "drop", occurrence=2),
    )
    tasks = [
        {"name": "drop_serial", SP: {"name": "DC0_H0_VM0", "serial_ports": TWO_PORTS}},
        {"name": "drop_cycle", SP: {"name": "DC0_H0_VM1", "serial_ports": TWO_PORTS, "allow_power_cycle": True}},
        {"name": "drop_vmci", VF: {"name": "DC0_C0_RP0_VM0", "filter_enabled": True, "rules": RULES}},
        {"name": "drop_firewall", FW: {"cluster_name": "DC0_C0", "rulesets": ["remoteSerialPort"]}},
        {"name": "lost_answer", SP: {"name": "DC0_H0_VM2", "serial_ports": TWO_PORTS}},
        {"name": "drop_bulk", BULK: {"vms": [{"name": n, "serial_ports": TWO_PORTS} for n in BULK_VMS]}},
    ]
    for entry in tasks:
        args = entry[[k for k in entry if k.startswith("vmchannels")][0]]
        args["port"] = proxies[entry["name"]].port
        entry["ignore_errors"] = True
    try:
        run = run_playbook(tmp_path, tasks, sim=sim)
    finally:
        for proxy in proxies.values():
            proxy.close()
    no_traceback(run)
    for name, proxy in proxies.items():
        assert proxy.fired.is_set(), name
        result = failed(run, name)
        assert "Lost the connection to 127.0.0.1:%d" % proxy.port in result["msg"], result["msg"]
        assert "may or may not have been applied" in result["msg"] and result["error_kind"] == "connection"
        assert proxy.methods[-1] == "Logout", (name, proxy.methods)  # logged out on a new connection

    with Reader(sim) as reader:
        assert serial_ports(reader.vm("DC0_H0_VM0")) == {}
        cycled = reader.vm("DC0_H0_VM1")
        assert serial_ports(cycled) == {} and cycled.runtime.powerState == "poweredOn"
        assert reader.vmci("DC0_C0_RP0_VM0") == vmci_before
        # EnableRuleset reached the first host; the connection died on the second: the rest is as before.
        firewalls = reader.firewalls()
        changed = dict((h, [k for k in t if t[k] != firewalls_before[h][k]]) for h, t in firewalls.items())
        assert changed == {"DC0_C0_H0": ["remoteSerialPort"], "DC0_C0_H1": [], "DC0_C0_H2": [], "DC0_H0": []}
        assert firewalls["DC0_C0_H0"]["remoteSerialPort"][1:] == firewalls_before["DC0_C0_H0"]["remoteSerialPort"][1:]
        # The answer was lost, but vSphere had applied the whole change.
        assert sorted(serial_ports(reader.vm("DC0_H0_VM2"))) == [1, 2]
        # The bulk run lost its connection on the second of its three reconfigure requests. The
        # three starts of the wave are sent concurrently: the one dropped changed nothing, the first
        # is complete, the third is complete when it was sent before the loss was seen (it usually
        # is) and untouched when not; no VM is half changed.
        bulk = sorted(sorted(serial_ports(reader.vm(n))) for n in BULK_VMS)
        assert bulk in ([[], [1, 2], [1, 2]], [[], [], [1, 2]]), bulk
    assert other_sessions(sim) == []

    # Running again (directly) completes what was cut off, and finds the lost answer's change done.
    run = run_playbook(tmp_path, [
        {"name": "again serial", SP: {"name": "DC0_H0_VM0", "serial_ports": TWO_PORTS}},
        {"name": "again firewall", FW: {"cluster_name": "DC0_C0", "rulesets": ["remoteSerialPort"]}},
        {"name": "again lost answer", SP: {"name": "DC0_H0_VM2", "serial_ports": TWO_PORTS}},
        {"name": "again bulk", BULK: {"vms": [{"name": n, "serial_ports": TWO_PORTS} for n in BULK_VMS]}},
    ], sim=sim, name="again")
    assert run.rc == 0, run
    assert run.result("again serial")["changed"] is True
    assert run.result("again firewall")["changed_hosts"] == ["DC0_C0_H1", "DC0_C0_H2"]
    assert run.result("again lost answer")["changed"] is False
    assert run.result("again bulk")["changed"] is True
    with Reader(sim) as reader:
        assert all(sorted(serial_ports(reader.vm(n))) == [1, 2] for n in BULK_VMS)
    assert other_sessions(sim) == []


def test_simulator_killed_between_read_and_reconfigure(tmp_path):
    sim = Simulator(vm=1, delay_ms=300, trace=str(tmp_path / "trace.jsonl")).start()
    try:
        with Reader(sim) as reader:
            power(reader.vm("DC0_H0_VM0"), "poweredOff")
        killed = kill_on(sim, "ReconfigVM_Task")
        run = run_playbook(tmp_path, [{"name": "killed", SP: {"name": "DC0_H0_VM0", "serial_ports": TWO_PORTS}}],
                           sim=sim)
        assert killed.is_set()
        no_traceback(run)
        result = failed(run, "killed")
        assert "Lost the connection to 127.0.0.1:%d" % sim.port in result["msg"], result["msg"]
        assert "run the task again" in result["msg"]
    finally:
        sim.stop()


def test_simulator_answering_slower_than_the_timeout(tmp_path):
    sim = Simulator(vm=1, delay_ms=1200, trace=str(tmp_path / "trace.jsonl")).start()
    try:
        run = run_playbook(tmp_path, [
            {"name": "slow", SP: {"name": "DC0_H0_VM0", "serial_ports": TWO_PORTS, "timeout": 1}},
        ], sim=sim)
        no_traceback(run)
        result = failed(run, "slow")
        assert "timed out after 1 seconds" in result["msg"] and result["error_kind"] == "connection"
        # The request that timed out was the first one: no login, so no session, and nothing changed.
        assert "Login" not in sim.soap_calls()
        assert other_sessions(sim, settle=3) == []
    finally:
        sim.stop()


def test_failing_vsphere_task_changes_nothing(sim, tmp_path):
    with Reader(sim) as reader:
        template = reader.vm("DC0_C0_RP0_VM2")
        power(template, "poweredOff")
        template.MarkAsTemplate()
        vmci_before = reader.vmci("DC0_C0_RP0_VM2")
        version = template.config.changeVersion
    sim.reset_trace()
    run = run_playbook(tmp_path, [
        {"name": "serial on template", SP: {"name": "DC0_C0_RP0_VM2", "serial_ports": TWO_PORTS},
         "ignore_errors": True},
        {"name": "vmci on template", VF: {"name": "DC0_C0_RP0_VM2", "rules": RULES, "filter_enabled": True},
         "ignore_errors": True},
    ], sim=sim)
    no_traceback(run)
    assert sim.soap_calls()["ReconfigVM_Task"] == 2
    for name, what in (("serial on template", "reconfiguring the serial ports (add 1, add 2)"),
                       ("vmci on template", "changing the VMCI firewall")):
        result = failed(run, name)
        assert what in result["msg"] and "DC0_C0_RP0_VM2" in result["msg"], result["msg"]
        assert "NotSupported" in result["msg"] and result["error_kind"] == "task"
    with Reader(sim) as reader:
        template = reader.vm("DC0_C0_RP0_VM2")
        assert serial_ports(template) == {}
        assert reader.vmci("DC0_C0_RP0_VM2") == vmci_before
        assert template.config.changeVersion == version
    assert other_sessions(sim) == []


def test_bad_credentials_and_an_ended_session(fresh_vcsim, pki, tmp_path):
    sim = fresh_vcsim(vm=1, username="ops@vsphere.local", password="Right-Pw-0rchid")
    run = run_playbook(tmp_path, each_module(password="Wrong-Pw-0rchid"), sim=sim)
    no_traceback(run)
    for module, dummy in ALL_MODULES:
        result = failed(run, module.rsplit(".", maxsplit=1)[-1])
        assert "Cannot log in to 127.0.0.1:%d as ops@vsphere.local" % sim.port in result["msg"], result["msg"]
        assert "user name or password is incorrect" in result["msg"] and result["error_kind"] == "login"

    # The session ends while the run is going (an administrator terminates it, or it expires).
    with Reader(sim) as reader:
        vm = reader.vm("DC0_H0_VM0")
        power(vm, "poweredOff")
        uuid = vm.config.uuid
        own = reader.content.sessionManager.currentSession.key

        def terminate_the_module_session():
            manager = reader.content.sessionManager
            manager.TerminateSession(sessionId=[s.key for s in manager.sessionList if s.key != own])

        proxy = FaultProxy(sim, pki["self_cert"], pki["self_key"], "FindAllByUuid", "hook",
                           hook=terminate_the_module_session)
        try:
            run = run_playbook(tmp_path, [{"name": "ended", SP: {"uuid": uuid, "serial_ports": TWO_PORTS}}],
                               sim=sim, env=proxy.env(), name="ended")
        finally:
            proxy.close()
        assert proxy.fired.is_set()
        no_traceback(run)
        result = failed(run, "ended")
        assert "session ended" in result["msg"] and "NotAuthenticated" in result["msg"], result["msg"]
        assert result["error_kind"] == "login"
        assert serial_ports(vm) == {}
    assert other_sessions(sim) == []
