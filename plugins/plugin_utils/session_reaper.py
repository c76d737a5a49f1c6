# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reaper of a run's shared vSphere sessions: nothing of the run outlives it (controller only).

A killed ``ansible-playbook`` (``SIGTERM``, ``SIGHUP``, ``SIGKILL``, AWX killing the job's process
group) runs no ``atexit`` handler: its sessions would stay valid until vCenter's idle timeout and
their cookies would stay on disk. So :func:`start` runs, from the main process, a small process
that outlives it on purpose, the way Ansible's persistent connections run ``ansible-connection``:
a new Python (nothing of Ansible imported, no descriptor of the run inherited, standard streams on
``/dev/null``, working directory ``/``, no password in its environment), which forks once more and
starts a session of its own, so a kill of the run's process group or the hang-up of its terminal
does not reach it and the main process has no child to reap. It then:

* checks every :data:`POLL_INTERVAL` seconds that the main process still lives (its pid and, on
  Linux, its start time, so a reused pid is not mistaken for it; a zombie counts as gone);
* when it is gone, however it ended, makes the store unusable (renames the directory), logs every
  stored session out (:func:`end_sessions`: one ``Logout`` per session with the stored cookie, at
  most :data:`LOGOUT_TIMEOUT` seconds each, :data:`END_DEADLINE` seconds in all), removes the
  store's files and exits. A run that ended normally has done that itself (``atexit``): the reaper
  finds no store and exits;
* as a last resort, while the main process lives: when no task of the run has started with the
  store for :data:`IDLE_TIMEOUT` seconds (each task start, login and memo touches its directory) and
  no worker process of the run exists (no task is running, so nobody uses a session), it logs the
  sessions out and deletes their cookies; a later task logs in again. This covers a run that hangs
  or is stopped (``SIGSTOP``) between tasks: vCenter would end its sessions after its own idle
  timeout (30 minutes by default) and the cookies would stay on disk as long as the run.

The workers of a run are another way to outlive it: they survive the main process alone, and
ansible-core 2.19 and later start each in a session of its own (``setsid``), out of reach of a
kill of the run's process group; a task that waits (a guest shutdown, a vSphere task) would go on,
and act on vCenter, after its run was cancelled. :func:`die_with_parent` asks Linux to send a
worker that runs one of our tasks ``SIGTERM`` when the main process ends (``PR_SET_PDEATHSIG``);
the worker ends, and its handler (2.19+) ends its process group with it (a shipped module).

If the reaper is killed too (``SIGKILL`` to every process of the user, a lost machine), vCenter's
idle timeout is what is left. On systems without ``/proc`` and ``PR_SET_PDEATHSIG`` the main process
is watched through ``kill(pid, 0)`` alone, the idle last resort does not act and workers are not
bound to the main process.

Only the standard library is imported at the top, so that this file runs as a script; the logout
uses ``module_utils/vsphere/client.py``, imported by its module name from the collection path that
the main process gives (it and what it imports need pyVmomi, nothing of Ansible).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time

POLL_INTERVAL = 0.5
LOGOUT_TIMEOUT = 10
END_DEADLINE = 40
IDLE_TIMEOUT = 1800
#: Environment variables never handed to the reaper (it needs no credential: a logout takes the cookie).
_SECRET_WORDS = ("PASSWORD", "PASSWD", "SECRET", "TOKEN", "CREDENTIAL")
#: The environment variables that choose the certificate authorities of a TLS connection: the
#: logout uses the values the login saw (stored in the record).
TLS_ENVIRONMENT = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")
_PR_SET_PDEATHSIG = 1
_reaping = False


# -- is the run still there? ------------------------------------------------------------------------
def _proc_stat(pid):
    """``(state, ppid, start time)`` of ``pid`` from ``/proc`` (Linux), ``None`` without ``/proc``
    (another system), ``False`` when the process does not exist."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as handle:
            text = handle.read().decode("ascii", "replace")
    except (FileNotFoundError, ProcessLookupError):
        return False if os.path.isdir("/proc/self") else None
    except OSError:
        return None
    # the command name (field 2) is in parentheses and may contain anything: split after the last ")"
    fields = text[text.rindex(")") + 2:].split()
    return fields[0], int(fields[1]), fields[19]


def process_start(pid):
    """What tells this process from a later one with the same pid: its start time (Linux), else ``""``."""
    stat = _proc_stat(pid)
    return stat[2] if stat else ""


def is_alive(pid, start):
    """Whether the process ``pid`` that started at ``start`` (:func:`process_start`) still runs."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's: then not ours, unless /proc says otherwise
        pass
    stat = _proc_stat(pid)
    if stat is None:  # no /proc: the signal check is all there is
        return True
    if stat is False or stat[0] in ("Z", "X"):
        return False
    return not start or stat[2] == start


def has_children(pid):
    """Whether ``pid`` has a child process (Linux: a worker of the run is running a task). ``True``
    when it cannot be told, so that the idle last resort does not act."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return True
    for name in names:
        if name.isdigit():
            stat = _proc_stat(int(name))
            if stat and stat[1] == pid and stat[0] not in ("Z", "X"):  # a zombie runs nothing
                return True
    return False


def idle_for(directory, now=None):
    """Seconds since the store was last used (a task started with it, a session was stored)."""
    try:
        return (now or time.time()) - os.stat(directory).st_mtime
    except OSError:
        return 0.0


# -- ending the sessions ----------------------------------------------------------------------------
def collection_root(client_file, client_module):
    """The directory from which ``client_module`` (a dotted name) imports as ``client_file``: the
    collection path that holds ``ansible_collections/``. ``ValueError`` if the file is not there."""
    parts = client_module.split(".")
    root = client_file
    for dummy in parts:
        root = os.path.dirname(root)
    expected = os.path.join(root, *parts) + ".py"
    if not (os.path.exists(expected) and os.path.samefile(expected, client_file)):
        raise ValueError("%s is not the module %s under %s" % (client_file, client_module, root))
    return root


def load_client_class(client_file, client_module):
    """``VSphereClient`` of the module ``client_module`` at ``client_file``, imported from its
    collection path (plain Python imports: the collection's packages need no Ansible loader)."""
    import importlib

    root = collection_root(client_file, client_module)
    if root not in sys.path:
        sys.path.insert(0, root)
    return importlib.import_module(client_module).VSphereClient


def _set_environment(values):
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _end_one(client_class, record, timeout):
    saved = dict((name, os.environ.get(name)) for name in TLS_ENVIRONMENT)
    try:
        _set_environment(dict((name, record.get(name)) for name in TLS_ENVIRONMENT))
        client = client_class(
            hostname=record["hostname"], username=record["username"], password=None, port=record["port"],
            validate_certs=record["validate_certs"], proxy_host=record.get("proxy_host"),
            proxy_port=record.get("proxy_port"), timeout=timeout,
        )
        client.end_session(record["cookie"], record["session_manager"])
        return True
    finally:
        _set_environment(saved)


def _lock(fd, deadline):
    """Take the entry's lock; with a ``deadline``, give up waiting then (a worker of a killed run
    that holds it cannot keep the reaper past it) and go on without it."""
    if deadline is None:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return
            time.sleep(0.1)


def end_sessions(directory, client_class, deadline=None, timeout=LOGOUT_TIMEOUT):
    """Log out every session stored in ``directory`` (best effort: an ended one needs nothing) and
    delete its record, then every other file but the locks (a worker may hold one). Each record is ended under its
    entry's lock, so a worker that renews the session meanwhile waits and then logs in anew.
    Past ``deadline`` (``time.monotonic()``), or without a ``client_class`` (pyVmomi could not be
    loaded), the records are only deleted. Returns how many logouts vCenter accepted."""
    ended = 0
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return 0
    for name in names:
        if not name.endswith(".json"):
            continue
        path = os.path.join(directory, name)
        try:
            lock = os.open(path + ".lock", os.O_CREAT | os.O_RDWR, 0o600)
        except OSError:
            continue
        try:
            _lock(lock, deadline)
            try:
                with open(path) as handle:
                    record = json.load(handle)
            except (OSError, ValueError):
                continue
            left = None if deadline is None else deadline - time.monotonic()
            if client_class is not None and record.get("cookie") and (left is None or left > 1):
                try:
                    ended += bool(_end_one(client_class, record, timeout if left is None else min(timeout, left)))
                except Exception:  # the session may be gone already; there is nobody left to tell
                    pass
            try:
                os.unlink(path)
            except OSError:
                pass
        finally:
            os.close(lock)  # closing the descriptor releases the lock
    try:
        names = os.listdir(directory)
    except OSError:
        names = []
    for name in names:  # what the sessions kept (memos, a remembered refusal): all but the locks
        if not name.endswith(".lock"):
            try:
                os.unlink(os.path.join(directory, name))
            except OSError:
                pass
    return ended


def _remove_store(directory):
    """Remove the store's directory, and the run's temporary directory above it when nothing else
    is left in it (Ansible removes it at a normal end; a killed run cannot)."""
    shutil.rmtree(directory, ignore_errors=True)
    try:
        os.rmdir(os.path.dirname(directory))
    except OSError:
        pass


def reap(directory, client_class):
    """End the sessions of a run that is gone: take the store away from any process of the run
    that still lives (a renewal then fails instead of logging in), log out, remove the files."""
    global _reaping
    _reaping = True  # a SIGTERM now would only cut the logouts short: it is ignored
    ending = "%s.ending-%d" % (directory, os.getpid())
    try:
        os.rename(directory, ending)
    except OSError:
        return 0  # no store: the run ended its sessions itself
    try:
        return end_sessions(ending, client_class, deadline=time.monotonic() + END_DEADLINE)
    finally:
        _remove_store(ending)


def watch(directory, pid, start, client, poll=POLL_INTERVAL, idle_timeout=IDLE_TIMEOUT):
    """The reaper's loop (see the module docstring). Returns when the run is gone and its sessions
    are ended, or when the run removed its store itself."""
    next_idle_check = time.monotonic() + min(idle_timeout, 60)
    while is_alive(pid, start):
        if not os.path.isdir(directory):
            return
        if idle_timeout and time.monotonic() >= next_idle_check:
            next_idle_check = time.monotonic() + min(idle_timeout, 60)
            if idle_for(directory) >= idle_timeout and not has_children(pid):
                try:
                    end_sessions(directory, _client_class(client), deadline=time.monotonic() + END_DEADLINE)
                    os.utime(directory)  # idle again from now
                except OSError:  # the run removed its store meanwhile: the loop sees it
                    pass
        time.sleep(poll)
    reap(directory, _client_class(client))


def _client_class(client):
    """``VSphereClient`` of ``client``, ``(file, module name)``, or ``None`` when it cannot be loaded:
    the cookies are deleted all the same."""
    try:
        return load_client_class(*client)
    except Exception:
        return None


# -- the main process's side ------------------------------------------------------------------------
def _environment():
    return dict((name, value) for name, value in os.environ.items()
                if not any(word in name.upper() for word in _SECRET_WORDS))


def start(directory, client_file, client_module, idle_timeout=IDLE_TIMEOUT):
    """Start the reaper of the store ``directory`` for this (the main) process. Returns once it is
    detached (the intermediate process has exited); raises ``OSError`` if it cannot start,
    ``subprocess.TimeoutExpired`` if it does not detach."""
    # -I: no PYTHONPATH, user site or script directory; pyVmomi is found where this process finds it
    cmd = [sys.executable, "-I", os.path.abspath(__file__), "--store", directory, "--pid", str(os.getpid()),
           "--start", process_start(os.getpid()) or "-", "--client", client_file, "--client-module", client_module,
           "--idle", str(int(idle_timeout)),
           "--path", os.pathsep.join(entry for entry in sys.path if entry)]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            close_fds=True, start_new_session=True, cwd="/", env=_environment())
    try:
        proc.wait(timeout=30)  # it forks and exits at once
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise


def die_with_parent(parent_pid):
    """In a worker forked by the main process ``parent_pid``: be sent ``SIGTERM`` when it ends
    (Linux ``PR_SET_PDEATHSIG``; elsewhere nothing). Returns whether it is set."""
    if not sys.platform.startswith("linux") or os.getppid() != parent_pid:
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    if os.getppid() != parent_pid:  # the parent ended before the request: too late for the kernel
        os.kill(os.getpid(), signal.SIGTERM)
    return True


# -- the reaper process -----------------------------------------------------------------------------
def _detach():
    """Fork: the parent (the process the main process waits for) exits at once; the child, in a
    session of its own already (``start_new_session``), goes on and is nobody's child to reap.
    The signal handlers are set before the fork, so that the child has them from its first moment."""
    for number in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM, signal.SIGPIPE):
        # a stray Ctrl-C or hang-up must not cut a logout short; SIGTERM ends the wait for the run
        # only: the sessions are still ended (see _terminate)
        signal.signal(number, signal.SIG_IGN if number != signal.SIGTERM else _terminate)
    if os.fork() > 0:
        os._exit(0)


class _Terminated(Exception):
    pass


def _terminate(signum, frame):
    if not _reaping:
        raise _Terminated()


def _main(argv):
    args = dict(zip(argv[0::2], argv[1::2]))
    directory, pid, client = args["--store"], int(args["--pid"]), (args["--client"], args["--client-module"])
    start = "" if args.get("--start", "-") == "-" else args["--start"]
    sys.path.extend(entry for entry in args.get("--path", "").split(os.pathsep) if entry and entry not in sys.path)
    _detach()
    try:
        watch(directory, pid, start, client, idle_timeout=int(args.get("--idle", IDLE_TIMEOUT)))
    except _Terminated:  # told to stop (a shutdown of the machine): leave no session it cannot watch
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            if is_alive(pid, start):  # the run goes on: it logs in again if it needs to
                end_sessions(directory, _client_class(client), deadline=time.monotonic() + END_DEADLINE)
            else:
                reap(directory, _client_class(client))
        except Exception:
            pass
    except Exception:
        pass
    os._exit(0)


if __name__ == "__main__":
    _main(sys.argv[1:])
