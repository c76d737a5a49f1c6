"""engine.entries (pure): what fails a bulk task as a whole, and what is the failure of one entry
(its message names the entry, the other entries go on)."""
import pytest
from ansible_collections.vmchannels.vsphere.plugins.module_utils.engine.entries import entry_runs, task_errors
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.options import vm_identity_argument_spec


def spec():
    out = vm_identity_argument_spec()
    out.update(value=dict(type="int", required=True),
               state=dict(type="str", choices=["present", "absent"], default="present"))
    return out


def odd_values(entry):
    return ["value %d is odd" % entry["value"]] if entry["value"] % 2 else []


def messages(entries):
    return [run.error.msg if run.error else None for run in entry_runs(entries, spec(), odd_values)]


@pytest.mark.parametrize("params,errors", [
    (dict(parallel=20, vms=[{"name": "a"}]), []),
    (dict(parallel=0, vms=[]), ["parallel must be at least 1, got 0", "vms is empty: list at least one VM"]),
])
def test_task_errors(params, errors):
    assert task_errors(params) == errors


def test_valid_entries_are_normalized_and_go_on():
    runs = entry_runs([{"name": "a", "value": "2"}, {"moid": "vm-7", "value": 4, "state": "absent"}], spec(),
                      odd_values)
    assert [run.error for run in runs] == [None, None]
    assert not any(run.rejected for run in runs)
    assert runs[0].entry == dict(name="a", value=2, state="present", uuid=None, moid=None, datacenter=None,
                                 folder=None)


@pytest.mark.parametrize("entry,message", [
    ({"value": 2}, "vms[1] (None): one of the following is required: name, uuid, moid"),
    ({"name": "b", "uuid": "42165fa3-1b6e-1c0f-3c2a-a2e2b7b2e0a1", "value": 2},
     "vms[1] (b): parameters are mutually exclusive: name|uuid|moid"),
    ({"name": "b", "value": "two"}, "vms[1] (b): argument 'value' is of type str and we were unable to convert to int"),
    ({"name": "b", "value": 2, "state": "gone"}, "vms[1] (b): value of state must be one of: present, absent, got: gone"),
    ({"name": "b", "value": 2, "colour": "red"}, "vms[1] (b): unsupported option colour. Supported parameters include"),
    ({"name": "b", "value": 3}, "vms[1] (b): value 3 is odd"),
    ({"uuid": "nope", "value": 3}, "vms[1] (nope): uuid 'nope' is not a UUID"),
    ({"name": "a", "value": 2}, "vms[1] (a): the VM is listed twice (also vms[0])"),
])
def test_an_invalid_entry_is_that_entrys_failure(entry, message):
    runs = entry_runs([{"name": "a", "value": 2}, entry, {"name": "c", "value": 4}], spec(), odd_values)
    assert [run.error is None for run in runs] == [True, False, True]
    assert runs[1].rejected and runs[1].error.kind == "invalid"
    assert runs[1].error.msg.startswith(message), runs[1].error.msg


def test_every_problem_of_an_entry_in_one_message():
    assert messages([{"uuid": "nope", "value": 3}]) == [
        "vms[0] (nope): uuid 'nope' is not a UUID: 32 hexadecimal digits, for example "
        "42165fa3-1b6e-1c0f-3c2a-a2e2b7b2e0a1; value 3 is odd"]


def test_a_duplicate_of_an_invalid_entry_is_refused_too_and_unnamed_entries_are_no_duplicates():
    assert messages([{"name": "a", "value": 3}, {"name": "a", "value": 2}, {"value": 2}, {"value": 2}]) == [
        "vms[0] (a): value 3 is odd", "vms[1] (a): the VM is listed twice (also vms[0])",
        "vms[2] (None): one of the following is required: name, uuid, moid",
        "vms[3] (None): one of the following is required: name, uuid, moid"]
