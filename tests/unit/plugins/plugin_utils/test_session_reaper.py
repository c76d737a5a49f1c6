"""session_reaper: how it tells that the run is gone, how it ends the stored sessions (a fake client
records the logouts), its loop, its idle last resort, and a worker ending with its parent. The
killed runs themselves are in tests/integration/execution/test_killed_run.py."""
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid

import pytest
from ansible_collections.vmchannels.vsphere.plugins.plugin_utils import session_reaper

LINUX = sys.platform.startswith("linux")


class FakeClient(object):
    """Records ``end_session`` calls (and the TLS environment each saw) in ``FakeClient.ended``."""

    ended = []
    fail = False

    def __init__(self, hostname, username, password, port, validate_certs, proxy_host, proxy_port, timeout):
        assert password is None
        self.hostname, self.timeout = hostname, timeout

    def end_session(self, cookie, session_manager):
        FakeClient.ended.append((self.hostname, cookie, session_manager, os.environ.get("REQUESTS_CA_BUNDLE")))
        if FakeClient.fail:
            raise OSError("refused")


@pytest.fixture(autouse=True)
def _reset_fake():
    FakeClient.ended, FakeClient.fail = [], False


def _store(directory, *cookies):
    os.makedirs(str(directory), mode=0o700)
    for number, cookie in enumerate(cookies):
        record = dict(hostname="vc%d" % number, port=443, username="u", validate_certs=False, proxy_host=None,
                      proxy_port=None, session_manager="SessionManager", cookie=cookie,
                      REQUESTS_CA_BUNDLE="/ca-%d.pem" % number, SSL_CERT_FILE=None)
        (directory / ("key%d.json" % number)).write_text(json.dumps(record))
        (directory / ("key%d.json.lock" % number)).write_text("")
        (directory / ("key%d.vm-name-index.memo" % number)).write_text("[]")
        (directory / ("key%d.json.refused" % number)).write_text("{}")
    return directory


def _sleeper(seconds=60):
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(%d)" % seconds])


# -- is the run still there? ------------------------------------------------------------------------
def test_a_running_process_is_alive_and_an_ended_one_is_not():
    proc = _sleeper()
    start = session_reaper.process_start(proc.pid)
    assert session_reaper.is_alive(proc.pid, start)
    assert session_reaper.is_alive(os.getpid(), session_reaper.process_start(os.getpid()))
    proc.kill()
    proc.wait()
    assert not session_reaper.is_alive(proc.pid, start)


@pytest.mark.skipif(not LINUX, reason="/proc")
def test_a_zombie_and_a_reused_pid_are_not_the_run():
    proc = _sleeper()
    start = session_reaper.process_start(proc.pid)
    assert start
    # another process that got the same pid started at another time
    assert not session_reaper.is_alive(proc.pid, str(int(start) - 1))
    proc.kill()
    time.sleep(0.3)  # killed, not reaped: a zombie, which still answers kill(pid, 0)
    os.kill(proc.pid, 0)
    assert not session_reaper.is_alive(proc.pid, start)
    proc.wait()


@pytest.mark.skipif(not LINUX, reason="/proc")
def test_has_children_sees_a_running_child_only():
    parent = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import subprocess, sys, time
        child = subprocess.Popen(["sleep", "30"])
        sys.stdout.write("ready\\n"); sys.stdout.flush()
        sys.stdin.readline()
        child.kill(); child.wait()
        sys.stdout.write("reaped\\n"); sys.stdout.flush()
        time.sleep(30)
    """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout.readline() == "ready\n"
        assert session_reaper.has_children(parent.pid)
        parent.stdin.write("go\n")
        parent.stdin.flush()
        assert parent.stdout.readline() == "reaped\n"
        assert not session_reaper.has_children(parent.pid)
    finally:
        parent.kill()
        parent.wait()


# -- ending the sessions ----------------------------------------------------------------------------
def test_end_sessions_logs_each_out_with_its_own_tls_settings_and_deletes_every_file(tmp_path, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/mine.pem")
    store = _store(tmp_path / "s", "cookie-a", "cookie-b")
    assert session_reaper.end_sessions(str(store), FakeClient) == 2
    assert FakeClient.ended == [("vc0", "cookie-a", "SessionManager", "/ca-0.pem"),
                                ("vc1", "cookie-b", "SessionManager", "/ca-1.pem")]
    assert os.environ["REQUESTS_CA_BUNDLE"] == "/mine.pem"
    # the locks stay (a worker may hold one); the store's directory goes with the run
    assert sorted(os.listdir(str(store))) == ["key0.json.lock", "key1.json.lock"]


def test_a_refused_logout_still_deletes_the_cookie(tmp_path):
    FakeClient.fail = True
    store = _store(tmp_path / "s", "cookie-a")
    assert session_reaper.end_sessions(str(store), FakeClient) == 0
    assert len(FakeClient.ended) == 1
    assert not [n for n in os.listdir(str(store)) if n.endswith(".json")]


def test_past_the_deadline_cookies_are_deleted_without_logging_out(tmp_path):
    store = _store(tmp_path / "s", "cookie-a")
    assert session_reaper.end_sessions(str(store), FakeClient, deadline=time.monotonic()) == 0
    assert FakeClient.ended == [] and not [n for n in os.listdir(str(store)) if n.endswith(".json")]


def test_without_pyvmomi_the_cookies_are_deleted_all_the_same(tmp_path):
    store = _store(tmp_path / "s", "cookie-a")
    assert session_reaper.end_sessions(str(store), session_reaper._client_class((str(tmp_path / "missing.py"), "missing"))) == 0
    assert [n for n in os.listdir(str(store)) if not n.endswith(".lock")] == []


def test_a_lock_held_by_a_worker_delays_the_end_until_the_deadline_only(tmp_path):
    import fcntl

    store = _store(tmp_path / "s", "cookie-a")
    holder = os.open(str(store / "key0.json.lock"), os.O_RDWR)
    fcntl.flock(holder, fcntl.LOCK_EX)  # a worker of the killed run inside a login that hangs
    try:
        started = time.monotonic()
        session_reaper.end_sessions(str(store), FakeClient, deadline=started + 1)
        assert 0.9 < time.monotonic() - started < 3
        assert not [n for n in os.listdir(str(store)) if n.endswith(".json")]
    finally:
        os.close(holder)


def test_reap_takes_the_store_away_and_removes_it_with_the_empty_run_directory(tmp_path):
    run_dir = tmp_path / "ansible-local-1"
    store = _store(run_dir / "vmchannels-sessions", "cookie-a")
    assert session_reaper.reap(str(store), FakeClient) == 1
    assert not run_dir.exists() and list(tmp_path.iterdir()) == []
    # a run directory that holds something else stays, the store does not
    store = _store(run_dir / "vmchannels-sessions", "cookie-b")
    (run_dir / "other").write_text("")
    session_reaper.reap(str(store), FakeClient)
    assert os.listdir(str(run_dir)) == ["other"]
    # no store: nothing to do
    assert session_reaper.reap(str(store), FakeClient) == 0


def test_the_reaper_environment_has_no_secret(monkeypatch):
    monkeypatch.setenv("VMWARE_PASSWORD", "s3cret")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.setenv("VMWARE_HOST", "vc")
    env = session_reaper._environment()
    assert "VMWARE_PASSWORD" not in env and "AWS_SECRET_ACCESS_KEY" not in env and env["VMWARE_HOST"] == "vc"


# -- the loop -------------------------------------------------------------------------------------
@pytest.fixture
def client_file(tmp_path):
    """A stand-in for module_utils/vsphere/client.py that the reaper imports by its module name from
    its collection path: logs ends to a file. ``((file, module name), log)``; a package of its own per
    test, so that no test finds another's module already imported."""
    log = tmp_path / "ended.log"
    package = "fake_collection_%s" % uuid.uuid4().hex
    (tmp_path / "collection" / package).mkdir(parents=True)
    path = tmp_path / "collection" / package / "fake_client.py"
    path.write_text(textwrap.dedent("""
        class VSphereClient(object):
            def __init__(self, **kwargs):
                self.hostname = kwargs["hostname"]
            def end_session(self, cookie, session_manager):
                with open(%r, "a") as handle:
                    handle.write(cookie + "\\n")
    """ % str(log)))
    return (str(path), package + ".fake_client"), log


def _watch_in_thread(store, proc, client, **kwargs):
    thread = threading.Thread(target=session_reaper.watch, daemon=True,
                              args=(str(store), proc.pid, session_reaper.process_start(proc.pid), client),
                              kwargs=dict(poll=0.1, **kwargs))
    thread.start()
    return thread


def test_watch_ends_the_sessions_as_soon_as_the_run_is_gone(tmp_path, client_file):
    client, log = client_file
    store = _store(tmp_path / "run" / "vmchannels-sessions", "cookie-a", "cookie-b")
    proc = _sleeper()
    thread = _watch_in_thread(store, proc, client)
    time.sleep(0.5)
    assert thread.is_alive() and not log.exists()
    proc.kill()
    killed = time.monotonic()
    thread.join(10)
    proc.wait()
    assert not thread.is_alive() and time.monotonic() - killed < 2
    assert log.read_text().split() == ["cookie-a", "cookie-b"]
    assert not (tmp_path / "run").exists()


def test_watch_returns_when_the_run_removed_its_store_itself(tmp_path, client_file):
    client, log = client_file
    store = _store(tmp_path / "s", "cookie-a")
    proc = _sleeper()
    try:
        thread = _watch_in_thread(store, proc, client)
        time.sleep(0.3)
        session_reaper.end_sessions(str(store), FakeClient)  # what the run does at its end
        shutil.rmtree(str(store))
        thread.join(5)
        assert not thread.is_alive() and not log.exists()
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.skipif(not LINUX, reason="/proc")
def test_idle_last_resort_ends_the_sessions_of_a_live_run_that_runs_no_task(tmp_path, client_file):
    client, log = client_file
    store = _store(tmp_path / "s", "cookie-a")
    old = time.time() - 10
    os.utime(str(store), (old, old))
    proc = _sleeper()
    try:
        thread = _watch_in_thread(store, proc, client, idle_timeout=1)
        deadline = time.monotonic() + 5
        while not log.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert log.read_text().split() == ["cookie-a"]
        # the run goes on: its store stays (a later task logs in again), the reaper keeps watching
        assert store.is_dir() and thread.is_alive()
    finally:
        proc.kill()
        proc.wait()
    thread.join(5)
    assert not thread.is_alive() and not store.exists()


@pytest.mark.skipif(not LINUX, reason="/proc")
def test_idle_last_resort_waits_while_a_task_runs(tmp_path, client_file):
    """A worker (a child of the main process) may be inside a long task using the session."""
    client, log = client_file
    store = _store(tmp_path / "s", "cookie-a")
    old = time.time() - 10
    os.utime(str(store), (old, old))
    proc = subprocess.Popen([sys.executable, "-c", "import subprocess; subprocess.run(['sleep', '60'])"])
    try:
        deadline = time.monotonic() + 5
        while not session_reaper.has_children(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        thread = _watch_in_thread(store, proc, client, idle_timeout=1)
        time.sleep(2.5)
        assert not log.exists() and thread.is_alive()
    finally:
        proc.kill()
        proc.wait()
    thread.join(5)
    assert log.read_text().split() == ["cookie-a"]


# -- a worker ends with its parent ------------------------------------------------------------------
@pytest.mark.skipif(not LINUX, reason="PR_SET_PDEATHSIG")
def test_a_bound_worker_is_terminated_when_its_parent_dies(tmp_path):
    parent = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import os, sys, time
        sys.path[:0] = %r
        from ansible_collections.vmchannels.vsphere.plugins.plugin_utils import session_reaper
        parent = os.getpid()
        child = os.fork()
        if child == 0:
            bound = session_reaper.die_with_parent(parent)
            print("bound" if bound else "unbound", os.getpid(), flush=True)
            time.sleep(60)
            os._exit(0)
        time.sleep(60)
    """ % sys.path)], stdout=subprocess.PIPE, text=True)
    try:
        word, pid = parent.stdout.readline().split()
        assert word == "bound"
        start = session_reaper.process_start(int(pid))
        assert session_reaper.is_alive(int(pid), start)
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 5
    while session_reaper.is_alive(int(pid), start) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not session_reaper.is_alive(int(pid), start)


def test_die_with_parent_does_nothing_in_a_process_that_is_not_the_child():
    assert session_reaper.die_with_parent(os.getpid()) is False


# -- the real process -------------------------------------------------------------------------------
def _main_with_reaper(store, client, extra_path=()):
    """A stand-in for ansible-playbook: starts the reaper of ``store``, then waits to be killed."""
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import sys, time
        sys.path[:0] = %r
        from ansible_collections.vmchannels.vsphere.plugins.plugin_utils import session_reaper
        session_reaper.start(%r, %r, %r)
        print("started", flush=True)
        time.sleep(60)
    """ % (list(extra_path) + sys.path, str(store), client[0], client[1]))], stdout=subprocess.PIPE, text=True,
        env=dict(os.environ, VMWARE_PASSWORD="s3cret"))


def _reaper_of(store):
    for name in os.listdir("/proc"):
        try:
            with open("/proc/%s/cmdline" % name, "rb") as handle:
                if ("--store\0%s\0" % store).encode() in handle.read():
                    return int(name)
        except OSError:
            continue
    return None


def _wait(condition, timeout=15):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


@pytest.mark.skipif(not LINUX, reason="/proc")
def test_the_reaper_is_detached_holds_nothing_of_the_run_and_ends_the_sessions_when_it_is_killed(tmp_path, client_file):
    client, log = client_file
    store = _store(tmp_path / "run" / "s", "cookie-a")
    main = _main_with_reaper(store, client)
    try:
        assert main.stdout.readline() == "started\n"
        reaper = _reaper_of(store)
        assert reaper and session_reaper.is_alive(reaper, session_reaper.process_start(reaper))
        with open("/proc/%d/stat" % reaper) as handle:
            ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
        assert ppid != main.pid and os.getsid(reaper) not in (os.getsid(main.pid), os.getsid(0))
        descriptors = dict((fd, os.readlink("/proc/%d/fd/%s" % (reaper, fd))) for fd in os.listdir("/proc/%d/fd" % reaper))
        assert descriptors == {"0": "/dev/null", "1": "/dev/null", "2": "/dev/null"}
        with open("/proc/%d/environ" % reaper, "rb") as handle:
            assert b"s3cret" not in handle.read()
        assert os.readlink("/proc/%d/cwd" % reaper) == "/"
        assert not log.exists()
    finally:
        main.kill()
        main.wait()
    assert _wait(lambda: log.exists() and _reaper_of(store) is None)
    assert log.read_text().split() == ["cookie-a"] and not (tmp_path / "run").exists()


@pytest.mark.skipif(not LINUX, reason="/proc")
def test_a_reaper_sent_sigterm_ends_the_sessions_and_leaves_the_live_run_its_store(tmp_path, client_file):
    client, log = client_file
    store = _store(tmp_path / "s", "cookie-a")
    main = _main_with_reaper(store, client)
    try:
        assert main.stdout.readline() == "started\n"
        reaper = _reaper_of(store)
        os.kill(reaper, signal.SIGTERM)
        assert _wait(lambda: _reaper_of(store) is None)
        assert log.read_text().split() == ["cookie-a"] and store.is_dir()
    finally:
        main.kill()
        main.wait()


@pytest.mark.skipif(not LINUX, reason="/proc")
def test_the_reaper_finds_pyvmomi_where_the_run_found_it(tmp_path):
    """The reaper runs isolated (-I: no PYTHONPATH); what the run imports from its sys.path (pyVmomi
    installed through PYTHONPATH, say) the reaper's logout imports too."""
    libs = tmp_path / "libs"
    libs.mkdir()
    log = tmp_path / "ended.log"
    (libs / "reaper_probe_dependency.py").write_text("LOG = %r\n" % str(log))
    client = tmp_path / "client_with_dependency.py"
    client.write_text(textwrap.dedent("""
        import reaper_probe_dependency
        class VSphereClient(object):
            def __init__(self, **kwargs):
                pass
            def end_session(self, cookie, session_manager):
                with open(reaper_probe_dependency.LOG, "a") as handle:
                    handle.write(cookie + "\\n")
    """))
    store = _store(tmp_path / "s", "cookie-a")
    main = _main_with_reaper(store, (str(client), "client_with_dependency"), extra_path=[str(libs)])
    try:
        assert main.stdout.readline() == "started\n"
    finally:
        main.kill()
        main.wait()
    assert _wait(lambda: log.exists() and _reaper_of(store) is None)
    assert log.read_text().split() == ["cookie-a"]


def test_the_client_module_is_imported_from_the_collection_path_it_was_found_in(tmp_path):
    module = tmp_path / "ansible_collections" / "ns" / "coll" / "plugins" / "module_utils" / "client.py"
    module.parent.mkdir(parents=True)
    module.write_text("class VSphereClient(object):\n    pass\n")
    name = "ansible_collections.ns.coll.plugins.module_utils.client"
    assert session_reaper.collection_root(str(module), name) == str(tmp_path)
    with pytest.raises(ValueError):  # the file is not where the name says (a copy, a wrong name)
        session_reaper.collection_root(str(module), "ansible_collections.ns.other.plugins.module_utils.client")
    with pytest.raises(ValueError):  # deeper than the file is
        session_reaper.collection_root(str(module), "x.y.z.ansible_collections.ns.coll.plugins.module_utils.client")
