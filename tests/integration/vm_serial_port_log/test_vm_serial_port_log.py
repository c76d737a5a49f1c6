"""vm_serial_port_log through real ansible-playbook runs against a simulator whose datacenter sits in
a folder (F0/DC0). The simulator runs no guest: the tests write the serial port's output into the
datastore's local directory themselves, and count at the launcher (its trace) the /folder requests
and the bytes served."""
import base64
import http.client
import importlib
import json
import os
import ssl
import threading
import time

import pytest
import yaml
from pyVmomi import vim

from conftest import module_simulator
from vsphere_helpers import add_serial_port, find_vm

MOD = "vmchannels.vsphere.vm_serial_port_log"

sim, si, play = module_simulator(vm=4, folder=1)


def datastore_dir(si):
    view = si.content.viewManager.CreateContainerView(si.content.rootFolder, [vim.Datastore], True)
    try:
        return [ds for ds in view.view if ds.name == "LocalDS_0"][0].info.url
    finally:
        view.Destroy()


def file_port(si, vm_name, relative, unit=0):
    """Give the VM a file-backed port writing to ``[LocalDS_0] relative`` (once); the local path."""
    vm = find_vm(si, vm_name)
    existing = [d for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualSerialPort)
                and d.unitNumber == unit]
    if not existing:
        add_serial_port(vm, unit, vim.vm.device.VirtualSerialPort.FileBackingInfo(fileName="[LocalDS_0] " + relative))
    path = os.path.join(datastore_dir(si), relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path


def log_task(title, **args):
    return {"name": title, MOD: args, "register": "out", "ignore_errors": True}


def ok(run, title):
    """The result of task ``title``, which must have succeeded."""
    entry = run.task(title)
    assert entry["status"] == "ok", entry
    return entry["result"]


def failed(run, title):
    """The result of task ``title``, which must have failed."""
    entry = run.task(title)
    assert entry["status"] == "failed", entry
    return entry["result"]


def lines_bytes(first, count, prefix="line"):
    return b"".join(b"%s %d\n" % (prefix.encode(), i) for i in range(first, first + count))


@pytest.mark.matrix
def test_tail_of_a_1_gib_file_reads_kilobytes(play, si, sim):
    path = file_port(si, "DC0_H0_VM0", "DC0_H0_VM0/serial.log")
    with open(path, "wb") as f:  # a sparse 1 GiB file whose last lines are the console's
        f.truncate(1 << 30)
        f.seek(1 << 30)
        f.write(lines_bytes(0, 500))
    size = os.path.getsize(path)
    sim.reset_trace()
    run = play([log_task("tail", name="DC0_H0_VM0", tail_lines=20)])
    out = ok(run, "tail")
    assert out["lines"] == ["line %d" % i for i in range(480, 500)]
    assert (out["size"], out["next_offset"], out["file_path"]) == (size, size, "[LocalDS_0] DC0_H0_VM0/serial.log")
    assert out["datacenter_path"] == "F0/DC0" and out["changed"] is False and out["truncated"] is False
    documented = set(yaml.safe_load(importlib.import_module(
        "ansible_collections.vmchannels.vsphere.plugins.modules.vm_serial_port_log").RETURN))
    assert set(k for k in out if not k.startswith("_")) - {"changed", "invocation"} <= documented
    served = sim.folder_requests()
    assert [(r["status"], r["range"]) for r in served] == [(206, "bytes=-8192")]
    assert sum(r["served"] for r in served) == out["bytes_read"] == 8192
    # the run's own session: one login, the same session as the SOAP requests
    soap = sim.soap_requests()
    assert [r["method"] for r in soap].count("Login") == 1
    assert served[0]["session"] == [r for r in soap if r["method"] == "RetrievePropertiesEx"][-1]["session"] != ""


def test_tail_reads_backwards_in_growing_ranges_bounded_by_max_bytes(play, si, sim):
    path = file_port(si, "DC0_H0_VM0", "DC0_H0_VM0/serial.log")
    with open(path, "wb") as f:
        f.truncate(1 << 30)
        f.seek(1 << 30)
        f.write(lines_bytes(0, 4000, prefix="x" * 90))  # about 95 bytes a line
    sim.reset_trace()
    run = play([log_task("200", name="DC0_H0_VM0", tail_lines=200),
                log_task("capped", name="DC0_H0_VM0", tail_lines=3000, max_bytes=40000)])
    assert ok(run, "200")["lines"][-1] == "x" * 90 + " 3999" and len(ok(run, "200")["lines"]) == 200
    capped = ok(run, "capped")
    assert capped["capped"] is True and capped["bytes_read"] <= 40000 and 0 < len(capped["lines"]) < 3000
    served = sim.folder_requests()
    assert [r["range"] for r in served[:2]][0] == "bytes=-8192" and served[1]["range"].startswith("bytes=")
    # 8 KiB, then 8, 16 KiB more: 200 lines of about 95 bytes; the capped one stops at max_bytes
    size = os.path.getsize(path)
    assert [r["range"] for r in served[:3]] == [
        "bytes=-8192", "bytes=%d-%d" % (size - 16384, size - 8193), "bytes=%d-%d" % (size - 32768, size - 16385)]
    assert ok(run, "200")["bytes_read"] == 32768 and ok(run, "200")["requests"] == 3
    assert capped["bytes_read"] == 40000
    assert sum(r["served"] for r in served) == 32768 + 40000


@pytest.mark.matrix
def test_since_round_trip_and_truncation(play, si, sim):
    path = file_port(si, "DC0_H0_VM1", "DC0_H0_VM1/serial.log")
    with open(path, "wb") as f:
        f.write(lines_bytes(0, 10))
    run = play([log_task("first", name="DC0_H0_VM1", tail_lines=5)])
    first = ok(run, "first")
    assert first["lines"] == ["line %d" % i for i in range(5, 10)]
    with open(path, "ab") as f:
        f.write(lines_bytes(10, 3) + b"partial \xff\xfe")
    sim.reset_trace()
    run = play([log_task("since", name="DC0_H0_VM1", since=first["next_offset"]),
                log_task("nothing new", name="DC0_H0_VM1", since=os.path.getsize(path))])
    since = ok(run, "since")
    assert since["lines"] == ["line 10", "line 11", "line 12", "partial \ufffd\ufffd"]
    assert since["next_offset"] == since["size"] == os.path.getsize(path) and since["truncated"] is False
    nothing = ok(run, "nothing new")
    assert nothing["lines"] == [] and nothing["next_offset"] == os.path.getsize(path)
    assert [r["status"] for r in sim.folder_requests()] == [206, 416]
    # the guest's log was replaced by a shorter one: read from the start, and said so
    with open(path, "wb") as f:
        f.write(b"booting again\n")
    run = play([log_task("truncated", name="DC0_H0_VM1", since=since["next_offset"])])
    truncated = ok(run, "truncated")
    assert truncated["truncated"] is True and truncated["lines"] == ["booting again"]
    assert truncated["next_offset"] == 14


@pytest.mark.matrix
def test_wait_for_login_while_the_guest_writes(play, si, sim):
    path = file_port(si, "DC0_H0_VM1", "DC0_H0_VM1/serial.log")
    with open(path, "wb") as f:
        f.write(b"[    0.000000] Linux version 6.1.0\n")

    def guest():  # starts writing once the module has read the file a first time
        deadline = time.monotonic() + 60
        while not sim.folder_requests() and time.monotonic() < deadline:
            time.sleep(0.05)
        for i in range(6):
            time.sleep(0.5)
            with open(path, "ab") as f:
                f.write(b"[    %d.000000] starting service %d\n" % (i + 1, i))
        with open(path, "ab") as f:
            f.write(b"\r\nDebian GNU/Linux 12 web01 ttyS0\r\n\r\nweb01 log")
            f.flush()
            time.sleep(0.3)
            f.write(b"in: ")  # the prompt has no line break, and arrives in two writes

    writer = threading.Thread(target=guest)
    sim.reset_trace()
    writer.start()
    try:
        run = play([log_task("wait", name="DC0_H0_VM1", wait_for="login: $", wait_timeout=60, poll_interval=0.4)])
    finally:
        writer.join()
    out = ok(run, "wait")
    assert out["matched"] == "web01 login: "
    assert out["lines"][-1] == "web01 login: " and "Debian GNU/Linux 12 web01 ttyS0" in out["lines"]
    assert out["polls"] >= 3
    served = sim.folder_requests()
    # one request per poll, each of the bytes after the previous one
    assert len(served) == out["requests"] == 1 + out["polls"]
    # every byte of the file served once (a poll that finds nothing new is a 416 with a short error text)
    assert sum(r["served"] for r in served if r["status"] == 206) == out["bytes_read"] == os.path.getsize(path)
    assert set(r["status"] for r in served) <= {206, 416}
    assert all(r["range"].startswith("bytes=") and not r["range"].startswith("bytes=-") for r in served[1:])


def test_a_session_ended_while_waiting_is_renewed(play, si, sim):
    """vCenter ends the run's session between two polls (expiry, an administrator): the next
    /folder request is refused with 401; the module asks the session, finds it ended, logs in anew
    and sends the poll again, and the wait goes on."""
    path = file_port(si, "DC0_H0_VM1", "DC0_H0_VM1/serial.log")
    with open(path, "wb") as f:
        f.write(b"booting\n")
    ended = []

    def admin_then_guest():
        deadline = time.monotonic() + 30
        while not sim.folder_requests() and time.monotonic() < deadline:
            time.sleep(0.1)
        ended.append(sim.end_sessions(keep_cookie=si._stub.cookie.split(";")[0]))
        time.sleep(1.5)
        with open(path, "ab") as f:
            f.write(b"web01 login: ")

    worker = threading.Thread(target=admin_then_guest)
    sim.reset_trace()
    worker.start()
    try:
        run = play([log_task("wait", name="DC0_H0_VM1", wait_for="login: $", wait_timeout=60, poll_interval=0.5)])
    finally:
        worker.join()
    out = ok(run, "wait")
    assert ended[0] >= 1 and out["matched"] == "web01 login: "
    statuses = [r["status"] for r in sim.folder_requests()]
    assert statuses.count(401) == 1 and statuses[-1] == 206, statuses
    assert [r["method"] for r in sim.soap_requests()].count("Login") == 2  # the run's login, then one renewal


def test_wait_for_timeout_fails_with_the_last_lines(play, si, sim):
    path = file_port(si, "DC0_H0_VM1", "DC0_H0_VM1/serial.log")
    with open(path, "wb") as f:
        f.write(lines_bytes(0, 30) + b"Kernel panic - not syncing: VFS: Unable to mount root fs\n")
    started = time.monotonic()
    run = play([log_task("wait", name="DC0_H0_VM1", wait_for="login:", wait_timeout=1.5, poll_interval=0.5)])
    out = failed(run, "wait")
    assert out["error_kind"] == "timeout"
    assert "within 1.5 seconds" in out["msg"] and out["msg"].rstrip().endswith("Unable to mount root fs")
    assert out["lines"][-1] == "Kernel panic - not syncing: VFS: Unable to mount root fs" and len(out["lines"]) == 31
    assert out["polls"] >= 2 and time.monotonic() - started < 30


def test_ports_without_a_file_are_refused_with_where_their_output_goes(play, si, sim):
    vm = find_vm(si, "DC0_H0_VM2")
    port = vim.vm.device.VirtualSerialPort
    add_serial_port(vm, 0, port.URIBackingInfo(serviceURI="web01", direction="client",
                                               proxyURI="telnet://vspc.example.com:13370"))
    add_serial_port(vm, 1, port.PipeBackingInfo(pipeName="/tmp/com2", endpoint="client"))
    sim.reset_trace()
    run = play([log_task("vspc", name="DC0_H0_VM2", number=1), log_task("pipe", name="DC0_H0_VM2", number=2),
                log_task("none", name="DC0_H0_VM2"), log_task("absent", name="DC0_H0_VM2", number=7)])
    vspc = failed(run, "vspc")
    assert "vspc.example.com:13370" in vspc["msg"] and "concentrator" in vspc["msg"]
    assert "named pipe (/tmp/com2)" in run.result("pipe")["msg"]
    assert "no serial port with an output file" in run.result("none")["msg"]
    assert "has no serial port 7 (its ports: 1 (network), 2 (pipe))" in run.result("absent")["msg"]
    assert sim.folder_requests() == []


def test_missing_file_and_validation(play, si, sim):
    vm = find_vm(si, "DC0_H0_VM3")
    add_serial_port(vm, 0, vim.vm.device.VirtualSerialPort.FileBackingInfo(fileName="[LocalDS_0] DC0_H0_VM3/none.log"))
    sim.reset_trace()
    run = play([log_task("missing", name="DC0_H0_VM3")])
    missing = failed(run, "missing")
    assert missing["error_kind"] == "not_found"
    assert "[LocalDS_0] DC0_H0_VM3/none.log on datastore LocalDS_0 does not exist (HTTP 404)" in missing["msg"]
    sim.reset_trace()
    run = play([log_task("bad", name="DC0_H0_VM3", wait_for="(", tail_lines=-1, wait_timeout=5),
                log_task("timeout alone", name="DC0_H0_VM3", wait_timeout=5)])
    bad = failed(run, "bad")["msg"]
    assert "wait_for '(' is not a regular expression" in bad and "tail_lines is -1" in bad
    assert "wait_timeout is only used with wait_for" in run.result("timeout alone")["msg"]
    assert sum(sim.soap_calls().values()) == 0 and sim.folder_requests() == []


def test_dest_changed_only_when_its_content_changes(play, si, sim, tmp_path):
    path = file_port(si, "DC0_C0_RP0_VM0", "DC0_C0_RP0_VM0/serial.log")
    with open(path, "wb") as f:
        f.write(lines_bytes(0, 100))
    dest = tmp_path / "console.log"
    whole = tmp_path / "whole.log"
    run = play([log_task("check", name="DC0_C0_RP0_VM0", tail_lines=3, dest=str(dest)),
                ], args=["--check"])
    assert ok(run, "check")["changed"] is True and not dest.exists()
    run = play([log_task("write", name="DC0_C0_RP0_VM0", tail_lines=3, dest=str(dest)),
                log_task("again", name="DC0_C0_RP0_VM0", tail_lines=3, dest=str(dest)),
                log_task("whole", name="DC0_C0_RP0_VM0", tail_lines=0, dest=str(whole), dest_whole_file=True)])
    assert ok(run, "write")["changed"] is True and dest.read_bytes() == b"line 97\nline 98\nline 99\n"
    assert ok(run, "again")["changed"] is False
    assert ok(run, "whole")["changed"] is True and whole.read_bytes() == lines_bytes(0, 100)


def _get(sim, path, cookie=None, basic=None):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection(sim.host, sim.port, context=ctx, timeout=10)
    headers = {"Cookie": cookie} if cookie else {}
    if basic:
        headers["Authorization"] = "Basic " + base64.b64encode(basic.encode()).decode()
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_launcher_folder_wants_a_live_session_and_the_whole_datacenter_path(si, sim):
    """What the module's reads rely on, checked at the launcher: a request without a session
    cookie is refused like vCenter does, and a datacenter inside a folder is F0/DC0, not DC0."""
    path = file_port(si, "DC0_H0_VM0", "DC0_H0_VM0/serial.log")
    with open(path, "wb") as f:
        f.write(b"hello\n")
    url = "/folder/DC0_H0_VM0/serial.log?dcPath=%s&dsName=LocalDS_0"
    cookie = si._stub.cookie.split(";")[0]
    assert _get(sim, url % "F0/DC0") == (401, b"")
    assert _get(sim, url % "F0/DC0", cookie="vmware_soap_session=not-a-session")[0] == 401
    assert _get(sim, url % "DC0", cookie=cookie)[0] == 404
    assert _get(sim, url % "F0/DC0", cookie=cookie) == (200, b"hello\n")
    # HTTP Basic credentials, as curl -u or get_url send them (vCenter takes them on /folder too)
    assert _get(sim, url % "F0/DC0", basic="%s:%s" % (sim.username, sim.password)) == (200, b"hello\n")
    assert _get(sim, url % "F0/DC0", basic="%s:" % sim.username)[0] == 401


def test_shipped_module_reads_the_same_and_no_cookie_is_shown(play, si, sim):
    path = file_port(si, "DC0_C0_RP0_VM1", "DC0_C0_RP0_VM1/serial.log")
    with open(path, "wb") as f:
        f.write(lines_bytes(0, 70))
    tasks = [log_task("tail", name="DC0_C0_RP0_VM1", tail_lines=10)]
    inside = play(tasks, args=["-vvv"])
    shipped = play(tasks, args=["-vvv"], env={"VMCHANNELS_IN_PROCESS": "false"})
    assert "inside the Ansible worker" in inside.stdout and "as a shipped module" in shipped.stdout
    assert ok(inside, "tail")["lines"] == ok(shipped, "tail")["lines"] == ["line %d" % i for i in range(60, 70)]
    for run in (inside, shipped):
        assert "vmware_soap_session" not in run.stdout + run.stderr + json.dumps(run.results)
