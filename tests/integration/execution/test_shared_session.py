"""The run's shared session can do no harm: a refused login is sent once per run, not once per task
(an account lockout), and a session that ends while a task waits is survived truthfully. Real
``ansible-playbook`` runs against the simulator, requests counted in its trace, VMs read back."""
import pytest

from conftest import connect, run_playbook
from vsphere_helpers import find_vm, power, serial_ports

pytestmark = pytest.mark.shared_state

PORT1 = [{"number": 1, "backing": {"type": "thinprint"}}]


def _hosts_inventory(tmp_path, count):
    path = tmp_path / "hosts.ini"
    path.write_text("[vms]\n" + "".join("vm%02d ansible_connection=local\n" % n for n in range(1, count + 1)))
    return str(path)


@pytest.mark.matrix
def test_a_refused_password_is_sent_once_per_run_whatever_the_number_of_tasks(fresh_vcsim, tmp_path):
    """12 per-host tasks in 5 forks with a wrong password: one Login, twelve failures with the same
    message, which names the account and the vCenter and says why the others did not try. A later
    task with the right password (another connection key) logs in."""
    sim = fresh_vcsim(username="svc-ansible@vsphere.local", password="Right-Pass-1")
    plays = [
        {"hosts": "vms", "gather_facts": False, "tasks": [
            {"name": "read", "ignore_errors": True, "vmchannels.vsphere.vm_serial_port_info": {"name": "DC0_H0_VM0"}}]},
        {"hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": [
            {"name": "corrected", "vmchannels.vsphere.vm_serial_port_info": {
                "name": "DC0_H0_VM0", "password": "Right-Pass-1"}}]},
    ]
    sim.reset_trace()
    run = run_playbook(tmp_path, plays, sim=sim, env={"VMWARE_PASSWORD": "Wrong-Pass-1"},
                       inventory=_hosts_inventory(tmp_path, 12), args=["--forks", "5"])
    failures = [e for e in run.results if e["task"] == "read"]
    assert len(failures) == 12 and all(e["status"] == "failed" for e in failures), run
    messages = set(e["result"]["msg"] for e in failures)
    assert len(messages) == 1, messages
    (msg,) = messages
    assert msg.startswith("Cannot log in to 127.0.0.1:%s as svc-ansible@vsphere.local: the user name or "
                          "password is incorrect" % sim.port), msg
    assert "fail with this message without sending a login" in msg and "lock" in msg
    assert set(e["result"]["error_kind"] for e in failures) == {"login"}
    assert "Wrong-Pass-1" not in run.stdout + run.stderr
    assert run.result("corrected")["vm"]["name"] == "DC0_H0_VM0"
    calls = sim.soap_calls()
    assert calls["Login"] == 2, calls  # the refused one, then the corrected password's


@pytest.mark.matrix
def test_without_the_shared_session_each_task_logs_in_itself(fresh_vcsim, tmp_path):
    """The memory belongs to the shared session: a run that turned it off (or a shipped module,
    which cannot share) sends one Login per task, as community.vmware does."""
    sim = fresh_vcsim(username="svc-ansible@vsphere.local", password="Right-Pass-1")
    plays = [{"hosts": "vms", "gather_facts": False, "tasks": [
        {"name": "read", "vmchannels.vsphere.vm_serial_port_info": {"name": "DC0_H0_VM0"}}]}]
    sim.reset_trace()
    run = run_playbook(tmp_path, plays, sim=sim, inventory=_hosts_inventory(tmp_path, 3),
                       env={"VMWARE_PASSWORD": "Wrong-Pass-1", "VMCHANNELS_SHARED_SESSION": "false"})
    failures = [e for e in run.results if e["task"] == "read"]
    assert len(failures) == 3 and all(e["status"] == "failed" for e in failures)
    assert "without sending a login" not in failures[0]["result"]["msg"]
    assert sim.soap_calls()["Login"] == 3


# -- a session that ends while a task waits ----------------------------------------------------
# The launcher's end_session_at fault ends the run's session at the n-th call of a PropertyCollector
# method, as an expiry or an administrator would while the task waits: a real vCenter refuses the
# call NotAuthenticated, and the collector the task created on that session is gone with it.
# Adding a port to a running VM with allow_power_cycle waits three times, each wait on a filter
# of its own: the power-off, the reconfigure, the power-on.
WAITS = {"power-off": {"CreateFilter": 1}, "power-off (waiting)": {"WaitForUpdatesEx": 1},
         "reconfigure": {"CreateFilter": 2}, "power-on": {"CreateFilter": 3}}


@pytest.mark.parametrize("wait", sorted(WAITS))
def test_a_session_ended_during_a_wait_of_a_power_cycle_is_survived(fresh_vcsim, tmp_path, wait):
    sim = fresh_vcsim(vm=1)
    si = connect(sim)
    vm = find_vm(si, "DC0_H0_VM0")
    power(vm, "poweredOn")
    assert serial_ports(vm) == {}
    tasks = [
        {"name": "join", "vmchannels.vsphere.vm_serial_port_info": {"name": "DC0_H0_VM0"}},
        {"name": "add", "vmchannels.vsphere.vm_serial_port": {
            "name": "DC0_H0_VM0", "serial_ports": PORT1, "allow_power_cycle": True}},
    ]
    sim.inject_faults("DC0_H0_VM0", end_session_at=WAITS[wait])
    sim.reset_trace()
    run = run_playbook(tmp_path, tasks, sim=sim)
    assert run.rc == 0, (run, run.result("add"))
    result = run.result("add")
    assert result["changed"] is True and result["power_cycle"] == "power off", result
    calls = sim.soap_calls()
    assert calls["Login"] == 2, calls  # the run's session, and the one that replaced it
    assert calls["CreatePropertyCollector"] == 2, calls  # a collector on each session
    assert calls["ReconfigVM_Task"] == 1 and calls["PowerOnVM_Task"] == 1, calls
    vm = find_vm(connect(sim), "DC0_H0_VM0")
    assert vm.runtime.powerState == "poweredOn"
    assert sorted(serial_ports(vm)) == [1]


def test_a_session_ended_during_a_bulk_wave_is_survived(fresh_vcsim, tmp_path):
    sim = fresh_vcsim(vm=2)
    names = ["DC0_H0_VM0", "DC0_H0_VM1", "DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1"]
    tasks = [
        {"name": "join", "vmchannels.vsphere.vm_serial_port_info": {"name": names[0]}},
        {"name": "bulk", "vmchannels.vsphere.vm_serial_port_bulk": {
            "vms": [{"name": name, "serial_ports": PORT1} for name in names]}},
    ]
    si = connect(sim)
    for name in names:
        power(find_vm(si, name), "poweredOff")
    sim.inject_faults(names[0], end_session_at={"WaitForUpdatesEx": 1})
    sim.reset_trace()
    run = run_playbook(tmp_path, tasks, sim=sim)
    assert run.rc == 0, (run, run.result("bulk"))
    assert [(r["vm"]["name"], r["changed"]) for r in run.result("bulk")["vms"]] == [(n, True) for n in names]
    calls = sim.soap_calls()
    assert calls["Login"] == 2 and calls["ReconfigVM_Task"] == len(names), calls
    si = connect(sim)
    for name in names:
        assert sorted(serial_ports(find_vm(si, name))) == [1], name
