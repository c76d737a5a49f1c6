# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One vSphere session per Ansible run, shared by its tasks across forks (controller only).

The tasks of a run that talk to the same vCenter through the same connection settings as the same
user with the same password use one login. The session cookie lives only in the run's private
temporary directory (ansible-core's ``DEFAULT_LOCAL_TMP``, mode 0700, removed when the run ends), in
a 0600 file named by a keyed hash (HMAC-SHA256 with a secret that exists only in the run's memory)
of the connection key (:meth:`SessionStore.entry`). Neither the password nor the cookie is ever
written anywhere else, displayed or returned. A login vCenter refused to the account is kept
under the same key and raised again by every later task of the run instead of another ``Login``
(an account lockout otherwise).

Workers are forked from the main ``ansible-playbook`` process; a file lock per entry makes the
first worker log in while the others wait for its cookie, so parallel forks share one login too.
The main process logs every stored session out when it exits (``atexit``). A run that is killed
(``SIGTERM``, ``SIGHUP``, ``SIGKILL``, its process group killed by AWX) cannot: :func:`prepare`
also starts the run's reaper (:mod:`.session_reaper`), a detached process that logs the sessions
out and removes the store within about a second of the main process's end, however it ended, and
each worker running one of our tasks ends with the main process (:func:`bind_worker`), so no task
of a killed run goes on. Its last resort: sessions of a run that runs no task and has not used the
store for 30 minutes are logged out and their cookies deleted (a later task logs in again).

Beside a session, its tasks keep what one of them learnt that the next ones can use without
asking again (:meth:`SessionEntry.recall`, :meth:`SessionEntry.remember`): the VM name index of
``module_utils/vsphere/inventory.py``, which every use checks against vCenter. Same files, same modes,
removed with the sessions.

:func:`prepare` runs where the action plugins are first imported: ansible-core's linear and free
strategies import them in the main process before forking workers. A worker whose parent did not
prepare the store gets no store (:func:`store_for_task` is ``None``) and its module logs in and
out by itself, as a module shipped to its interpreter does.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import atexit
import fcntl
import hashlib
import hmac
import json
import multiprocessing
import os
import shutil
import sys
from contextlib import contextmanager

from ansible import constants as C
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.client import VSphereClient
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.errors import VSphereError
from ansible_collections.vmchannels.vsphere.plugins.plugin_utils import session_reaper

#: The environment variables that choose the certificate authorities of a TLS connection: the
#: logout at the end of the run uses the values the login saw.
_TLS_ENVIRONMENT = session_reaper.TLS_ENVIRONMENT
_LOGOUT_TIMEOUT = 15

_store = None
_store_pid = None


#: Added to the message of a refused login when the run remembers it.
REFUSAL_REMEMBERED = (
    " The other tasks of this run that log in to %s as %s fail with this message without sending a login: "
    "every failed login counts toward a lockout (vCenter's single sign-on locks an account after 5 failed "
    "logins in 180 seconds by default), so retrying from every task would lock the account out for "
    "everything that uses it."
)


def _write_private(path, value):
    """Write ``value`` as JSON to a 0600 file: whole, then renamed, so that a reader (another
    worker) sees the old content or the new one."""
    partial = "%s.%d.new" % (path, os.getpid())
    fd = os.open(partial, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(value, handle, separators=(",", ":"))
    os.replace(partial, path)


class SessionEntry(object):
    """The shared session of one connection key (:meth:`SessionStore.entry`) in the run's store."""

    def __init__(self, path, record):
        self.path = path
        self._record = record

    @contextmanager
    def _locked(self):
        fd = os.open(self.path + ".lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def _cookie(self):
        try:
            with open(self.path) as handle:
                return json.load(handle).get("cookie")
        except (OSError, ValueError):
            return None

    def _store(self, cookie):
        record = dict(self._record, cookie=cookie)
        record.update((name, os.environ.get(name)) for name in _TLS_ENVIRONMENT)
        _write_private(self.path, record)

    def _raise_if_refused(self):
        """Raise the refusal of a login this entry's account met earlier in the run, if any."""
        try:
            with open(self.path + ".refused") as handle:
                msg = json.load(handle).get("msg")
        except (OSError, ValueError):
            return
        raise VSphereError(msg, kind="login")

    def _logged_in(self, login):
        """``login()``; a refusal of the account itself (a :class:`VSphereError` of kind ``login``:
        wrong password, locked or expired account; not a network failure) is remembered for the
        run and raised with a message that says so."""
        try:
            return login()
        except VSphereError as exc:
            if exc.kind != "login":
                raise
            msg = exc.msg + REFUSAL_REMEMBERED % ("%s:%s" % (self._record["hostname"], self._record["port"]),
                                                  self._record["username"])
            _write_private(self.path + ".refused", dict(msg=msg))
            raise VSphereError(msg, kind="login", fault=exc.fault)

    def checkout(self, login):
        """``(cookie, True)`` for the stored session, else ``(login(), False)`` after storing it.

        A login refused to this account earlier in the run (wrong password, locked or expired
        account) is not tried again: the :class:`VSphereError` of the first refusal is raised."""
        with self._locked():
            self._raise_if_refused()
            cookie = self._cookie()
            if cookie:
                return cookie, True
            cookie = self._logged_in(login)
            self._store(cookie)
            return cookie, False

    def renew(self, stale_cookie, login):
        """The session to use instead of ``stale_cookie``, which vCenter no longer accepts: the
        one another worker stored meanwhile, or a new login (never after a refused one)."""
        with self._locked():
            self._raise_if_refused()
            cookie = self._cookie()
            if cookie and cookie != stale_cookie:
                return cookie
            cookie = self._logged_in(login)
            self._store(cookie)
            return cookie

    # -- what the run's tasks learnt through this session ------------------------------------
    def _memo_path(self, name):
        return "%s.%s.memo" % (self.path[:-len(".json")], name)

    def recall(self, name):
        """What a task of the run remembered under ``name`` (:meth:`remember`), else ``None``."""
        try:
            with open(self._memo_path(name)) as handle:
                return json.load(handle)
        except (OSError, ValueError):
            return None

    def remember(self, name, value):
        """Keep ``value`` (JSON data, no secret) for the later tasks of the run on this session:
        written whole, then renamed, so a reader sees the old value or the new one."""
        _write_private(self._memo_path(name), value)


class SessionStore(object):
    """The shared sessions of one run, in ``directory`` (created 0700)."""

    def __init__(self, directory, secret=None):
        self.directory = directory
        self._secret = secret or os.urandom(32)
        os.makedirs(directory, mode=0o700, exist_ok=True)
        os.chmod(directory, 0o700)

    def entry(self, hostname, port, username, password, validate_certs, proxy_host, proxy_port, session_manager):
        """The entry of one connection key: every setting that decides where the requests go and how
        the server is trusted (host, port, proxy, certificate validation and the CA bundle of the
        environment) and who logs in (user, password). Named by a keyed hash of all of them."""
        trust = [os.environ.get(name) for name in _TLS_ENVIRONMENT] if validate_certs else None
        identity = json.dumps([hostname, port, username, password, bool(validate_certs), proxy_host, proxy_port,
                               trust]).encode("utf-8")
        name = hmac.new(self._secret, identity, hashlib.sha256).hexdigest()
        record = dict(hostname=hostname, port=port, username=username, validate_certs=validate_certs,
                      proxy_host=proxy_host, proxy_port=proxy_port, session_manager=session_manager)
        return SessionEntry(os.path.join(self.directory, name + ".json"), record)

    def end_all(self):
        """Log out every stored session (best effort: an ended one needs nothing) and delete what
        the sessions kept. Returns how many logouts vCenter accepted."""
        return session_reaper.end_sessions(self.directory, VSphereClient, timeout=_LOGOUT_TIMEOUT)


def prepare():
    """Create the run's store in this (the main) process, log its sessions out at exit, and start
    the reaper that does it if this process is killed (:mod:`.session_reaper`). Without a reaper
    (it could not start) the store is not used: the tasks log in and out themselves."""
    global _store, _store_pid
    if _store is not None or _store_pid is not None:
        return
    if multiprocessing.parent_process() is not None:
        # an Ansible worker (a strategy that imports the action plugins there): its store would
        # serve no task (store_for_task), so it gets none, and no reaper
        return
    _store_pid = os.getpid()
    store = SessionStore(os.path.join(C.DEFAULT_LOCAL_TMP, "vmchannels-sessions"))
    atexit.register(_end_run)
    try:
        session_reaper.start(store.directory, sys.modules[VSphereClient.__module__].__file__,
                             VSphereClient.__module__)
    except Exception:  # no reaper (no interpreter to start, no process left): no shared sessions
        shutil.rmtree(store.directory, ignore_errors=True)
        return
    _store = store


def store_for_task():
    """The run's store for a task running in a worker forked from the process that prepared it.
    Each call marks the store as in use (the reaper's idle last resort)."""
    if _store is not None and os.getppid() == _store_pid:
        try:
            os.utime(_store.directory)
        except OSError:
            return None  # the reaper ended the run's sessions: the run is over
        return _store
    return None


def bind_worker():
    """In a worker of the run: end with the main process (:func:`.session_reaper.die_with_parent`),
    so that no task of a killed run goes on."""
    if _store_pid is not None and os.getpid() != _store_pid:
        session_reaper.die_with_parent(_store_pid)


def _end_run():
    if _store is not None and os.getpid() == _store_pid:
        _store.end_all()
        shutil.rmtree(_store.directory, ignore_errors=True)
