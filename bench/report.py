"""The Markdown of a report: the tables of every scenario and the targets of issue 12."""

import statistics

from sides import BASELINE, OURS_VARIANTS, VARIANT_TEXT


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
                 "above 1, favour ours." % meta["delay_ms"] +
                 (" Ratios ours / baseline above 1: this checkout spends more than the baseline (`--baseline`)."
                  if meta.get("baseline") else ""))
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
        base = BASELINE in fw
        lines.append("| side | change: requests | no change: requests | change: wall s | no change: wall s | ours/peer (wall, change) |"
                     "%s verified |" % (" ours/baseline (wall, change) |" if base else ""))
        lines.append("| --- | ---: | ---: | ---: | ---: | ---: |%s --- |" % (" ---: |" if base else ""))
        for side in _sorted_sides(fw):
            c, a = fw[side]["change"], fw[side]["again"]
            vs = _ratio(c["wall"], fw["peer"]["change"]["wall"]) if side == "ours" and "peer" in fw else ""
            if base:  # the column ours/baseline
                vs += " | " + (_ratio(c["wall"], fw[BASELINE]["change"]["wall"]) if side == "ours" else "")
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
    if meta.get("baseline"):
        lines += render_baseline(report)
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


SIDE_ORDER = list(OURS_VARIANTS)[:1] + [BASELINE] + list(OURS_VARIANTS)[1:] + ["peer", "floor"]


def _side_rank(key):
    return (SIDE_ORDER.index(key) if key in SIDE_ORDER else len(SIDE_ORDER), key)


def _sorted_sides(keys):
    return sorted(keys, key=_side_rank)


def _vs_baseline(m, base):
    """ours / baseline of one run: wall, CPU, requests, logins (above 1: this checkout spends more)."""
    return [_ratio(m["wall"], base["wall"]), _ratio(m["cpu"], base["cpu"]), _ratio(m["soap"], base["soap"]),
            _ratio(m.get("logins", 0), base.get("logins", 0))] if base else [""] * 4


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
    with_base = any(BASELINE in sides for blocks in inv.values() for sides in blocks.values()) or \
        any(BASELINE in runs for runs in bulk.values())
    if with_base:
        lines += ["*ours / baseline*: `ours` (and `ours-bulk`) divided by the same run of `ours-baseline` (and "
                  "`ours-baseline-bulk`) in the same block.", ""]
    lines.append("| VMs | login delay | side | run | requests | per VM | per task | logins | open | wall s | CPU s "
                 "| CPU ms/task | /floor (wall) | /floor (CPU) | peer / side (wall) | peer / side (CPU) |%s vcsim CPU s "
                 "| changed | verified |" % ("".join(" ours / baseline (%s) |" % w for w in ("wall", "CPU", "requests", "logins"))
                                             if with_base else ""))
    lines.append("| ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
                 "|%s ---: | ---: | --- |" % (" ---: |" * 4 if with_base else ""))
    for size in sorted(set(inv) | set(bulk), key=int):
        blocks = inv.get(size) or {}
        for delay in sorted(blocks, key=int):
            sides = blocks[delay]
            floor = (sides.get("floor") or {}).get("floor") or {}
            for side in _sorted_sides(sides):
                for run in ("change", "again", "floor"):
                    m = sides[side].get(run)
                    if m:
                        peer_m = (sides.get("peer") or {}).get(run) if side != "peer" and run != "floor" else None
                        base_m = (sides.get(BASELINE) or {}).get(run) if side == "ours" else None
                        lines.append(_inventory_row(size, delay, side, run, m, floor, peer_m, base_m, with_base))
        sides = blocks.get("0") or {}
        floor = (sides.get("floor") or {}).get("floor") or {}
        runs = bulk.get(size) or {}
        for side, own in (("ours-bulk", runs), (BASELINE + "-bulk", runs.get(BASELINE) or {})):
            for run in ("change", "again"):
                if own.get(run):
                    base_m = (runs.get(BASELINE) or {}).get(run) if side == "ours-bulk" else None
                    lines.append(_inventory_row(size, "0", side, run, own[run], floor, (sides.get("peer") or {}).get(run),
                                                base_m, with_base))
    lines.append("")
    loads = [m.get("load") for m in _all_measures({"inventory": inv}) if m.get("load") is not None]
    if loads:
        lines.append("Load average (1 min) at the end of the runs: %.1f to %.1f." % (min(loads), max(loads)))
        lines.append("")
    return lines


def _inventory_row(size, delay, side, run, m, floor, peer_m, base_m, with_base):
    """One row of scenario 1's table (``floor``: the block's floor run; ``peer_m``, ``base_m``: the peer's
    and the baseline's same run, if this row has a ratio to them)."""
    n = float(int(size))
    cells = [size, "%s ms" % delay, side, RUN_NAMES[run], "%d" % m["soap"], "%.1f" % (m["soap"] / n),
             "%.1f" % (task_requests(m) / n), "%d" % m.get("logins", 0), "%d" % _open_sessions(m),
             "%.1f%s" % (m["wall"], " (%s)" % ", ".join("%.1f" % w for w in m["walls"]) if m.get("walls") else ""),
             "%.1f" % m["cpu"], "%.0f" % (1000.0 * m["cpu"] / n),
             _ratio(m["wall"], floor.get("wall")) if run != "floor" else "",
             _ratio(m["cpu"], floor.get("cpu")) if run != "floor" else "",
             _ratio(peer_m["wall"], m["wall"]) if peer_m else "", _ratio(peer_m["cpu"], m["cpu"]) if peer_m else ""]
    cells += _vs_baseline(m, base_m) if with_base else []
    cells += ["%.1f" % m.get("sim_cpu", 0.0), "%d" % m["changed"], _verified(m, None, int(size)) if run == "change" else ""]
    return "| " + " | ".join(cells) + " |"


def render_serial_console(report, sc):
    lines = ["## Inventory-driven `playbooks/serial_console.yml` (scenario 4)", ""]
    variants = sorted(set(k.split()[0] for blocks in sc.values() for block in blocks.values() for k in block) - {"floor"},
                      key=_side_rank)
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
            for key in sorted(block, key=lambda k: (k == "floor", _side_rank(k.split()[0]), k)):
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


def _by_size(blocks):
    return sorted((blocks or {}).items(), key=lambda kv: int(kv[0]))


def baseline_pairs(report):
    """``(what, run, ours, baseline, expected)``: every run that ``ours`` and ``ours-baseline`` both made
    in ``report`` (``expected``: how many VMs or hosts a change run has to leave configured)."""
    single = dict(((e["size"], e["identity"], e["side"]), e) for e in report.get("single") or [])
    blocks = [("2: one VM of %d, by %s" % (size, identity), e, single.get((size, identity, BASELINE)), 1)
              for (size, identity, side), e in single.items() if side == "ours"]
    fw = report.get("firewall") or {}
    blocks += [("3: the hosts of a cluster", fw["ours"], fw.get(BASELINE), fw["ours"]["change"].get("hosts_total"))] \
        if "ours" in fw else []
    blocks += [("1: %s VMs, login delay %s ms" % (size, delay), sides.get("ours"), sides.get(BASELINE), int(size))
               for size, by_delay in _by_size(report.get("inventory")) for delay, sides in _by_size(by_delay)]
    blocks += [("1 bulk: %s VMs, one vm_serial_port_bulk task" % size, runs, runs.get(BASELINE), int(size))
               for size, runs in _by_size(report.get("inventory_bulk"))]
    blocks += [("4: serial_console.yml%s, %s VMs, login delay %s ms" % (mode, size, delay), block.get("ours" + mode),
                block.get(BASELINE + mode), int(size))
               for size, by_delay in _by_size(report.get("serial_console")) for delay, block in _by_size(by_delay)
               for mode in ("", " bulk")]
    for what, ours, base, expected in blocks:
        for run in ("change", "again"):
            if (ours or {}).get(run) and (base or {}).get(run):
                yield what, run, ours[run], base[run], expected


def render_baseline(report):
    """This checkout against the baseline: every run both made, side by side, and the ratios."""
    meta = report["meta"]["baseline"]
    lines = ["## This checkout against the baseline (`--baseline %s`, %s)" % (meta["ref"], meta["commit"]), ""]
    lines.append("`ours-baseline`: vmchannels.vsphere at %s (worktree `%s`), run as `ours` (same ansible-core, venv and "
                 "settings) wherever `ours` ran, side by side in this run. *ours / baseline* above 1: this checkout takes "
                 "more time or sends more requests; *verified*: ours, the baseline's." % (meta["commit"], meta["worktree"]))
    lines.append("")
    lines.append("| scenario | run | wall s: ours, baseline | ours / baseline (wall) | CPU s: ours, baseline "
                 "| ours / baseline (CPU) | requests: ours, baseline | ours / baseline (requests) | logins: ours, baseline "
                 "| ours / baseline (logins) | verified |")
    lines.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for what, run, m, base, expected in baseline_pairs(report):
        wall, cpu, soap, logins = _vs_baseline(m, base)
        lines.append("| %s | %s | %.2f, %.2f | %s | %.2f, %.2f | %s | %d, %d | %s | %d, %d | %s | %s |" % (
            what, {"change": "change", "again": "no change"}[run], m["wall"], base["wall"], wall, m["cpu"], base["cpu"], cpu, m["soap"], base["soap"],
            soap, m.get("logins", 0), base.get("logins", 0), logins,
            "%s, %s" % (_verified(m, None, expected), _verified(base, None, expected)) if run == "change" else ""))
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


def _all_measures(report):
    for entry in report.get("single") or []:
        yield entry["change"]
        yield entry["again"]
    for runs in (report.get("firewall") or {}).values():
        yield from runs.values()
    for runs in (report.get("inventory_bulk") or {}).values():
        yield from [m for key, m in runs.items() if key != BASELINE] + list((runs.get(BASELINE) or {}).values())
    for key in ("inventory", "serial_console"):
        for blocks in (report.get(key) or {}).values():
            for sides in blocks.values():
                for runs in sides.values():
                    yield from runs.values()
