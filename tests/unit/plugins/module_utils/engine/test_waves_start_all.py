"""waves.start_all: the ReconfigVM_Task starts of a wave are sent concurrently, each VM's refusal
stays its own, results come back in order. The stub and VMs are fakes that record the calls (the
simulator tests of tests/integration/vm_serial_port_bulk/test_vm_serial_port_bulk.py show the overlap on the wire)."""
import threading
import time

import pytest
from ansible_collections.vmchannels.vsphere.plugins.module_utils.engine import waves
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.errors import VSphereError
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.properties import ObjectProperties
from pyVmomi import vim


class FakeStub(object):
    poolSize = 5  # pyVmomi's default


class FakeClient(object):
    def __init__(self):
        self.stub = FakeStub()


class FakeVm(object):
    """A VM whose ReconfigVM_Task returns ``task-<index>``, or calls ``behave(index)`` first."""

    def __init__(self, index, behave, calls):
        self._moId = "vm-%d" % index
        self.index = index
        self.behave = behave
        self.calls = calls

    def ReconfigVM_Task(self, spec):  # noqa: N802 - pyVmomi's name
        self.calls.append((self.index, spec.changeVersion))
        self.behave(self.index)
        return "task-%d" % self.index


def changes(count, behave):
    calls = []
    return [(ObjectProperties(FakeVm(i, behave, calls), {"config.changeVersion": "v%d" % i}), [],
             "reconfiguring VM %d" % i) for i in range(count)], calls


def test_starts_overlap_refusals_stay_per_vm_and_results_keep_their_order():
    workers = waves.MAX_CONCURRENT_STARTS
    # the first `workers` starts wait for each other: sent one after the other, the first would wait forever
    barrier = threading.Barrier(workers, timeout=10)

    def behave(index):
        if index < workers:
            barrier.wait()
        if index == 3:
            raise vim.fault.NoPermission(msg="denied", privilegeId="VirtualMachine.Config.AddRemoveDevice")

    items, calls = changes(40, behave)
    client = FakeClient()
    out = waves.start_all(client, items)
    assert len(calls) == 40  # one start per VM, the refused one too
    assert sorted(calls) == [(i, "v%d" % i) for i in range(40)]  # each with the change version read
    assert isinstance(out[3], VSphereError) and out[3].kind == "permission"
    assert "reconfiguring VM 3" in out[3].msg
    assert out[:3] + out[4:] == ["task-%d" % i for i in range(40) if i != 3]
    assert client.stub.poolSize == workers  # one pooled connection per thread


def test_a_wave_smaller_than_the_cap_uses_as_many_threads_and_one_vm_none():
    barrier = threading.Barrier(3, timeout=10)
    items, _calls = changes(3, lambda index: barrier.wait())
    client = FakeClient()
    assert waves.start_all(client, items) == ["task-0", "task-1", "task-2"]
    assert client.stub.poolSize == 5  # never lowered

    seen = []
    items, _calls = changes(1, lambda index: seen.append(threading.current_thread()))
    assert waves.start_all(FakeClient(), items) == ["task-0"] and seen == [threading.current_thread()]


def test_a_lost_connection_stops_the_starts_not_yet_sent_and_is_raised():
    def behave(index):
        if index == 0:
            raise ConnectionResetError("connection reset by peer")
        time.sleep(0.05)  # the other starts take a round trip: the failure is seen long before the last

    items, calls = changes(200, behave)
    with pytest.raises(ConnectionResetError):
        waves.start_all(FakeClient(), items)
    assert len(calls) < 200  # those queued behind the failure were not sent
