"""engine.ensure with a fake vSphere and a fake concern (tests/unit/.../engine/fakes.py): the order of
the steps (find, one read, a wave; a refused concurrent edit read again, planned again and retried),
the warnings, what each run records, check mode. The simulator tests show the same on the wire
(tests/integration/vm_vmci_filter/test_vm_vmci_filter_retries.py)."""
import pytest
from ansible_collections.vmchannels.vsphere.plugins.module_utils.engine import ensure as engine
from ansible_collections.vmchannels.vsphere.plugins.module_utils.engine.record import RunOptions, VmRun
from pyVmomi import vim

from .fakes import Number, Vsphere


def runs_for(*wanted):
    return [VmRun(dict(name=name, value=value)) for name, value in wanted]


def test_one_read_one_wave_and_the_state_read_back(monkeypatch):
    vsphere = Vsphere({"a": 1, "b": 2})
    vsphere.install(monkeypatch, engine)
    runs = runs_for(("a", 5), ("b", 2))
    warnings = engine.ensure(None, Number(), runs, RunOptions(300, parallel=20))
    assert vsphere.calls == [("find", ["a", "b"]), ("read", ["a", "b"]), ("wave", ["a"])]
    assert warnings == ["2 VMs looked at"]
    assert [(r.applied, r.after, r.error) for r in runs] == [(True, 5, None), (False, 2, None)]
    assert runs[0].final["value"] == 5 and runs[1].final is None


def test_waves_of_parallel_vms(monkeypatch):
    vsphere = Vsphere(dict(("vm%d" % i, 0) for i in range(5)))
    vsphere.install(monkeypatch, engine)
    engine.ensure(None, Number(), runs_for(*[("vm%d" % i, 1) for i in range(5)]), RunOptions(300, parallel=2))
    waves = [c for c in vsphere.calls if c[0] == "wave"]
    assert waves == [("wave", ["vm0", "vm1"]), ("wave", ["vm2", "vm3"]), ("wave", ["vm4"])]


def test_a_refused_concurrent_edit_is_read_again_planned_again_and_retried(monkeypatch):
    # someone else sets b to 7 while the first wave runs: b is refused, read again (7 now) and changed
    vsphere = Vsphere({"a": 1, "b": 2}, concurrent=[{"b": 7}])
    vsphere.install(monkeypatch, engine)
    runs = runs_for(("a", 5), ("b", 6))
    warnings = engine.ensure(None, Number(), runs, RunOptions(300, parallel=20))
    assert vsphere.calls == [("find", ["a", "b"]), ("read", ["a", "b"]), ("wave", ["a", "b"]),
                             ("read", ["b"]), ("wave", ["b"])]
    assert warnings[0] == "1 VMs were changed by someone else during the run (b); read them again (attempt 2)."
    assert runs[1].plan.before == 7 and runs[1].after == 6 and runs[1].error is None and runs[1].applied
    assert vsphere.values == {"a": 5, "b": 6}


def test_one_vm_is_retried_three_times_then_reported(monkeypatch):
    vsphere = Vsphere({"a": 1}, concurrent=[{"a": 2}, {"a": 3}, {"a": 4}])
    vsphere.install(monkeypatch, engine)
    run, warnings = engine.ensure_one(None, Number(), dict(name="a", value=9), RunOptions(300))
    assert [c[0] for c in vsphere.calls] == ["find", "read", "wave", "read", "wave", "read", "wave"]
    assert warnings[:2] == ["VM 'a' (a) was changed by someone else during the run; read it again (attempt 2).",
                            "VM 'a' (a) was changed by someone else during the run; read it again (attempt 3)."]
    assert run.error.kind == "concurrent" and run.error.msg.endswith("(number)")  # the concern's explain()
    assert not run.applied and vsphere.values == {"a": 4}


def test_check_mode_reads_and_plans_only(monkeypatch):
    vsphere = Vsphere({"a": 1, "b": 2})
    vsphere.install(monkeypatch, engine)
    runs = runs_for(("a", 5), ("b", 2))
    engine.ensure(None, Number(), runs, RunOptions(300, check_mode=True))
    assert [c[0] for c in vsphere.calls] == ["find", "read"]
    assert [(r.applied, r.after) for r in runs] == [(True, 5), (False, 2)]


def test_refused_entries_are_not_looked_up_and_a_refused_plan_stays_the_vms(monkeypatch):
    vsphere = Vsphere({"a": 1, "b": 2, "c": 3})
    vsphere.install(monkeypatch, engine)
    runs = runs_for(("a", 5), ("b", 6), ("c", 7), ("ghost", 1))
    runs[1].error, runs[1].rejected = engine.VSphereError("vms[1] (b): bad", kind="invalid"), True
    engine.ensure(None, Number(refuse=("c",)), runs, RunOptions(300))
    assert vsphere.calls[:2] == [("find", ["a", "c", "ghost"]), ("read", ["a", "c"])]
    assert [r.error.kind if r.error else None for r in runs] == [None, "invalid", "invalid", "not_found"]
    assert vsphere.values == {"a": 5, "b": 2, "c": 3}


@pytest.mark.parametrize("parallel", [1, 3])
def test_the_refusal_of_one_vm_leaves_the_others(monkeypatch, parallel):
    vsphere = Vsphere({"a": 1, "b": 2, "c": 3})
    vsphere.install(monkeypatch, engine)

    def wave(client, changes, timeout, destroy_filter=True):
        return [(engine.VSphereError("refused", kind="task"), None) if p.moid == "b"
                else (None, None) for p, _specs, _what in changes]

    monkeypatch.setattr(engine, "reconfigure_wave", wave)
    runs = runs_for(("a", 5), ("b", 6), ("c", 7))
    engine.ensure(None, Number(), runs, RunOptions(300, parallel=parallel))
    assert [(r.applied, r.error.msg if r.error else None) for r in runs] == [
        (True, None), (False, "refused (number)"), (True, None)]
    # no properties came back: the state after is the plan's
    assert [r.after for r in runs] == [5, 6, 7]


def test_devices_that_cannot_be_read_are_the_vms_error_not_an_empty_plan(monkeypatch):
    vsphere = Vsphere({"a": 1, "b": 2})
    vsphere.install(monkeypatch, engine)
    read = vsphere.read_all

    def read_all(client, refs, **options):
        found, missing = read(client, refs, **options)
        found["b"].missing["config.hardware.device"] = vim.fault.NoPermission(
            msg="denied", privilegeId="System.Read")
        return found, missing

    monkeypatch.setattr(engine, "read_all", read_all)
    runs = runs_for(("a", 5), ("b", 6))
    engine.ensure(None, Number(), runs, RunOptions(300))
    assert runs[0].applied and runs[1].plan is None and runs[1].props is not None
    assert runs[1].error.kind == "permission" and "reading the devices of VM b" in runs[1].error.msg
