"""plugin_utils/roles/registered.py: a bulk run's ``vms`` read back per VM, whatever became of the run."""
from ansible_collections.vmchannels.vsphere.plugins.plugin_utils.roles import registered


def test_loop_results_are_the_items_of_a_task_that_ran():
    assert registered.loop_results(None) == []
    assert registered.loop_results({"skipped": True}) == []
    assert registered.loop_results({"results": [{"item": "a", "vms": []}, {"skipped": True}, "x"]}) == [
        {"item": "a", "vms": []}]


def test_per_vm_gives_each_vm_its_entry_in_order():
    run = {"vms": [{"changed": True}, {"failed": True, "msg": "vms[1] (b): bad"}], "failed": True}
    assert registered.per_vm(run, ["a", "b"]) == {"a": {"changed": True}, "b": {"failed": True, "msg": "vms[1] (b): bad"}}


def test_per_vm_fails_every_vm_of_a_run_that_failed_whole_or_did_not_run():
    assert registered.per_vm({"failed": True, "msg": "Cannot connect"}, ["a", "b"], "the plan failed") == {
        "a": {"changed": False, "failed": True, "msg": "Cannot connect"},
        "b": {"changed": False, "failed": True, "msg": "Cannot connect"}}
    assert registered.per_vm(None, ["a"]) == {"a": {"changed": False, "failed": True, "msg": "the change failed"}}
    # a run with fewer entries than VMs (it cannot happen, but never an IndexError)
    assert registered.per_vm({"vms": [{"changed": False}], "msg": "m"}, ["a", "b"])["b"]["failed"] is True
