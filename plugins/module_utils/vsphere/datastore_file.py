# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading a datastore file through vCenter's HTTP datastore access, a few bytes at a time.

vCenter (and ESXi) serve datastore files at ``GET /folder/<path in the datastore>?dcPath=<the
datacenter's inventory path>&dsName=<datastore>``, authenticated by the SOAP session's cookie, and
answer ``Range`` requests. This file holds

- pure helpers, unit-tested without a server: :func:`parse_datastore_path`, :func:`folder_url`,
  :func:`parse_content_range`, :func:`tail_cut`, :func:`split_lines`, :func:`first_match`;
- :class:`FolderReader`, which sends ranged GETs over one ``http.client`` connection with the
  session's cookie (never logged, never returned), honouring ``validate_certs``,
  ``REQUESTS_CA_BUNDLE`` and the HTTP proxy like the SOAP connection, and reads at most the bytes
  it asked for;
- :func:`read_tail` and :func:`read_from`, the two ways of reading: the last lines (a suffix range,
  then earlier ranges of growing size until enough lines or ``max_bytes``), and the bytes after an
  offset (one range request).

Nothing here knows ``AnsibleModule``; failures are :class:`VSphereError`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import http.client
import re
import socket
import ssl
from urllib.parse import quote, urlencode

from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.errors import VSphereError

#: The first request of a tail asks for this many bytes from the end; each earlier one for twice
#: what was read so far (8 KiB, 16 KiB, 32 KiB...), never past ``max_bytes`` in all.
FIRST_CHUNK = 8192

#: The privileges HTTP access to a datastore file needs (vSphere Web Services SDK, "Privilege
#: Requirements for HTTP Access").
FOLDER_PRIVILEGES = ("System.View on the root folder, Datastore.Browse and Datastore.FileManagement on the "
                     "datacenter and the datastore")

_DATASTORE_PATH = re.compile(r"^\[([^\]]+)\]\s*(.*)$")
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(?:(\d+)-(-?\d+)|\*)\s*/\s*(\d+|\*)\s*$", re.IGNORECASE)


# -- pure helpers --------------------------------------------------------------------------------

def parse_datastore_path(path):
    """``("datastore1", "vm/serial.log")`` from ``"[datastore1] vm/serial.log"``; ``ValueError``
    for anything else (no brackets, empty datastore or file)."""
    match = _DATASTORE_PATH.match(path or "")
    if not match or not match.group(1).strip() or not match.group(2).strip():
        raise ValueError("'%s' is not a datastore path such as '[datastore1] vm/serial.log'" % (path,))
    return match.group(1).strip(), match.group(2).strip().lstrip("/")


def folder_url(datacenter_path, datastore, relative):
    """The path and query of a datastore file: ``/folder/<relative>?dcPath=<dc>&dsName=<ds>``.

    ``datacenter_path`` is the datacenter's inventory path below the root folder, parent folders
    included (``"Europe/DC0"``): vCenter finds no datacenter by its name alone."""
    return "/folder/%s?%s" % (quote(relative, safe="/"),
                              urlencode([("dcPath", datacenter_path.strip("/")), ("dsName", datastore)]))


def parse_content_range(value):
    """``(start, end, total)`` of a ``Content-Range`` header: ``"bytes 0-99/1000"`` ->
    ``(0, 99, 1000)``; ``"bytes */1000"`` (an unsatisfiable range) -> ``(None, None, 1000)``.
    An unknown total is ``None``. ``None`` for a header that is absent or not a byte range.
    (Go's file server answers ``"bytes 0--1/0"`` for a suffix range of an empty file.)"""
    match = _CONTENT_RANGE.match(value or "")
    if not match:
        return None
    start, end, total = match.groups()
    return (int(start) if start is not None else None, int(end) if end is not None else None,
            int(total) if total != "*" else None)


def tail_cut(data, lines, at_file_start):
    """Where the last ``lines`` lines of ``data`` (the end of a file) start, or ``None`` when
    ``data`` holds fewer and more of the file lies before it. A final line break ends the last
    line; text after the last line break is a line too (a prompt such as ``login:``)."""
    if lines <= 0:
        return len(data)
    pos = len(data) - 1 if data.endswith(b"\n") else len(data)
    for _line in range(lines):
        pos = data.rfind(b"\n", 0, pos)
        if pos < 0:
            return 0 if at_file_start else None
    return pos + 1


def decode(data):
    """Text of ``data``: UTF-8, undecodable bytes as U+FFFD (never an error)."""
    return data.decode("utf-8", "replace")


def split_lines(text):
    """The lines of ``text`` without their ``\\n`` or ``\\r\\n`` (serial consoles send both); text
    after the last line break is the last line; a final line break adds no empty line."""
    if not text:
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def first_match(pattern, lines):
    """The first of ``lines`` that ``pattern`` (a compiled regular expression) finds, else ``None``."""
    for line in lines:
        if pattern.search(line):
            return line
    return None


def session_cookie_header(cookie):
    """The ``Cookie`` header for the session cookie pyVmomi keeps (the whole ``Set-Cookie`` value,
    ``vmware_soap_session="..."; Path=/; HttpOnly``): its name and value only."""
    return (cookie or "").split(";", 1)[0].strip()


# -- HTTP ----------------------------------------------------------------------------------------

class Answer(object):
    """One answer: HTTP status, ``(start, end, total)`` of the bytes (from Content-Range, or the
    whole body of a 200), and the body."""

    def __init__(self, status, span, body):
        self.status = status
        self.span = span
        self.body = body

    @property
    def total(self):
        return self.span[2] if self.span else None


class FolderReader(object):
    """Ranged GETs of one datastore file with the session of ``client`` (a connected
    :class:`VSphereClient`), over one kept-alive HTTPS connection to the same host and port.

    :attr:`requests` and :attr:`bytes_read` count what was asked and received (the module returns
    them)."""

    def __init__(self, client, datacenter_path, datastore, relative, file_path):
        self.client = client
        self.url = folder_url(datacenter_path, datastore, relative)
        self.datastore = datastore
        self.file_path = file_path
        self.requests = 0
        self.bytes_read = 0
        self._conn = None

    def _connect(self):
        client = self.client
        context = client.http_ssl_context()
        if client.proxy_host:
            conn = http.client.HTTPSConnection(client.proxy_host, client.proxy_port or 80, timeout=client.timeout,
                                               context=context)
            conn.set_tunnel(client.hostname, client.port)
        else:
            conn = http.client.HTTPSConnection(client.hostname, client.port, timeout=client.timeout, context=context)
        return conn

    def close(self):
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def _send(self, range_header, limit):
        """One GET; the body is read up to ``limit`` bytes (an answer that is longer is refused
        without reading it: a server that ignores Range must not make the task download a 1 GiB
        file)."""
        cookie = session_cookie_header(self.client.stub.cookie)
        headers = {"Cookie": cookie, "Accept-Encoding": "identity"}
        if range_header:
            headers["Range"] = range_header
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = self._connect()
            try:
                self._conn.request("GET", self.url, headers=headers)
                response = self._conn.getresponse()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # A kept-alive connection the server closed meanwhile (between two polls): once more.
                self.close()
                if attempt == 2:
                    raise
        self.requests += 1
        status = response.status
        span = parse_content_range(response.getheader("Content-Range"))
        length = response.getheader("Content-Length")
        if status in (200, 206) and length is not None and length.isdigit() and int(length) > limit:
            self.close()  # not reading it: the connection cannot be reused
            raise VSphereError(
                "%s answered the request for %s of %s with %s bytes (HTTP %s), more than the %s asked for: it did not "
                "honour the Range header. Not downloading the whole file." % (
                    self.client.hostname, range_header, self.file_path, length, status, limit), kind="fault")
        body = response.read(limit if status in (200, 206) else 4096)
        if not response.isclosed():
            # Whatever is left (an error page, or a body longer than announced) is not wanted.
            self.close()
        if status in (200, 206):
            self.bytes_read += len(body)
        if status == 200:
            span = (0, len(body) - 1, len(body))
        return Answer(status, span, body)

    def get(self, range_header, limit):
        """One ranged GET, the session renewed once when vCenter no longer accepts it (401);
        an :class:`Answer` for 200, 206 and 416, a :class:`VSphereError` that says why for the
        other statuses."""
        sent_with = self.client.stub.cookie
        try:
            answer = self._send(range_header, limit)
            if answer.status == 401 and self.client.renew_ended_session(sent_with):
                answer = self._send(range_header, limit)
        except ssl.SSLCertVerificationError as exc:
            raise VSphereError(
                "The TLS certificate of %s could not be verified for datastore file access (%s)."
                % (self.client.hostname, getattr(exc, "verify_message", None) or exc.reason), kind="tls")
        except (socket.timeout, OSError, http.client.HTTPException) as exc:
            self.close()
            raise VSphereError("Reading %s from %s failed: %s" % (
                self.file_path, self.client.hostname, exc or type(exc).__name__), kind="connection")
        if answer.status in (200, 206, 416):
            return answer
        raise self.refusal(answer.status)

    def refusal(self, status):
        """The error for an HTTP status other than 200, 206 and 416."""
        where = "%s on datastore %s" % (self.file_path, self.datastore)
        if status == 404:
            return VSphereError(
                "%s does not exist (HTTP 404): the VM has not written to its serial port yet (the file is created "
                "when the VM powers on with the port connected), or the file was removed or the datastore was "
                "renamed." % where, kind="not_found")
        if status in (401, 403):
            return VSphereError(
                "vCenter refused to serve %s (HTTP %s): the user lacks %s (the session itself is valid)."
                % (where, status, FOLDER_PRIVILEGES), kind="permission")
        if status == 503:
            return VSphereError("vCenter could not serve %s (HTTP 503): the datastore is not accessible now, or no "
                                "host that mounts it answers." % where, kind="fault")
        return VSphereError("vCenter answered HTTP %s for %s." % (status, where), kind="fault")


# -- the two reads -------------------------------------------------------------------------------

class Read(object):
    """Bytes of the file read by :func:`read_tail` or :func:`read_from`: ``data`` starts at
    ``start``; ``size`` is the file's size seen by the last request; ``truncated`` says that the
    file had become shorter than the offset asked for, so it was read from its start; ``capped``
    that ``max_bytes`` stopped the read before what was asked was complete."""

    def __init__(self, data, start, size, truncated=False, capped=False):
        self.data = data
        self.start = start
        self.size = size
        self.truncated = truncated
        self.capped = capped

    @property
    def end(self):
        return self.start + len(self.data)


def read_tail(reader, lines, max_bytes, first_chunk=FIRST_CHUNK):
    """The last ``lines`` lines: ``Range: bytes=-N`` (its Content-Range gives the size), then the
    bytes before what was read, in ranges of growing size, until ``lines`` line breaks, the start of
    the file or ``max_bytes`` in all. With ``lines=0`` only the size is learnt (1 byte read)."""
    want = 1 if lines <= 0 else min(first_chunk, max_bytes)
    answer = reader.get("bytes=-%d" % want, want)
    if answer.status == 416 or answer.span is None or answer.span[0] is None:
        # An empty file (some servers refuse a suffix range of nothing)
        return Read(b"", 0, answer.total or 0)
    size = answer.total if answer.total is not None else answer.span[1] + 1
    data, start = answer.body, answer.span[0]
    if lines <= 0:
        return Read(b"", size, size)
    while True:
        cut = tail_cut(data, lines, start == 0)
        if cut is not None:
            return Read(data[cut:], start + cut, size)
        if len(data) >= max_bytes:
            # Enough lines are not within max_bytes: the complete lines that are.
            newline = data.find(b"\n")
            if 0 <= newline < len(data) - 1:
                return Read(data[newline + 1:], start + newline + 1, size, capped=True)
            return Read(data, start, size, capped=True)
        more = min(len(data), max_bytes - len(data), start)
        answer = reader.get("bytes=%d-%d" % (start - more, start - 1), more)
        if answer.status == 416 or answer.span is None or answer.span[0] != start - more:
            # The file became shorter meanwhile (truncated, replaced): what was read stands.
            return Read(data, start, size, capped=True)
        data, start = answer.body + data, start - more


def read_from(reader, offset, max_bytes):
    """The bytes after ``offset`` (at most ``max_bytes``): one ``Range: bytes=offset-...``
    request; when the file is now shorter than ``offset`` (vCenter answers 416 with its size), a
    second one from the start, with ``truncated`` set."""
    answer = reader.get("bytes=%d-%d" % (offset, offset + max_bytes - 1), max_bytes)
    if answer.status == 416:
        size = answer.total
        if size is None or size >= offset:
            return Read(b"", offset, offset if size is None else size)
        if size == 0:
            return Read(b"", 0, 0, truncated=True)
        read = read_from(reader, 0, max_bytes)
        read.truncated = True
        return read
    start, size = answer.span[0], answer.span[2]
    if answer.status == 200:
        # A server that ignored the range but sent a small file whole (at most max_bytes).
        data = answer.body[offset:] if offset <= len(answer.body) else answer.body
        truncated = offset > len(answer.body)
        start = offset if not truncated else 0
        return Read(data, start, len(answer.body), truncated=truncated)
    if size is None:
        size = start + len(answer.body)
    return Read(answer.body, start, size, capped=start + len(answer.body) < size)
