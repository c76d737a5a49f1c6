"""plugin_utils/roles/vmci_firewall.py: the notes and the outcomes of the vmci_firewall role."""
from ansible_collections.vmchannels.vsphere.plugins.plugin_utils.roles import vmci_firewall

DEFAULTS = {"vmci_firewall_vm": None, "vmci_firewall_enabled": True, "vmci_firewall_bulk": False}


def note(host, **variables):
    return vmci_firewall.note(dict(DEFAULTS, vmci_firewall_vm=host, **variables), host)


def test_note_of_a_vm():
    out = note("web01", vmci_firewall_profile="deny_all", vmci_firewall_bulk=True)
    assert out["entry"] == {"name": "web01", "filter_enabled": True,
                            "rules": [{"action": "deny", "protocol": "anyProtocol", "direction": "anyDirection"}]}
    assert out["bulk"] is True and out["error"] is None
    assert out["variables"] == sorted(["vmci_firewall_vm", "vmci_firewall_enabled", "vmci_firewall_bulk",
                                       "vmci_firewall_profile"])
    bad = note("web02", vmci_firewall_profile="deny_everything")
    assert bad["entry"] is None and bad["error"].startswith("vmci_firewall_profile must be one of")


def test_results_in_both_modes():
    notes = [note("a", vmci_firewall_bulk=True, vmci_firewall_profile="deny_all"),
             note("b"),
             note("c", vmci_firewall_bulk=True),
             note("d", vmci_firewall_profile="nope", vmci_firewall_bulk=True)]
    assert vmci_firewall.bulk_entries(notes) == [notes[0]["entry"], notes[2]["entry"]]
    applied = {"changed": True, "vms": [
        {"vm": {"name": "a"}, "changed": True},
        {"vm": {"name": "c"}, "changed": False, "failed": True,
         "msg": "vms[1] (c): No virtual machine named 'c' was found."}]}
    out = dict((r["host"], r) for r in vmci_firewall.results(notes, applied))
    assert (out["a"]["changed"], out["a"]["failed"], out["a"]["result"]) == (True, False, applied["vms"][0])
    assert out["b"]["bulk"] is False and out["b"]["result"]["skipped"] and not out["b"]["failed"]
    assert out["b"]["entry"] == {"name": "b", "filter_enabled": True}
    assert out["c"]["failed"] and out["c"]["msg"] == "No virtual machine named 'c' was found."
    assert out["d"]["failed"] and "vmci_firewall_profile must be one of" in out["d"]["msg"]
    # the skipped configuration task of a VM of bulk mode registers over vmci_firewall_result: set again
    assert [r["host"] for r in out.values() if r["reset_result"]] == ["a"]


def test_a_bulk_run_that_failed_as_a_whole_fails_its_vms():
    notes = [note("a", vmci_firewall_bulk=True), note("b")]
    out = vmci_firewall.results(notes, {"failed": True, "msg": "vms[0] (a): moid 'x y' is not a managed object ID"})
    assert out[0]["failed"] and out[0]["msg"] == "vmci_firewall_vm_moid 'x y' is not a managed object ID"
    assert not out[1]["failed"]
    # skipped (no VM of bulk mode)
    assert [r["failed"] for r in vmci_firewall.results([note("b")], {"skipped": True, "changed": False})] == [False]
