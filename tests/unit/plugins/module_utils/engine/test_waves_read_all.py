"""waves.read_all: a read that fails because VMs no longer exist is narrowed down by halves (pure
logic; the read itself is replaced by a stand-in that fails as vCenter does, whole)."""
import pytest
from ansible_collections.vmchannels.vsphere.plugins.module_utils.engine import waves
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.errors import VSphereError


class Ref(object):
    def __init__(self, moid):
        self._moId = moid


@pytest.fixture
def reads(monkeypatch):
    calls = []

    def fake_read(client, refs, **options):
        calls.append([r._moId for r in refs])
        if any(r._moId in client for r in refs):  # the "client" is the set of deleted moids
            raise VSphereError("gone", kind="not_found")
        return dict((r._moId, "props of %s" % r._moId) for r in refs)

    monkeypatch.setattr(waves, "read_vms_properties", fake_read)
    return calls


@pytest.mark.parametrize("gone", [set(), {"vm-7"}, {"vm-0", "vm-999"}, {"vm-3", "vm-4", "vm-500"}])
def test_missing_vms_are_told_apart_in_few_reads(reads, gone):
    refs = [Ref("vm-%d" % i) for i in range(1000)]
    found, missing = waves.read_all(gone, refs)
    assert sorted(missing) == sorted(gone)
    assert all(isinstance(e, VSphereError) and e.kind == "not_found" for e in missing.values())
    assert sorted(found) == sorted(r._moId for r in refs if r._moId not in gone)
    # one read when nothing is missing; otherwise about 2 log2(1000) = 20 per missing VM, not 1,000
    assert len(reads) <= 1 + 2 * 10 * len(gone)


def test_other_errors_are_raised(monkeypatch):
    def failing(client, refs, **options):
        raise VSphereError("denied", kind="permission")

    monkeypatch.setattr(waves, "read_vms_properties", failing)
    with pytest.raises(VSphereError):
        waves.read_all(None, [Ref("vm-1"), Ref("vm-2")])
