"""The pure parts of vm_serial_port_log in serial_ports/log.py: the port choice, the datacenter path,
option validation, and collect (the wait for a pattern) against a fake server that answers Range
requests like vCenter and counts the bytes it serves."""
import re

import pytest
from ansible_collections.vmchannels.vsphere.plugins.module_utils.serial_ports import log as spl

from ..vsphere.helpers import FakeServer, lines


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
