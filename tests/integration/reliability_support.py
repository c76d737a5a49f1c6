"""Fault injection and read-back tools for the reliability, security and concurrency tests.

* :func:`make_pki` writes a CA, a server certificate for 127.0.0.1 signed by it, and a self-signed
  certificate (``cryptography``, a dependency of ansible-core, so it is in every project venv).
* :class:`FaultProxy` is a TLS-terminating proxy between a module and the simulator. It passes
  every request through, except the first request of a chosen SOAP method, on which it injects a
  fault: ``drop`` (the connection dies before the request reaches vSphere), ``drop_response`` (vSphere
  executes the request, the answer is lost), or ``hook`` (a callback runs first, for example one
  that terminates the module's session). Later requests pass again, so the module can still log out.
* :func:`kill_on` SIGKILLs a simulator the moment its trace shows a given SOAP method arriving: with
  a per-call delay the request is then still waiting in vcsim, not executed.
* :func:`other_sessions` reads ``SessionManager.sessionList`` back, without the reader's own session.
* :func:`firewall_guard` (autouse, imported by every test file of this suite) scans the traces of the
  test's simulators after each test: no UpdateRuleset, except a test's own declared set-up.

Tests only; stdlib + pyVmomi + cryptography.
"""
import datetime
import glob
import ipaddress
import json
import os
import re
import signal
import socket
import ssl
import threading
import time

import pytest
from pyVim.connect import Disconnect, SmartConnect
from vcsimctl import soap_methods

_METHOD = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?Body\b[^>]*>\s*<(?:[A-Za-z_][\w.-]*:)?([A-Za-z_]\w*)")


# The modules under test, by short name (shared by the reliability, security and concurrency tests).
SP = "vmchannels.vsphere.vm_serial_port"
SPI = "vmchannels.vsphere.vm_serial_port_info"
FW = "vmchannels.vsphere.esxi_serial_firewall_ruleset"
FWI = "vmchannels.vsphere.esxi_serial_firewall_ruleset_info"
VF = "vmchannels.vsphere.vm_vmci_filter"
VFI = "vmchannels.vsphere.vm_vmci_filter_info"
BULK = "vmchannels.vsphere.vm_serial_port_bulk"
VFB = "vmchannels.vsphere.vm_vmci_filter_bulk"


# -- certificates --------------------------------------------------------------------------------

def make_pki(directory, names=("127.0.0.1",)):
    """Write ``ca.pem``, ``server.pem``/``server.key`` (signed by the CA, SANs ``names``) and
    ``self.pem``/``self.key`` (self-signed) into ``directory``; return a dict of their paths."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def key():
        return ec.generate_private_key(ec.SECP256R1())

    def name(common):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    def sans():
        out = []
        for entry in names:
            try:
                out.append(x509.IPAddress(ipaddress.ip_address(entry)))
            except ValueError:
                out.append(x509.DNSName(entry))
        return x509.SubjectAlternativeName(out)

    now = datetime.datetime.now(datetime.timezone.utc)

    def builder(subject, issuer, public_key):
        return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(hours=1))
                .not_valid_after(now + datetime.timedelta(days=2)))

    ca_key = key()
    ca_name = name("vmchannels test CA")
    ca = (builder(ca_name, ca_name, ca_key.public_key())
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    server_key = key()
    server = (builder(name("vcsim test server"), ca_name, server_key.public_key())
              .add_extension(sans(), critical=False)
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
              .sign(ca_key, hashes.SHA256()))
    self_key = key()
    self_name = name("self-signed test server")
    self_signed = (builder(self_name, self_name, self_key.public_key()).add_extension(sans(), critical=False)
                   .sign(self_key, hashes.SHA256()))

    def pem(cert):
        return cert.public_bytes(serialization.Encoding.PEM)

    def key_pem(private):
        return private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                     serialization.NoEncryption())

    paths = dict(ca=os.path.join(directory, "ca.pem"), cert=os.path.join(directory, "server.pem"),
                 key=os.path.join(directory, "server.key"), self_cert=os.path.join(directory, "self.pem"),
                 self_key=os.path.join(directory, "self.key"))
    for path, data in ((paths["ca"], pem(ca)), (paths["cert"], pem(server)), (paths["key"], key_pem(server_key)),
                       (paths["self_cert"], pem(self_signed)), (paths["self_key"], key_pem(self_key))):
        with open(path, "wb") as handle:
            handle.write(data)
    return paths


# -- the fault proxy -------------------------------------------------------------------------------

class FaultProxy(object):
    """A TLS proxy in front of ``sim`` that injects one fault on the ``occurrence``-th request of
    ``method`` (the first by default).

    ``action``: ``drop`` closes the module's connection without forwarding the request; ``drop_response``
    forwards it, waits until vSphere answers, and closes the connection instead of relaying the answer;
    ``hook`` calls ``hook()`` and then forwards. ``fired`` is set once the fault was injected;
    ``methods`` lists every SOAP method seen, in order.
    """

    def __init__(self, sim, cert, key, method, action, hook=None, occurrence=1):
        self.sim = sim
        self.method = method.encode()
        self.occurrence = occurrence
        self._seen = 0
        self.action = action
        self.hook = hook
        self.fired = threading.Event()
        self.methods = []
        self._lock = threading.Lock()
        self._server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._server_ctx.load_cert_chain(cert, key)
        self._client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self._client_ctx.check_hostname = False
        self._client_ctx.verify_mode = ssl.CERT_NONE
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.port = self._listener.getsockname()[1]
        self._stopped = False
        self._sockets = []
        threading.Thread(target=self._accept, daemon=True).start()

    def env(self):
        env = dict(self.sim.env())
        env["VMWARE_PORT"] = str(self.port)
        return env

    def close(self):
        self._stopped = True
        _close(self._listener)  # shutdown() wakes the thread blocked in accept(); close() alone does not
        for sock in list(self._sockets):
            _close(sock)

    # -- plumbing
    def _accept(self):
        while not self._stopped:
            try:
                raw, dummy = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw):
        # One thread per connection, strictly request then response (HTTP/1.1 without pipelining, as
        # pyVmomi speaks it): an SSL socket must not be read and written from two threads at once.
        try:
            client = self._server_ctx.wrap_socket(raw, server_side=True)
            upstream = self._client_ctx.wrap_socket(socket.create_connection((self.sim.host, self.sim.port)))
        except (OSError, ssl.SSLError):
            _close(raw)
            return
        self._sockets += [client, upstream]
        from_client = b""
        from_upstream = b""
        try:
            while True:
                request, from_client = _read_message(client, from_client, response=False)
                if request is None:
                    break
                found = _METHOD.search(request)
                method = found.group(1) if found else b""
                with self._lock:
                    self.methods.append(method.decode())
                    if method == self.method:
                        self._seen += 1
                    fire = method == self.method and self._seen == self.occurrence
                    if fire:
                        self.fired.set()
                if fire and self.action == "drop":
                    break
                if fire and self.action == "hook":
                    self.hook()
                upstream.sendall(request)
                response, from_upstream = _read_message(upstream, from_upstream, response=True)
                if response is None or (fire and self.action == "drop_response"):
                    break  # vSphere answered (so it executed the request); the answer is lost
                client.sendall(response)
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            _close(client)
            _close(upstream)


def _close(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


def _recv_until(sock, buffer, predicate):
    while not predicate(buffer):
        data = sock.recv(65536)
        if not data:
            return None
        buffer += data
    return buffer


def _read_message(sock, buffer, response):
    """One HTTP/1.1 message from ``sock`` (Content-Length or chunked body); ``(None, b"")`` at EOF.
    Returns ``(message bytes, what was read beyond it)``."""
    buffer = _recv_until(sock, buffer, lambda b: b"\r\n\r\n" in b)
    if buffer is None:
        return None, b""
    head, rest = buffer.split(b"\r\n\r\n", 1)
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        name, dummy, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        body = b""
        while True:
            rest = _recv_until(sock, rest, lambda b: b"\r\n" in b)
            if rest is None:
                return None, b""
            size_line, dummy, after = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            rest = _recv_until(sock, after, lambda b, n=size: len(b) >= n + 2)
            if rest is None:
                return None, b""
            body += size_line + b"\r\n" + rest[:size + 2]
            rest = rest[size + 2:]
            if size == 0:
                return head + b"\r\n\r\n" + body, rest
    length = int(headers.get(b"content-length", b"0"))
    if response and b"content-length" not in headers:
        raise ValueError("response without length")
    rest = _recv_until(sock, rest, lambda b: len(b) >= length)
    if rest is None:
        return None, b""
    return head + b"\r\n\r\n" + rest[:length], rest[length:]


# -- killing the simulator at the right moment ------------------------------------------------------

def kill_on(sim, method, timeout=60):
    """Start a thread that SIGKILLs ``sim`` as soon as its trace logs a ``method`` request (logged on
    arrival, before vcsim's per-call delay, so with a delay the request is never executed).
    Returns an Event set once the simulator was killed."""
    killed = threading.Event()
    offset = os.path.getsize(sim.trace_file)

    def watch():
        deadline = time.monotonic() + timeout
        position = offset
        pending = b""
        while time.monotonic() < deadline:
            with open(sim.trace_file, "rb") as handle:
                handle.seek(position)
                data = handle.read()
            position += len(data)
            pending += data
            lines = pending.split(b"\n")
            pending = lines.pop()
            for line in lines:
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if entry.get("method") == method:
                    os.kill(sim.pid, signal.SIGKILL)
                    killed.set()
                    return
            time.sleep(0.005)

    threading.Thread(target=watch, daemon=True).start()
    return killed


# -- read-back ------------------------------------------------------------------------------------

def connect(sim):
    return SmartConnect(host=sim.host, port=sim.port, user=sim.username, pwd=sim.password,
                        disableSslCertValidation=True)


def other_sessions(sim, settle=8.0):
    """The sessions logged in on ``sim`` besides the one used to read them, waiting up to ``settle``
    seconds for logouts still on their way (a slow simulator delays them)."""
    deadline = time.monotonic() + settle
    while True:
        si = connect(sim)
        try:
            manager = si.content.sessionManager
            mine = manager.currentSession.key
            others = [(s.key, s.userName) for s in manager.sessionList or [] if s.key != mine]
        finally:
            Disconnect(si)
        if not others or time.monotonic() > deadline:
            return others
        time.sleep(0.25)


class Reader(object):
    """A short-lived pyVmomi session to read state back (``with Reader(sim) as r:``); closed before
    sessions are counted."""

    def __init__(self, sim):
        self.sim = sim
        self.si = None

    def __enter__(self):
        self.si = connect(self.sim)
        self.content = self.si.content
        return self

    def __exit__(self, *exc):
        Disconnect(self.si)

    def _all(self, vim_type):
        from pyVmomi import vim  # noqa: F401 - vim_type comes from it
        view = self.content.viewManager.CreateContainerView(self.content.rootFolder, [vim_type], True)
        try:
            return list(view.view)
        finally:
            view.Destroy()

    def vm(self, name):
        from pyVmomi import vim
        return [v for v in self._all(vim.VirtualMachine) if v.name == name][0]

    def vmci(self, name):
        """``(filterEnable, [(rank, action, protocol, direction, lower, upper), ...])`` of a VM."""
        from pyVmomi import vim
        device = [d for d in self.vm(name).config.hardware.device if isinstance(d, vim.vm.device.VirtualVMCIDevice)][0]
        filters = device.filterInfo.filters if device.filterInfo is not None else []
        return device.filterEnable, [(f.rank, f.action, f.protocol, f.direction, f.lowerDstPortBoundary,
                                      f.upperDstPortBoundary) for f in filters]

    def firewalls(self):
        """{host: {rule set key: (enabled, allIp, ip addresses, ip networks)}} of every host."""
        from pyVmomi import vim
        out = {}
        for host in self._all(vim.HostSystem):
            table = {}
            for rs in host.config.firewall.ruleset:
                allowed = rs.allowedHosts
                table[rs.key] = (rs.enabled, allowed.allIp, tuple(allowed.ipAddress or ()),
                                 tuple("%s/%s" % (n.network, n.prefixLength) for n in allowed.ipNetwork or ()))
            out[host.name] = table
        return out


# -- firewall safety over every run of these tests -------------------------------------------------

_SHARED_TRACES = set()


def register_trace(sim):
    """Have :func:`firewall_guard` scan a simulator that lives outside the test's tmp_path."""
    _SHARED_TRACES.add(sim.trace_file)
    return sim


@pytest.fixture(autouse=True)
def firewall_guard(request, tmp_path):
    """After each test, scan every simulator trace it produced (files in its tmp_path, and the
    registered module-scoped simulators): UpdateRuleset may appear only as often as the test declared
    for its own set-up (``request.node.update_ruleset_setup``), never from a module."""
    yield
    allowed = getattr(request.node, "update_ruleset_setup", 0)
    traces = set(_SHARED_TRACES) | set(glob.glob(str(tmp_path / "**" / "*.jsonl"), recursive=True)) | set(
        glob.glob(str(tmp_path / "**" / "trace*.log"), recursive=True))
    calls = dict((t, soap_methods(t).count("UpdateRuleset")) for t in sorted(traces) if os.path.exists(t))
    assert sum(calls.values()) <= allowed, "UpdateRuleset was called: %s" % calls
