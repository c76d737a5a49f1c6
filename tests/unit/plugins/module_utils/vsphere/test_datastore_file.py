"""The pure parts of vm_serial_port_log in vsphere/datastore_file.py: datastore paths, the /folder URL,
Content-Range, where a tail starts, lines, the reads (read_tail, read_from) against a fake server
that answers Range requests like vCenter and counts the bytes it serves, and the refusals."""
import re

import pytest
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere import datastore_file as dsf

from .helpers import FakeServer, lines


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
