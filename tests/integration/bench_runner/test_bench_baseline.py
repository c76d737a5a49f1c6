"""``bench/bench.py --baseline REF`` in its smallest mode, without the peer: the bench adds a git
worktree of REF (here HEAD) under .cache/bench-baseline/<sha> with its own collection link, runs
the side ``ours-baseline`` wherever ``ours`` runs, both sides do the work (read back by the runner),
and the Markdown shows the baseline's figures and the ratios ours / baseline. Speed is never
asserted: two runs of the same commit differ by the machine's noise."""
import json
import os
import subprocess
import sys

from conftest import ROOT

BASELINE = "ours-baseline"


def _git(*args):
    return subprocess.run(["git", "-C", ROOT] + list(args), capture_output=True, text=True, check=True).stdout.strip()


def _ratio(cell):
    return float(cell.strip())  # a number, not "-" or empty


def test_bench_smoke_baseline(tmp_path):
    sha = _git("rev-parse", "HEAD")
    worktree = os.path.join(ROOT, ".cache", "bench-baseline", sha)
    existed = os.path.isdir(worktree)
    env = dict(os.environ, VMCH_VENV=os.path.dirname(os.path.dirname(sys.executable)))
    try:
        proc = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "bench.py"), "--smoke", "--no-peer",
                               "--baseline", "HEAD", "--delay-ms", "0", "--out", str(tmp_path), "--name", "baseline"],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=400, check=False)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        # the worktree of HEAD, detached, loaded through its own collection link
        link = os.path.join(worktree, ".build", "collections", "ansible_collections", "vmchannels", "vsphere")
        assert os.path.realpath(link) == os.path.realpath(worktree)
        assert subprocess.run(["git", "-C", worktree, "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip() == sha
    finally:
        if not existed:  # leave the checkout as it was (a worktree the test added is removed)
            subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", worktree], capture_output=True,
                           check=False)
    table = (tmp_path / "baseline.md").read_text()
    lines = table.splitlines()
    raw = json.loads((tmp_path / "raw" / "baseline.json").read_text())
    assert raw["meta"]["baseline"]["ref"] == "HEAD" and sha.startswith(raw["meta"]["baseline"]["commit"])
    # scenario 2: both sides changed their VM, with the same requests (the same code)
    single = dict((e["side"], e) for e in raw["single"])
    assert set(single) == {"ours", BASELINE}
    for side in single:
        row = [line for line in lines if line.startswith("| 4 VMs | name | %s |" % side)]
        assert len(row) == 1 and "yes (1/1)" in row[0], table
    assert single["ours"]["change"]["soap"] == single[BASELINE]["change"]["soap"]
    # scenario 1 over 4 VMs: the baseline's rows (every VM got the port, the second run changed nothing,
    # one session logged out), and ours' ratios to it next to the peer's columns
    header = [c.strip() for c in [line for line in lines if line.startswith("| VMs | login delay |")][0].split("|")]
    col = dict((name, header.index(name)) for name in (
        "run", "logins", "open", "changed", "verified", "ours / baseline (wall)", "ours / baseline (CPU)",
        "ours / baseline (requests)", "ours / baseline (logins)"))
    for side in (BASELINE, BASELINE + "-bulk"):
        rows = dict((line.split("|")[col["run"]].strip(), line.split("|")) for line in lines
                    if line.startswith("| 4 | 0 ms | %s |" % side))
        assert set(rows) == {"add port", "again (no change)"}, table
        assert "yes (4/4)" in rows["add port"][col["verified"]], table
        assert rows["again (no change)"][col["changed"]].strip() == "0"
        for cells in rows.values():
            assert int(cells[col["logins"]]) <= 2 and int(cells[col["open"]]) == 0, table
    for side in ("ours", "ours-bulk"):
        for cells in [line.split("|") for line in lines if line.startswith("| 4 | 0 ms | %s |" % side)]:
            for what in ("wall", "CPU", "requests", "logins"):
                assert _ratio(cells[col["ours / baseline (%s)" % what]]) > 0, table
    assert "`%s`: in-process" % BASELINE in table, table  # the -vvv probe of the baseline's tasks
    # the table of every run both made: scenarios 2, 1 and 1 bulk, change and no change, both verified
    head = "## This checkout against the baseline (`--baseline HEAD`, %s)" % raw["meta"]["baseline"]["commit"]
    assert head in lines, table
    section = lines[lines.index(head):]
    body = section[[i for i, line in enumerate(section) if line.startswith("| scenario |")][0] + 2:]
    rows = [line.split("|") for line in body[:body.index("")]]
    assert [(r[1].strip().split(":")[0], r[2].strip()) for r in rows] == [
        (s, run) for s in ("2", "1", "1 bulk") for run in ("change", "no change")], table
    for cells in rows:
        assert all(_ratio(cells[i]) > 0 for i in (4, 6, 8, 10)), table
        if cells[2].strip() == "change":
            assert cells[11].count("yes") == 2, table
