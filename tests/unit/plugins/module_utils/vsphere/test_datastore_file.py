"""The pure parts of vm_serial_port_log: datastore paths, the /folder URL, Content-Range, where a
tail starts, lines, the port choice, the datacenter path, option validation, and the reads
(read_tail, read_from, collect) against a fake server that answers Range requests like vCenter
and counts the bytes it serves."""
import re

import pytest
from ansible_collections.vmchannels.vsphere.plugins.module_utils.serial_ports import log as spl
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere import datastore_file as dsf


@pytest.mark.parametrize("path,expected", [
    ("[LocalDS_0] vm/serial.log", ("LocalDS_0", "vm/serial.log")),
    ("[my ds]   web01/console out.log", ("my ds", "web01/console out.log")),
    ("[ds]/abs.log", ("ds", "abs.log")),
])
def test_parse_datastore_path(path, expected):
    assert dsf.parse_datastore_path(path) == expected


@pytest.mark.parametrize("path", ["vm/serial.log", "[] a.log", "[ds] ", "", None, "[ds"])
def test_parse_datastore_path_refuses(path):
    with pytest.raises(ValueError):
        dsf.parse_datastore_path(path)


def test_folder_url_quotes_path_and_datacenter_with_its_folders():
    assert dsf.folder_url("/Europe/DC 1/", "my ds", "web 01/serial#1.log") == (
        "/folder/web%2001/serial%231.log?dcPath=Europe%2FDC+1&dsName=my+ds")


@pytest.mark.parametrize("header,expected", [
    ("bytes 0-99/1000", (0, 99, 1000)),
    ("bytes */1000", (None, None, 1000)),
    ("bytes 0--1/0", (0, -1, 0)),
    ("bytes 5-9/*", (5, 9, None)),
    ("", None), (None, None), ("items 0-1/2", None),
])
def test_parse_content_range(header, expected):
    assert dsf.parse_content_range(header) == expected


@pytest.mark.parametrize("data,lines,at_start,expected", [
    (b"a\nb\nc\n", 2, False, 2),
    (b"a\nb\nc", 2, False, 2),  # the unfinished last line counts
    (b"a\nb\nc\n", 3, False, None),  # the line before is not known to be complete
    (b"a\nb\nc\n", 3, True, 0),
    (b"a\nb\nc\n", 9, True, 0),
    (b"a\nb\n", 0, False, 4),
    (b"", 5, True, 0),
])
def test_tail_cut(data, lines, at_start, expected):
    assert dsf.tail_cut(data, lines, at_start) == expected


def test_lines_and_decoding():
    assert dsf.split_lines(dsf.decode(b"one\r\ntwo\n\xffthree")) == ["one", "two", "\ufffdthree"]
    assert dsf.split_lines("") == [] and dsf.split_lines("\n") == [""]
    assert dsf.first_match(re.compile("login: $"), ["a", "web01 login: ", "b login: "]) == "web01 login: "
    assert dsf.session_cookie_header('vmware_soap_session="abc"; Path=/; HttpOnly') == 'vmware_soap_session="abc"'


PORTS = {
    1: {"number": 1, "label": "Serial port 1", "backing": {"type": "network", "service_uri": "web01",
                                                           "proxy_uri": "telnet://admin:pw@vspc:13370"}},
    2: {"number": 2, "label": "Serial port 2", "backing": {"type": "file", "file_path": "[ds] a.log"}},
    3: {"number": 3, "label": "Serial port 3", "backing": {"type": "pipe", "pipe_name": "/tmp/p"}},
}


def test_select_port():
    assert spl.select_port(PORTS, None, "VM 'x'")["number"] == 2
    assert spl.select_port(PORTS, 2, "VM 'x'")["number"] == 2
    with pytest.raises(ValueError, match="through the Virtual Serial Port Concentrator telnet://admin:\\*+@vspc:13370: "
                                         "the output lives on the concentrator"):
        spl.select_port(PORTS, 1, "VM 'x'")
    with pytest.raises(ValueError, match=r"named pipe \(/tmp/p\)"):
        spl.select_port(PORTS, 3, "VM 'x'")
    with pytest.raises(ValueError, match=r"has no serial port 9 \(its ports: 1 \(network\), 2 \(file\), 3 \(pipe\)\)"):
        spl.select_port(PORTS, 9, "VM 'x'")
    two = dict(PORTS, **{"4": {"number": 4, "label": "", "backing": {"type": "file", "file_path": "[ds] b"}}})
    two = {1: PORTS[1], 2: PORTS[2], 4: two["4"]}
    with pytest.raises(ValueError, match="2 serial ports with an output file .*say which with number"):
        spl.select_port(two, None, "VM 'x'")
    with pytest.raises(ValueError, match="has no serial port;"):
        spl.select_port({}, None, "VM 'x'")


def test_datacenter_path_includes_parent_folders_not_the_root():
    entities = {
        "vm-1": ("VirtualMachine", "web01", "group-v3"),
        "group-v3": ("Folder", "vm", "datacenter-2"),
        "datacenter-2": ("Datacenter", "DC0", "group-f1"),
        "group-f1": ("Folder", "Europe", "group-d1"),
        "group-d1": ("Folder", "Datacenters", None),
    }
    assert spl.datacenter_path(entities, "vm-1") == "Europe/DC0"
    entities["datacenter-2"] = ("Datacenter", "DC0", "group-d1")
    assert spl.datacenter_path(entities, "vm-1") == "DC0"
    assert spl.datacenter_path({"vm-1": ("VirtualMachine", "x", "group-x")}, "vm-1") is None


PARAMS = dict(tail_lines=None, since=None, number=None, max_bytes=65536, wait_for=None, wait_timeout=None,
              poll_interval=None, dest=None, dest_whole_file=False)


@pytest.mark.parametrize("changes,errors", [
    (dict(), []),
    (dict(tail_lines=-1, since=-2), ["tail_lines is -1; it must be 0 or more", "since is -2; it must be 0 or more"]),
    (dict(number=40), ["number is 40; serial ports are numbered 1-32"]),
    (dict(max_bytes=0), ["max_bytes is 0; it must be at least 1"]),
    (dict(wait_for="(x"), ["wait_for '(x' is not a regular expression: missing ), unterminated subpattern at position 0"]),
    (dict(wait_for=""), ["wait_for must not be empty"]),
    (dict(wait_timeout=3), ["wait_timeout is only used with wait_for"]),
    (dict(wait_for="x", wait_timeout=0, poll_interval=-1),
     ["wait_timeout is 0; it is in seconds and must be more than 0",
      "poll_interval is -1; it is in seconds and must be more than 0"]),
    (dict(dest_whole_file=True), ["dest_whole_file needs dest"]),
    (dict(dest="/tmp/dir/"), ["dest '/tmp/dir/' is not a file path"]),
])
def test_validate(changes, errors):
    params = dict(PARAMS, **changes)
    assert spl.validate(params) == errors


class FakeServer(object):
    """Answers ranged GETs of ``content`` like vCenter's /folder (Go's file server): 206 with
    Content-Range, 416 with ``bytes */size`` past the end. Records each Range and the bytes served."""

    def __init__(self, content):
        self.content = content
        self.requests = []
        self.bytes_read = 0

    def get(self, range_header, limit):
        size = len(self.content)
        spec = range_header.split("=", 1)[1]
        first, last = spec.split("-", 1) if not spec.startswith("-") else ("", spec[1:])
        if first == "":
            start, end = max(0, size - int(last)), size - 1
        else:
            start, end = int(first), min(int(last), size - 1) if last else size - 1
            if start >= size:
                self.requests.append((range_header, 0))
                return dsf.Answer(416, (None, None, size), b"")
        body = self.content[start:end + 1]
        assert len(body) <= limit
        self.requests.append((range_header, len(body)))
        self.bytes_read += len(body)
        return dsf.Answer(206, (start, end, size), body)


def lines(first, count, width=0):
    return b"".join(b"%s%d\n" % (b"x" * width, i) for i in range(first, first + count))


def test_read_tail_of_a_large_file_is_bounded():
    server = FakeServer(b"\0" * (10 << 20) + lines(0, 1000, width=90))
    read = dsf.read_tail(server, 20, 65536)
    assert dsf.split_lines(dsf.decode(read.data)) == ["x" * 90 + str(i) for i in range(980, 1000)]
    assert server.requests == [("bytes=-8192", 8192)] and read.size == len(server.content)
    read = dsf.read_tail(server, 200, 65536)
    assert len(dsf.split_lines(dsf.decode(read.data))) == 200
    assert [request[0] for request in server.requests[1:]] == [
        "bytes=-8192", "bytes=%d-%d" % (read.size - 16384, read.size - 8193),
        "bytes=%d-%d" % (read.size - 32768, read.size - 16385)]
    server.requests[:] = []
    read = dsf.read_tail(server, 5000, 20000)  # more lines than max_bytes holds: capped, complete lines only
    assert read.capped and sum(request[1] for request in server.requests) == 20000
    assert dsf.decode(read.data).startswith("x") and read.data.endswith(b"999\n")


def test_read_tail_small_empty_and_zero_lines():
    assert dsf.read_tail(FakeServer(b"a\nb\n"), 50, 100).data == b"a\nb\n"
    empty = dsf.read_tail(FakeServer(b""), 50, 100)
    assert (empty.data, empty.size) == (b"", 0)
    server = FakeServer(lines(0, 100))
    zero = dsf.read_tail(server, 0, 100)
    assert (zero.data, zero.start, zero.size) == (b"", len(server.content), len(server.content))
    assert server.requests == [("bytes=-1", 1)]


def test_read_from_since_and_truncation():
    server = FakeServer(lines(0, 10))
    read = dsf.read_from(server, 10, 1000)
    assert read.start == 10 and read.data == server.content[10:] and not read.truncated
    assert server.requests == [("bytes=10-1009", len(server.content) - 10)]
    nothing = dsf.read_from(server, len(server.content), 1000)
    assert (nothing.data, nothing.size, nothing.truncated) == (b"", len(server.content), False)
    shorter = dsf.read_from(server, 5000, 1000)
    assert shorter.truncated and shorter.start == 0 and shorter.data == server.content
    capped = dsf.read_from(server, 0, 7)
    assert capped.capped and capped.data == server.content[:7]


def test_collect_waits_reading_only_new_bytes_and_joins_a_split_prompt():
    server = FakeServer(b"boot\n")
    writes = [b"svc 1\n", b"", b"web01 log", b"in: "]
    now = [0.0]

    def sleep(seconds):
        now[0] += seconds
        if writes:
            server.content += writes.pop(0)

    got = spl.collect(server, 50, None, 65536, wait_for=re.compile("login: $"), wait_timeout=60, poll_interval=2,
                      clock=lambda: now[0], sleep=sleep)
    assert got.matched == "web01 login: " and got.lines == ["boot", "svc 1", "web01 login: "]
    assert got.polls == 4 and len(server.requests) == 5
    assert server.bytes_read == len(server.content)  # every byte read once
    assert got.next_offset == len(server.content)


def test_collect_times_out_and_sees_a_truncation():
    server = FakeServer(lines(0, 5))
    now = [0.0]

    def sleep(seconds):
        now[0] += seconds
        server.content = b"rebooted\n"

    got = spl.collect(server, 3, None, 65536, wait_for=re.compile("login"), wait_timeout=5, poll_interval=2,
                      clock=lambda: now[0], sleep=sleep)
    assert got.matched is None and got.truncated and got.lines == ["3", "4", "rebooted"]
    assert got.polls == 3


@pytest.mark.parametrize("status,kind,text", [
    (404, "not_found", "[ds] vm/serial.log on datastore ds does not exist (HTTP 404): the VM has not written"),
    (401, "permission", "lacks System.View on the root folder, Datastore.Browse and Datastore.FileManagement"),
    (403, "permission", "(HTTP 403)"),
    (503, "fault", "the datastore is not accessible now"),
    (500, "fault", "vCenter answered HTTP 500 for [ds] vm/serial.log on datastore ds."),
])
def test_refusals_say_what_is_wrong(status, kind, text):
    reader = dsf.FolderReader.__new__(dsf.FolderReader)
    reader.file_path, reader.datastore = "[ds] vm/serial.log", "ds"
    error = reader.refusal(status)
    assert error.kind == kind and text in error.msg


def test_collect_reads_on_without_pause_while_behind_and_waits_for_new_output_only():
    server = FakeServer(b"old login: \n")
    now = [0.0]
    pauses = []

    def sleep(seconds):
        pauses.append(seconds)
        now[0] += seconds
        if len(pauses) == 1:
            server.content += lines(0, 50) + b"new login: "

    got = spl.collect(server, 0, None, 100, wait_for=re.compile("login: $"), wait_timeout=60, poll_interval=2,
                      clock=lambda: now[0], sleep=sleep)
    assert got.matched == "new login: "  # tail_lines 0: the old prompt is not searched
    assert len(pauses) == 1 and got.polls == 2  # 151 new bytes: 100, then 51 at once (no pause while behind)
