"""Error messages for faults the simulator cannot produce (vcsim 0.24.2 speaks vSphere 6.5):
an expired password at login (vim.fault.PasswordExpired, vSphere 7+). Pure: no server; login is
driven through a stand-in for pyVmomi's stub, the only place a unit test replaces pyVmomi here.
The translation of faults raised in the middle of a run is in test_errors.py."""
import pytest
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere import client as client_module
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.client import VSphereClient
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.errors import VSphereError
from pyVmomi import vim, vmodl

PASSWORD = "Unit-Secret-Pw-31"


class _SessionManager(object):
    def __init__(self, fault):
        self.fault = fault

    def Login(self, *args):
        raise self.fault


class _Content(object):
    def __init__(self, fault):
        self.sessionManager = _SessionManager(fault)


class _ServiceInstance(object):
    fault = None

    def __init__(self, *args):
        pass

    def RetrieveContent(self):
        return _Content(self.fault)


@pytest.mark.parametrize("fault,kind,fragments", [
    (vim.fault.PasswordExpired(), "login", ["password has expired", "VMWARE_PASSWORD"]),
    (vim.fault.InvalidLogin(), "login", ["user name or password is incorrect"]),
    (vim.fault.NoPermission(privilegeId="System.Anonymous"), "permission", ["System.Anonymous"]),
    (vmodl.fault.SystemError(msg="SSO unavailable for %s" % PASSWORD), "login", ["SSO unavailable", "********"]),
])
def test_login_faults(monkeypatch, fault, kind, fragments):
    monkeypatch.setattr(client_module, "SmartStubAdapter", lambda **kwargs: object())
    monkeypatch.setattr(client_module.vim, "ServiceInstance", type("SI", (_ServiceInstance,), {"fault": fault}))
    client = VSphereClient("vc.example.com", "admin@vsphere.local", PASSWORD, validate_certs=False)
    with pytest.raises(VSphereError) as err:
        client.connect()
    assert err.value.kind == kind
    for fragment in fragments:
        assert fragment in err.value.msg
    assert "vc.example.com:443" in err.value.msg or kind == "permission"
    assert PASSWORD not in err.value.msg
