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
    """One Ansible installation (its ansible-playbook, interpreter and collection path) and the
    switches a run gets: ``extra_env`` (e.g. ``VMCHANNELS_IN_PROCESS=false``)."""

    def __init__(self, key, title, venv, collections_path, extra_env=None):
        self.key = key
        self.title = title
        self.venv = venv
        self.collections_path = collections_path
        self.extra_env = dict(extra_env or {})

    @property
    def ours(self):
        return self.key.startswith("ours")

    @property
    def floor(self):
        return self.key == "floor"

    @property
    def python(self):
        return os.path.join(self.venv, "bin", "python")

    def env(self, sim):
        env = dict(os.environ)
        for key in [k for k in env if k.startswith(("VMWARE_", "ANSIBLE_", "VMCHANNELS_"))]:
            del env[key]
        env.update({
            "ANSIBLE_COLLECTIONS_PATH": self.collections_path,
            # ours (and the floor): only the checkout; the peer: the collections bundled in its venv (sys.path)
            "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false" if self.ours or self.floor else "true",
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
        env.update(self.extra_env)
        return env

    def version(self):
        out = subprocess.run([self.python, "-c", "import ansible.release as r, importlib.metadata as m, sys; "
                              "print(r.__version__, m.version('pyvmomi'), sys.version.split()[0])"],
                             capture_output=True, text=True, check=False)
        return out.stdout.strip()


#: Our collection's variants (scenarios 1 and 4): the key of the side -> its switches.
#: ``ours``: the defaults (modules run inside the Ansible worker, one session per run);
#: ``ours-shipped``: the fast path off (every task ships its module to a new Python, logs in and out);
#: ``ours-unshared``: in-process but the session sharing off (a login and logout per task).
OURS_VARIANTS = collections.OrderedDict([
    ("ours", {}),
    ("ours-shipped", {"VMCHANNELS_IN_PROCESS": "false"}),
    ("ours-unshared", {"VMCHANNELS_SHARED_SESSION": "false"}),
])
VARIANT_TEXT = {
    "ours": "vm_serial_port, defaults: in the Ansible worker, one session per run",
    "ours-shipped": "vm_serial_port, VMCHANNELS_IN_PROCESS=false: shipped to a new Python per task, a login per task",
    "ours-unshared": "vm_serial_port, VMCHANNELS_SHARED_SESSION=false: in the worker, a login per task",
    "peer": "community.vmware.vmware_guest_serial_port",
    "floor": "ansible.builtin.ping",
}


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

def sim_for(n_vms, delay_ms, cluster_hosts=None, login_delay_ms=0):
    """A simulator with at least ``n_vms`` VMs: vcsim makes ``vm`` VMs on the standalone host and
    as many in the cluster's resource pool, so ``vm = ceil(n/2)``. ``login_delay_ms``: what the
    launcher adds to ``Login`` alone (vCenter's single sign-on)."""
    options = dict(vm=max(1, (n_vms + 1) // 2), delay_ms=delay_ms or None, start_timeout=300,
                   login_delay_ms=login_delay_ms or None)
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
    """``(soap calls, GETs, Counter of methods, distinct session tags)`` since the last ``reset_trace``."""
    methods = collections.Counter()
    sessions = set()
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
            if rec.get("session"):
                sessions.add(rec["session"])
        else:
            gets += 1
    return sum(methods.values()), gets, methods, len(sessions)


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
    soap, gets, methods, sessions = trace_counts(sim)
    recap = RECAP.findall(proc.stdout)
    with open(os.path.join(workdir, "%s.log" % label), "w", encoding="utf-8") as handle:
        handle.write(" ".join(cmd) + "\n" + proc.stdout + "\n--- stderr\n" + proc.stderr)
    m = Measure(
        label=label, side=side.key, rc=proc.returncode, wall=wall, hosts=len(recap),
        ok=sum(int(r[1]) for r in recap), changed=sum(int(r[2]) for r in recap),
        failed=sum(int(r[4]) + int(r[3]) for r in recap), soap=soap, gets=gets, methods=dict(methods),
        cpu=(usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime),
        sim_cpu=_proc_cpu(sim.pid) - sim_cpu0,
        logins=methods.get("Login", 0), logouts=methods.get("Logout", 0), sessions=sessions,
        load=round(os.getloadavg()[0], 1),
    )
    status = "ok" if proc.returncode == 0 and not m.failed else "FAILED (see %s)" % os.path.join(workdir, label + ".log")
    log("  %-34s %-13s %6.1f s  CPU %6.1f s  %5d SOAP  %4d Login  changed %-4d load %4.1f  %s" % (
        label, side.key, wall, m.cpu, soap, m.logins, m.changed, m.load, status))
    if proc.returncode != 0 or m.failed:
        tail = (proc.stdout[-1500:] + proc.stderr[-1500:]).strip()
        log("    " + tail.replace("\n", "\n    "))
    return m


# ---------------------------------------------------------------------------------- scenarios

PATH_MARKERS = (("inside the Ansible worker", "in-process"), ("as a shipped module", "shipped"))
_paths = {}


def probe_path(side, sim, workdir, vm, log):
    """How our side's tasks run on this ansible-core: one check-mode task on ``vm`` with ``-vvv``,
    whose output says whether the action plugin ran the module inside the worker or shipped it
    (the reason too). Once per side and bench run; untimed, changes nothing."""
    if not side.ours:
        return None
    if side.key not in _paths:
        inventory = write_inventory(os.path.join(workdir, "probe-" + side.key), [vm])
        plays = play(serial_task(side, {"name": "{{ inventory_hostname }}"}))
        m = run_playbook(side, sim, workdir, plays, inventory, 1, "probe-%s" % side.key, log, ["--check", "-vvv"])
        text = _read(os.path.join(workdir, "probe-%s.log" % side.key))
        found = [what for marker, what in PATH_MARKERS if "vmchannels: running" in text and marker in text]
        reason = re.search(r"as a shipped module \((.*)\)", text)
        _paths[side.key] = dict(path=found[0] if found else "unknown", reason=reason.group(1) if reason else None,
                                rc=m.rc)
        log("  %s: %s%s" % (side.key, _paths[side.key]["path"], " (%s)" % reason.group(1) if reason else ""))
    return _paths[side.key]


def _alternated(sides, kinds):
    """(side, kind) in the order the runs take turns: every side's first kind, then the floor,
    then every side's second kind, so that a change of the machine's load hits all sides alike."""
    order = []
    runners = [s for s in sides if not s.floor]
    for i, kind in enumerate(kinds):
        order += [(s, kind) for s in runners]
        if i == 0:
            order += [(s, "floor") for s in sides if s.floor]
    return order


def scenario_inventory(sides, size, login_delay, args, workdir, log):
    """Scenario 1 (+ floor): the vSPC port on every VM, forks N, then again (no change); ping.

    Each side has its own simulator of the same size and delays (the floor sends no request and
    borrows the first one); the runs alternate between the sides (every side's change, the floor,
    every side's run again) so that a change in the machine's load during the benchmark hits all
    sides alike. ``--repeat`` rotates the order of the sides between attempts."""
    runs = dict((side.key, []) for side in sides)
    for attempt in range(args.repeat):
        sims, names, inventories = {}, {}, {}
        turn = sides[attempt % len(sides):] + sides[:attempt % len(sides)]
        try:
            for side in sides:
                if side.floor and sims:
                    sims[side.key] = list(sims.values())[0]
                    names[side.key] = list(names.values())[0]
                else:
                    sims[side.key] = sim_for(size, args.delay_ms, login_delay_ms=login_delay)
                    names[side.key] = inventory_of(sims[side.key], size)[0]
                inventories[side.key] = write_inventory(os.path.join(workdir, side.key), names[side.key])
                probe_path(side, sims[side.key], workdir, names[side.key][0], log)
            measures = dict((side.key, {}) for side in sides)
            for side, kind in _alternated(turn, ("change", "again")):
                task = {"ansible.builtin.ping": {}} if kind == "floor" else \
                    serial_task(side, {"name": "{{ inventory_hostname }}"})
                label = "%s-%d-%d-%s-%s-%d" % ("s5" if kind == "floor" else "s1", size, login_delay, kind, side.key,
                                               attempt)
                m = run_playbook(side, sims[side.key], workdir, play(task), inventories[side.key], args.forks,
                                 label, log)
                if kind == "change":
                    m.verified = count_with_vspc_port(sims[side.key], names[side.key])
                    m.path = (_paths.get(side.key) or {}).get("path")
                measures[side.key][kind] = m
            for side in sides:
                runs[side.key].append(measures[side.key])
        finally:
            for sim in set(sims.values()):
                sim.stop()
    return runs


def scenario_inventory_bulk(sides, size, args, workdir, log):
    """Scenario 1 bulk (ours only): the vSPC port on every VM by one run_once task of
    vm_serial_port_bulk, then again; compared with scenario 1's peer and floor runs of the size."""
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


def scenario_serial_console(sides, size, login_delay, args, workdir, log):
    """Scenario 4: playbooks/serial_console.yml (ours only: the peer ships no such playbook) over
    ``size`` VMs, change then again, in its default mode and with ``-e serial_console_bulk=true``
    (the role plans and configures the play in one module run each), for each of our variants
    in ``sides``, and the ping floor, the runs alternated as in scenario 1. Every VM gets the vSPC
    port through group_vars; the role enables vSPC on the hosts (cluster scope) once for the play.
    Returns ``{"<variant>" or "<variant> bulk": {"change": m, "again": m}, "floor": {"floor": m}}``."""
    path = serial_console_playbook()
    if not path:
        return None
    runners = [s for s in sides if s.ours]
    floors = [s for s in sides if s.floor]
    entries = [(s, bulk) for s in runners for bulk in (False, True)]
    sims, names = {}, {}
    try:
        for side, bulk in entries:
            key = side.key + (" bulk" if bulk else "")
            sims[key] = sim_for(size, args.delay_ms, login_delay_ms=login_delay)
            names[key] = inventory_of(sims[key], size)[0]
        inventories = {}
        for key, vms in names.items():
            inventories[key] = os.path.join(workdir, "serial_console-" + key.replace(" ", "-"), "hosts.yml")
            os.makedirs(os.path.dirname(inventories[key]), exist_ok=True)
            with open(inventories[key], "w", encoding="utf-8") as handle:
                json.dump({"vms": {"hosts": dict((n, None) for n in vms), "vars": {"serial_console_ports": [{
                    "number": 1, "backing": dict(type="network", direction="server", **PORT)}]}}}, handle, indent=1)
        first = list(sims)[0]
        out = {}
        order = [(side, bulk, "change") for side, bulk in entries] + [(side, None, "floor") for side in floors] + \
            [(side, bulk, "again") for side, bulk in entries]
        for side, bulk, kind in order:
            key = "floor" if side.floor else side.key + (" bulk" if bulk else "")
            label = "s4-%d-%d-%s-%s" % (size, login_delay, kind, key.replace(" ", "-"))
            if side.floor:
                inventory = write_inventory(os.path.join(workdir, "s4-floor"), names[first])
                m = run_playbook(side, sims[first], workdir, play({"ansible.builtin.ping": {}}), inventory,
                                 args.forks, label, log)
            else:
                extra = ["-e", "serial_console_bulk=true"] if bulk else []
                m = run_playbook(side, sims[key], workdir, path, inventories[key], args.forks, label, log, extra)
                if kind == "change":
                    m.verified = count_with_vspc_port(sims[key], names[key])
            out.setdefault(key, {})[kind] = m
        return out
    finally:
        for sim in sims.values():
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
    runs = meta.get("runs") or [dict(date=meta["date"], argv=meta["argv"])]
    if len(runs) == 1:
        lines.append("Run %s (`bench/run %s`), %s mode." % (runs[0]["date"], " ".join(runs[0]["argv"]), meta["mode"]))
    else:
        lines.append("Assembled from %d runs (`--merge`), each scenario, size and login delay measured side by side "
                     "within one run:" % len(runs))
        lines.append("")
        lines += ["- %s: `bench/run %s`%s" % (r["date"], " ".join(r["argv"]), " (%s)" % r["commit"] if r.get("commit") else "")
                  for r in runs]
    lines.append("")
    lines.append("| | |")
    lines.append("| --- | --- |")
    for key, value in sorted(meta["machine"].items(), key=lambda kv: kv[0] == "simulator"):  # merged sides before it
        lines.append("| %s | %s |" % (key, value))
    lines.append("")
    lines.append("Requests are SOAP calls counted in the simulator's trace (GETs of "
                 "`/sdk/vimServiceVersions.xml` in brackets when any); wall time is the whole "
                 "`ansible-playbook` run; CPU is the user+system time of ansible-playbook and all its "
                 "children; the simulator adds %d ms to every SOAP call. Ratios to the floor below 1, and ratios peer / side "
                 "above 1, favour ours." % meta["delay_ms"])
    lines.append("")

    single = report.get("single") or {}
    if single:
        lines.append("## Requests per module run (one VM, scenario 2)")
        lines.append("")
        lines.append("| inventory | look-up | side | change: requests | no change: requests | logins aside: change "
                     "| logins aside: no change | change: wall s | no change: wall s | verified |")
        lines.append("| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
        for entry in single:
            c, a = entry["change"], entry["again"]
            lines.append("| %d VMs | %s | %s | %s | %s | %d | %d | %.2f | %.2f | %s |" % (
                entry["size"], entry["identity"], entry["side"], _req(c), _req(a), task_requests(c), task_requests(a),
                c["wall"], a["wall"], _verified(c, a, 1)))
        lines.append("")
        lines.append("Methods (change run, name look-up): " + "; ".join(
            "%s: %s" % (e["side"], ", ".join("%s %d" % kv for kv in sorted(e["change"]["methods"].items())))
            for e in single if e["identity"] == "name" and e["size"] == min(x["size"] for x in single)))
        lines.append("")

    inv = report.get("inventory") or {}
    bulk = report.get("inventory_bulk") or {}
    if inv or bulk:
        lines += render_inventory(report, inv, bulk)

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
    if sc:
        lines += render_serial_console(report, sc)
    elif report.get("serial_console_note"):
        lines.append("## Inventory-driven `playbooks/serial_console.yml` (scenario 4)")
        lines.append("")
        lines.append("Not measured in this run: %s." % report["serial_console_note"])
        lines.append("")
    checks = targets(report)
    if checks:
        lines.append("## Targets (issue 12)")
        lines.append("")
        lines.append("| target | measured | met? |")
        lines.append("| --- | --- | --- |")
        for target, measured, met in checks:
            lines.append("| %s | %s | %s |" % (target, measured, "yes" if met else "**no**"))
        lines.append("")
    for note in report.get("notes", []):
        lines.append("- " + note)
    return "\n".join(lines).rstrip() + "\n"


RUN_NAMES = {"change": "add port", "again": "again (no change)", "floor": "ping (floor)"}
TARGETS = dict(floor=0.5, peer=3.5, cpu_ms=120, logins=2, change=9, again=5, role=0.6, role_bulk=0.3,
               bulk_size=1000, bulk_s=15.0)


def task_requests(m):
    """Requests of a run's tasks: its SOAP calls but the session's logins and logouts."""
    return m["soap"] - m.get("logins", 0) - m.get("logouts", 0)


def _open_sessions(m):
    return m.get("logins", 0) - m.get("logouts", 0)


def _sorted_sides(keys):
    order = list(OURS_VARIANTS) + ["peer", "floor"]
    return sorted(keys, key=lambda k: (order.index(k) if k in order else len(order), k))


def _path_text(report):
    paths = report["meta"].get("paths") or {}
    return "; ".join("`%s`: %s%s" % (k, v.get("path"), " (%s)" % v["reason"] if v.get("reason") else "")
                     for k, v in sorted(paths.items()))


def render_inventory(report, inv, bulk):
    meta = report["meta"]
    lines = ["## The vSPC port on every VM, forks %d (scenario 1), and the ping floor (scenario 5)" % meta["forks"], ""]
    lines.append("Every side on ansible-core %s; each on its own simulator of the same size and delays. Sides: %s. "
                 "How our tasks ran, from a `-vvv` probe on that ansible-core: %s. `ours-bulk` (when present) is one "
                 "`run_once` task of `vm_serial_port_bulk` for every VM (in-process too), on its own simulator, "
                 "divided by the floor and peer runs of the same size without login delay. "
                 "*per task* = requests per VM with the session's `Login` and `Logout` aside; *open* = `Login` "
                 "minus `Logout` in the trace after the run; *peer / side* = how many times faster than "
                 "community.vmware in the same block; *vcsim CPU*: what the simulator (the vCenter) spent on the run, on the "
                 "same 2 cores." % (
                     meta.get("core") or "?", "; ".join("`%s` %s" % (k, VARIANT_TEXT[k]) for k in VARIANT_TEXT if any(
                         k in blocks for sides in inv.values() for blocks in sides.values())),
                     _path_text(report) or "-"))
    lines.append("")
    lines.append("| VMs | login delay | side | run | requests | per VM | per task | logins | open | wall s | CPU s "
                 "| CPU ms/task | /floor (wall) | /floor (CPU) | peer / side (wall) | peer / side (CPU) | vcsim CPU s "
                 "| changed | verified |")
    lines.append("| ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
                 "| ---: | ---: | --- |")
    for size in sorted(set(inv) | set(bulk), key=int):
        n = float(int(size))
        blocks = inv.get(size) or {}
        for delay in sorted(blocks, key=int):
            sides = blocks[delay]
            floor = (sides.get("floor") or {}).get("floor") or {}
            for side in _sorted_sides(sides):
                for run in ("change", "again", "floor"):
                    m = sides[side].get(run)
                    if not m:
                        continue
                    peer_m = (sides.get("peer") or {}).get(run) if side != "peer" and run != "floor" else None
                    lines.append("| %s | %s ms | %s | %s | %d | %.1f | %.1f | %d | %d | %.1f%s | %.1f | %.0f | %s | %s | %s | %s | %.1f | %d | %s |" % (
                        size, delay, side, RUN_NAMES[run], m["soap"], m["soap"] / n, task_requests(m) / n,
                        m.get("logins", 0), _open_sessions(m), m["wall"],
                        " (%s)" % ", ".join("%.1f" % w for w in m["walls"]) if m.get("walls") else "",
                        m["cpu"], 1000.0 * m["cpu"] / n,
                        _ratio(m["wall"], floor.get("wall")) if run != "floor" else "",
                        _ratio(m["cpu"], floor.get("cpu")) if run != "floor" else "",
                        _ratio(peer_m["wall"], m["wall"]) if peer_m else "",
                        _ratio(peer_m["cpu"], m["cpu"]) if peer_m else "", m.get("sim_cpu", 0.0),
                        m["changed"], _verified(m, None, int(size)) if run == "change" else ""))
        for run in ("change", "again"):
            m = (bulk.get(size) or {}).get(run)
            if m:
                sides = blocks.get("0") or {}
                floor = (sides.get("floor") or {}).get("floor") or {}
                peer_m = (sides.get("peer") or {}).get(run)
                lines.append("| %s | 0 ms | ours-bulk | %s | %d | %.1f | %.1f | %d | %d | %.1f | %.1f | %.0f | %s | %s | %s | %s | %.1f | %d | %s |" % (
                    size, RUN_NAMES[run], m["soap"], m["soap"] / n, task_requests(m) / n, m.get("logins", 0),
                    _open_sessions(m), m["wall"], m["cpu"], 1000.0 * m["cpu"] / n, _ratio(m["wall"], floor.get("wall")),
                    _ratio(m["cpu"], floor.get("cpu")), _ratio(peer_m["wall"], m["wall"]) if peer_m else "",
                    _ratio(peer_m["cpu"], m["cpu"]) if peer_m else "", m.get("sim_cpu", 0.0), m["changed"],
                    _verified(m, None, int(size)) if run == "change" else ""))
    lines.append("")
    loads = [m.get("load") for m in _all_measures({"inventory": inv}) if m.get("load") is not None]
    if loads:
        lines.append("Load average (1 min) at the end of the runs: %.1f to %.1f." % (min(loads), max(loads)))
        lines.append("")
    return lines


def render_serial_console(report, sc):
    lines = ["## Inventory-driven `playbooks/serial_console.yml` (scenario 4)", ""]
    variants = sorted(set(k.split()[0] for blocks in sc.values() for block in blocks.values() for k in block) - {"floor"},
                      key=lambda k: list(OURS_VARIANTS).index(k))
    lines.append("The role in its default mode and with `-e serial_console_bulk=true` (*bulk*), for %s, each on its own "
                 "simulator, and the ping floor " % ", ".join("`%s` (%s)" % (k, VARIANT_TEXT[k].split(", ", 1)[1]) for k in variants) +
                 "over the same inventory, the runs alternated; all on ansible-core %s. *CPU ms/VM*: CPU of the whole "
                 "run per VM (the role runs several tasks per VM)." % ", ".join(sorted(set(
                     m.get("core") or report["meta"].get("core") or "?" for blocks in sc.values() for block in blocks.values()
                     for runs in block.values() for m in runs.values()))))
    lines.append("")
    lines.append("| VMs | login delay | side | mode | run | requests | per VM | logins | open | wall s | CPU s | CPU ms/VM "
                 "| /floor (wall) | /floor (CPU) | changed | verified |")
    lines.append("| ---: | ---: | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for size in sorted(sc, key=int):
        n = float(int(size))
        for delay in sorted(sc[size], key=int):
            block = sc[size][delay]
            floor = (block.get("floor") or {}).get("floor") or {}
            for key in sorted(block, key=lambda k: (k == "floor", _sorted_sides([k.split()[0]]), k)):
                side, _sep, mode = key.partition(" ")
                for run in ("change", "again", "floor"):
                    m = block[key].get(run)
                    if not m:
                        continue
                    lines.append("| %s | %s ms | %s | %s | %s | %d | %.1f | %d | %d | %.1f | %.1f | %.0f | %s | %s | %d | %s |" % (
                        size, delay, side, mode or ("" if side == "floor" else "default"), RUN_NAMES[run], m["soap"],
                        m["soap"] / n, m.get("logins", 0), _open_sessions(m), m["wall"], m["cpu"],
                        1000.0 * m["cpu"] / n, _ratio(m["wall"], floor.get("wall")) if run != "floor" else "",
                        _ratio(m["cpu"], floor.get("cpu")) if run != "floor" else "", m["changed"],
                        _verified(m, None, int(size)) if run == "change" else ""))
    lines.append("")
    return lines


def _fmt_all(values, fmt="%.2f"):
    return ", ".join(fmt % v for v in values)


def targets(report):
    """``(target, measured, met)`` of issue 12's targets that this report has figures for."""
    out = []
    forks = report["meta"].get("forks", 5)
    inv = report.get("inventory") or {}
    for size in sorted(inv, key=int):
        n = float(int(size))
        for delay in sorted(inv[size], key=int):
            sides = inv[size][delay]
            ours, floor, peer = sides.get("ours"), (sides.get("floor") or {}).get("floor"), sides.get("peer")
            if not ours:
                continue
            where = "%s VMs, login delay %s ms" % (size, delay)
            runs = [ours[r] for r in ("change", "again") if r in ours]
            if floor:
                ratios = [m["wall"] / floor["wall"] for m in runs]
                out.append(("vm_serial_port per VM, %s: wall at most %.1f x the ping floor (change, no change)"
                            % (where, TARGETS["floor"]), "%s (CPU: %s)" % (
                                _fmt_all(ratios), _fmt_all([m["cpu"] / floor["cpu"] for m in runs])),
                            all(r <= TARGETS["floor"] for r in ratios)))
            if peer:
                both = [r for r in ("change", "again") if r in peer and r in ours]
                faster = [peer[r]["wall"] / ours[r]["wall"] for r in both]
                out.append(("vm_serial_port per VM, %s: at least %.1f x faster than community.vmware"
                            % (where, TARGETS["peer"]), "%s (CPU: %s)" % (
                                _fmt_all(faster, "%.2f x"), _fmt_all([peer[r]["cpu"] / ours[r]["cpu"] for r in both], "%.2f x")),
                            all(f >= TARGETS["peer"] for f in faster)))
            cpu = [1000.0 * m["cpu"] / n for m in runs]
            out.append(("vm_serial_port per VM, %s: CPU at most %d ms per task" % (where, TARGETS["cpu_ms"]),
                        _fmt_all(cpu, "%.0f ms"), all(c <= TARGETS["cpu_ms"] for c in cpu)))
            logins = [m.get("logins", 0) for m in runs]
            left = [_open_sessions(m) for m in runs]
            limit = 1 if forks == 1 else TARGETS["logins"]
            out.append(("logins per run, %s, forks %d: at most %d, none left open" % (where, forks, limit),
                        "logins %s; open %s" % (_fmt_all(logins, "%d"), _fmt_all(left, "%d")),
                        all(x <= limit for x in logins) and all(x == 0 for x in left)))
            if delay == "0" and "change" in ours and "again" in ours:
                change, again = task_requests(ours["change"]) / n, task_requests(ours["again"]) / n
                out.append(("requests per task by name, logins aside, %s VMs: change at most %d, no change at most %d"
                            % (size, TARGETS["change"], TARGETS["again"]), "%.1f and %.1f" % (change, again),
                            change <= TARGETS["change"] and again <= TARGETS["again"]))
    sc = report.get("serial_console") or {}
    for size in sorted(sc, key=int):
        for delay in sorted(sc[size], key=int):
            block = sc[size][delay]
            floor = (block.get("floor") or {}).get("floor")
            if not floor:
                continue
            for key, limit in (("ours", TARGETS["role"]), ("ours bulk", TARGETS["role_bulk"])):
                if key in block:
                    ratios = [block[key][r]["wall"] / floor["wall"] for r in ("change", "again") if r in block[key]]
                    out.append(("serial_console role%s, %s VMs, login delay %s ms: at most %.1f x the ping floor "
                                "(change, no change)" % (" in bulk" if "bulk" in key else ", default settings", size,
                                                         delay, limit),
                                "%s (CPU: %s)" % (_fmt_all(ratios), _fmt_all(
                                    [block[key][r]["cpu"] / floor["cpu"] for r in ("change", "again") if r in block[key]])),
                                all(r <= limit for r in ratios)))
    bulk = (report.get("inventory_bulk") or {}).get(str(TARGETS["bulk_size"]))
    if bulk and "change" in bulk:
        out.append(("vm_serial_port_bulk, %d VMs, a change on each: under %.0f s" % (TARGETS["bulk_size"], TARGETS["bulk_s"]),
                    "%.1f s (%d requests; CPU %.1f s, simulator %.1f s; load %s)" % (
                        bulk["change"]["wall"], bulk["change"]["soap"], bulk["change"]["cpu"],
                        bulk["change"].get("sim_cpu", 0.0), bulk["change"].get("load", "?")),
                    bulk["change"]["wall"] < TARGETS["bulk_s"] and bulk["change"].get("verified") == TARGETS["bulk_size"]))
    return out


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

def _ints(text):
    return [int(s) for s in text.split(",") if s.strip()]


def _names(text, allowed, what):
    names = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise SystemExit("unknown %s: %s (choose from %s)" % (what, ", ".join(unknown), ", ".join(allowed)))
    return names


SCENARIOS = ("single", "inventory", "inventory_bulk", "firewall", "serial_console")


def parse_args(argv):
    p = argparse.ArgumentParser(prog="bench/run", description=__doc__.split("\n\n", maxsplit=1)[0])
    p.add_argument("--quick", action="store_true", help="10 VMs; look-ups at 10 and 100 VMs")
    p.add_argument("--smoke", action="store_true", help="smallest: 4 VMs, one look-up size, no repeat")
    p.add_argument("--no-peer", action="store_true",
                   help="no peer (no install): our sides and the floor run on the project's ansible-core")
    p.add_argument("--sizes", default=None, help="inventory sizes for scenarios 1, 4 and 5 (default 200,500)")
    p.add_argument("--bulk-sizes", default=None,
                   help="inventory sizes for one vm_serial_port_bulk task (default: the sizes and 1000)")
    p.add_argument("--lookup-sizes", default=None, help="inventory sizes for the single-VM look-ups (default 50,5000)")
    p.add_argument("--delay-ms", type=int, default=10, help="latency the simulator adds to every SOAP call (default 10)")
    p.add_argument("--login-delays", default=None,
                   help="what the simulator adds to Login alone (vCenter's single sign-on), ms, a comma list: "
                        "scenarios 1 and 4 run once per value (default 0,250; --quick, --smoke: 0)")
    p.add_argument("--variants", default=None,
                   help="our variants in scenario 1: %s (default all; --smoke: ours,ours-shipped)" % ",".join(OURS_VARIANTS))
    p.add_argument("--s4-variants", default="ours,ours-shipped", help="our variants in scenario 4 (default ours,ours-shipped)")
    p.add_argument("--s4-login-delays", default=None, help="login delays of scenario 4 (default: --login-delays)")
    p.add_argument("--s4-core", default="peer", choices=["peer", "project"],
                   help="ansible-core of scenario 4 and its floor: the peer's (default, as every other scenario) or "
                        "the project's (scenario 4 has no peer side)")
    p.add_argument("--forks", type=int, default=5)
    p.add_argument("--cluster-hosts", type=int, default=3, help="hosts in the cluster of scenario 3 (default 3)")
    p.add_argument("--repeat", type=int, default=1,
                   help="repeat scenario 1 (the order of the sides rotated) and keep the median (default 1)")
    p.add_argument("--scenarios", default=None,
                   help="comma list of %s (default all; --smoke: single,inventory,inventory_bulk)" % ", ".join(SCENARIOS))
    p.add_argument("--identities", default=None,
                   help="look-ups of the single-VM scenario: name,uuid,moid (default; --smoke: name)")
    p.add_argument("--name", default=None, help="results file name (default: latest, quick or smoke)")
    p.add_argument("--out", default=RESULTS, help="results directory (default bench/results)")
    p.add_argument("--merge", action="store_true",
                   help="keep what the previous run of the same name measured and this run does not repeat "
                        "(per scenario, size and login delay)")
    p.add_argument("--render-only", action="store_true",
                   help="measure nothing: write the table (and docs/performance.md) again from the raw JSON")
    p.add_argument("--combine", default=None, type=lambda t: [n for n in t.split(",") if n],
                   help="measure nothing: write --name from the raw JSON of these runs (a comma list of names, "
                        "e.g. runs made in parallel), a later run's figures winning for the same scenario, size and "
                        "login delay")
    p.add_argument("--docs", default=None, choices=["yes", "no"],
                   help="update the results block of docs/performance.md (default: yes for a full run named latest)")
    p.add_argument("--keep", action="store_true", help="keep the work directory (playbooks, logs)")
    args = p.parse_args(argv)
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    args.mode = mode
    args.sizes = _ints(args.sizes or {"smoke": "4", "quick": "10", "full": "200,500"}[mode])
    args.bulk_sizes = _ints(args.bulk_sizes) if args.bulk_sizes is not None else \
        sorted(set(args.sizes) | ({1000} if mode == "full" else set()))
    args.lookup_sizes = _ints(args.lookup_sizes or {"smoke": "4", "quick": "10,100", "full": "50,5000"}[mode])
    args.login_delays = _ints(args.login_delays or ("0,250" if mode == "full" else "0"))
    args.s4_login_delays = _ints(args.s4_login_delays) if args.s4_login_delays else args.login_delays
    args.variants = _names(args.variants or ("ours,ours-shipped" if mode == "smoke" else ",".join(OURS_VARIANTS)),
                           list(OURS_VARIANTS), "variant")
    if "ours" not in args.variants:
        args.variants.insert(0, "ours")
    args.s4_variants = _names(args.s4_variants, list(OURS_VARIANTS), "variant")
    args.scenarios = set(_names(args.scenarios or (
        "single,inventory,inventory_bulk" if mode == "smoke" else ",".join(SCENARIOS)), SCENARIOS, "scenario"))
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


FORMAT = 2  # of the raw JSON: scenarios 1 and 4 per size and login delay


def _blocks(report):
    """What a report measured: whole scenarios (single, firewall), sizes (bulk), sizes and login
    delays (scenarios 1 and 4)."""
    out = set(k for k in ("single", "firewall") if report.get(k))
    out |= set(("inventory_bulk", size) for size in report.get("inventory_bulk") or {})
    for key in ("inventory", "serial_console"):
        out |= set((key, size, delay) for size, blocks in (report.get(key) or {}).items() for delay in blocks)
    return out


def _merge(previous, report, measured):
    """Keep of ``previous`` (a report of the same name) what ``report`` did not measure (``measured``,
    see :func:`_blocks`)."""
    if previous.get("meta", {}).get("format") != FORMAT:
        return
    for key in ("single", "firewall"):
        if key in previous and key not in measured:
            report[key] = previous[key]
    for key in ("inventory_bulk", "inventory", "serial_console"):
        for size, value in (previous.get(key) or {}).items():
            mine = report.setdefault(key, {})
            if key == "inventory_bulk":
                if (key, size) not in measured:
                    mine.setdefault(size, value)
                continue
            for delay, block in value.items():
                if (key, size, delay) not in measured:
                    mine.setdefault(size, {}).setdefault(delay, block)
    report["meta"]["runs"] = previous["meta"].get("runs", []) + report["meta"]["runs"]
    for key, value in previous["meta"].get("machine", {}).items():
        report["meta"]["machine"].setdefault(key, value)  # e.g. the peer's versions with --no-peer
    for key in ("core", "paths"):
        if not report["meta"].get(key) and previous["meta"].get(key):
            report["meta"][key] = previous["meta"][key]


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    started = time.time()

    def log(msg):
        print("[%6.0fs] %s" % (time.time() - started, msg), flush=True)

    if args.render_only or args.combine:
        names = args.combine or [args.name]
        report = json.loads(_read(os.path.join(args.out, "raw", "%s.json" % names[-1])))
        for name in reversed(names[:-1]):  # a later run's blocks win
            _merge(json.loads(_read(os.path.join(args.out, "raw", "%s.json" % name))), report, _blocks(report))
        args.mode = report["meta"]["mode"]
        write_outputs(report, args, log)
        return 0
    ensure_collection_link()
    # Every side of scenarios 1, 4 and 5 runs on one ansible-core: the peer's (ansible 11's 2.18),
    # or the project's with --no-peer; so every ratio compares collections, not cores.
    core_venv = project_venv() if args.no_peer else ensure_peer(log)
    ours = dict((key, Side(key, "vmchannels.vsphere", core_venv, OURS_COLLECTIONS, OURS_VARIANTS[key]))
                for key in OURS_VARIANTS)
    peer = None
    if not args.no_peer:
        peer_paths = os.path.join(ROOT, ".cache", "bench-peer-collections")
        os.makedirs(peer_paths, exist_ok=True)
        peer = Side("peer", "community.vmware", PEER_VENV, peer_paths)
    floor = Side("floor", "ansible.builtin.ping", core_venv, OURS_COLLECTIONS)
    pair = [ours["ours"]] + ([peer] if peer else [])
    s1_sides = [ours[k] for k in args.variants] + ([peer] if peer else []) + [floor]
    s4_venv = project_venv() if args.s4_core == "project" else core_venv
    s4_sides = [Side(k, "vmchannels.vsphere", s4_venv, OURS_COLLECTIONS, OURS_VARIANTS[k]) for k in args.s4_variants] + \
        [Side("floor", "ansible.builtin.ping", s4_venv, OURS_COLLECTIONS)]
    workdir = tempfile.mkdtemp(prefix="bench-")
    log("work directory %s; mode %s; ansible-core of %s; sides %s" % (
        workdir, args.mode, core_venv, ", ".join(s.key for s in s1_sides)))
    this_run = dict(date=datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
                    argv=sys.argv[1:] if argv is None else argv, commit=_git_head())
    report = {"meta": {
        "format": FORMAT, "date": this_run["date"], "argv": this_run["argv"], "runs": [this_run],
        "mode": args.mode, "delay_ms": args.delay_ms, "forks": args.forks, "cluster_hosts": args.cluster_hosts,
        "core": ours["ours"].version().split(" ")[0], "machine": machine_info(pair), "paths": _paths}, "notes": []}
    if "serial_console" in args.scenarios:
        report["meta"]["s4_core"] = s4_sides[0].version().split(" ")[0]
    measured = set()
    try:
        if "single" in args.scenarios:
            log("scenario 2 and look-ups: one VM, change then no change")
            entries = []
            for size in args.lookup_sizes:
                result = scenario_single(pair, args, workdir, log, size, args.identities)
                for (side, identity), runs in result.items():
                    entries.append(dict(size=size, side=side, identity=identity, change=runs["change"].as_dict(),
                                        again=runs["again"].as_dict()))
            report["single"] = entries
            measured.add("single")
        if "firewall" in args.scenarios:
            log("scenario 3: vSPC on every host of cluster %s" % CLUSTER)
            report["firewall"] = dict((k, dict((r, m.as_dict()) for r, m in v.items()))
                                      for k, v in scenario_firewall(pair, args, workdir, log).items())
            measured.add("firewall")
        if "inventory" in args.scenarios:
            report.setdefault("inventory", {})
            for size in args.sizes:
                for delay in args.login_delays:
                    log("scenario 1 and floor: %d VMs, forks %d, login delay %d ms" % (size, args.forks, delay))
                    result = scenario_inventory(s1_sides, size, delay, args, workdir, log)
                    report["inventory"].setdefault(str(size), {})[str(delay)] = \
                        dict((k, _pick(v)) for k, v in result.items())
                    measured.add(("inventory", str(size), str(delay)))
        if "inventory_bulk" in args.scenarios:
            report.setdefault("inventory_bulk", {})
            for size in args.bulk_sizes:
                log("scenario 1 bulk: %d VMs, one run_once task of vm_serial_port_bulk" % size)
                result = scenario_inventory_bulk([ours["ours"]], size, args, workdir, log)
                report["inventory_bulk"][str(size)] = dict((r, m.as_dict()) for r, m in result.items())
                measured.add(("inventory_bulk", str(size)))
        if "serial_console" in args.scenarios:
            if serial_console_playbook() is None:
                report["serial_console_note"] = "playbooks/serial_console.yml has not landed yet"
            else:
                report.setdefault("serial_console", {})
                for size in args.sizes:
                    for delay in args.s4_login_delays:
                        log("scenario 4: playbooks/serial_console.yml over %d VMs, default and bulk, login delay %d ms"
                            % (size, delay))
                        result = scenario_serial_console(s4_sides, size, delay, args, workdir, log)
                        block = dict((k, dict((r, m.as_dict()) for r, m in v.items())) for k, v in result.items())
                        for runs in block.values():
                            for m in runs.values():
                                m["core"] = report["meta"]["s4_core"]
                        report["serial_console"].setdefault(str(size), {})[str(delay)] = block
                        measured.add(("serial_console", str(size), str(delay)))
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    raw_file = os.path.join(args.out, "raw", "%s.json" % args.name)
    if args.merge and os.path.exists(raw_file):  # read now: another run may have written it meanwhile
        _merge(json.loads(_read(raw_file)), report, measured)
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
    for runs in (report.get("firewall") or {}).values():
        yield from runs.values()
    for runs in (report.get("inventory_bulk") or {}).values():
        yield from runs.values()
    for key in ("inventory", "serial_console"):
        for blocks in (report.get(key) or {}).values():
            for sides in blocks.values():
                for runs in sides.values():
                    yield from runs.values()


if __name__ == "__main__":
    sys.exit(main())
