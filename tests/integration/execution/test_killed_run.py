"""Nothing outlives a killed run (docs/execution.md, "A killed run"): ansible-playbook interrupted or
killed in the middle of its tasks, the process alone or its whole process group, directly or
through ansible-runner as AWX cancels a job. Within a bounded wait every session the run opened is
logged out (the simulator's trace: as many Logout as Login), no file of the session store is left
on disk, and no process of the run is left (every process carries a marker in its environment).

The run: two hosts, forks 2, each powering a VM off to add a serial port while the guest never
shuts down (the launcher's faults), so both workers are inside a task, waiting, when the signal
comes. Before the fix, ansible-core's workers (each in a session of its own) went on waiting, and
would have powered the VMs off after the run was cancelled."""
import json
import os
import signal
import subprocess
import threading
import time
import uuid

import pytest

from conftest import BIN, ansible_env

pytestmark = pytest.mark.reliability

SETTLE_TIMEOUT = 60
SERIAL_PORT = [{"number": 1, "backing": {"type": "network", "service_uri": "telnet://:7001", "direction": "server"}}]
VMS = {"h1": "DC0_H0_VM0", "h2": "DC0_H0_VM1"}


def _plays():
    return [{"hosts": "all", "connection": "local", "gather_facts": False, "tasks": [
        {"name": "power cycle that waits", "vmchannels.vsphere.vm_serial_port": {
            "name": "{{ vm }}", "allow_power_cycle": True, "timeout": 120, "serial_ports": SERIAL_PORT}},
    ]}]


def _inventory(path):
    path.write_text(json.dumps({"all": {"hosts": dict((host, {"vm": vm}) for host, vm in VMS.items())}}))
    return str(path)


def _prepare(sim, tmp_path):
    for vm in VMS.values():
        sim.inject_faults(vm, tools=True, shutdown_delay_ms=-1)  # the guests never shut down
    playbook = tmp_path / "killed.yml"
    playbook.write_text(json.dumps(_plays()))
    marker = uuid.uuid4().hex
    local = tmp_path / "local"
    env = {"ANSIBLE_LOCAL_TEMP": str(local), "ANSIBLE_FORKS": "2", "VMCH_KILLED_RUN": marker}
    sim.reset_trace()
    return playbook, marker, local, env


def run_processes(marker):
    """The pids of the processes whose environment carries ``marker`` (the run's, the reaper's)."""
    found = []
    needle = ("VMCH_KILLED_RUN=%s" % marker).encode()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % name, "rb") as handle:
                if needle in handle.read().split(b"\0"):
                    found.append(int(name))
        except OSError:
            continue
    return found


def _command_line(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def files_in(directory):
    """Every file and directory under ``directory`` (which the reaper may be removing meanwhile)."""
    return sorted(os.path.relpath(os.path.join(parent, name), str(directory))
                  for parent, dirs, files in os.walk(str(directory)) for name in dirs + files)


def wait_until_mid_run(sim, marker, timeout=90):
    """Until both workers wait for their guest's shutdown; returns the run's processes then."""
    deadline = time.monotonic() + timeout
    while sim.soap_calls()["ShutdownGuest"] < 2:
        assert time.monotonic() < deadline, sim.soap_calls()
        time.sleep(0.1)
    time.sleep(0.3)
    return run_processes(marker)


def settle(sim, marker, local, killed_at):
    """Poll until every session is logged out, the store is gone and no process of the run is left
    (at most SETTLE_TIMEOUT s). Returns (seconds until the last Logout, what is left)."""
    deadline = killed_at + SETTLE_TIMEOUT
    while True:
        calls = sim.soap_calls()
        left = dict(open=calls["Login"] - calls["Logout"], processes=run_processes(marker), files=files_in(local))
        if not any(left.values()) or time.monotonic() > deadline:
            return time.monotonic() - killed_at, left
        time.sleep(0.1)


def _assert_nothing_left(sim, marker, local, killed_at, what):
    seconds, left = settle(sim, marker, local, killed_at)
    processes = dict((pid, _command_line(pid)) for pid in left["processes"])
    assert not any(left.values()), "%s: left after %.1f s: %s, processes %s" % (what, seconds, left, processes)
    assert sim.soap_calls()["Login"] >= 1
    print("%s: every session logged out, store and processes gone %.2f s after the kill" % (what, seconds))
    return seconds


def _case(signum, target, matrix=False):
    # the matrix legs run the two cases where the workers differ most between ansible-core releases:
    # 2.16's stay in the run's process group, 2.19's and 2.21's each start a session of their own
    return pytest.param(signum, target, id="%s-%s" % (signal.Signals(signum).name, target),
                        marks=[pytest.mark.matrix] if matrix else [])


@pytest.mark.parametrize("signum,target", [
    _case(signal.SIGINT, "process"), _case(signal.SIGINT, "group"),
    _case(signal.SIGTERM, "process"), _case(signal.SIGTERM, "group"),
    _case(signal.SIGHUP, "process", matrix=True), _case(signal.SIGHUP, "group"),
    _case(signal.SIGKILL, "process"), _case(signal.SIGKILL, "group", matrix=True),
])
def test_nothing_outlives_a_killed_run(fresh_vcsim, tmp_path, signum, target):
    sim = fresh_vcsim()
    playbook, marker, local, env = _prepare(sim, tmp_path)
    proc = subprocess.Popen([os.path.join(BIN, "ansible-playbook"), "-i", _inventory(tmp_path / "hosts.json"),
                             str(playbook)], cwd=str(tmp_path), env=ansible_env(sim, env), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        before = wait_until_mid_run(sim, marker)
        # the main process, two workers and the reaper, which is in a session of its own
        reapers = [pid for pid in before if "session_reaper" in _command_line(pid)]
        assert len(reapers) == 1 and os.getsid(reapers[0]) != os.getsid(proc.pid), before
        assert sim.soap_calls()["Logout"] == 0 and [f for f in files_in(local) if f.endswith(".json")]
        killed_at = time.monotonic()
        if target == "group":
            os.killpg(proc.pid, signum)
        else:
            proc.send_signal(signum)
        proc.wait(timeout=SETTLE_TIMEOUT)
        _assert_nothing_left(sim, marker, local, killed_at, "%s to the %s" % (signal.Signals(signum).name, target))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # the guests were never powered off: no task went on after the run was gone
    requests = sim.soap_calls()
    assert "PowerOffVM_Task" not in requests, requests


def test_nothing_outlives_a_job_cancelled_through_ansible_runner(fresh_vcsim, tmp_path):
    """AWX cancels a job (and times it out) through ansible-runner, which kills the process group of
    ansible-playbook with SIGKILL."""
    import ansible_runner

    sim = fresh_vcsim()
    playbook, marker, local, env = _prepare(sim, tmp_path)
    pdd = tmp_path / "pdd"
    (pdd / "project").mkdir(parents=True)
    (pdd / "project" / "killed.yml").write_text(playbook.read_text())
    cancel = threading.Event()
    outcome = {}

    def job():
        outcome["runner"] = ansible_runner.run(
            private_data_dir=str(pdd), playbook="killed.yml", inventory=_inventory(tmp_path / "hosts.json"),
            envvars=ansible_env(sim, env), cancel_callback=cancel.is_set, quiet=True)

    thread = threading.Thread(target=job, daemon=True)
    thread.start()
    wait_until_mid_run(sim, marker)
    killed_at = time.monotonic()
    cancel.set()
    thread.join(SETTLE_TIMEOUT)
    assert not thread.is_alive()
    assert outcome["runner"].status == "canceled"
    _assert_nothing_left(sim, marker, local, killed_at, "ansible-runner cancel")
    assert "PowerOffVM_Task" not in sim.soap_calls()


def test_a_run_that_ends_leaves_no_reaper(fresh_vcsim, tmp_path):
    sim = fresh_vcsim()
    marker = uuid.uuid4().hex
    local = tmp_path / "local"
    playbook = tmp_path / "read.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": [
        {"name": "read", "vmchannels.vsphere.vm_serial_port_info": {"name": "DC0_H0_VM0"}}]}]))
    sim.reset_trace()
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", str(playbook)],
                          cwd=str(tmp_path), env=ansible_env(sim, {"ANSIBLE_LOCAL_TEMP": str(local),
                                                                   "VMCH_KILLED_RUN": marker}),
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # logged out by the run itself, before it returned
    assert sim.soap_calls()["Login"] == sim.soap_calls()["Logout"] == 1
    _assert_nothing_left(sim, marker, local, time.monotonic(), "a run that ends")
