"""The run's shared session (plugins/plugin_utils/sessions.py, the renewal in module_utils/vsphere/client.py):
what its key holds, a refused login remembered for the run, a renewal whose own login is refused, and
the store itself: one login, private files without the password, one renewal of a stale session, the
store only in a worker of the preparing process."""
import json
import os
import stat
import threading

import pytest
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.client import VSphereClient
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.errors import VSphereError
from ansible_collections.vmchannels.vsphere.plugins.plugin_utils import sessions
from pyVmomi import vim

CONNECTION = dict(hostname="vc.example.com", port=443, username="svc-ansible@vsphere.local", password="secret-1",
                  validate_certs=True, proxy_host=None, proxy_port=None, session_manager="SessionManager")


def _entry(store, **changes):
    return store.entry(**dict(CONNECTION, **changes))


@pytest.fixture
def store(tmp_path, monkeypatch):
    for name in sessions._TLS_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    return sessions.SessionStore(str(tmp_path / "s"))


@pytest.mark.parametrize("changes", [
    {"hostname": "vc2.example.com"}, {"port": 8443}, {"username": "other@vsphere.local"}, {"password": "secret-2"},
    {"proxy_host": "proxy-a.example.com"}, {"proxy_port": 3128}, {"validate_certs": False},
], ids=lambda changes: next(iter(changes)))
def test_every_setting_that_decides_where_requests_go_and_how_they_are_trusted_is_in_the_key(store, changes):
    assert _entry(store).path == _entry(store, **dict(CONNECTION)).path
    assert _entry(store, **changes).path != _entry(store).path


def test_two_proxies_to_vcenters_of_the_same_name_do_not_share_a_session(store):
    one = _entry(store, proxy_host="proxy-a.example.com", proxy_port=3128)
    other = _entry(store, proxy_host="proxy-b.example.com", proxy_port=3128)
    one.checkout(lambda: "cookie-a")
    assert other.checkout(lambda: "cookie-b") == ("cookie-b", False)


@pytest.mark.parametrize("variable", sessions._TLS_ENVIRONMENT)
def test_the_ca_bundle_is_in_the_key_when_certificates_are_validated(store, monkeypatch, variable):
    before = _entry(store).path
    monkeypatch.setenv(variable, "/etc/pki/other-ca.pem")
    assert _entry(store).path != before
    # without validation, no CA bundle is consulted: it does not split the sessions
    assert _entry(store, validate_certs=False).path == _entry(store, validate_certs=False).path


def _refusing_login(calls, kind="login"):
    def login():
        calls.append(1)
        raise VSphereError("Cannot log in to vc.example.com:443 as svc-ansible@vsphere.local: the user name or "
                           "password is incorrect (or the account is locked or expired).", kind=kind)
    return login


def test_a_refused_login_is_remembered_for_the_run_and_never_sent_again(store):
    calls = []
    with pytest.raises(VSphereError) as first:
        _entry(store).checkout(_refusing_login(calls))
    assert first.value.kind == "login"
    assert "the user name or password is incorrect" in first.value.msg
    assert "fail with this message without sending a login" in first.value.msg
    assert "vc.example.com:443 as svc-ansible@vsphere.local" in first.value.msg.split("incorrect")[1]
    # every later task of the run (another worker opens its own entry object) fails the same way
    for dummy in range(3):
        with pytest.raises(VSphereError) as later:
            _entry(store).checkout(_refusing_login(calls))
        assert later.value.msg == first.value.msg and later.value.kind == "login"
    with pytest.raises(VSphereError) as renewal:
        _entry(store).renew("cookie-0", _refusing_login(calls))
    assert renewal.value.msg == first.value.msg
    assert len(calls) == 1
    # the memory holds no secret and is removed with the run's sessions
    remembered = [name for name in os.listdir(store.directory) if name.endswith(".refused")]
    assert len(remembered) == 1
    with open(os.path.join(store.directory, remembered[0])) as handle:
        assert "secret-1" not in handle.read()
    store.end_all()
    assert not [name for name in os.listdir(store.directory) if name.endswith(".refused")]


def test_a_corrected_password_is_another_key_and_logs_in(store):
    with pytest.raises(VSphereError):
        _entry(store).checkout(_refusing_login([]))
    assert _entry(store, password="secret-2").checkout(lambda: "cookie-1") == ("cookie-1", False)


def test_a_network_failure_is_not_remembered(store):
    calls = []
    with pytest.raises(VSphereError):
        _entry(store).checkout(_refusing_login(calls, kind="connection"))
    assert _entry(store).checkout(lambda: "cookie-1") == ("cookie-1", False)
    assert len(calls) == 1


class _Stub(object):
    """A SOAP stub whose every call is refused NotAuthenticated (a session that ended, and a
    renewal whose Login is refused the same way)."""

    def __init__(self):
        self.cookie = "vmware_soap_session=\"old\""
        self.sent = []

    def InvokeMethod(self, mo, info, args):  # pylint: disable=invalid-name
        self.sent.append(getattr(info, "wsdlName", info))
        raise vim.fault.NotAuthenticated()


def test_a_renewal_whose_login_is_refused_ends_the_task_instead_of_deadlocking(store):
    """The renewal logs in through the same stub; a NotAuthenticated from that Login must not try
    to renew again while the first renewal holds the lock (it would wait for itself forever)."""
    stub = _Stub()
    client = VSphereClient("vc.example.com", "svc-ansible@vsphere.local", "secret-1")
    client.shared_sessions = store
    client.si = type("SI", (), {"_stub": stub})()
    client.content = type("Content", (), {"sessionManager": vim.SessionManager("SessionManager", stub)})()
    _entry(store).checkout(lambda: "vmware_soap_session=\"stored\"")
    client._join_shared_session()
    assert client._reused

    outcome = []

    def call():
        try:
            stub.InvokeMethod(None, "RetrievePropertiesEx", [])
        except Exception as exc:  # pylint: disable=broad-except
            outcome.append(exc)

    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "the renewal deadlocked"
    assert len(outcome) == 1 and isinstance(outcome[0], VSphereError), outcome
    assert outcome[0].kind == "login"
    assert stub.sent == ["RetrievePropertiesEx", "Login"]
    assert json.load(open(_entry(store).path))["cookie"] == "vmware_soap_session=\"stored\""


# -- the session store ---------------------------------------------------------------------------
def _store_entry(store, password="secret-1", user="administrator@vsphere.local"):
    return store.entry(hostname="vc.example.com", port=443, username=user, password=password,
                       validate_certs=True, proxy_host=None, proxy_port=None, session_manager="SessionManager")


def test_store_keys_by_host_port_user_and_a_keyed_hash_of_the_password(tmp_path):
    store = sessions.SessionStore(str(tmp_path / "s"))
    assert _store_entry(store).path == _store_entry(store).path
    assert _store_entry(store).path != _store_entry(store, password="secret-2").path
    assert _store_entry(store).path != _store_entry(store, user="other").path
    # the name is keyed with the run's secret: another run cannot compute it from the password
    assert _store_entry(sessions.SessionStore(str(tmp_path / "t"))).path.split("/")[-1] != _store_entry(store).path.split("/")[-1]
    assert "secret-1" not in _store_entry(store).path


def test_store_logs_in_once_and_writes_private_files_without_the_password(tmp_path):
    store = sessions.SessionStore(str(tmp_path / "s"))
    logins = []

    def login():
        logins.append(1)
        return 'vmware_soap_session="cookie-%d"' % len(logins)

    cookie, reused = _store_entry(store).checkout(login)
    assert (cookie, reused) == ('vmware_soap_session="cookie-1"', False)
    assert _store_entry(store).checkout(login) == (cookie, True)
    assert len(logins) == 1
    assert stat.S_IMODE(os.stat(store.directory).st_mode) == 0o700
    path = _store_entry(store).path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path) as handle:
        text = handle.read()
    assert "secret-1" not in text
    assert json.loads(text)["cookie"] == cookie


def test_store_renews_a_stale_session_once(tmp_path):
    store = sessions.SessionStore(str(tmp_path / "s"))
    logins = []

    def login():
        logins.append(1)
        return "cookie-%d" % len(logins)

    _store_entry(store).checkout(login)
    # this worker's cookie was refused: a new login replaces it
    assert _store_entry(store).renew("cookie-1", login) == "cookie-2"
    # another worker with the same stale cookie takes the renewed one without logging in
    assert _store_entry(store).renew("cookie-1", login) == "cookie-2"
    assert len(logins) == 2


def test_store_for_task_only_in_a_worker_of_the_preparing_process(monkeypatch, tmp_path):
    store = sessions.SessionStore(str(tmp_path / "s"))
    monkeypatch.setattr(sessions, "_store", store)
    monkeypatch.setattr(sessions, "_store_pid", os.getppid())
    assert sessions.store_for_task() is store
    monkeypatch.setattr(sessions, "_store_pid", os.getpid())
    assert sessions.store_for_task() is None
