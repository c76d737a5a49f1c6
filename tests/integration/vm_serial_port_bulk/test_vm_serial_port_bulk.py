"""vm_serial_port_bulk: many VMs in one session, against the simulator, read back with pyVmomi."""
import pytest
from pyVim.connect import Disconnect
from pyVmomi import vim, vmodl

from conftest import connect, module_simulator, run_playbook
from vsphere_helpers import find_vm, power, serial_ports

BULK = "vmchannels.vsphere.vm_serial_port_bulk"
VSPC = {"number": 1, "backing": {"type": "network", "service_uri": "vSPC.py",
                                 "proxy_uri": "telnet://vspc.example.com:13370"}}


sim, si, play = module_simulator(vm=6)


def names(host, count):
    return ["DC0_%s_VM%d" % (host, i) for i in range(count)]


@pytest.mark.matrix
def test_many_vms_in_one_session(play, si, sim):
    vms = names("H0", 6)
    for name in vms:
        power(find_vm(si, name), "poweredOff")
    entries = [dict(name=n, serial_ports=[VSPC]) for n in vms[:5]]
    entries.append(dict(moid=find_vm(si, vms[5])._moId, serial_ports=[VSPC, {"number": 2, "backing": {"type": "thinprint"}}]))
    sim.reset_trace()
    run = play([{"name": "check", BULK: {"vms": entries, "parallel": 4}, "check_mode": True, "diff": True}])
    assert run.rc == 0, run
    check = run.result("check")
    assert check["changed"] is True and check["failed_vms"] == 0
    assert sorted(check["diff"]["after"]["vms"]) == sorted("%s (%s)" % (n, find_vm(si, n)._moId) for n in vms)
    assert all(r["serial_ports_before"] == [] and r["esxi_host"] == "DC0_H0" for r in check["vms"])
    assert all(serial_ports(find_vm(si, n)) == {} for n in vms)
    assert "ReconfigVM_Task" not in sim.soap_calls()

    sim.reset_trace()
    run = play([{"name": "bulk", BULK: {"vms": entries, "parallel": 4}}])
    assert run.rc == 0, run
    calls = sim.soap_calls()
    # one login, one name look-up, one read of all VMs, one task per VM, a filter per wave (4 + 2)
    assert calls["Login"] == 1 and calls["ReconfigVM_Task"] == 6
    assert calls["CreateFilter"] == 2 and calls["RetrievePropertiesEx"] == 3  # names, VMs, host rule sets
    result = run.result("bulk")
    assert [r["changed"] for r in result["vms"]] == [True] * 6
    assert result["vms"][5]["vm"]["name"] == vms[5]
    for name in vms[:5]:
        ports = serial_ports(find_vm(si, name))
        assert sorted(ports) == [1] and ports[1]["backing"]["proxyURI"] == "telnet://vspc.example.com:13370"
    assert sorted(serial_ports(find_vm(si, vms[5]))) == [1, 2]
    # the host's vSPC rule set is disabled in a fresh simulator: one warning for the host, not one per VM
    assert any("'vSPC' is disabled on host DC0_H0, which runs 6 of these VMs" in w for w in result["warnings"])

    sim.reset_trace()
    run = play([{"name": "again", BULK: {"vms": entries}}])
    assert run.rc == 0, run
    assert run.result("again")["changed"] is False
    assert "ReconfigVM_Task" not in sim.soap_calls()


def test_failures_are_reported_and_the_others_changed(play, si):
    vms = names("C0_RP0", 3)
    power(find_vm(si, vms[0]), "poweredOff")
    power(find_vm(si, vms[1]), "poweredOn")
    entries = [dict(name=vms[0], serial_ports=[{"number": 3, "backing": {"type": "thinprint"}}]),
               dict(name=vms[1], serial_ports=[{"number": 3, "backing": {"type": "thinprint"}}]),
               dict(name="no-such-vm", serial_ports=[VSPC])]
    run = play([{"name": "check", BULK: {"vms": entries}, "check_mode": True, "diff": True, "ignore_errors": True},
                {"name": "mixed", BULK: {"vms": entries}, "diff": True}])
    assert run.rc != 0
    # check mode: the diff holds every VM whose ports differ, also the one refused for its power state
    # (its "after" is what was asked); the diff of the real run only the VM that was changed
    check = run.result("check")
    assert "2 of 3 VMs could not be changed (check mode: nothing was changed)" in check["msg"], check["msg"]
    keys = ["%s (%s)" % (n, find_vm(si, n)._moId) for n in vms[:2]]
    assert sorted(check["diff"]["after"]["vms"]) == sorted(keys)
    assert check["diff"]["before"]["vms"][keys[1]] == {}
    assert check["diff"]["after"]["vms"][keys[1]]["port 3"]["backing"] == {"type": "thinprint"}
    assert sorted(run.result("mixed")["diff"]["after"]["vms"]) == keys[:1]
    result = run.result("mixed")
    assert result["failed_vms"] == 2 and "2 of 3 VMs could not be changed" in result["msg"]
    assert [r.get("failed", False) for r in result["vms"]] == [False, True, True]
    assert "poweredOn" in result["vms"][1]["msg"] and result["vms"][1]["error_kind"] == "power_state"
    # the refused VM still says what it needs, and what it has; it has no ports "after"
    assert result["vms"][1]["changes"] == [{"op": "add", "number": 3}]
    assert result["vms"][1]["serial_ports_before"] == [] and "serial_ports" not in result["vms"][1]
    hosts = [find_vm(si, vms[0]).runtime.host.name, find_vm(si, vms[1]).runtime.host.name, None]
    assert [r.get("esxi_host") for r in result["vms"]] == hosts
    assert result["vms"][2]["error_kind"] == "not_found"
    assert sorted(serial_ports(find_vm(si, vms[0]))) == [3]
    assert serial_ports(find_vm(si, vms[1])) == {}
    assert "Traceback" not in run.stdout + run.stderr


@pytest.mark.parametrize("args,fragment", [
    ({"vms": []}, "vms is empty"),
    ({"vms": [{"serial_ports": []}]}, "one of the following is required: name, uuid, moid"),
    ({"vms": [{"name": "a", "serial_ports": [{"number": 40, "backing": {"type": "thinprint"}}]}]},
     "between 1 and 32"),
    ({"vms": [{"name": "a", "serial_ports": [{"number": 1, "backing": {"type": "nope"}}]}]}, "type"),
    ({"vms": [{"name": "a", "serial_ports": [{"backing": {"type": "thinprint"}}]}]}, "number"),
    # every entry invalid (a duplicate of a valid entry: test_invalid_entries.py)
    ({"vms": [{"name": "a", "serial_ports": [{"number": 40}]}, {"name": "a", "serial_ports": []}]}, "listed twice"),
    ({"vms": [{"name": "a", "serial_ports": []}], "parallel": 0}, "parallel must be at least 1"),
])
def test_validation_before_any_request(play, sim, args, fragment):
    sim.reset_trace()
    run = play([{"name": "bad", BULK: args}])
    assert run.rc != 0
    assert fragment in run.result("bad")["msg"], run.result("bad")["msg"]
    assert sum(sim.soap_calls().values()) == 0


def test_one_vm_gets_the_same_answer_from_both_modules(play, si):
    """vm_serial_port and vm_serial_port_bulk share one path (plan, config spec, messages): for the same
    VM and ports their results and refusals are the same."""
    SP = "vmchannels.vsphere.vm_serial_port"
    running, template = find_vm(si, "DC0_C0_RP0_VM3"), find_vm(si, "DC0_C0_RP0_VM4")
    power(running, "poweredOn")
    power(template, "poweredOff")
    template.MarkAsTemplate()  # vSphere refuses to reconfigure its devices (the task fails)
    ports = [VSPC, {"number": 2, "backing": {"type": "file", "file_path": "[LocalDS_0] x/com2.log"}}]
    tasks = []
    for name, extra, check in (("DC0_C0_RP0_VM3", {}, True), ("DC0_C0_RP0_VM3", {"allow_power_cycle": True}, True),
                               ("DC0_C0_RP0_VM4", {}, False)):
        label = "%s %s" % (name, sorted(extra))
        tasks += [{"name": "single " + label, SP: dict(extra, name=name, serial_ports=ports), "check_mode": check,
                   "ignore_errors": True},
                  {"name": "bulk " + label, BULK: dict(extra, vms=[{"name": name, "serial_ports": ports}]),
                   "check_mode": check, "ignore_errors": True}]
    run = play(tasks)
    keys = ("vm", "changed", "changes", "serial_ports", "power_cycle", "firewall", "msg", "error_kind")
    for task in tasks[::2]:
        single = run.result(task["name"])
        bulk = run.result("bulk" + task["name"][len("single"):])["vms"][0]
        compared = ("msg", "error_kind") if run.task(task["name"])["status"] == "failed" else keys  # a failing module returns the message
        assert dict((k, single.get(k)) for k in compared) == dict((k, bulk.get(k)) for k in compared), task["name"]
    assert "poweredOn" in run.result("single DC0_C0_RP0_VM3 []")["msg"]
    assert run.result("single DC0_C0_RP0_VM3 ['allow_power_cycle']")["power_cycle"] == "would power cycle"
    refused = run.result("single DC0_C0_RP0_VM4 []")["msg"]
    assert "reconfiguring the serial ports (add 1, add 2) of VM 'DC0_C0_RP0_VM4'" in refused, refused
    assert serial_ports(running) == {} and serial_ports(template) == {}


def _seconds(stamp):
    """A launcher trace time (RFC 3339, nanoseconds) in seconds of the day."""
    clock = stamp.rstrip("Z").split("T")[1]
    hours, minutes, seconds = clock.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _vms_by_name(si):
    """``{name: VM}`` of every VM, in one property read."""
    content = si.content
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    pc = vmodl.query.PropertyCollector
    try:
        spec = pc.FilterSpec(
            objectSet=[pc.ObjectSpec(obj=view, skip=True, selectSet=[
                pc.TraversalSpec(name="view", type=vim.view.ContainerView, path="view", skip=False)])],
            propSet=[pc.PropertySpec(type=vim.VirtualMachine, pathSet=["name"])])
        return dict((obj.propSet[0].val, obj.obj) for obj in content.propertyCollector.RetrieveContents([spec]))
    finally:
        view.Destroy()


@pytest.mark.matrix
def test_the_starts_of_a_wave_overlap_and_a_refused_start_stays_its_own(fresh_vcsim, tmp_path):
    """The ReconfigVM_Task starts of one wave are sent concurrently: with a per-request delay D
    (vcsim sleeps D before it answers any request), a client that sends one start after the other
    cannot send the second before D has passed since the first, so all the wave's starts arriving
    within D of the first shows they overlapped (whatever the machine's load, short of a stall of D).
    One VM's start is refused (NoPermission, a fault of the call itself, as vCenter refuses a call
    whose privilege the user lacks; injected by the launcher): that VM alone fails, in its place."""
    delay = 0.4
    sim = fresh_vcsim(vm=3, delay_ms=int(delay * 1000))
    si = connect(sim)
    try:
        vms = names("H0", 3) + names("C0_RP0", 3)
        refs = _vms_by_name(si)  # every request takes the delay: a few requests only
        for name in vms:
            refs[name].PowerOffVM_Task()  # vcsim's tasks end before they are answered
        refused = vms[2]
        sim.inject_faults(refused, refuse={"ReconfigVM_Task": {"fault": "NoPermission", "times": 1}})
        entries = [dict(name=n, serial_ports=[VSPC]) for n in reversed(vms)]  # results follow this order
        sim.reset_trace()
        run = run_playbook(tmp_path, [{"name": "bulk", BULK: {"vms": entries, "parallel": 6}}], sim=sim)
        starts = [r for r in sim.soap_requests() if r["method"] == "ReconfigVM_Task"]
        assert len(starts) == 6  # one per VM, the refused one too, and no retry
        times = sorted(_seconds(r["time"]) for r in starts)
        assert times[-1] - times[0] < delay, "the starts were sent one after the other: %s" % times

        assert run.rc != 0
        result = run.result("bulk")
        assert result["failed_vms"] == 1 and "1 of 6 VMs could not be changed" in result["msg"]
        assert [r["vm"]["name"] for r in result["vms"]] == [e["name"] for e in entries]
        for entry, vm_result in zip(entries, result["vms"]):
            ports = serial_ports(refs[entry["name"]])
            if entry["name"] == refused:
                assert vm_result["failed"] is True and vm_result["changed"] is False
                assert vm_result["error_kind"] == "permission", vm_result
                assert "VirtualMachine.Config.AddRemoveDevice" in vm_result["msg"], vm_result["msg"]
                assert ports == {}
            else:
                assert vm_result["changed"] is True and not vm_result.get("failed"), vm_result
                assert vm_result["serial_ports"][0]["backing"]["proxy_uri"] == VSPC["backing"]["proxy_uri"]
                assert sorted(ports) == [1] and ports[1]["backing"]["proxyURI"] == VSPC["backing"]["proxy_uri"]
    finally:
        Disconnect(si)


def test_vms_gone_by_moid_are_told_apart_from_the_others(fresh_vcsim, tmp_path):
    """Moids that name no VM (deleted since the inventory was made) fail alone, not_found; the read
    that vCenter refuses whole is narrowed down by halves (engine.waves.read_all), and the other VMs are
    changed and read back."""
    sim = fresh_vcsim(vm=3)
    si = connect(sim)
    try:
        vms = names("H0", 3) + names("C0_RP0", 3)
        refs = dict((name, find_vm(si, name)) for name in vms)
        for name in vms:
            power(refs[name], "poweredOff")
        entries = [dict(moid=refs[n]._moId, serial_ports=[VSPC]) for n in vms]
        entries.insert(2, dict(moid="vm-999998", serial_ports=[VSPC]))
        entries.append(dict(moid="vm-999999", serial_ports=[VSPC]))
        run = run_playbook(tmp_path, [{"name": "bulk", BULK: {"vms": entries}}], sim=sim)
        result = run.result("bulk")
        assert run.rc != 0 and result["failed_vms"] == 2, result.get("msg")
        kinds = [(r["vm"].get("moid"), r.get("error_kind")) for r in result["vms"]]
        assert [k for k in kinds if k[1]] == [("vm-999998", "not_found"), ("vm-999999", "not_found")], kinds
        assert [r["changed"] for r in result["vms"]] == [True, True, False, True, True, True, True, False]
        for name in vms:
            assert sorted(serial_ports(refs[name])) == [1], name
    finally:
        Disconnect(si)
