"""Reading results back from the simulator with pyVmomi (tests only), independent of the
collection's own code so that a bug there cannot hide itself."""
from pyVim.task import WaitForTask
from pyVmomi import vim

#: The requests of the run's one shared session (tests/integration/execution/test_in_process.py), not of a task.
SESSION_METHODS = ("Login", "Logout")


def vm_name_lookups(requests):
    """The reads of ``requests`` (simulator trace records) that look VMs up by name: PropertyCollector
    reads of VMs that start from a folder (the root folder) alone, where a read by moid starts from
    the VM itself and the check of a remembered name index (:func:`name_index_checks`) from both."""
    return [r for r in requests if r["method"].startswith("Retrieve") and "VirtualMachine" in r.get("types", [])
            and any(o.startswith("Folder:") for o in r.get("objects", []))
            and not any(o.startswith("VirtualMachine:") for o in r.get("objects", []))]


def name_index_checks(requests):
    """The reads of ``requests`` that check the run's remembered VM name index (module_utils/vsphere/inventory.py):
    the names of every VM from the root folder and the paths of the VMs that bear the name."""
    return [r for r in requests if r["method"].startswith("Retrieve") and "VirtualMachine" in r.get("types", [])
            and any(o.startswith("Folder:") for o in r.get("objects", []))
            and any(o.startswith("VirtualMachine:") for o in r.get("objects", []))]


def task_requests(calls):
    """The requests of a run's tasks: every SOAP call of ``calls`` (a Counter) but the session's
    login and logout, which a run pays once whatever its number of tasks."""
    return sum(n for method, n in calls.items() if method not in SESSION_METHODS)


def find_vm(si, name):
    view = si.content.viewManager.CreateContainerView(si.content.rootFolder, [vim.VirtualMachine], True)
    try:
        for vm in view.view:
            if vm.name == name:
                return vm
    finally:
        view.Destroy()
    raise LookupError(name)


def power(vm, state):
    """Bring ``vm`` to ``poweredOn`` or ``poweredOff`` (no-op when already there)."""
    if vm.runtime.powerState == state:
        return
    WaitForTask(vm.PowerOnVM_Task() if state == "poweredOn" else vm.PowerOffVM_Task())
    assert vm.runtime.powerState == state


def serial_ports(vm):
    """{unit number + 1: (backing as a dict, yieldOnPoll, startConnected, allowGuestControl, key)}."""
    out = {}
    for device in vm.config.hardware.device:
        if isinstance(device, vim.vm.device.VirtualSerialPort):
            backing = device.backing
            fields = {"class": type(backing).__name__.split(".")[-1]}
            for attr in ("serviceURI", "direction", "proxyURI", "pipeName", "endpoint", "noRxLoss", "fileName",
                         "deviceName", "useAutoDetect"):
                if hasattr(backing, attr):
                    fields[attr] = getattr(backing, attr)
            out[device.unitNumber + 1 if device.unitNumber is not None else -device.key] = dict(
                backing=fields, yield_on_poll=device.yieldOnPoll,
                start_connected=device.connectable.startConnected,
                allow_guest_control=device.connectable.allowGuestControl,
                connected=device.connectable.connected, key=device.key, controller_key=device.controllerKey,
            )
    return out


def add_serial_port(vm, unit, backing):
    """Add a port behind the collection's back (for tests of exclusive and concurrency)."""
    sio = [d for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualSIOController)][0]
    device = vim.vm.device.VirtualSerialPort(key=-1, controllerKey=sio.key, unitNumber=unit, backing=backing,
                                             yieldOnPoll=True)
    device.connectable = vim.vm.device.VirtualDevice.ConnectInfo(startConnected=False, allowGuestControl=False,
                                                                 connected=False)
    spec = vim.vm.ConfigSpec(deviceChange=[vim.vm.device.VirtualDeviceSpec(operation="add", device=device)])
    WaitForTask(vm.ReconfigVM_Task(spec=spec))
