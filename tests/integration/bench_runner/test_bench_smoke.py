"""The benchmark runner (bench/bench.py) in its smallest mode, our side only (no peer install): it
runs, every playbook run succeeds and does the work (read back by the runner), and the Markdown
table is written. Speed is never asserted here: bench/run measures it (docs/performance.md)."""
import os
import subprocess
import sys

from conftest import ROOT


def test_bench_smoke_writes_the_table(tmp_path):
    env = dict(os.environ, VMCH_VENV=os.path.dirname(os.path.dirname(sys.executable)))
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "bench.py"), "--smoke", "--no-peer",
                           "--delay-ms", "0", "--out", str(tmp_path)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    table = (tmp_path / "smoke.md").read_text()
    assert "## Requests per module run" in table
    # the single-VM run: requests counted for a change and a no-change run, port read back
    single = [line for line in table.splitlines() if line.startswith("| 4 VMs | name | ours |")]
    assert len(single) == 1 and "yes (1/1)" in single[0], table
    # the inventory run over 4 VMs (all sides on one ansible-core, no login delay): every VM got the
    # port, the second run changed nothing, the run's tasks shared one session that the run logged out
    header = [c.strip() for c in [line for line in table.splitlines() if line.startswith("| VMs | login delay |")][0].split("|")]
    col = dict((name, header.index(name)) for name in ("run", "logins", "open", "changed", "verified"))
    rows = dict((line.split("|")[col["run"]].strip(), line.split("|")) for line in table.splitlines()
                if line.startswith("| 4 | 0 ms | ours |"))
    assert set(rows) == {"add port", "again (no change)"}, table
    assert "yes (4/4)" in rows["add port"][col["verified"]]
    assert rows["again (no change)"][col["changed"]].strip() == "0"
    for cells in rows.values():
        assert int(cells[col["logins"]]) <= 2 and int(cells[col["open"]]) == 0, table
    shipped = [line.split("|") for line in table.splitlines() if line.startswith("| 4 | 0 ms | ours-shipped | add port |")]
    assert len(shipped) == 1 and int(shipped[0][col["logins"]]) == 4, table  # a login per task with the fast path off
    assert any(line.startswith("| 4 | 0 ms | floor | ping (floor) |") for line in table.splitlines()), table
    # the -vvv probe saw where the tasks ran
    assert "`ours`: in-process" in table and "`ours-shipped`: shipped" in table, table
    assert (tmp_path / "raw" / "smoke.json").is_file()


def test_serial_log_bench_smoke(tmp_path):
    """bench/serial_log.py in its smallest mode: both ways read the right last line of every VM, and
    the launcher's byte counts show the difference (a tail reads 8 KiB per VM, get_url the whole file)."""
    env = dict(os.environ, VMCH_VENV=os.path.dirname(os.path.dirname(sys.executable)))
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "serial_log.py"), "--smoke", "--out", str(tmp_path)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = dict(((line.split("|")[1].strip(), line.split("|")[3].strip()), line.split("|"))
                for line in (tmp_path / "serial_log.md").read_text().splitlines() if line.startswith("| one VM") or
                line.startswith("| 3 VMs"))
    assert set(rows) == {("one VM", "vm_serial_port_log"), ("one VM", "get_url + tail"), ("3 VMs", "vm_serial_port_log"),
                         ("3 VMs", "get_url + tail")}
    assert all("yes" in cells[8] for cells in rows.values()), rows
    assert rows[("one VM", "vm_serial_port_log")][7].strip() == "8 KiB"
    assert rows[("one VM", "get_url + tail")][7].strip() == "2 MiB"
    assert rows[("3 VMs", "vm_serial_port_log")][6].strip() == "3"  # one /folder request per VM
