"""Build and run the embedded vSphere simulator (vcsim 0.24.2 + launcher fixes).

Standard library only (Python 3.11). Used as a module::

    from vcsimctl import Simulator

    with Simulator(vm=1, delay_ms=0) as sim:
        env = sim.env()            # VMWARE_HOST/PORT/USER/PASSWORD/VALIDATE_CERTS
        sim.reset_trace()
        ...                        # run a module / playbook against sim.url
        calls = sim.soap_calls()   # Counter({'RetrievePropertiesEx': 1, ...})

or as a CLI::

    python tests/vcsim/vcsimctl.py build
    python tests/vcsim/vcsimctl.py start --state-dir DIR [options: see start --help]
    eval "$(python tests/vcsim/vcsimctl.py env --state-dir DIR)"   # export its VMWARE_* settings
    python tests/vcsim/vcsimctl.py stop --state-dir DIR
    python tests/vcsim/vcsimctl.py count --trace FILE [--json]

See README.md next to this file.
"""

from __future__ import annotations

import argparse
import collections
import fcntl
import hashlib
import http.client
import json
import os
import shutil
import shlex
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
LAUNCHER_DIR = HERE / "launcher"
REPO_ROOT = HERE.parent.parent
CACHE_DIR = REPO_ROOT / ".cache" / "vcsim"
GOVMOMI_SRC = Path("/usr/share/gocode/src/github.com/vmware/govmomi/simulator")
DEBIAN_PACKAGES = ["golang-go", "golang-github-vmware-govmomi-dev"]
BINARY_PREFIX = "vcsim-"
DEFAULT_USERNAME = "administrator@vsphere.local"
DEFAULT_PASSWORD = "Vcsim-Not-A-Secret-42"

__all__ = ["build", "source_hash", "Simulator", "count_soap_calls", "soap_methods", "soap_requests", "SimulatorError"]


class SimulatorError(RuntimeError):
    """The simulator could not be built or started."""


# --------------------------------------------------------------------------- build


def source_hash() -> str:
    """First 16 hex digits of the sha256 over the launcher sources (*.go)."""
    h = hashlib.sha256()
    for path in sorted(LAUNCHER_DIR.glob("*.go")):
        h.update(path.name.encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def _go_binary() -> str | None:
    go = shutil.which("go")
    if go:
        return go
    for candidate in ("/usr/lib/go/bin/go", "/usr/bin/go"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def _ensure_toolchain() -> str:
    """Return the go binary, installing the Debian packages when missing."""
    go = _go_binary()
    if go and GOVMOMI_SRC.is_dir():
        return go
    if os.geteuid() != 0:
        raise SimulatorError(
            "go and/or the govmomi source are missing and we are not root: "
            "run `apt-get install -y %s` as root" % " ".join(DEBIAN_PACKAGES))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", *DEBIAN_PACKAGES]):
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SimulatorError("%s failed:\n%s%s" % (" ".join(cmd), proc.stdout[-4000:], proc.stderr[-4000:]))
    go = _go_binary()
    if not go or not GOVMOMI_SRC.is_dir():
        raise SimulatorError("go or %s still missing after apt-get install" % GOVMOMI_SRC)
    return go


def build(force: bool = False) -> Path:
    """Build the launcher into <repo>/.cache/vcsim/vcsim-<hash>; return its path.

    Rebuilds only when the launcher sources change (or force=True)."""
    binary = CACHE_DIR / (BINARY_PREFIX + source_hash())
    if binary.is_file() and os.access(binary, os.X_OK) and not force:
        return binary
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with open(CACHE_DIR / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # concurrent test processes build once
        if binary.is_file() and not force:
            return binary
        go = _ensure_toolchain()
        gopath = CACHE_DIR / "gopath"
        gopath.mkdir(exist_ok=True)
        env = dict(os.environ)
        for var in ("GOFLAGS", "GOROOT", "GOBIN", "GOOS", "GOARCH"):
            env.pop(var, None)
        env.update(
            GO111MODULE="off",
            GOPATH="%s:/usr/share/gocode" % gopath,
            GOCACHE=str(CACHE_DIR / "gocache"),
            GOPROXY="off",
            CGO_ENABLED="0",
        )
        tmp = CACHE_DIR / (".build-%d-%s" % (os.getpid(), binary.name))
        proc = subprocess.run([go, "build", "-o", str(tmp), "."], cwd=LAUNCHER_DIR, env=env,
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            tmp.unlink(missing_ok=True)
            raise SimulatorError("go build failed:\n%s%s" % (proc.stdout, proc.stderr))
        os.replace(tmp, binary)
        for old in CACHE_DIR.glob(BINARY_PREFIX + "*"):  # drop builds unused for a day
            try:
                if old != binary and time.time() - old.stat().st_atime > 86400:
                    old.unlink()
            except OSError:
                pass
    return binary


# --------------------------------------------------------------------------- trace


def soap_methods(trace_file: str | os.PathLike, since: int = 0) -> list:
    """The SOAP method names of a launcher trace file (JSON lines), in order (see soap_requests)."""
    return [rec["method"] for rec in soap_requests(trace_file, since)]


def soap_requests(trace_file: str | os.PathLike, since: int = 0) -> list:
    """The SOAP requests of a launcher trace file (JSON lines), in order, as dicts.

    Each SOAP request is one line with "http": "POST", "method": the SOAP
    method (e.g. "RetrievePropertiesEx") and "session": a tag of its session
    cookie ("" without one); PropertyCollector reads also have "objects" (the
    objects they start from, "Type:value"), "object_count" and "types" (the
    property types they ask for). Non-SOAP HTTP requests (pyVmomi's
    GET /sdk/vimServiceVersions.xml) are left out. `since` is a byte offset
    (see Simulator.reset_trace)."""
    return [rec for rec in _trace_records(trace_file, since) if rec.get("http", "POST") == "POST" and rec.get("method")]


def _trace_records(trace_file: str | os.PathLike, since: int = 0) -> list:
    """Every complete line of a launcher trace file from byte offset `since`, as dicts (none
    when the file does not exist yet; a line being written right now is left out)."""
    try:
        with open(trace_file, "rb") as f:
            f.seek(since)
            data = f.read()
    except FileNotFoundError:
        return []
    records = []
    for line in data.splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue  # blank, or being written right now
    return records


def folder_requests(trace_file: str | os.PathLike, since: int = 0) -> list:
    """The datastore file requests (``/folder/...``) of a launcher trace file, in order, as dicts
    with "http" (GET, HEAD...), "path", "session", "status" (the HTTP status answered), "range"
    (the Range header sent, absent without one) and "served" (body bytes sent). `since` is a byte
    offset (see Simulator.reset_trace)."""
    return [rec for rec in _trace_records(trace_file, since) if rec.get("path", "").startswith("/folder")]


def count_soap_calls(trace_file: str | os.PathLike, since: int = 0) -> collections.Counter:
    """Counter of the SOAP method names of :func:`soap_methods`; sum(counter.values()) = SOAP
    round trips."""
    return collections.Counter(soap_methods(trace_file, since))


# --------------------------------------------------------------------------- simulator


def _probe(host: str, port: int, use_tls: bool, timeout: float = 2.0) -> bool:
    try:
        if use_tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=ctx)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            conn.request("GET", "/about")
            return conn.getresponse().status == 200
        finally:
            conn.close()
    except OSError:
        return False


class Simulator:
    """A running launcher process. Options map to launcher flags:

    dc, cluster, host, standalone_host, vm, folder (ints), esx (bool),
    delay_ms (int: every request), login_delay_ms (int: Login alone), trace (True = a file in the work dir, a path, or False),
    username/password: the credentials the simulator accepts (default DEFAULT_USERNAME and
    DEFAULT_PASSWORD; any other login is refused with InvalidLogin), check_credentials=False: any
    non-empty user name and password are accepted (vcsim's own default), cert/key (PEM files), tls
    (default True), config_options (default True), upstream_firewall: host.config.firewall is never
    updated by rule-set changes, as in upstream vcsim (only the firewall system's firewallInfo is).
    state_dir: work directory (ready.json, stdout/stderr logs, trace); a
    temporary one is created and removed at stop() when not given.
    detach: start in a new session (survives the Python process; CLI use)."""

    OPTION_FLAGS = {
        "dc": "-dc", "cluster": "-cluster", "host": "-host", "standalone_host": "-standalone-host",
        "vm": "-vm", "folder": "-folder", "delay_ms": "-delay", "login_delay_ms": "-login-delay",
        "username": "-username", "password": "-password", "cert": "-cert", "key": "-key",
    }

    def __init__(self, *, dc=None, cluster=None, host=None, standalone_host=None, vm=None, folder=None,
                 esx=False, delay_ms=None, login_delay_ms=None, trace=True, username=None, password=None, cert=None, key=None,
                 tls=True, config_options=True, state_dir=None, detach=False, start_timeout=60.0,
                 check_credentials=True, upstream_firewall=False):
        self.check_credentials = bool(check_credentials)
        if self.check_credentials:
            # The credentials shown (state.json, env()) are the ones the simulator checks.
            username = username or DEFAULT_USERNAME
            password = password or DEFAULT_PASSWORD
        self.upstream_firewall = bool(upstream_firewall)
        self.options = dict(dc=dc, cluster=cluster, host=host, standalone_host=standalone_host, vm=vm,
                            folder=folder, delay_ms=delay_ms, login_delay_ms=login_delay_ms, username=username, password=password,
                            cert=cert, key=key)
        self.esx = bool(esx)
        self.tls = bool(tls)
        self.config_options = bool(config_options)
        self.trace = trace
        self.detach = detach
        self.start_timeout = start_timeout
        self._state_dir = Path(state_dir) if state_dir else None
        self._own_dir = state_dir is None
        self.workdir: Path | None = None
        self.process: subprocess.Popen | None = None
        self.pid: int | None = None
        self.binary: Path | None = None
        self.url = self.host = self.port = self.username = self.password = None
        self.trace_file: str | None = None
        self.ready: dict = {}
        self._trace_offset = 0

    # -- lifecycle
    def command(self) -> list[str]:
        cmd = [str(self.binary), "-listen", "127.0.0.1:0", "-ready-file", str(self.workdir / "ready.json")]
        for name, flag in self.OPTION_FLAGS.items():
            value = self.options.get(name)
            if value is not None and value != "":
                cmd += [flag, str(value)]
        if self.esx:
            cmd.append("-esx")
        if not self.tls:
            cmd.append("-tls=false")
        if not self.config_options:
            cmd.append("-config-options=false")
        if self.upstream_firewall:
            cmd.append("-upstream-firewall")
        if self.trace_file:
            cmd += ["-trace", self.trace_file]
        return cmd

    def start(self) -> "Simulator":
        if self.process is not None or self.pid is not None:
            return self
        self.binary = build()
        if self._own_dir:
            self.workdir = Path(tempfile.mkdtemp(prefix="vcsim-"))
        else:
            self.workdir = self._state_dir
            self.workdir.mkdir(parents=True, exist_ok=True)
        ready_file = self.workdir / "ready.json"
        ready_file.unlink(missing_ok=True)
        if self.trace is True:
            self.trace_file = str(self.workdir / "trace.jsonl")
        elif self.trace:
            self.trace_file = str(Path(self.trace).resolve())
        if self.trace_file:
            Path(self.trace_file).unlink(missing_ok=True)
        stdout = open(self.workdir / "vcsim.stdout", "wb")
        stderr = open(self.workdir / "vcsim.stderr", "wb")
        try:
            self.process = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=stdout,
                                            stderr=stderr, start_new_session=self.detach)
        finally:
            stdout.close()
            stderr.close()
        self.pid = self.process.pid
        deadline = time.monotonic() + self.start_timeout
        while True:
            rc = self.process.poll()
            if rc is not None:
                err = self.stderr_text()
                self._cleanup_dir()
                self.process = self.pid = None
                raise SimulatorError("vcsim launcher exited with rc %s:\n%s" % (rc, err))
            if ready_file.is_file():
                try:
                    self.ready = json.loads(ready_file.read_text())
                except ValueError:
                    self.ready = {}
                if self.ready and _probe(self.ready["host"], self.ready["port"], self.tls):
                    break
            if time.monotonic() > deadline:
                err = self.stderr_text()
                self.stop()
                raise SimulatorError("vcsim launcher not ready after %ss:\n%s" % (self.start_timeout, err))
            time.sleep(0.05)
        self.url = self.ready["url"]
        self.host = self.ready["host"]
        self.port = int(self.ready["port"])
        self.username = self.ready["username"]
        self.password = self.ready["password"]
        if not (self.options.get("username") and self.options.get("password")):
            # Any non-empty credentials work; vcsim's own default password "pass" is a word that
            # Ansible's no_log masking would also replace inside unrelated messages ("password").
            self.username, self.password = DEFAULT_USERNAME, DEFAULT_PASSWORD
        self.reset_trace()
        return self

    def stderr_text(self, limit: int = 20000) -> str:
        try:
            return (self.workdir / "vcsim.stderr").read_text(errors="replace")[-limit:]
        except (OSError, TypeError):
            return ""

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, wait up to `timeout`, then SIGKILL. Idempotent."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            self.process = None
        elif self.pid is not None:
            _terminate_pid(self.pid, timeout)
        self.pid = None
        self._cleanup_dir()

    def _cleanup_dir(self):
        if self._own_dir and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            if self.trace is True:
                self.trace_file = None

    def __enter__(self) -> "Simulator":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- helpers
    def env(self, validate_certs: bool = False) -> dict:
        """Environment for the collection's modules (vmware connection vars)."""
        return {
            "VMWARE_HOST": self.host,
            "VMWARE_PORT": str(self.port),
            "VMWARE_USER": self.username,
            "VMWARE_PASSWORD": self.password,
            "VMWARE_VALIDATE_CERTS": "true" if validate_certs else "false",
        }

    def reset_trace(self) -> None:
        """Start counting SOAP calls from now (see soap_calls)."""
        try:
            self._trace_offset = os.path.getsize(self.trace_file) if self.trace_file else 0
        except OSError:
            self._trace_offset = 0

    def soap_calls(self) -> collections.Counter:
        """Counter of SOAP method names since start() or the last reset_trace()."""
        if not self.trace_file:
            raise SimulatorError("started with trace=False")
        return count_soap_calls(self.trace_file, self._trace_offset)

    def soap_requests(self) -> list:
        """The SOAP requests (dicts with "method" and "session") since start() or reset_trace()."""
        if not self.trace_file:
            raise SimulatorError("started with trace=False")
        return soap_requests(self.trace_file, self._trace_offset)

    def folder_requests(self) -> list:
        """The datastore file requests (see folder_requests) since start() or reset_trace()."""
        if not self.trace_file:
            raise SimulatorError("started with trace=False")
        return folder_requests(self.trace_file, self._trace_offset)

    def inject_faults(self, vm: str, **faults) -> str:
        """Set the faults of ``vm`` (a moid or a name) in the running launcher, replacing its
        former ones (none given: cleared); returns the VM's moid. ``faults``: ``tools``,
        ``shutdown_delay_ms``, ``task_delay_ms``, ``fail``, ``refuse``, ``drop``, ``end_session``,
        ``end_session_at``
        (see launcher/faults.go)."""
        status, body = self._post("/launcher/faults", json.dumps(dict(faults, vm=vm)),
                                  {"Content-Type": "application/json"})
        if status != 200:
            raise SimulatorError("setting the faults of %s failed: %s %s" % (vm, status, body))
        return json.loads(body)["vm"]

    def end_sessions(self, keep_cookie: str | None = None) -> int:
        """End every live session but the one of ``keep_cookie`` (a ``vmware_soap_session=...``
        cookie), as an expiry would: their next requests are refused (NotAuthenticated, or 401 on
        /folder) until they log in again (launcher/folder.go). Returns how many ended."""
        status, body = self._post("/launcher/end_sessions", "", {"Cookie": keep_cookie} if keep_cookie else {})
        if status != 200:
            raise SimulatorError("ending the sessions failed: %s %s" % (status, body))
        return json.loads(body)["ended"]

    def _post(self, path: str, body: str, headers: dict) -> tuple:
        if self.tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            conn = http.client.HTTPSConnection(self.host, self.port, timeout=10, context=ctx)
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            conn.request("POST", path, body, headers)
            response = conn.getresponse()
            return response.status, response.read().decode(errors="replace")
        finally:
            conn.close()

    def state(self) -> dict:
        return {
            "url": self.url, "host": self.host, "port": self.port, "pid": self.pid,
            "username": self.username, "password": self.password, "credentials_checked": self.check_credentials,
            "upstream_firewall": self.upstream_firewall, "esx": self.esx, "tls": self.tls,
            "trace_file": self.trace_file, "binary": str(self.binary), "state_dir": str(self.workdir),
            "stderr": str(self.workdir / "vcsim.stderr"), "env": self.env(),
        }


def _is_launcher(pid: int) -> bool:
    try:
        cmdline = Path("/proc/%d/cmdline" % pid).read_bytes().split(b"\0")
    except OSError:
        return False
    return bool(cmdline) and os.path.basename(cmdline[0].decode(errors="replace")).startswith(BINARY_PREFIX)


def _terminate_pid(pid: int, timeout: float = 10.0) -> bool:
    """SIGTERM a (detached) launcher by pid, SIGKILL after timeout."""
    if not _is_launcher(pid):
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _is_launcher(pid) or _is_zombie(pid):
            return True
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    return True


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path("/proc/%d/stat" % pid).read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


# --------------------------------------------------------------------------- CLI


def _cli(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n", maxsplit=1)[0],
        epilog="Start one for a playbook of your own: start --state-dir DIR, then eval \"$(%(prog)s env "
               "--state-dir DIR)\" and run ansible-playbook; stop --state-dir DIR when done.")
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")

    b = sub.add_parser("build", help="build the launcher (if needed) and print its path",
                       description="Build the launcher into .cache/vcsim (only when launcher/*.go changed).")
    b.add_argument("--force", action="store_true", help="rebuild even when the build is current")

    s = sub.add_parser(
        "start", help="start a detached simulator; writes DIR/state.json and prints it",
        description="Start a detached simulator (a vCenter by default) on 127.0.0.1 and an ephemeral port; "
                    "write DIR/state.json (url, port, pid, credentials, env: the VMWARE_* settings) and print it. "
                    "It checks the credentials it prints: any other login is refused (InvalidLogin).")
    s.add_argument("--state-dir", required=True, metavar="DIR",
                   help="directory for state.json, the logs and the trace (created when missing)")
    sizes = (("dc", 1, "datacenters"), ("cluster", 1, "clusters per datacenter"), ("host", 3, "hosts per cluster"),
             ("standalone-host", 1, "standalone hosts per datacenter"),
             ("vm", 2, "VMs per host and per resource pool"), ("folder", 0, "folders"))
    for name, default, what in sizes:
        s.add_argument("--" + name, type=int, metavar="N", help="number of %s (default %d)" % (what, default))
    s.add_argument("--delay-ms", type=int, metavar="MS", help="latency added to every SOAP call (default 0)")
    s.add_argument("--login-delay-ms", type=int, metavar="MS",
                   help="latency added to Login alone, as vCenter's single sign-on has (default 0)")
    s.add_argument("--esx", action="store_true", help="simulate a standalone ESXi host instead of a vCenter")
    s.add_argument("--username", metavar="USER",
                   help="the user name to accept (default %s)" % DEFAULT_USERNAME)
    s.add_argument("--password", metavar="PASSWORD",
                   help="the password to accept (default %s; a test value, not a secret)" % DEFAULT_PASSWORD)
    s.add_argument("--any-credentials", action="store_true",
                   help="accept any non-empty user name and password (vcsim's own behaviour) instead of checking")
    s.add_argument("--cert", metavar="FILE", help="PEM certificate to serve (with --key) instead of a self-signed one")
    s.add_argument("--key", metavar="FILE", help="PEM private key of --cert")
    s.add_argument("--no-tls", action="store_true", help="serve plain HTTP instead of HTTPS")
    s.add_argument("--no-trace", action="store_true",
                   help="do not write DIR/trace.jsonl (one JSON line per SOAP request; see the count command)")
    s.add_argument("--no-config-options", action="store_true",
                   help="leave out the serial-port and VMCI options of QueryConfigOption (as vcsim 0.24.2 does)")
    s.add_argument("--upstream-firewall", action="store_true",
                   help="behave as upstream vcsim does: Enable/DisableRuleset change the firewall system's "
                        "firewallInfo but never host.config.firewall")
    s.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                   help="how long to wait for the simulator to answer (default 60)")

    e = sub.add_parser("env", help="print shell export lines of the VMWARE_* settings of a started simulator",
                       description="Print `export VMWARE_...=...` lines for the simulator started with "
                                   "--state-dir DIR: eval \"$(vcsimctl.py env --state-dir DIR)\".")
    e.add_argument("--state-dir", required=True, metavar="DIR", help="the --state-dir given to start")

    t = sub.add_parser("stop", help="stop the simulator started with --state-dir DIR",
                       description="Stop the simulator started with --state-dir DIR and remove DIR/state.json.")
    t.add_argument("--state-dir", required=True, metavar="DIR", help="the --state-dir given to start")
    t.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                   help="how long to wait after SIGTERM before SIGKILL (default 10)")

    c = sub.add_parser("count", help="print SOAP method counts of a trace file",
                       description="Count the SOAP requests of a trace file, by method.")
    c.add_argument("--trace", required=True, metavar="FILE", help="a trace file (DIR/trace.jsonl of start)")
    c.add_argument("--json", action="store_true", help="print a JSON object instead of a table")

    a = p.parse_args(argv)
    if a.cmd == "build":
        print(build(force=a.force))
    elif a.cmd == "start":
        state_dir = Path(a.state_dir).resolve()
        state_file = state_dir / "state.json"
        if state_file.is_file():
            old = json.loads(state_file.read_text())
            if old.get("pid") and _is_launcher(old["pid"]):
                print("already running: %s" % json.dumps(old), file=sys.stderr)
                return 1
        sim = Simulator(dc=a.dc, cluster=a.cluster, host=a.host, standalone_host=a.standalone_host, vm=a.vm,
                        folder=a.folder, esx=a.esx, delay_ms=a.delay_ms, login_delay_ms=a.login_delay_ms, username=a.username,
                        password=a.password, cert=a.cert, key=a.key, tls=not a.no_tls,
                        config_options=not a.no_config_options, trace=not a.no_trace,
                        state_dir=state_dir, detach=True, start_timeout=a.timeout,
                        check_credentials=not a.any_credentials, upstream_firewall=a.upstream_firewall)
        sim.start()
        state = sim.state()
        tmp = state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2) + "\n")
        os.replace(tmp, state_file)
        print(json.dumps(state, indent=2))
    elif a.cmd == "env":
        state_file = Path(a.state_dir) / "state.json"
        if not state_file.is_file():
            print("no %s: start the simulator with --state-dir %s first" % (state_file, a.state_dir), file=sys.stderr)
            return 1
        for name, value in json.loads(state_file.read_text())["env"].items():
            print("export %s=%s" % (name, shlex.quote(str(value))))
    elif a.cmd == "stop":
        state_file = Path(a.state_dir) / "state.json"
        if not state_file.is_file():
            print("no %s" % state_file, file=sys.stderr)
            return 1
        state = json.loads(state_file.read_text())
        stopped = _terminate_pid(int(state["pid"]), a.timeout)
        state_file.unlink(missing_ok=True)
        print("stopped" if stopped else "not running")
    elif a.cmd == "count":
        counts = count_soap_calls(a.trace)
        if a.json:
            print(json.dumps(dict(counts.most_common()), indent=2))
        else:
            for method, n in counts.most_common():
                print("%6d %s" % (n, method))
            print("%6d total" % sum(counts.values()))
    return 0


if __name__ == "__main__":
    sys.exit(_cli())
