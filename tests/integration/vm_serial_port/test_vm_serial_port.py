"""vm_serial_port and vm_serial_port_info through real ansible-playbook runs against the simulator,
read back with pyVmomi. Each test uses VMs no other test in this file touches."""
import pytest
from pyVim.task import WaitForTask
from pyVmomi import vim

from conftest import module_simulator
from vsphere_helpers import add_serial_port, find_vm, power, serial_ports, task_requests

MOD = "vmchannels.vsphere.vm_serial_port"
INFO = "vmchannels.vsphere.vm_serial_port_info"


sim, si, play = module_simulator(vm=8)


def task(title, serial_ports, **kwargs):
    args = dict(serial_ports=serial_ports)
    args.update(kwargs)
    return {"name": title, MOD: args, "register": "out"}


ALL_BACKINGS = [
    {"number": 1, "backing": {"type": "network", "service_uri": "telnet://:7001", "direction": "server"}},
    {"number": 2, "backing": {"type": "network", "service_uri": "vSPC.py", "proxy_uri": "telnet://vspc.example.com:13370"}},
    {"number": 3, "backing": {"type": "pipe", "pipe_name": "/tmp/com3", "endpoint": "client", "no_rx_loss": True}},
    {"number": 4, "backing": {"type": "file", "file_path": "[LocalDS_0] vm/serial4.log"}},
    {"number": 5, "backing": {"type": "device", "device_name": "/dev/char/serial/uart0"}},
    {"number": 6, "backing": {"type": "thinprint"}, "yield_on_poll": False, "start_connected": False,
     "allow_guest_control": True},
]


@pytest.mark.matrix
def test_every_backing_added_edited_removed(play, si, sim):
    vm = find_vm(si, "DC0_H0_VM0")
    power(vm, "poweredOff")
    sim.reset_trace()
    run = play([task("add", ALL_BACKINGS, name="DC0_H0_VM0"), task("again", ALL_BACKINGS, name="DC0_H0_VM0")])
    assert run.rc == 0, run
    added = run.result("add")
    assert added["changed"] is True
    assert [c["op"] for c in added["changes"]] == ["add"] * 6
    assert run.result("again")["changed"] is False
    # one reconfiguration for six ports, none for the idempotent run
    assert sim.soap_calls()["ReconfigVM_Task"] == 1

    ports = serial_ports(vm)
    assert sorted(ports) == [1, 2, 3, 4, 5, 6]
    assert ports[1]["backing"] == {"class": "URIBackingInfo", "serviceURI": "telnet://:7001", "direction": "server",
                                   "proxyURI": None}
    assert ports[2]["backing"]["proxyURI"] == "telnet://vspc.example.com:13370"
    assert ports[3]["backing"] == {"class": "PipeBackingInfo", "pipeName": "/tmp/com3", "endpoint": "client",
                                   "noRxLoss": True}
    assert ports[4]["backing"]["fileName"] == "[LocalDS_0] vm/serial4.log"
    assert ports[5]["backing"]["deviceName"] == "/dev/char/serial/uart0"
    assert ports[6]["backing"]["class"] == "ThinPrintBackingInfo"
    assert (ports[6]["yield_on_poll"], ports[6]["start_connected"], ports[6]["allow_guest_control"]) == (False, False, True)
    assert (ports[1]["yield_on_poll"], ports[1]["start_connected"], ports[1]["allow_guest_control"]) == (True, True, False)
    assert all(p["controller_key"] == ports[1]["controller_key"] for p in ports.values())
    # the module's own result reports the same ports
    assert [p["number"] for p in added["serial_ports"]] == [1, 2, 3, 4, 5, 6]
    assert added["serial_ports"][3]["backing"] == {"type": "file", "file_path": "[LocalDS_0] vm/serial4.log"}

    # edit every port: change each backing within and across types
    edits = [
        {"number": 1, "backing": {"type": "network", "service_uri": "tcp://console.example.com:7001", "direction": "client"}},
        {"number": 2, "backing": {"type": "network", "service_uri": "vSPC.py", "proxy_uri": "telnets://vspc2.example.com:13371"}},
        {"number": 3, "backing": {"type": "pipe", "pipe_name": "/tmp/com3b", "endpoint": "server"}},
        {"number": 4, "backing": {"type": "file", "file_path": "[LocalDS_0] vm/serial4b.log"}},
        {"number": 5, "backing": {"type": "device", "auto_detect": True}},
        {"number": 6, "backing": {"type": "file", "file_path": "[LocalDS_0] vm/serial6.log"}, "yield_on_poll": True},
    ]
    run = play([task("edit", edits, name="DC0_H0_VM0")])
    assert run.rc == 0, run
    assert [c["op"] for c in run.result("edit")["changes"]] == ["edit"] * 6
    ports = serial_ports(vm)
    assert ports[1]["backing"]["serviceURI"] == "tcp://console.example.com:7001"
    assert ports[1]["backing"]["direction"] == "client"
    assert ports[2]["backing"]["proxyURI"] == "telnets://vspc2.example.com:13371"
    assert ports[3]["backing"]["pipeName"] == "/tmp/com3b" and ports[3]["backing"]["noRxLoss"] is False
    assert ports[4]["backing"]["fileName"] == "[LocalDS_0] vm/serial4b.log"
    assert ports[5]["backing"]["useAutoDetect"] is True
    assert ports[6]["backing"]["class"] == "FileBackingInfo" and ports[6]["yield_on_poll"] is True
    # options not given were kept
    assert ports[6]["allow_guest_control"] is True and ports[6]["start_connected"] is False

    run = play([task("remove", [{"number": n, "state": "absent"} for n in range(1, 7)], name="DC0_H0_VM0")])
    assert run.rc == 0, run
    assert serial_ports(vm) == {}


def test_two_network_ports_are_independent(play, si):
    vm = find_vm(si, "DC0_H0_VM1")
    power(vm, "poweredOff")
    two = [{"number": 1, "backing": {"type": "network", "service_uri": "telnet://:7001"}},
           {"number": 2, "backing": {"type": "network", "service_uri": "telnet://:7002"}}]
    run = play([task("add", two, name="DC0_H0_VM1"),
                task("edit 2", [{"number": 2, "backing": {"type": "network", "service_uri": "telnet://:7012"}}],
                     name="DC0_H0_VM1"),
                task("edit 1", [{"number": 1, "yield_on_poll": False}], name="DC0_H0_VM1")])
    assert run.rc == 0, run
    assert [(c["op"], c["number"]) for c in run.result("edit 2")["changes"]] == [("edit", 2)]
    assert [(c["op"], c["number"]) for c in run.result("edit 1")["changes"]] == [("edit", 1)]
    ports = serial_ports(vm)
    assert ports[1]["backing"]["serviceURI"] == "telnet://:7001" and ports[1]["yield_on_poll"] is False
    assert ports[2]["backing"]["serviceURI"] == "telnet://:7012" and ports[2]["yield_on_poll"] is True


def test_exclusive_removes_unlisted_ports(play, si):
    vm = find_vm(si, "DC0_H0_VM2")
    power(vm, "poweredOff")
    add_serial_port(vm, 2, vim.vm.device.VirtualSerialPort.ThinPrintBackingInfo())
    add_serial_port(vm, 4, vim.vm.device.VirtualSerialPort.FileBackingInfo(fileName="[LocalDS_0] x.log"))
    keep = [{"number": 1, "backing": {"type": "network", "service_uri": "telnet://:7001"}}]
    run = play([task("non-exclusive", keep, name="DC0_H0_VM2"),
                task("exclusive", keep, name="DC0_H0_VM2", exclusive=True),
                task("exclusive again", keep, name="DC0_H0_VM2", exclusive=True)])
    assert run.rc == 0, run
    assert [p["number"] for p in run.result("non-exclusive")["serial_ports"]] == [1, 3, 5]
    assert sorted(c["number"] for c in run.result("exclusive")["changes"]) == [3, 5]
    assert run.result("exclusive again")["changed"] is False
    assert sorted(serial_ports(vm)) == [1]


@pytest.mark.matrix
def test_check_mode_and_diff_change_nothing(play, si, sim):
    vm = find_vm(si, "DC0_H0_VM3")
    power(vm, "poweredOff")
    before = serial_ports(vm)
    sim.reset_trace()
    run = play([task("check", ALL_BACKINGS[:2], name="DC0_H0_VM3")], args=["--check", "--diff"])
    assert run.rc == 0, run
    result = run.result("check")
    assert result["changed"] is True
    assert [p["number"] for p in result["serial_ports"]] == [1, 2]
    assert result["diff"]["before"] == {"serial_ports": {}}
    assert sorted(result["diff"]["after"]["serial_ports"]) == ["port 1", "port 2"]
    assert "port 1" in run.stdout  # the diff is shown by the default callback
    assert serial_ports(vm) == before
    assert "ReconfigVM_Task" not in sim.soap_calls()


@pytest.mark.matrix
def test_powered_on_vm(play, si, sim):
    vm = find_vm(si, "DC0_H0_VM4")
    power(vm, "poweredOff")
    port1 = [{"number": 1, "backing": {"type": "network", "service_uri": "telnet://:7001"}}]
    assert play([task("seed", port1, name="DC0_H0_VM4")]).rc == 0
    power(vm, "poweredOn")
    version = vm.config.changeVersion

    # editing an existing port is attempted while the VM runs
    run = play([task("edit on", [{"number": 1, "yield_on_poll": False, "connected": True}], name="DC0_H0_VM4")])
    assert run.rc == 0, run
    assert serial_ports(vm)[1]["yield_on_poll"] is False
    assert vm.runtime.powerState == "poweredOn"

    # adding refused without change, naming the VM, the port and the power state
    version = vm.config.changeVersion
    sim.reset_trace()
    add2 = [{"number": 2, "backing": {"type": "thinprint"}}]
    run = play([task("add on", add2, name="DC0_H0_VM4")])
    assert run.rc != 0
    msg = run.result("add on")["msg"]
    assert "DC0_H0_VM4" in msg and "serial port 2" in msg and "poweredOn" in msg and "allow_power_cycle" in msg
    assert "Traceback" not in run.stdout + run.stderr
    assert sorted(serial_ports(vm)) == [1] and vm.config.changeVersion == version
    assert "ReconfigVM_Task" not in sim.soap_calls()

    # ... and done with allow_power_cycle (no VMware Tools in the simulator: power off / on)
    run = play([task("add cycle", add2, name="DC0_H0_VM4", allow_power_cycle=True)])
    assert run.rc == 0, run
    assert run.result("add cycle")["power_cycle"] == "power off"
    assert sorted(serial_ports(vm)) == [1, 2]
    assert vm.runtime.powerState == "poweredOn"


@pytest.mark.matrix
@pytest.mark.parametrize("ident", ["name", "uuid", "instance_uuid", "moid", "folder"])
def test_lookups(play, si, ident):
    vm = find_vm(si, "DC0_C0_RP0_VM0")
    args = {"name": dict(name="DC0_C0_RP0_VM0"), "uuid": dict(uuid=vm.config.uuid),
            "instance_uuid": dict(uuid=vm.config.instanceUuid), "moid": dict(moid=vm._moId),
            "folder": dict(name="DC0_C0_RP0_VM0", datacenter="DC0", folder="/DC0/vm")}[ident]
    run = play([{"name": "info", INFO: args}])
    assert run.rc == 0, run
    assert run.result("info")["vm"]["moid"] == vm._moId
    assert run.result("info")["vm"]["name"] == "DC0_C0_RP0_VM0"


@pytest.mark.parametrize("ports,fragments", [
    ([{"number": 0, "backing": {"type": "thinprint"}}], ["number must be between 1 and 32"]),
    ([{"number": 33, "backing": {"type": "thinprint"}}], ["between 1 and 32"]),
    ([{"number": 1, "backing": {"type": "thinprint"}}, {"number": 1, "state": "absent"}], ["listed twice"]),
    ([{"number": 1, "backing": {"type": "file", "file_path": "[ds] a", "pipe_name": "x"}}], ["pipe_name", "file backing"]),
    ([{"number": 1, "backing": {"type": "network", "service_uri": "tcp://5000"}}], ["service_uri", "no colon"]),
    ([{"number": 1, "backing": {"type": "network", "service_uri": "telnet://:1", "proxy_uri": "tcp://v:1"}}], ["proxy_uri"]),
    ([{"number": 1, "backing": {"type": "network", "service_uri": "telnet://:1", "proxy_uri": "telnet://u:p@v:1"}}],
     ["proxy_uri", "user name or password"]),
    ([{"number": 1, "backing": {"type": "file", "file_path": "/vmfs/volumes/ds/x.log"}}], ["file_path", "[DATASTORE]"]),
    ([{"number": 1, "backing": {"type": "serial"}}], ["type", "network"]),
])
def test_validation_fails_before_any_request(play, sim, ports, fragments):
    sim.reset_trace()
    run = play([task("bad", ports, name="DC0_C0_RP0_VM1")])
    assert run.rc != 0
    msg = run.result("bad")["msg"]
    for fragment in fragments:
        assert fragment in msg, msg
    assert "Traceback" not in run.stdout + run.stderr
    assert sum(sim.soap_calls().values()) == 0


def test_port_above_hardware_limit_and_unknown_vm(play, si, sim):
    run = play([task("unknown", [{"number": 1, "backing": {"type": "thinprint"}}], name="no-such-vm")])
    assert run.rc != 0
    assert "No virtual machine named 'no-such-vm'" in run.result("unknown")["msg"]

    # Hardware version 10 allows 4 serial ports (the launcher models QueryConfigOption's limit).
    datacenter = si.content.rootFolder.childEntity[0]
    host = find_vm(si, "DC0_H0_VM0").runtime.host
    spec = vim.vm.ConfigSpec(name="old-hw", version="vmx-10", guestId="otherGuest",
                             files=vim.vm.FileInfo(vmPathName="[LocalDS_0]"))
    WaitForTask(datacenter.vmFolder.CreateVM_Task(config=spec, pool=host.parent.resourcePool, host=host))
    old = find_vm(si, "old-hw")
    sim.reset_trace()
    run = play([dict(task("port 5", [{"number": 5, "backing": {"type": "thinprint"}}], name="old-hw"),
                     ignore_errors=True),
                task("port 4", [{"number": 4, "backing": {"type": "thinprint"}}], name="old-hw")])
    msg = run.result("port 5")["msg"]
    assert "allows 4 serial ports" in msg and "vmx-10" in msg and "port 5" in msg
    assert run.result("port 4")["changed"] is True
    assert sorted(serial_ports(old)) == [4]
    assert sim.soap_calls()["ReconfigVM_Task"] == 1


def test_request_counts(play, si, sim):
    """Issue budget per task, the run's session login and logout aside: at most 9 requests for a
    change, at most 5 for no change, independent of the inventory when the VM is given by moid or
    uuid."""
    vm = find_vm(si, "DC0_H0_VM5")
    power(vm, "poweredOff")
    port = [{"number": 1, "backing": {"type": "network", "service_uri": "vSPC.py",
                                      "proxy_uri": "telnet://vspc.example.com:13370"}}]
    counts = {}
    for label, args in (("change", dict(uuid=vm.config.uuid)), ("no change", dict(uuid=vm.config.uuid)),
                        ("moid no change", dict(moid=vm._moId))):
        sim.reset_trace()
        run = play([task(label, port, **args)])
        assert run.rc == 0, run
        counts[label] = task_requests(sim.soap_calls())
    assert counts["change"] <= 9, counts
    assert counts["no change"] <= 4, counts
    assert counts["moid no change"] <= 3, counts


def test_inputs_that_would_have_no_effect_are_reported(play, si, sim):
    """connected on a powered-off VM is ignored by vSphere: the module says so (a warning). A file_path
    on a datastore the VM's host or cluster does not have is refused before any change, naming the
    datastore (the datastores are read with the VM, in the same request); both modules, one path."""
    vm, other = find_vm(si, "DC0_H0_VM6"), find_vm(si, "DC0_H0_VM7")
    power(vm, "poweredOff")
    power(other, "poweredOff")
    connected = [{"number": 1, "backing": {"type": "thinprint"}, "connected": True}]
    missing_ds = [{"number": 2, "backing": {"type": "file", "file_path": "[NoSuchDS] DC0_H0_VM6/com2.log"}}]
    sim.reset_trace()
    run = play([task("connected off", connected, name="DC0_H0_VM6"),
                dict(task("no datastore", missing_ds, name="DC0_H0_VM6"), ignore_errors=True),
                {"name": "bulk", "vmchannels.vsphere.vm_serial_port_bulk": {"vms": [
                    {"name": "DC0_H0_VM7", "serial_ports": connected + missing_ds}]}, "ignore_errors": True}])
    warnings = run.result("connected off").get("warnings", [])
    assert any("VM 'DC0_H0_VM6'" in w and "poweredOff: connected is ignored for serial port 1" in w
               for w in warnings), warnings
    msg = run.result("no datastore")["msg"]
    assert "Serial port 2 of VM 'DC0_H0_VM6'" in msg and "'[NoSuchDS] DC0_H0_VM6/com2.log'" in msg, msg
    assert "datastore 'NoSuchDS'" in msg and "LocalDS_0" in msg and "Nothing was changed" in msg, msg
    assert run.result("no datastore")["error_kind"] == "not_found"
    bulk = run.result("bulk")["vms"][0]
    assert "datastore 'NoSuchDS'" in bulk["msg"], bulk
    assert sim.soap_calls()["ReconfigVM_Task"] == 1  # only "connected off"
    assert sorted(serial_ports(vm)) == [1] and serial_ports(other) == {}
