"""Bench: the end of VMs' serial console files, vm_serial_port_log against the simplest way a user
reads them today: ``ansible.builtin.get_url`` of the whole file from vCenter's datastore file
access (``/folder``, with the user's credentials as HTTP Basic auth), then ``tail`` on the
controller.

    bench/serial_log.py            # the tail of a 1 GiB log (one VM); the tails of 100 VMs (16 MiB logs)
    bench/serial_log.py --smoke    # 4 VMs, small files: proves the scenarios run (the smoke test)

Each measurement is one whole ``ansible-playbook`` run, timed from the outside, against the embedded
simulator, whose launcher counts the SOAP requests and, per ``/folder`` request, the bytes it served.
The logs are sparse files (the simulator's datastore is a local directory): only their last 64 KiB
hold lines, which is all a tail needs. Results: ``<out>/serial_log.md`` and ``<out>/raw/serial_log.json``.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "vcsim"))

from vcsimctl import Simulator  # noqa: E402  (stdlib only)

CALLBACKS = os.path.join(ROOT, "tests", "integration", "callback_plugins")
TAIL_TEXT = 64 * 1024  # the written end of every log


def project_venv():
    for candidate in (os.environ.get("VMCH_VENV"), os.path.join(ROOT, ".venv"),
                      os.path.dirname(os.path.dirname(sys.executable))):
        if candidate and os.path.exists(os.path.join(candidate, "bin", "ansible-playbook")):
            return candidate
    raise SystemExit("no virtual environment with ansible-playbook: run scripts/bootstrap")


def last_line(vm):
    return "console of %s: the last line" % vm


def write_log(path, size, vm):
    """A sparse file of ``size`` bytes whose last 64 KiB (or all of it, when smaller) are lines."""
    lines, n = [], 0
    while sum(len(x) for x in lines) < min(size, TAIL_TEXT) - 64:
        lines.append(b"[%8d.000000] %s: boot message %d\n" % (n, vm.encode(), n))
        n += 1
    lines.append(last_line(vm).encode() + b"\n")
    text = b"".join(lines)[-min(size, TAIL_TEXT):]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.truncate(size - len(text))
        handle.seek(size - len(text))
        handle.write(text)


def prepare(sim, big_size, group_size):
    """Every VM gets a port writing to ``[LocalDS_0] <vm>/serial.log`` and a log; the first VM's is
    ``big_size`` bytes (the one-VM scenario), the others' ``group_size`` (the group scenario). Returns the VM names (the first one first)."""
    from pyVim.connect import Disconnect, SmartConnect
    from pyVim.task import WaitForTask
    from pyVmomi import vim

    si = SmartConnect(host=sim.host, port=sim.port, user=sim.username, pwd=sim.password, disableSslCertValidation=True)
    try:
        content = si.content
        view = content.viewManager.CreateContainerView(content.rootFolder, [vim.Datastore], True)
        directory = [ds for ds in view.view if ds.name == "LocalDS_0"][0].info.url
        view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
        vms = sorted(view.view, key=lambda vm: vm.name)
        names = []
        for i, vm in enumerate(vms):
            sio = [d for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualSIOController)][0]
            port = vim.vm.device.VirtualSerialPort(
                key=-1, controllerKey=sio.key, unitNumber=0, yieldOnPoll=True,
                backing=vim.vm.device.VirtualSerialPort.FileBackingInfo(fileName="[LocalDS_0] %s/serial.log" % vm.name))
            spec = vim.vm.ConfigSpec(deviceChange=[vim.vm.device.VirtualDeviceSpec(operation="add", device=port)])
            WaitForTask(vm.ReconfigVM_Task(spec=spec))
            write_log(os.path.join(directory, vm.name, "serial.log"), big_size if i == 0 else group_size, vm.name)
            names.append(vm.name)
        return names
    finally:
        Disconnect(si)


def ours_play(tail_lines):
    return [{"name": "Tail with vm_serial_port_log", "hosts": "vms", "gather_facts": False, "tasks": [
        {"name": "tail", "vmchannels.vsphere.vm_serial_port_log": {
            "name": "{{ inventory_hostname }}", "tail_lines": tail_lines},
         "delegate_to": "localhost"}]}]


def baseline_play(sim, tail_lines, workdir):
    """What a user writes today: download the file from vCenter's /folder, tail it, remove it."""
    dest = os.path.join(workdir, "downloads", "{{ inventory_hostname }}.log")
    url = "https://%s:%s/folder/{{ inventory_hostname }}/serial.log?dcPath=DC0&dsName=LocalDS_0" % (sim.host, sim.port)
    return [{"name": "Tail with get_url and tail", "hosts": "vms", "gather_facts": False, "tasks": [
        {"name": "download", "ansible.builtin.get_url": {
            "url": url, "dest": dest, "force": True, "url_username": "{{ lookup('env', 'VMWARE_USER') }}",
            "url_password": "{{ lookup('env', 'VMWARE_PASSWORD') }}", "force_basic_auth": True,
            "validate_certs": False, "mode": "0600"}, "delegate_to": "localhost"},
        {"name": "tail", "ansible.builtin.command": {"argv": ["tail", "-n", str(tail_lines), dest]},
         "changed_when": False, "delegate_to": "localhost"},
        {"name": "remove", "ansible.builtin.file": {"path": dest, "state": "absent"}, "delegate_to": "localhost"}]}]


def run(sim, venv, workdir, label, plays, hosts, forks):
    os.makedirs(os.path.join(workdir, "downloads"), exist_ok=True)
    playbook = os.path.join(workdir, "%s.yml" % label)
    with open(playbook, "w") as handle:
        json.dump(plays, handle)
    inventory = os.path.join(workdir, "%s.ini" % label)
    with open(inventory, "w") as handle:
        handle.write("[vms]\n%s\n\n[vms:vars]\nansible_connection=local\n" % "\n".join(hosts))
        handle.write("\n[all:vars]\nansible_python_interpreter=%s\n" % os.path.join(venv, "bin", "python"))
    results = os.path.join(workdir, "%s.results.jsonl" % label)
    env = dict(os.environ)
    for key in [k for k in env if k.startswith(("VMWARE_", "ANSIBLE_", "VMCHANNELS_"))]:
        del env[key]
    env.update(sim.env())
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": os.path.join(ROOT, ".build", "collections"),
        "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false", "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_CALLBACK_PLUGINS": CALLBACKS, "ANSIBLE_CALLBACKS_ENABLED": "record_results",
        "RECORD_RESULTS_FILE": results, "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_LOCAL_TEMP": os.path.join(workdir, "ansible-tmp"),
        "PATH": os.path.join(venv, "bin") + os.pathsep + os.environ.get("PATH", ""),
    })
    sim.reset_trace()
    started = time.monotonic()
    proc = subprocess.run([os.path.join(venv, "bin", "ansible-playbook"), "-i", inventory, "-f", str(forks), playbook],
                          cwd=workdir, env=env, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    served = sim.folder_requests()
    entries = []
    if os.path.exists(results):
        with open(results) as handle:
            entries = [json.loads(line) for line in handle if line.strip()]
    verified = 0
    for host in hosts:
        tails = [e["result"] for e in entries if e["host"] == host and e["task"] == "tail" and e["status"] == "ok"]
        got = (tails[0].get("lines") or tails[0].get("stdout_lines") or [None])[-1] if tails else None
        verified += got == last_line(host)
    return dict(label=label, rc=proc.returncode, vms=len(hosts), wall_s=round(wall, 2),
                soap=sum(sim.soap_calls().values()), folder_requests=len(served),
                bytes_served=sum(r.get("served", 0) for r in served), verified=verified,
                failed=[e["task"] + " " + e["host"] for e in entries if e["status"] == "failed"][:5],
                stderr=proc.stderr[-1500:] if proc.returncode else "")


def _size(n):
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= factor:
            return "%g %s" % (round(n / factor, 1), unit)
    return "%d B" % n


def render(report):
    lines = ["# Bench: reading the end of serial console logs", "",
             "vm_serial_port_log (`tail_lines: %d`) against `ansible.builtin.get_url` of the whole file from "
             "vCenter's `/folder` (HTTP Basic auth) and `tail -n %d` on the controller; simulator of %d VMs, "
             "forks %d. Bytes counted by the launcher per `/folder` request."
             % (report["tail_lines"], report["tail_lines"], report["vms"] + 1, report["forks"]), "",
             "| scenario | log size | way | wall s | SOAP requests | /folder requests | bytes served | verified |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | --- |"]
    for row in report["runs"]:
        lines.append("| %s | %s | %s | %.2f | %d | %d | %s | %s |" % (
            row["scenario"], _size(row["log_size"]), row["way"], row["wall_s"], row["soap"], row["folder_requests"],
            _size(row["bytes_served"]), "yes (%d/%d)" % (row["verified"], row["vms"]) if row["verified"] == row["vms"]
            else "NO (%d/%d) %s" % (row["verified"], row["vms"], row["failed"])))
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=100, help="VMs of the group scenario (even; default 100)")
    parser.add_argument("--big-size", type=int, default=1 << 30, help="bytes of the one big log (default 1 GiB)")
    parser.add_argument("--group-size", type=int, default=16 << 20, help="bytes of each log of the group (16 MiB)")
    parser.add_argument("--tail-lines", type=int, default=50)
    parser.add_argument("--forks", type=int, default=10)
    parser.add_argument("--smoke", action="store_true", help="3 VMs of 256 KiB logs, one of 2 MiB")
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    args = parser.parse_args(argv)
    if args.smoke:
        args.vms, args.big_size, args.group_size = 3, 2 << 20, 256 << 10
    venv = project_venv()
    workdir = tempfile.mkdtemp(prefix="bench-serial-log-")
    report = dict(vms=args.vms, forks=args.forks, tail_lines=args.tail_lines, runs=[])
    # The simulator has 2 VMs per Model.Machine: the big log's VM and at least --vms others.
    with Simulator(vm=args.vms // 2 + 1, trace=os.path.join(workdir, "trace.jsonl")) as sim:
        names = prepare(sim, args.big_size, args.group_size)
        group = names[1:args.vms + 1]
        for scenario, hosts, size in (("one VM", names[:1], args.big_size), ("%d VMs" % len(group), group, args.group_size)):
            for way, plays in (("vm_serial_port_log", ours_play(args.tail_lines)),
                               ("get_url + tail", baseline_play(sim, args.tail_lines, workdir))):
                row = run(sim, venv, workdir, "%s-%s" % (len(hosts), way.split()[0]), plays, hosts, args.forks)
                row.update(scenario=scenario, way=way, log_size=size)
                report["runs"].append(row)
                print("%-8s %-20s %6.2fs %10d bytes served, verified %d/%d%s" % (
                    scenario, way, row["wall_s"], row["bytes_served"], row["verified"], row["vms"],
                    " rc=%s %s" % (row["rc"], row["stderr"]) if row["rc"] else ""), flush=True)
    os.makedirs(os.path.join(args.out, "raw"), exist_ok=True)
    with open(os.path.join(args.out, "serial_log.md"), "w") as handle:
        handle.write(render(report))
    with open(os.path.join(args.out, "raw", "serial_log.json"), "w") as handle:
        json.dump(report, handle, indent=1)
    return 0 if all(r["rc"] == 0 and r["verified"] == r["vms"] for r in report["runs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
