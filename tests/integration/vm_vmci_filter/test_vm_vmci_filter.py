"""vm_vmci_filter and vm_vmci_filter_info against the simulator, read back with pyVmomi.

The tests change VMCI filters and remove a VMCI device, so they run on a simulator of their own
(module scope) rather than the session one. Every playbook run starts from the trace offset, so
``sim.soap_calls()`` counts the requests of exactly that run.
"""
import pytest
from pyVim.connect import Disconnect, SmartConnect
from pyVim.task import WaitForTask
from pyVmomi import vim
from vcsimctl import Simulator

from vsphere_helpers import task_requests

FQCN = "vmchannels.vsphere.vm_vmci_filter"
INFO = "vmchannels.vsphere.vm_vmci_filter_info"

# requests per task, the run's session login and logout aside
CHANGE_BUDGET = 9
NO_CHANGE_BUDGET = 5

THREE_RULES = [
    dict(action="allow", protocol="hypervisor", direction="host"),
    dict(action="allow", protocol="stream", direction="host", ports=2000),
    dict(action="deny", protocol="anyProtocol", direction="anyDirection"),
]


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    simulator = Simulator(trace=str(tmp_path_factory.mktemp("vcsim-vmci") / "trace.jsonl")).start()
    yield simulator
    simulator.stop()


@pytest.fixture(scope="module")
def api(sim):
    service_instance = SmartConnect(host=sim.host, port=sim.port, user=sim.username, pwd=sim.password,
                                    disableSslCertValidation=True)
    yield service_instance
    Disconnect(service_instance)


@pytest.fixture(scope="module")
def vms(api):
    """name -> (moid, BIOS uuid, instance uuid) of the simulator's VMs."""
    content = api.content
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    try:
        return dict((vm.name, (vm._moId, vm.config.uuid, vm.config.instanceUuid)) for vm in view.view)
    finally:
        view.Destroy()


@pytest.fixture
def run(playbook, sim):
    """Run tasks against the module's simulator; the result carries the SOAP calls of that run."""
    counter = [0]

    def _run(tasks, **kwargs):
        counter[0] += 1
        sim.reset_trace()
        result = playbook(tasks, sim=sim, name="play%d" % counter[0], **kwargs)
        result.soap = sim.soap_calls()
        return result

    return _run


def vmci(api, moid):
    """(filterEnable, [(rank, action, protocol, direction, lower, upper), ...]) as vSphere has them."""
    vm = vim.VirtualMachine(moid, api._stub)
    device = [d for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualVMCIDevice)][0]
    filters = device.filterInfo.filters if device.filterInfo is not None else []
    return device.filterEnable, [(f.rank, f.action, f.protocol, f.direction, f.lowerDstPortBoundary,
                                  f.upperDstPortBoundary) for f in filters]


def set_vmci(api, moid, enabled, rules):
    """Set the filter directly through the API (test set-up)."""
    vm = vim.VirtualMachine(moid, api._stub)
    device = [d for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualVMCIDevice)][0]
    device.filterEnable = enabled
    specs = []
    for rank, action, protocol, direction, lower, upper in rules:
        spec = vim.vm.device.VirtualVMCIDevice.FilterSpec(rank=rank, action=action, protocol=protocol,
                                                          direction=direction)
        if lower is not None:
            spec.lowerDstPortBoundary = lower
        if upper is not None:
            spec.upperDstPortBoundary = upper
        specs.append(spec)
    device.filterInfo = vim.vm.device.VirtualVMCIDevice.FilterInfo(filters=specs)
    spec = vim.vm.ConfigSpec(deviceChange=[vim.vm.device.VirtualDeviceSpec(operation="edit", device=device)])
    WaitForTask(vm.ReconfigVM_Task(spec))


def task(title, module=FQCN, **args):
    return {"name": title, module: args, "register": "out", "ignore_errors": True}


def failed(result, title):
    return result.task(title)["status"] == "failed"


def total(result):
    return task_requests(result.soap)


def public(rank, action, protocol, direction, ports=None):
    return dict(rank=rank, action=action, protocol=protocol, direction=direction, ports=ports)


# -- add, idempotence, budget, diff, by moid and by uuid -------------------------------------------
@pytest.mark.matrix
def test_add_rules_by_moid_then_unchanged(run, api, vms):
    moid, uuid = vms["DC0_H0_VM1"][:2]
    set_vmci(api, moid, False, [])

    first = run([dict(task("add", moid=moid, filter_enabled=True, rules=THREE_RULES), diff=True)])
    res = first.result("add")
    assert first.rc == 0, first
    assert res["changed"] is True
    assert {k: res["vm"][k] for k in ("name", "moid", "uuid")} == dict(name="DC0_H0_VM1", moid=moid, uuid=uuid)
    assert res["filter_enabled"] is True
    assert res["rules"] == [public(1, "allow", "hypervisor", "host"), public(2, "allow", "stream", "host", "2000"),
                            public(3, "deny", "anyProtocol", "anyDirection")]
    assert res["diff"] == dict(before=dict(filter_enabled=False, rules=[]),
                               after=dict(filter_enabled=True, rules=res["rules"]))
    assert vmci(api, moid) == (True, [(1, "allow", "hypervisor", "host", None, None),
                                      (2, "allow", "stream", "host", 2000, 2000),
                                      (3, "deny", "anyProtocol", "anyDirection", None, None)])
    # One read, one reconfigure, one wait; the state after comes from the wait's updates.
    assert first.soap["RetrievePropertiesEx"] == 1, first.soap
    assert first.soap["ReconfigVM_Task"] == 1, first.soap
    assert total(first) <= CHANGE_BUDGET, first.soap

    second = run([task("again", moid=moid, filter_enabled=True, rules=THREE_RULES)])
    assert second.result("again")["changed"] is False, second
    assert second.result("again")["rules"] == res["rules"]
    assert "ReconfigVM_Task" not in second.soap
    assert total(second) <= NO_CHANGE_BUDGET, second.soap


def test_by_uuid_within_budget(run, api, vms):
    moid, uuid = vms["DC0_C0_RP0_VM0"][:2]
    set_vmci(api, moid, True, [])
    rules = [dict(action="allow", protocol="datagram", direction="guest", ports="0-100")]

    change = run([task("by uuid", uuid=uuid, rules=rules)])
    res = change.result("by uuid")
    assert res["changed"] is True and res["vm"]["moid"] == moid, change
    # vSphere reports the lower boundary 0 as unset; the rule is the same.
    assert vmci(api, moid) == (True, [(1, "allow", "datagram", "guest", None, 100)])
    assert res["rules"] == [public(1, "allow", "datagram", "guest", "0-100")]
    assert total(change) <= CHANGE_BUDGET, change.soap

    same = run([task("by uuid again", uuid=uuid, rules=rules)])
    assert same.result("by uuid again")["changed"] is False, same
    assert total(same) <= NO_CHANGE_BUDGET, same.soap


# -- reorder, replace, clear, absent --------------------------------------------------------------
def test_reorder_replace_clear(run, api, vms):
    moid = vms["DC0_H0_VM0"][0]
    set_vmci(api, moid, True, [])
    reordered = [THREE_RULES[1], THREE_RULES[0], THREE_RULES[2]]
    replacement = [dict(action="allow", protocol="queuepair", direction="anyDirection", ports="2000-2010"),
                   dict(action="deny", protocol="doorbell", direction="guest")]
    result = run([
        task("add", name="DC0_H0_VM0", rules=THREE_RULES),
        task("reorder", name="DC0_H0_VM0", rules=reordered),
        task("reorder again", name="DC0_H0_VM0", rules=reordered),
        task("replace", moid=moid, rules=replacement),
    ])
    assert result.rc == 0, result
    assert [result.result(n)["changed"] for n in ("add", "reorder", "reorder again", "replace")] == \
        [True, True, False, True]
    assert [r["protocol"] for r in result.result("reorder")["rules"]] == ["stream", "hypervisor", "anyProtocol"]
    assert vmci(api, moid) == (True, [(1, "allow", "queuepair", "anyDirection", 2000, 2010),
                                      (2, "deny", "doorbell", "guest", None, None)])

    cleared = run([
        dict(task("clear", moid=moid, rules=[]), diff=True),
        task("clear again", moid=moid, rules=[]),
    ])
    assert cleared.result("clear")["changed"] is True
    assert cleared.result("clear")["filter_enabled"] is True  # rules alone keep filterEnable
    assert cleared.result("clear")["diff"]["before"]["rules"] == result.result("replace")["rules"]
    assert cleared.result("clear")["diff"]["after"] == dict(filter_enabled=True, rules=[])
    assert cleared.result("clear again")["changed"] is False
    assert vmci(api, moid) == (True, [])

    set_vmci(api, moid, True, [(5, "deny", "anyProtocol", "anyDirection", None, None)])
    absent = run([task("absent", moid=moid, state="absent"), task("absent again", moid=moid, state="absent")])
    assert [absent.result(n)["changed"] for n in ("absent", "absent again")] == [True, False], absent
    assert absent.result("absent")["filter_enabled"] is False and absent.result("absent")["rules"] == []
    assert vmci(api, moid) == (False, [])


# -- filter_enabled alone, rules alone, explicit ranks --------------------------------------------
def test_toggle_keeps_rules_and_rules_keep_toggle(run, api, vms):
    moid = vms["DC0_C0_RP0_VM1"][0]
    set_vmci(api, moid, True, [(10, "allow", "stream", "host", None, 9), (20, "deny", "anyProtocol", "host", None, None)])
    result = run([
        dict(task("off", moid=moid, filter_enabled=False), diff=True),
        task("off again", moid=moid, filter_enabled=False),
        # same content and order as the current rules (ranks 10 and 20, lower boundary unset): unchanged
        task("same rules", moid=moid, rules=[dict(action="allow", protocol="stream", direction="host", ports="0-9"),
                                             dict(action="deny", protocol="anyProtocol", direction="host")]),
    ])
    assert result.rc == 0, result
    off = result.result("off")
    assert off["changed"] is True
    assert off["diff"]["before"]["filter_enabled"] is True and off["diff"]["after"]["filter_enabled"] is False
    assert off["diff"]["before"]["rules"] == off["diff"]["after"]["rules"] == off["rules"]
    assert off["rules"] == [public(10, "allow", "stream", "host", "0-9"), public(20, "deny", "anyProtocol", "host")]
    assert result.result("off again")["changed"] is False
    assert result.result("same rules")["changed"] is False
    assert vmci(api, moid) == (False, [(10, "allow", "stream", "host", None, 9),
                                       (20, "deny", "anyProtocol", "host", None, None)])

    ranked = [dict(action="deny", protocol="anyProtocol", direction="host", rank=200),
              dict(action="allow", protocol="stream", direction="host", ports="0-9", rank=100)]
    result = run([
        task("on", moid=moid, filter_enabled=True),
        task("explicit ranks", moid=moid, rules=ranked),
        task("explicit ranks again", moid=moid, rules=ranked),
    ])
    assert [result.result(n)["changed"] for n in ("on", "explicit ranks", "explicit ranks again")] == \
        [True, True, False], result
    assert result.result("explicit ranks")["filter_enabled"] is True
    enabled, filters = vmci(api, moid)
    assert enabled is True
    assert sorted(filters) == [(100, "allow", "stream", "host", None, 9), (200, "deny", "anyProtocol", "host", None, None)]
    assert [r["rank"] for r in result.result("explicit ranks")["rules"]] == [100, 200]


# -- check mode ------------------------------------------------------------------------------------
@pytest.mark.matrix
def test_check_mode_changes_nothing(run, api, vms):
    moid = vms["DC0_H0_VM1"][0]
    set_vmci(api, moid, False, [(1, "allow", "hypervisor", "host", None, None)])
    before = vmci(api, moid)
    result = run([dict(task("check", moid=moid, filter_enabled=True, rules=THREE_RULES), check_mode=True, diff=True),
                  dict(task("check absent", moid=moid, state="absent"), check_mode=True)])
    res = result.result("check")
    assert result.rc == 0, result
    assert res["changed"] is True
    assert res["filter_enabled"] is True and len(res["rules"]) == 3  # what the run would set
    assert res["diff"]["before"] == dict(filter_enabled=False, rules=[public(1, "allow", "hypervisor", "host")])
    assert res["diff"]["after"]["rules"][1] == public(2, "allow", "stream", "host", "2000")
    assert result.result("check absent")["changed"] is True
    assert "ReconfigVM_Task" not in result.soap, result.soap
    assert vmci(api, moid) == before


# -- validation: every error fails before the first request ---------------------------------------
BAD = [
    (dict(rules=[dict(action="permit", protocol="stream", direction="host")]),
     ["action", "permit", "allow, deny"]),
    (dict(rules=[dict(action="allow", protocol="tcp", direction="host")]),
     ["protocol", "tcp", "hypervisor, doorbell, queuepair, datagram, stream, anyProtocol"]),
    (dict(rules=[dict(action="allow", protocol="stream", direction="in")]),
     ["direction", "in", "guest, host, anyDirection"]),
    # the module's own checks report every problem at once
    (dict(rules=[dict(action="allow", protocol="stream", direction="host", ports="2010-2000", rank=1),
                 dict(action="allow", protocol="stream", direction="host", ports=70000, rank=1),
                 dict(action="allow", protocol="stream", direction="host", ports="http", rank=2)]),
     ["rule #1: ports '2010-2000' has its lower port 2010 above its upper port 2000",
      "rule #2: ports 70000 is outside the ports vSphere allows (0-65535)",
      "rule #3: ports 'http' is not a port or a port range",
      "rules #1 and #2 have the same rank 1: ranks must be unique"]),
    (dict(rules=[dict(action="allow", protocol="stream", direction="host", rank=1),
                 dict(action="deny", protocol="anyProtocol", direction="anyDirection", ports="1-65536")]),
     ["rank is set on rule #1 but not on #2",
      "rule #2: ports 65536 is outside the ports vSphere allows (0-65535)"]),
    (dict(state="absent", filter_enabled=False), ["state=absent", "do not set filter_enabled"]),
    (dict(), ["filter_enabled", "rules"]),
    (dict(uuid="not-a-uuid", filter_enabled=True), ["uuid 'not-a-uuid' is not a UUID"]),
]


def test_validation_before_any_request(run, vms):
    """Each bad input fails with its message; the whole run makes no SOAP request at all."""
    moid = vms["DC0_H0_VM0"][0]
    result = run([task("bad %d" % i, **dict({"moid": moid} if "uuid" not in case[0] else {}, **case[0]))
                  for i, case in enumerate(BAD)])
    for i, (unused, fragments) in enumerate(BAD):
        res = result.result("bad %d" % i)
        assert failed(result, "bad %d" % i), (i, res)
        for fragment in fragments:
            assert fragment in res["msg"], (i, res["msg"])
    assert result.soap == {}, result.soap


# -- look-up, info, errors -------------------------------------------------------------------------
# ~15 s; look-ups by name, uuid and moid are in the CI legs through test_vm_serial_port.py
@pytest.mark.matrix(ci=False)
def test_info_by_name_uuid_moid_and_round_trip(run, api, vms):
    moid, uuid, instance_uuid = vms["DC0_C0_RP0_VM1"]
    set_vmci(api, moid, True, [(3, "deny", "anyProtocol", "anyDirection", None, None),
                               (1, "allow", "stream", "guest", 2000, 2010),
                               (2, "allow", "datagram", "host", 5000, None)])
    by_moid = run([task("info", module=INFO, moid=moid)])
    assert by_moid.soap["RetrievePropertiesEx"] == 1, by_moid.soap
    assert total(by_moid) <= NO_CHANGE_BUDGET, by_moid.soap
    result = run([
        task("by name", module=INFO, name="DC0_C0_RP0_VM1", datacenter="DC0"),
        task("by uuid", module=INFO, uuid=uuid),
        task("by instance uuid", module=INFO, uuid=instance_uuid),
        {"name": "copy back", FQCN: {"moid": moid, "filter_enabled": "{{ out.filter_enabled }}",
                                     "rules": "{{ out.rules }}"}, "register": "copy"},
    ])
    assert result.rc == 0, result
    expected = [public(1, "allow", "stream", "guest", "2000-2010"), public(2, "allow", "datagram", "host", "5000-"),
                public(3, "deny", "anyProtocol", "anyDirection")]
    for name in ("by name", "by uuid", "by instance uuid"):
        res = result.result(name)
        assert res["changed"] is False
        assert {k: res["vm"][k] for k in ("name", "moid", "uuid")} == dict(name="DC0_C0_RP0_VM1", moid=moid,
                                                                           uuid=uuid)
        assert res["filter_enabled"] is True
        assert res["rules"] == expected
    assert by_moid.result("info")["rules"] == expected
    assert result.result("copy back")["changed"] is False  # the info output is valid module input


def test_unknown_vm_and_vm_without_vmci_device(run, api, vms):
    # Remove the VMCI device of one VM, as on hardware older than version 7 (vcsim allows removing it).
    moid = vms["DC0_H0_VM0"][0]
    vm = vim.VirtualMachine(moid, api._stub)
    device = [d for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualVMCIDevice)][0]
    spec = vim.vm.ConfigSpec(deviceChange=[vim.vm.device.VirtualDeviceSpec(operation="remove", device=device)])
    WaitForTask(vm.ReconfigVM_Task(spec))
    try:
        result = run([
            task("no device", moid=moid, filter_enabled=True),
            task("no device info", module=INFO, moid=moid),
            task("unknown", name="no-such-vm", filter_enabled=True),
        ])
        for name in ("no device", "no device info"):
            res = result.result(name)
            assert failed(result, name)
            assert "VM 'DC0_H0_VM0' (%s) has no VMCI device" % moid in res["msg"], res["msg"]
            assert "hardware version 7" in res["msg"]
            assert "Traceback" not in res.get("module_stderr", "")
        assert "No virtual machine named 'no-such-vm'" in result.result("unknown")["msg"]
        assert "ReconfigVM_Task" not in result.soap
    finally:
        device.key = -1
        spec = vim.vm.ConfigSpec(deviceChange=[vim.vm.device.VirtualDeviceSpec(operation="add", device=device)])
        WaitForTask(vm.ReconfigVM_Task(spec))


def test_powered_off_and_powered_on_vm(run, api, vms):
    """vcsim lets the filter change in both power states; real hosts may refuse a running VM, which
    the module reports with vSphere's reason (unit-tested in tests/unit/plugins/module_utils/vmci/test_rules.py)."""
    moid = vms["DC0_C0_RP0_VM0"][0]
    vm = vim.VirtualMachine(moid, api._stub)
    WaitForTask(vm.PowerOffVM_Task())
    try:
        result = run([task("off vm", moid=moid, filter_enabled=False, rules=THREE_RULES[2:])])
        assert result.result("off vm")["changed"] is True, result
        assert vmci(api, moid) == (False, [(1, "deny", "anyProtocol", "anyDirection", None, None)])
    finally:
        WaitForTask(vm.PowerOnVM_Task())
    assert vm.runtime.powerState == "poweredOn"
    result = run([task("on vm", moid=moid, filter_enabled=True)])
    assert result.result("on vm")["changed"] is True, result
    assert vmci(api, moid)[0] is True
