"""One measurement: a whole ``ansible-playbook`` run timed from the outside, its CPU and the
simulator's, its requests from the trace, its recap; and the probe of how our tasks run."""

import json
import os
import re
import resource
import subprocess
import time

from common import _read
from plays import play, serial_task, write_inventory
from simulator import trace_counts


def _proc_cpu(pid):
    """User + system CPU seconds of a running process (the simulator)."""
    try:
        with open("/proc/%d/stat" % pid, encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / float(os.sysconf("SC_CLK_TCK"))
    except (OSError, IndexError, ValueError):
        return 0.0


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
