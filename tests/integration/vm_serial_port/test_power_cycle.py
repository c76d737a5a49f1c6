"""Power safety of allow_power_cycle, through real ansible-playbook runs: whatever fails after a module
changed a VM's power state, the VM ends in the power state it had before, or the message says exactly
what state it is in and why. Read back with pyVmomi.

vcsim has no VMware Tools and runs every task at once, so the launcher models what a real vSphere does
(tests/vcsim/launcher/faults.go, set per VM with ``Simulator.inject_faults``): Tools running in the
guest, a guest shutdown that takes a while or hangs, a task that stays running past the module's
timeout (and TaskInProgress for other tasks on the VM meanwhile), a task that fails, a connection
lost on a given call.
"""
import time

import pytest
from vcsimctl import Simulator, soap_methods

from conftest import run_playbook
from reliability_support import BULK, SP, Reader, firewall_guard, other_sessions, register_trace
from vsphere_helpers import power, serial_ports

# The autouse fixture, named here so that it is visibly used: scans this file's simulator traces.
pytestmark = [pytest.mark.usefixtures(firewall_guard.__name__), pytest.mark.reliability]

PORT1 = [{"number": 1, "backing": {"type": "thinprint"}}]
TIMEOUT = 2  # seconds; the injected delays are well above it
GUEST_TIMEOUT = "power off after guest shutdown timeout"


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    simulator = register_trace(Simulator(vm=5, trace=str(tmp_path_factory.mktemp("power") / "trace.jsonl")).start())
    yield simulator
    simulator.stop()


def running(sim, *names, **faults):
    """Power the VMs on (no serial port yet) and give each the faults; returns their moids."""
    moids = {}
    with Reader(sim) as reader:
        for name in names:
            vm = reader.vm(name)
            power(vm, "poweredOn")
            assert serial_ports(vm) == {}
            moids[name] = vm._moId
    for name in names:
        sim.inject_faults(name, **faults)
    return moids


def add_port(name, **extra):
    args = dict(name=name, serial_ports=PORT1, allow_power_cycle=True, timeout=TIMEOUT)
    args.update(extra)
    return {"name": name, SP: args, "ignore_errors": True}


def state(sim, name):
    with Reader(sim) as reader:
        vm = reader.vm(name)
        return vm.runtime.powerState, sorted(serial_ports(vm))


def calls_on(sim, since, moid):
    """The SOAP methods called on one VM since the trace offset ``since`` (but the test's own reads)."""
    import json

    out = []
    with open(sim.trace_file) as handle:
        handle.seek(since)
        for line in handle:
            entry = json.loads(line)
            if entry.get("this") == moid and entry.get("method") not in ("", None, "Fetch"):
                out.append(entry["method"])
    return out


def offset(sim):
    import os

    return os.path.getsize(sim.trace_file)


#: What Ansible adds to every result, and what every module of the collection adds to a failure.
ANSIBLE_KEYS = {"changed", "failed", "msg", "exception", "invocation", "warnings", "deprecations", "_ansible_no_log",
                "diff", "error_kind"}


def undocumented_keys(result, module):
    """The keys of a module result that its RETURN does not document."""
    import importlib

    import yaml

    doc = yaml.safe_load(importlib.import_module("ansible_collections.vmchannels.vsphere.plugins.modules."
                                                 + module.rsplit(".", 1)[-1]).RETURN)
    return set(result) - set(doc) - ANSIBLE_KEYS


def failed(run, name):
    entry = run.task(name)
    assert entry["status"] == "failed", entry
    assert "Traceback" not in run.stdout + run.stderr
    return entry["result"]


def test_guest_shutdown_through_vmware_tools(sim, tmp_path):
    moid = running(sim, "DC0_H0_VM0", tools=True, shutdown_delay_ms=300)["DC0_H0_VM0"]
    since = offset(sim)
    check = run_playbook(tmp_path, [dict(add_port("DC0_H0_VM0"), check_mode=True)], sim=sim, name="check")
    assert check.result("DC0_H0_VM0")["power_cycle"] == "would power cycle"
    assert calls_on(sim, since, moid) == []  # check mode: no power operation, no change
    run = run_playbook(tmp_path, [add_port("DC0_H0_VM0")], sim=sim)
    result = run.result("DC0_H0_VM0")
    assert run.task("DC0_H0_VM0")["status"] == "ok", result
    assert result["changed"] is True and result["power_cycle"] == "guest shutdown"
    assert result["vm"]["power_state"] == "poweredOn"
    assert undocumented_keys(result, SP) == set() and undocumented_keys(check.result("DC0_H0_VM0"), SP) == set()
    assert calls_on(sim, since, moid) == ["ShutdownGuest", "ReconfigVM_Task", "PowerOnVM_Task"]
    assert state(sim, "DC0_H0_VM0") == ("poweredOn", [1])


def test_guest_shutdown_that_hangs_or_outlasts_the_timeout_falls_back_to_a_power_off(sim, tmp_path):
    """A guest that never shuts down, and one that would only after the timeout: both are powered off
    (hard) at the timeout, changed and powered back on; the late shutdown never comes."""
    moids = running(sim, "DC0_H0_VM1", tools=True, shutdown_delay_ms=-1)
    moids.update(running(sim, "DC0_H0_VM2", tools=True, shutdown_delay_ms=3 * TIMEOUT * 1000))
    since = offset(sim)
    started = time.monotonic()
    run = run_playbook(tmp_path, [add_port("DC0_H0_VM1"), add_port("DC0_H0_VM2")], sim=sim)
    for name in ("DC0_H0_VM1", "DC0_H0_VM2"):
        result = run.result(name)
        assert run.task(name)["status"] == "ok", result
        assert result["changed"] is True and result["power_cycle"] == GUEST_TIMEOUT, result
        assert any("did not shut down within %d seconds" % TIMEOUT in w and name in w
                   for w in result.get("warnings", [])), result
        assert calls_on(sim, since, moids[name]) == ["ShutdownGuest", "PowerOffVM_Task", "ReconfigVM_Task",
                                                     "PowerOnVM_Task"]
        assert state(sim, name) == ("poweredOn", [1])
    time.sleep(max(0.0, 3 * TIMEOUT + 1 - (time.monotonic() - started)))  # past the late guest's shutdown
    assert state(sim, "DC0_H0_VM2") == ("poweredOn", [1])


def test_reconfigure_fault_after_the_power_off(sim, tmp_path):
    running(sim, "DC0_H0_VM3", fail={"ReconfigVM_Task": {"fault": "GenericVmConfigFault", "times": 1}})
    run = run_playbook(tmp_path, [add_port("DC0_H0_VM3")], sim=sim)
    result = failed(run, "DC0_H0_VM3")
    assert "GenericVmConfigFault" in result["msg"] and "reconfiguring the serial ports (add 1)" in result["msg"]
    assert "VM 'DC0_H0_VM3'" in result["msg"] and "powered off for the change, was powered back on" in result["msg"]
    assert result["error_kind"] == "task"
    assert state(sim, "DC0_H0_VM3") == ("poweredOn", [])
    assert other_sessions(sim) == []


def test_connection_lost_during_the_power_cycle(sim, tmp_path):
    """The connection is lost (the launcher closes it before executing the call) when the change is
    sent, once while powering back on (the module reads the VM again and powers it on), and on every
    attempt to power back on (the message says the VM is off, why, and what was changed)."""
    running(sim, "DC0_C0_RP0_VM0", drop={"ReconfigVM_Task": 1})
    running(sim, "DC0_C0_RP0_VM1", drop={"PowerOnVM_Task": 1})
    running(sim, "DC0_C0_RP0_VM2", drop={"PowerOnVM_Task": 5})
    run = run_playbook(tmp_path, [add_port("DC0_C0_RP0_VM0"), add_port("DC0_C0_RP0_VM1"), add_port("DC0_C0_RP0_VM2")],
                       sim=sim)

    result = failed(run, "DC0_C0_RP0_VM0")
    assert "Lost the connection to 127.0.0.1:%d" % sim.port in result["msg"] and result["error_kind"] == "connection"
    assert "VM 'DC0_C0_RP0_VM0'" in result["msg"] and "was powered back on" in result["msg"], result["msg"]
    assert state(sim, "DC0_C0_RP0_VM0") == ("poweredOn", [])

    result = run.result("DC0_C0_RP0_VM1")
    assert run.task("DC0_C0_RP0_VM1")["status"] == "ok", result
    assert result["changed"] is True and result["power_cycle"] == "power off"
    assert any("lost" in w and "powered back on" in w for w in result.get("warnings", [])), result
    assert state(sim, "DC0_C0_RP0_VM1") == ("poweredOn", [1])

    result = failed(run, "DC0_C0_RP0_VM2")
    msg = result["msg"]
    assert "VM 'DC0_C0_RP0_VM2'" in msg and "is powered off" in msg and "lost while powering it back on" in msg, msg
    assert "Power it on" in msg and "The serial ports were changed (add 1)" in msg, msg
    assert state(sim, "DC0_C0_RP0_VM2") == ("poweredOff", [1])  # exactly what the message says
    assert other_sessions(sim) == []


def test_tasks_that_outlast_the_timeout(sim, tmp_path):
    """A power-off, a reconfiguration and a power-on that are still running when the module's timeout
    ends: the message says what state each VM is in, and why; read back once the tasks have ended,
    the VM is in that state."""
    delay = 3 * TIMEOUT * 1000
    running(sim, "DC0_C0_RP0_VM3", task_delay_ms={"PowerOffVM_Task": delay})
    moid = running(sim, "DC0_H0_VM4", task_delay_ms={"ReconfigVM_Task": delay})["DC0_H0_VM4"]
    running(sim, "DC0_C0_RP0_VM4", task_delay_ms={"PowerOnVM_Task": delay})
    run = run_playbook(tmp_path, [add_port("DC0_C0_RP0_VM3"), add_port("DC0_H0_VM4"), add_port("DC0_C0_RP0_VM4")],
                       sim=sim)
    ended = time.monotonic()

    msg = failed(run, "DC0_C0_RP0_VM3")["msg"]
    assert "VM 'DC0_C0_RP0_VM3'" in msg and "is still powered on" in msg and "did not finish within 2" in msg, msg
    assert "will be powered off when it ends, with nothing changed" in msg, msg

    msg = failed(run, "DC0_H0_VM4")["msg"]
    assert "serial ports (add 1) of VM 'DC0_H0_VM4' (%s) did not finish within 2 seconds" % moid in msg, msg
    assert "still running" in msg, msg
    assert "is powered off" in msg and "TaskInProgress" in msg, msg

    msg = failed(run, "DC0_C0_RP0_VM4")["msg"]
    assert "is not powered on yet" in msg and "still running in vSphere" in msg, msg
    assert "The serial ports were changed (add 1)" in msg, msg

    time.sleep(max(0.0, delay / 1000.0 + 1 - (time.monotonic() - ended)))
    assert state(sim, "DC0_C0_RP0_VM3") == ("poweredOff", [])
    assert state(sim, "DC0_H0_VM4") == ("poweredOff", [1])
    assert state(sim, "DC0_C0_RP0_VM4") == ("poweredOn", [1])
    assert other_sessions(sim) == []


def test_bulk_power_cycles_at_most_max_powered_off_vms_at_once(fresh_vcsim, tmp_path):
    sim = fresh_vcsim(vm=3)
    names = ["DC0_H0_VM0", "DC0_H0_VM1", "DC0_H0_VM2", "DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1", "DC0_C0_RP0_VM2"]
    with Reader(sim) as reader:
        moids = dict((reader.vm(n)._moId, n) for n in names)
        for name in names:
            power(reader.vm(name), "poweredOff" if name == "DC0_H0_VM2" else "poweredOn")
    sim.inject_faults("DC0_C0_RP0_VM1", fail={"ReconfigVM_Task": {"fault": "GenericVmConfigFault", "times": 1}})
    task = {BULK: {"vms": [{"name": n, "serial_ports": PORT1} for n in names], "allow_power_cycle": True,
                   "max_powered_off": 2, "parallel": 4}, "ignore_errors": True}
    since = offset(sim)
    run = run_playbook(tmp_path, [dict(task, name="check", check_mode=True)], sim=sim, name="check")
    check = run.result("check")
    assert [r.get("power_cycle") for r in check["vms"]] == ["would power cycle"] * 2 + [None] + \
        ["would power cycle"] * 3, check
    assert not set(soap_methods(sim.trace_file, since)) & {"PowerOffVM_Task", "ShutdownGuest", "ReconfigVM_Task"}

    since = offset(sim)
    run = run_playbook(tmp_path, [dict(task, name="apply")], sim=sim)
    result = run.result("apply")
    assert result["failed_vms"] == 1, result
    assert undocumented_keys(result, BULK) == set()
    by_name = dict((r["vm"]["name"], r) for r in result["vms"])
    bad = by_name.pop("DC0_C0_RP0_VM1")
    assert "GenericVmConfigFault" in bad["msg"] and "was powered back on" in bad["msg"], bad
    assert by_name.pop("DC0_H0_VM2").get("power_cycle") is None  # powered off already: no cycle
    assert all(r["changed"] and r["power_cycle"] == "power off" for r in by_name.values()), by_name
    for name in names:
        assert state(sim, name) == ("poweredOff" if name == "DC0_H0_VM2" else "poweredOn",
                                    [] if name == "DC0_C0_RP0_VM1" else [1]), name
    # From the trace: how many VMs were down at once (vcsim's tasks end before their call returns).
    down, most = set(), 0
    import json

    with open(sim.trace_file) as handle:
        handle.seek(since)
        for line in handle:
            entry = json.loads(line)
            vm = moids.get(entry.get("this"))
            if entry.get("method") in ("PowerOffVM_Task", "ShutdownGuest"):
                down.add(vm)
            elif entry.get("method") == "PowerOnVM_Task":
                down.discard(vm)
            most = max(most, len(down))
    assert most == 2 and not down, (most, down)
    assert other_sessions(sim) == []
