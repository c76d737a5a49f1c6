"""engine.results (pure): one VM's result, the one-VM module's result and diff, the bulk result, its
diff (check mode and the concerns' diff_of_failed) and the failure that names each failed VM."""
import pytest
from ansible_collections.vmchannels.vsphere.plugins.module_utils.engine import results
from ansible_collections.vmchannels.vsphere.plugins.module_utils.engine.record import VmRun
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.errors import VSphereError

from .fakes import Number, NumberPlan, props


def planned(name, before, after, error=None, applied=None, host=None):
    run = VmRun(dict(name=name, value=after))
    run.props = props(name, before)
    run.plan = NumberPlan(run, after)
    run.after = after
    run.error = error
    run.applied = run.plan.changes and error is None if applied is None else applied
    run.host = host
    return run


def not_found(name):
    run = VmRun(dict(name=name, value=1))
    run.error = VSphereError("No virtual machine named '%s' was found." % name, kind="not_found")
    return run


def rejected(index, name, problem):
    run = VmRun(dict(name=name))
    run.rejected = True
    run.error = VSphereError("vms[%d] (%s): %s" % (index, name, problem), kind="invalid")
    return run


def test_vm_result_one_vm_and_in_bulk():
    run = planned("a", 1, 5, host="esx1")
    run.power_cycle = "power off"
    one = results.vm_result(Number(), run)
    assert one == dict(vm=dict(name="a", moid="a", uuid="uuid-a", instance_uuid="iuuid-a", power_state="poweredOff"),
                       changed=True, value=5, power_cycle="power off")
    assert results.vm_result(Number(), run, bulk=True) == dict(one, value_before=1, esxi_host="esx1")


def test_the_vm_as_read_after_the_change_and_as_asked_when_not_found():
    run = planned("a", 1, 5)
    run.final = props("a", 5, power_state="poweredOn")
    assert results.vm_result(Number(), run)["vm"]["power_state"] == "poweredOn"
    assert results.vm_result(Number(), not_found("ghost"), bulk=True) == dict(
        vm=dict(name="ghost"), changed=False, failed=True, msg="No virtual machine named 'ghost' was found.",
        error_kind="not_found")


def test_one_vm_result_raises_the_vms_error_and_gives_the_diff_when_asked():
    assert "diff" not in results.one_vm_result(Number(), planned("a", 1, 5), want_diff=False)
    assert results.one_vm_result(Number(), planned("a", 1, 5), want_diff=True)["diff"] == dict(
        before=dict(value=1), after=dict(value=5))
    error = VSphereError("refused", kind="task")
    with pytest.raises(VSphereError) as caught:
        results.one_vm_result(Number(), planned("a", 1, 5, error=error), want_diff=True)
    assert caught.value is error


@pytest.mark.parametrize("check_mode,diff_of_failed,keys", [
    (False, False, ["a (a)"]),  # a VM that could not be changed is left out of the diff...
    (True, False, ["a (a)", "c (c)"]),  # ...but in check mode the diff is a drift report
    (False, True, ["a (a)", "c (c)"]),  # a concern may keep it always (the VMCI firewall)
])
def test_bulk_diff(check_mode, diff_of_failed, keys):
    concern = Number()
    concern.diff_of_failed = diff_of_failed
    runs = [planned("a", 1, 5), planned("b", 2, 2), planned("c", 3, 4, error=VSphereError("x", kind="power_state")),
            not_found("ghost"), rejected(4, "bad", "value is not a number")]
    diff = results.bulk_diff(concern, runs, check_mode)
    assert sorted(diff["before"]["vms"]) == sorted(diff["after"]["vms"]) == keys
    assert diff["before"]["vms"]["a (a)"] == dict(value=1) and diff["after"]["vms"]["a (a)"] == dict(value=5)


def test_bulk_result_without_failures():
    result = results.bulk_result(Number(), [planned("a", 1, 5), planned("b", 2, 2)], want_diff=False,
                                 check_mode=False)
    assert result["changed"] is True and result["failed_vms"] == 0 and "diff" not in result
    assert [r["changed"] for r in result["vms"]] == [True, False]


@pytest.mark.parametrize("check_mode,how", [(False, "the others were"), (True, "check mode: nothing was changed")])
def test_a_bulk_run_with_failures_raises_the_failure_carrying_the_result(check_mode, how):
    runs = [planned("a", 1, 5), not_found("ghost"), rejected(2, "bad", "value is not a number; rank is -1")]
    with pytest.raises(VSphereError) as caught:
        results.bulk_result(Number(), runs, want_diff=True, check_mode=check_mode)
    error = caught.value
    assert error.kind == "partial"
    assert error.msg == ("2 of 3 VMs could not be changed (%s): ghost: No virtual machine named 'ghost' was found. | "
                         "vms[2] (bad): value is not a number; rank is -1" % how)
    assert error.result["failed_vms"] == 2 and error.result["changed"] is True
    assert error.result["vms"][2] == dict(vm=dict(name="bad"), changed=False, failed=True, error_kind="invalid",
                                          msg="vms[2] (bad): value is not a number; rank is -1")
    assert list(error.result["diff"]["after"]["vms"]) == ["a (a)"]
