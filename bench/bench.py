"""Benchmarks of vmchannels.vsphere against community.vmware, side by side, on the same simulator.

Every measurement is one whole ``ansible-playbook`` run (timed from the outside, like a user
would) against the embedded vcsim (tests/vcsim), whose request trace counts the SOAP round trips
of that run. Each side gets a fresh simulator of the same size and delay for the inventory-wide
scenarios, so neither side sees the other's changes; single-VM scenarios share one simulator and
use different VMs.

    bench/run                     # full run: 50 and 500 VMs, look-ups at 50 and 5,000 VMs
    bench/run --quick             # 10 VMs, look-ups at 10 and 100 VMs (a minute or two)
    bench/run --smoke --no-peer   # smallest: our side only, no peer install (the smoke test)

The peer, community.vmware from PyPI's ``ansible`` package, is installed by this script into its
own virtual environment (``.cache/bench-peer-venv``) with pyVmomi. Results: a Markdown table in
``bench/results/<name>.md`` (and the raw numbers next to it as JSON).
"""

import argparse
import collections
import datetime
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "vcsim"))

from vcsimctl import Simulator  # noqa: E402  (stdlib only)

RESULTS = os.path.join(ROOT, "bench", "results")
PEER_VENV = os.path.join(ROOT, ".cache", "bench-peer-venv")
#: ansible 11.x bundles ansible-core 2.18 (runs on Python 3.11) and community.vmware 5.x, whose
#: module_utils need pyVmomi and requests.
PEER_REQUIREMENTS = ["ansible>=11,<12", "pyvmomi>=8.0.1.0", "requests"]
OURS_COLLECTIONS = os.path.join(ROOT, ".build", "collections")


def _read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


PORT = {"service_uri": "telnet://:7001", "proxy_uri": "telnet://vspc.example.com:13370"}
CLUSTER = "DC0_C0"


# --------------------------------------------------------------------------------------- sides

class Side(object):
    """One Ansible installation: its ansible-playbook, interpreter and collection path."""

    def __init__(self, key, title, venv, collections_path):
        self.key = key
        self.title = title
        self.venv = venv
        self.collections_path = collections_path

    @property
    def ours(self):
        return self.key.startswith("ours")

    @property
    def python(self):
        return os.path.join(self.venv, "bin", "python")

    def env(self, sim):
        env = dict(os.environ)
        for key in [k for k in env if k.startswith(("VMWARE_", "ANSIBLE_"))]:
            del env[key]
        env.update({
            "ANSIBLE_COLLECTIONS_PATH": self.collections_path,
            # ours: only the checkout; the peer: the collections bundled in its venv (sys.path)
            "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false" if self.ours else "true",
            "ANSIBLE_PYTHON_INTERPRETER": self.python,
            "ANSIBLE_LOCALHOST_WARNING": "false",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
            "ANSIBLE_RETRY_FILES_ENABLED": "false",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_HOST_KEY_CHECKING": "false",
            "ANSIBLE_DEPRECATION_WARNINGS": "false",
            "ANSIBLE_LOCAL_TEMP": os.path.join(tempfile.gettempdir(), "bench-ansible-%s" % self.key),
            "PATH": os.path.join(self.venv, "bin") + os.pathsep + os.environ.get("PATH", ""),
        })
        env.update(sim.env())
        return env

    def version(self):
        out = subprocess.run([self.python, "-c", "import ansible.release as r, importlib.metadata as m, sys; "
                              "print(r.__version__, m.version('pyvmomi'), sys.version.split()[0])"],
                             capture_output=True, text=True, check=False)
        return out.stdout.strip()


def project_venv():
    for candidate in (os.environ.get("VMCH_VENV"), os.path.join(ROOT, ".venv"), os.path.dirname(os.path.dirname(sys.executable))):
        if candidate and os.path.exists(os.path.join(candidate, "bin", "ansible-playbook")):
            return candidate
    raise SystemExit("No virtual environment with ansible-playbook: run scripts/bootstrap (or set VMCH_VENV).")


def ensure_collection_link():
    link = os.path.join(OURS_COLLECTIONS, "ansible_collections", "vmchannels", "vsphere")
    if not os.path.lexists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(ROOT, link)


def ensure_peer(log):
    """The peer's virtual environment, installed on first use (pip, from PyPI)."""
    stamp = os.path.join(PEER_VENV, ".bench-requirements")
    want = "\n".join(PEER_REQUIREMENTS)
    python = os.path.join(PEER_VENV, "bin", "python")
    if os.path.exists(python) and os.path.exists(stamp) and _read(stamp) == want:
        return PEER_VENV
    log("installing the peer (%s) into %s" % (", ".join(PEER_REQUIREMENTS), os.path.relpath(PEER_VENV, ROOT)))
    if not os.path.exists(python):
        subprocess.run([sys.executable, "-m", "venv", PEER_VENV], check=True)
    subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check"] + PEER_REQUIREMENTS,
                   check=True)
    with open(stamp, "w", encoding="utf-8") as handle:
        handle.write(want)
    return PEER_VENV


def peer_collection_version(side):
    out = subprocess.run([side.python, "-c", "import json, os, ansible_collections as a; "
                          "m = [os.path.join(p, 'community', 'vmware', 'MANIFEST.json') for p in a.__path__]; "
                          "print([json.load(open(f))['collection_info']['version'] for f in m if os.path.exists(f)][0])"],
                         capture_output=True, text=True, check=False)
    return out.stdout.strip() or "?"


# --------------------------------------------------------------------------------- simulator

def sim_for(n_vms, delay_ms, cluster_hosts=None):
    """A simulator with at least ``n_vms`` VMs: vcsim makes ``vm`` VMs on the standalone host and
    as many in the cluster's resource pool, so ``vm = ceil(n/2)``."""
    options = dict(vm=max(1, (n_vms + 1) // 2), delay_ms=delay_ms or None, start_timeout=300)
    if cluster_hosts:
        options["host"] = cluster_hosts
    return Simulator(**options).start()


def _session(sim):
    from pyVim.connect import SmartConnect

    return SmartConnect(host=sim.host, port=sim.port, user=sim.username, pwd=sim.password,
                        disableSslCertValidation=True)


def _vms(si):
    """``{name: (vm, uuid, power state)}`` of every VM, in one PropertyCollector request."""
    from pyVmomi import vim, vmodl

    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    pc = vmodl.query.PropertyCollector
    spec = pc.FilterSpec(
        objectSet=[pc.ObjectSpec(obj=view, skip=True, selectSet=[
            pc.TraversalSpec(name="v", type=vim.view.ContainerView, path="view", skip=False)])],
        propSet=[pc.PropertySpec(type=vim.VirtualMachine,
                                 pathSet=["name", "config.uuid", "runtime.powerState", "config.hardware.device"])])
    out = {}
    for obj in content.propertyCollector.RetrieveContents([spec]):
        props = dict((p.name, p.val) for p in obj.propSet)
        out[props["name"]] = (obj.obj, props.get("config.uuid"), props.get("runtime.powerState"),
                              props.get("config.hardware.device") or [])
    view.Destroy()
    return out


def inventory_of(sim, n_vms, power_off=None):
    """The first ``n_vms`` VM names (sorted), powered off (the peer refuses running VMs; ours would
    need allow_power_cycle): not part of any timed run. ``power_off``: how many of them to power
    off (default all; the single-VM scenarios need only the last few)."""
    from pyVim.connect import Disconnect

    si = _session(sim)
    try:
        vms = _vms(si)
        names = sorted(vms, key=_natural)[:n_vms]
        for name in names[-power_off if power_off else 0:]:
            vm = vms[name][0]
            if vms[name][2] != "poweredOff":
                vm.PowerOffVM_Task()  # vcsim's tasks are synchronous
        return names, dict((n, (vms[n][0]._moId, vms[n][1])) for n in names)
    finally:
        Disconnect(si)


def _natural(name):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def count_with_vspc_port(sim, names):
    """How many of ``names`` have a network serial port through the vSPC (read back, to check the
    runs did the work)."""
    from pyVim.connect import Disconnect
    from pyVmomi import vim

    si = _session(sim)
    try:
        vms = _vms(si)
    finally:
        Disconnect(si)
    done = 0
    for name in names:
        for device in vms[name][3]:
            backing = getattr(device, "backing", None)
            if isinstance(device, vim.vm.device.VirtualSerialPort) and \
                    isinstance(backing, vim.vm.device.VirtualSerialPort.URIBackingInfo) and \
                    backing.proxyURI == PORT["proxy_uri"]:
                done += 1
                break
    return done


def vspc_enabled_hosts(sim):
    from pyVim.connect import Disconnect
    from pyVmomi import vim

    si = _session(sim)
    try:
        content = si.RetrieveContent()
        view = content.viewManager.CreateContainerView(content.rootFolder, [vim.ClusterComputeResource], True)
        cluster = [c for c in view.view if c.name == CLUSTER][0]
        states = []
        for host in cluster.host:
            rulesets = host.configManager.firewallSystem.firewallInfo.ruleset
            states.append(any(r.key == "vSPC" and r.enabled for r in rulesets))
        return sum(states), len(states)
    finally:
        Disconnect(si)


def trace_counts(sim):
    """``(soap calls, GETs, Counter of methods)`` since the last ``reset_trace``."""
    methods = collections.Counter()
    gets = 0
    with open(sim.trace_file, "rb") as handle:
        handle.seek(sim._trace_offset)
        data = handle.read()
    for line in data.splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if rec.get("http", "POST") == "POST" and rec.get("method"):
            methods[rec["method"]] += 1
        else:
            gets += 1
    return sum(methods.values()), gets, methods


def _proc_cpu(pid):
    """User + system CPU seconds of a running process (the simulator)."""
    try:
        with open("/proc/%d/stat" % pid, encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / float(os.sysconf("SC_CLK_TCK"))
    except (OSError, IndexError, ValueError):
        return 0.0


# ---------------------------------------------------------------------------------- playbooks

def serial_task(side, identity):
    if side.ours:
        return {"vmchannels.vsphere.vm_serial_port": dict(identity, serial_ports=[{
            "number": 1, "backing": dict(type="network", direction="server", **PORT)}])}
    return {"community.vmware.vmware_guest_serial_port": dict(identity, backings=[
        dict(type="network", direction="server", **PORT)])}


def bulk_task():
    """Scenario 1 bulk: ONE run_once task of vm_serial_port_bulk for every VM of the play."""
    vms = "{{ dict(ansible_play_hosts | zip_longest([], fillvalue=bench_ports)) | dict2items(key_name='name', value_name='serial_ports') }}"
    return {"vmchannels.vsphere.vm_serial_port_bulk": {"vms": vms},
            "vars": {"bench_ports": [{"number": 1, "backing": dict(type="network", direction="server", **PORT)}]},
            "run_once": True}


def firewall_task(side):
    if side.ours:
        return {"vmchannels.vsphere.esxi_serial_firewall_ruleset": {
            "cluster_name": CLUSTER, "rulesets": ["vSPC"], "state": "enabled"}}
    return {"community.vmware.vmware_host_firewall_manager": {
        "cluster_name": CLUSTER, "rules": [{"name": "vSPC", "enabled": True}]}}


def play(task, hosts="vms"):
    task = dict(task, name="bench", delegate_to="localhost")
    return [{"name": "bench", "hosts": hosts, "connection": "local", "gather_facts": False, "tasks": [task]}]


def write_inventory(workdir, names):
    os.makedirs(workdir, exist_ok=True)
    path = os.path.join(workdir, "inventory.ini")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("[vms]\n" + "".join("%s\n" % n for n in names))
    return path


RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


class Measure(object):
    """One timed ``ansible-playbook`` run."""

    def __init__(self, **kw):
        self.__dict__.update(kw)

    def as_dict(self):
        return dict(self.__dict__)


def run_playbook(side, sim, workdir, plays, inventory, forks, label, log, extra_args=()):
    if isinstance(plays, str):  # a playbook of the repository
        path = plays
    else:
        path = os.path.join(workdir, "%s.yml" % label)
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(plays, handle, indent=1)
    cmd = [os.path.join(side.venv, "bin", "ansible-playbook"), "-i", inventory, "-f", str(forks), path]
    cmd += list(extra_args)
    env = side.env(sim)
    sim.reset_trace()
    sim_cpu0 = _proc_cpu(sim.pid)
    usage0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    usage1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    time.sleep(0.05)  # the trace is written by the simulator after each response
    soap, gets, methods = trace_counts(sim)
    recap = RECAP.findall(proc.stdout)
    with open(os.path.join(workdir, "%s.log" % label), "w", encoding="utf-8") as handle:
        handle.write(" ".join(cmd) + "\n" + proc.stdout + "\n--- stderr\n" + proc.stderr)
    m = Measure(
        label=label, side=side.key, rc=proc.returncode, wall=wall, hosts=len(recap),
        ok=sum(int(r[1]) for r in recap), changed=sum(int(r[2]) for r in recap),
        failed=sum(int(r[4]) + int(r[3]) for r in recap), soap=soap, gets=gets, methods=dict(methods),
        cpu=(usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime),
        sim_cpu=_proc_cpu(sim.pid) - sim_cpu0,
    )
    status = "ok" if proc.returncode == 0 and not m.failed else "FAILED (see %s)" % os.path.join(workdir, label + ".log")
    log("  %-28s %-5s %6.1f s  %5d SOAP  changed %-4d %s" % (label, side.key, wall, soap, m.changed, status))
    if proc.returncode != 0 or m.failed:
        tail = (proc.stdout[-1500:] + proc.stderr[-1500:]).strip()
        log("    " + tail.replace("\n", "\n    "))
    return m


# ---------------------------------------------------------------------------------- scenarios

def scenario_inventory(sides, size, args, workdir, log):
    """Scenario 1 (+ floor): the vSPC port on every VM, forks N, then again (no change); ping.

    Each side has its own simulator of the same size; the runs alternate between the sides
    (ours change, peer change, ours again, peer again, ours ping, peer ping) so that a change in
    the machine's load during the benchmark hits both sides alike."""
    runs = dict((side.key, []) for side in sides)
    for attempt in range(args.repeat):
        sims, names, inventories = {}, {}, {}
        try:
            for side in sides:
                sims[side.key] = sim_for(size, args.delay_ms)
                names[side.key] = inventory_of(sims[side.key], size)[0]
                inventories[side.key] = write_inventory(os.path.join(workdir, side.key), names[side.key])
            measures = dict((side.key, {}) for side in sides)
            for kind in ("change", "again", "floor"):
                for side in sides:
                    task = {"ansible.builtin.ping": {}} if kind == "floor" else \
                        serial_task(side, {"name": "{{ inventory_hostname }}"})
                    label = "%s-%d-%s-%s-%d" % ("s5" if kind == "floor" else "s1", size, kind, side.key, attempt)
                    m = run_playbook(side, sims[side.key], workdir, play(task), inventories[side.key], args.forks,
                                     label, log)
                    if kind == "change":
                        m.verified = count_with_vspc_port(sims[side.key], names[side.key])
                    measures[side.key][kind] = m
            for side in sides:
                runs[side.key].append(measures[side.key])
        finally:
            for sim in sims.values():
                sim.stop()
    return runs


def scenario_inventory_bulk(sides, size, args, workdir, log):
    """Scenario 1 bulk (ours only): the vSPC port on every VM by one run_once task of
    vm_serial_port_bulk, then again; compared with scenario 1's peer and floor runs."""
    ours = [s for s in sides if s.key == "ours"]
    if not ours:
        return None
    side = ours[0]
    sim = sim_for(size, args.delay_ms)
    try:
        names = inventory_of(sim, size)[0]
        inventory = write_inventory(os.path.join(workdir, "bulk"), names)
        out = {}
        for kind in ("change", "again"):
            m = run_playbook(side, sim, workdir, play(bulk_task()), inventory, args.forks,
                             "s1b-%d-%s-ours" % (size, kind), log)
            if kind == "change":
                m.verified = count_with_vspc_port(sim, names)
            out[kind] = m
        return out
    finally:
        sim.stop()


def scenario_single(sides, args, workdir, log, size, identities=("name",)):
    """Scenario 2 and the look-ups: one VM, change then no change, per identity (name, uuid, moid).
    One simulator for both sides; each (side, identity) uses its own VM."""
    sim = sim_for(size, args.delay_ms)
    out = {}
    try:
        names, ids = inventory_of(sim, size, power_off=len(sides) * len(identities))
        pool = list(reversed(names))  # VMs no other scenario on this simulator uses
        inventory = write_inventory(workdir, ["bench-single"])
        for side in sides:
            for identity in identities:
                vm = pool.pop(0)
                moid, uuid = ids[vm]
                value = {"name": vm, "uuid": uuid, "moid": moid}[identity]
                plays = play(serial_task(side, {identity: value}), hosts="all")
                tag = "single-%d-%s-%s" % (size, identity, side.key)
                change = run_playbook(side, sim, workdir, plays, inventory, 1, tag + "-change", log)
                change.verified = count_with_vspc_port(sim, [vm])
                again = run_playbook(side, sim, workdir, plays, inventory, 1, tag + "-again", log)
                out[(side.key, identity)] = dict(change=change, again=again)
    finally:
        sim.stop()
    return out


def scenario_firewall(sides, args, workdir, log):
    """Scenario 3: vSPC on every host of the cluster, then again."""
    out = {}
    inventory = write_inventory(workdir, ["bench-firewall"])
    for side in sides:
        sim = sim_for(2, args.delay_ms, cluster_hosts=args.cluster_hosts)
        try:
            plays = play(firewall_task(side), hosts="all")
            change = run_playbook(side, sim, workdir, plays, inventory, 1, "s3-firewall-change-%s" % side.key, log)
            change.verified, change.hosts_total = vspc_enabled_hosts(sim)
            again = run_playbook(side, sim, workdir, plays, inventory, 1, "s3-firewall-again-%s" % side.key, log)
            out[side.key] = dict(change=change, again=again)
        finally:
            sim.stop()
    return out


def serial_console_playbook():
    path = os.path.join(ROOT, "playbooks", "serial_console.yml")
    return path if os.path.exists(path) else None


def scenario_serial_console(sides, size, args, workdir, log, bulk=False):
    """Scenario 4: playbooks/serial_console.yml (ours only: the peer ships no such playbook) over
    ``size`` VMs, change then again; every VM gets the vSPC port through group_vars, the role
    enables vSPC on the hosts (cluster scope) once for the play. ``bulk``: with
    ``-e serial_console_bulk=true`` (the role plans and configures the play in one session each)."""
    path = serial_console_playbook()
    ours = [s for s in sides if s.key == "ours"]
    if not path or not ours:
        return None
    side = ours[0]
    sim = sim_for(size, args.delay_ms)
    try:
        names = inventory_of(sim, size)[0]
        inventory = os.path.join(workdir, "serial_console", "hosts.yml")
        os.makedirs(os.path.dirname(inventory), exist_ok=True)
        with open(inventory, "w", encoding="utf-8") as handle:
            json.dump({"vms": {"hosts": dict((n, None) for n in names), "vars": {"serial_console_ports": [{
                "number": 1, "backing": dict(type="network", direction="server", **PORT)}]}}}, handle, indent=1)
        out = {}
        extra = ["-e", "serial_console_bulk=true"] if bulk else []
        for kind in ("change", "again"):
            m = run_playbook(side, sim, workdir, path, inventory, args.forks,
                             "s4%s-%d-%s-ours" % ("b" if bulk else "", size, kind), log, extra)
            if kind == "change":
                m.verified = count_with_vspc_port(sim, names)
            out[kind] = m
        return out
    finally:
        sim.stop()


# ---------------------------------------------------------------------------------- reporting

def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _ratio(a, b):
    return "%.2f" % (a / b) if a and b else "-"


def _fmt(value, digits=1):
    if value is None:
        return "-"
    if isinstance(value, float):
        return ("%%.%df" % digits) % value
    return str(value)


def render(report):
    """The Markdown table(s) of one benchmark run."""
    lines = []
    meta = report["meta"]
    lines.append("# Benchmark: vmchannels.vsphere vs community.vmware")
    lines.append("")
    lines.append("Run %s (`bench/run %s`), %s mode%s." % (
        meta["date"], " ".join(meta["argv"]), meta["mode"],
        "; scenarios not repeated in it are kept from the run of %s" % meta["merged_from"] if meta.get("merged_from") else ""))
    lines.append("")
    lines.append("| | |")
    lines.append("| --- | --- |")
    for key, value in sorted(meta["machine"].items(), key=lambda kv: kv[0] == "simulator"):  # merged sides before it
        lines.append("| %s | %s |" % (key, value))
    lines.append("")
    lines.append("Requests are SOAP calls counted in the simulator's trace (GETs of "
                 "`/sdk/vimServiceVersions.xml` in brackets when any); wall time is the whole "
                 "`ansible-playbook` run; CPU is the user+system time of ansible-playbook and all its "
                 "children; the simulator adds %d ms to every SOAP call. Ratios below 1 favour ours." % meta["delay_ms"])
    lines.append("")

    single = report.get("single") or {}
    if single:
        lines.append("## Requests per module run (one VM, scenario 2)")
        lines.append("")
        lines.append("| inventory | look-up | side | change: requests | no change: requests | change: wall s | no change: wall s | verified |")
        lines.append("| ---: | --- | --- | ---: | ---: | ---: | ---: | --- |")
        for entry in single:
            c, a = entry["change"], entry["again"]
            lines.append("| %d VMs | %s | %s | %s | %s | %.2f | %.2f | %s |" % (
                entry["size"], entry["identity"], entry["side"], _req(c), _req(a), c["wall"], a["wall"],
                _verified(c, a, 1)))
        lines.append("")
        lines.append("Methods (change run, name look-up): " + "; ".join(
            "%s: %s" % (e["side"], ", ".join("%s %d" % kv for kv in sorted(e["change"]["methods"].items())))
            for e in single if e["identity"] == "name" and e["size"] == min(x["size"] for x in single)))
        lines.append("")

    inv = report.get("inventory") or {}
    bulk = report.get("inventory_bulk") or {}
    if inv or bulk:
        lines.append("## The vSPC port on every VM, forks %d (scenario 1) and the ping floor (scenario 5)" % meta["forks"])
        lines.append("")
        lines.append("Each side's ratio to the floor uses the ping run on its own ansible-core; `ours@peer-core` (when "
                     "present) is our collection run on the peer's ansible-core 2.18; `ours-bulk` (when present) is one "
                     "`run_once` task of `vm_serial_port_bulk` for every VM, on its own simulator, compared with the "
                     "peer's and our floor's runs of the same size.")
        lines.append("")
        lines.append("| VMs | side | run | requests | requests/VM | wall s | CPU s | ours/peer (wall) | /floor (wall) | changed | verified |")
        lines.append("| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
        for size in sorted(set(inv) | set(bulk), key=int):
            sides = inv.get(size, {})
            for side in ("ours", "peer", "ours@peer-core"):
                if side not in sides:
                    continue
                for run in ("change", "again", "floor"):
                    m = sides[side][run]
                    peer_m = sides.get("peer", {}).get(run)
                    own_floor = sides[side]["floor"]["wall"]
                    vs_peer = _ratio(m["wall"], peer_m["wall"]) if side != "peer" and peer_m and run != "floor" else ""
                    vs_floor = _ratio(m["wall"], own_floor) if run != "floor" else ""
                    name = {"change": "add port", "again": "again (no change)", "floor": "ping (floor)"}[run]
                    lines.append("| %s | %s | %s | %d | %.1f | %.1f | %.1f | %s | %s | %d | %s |" % (
                        size, side, name, m["soap"], m["soap"] / float(int(size)), m["wall"], m["cpu"], vs_peer,
                        vs_floor, m["changed"], _verified(m, None, int(size)) if run == "change" else ""))
            for run in ("change", "again"):
                m = bulk.get(size, {}).get(run)
                if m:
                    peer_m = sides.get("peer", {}).get(run)
                    own_floor = sides.get("ours", {}).get("floor", {}).get("wall")
                    name = {"change": "add port", "again": "again (no change)"}[run]
                    lines.append("| %s | ours-bulk | %s | %d | %.1f | %.1f | %.1f | %s | %s | %d | %s |" % (
                        size, name, m["soap"], m["soap"] / float(int(size)), m["wall"], m["cpu"],
                        _ratio(m["wall"], peer_m["wall"]) if peer_m else "", _ratio(m["wall"], own_floor), m["changed"],
                        _verified(m, None, int(size)) if run == "change" else ""))
        lines.append("")

    fw = report.get("firewall") or {}
    if fw:
        lines.append("## vSPC on every host of a cluster (scenario 3, %d hosts)" % meta["cluster_hosts"])
        lines.append("")
        lines.append("| side | change: requests | no change: requests | change: wall s | no change: wall s | ours/peer (wall, change) | verified |")
        lines.append("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
        for side in ("ours", "peer"):
            if side in fw:
                c, a = fw[side]["change"], fw[side]["again"]
                vs = _ratio(c["wall"], fw["peer"]["change"]["wall"]) if side == "ours" and "peer" in fw else ""
                lines.append("| %s | %s | %s | %.2f | %.2f | %s | %s |" % (
                    side, _req(c), _req(a), c["wall"], a["wall"], vs,
                    "%s/%s hosts" % (c.get("verified"), c.get("hosts_total"))))
        lines.append("")

    sc = report.get("serial_console") or {}
    scb = report.get("serial_console_bulk") or {}
    lines.append("## Inventory-driven `playbooks/serial_console.yml` (scenario 4, ours only)")
    lines.append("")
    if sc or scb:
        lines.append("| VMs | run | requests | requests/VM | wall s | CPU s | ours/floor (wall) | changed | verified |")
        lines.append("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
        for size in sorted(set(sc) | set(scb), key=int):
            floor = (inv.get(size) or {}).get("ours", {}).get("floor", {}).get("wall")
            for run, m in [(r, sc.get(size, {}).get(r)) for r in ("change", "again")] + \
                    [(r + " (bulk)", scb.get(size, {}).get(r)) for r in ("change", "again")]:
                if not m:
                    continue
                lines.append("| %s | %s | %d | %.1f | %.1f | %.1f | %s | %d | %s |" % (
                    size, run, m["soap"], m["soap"] / float(int(size)), m["wall"], m["cpu"], _ratio(m["wall"], floor),
                    m["changed"], _verified(m, None, int(size)) if run.startswith("change") else ""))
    else:
        lines.append("Not measured in this run: %s." % report.get("serial_console_note", "playbooks/serial_console.yml is missing"))
    lines.append("")
    for note in report.get("notes", []):
        lines.append("- " + note)
    return "\n".join(lines).rstrip() + "\n"


def _req(m):
    return "%d%s" % (m["soap"], " (+%d GET)" % m["gets"] if m["gets"] else "")


def _verified(change, again, expected):
    if change.get("verified") is None:
        return ""
    ok = change["verified"] == expected and change["rc"] == 0 and (again is None or again["rc"] == 0)
    return "%s (%d/%d)" % ("yes" if ok else "NO", change["verified"], expected)


def machine_info(sides):
    info = collections.OrderedDict()
    cpu = "?"
    try:
        for line in _read("/proc/cpuinfo").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info["machine"] = "%s, %d CPUs, %s" % (cpu, os.cpu_count() or 0, platform.platform())
    try:
        mem = [line for line in _read("/proc/meminfo").splitlines() if line.startswith("MemTotal")][0].split()[1]
        info["memory"] = "%.0f GiB" % (int(mem) / 1024.0 / 1024.0)
    except (OSError, IndexError):
        pass
    for side in sides:
        core, pyvmomi, python = (side.version().split() + ["?", "?", "?"])[:3]
        what = "vmchannels.vsphere (this checkout, %s)" % _git_head() if side.ours else \
            "community.vmware %s (PyPI ansible package)" % peer_collection_version(side)
        info[side.key] = "%s; ansible-core %s, pyVmomi %s, Python %s" % (what, core, pyvmomi, python)
    info["simulator"] = "vcsim (govmomi 0.24.2) through tests/vcsim/launcher"
    return info


def _git_head():
    out = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    return out.stdout.strip() or "?"


def _plain(obj):
    if isinstance(obj, Measure):
        return obj.as_dict()
    if isinstance(obj, dict):
        return dict((k if isinstance(k, str) else "|".join(k), _plain(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def _pick(runs):
    """The median run (by wall time) of repeated runs, per run kind."""
    out = {}
    for kind in runs[0]:
        ordered = sorted(runs, key=lambda r: r[kind].wall)
        out[kind] = ordered[len(ordered) // 2][kind].as_dict()
        if len(runs) > 1:
            out[kind]["walls"] = [r[kind].wall for r in runs]
    return out


# ---------------------------------------------------------------------------------------- main

def parse_args(argv):
    p = argparse.ArgumentParser(prog="bench/run", description=__doc__.split("\n\n", maxsplit=1)[0])
    p.add_argument("--quick", action="store_true", help="10 VMs; look-ups at 10 and 100 VMs")
    p.add_argument("--smoke", action="store_true", help="smallest: 4 VMs, one look-up size, no repeat")
    p.add_argument("--no-peer", action="store_true", help="our side only (no peer install)")
    p.add_argument("--ours-on-peer-core", action="store_true",
                   help="also run our collection on the peer's ansible-core (side ours@2.18) in scenarios 1 and 5, "
                        "to separate the collections' cost from ansible-core's")
    p.add_argument("--sizes", default=None, help="inventory sizes for scenarios 1, 4 and 5 (default 50,500)")
    p.add_argument("--lookup-sizes", default=None, help="inventory sizes for the single-VM look-ups (default 50,5000)")
    p.add_argument("--delay-ms", type=int, default=10, help="latency the simulator adds to every SOAP call (default 10)")
    p.add_argument("--forks", type=int, default=5)
    p.add_argument("--cluster-hosts", type=int, default=3, help="hosts in the cluster of scenario 3 (default 3)")
    p.add_argument("--repeat", type=int, default=1, help="repeat scenario 1 and keep the median (default 1)")
    p.add_argument("--scenarios", default=None,
                   help="comma list of single, inventory, inventory_bulk, firewall, serial_console, serial_console_bulk "
                        "(default all; --smoke: single,inventory,inventory_bulk)")
    p.add_argument("--identities", default=None,
                   help="look-ups of the single-VM scenario: name,uuid,moid (default; --smoke: name)")
    p.add_argument("--name", default=None, help="results file name (default: latest, quick or smoke)")
    p.add_argument("--out", default=RESULTS, help="results directory (default bench/results)")
    p.add_argument("--merge", action="store_true",
                   help="keep the scenarios of the previous run of the same name that this run does not repeat")
    p.add_argument("--render-only", action="store_true",
                   help="measure nothing: write the table (and docs/performance.md) again from the raw JSON")
    p.add_argument("--docs", default=None, choices=["yes", "no"],
                   help="update the results block of docs/performance.md (default: yes for a full run named latest)")
    p.add_argument("--keep", action="store_true", help="keep the work directory (playbooks, logs)")
    args = p.parse_args(argv)
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    default_sizes = {"smoke": "4", "quick": "10", "full": "50,500"}[mode]
    default_lookups = {"smoke": "4", "quick": "10,100", "full": "50,5000"}[mode]
    args.mode = mode
    args.sizes = [int(s) for s in (args.sizes or default_sizes).split(",") if s]
    args.lookup_sizes = [int(s) for s in (args.lookup_sizes or default_lookups).split(",") if s]
    args.scenarios = set(s.strip() for s in (args.scenarios or (
        "single,inventory,inventory_bulk" if mode == "smoke" else
        "single,inventory,inventory_bulk,firewall,serial_console,serial_console_bulk")).split(",") if s.strip())
    args.identities = [s.strip() for s in (args.identities or ("name" if mode == "smoke" else "name,uuid,moid")).split(",")
                       if s.strip()]
    args.name = args.name or {"smoke": "smoke", "quick": "quick", "full": "latest"}[mode]
    return args


DOCS = os.path.join(ROOT, "docs", "performance.md")
BEGIN, END = "<!-- bench:begin (written by bench/run) -->", "<!-- bench:end -->"


def update_docs(markdown, path=DOCS):
    """Put ``markdown`` (the results, headings one level down) between the markers of the docs page."""
    text = _read(path)
    if BEGIN not in text or END not in text:
        raise SystemExit("%s has lost its %s ... %s markers" % (path, BEGIN, END))
    body = "\n".join(("#" + line) if line.startswith("#") else line for line in markdown.splitlines()[1:]).strip()
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(head + BEGIN + "\n\n" + body + "\n\n" + END + tail)


def write_outputs(report, args, log):
    os.makedirs(os.path.join(args.out, "raw"), exist_ok=True)
    md = os.path.join(args.out, "%s.md" % args.name)
    markdown = render(report)
    with open(md, "w", encoding="utf-8") as handle:
        handle.write(markdown)
    with open(os.path.join(args.out, "raw", "%s.json" % args.name), "w", encoding="utf-8") as handle:
        json.dump(_plain(report), handle, indent=1, default=str)
    log("table written to %s" % os.path.relpath(md, ROOT))
    if args.docs == "yes" or (args.docs is None and args.mode == "full" and args.name == "latest"
                              and os.path.abspath(args.out) == RESULTS):
        update_docs(markdown)
        log("results block of %s updated" % os.path.relpath(DOCS, ROOT))


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    started = time.time()

    def log(msg):
        print("[%6.0fs] %s" % (time.time() - started, msg), flush=True)

    if args.render_only:
        report = json.loads(_read(os.path.join(args.out, "raw", "%s.json" % args.name)))
        args.mode = report["meta"]["mode"]
        write_outputs(report, args, log)
        return 0
    ensure_collection_link()
    sides = [Side("ours", "vmchannels.vsphere", project_venv(), OURS_COLLECTIONS)]
    if not args.no_peer:
        peer_paths = os.path.join(ROOT, ".cache", "bench-peer-collections")
        os.makedirs(peer_paths, exist_ok=True)
        sides.append(Side("peer", "community.vmware", ensure_peer(log), peer_paths))
        if args.ours_on_peer_core:
            sides.append(Side("ours@peer-core", "vmchannels.vsphere", PEER_VENV, OURS_COLLECTIONS))
    workdir = tempfile.mkdtemp(prefix="bench-")
    log("work directory %s; mode %s; sides %s" % (workdir, args.mode, ", ".join(s.key for s in sides)))
    report = {"meta": {
        "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), "argv": sys.argv[1:] if argv is None else argv,
        "mode": args.mode, "delay_ms": args.delay_ms, "forks": args.forks, "cluster_hosts": args.cluster_hosts,
        "machine": machine_info(sides)}, "notes": []}
    raw_file = os.path.join(args.out, "raw", "%s.json" % args.name)
    if args.merge and os.path.exists(raw_file):
        previous = json.loads(_read(raw_file))
        for key in ("single", "firewall", "inventory", "inventory_bulk", "serial_console", "serial_console_bulk",
                    "serial_console_note"):
            if key in previous:
                report[key] = previous[key]
        report["meta"]["merged_from"] = previous["meta"].get("date")
        for key, value in previous["meta"].get("machine", {}).items():
            report["meta"]["machine"].setdefault(key, value)  # e.g. the peer's versions with --no-peer
    try:
        if "single" in args.scenarios:
            log("scenario 2 and look-ups: one VM, change then no change")
            entries = []
            for size in args.lookup_sizes:
                result = scenario_single(sides[:2], args, workdir, log, size, args.identities)
                for (side, identity), runs in result.items():
                    entries.append(dict(size=size, side=side, identity=identity, change=runs["change"].as_dict(),
                                        again=runs["again"].as_dict()))
            report["single"] = entries
        if "firewall" in args.scenarios:
            log("scenario 3: vSPC on every host of cluster %s" % CLUSTER)
            report["firewall"] = dict((k, dict((r, m.as_dict()) for r, m in v.items()))
                                      for k, v in scenario_firewall(sides[:2], args, workdir, log).items())
        if "inventory" in args.scenarios:
            report.setdefault("inventory", {})
            for size in args.sizes:
                log("scenario 1 and floor: %d VMs, forks %d" % (size, args.forks))
                result = scenario_inventory(sides, size, args, workdir, log)
                report["inventory"][str(size)] = dict((k, _pick(v)) for k, v in result.items())
        if "inventory_bulk" in args.scenarios:
            report.setdefault("inventory_bulk", {})
            for size in args.sizes:
                log("scenario 1 bulk: %d VMs, one run_once task of vm_serial_port_bulk" % size)
                result = scenario_inventory_bulk(sides, size, args, workdir, log)
                if result:
                    report["inventory_bulk"][str(size)] = dict((r, m.as_dict()) for r, m in result.items())
        for key, bulk in (("serial_console", False), ("serial_console_bulk", True)):
            if key not in args.scenarios:
                continue
            if serial_console_playbook() is None:
                report["serial_console_note"] = "playbooks/serial_console.yml has not landed yet"
            else:
                report.pop("serial_console_note", None)
                report.setdefault(key, {})
                for size in args.sizes:
                    log("scenario 4: playbooks/serial_console.yml over %d VMs%s" % (size, " (serial_console_bulk=true)" if bulk else ""))
                    result = scenario_serial_console(sides, size, args, workdir, log, bulk=bulk)
                    if result:
                        report[key][str(size)] = dict((r, m.as_dict()) for r, m in result.items())
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    report["meta"]["duration_s"] = round(time.time() - started)
    write_outputs(report, args, log)
    failed = [m for m in _all_measures(report) if m.get("rc") != 0 or m.get("failed")]
    if failed:
        log("%d run(s) failed: %s" % (len(failed), ", ".join(m["label"] for m in failed)))
        return 1
    return 0


def _all_measures(report):
    for entry in report.get("single") or []:
        yield entry["change"]
        yield entry["again"]
    for block in ("firewall",):
        for runs in (report.get(block) or {}).values():
            yield from runs.values()
    for sides in (report.get("inventory") or {}).values():
        for runs in sides.values():
            yield from runs.values()
    for key in ("inventory_bulk", "serial_console", "serial_console_bulk"):
        for runs in (report.get(key) or {}).values():
            yield from runs.values()


if __name__ == "__main__":
    sys.exit(main())
