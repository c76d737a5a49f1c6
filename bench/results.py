"""The results of a run: the machine and the sides it ran on, the raw JSON (a median of repeated runs,
merged with an earlier run of the same name), the Markdown table written next to it and the results
block of docs/performance.md."""

import collections
import json
import os
import platform

from common import RESULTS, ROOT, _git_head, _read
from measure import Measure
from report import render
from sides import peer_collection_version


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
        if not side.ours:
            what = "community.vmware %s (PyPI ansible package)" % peer_collection_version(side)
        elif side.root == ROOT:
            what = "vmchannels.vsphere (this checkout, %s)" % _git_head()
        else:
            what = "%s: vmchannels.vsphere from the worktree %s (--baseline)" % (side.title, os.path.relpath(side.root, ROOT))
        info[side.key] = "%s; ansible-core %s, pyVmomi %s, Python %s" % (what, core, pyvmomi, python)
    info["simulator"] = "vcsim (govmomi 0.24.2) through tests/vcsim/launcher"
    return info


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
    for key in ("core", "paths", "baseline"):
        if not report["meta"].get(key) and previous["meta"].get(key):
            report["meta"][key] = previous["meta"][key]
