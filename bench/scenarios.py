"""The scenarios of the bench (see docs/performance.md): each starts its simulators, runs every side
and returns the measures."""

import json
import os

from common import PORT
from measure import _paths, probe_path, run_playbook
from plays import bulk_task, firewall_task, play, serial_console_playbook, serial_task, write_inventory
from simulator import count_with_vspc_port, inventory_of, sim_for, vspc_enabled_hosts


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
    """Scenario 1 bulk (``ours``, and the baseline with ``--baseline``): the vSPC port on every VM by
    one run_once task of vm_serial_port_bulk, then again; compared with scenario 1's peer and floor
    runs of the size. Each side on its own simulator, the runs alternated as in scenario 1.
    Returns ``{side key: {"change": m, "again": m}}``."""
    sims, names, inventories = {}, {}, {}
    try:
        for side in sides:
            sims[side.key] = sim_for(size, args.delay_ms)
            names[side.key] = inventory_of(sims[side.key], size)[0]
            inventories[side.key] = write_inventory(os.path.join(workdir, "bulk-" + side.key), names[side.key])
        out = dict((side.key, {}) for side in sides)
        for side, kind in _alternated(sides, ("change", "again")):
            m = run_playbook(side, sims[side.key], workdir, play(bulk_task()), inventories[side.key], args.forks,
                             "s1b-%d-%s-%s" % (size, kind, side.key), log)
            if kind == "change":
                m.verified = count_with_vspc_port(sims[side.key], names[side.key])
            out[side.key][kind] = m
        return out
    finally:
        for sim in sims.values():
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


def scenario_serial_console(sides, size, login_delay, args, workdir, log):
    """Scenario 4: playbooks/serial_console.yml (ours only: the peer ships no such playbook) over
    ``size`` VMs, change then again, in its default mode and with ``-e serial_console_bulk=true``
    (the role plans and configures the play in one module run each), for each of our variants
    in ``sides`` (the baseline runs its worktree's playbook), and the ping floor, the runs alternated
    as in scenario 1. Every VM gets the vSPC port through group_vars; the role enables vSPC on the
    hosts (cluster scope) once for the play.
    Returns ``{"<variant>" or "<variant> bulk": {"change": m, "again": m}, "floor": {"floor": m}}``."""
    runners = [s for s in sides if s.ours and serial_console_playbook(s.root)]  # a baseline may predate it
    if not runners:
        return None
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
                m = run_playbook(side, sims[key], workdir, serial_console_playbook(side.root), inventories[key],
                                 args.forks, label, log, extra)
                if kind == "change":
                    m.verified = count_with_vspc_port(sims[key], names[key])
            out.setdefault(key, {})[kind] = m
        return out
    finally:
        for sim in sims.values():
            sim.stop()
