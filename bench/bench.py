"""Benchmarks of vmchannels.vsphere against community.vmware, side by side, on the same simulator.

Every measurement is one whole ``ansible-playbook`` run (timed from the outside, like a user
would) against the embedded vcsim (tests/vcsim), whose request trace counts the SOAP round trips
of that run. Each side gets a fresh simulator of the same size and delay for the inventory-wide
scenarios, so neither side sees the other's changes; single-VM scenarios share one simulator and
use different VMs.

    bench/run                     # full run: 50 and 500 VMs, look-ups at 50 and 5,000 VMs
    bench/run --quick             # 10 VMs, look-ups at 10 and 100 VMs (a minute or two)
    bench/run --smoke --no-peer   # smallest: our side only, no peer install (the smoke test)
    bench/run --quick --baseline main   # this checkout against main's, side by side in one run

``--baseline REF`` adds the side ``ours-baseline``: our collection at the commit REF (a detached git
worktree of it in ``.cache/bench-baseline/<sha>``, added on first use), run exactly as ``ours``
(same virtual environment, same settings) wherever ``ours`` runs, and the report's ratios
ours / baseline (wall, CPU, requests, logins). With ``--no-peer``: ours against the baseline only.

The peer, community.vmware from PyPI's ``ansible`` package, is installed by the bench into its
own virtual environment (``.cache/bench-peer-venv``) with pyVmomi. Results: a Markdown table in
``bench/results/<name>.md`` (and the raw numbers next to it as JSON).

This file is the command line (its options, the order of the scenarios); the rest, beside it:

    common.py      the checkout's paths, the port and the cluster the scenarios set and read back
    sides.py       the sides (Side, our variants), the project's venv, the peer's venv and its install,
                   the baseline's worktree
    simulator.py   a simulator per scenario, its VMs for the inventory, the work read back, its trace counted
    plays.py       the task of each side, the play, the inventory file, playbooks/serial_console.yml
    measure.py     one timed ansible-playbook run (Measure, run_playbook, CPU) and the -vvv probe
    scenarios.py   scenarios 1 to 4 (and the ping floor of 5)
    report.py      the Markdown tables and the targets
    results.py     the machine, the raw JSON (median, --merge, --combine), the files and docs/performance.md
"""

import argparse
import datetime
import json
import os
import shutil
import sys
import tempfile
import time

from common import CLUSTER, RESULTS, ROOT, _git_head, _read
from measure import _paths
from report import _all_measures
from results import FORMAT, _blocks, _merge, _pick, machine_info, write_outputs
from plays import serial_console_playbook
from scenarios import (scenario_firewall, scenario_inventory, scenario_inventory_bulk, scenario_serial_console,
                       scenario_single)
from sides import (OURS_COLLECTIONS, OURS_VARIANTS, PEER_VENV, Side, baseline_side, ensure_baseline, ensure_collection_link,
                   ensure_peer, project_venv)


def _ints(text):
    return [int(s) for s in text.split(",") if s.strip()]


def _names(text, allowed, what):
    names = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise SystemExit("unknown %s: %s (choose from %s)" % (what, ", ".join(unknown), ", ".join(allowed)))
    return names


SCENARIOS = ("single", "inventory", "inventory_bulk", "firewall", "serial_console")


def _with_baseline(sides, baseline):
    """``sides`` with ``baseline`` (if any) right after ``ours``: wherever ours runs, the baseline runs."""
    out = []
    for side in sides:
        out += [side] + ([baseline] if baseline and side.key == "ours" else [])
    return out


def parse_args(argv):
    p = argparse.ArgumentParser(prog="bench/run", description=__doc__.split("\n\n", maxsplit=1)[0],
                                epilog="How to compare two commits (docs/performance.md): bench/run --quick --no-peer "
                                       "--baseline main measures this checkout and main's side by side in one run.")
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
    p.add_argument("--baseline", default=None, metavar="REF",
                   help="also run our collection at the commit REF (commit, branch or tag; a detached git worktree "
                        "in .cache/bench-baseline/<sha>, added on first use) as the side ours-baseline, exactly as "
                        "ours, wherever ours runs, side by side in this run; the report adds the ratios ours / "
                        "baseline (wall, CPU, requests, logins). With --no-peer: ours against the baseline only")
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
    baseline_root = ensure_baseline(args.baseline, log) if args.baseline else None
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
    baseline = baseline_side(baseline_root, core_venv) if baseline_root else None
    pair = _with_baseline([ours["ours"]], baseline) + ([peer] if peer else [])
    s1_sides = _with_baseline([ours[k] for k in args.variants], baseline) + ([peer] if peer else []) + [floor]
    s4_venv = project_venv() if args.s4_core == "project" else core_venv
    s4_sides = _with_baseline(
        [Side(k, "vmchannels.vsphere", s4_venv, OURS_COLLECTIONS, OURS_VARIANTS[k]) for k in args.s4_variants],
        baseline_side(baseline_root, s4_venv) if baseline_root else None) + \
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
    if baseline:
        report["meta"]["baseline"] = dict(ref=args.baseline, commit=_git_head(baseline_root),
                                          worktree=os.path.relpath(baseline_root, ROOT))
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
                result = scenario_inventory_bulk(_with_baseline([ours["ours"]], baseline), size, args, workdir, log)
                block = dict((r, m.as_dict()) for r, m in result.pop("ours").items())
                for key, runs in result.items():  # the baseline's runs under its key, beside ours'
                    block[key] = dict((r, m.as_dict()) for r, m in runs.items())
                report["inventory_bulk"][str(size)] = block
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


if __name__ == "__main__":
    sys.exit(main())
