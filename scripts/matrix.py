"""The compatibility matrix: the checks that matter, on every ansible-core the collection admits.

meta/runtime.yml admits ansible-core >= 2.16 and requirements.txt pyVmomi >= 8.0.1.0. Each leg
below is one ansible-core minor release with a pyVmomi and a Python it runs on, installed into
its own cached virtual environment, ``.cache/matrix/<leg>-<hash>`` (the hash covers the
interpreter and the pins, so changing a pin makes a new environment; the old one is removed).

A leg runs the tests marked ``matrix`` (tests/integration, tests/tooling) with the project's
pytest, pointed at the leg's environment by ``VMCH_ANSIBLE_VENV``: every ``ansible-playbook`` and
``ansible-doc`` the tests start is the leg's, every module runs on the leg's Python with the leg's
pyVmomi (``ANSIBLE_PYTHON_INTERPRETER``), and so does every action or controller plugin of the
checkout. The tests read results back through the project's own pyVmomi, independently.

The first and the last leg ("oldest" and "newest": the declared floors, and the newest release)
also run inside ``scripts/test`` (tests/matrix/test_matrix.py), so every CI run covers them.

Standard library only. Used by scripts/matrix (see ``--help``) and by tests/matrix/.
"""

from __future__ import annotations

import argparse
import fcntl
import glob
import hashlib
import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "matrix"
# the project's virtual environment: scripts/env.sh's VMCH_VENV (a worktree may share another's)
PROJECT_PYTHON = Path(os.environ.get("VMCH_VENV") or ROOT / ".venv") / "bin" / "python"
MARKER = "matrix"
TEST_PATHS = ("tests/integration", "tests/tooling")


@dataclass(frozen=True)
class Leg:
    name: str
    python: str  # the minor version of Python the leg runs on
    requirements: tuple
    why: str

    def pins(self) -> str:
        return "\n".join(self.requirements) + "\n"


# One leg per ansible-core minor release that meta/runtime.yml admits. Keep the first leg on the
# floors that requirements.txt and meta/runtime.yml declare: raising a floor there means raising it
# here, with a changelog fragment that says why.
# requests: for the inventory plugin vmware.vmware.vms (tests/integration/playbooks/test_dynamic_inventory.py),
# as requirements.txt names it for users.
REQUESTS = "requests==2.34.2"
LEGS = (
    Leg("2.16", "3.11", ("ansible-core==2.16.0", "pyVmomi==8.0.1.0", REQUESTS),
        "the declared floors: requires_ansible >=2.16.0, pyVmomi >=8.0.1.0"),
    Leg("2.17", "3.11", ("ansible-core==2.17.14", "pyVmomi==8.0.3.0.1", REQUESTS), "pyVmomi 8.0.3"),
    Leg("2.18", "3.11", ("ansible-core==2.18.19", "pyVmomi==9.0.0.0", REQUESTS), "pyVmomi 9.0"),
    Leg("2.19", "3.11", ("ansible-core==2.19.14", "pyVmomi==9.1.1.0", REQUESTS), "the project's own pins"),
    Leg("2.20", "3.12", ("ansible-core==2.20.10", "pyVmomi==9.1.1.0", REQUESTS), "needs Python >= 3.12"),
    Leg("2.21", "3.13", ("ansible-core==2.21.5", "pyVmomi==9.1.1.0", REQUESTS), "the newest release; Python 3.13"),
)
OLDEST, NEWEST = LEGS[0], LEGS[-1]
BY_NAME = dict((leg.name, leg) for leg in LEGS)
ALIASES = {"oldest": OLDEST.name, "newest": NEWEST.name}


class Skip(Exception):
    """The leg cannot run on this machine (no interpreter of its Python version)."""


@dataclass
class Result:
    leg: Leg
    status: str  # passed, failed, skipped, error
    detail: str = ""
    seconds: float = 0.0
    counts: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)
    output: str = ""


def _version_of(python: str) -> str | None:
    """``3.12.1`` for a working interpreter, else None (pyenv shims of versions that are not
    activated exist but fail)."""
    try:
        proc = subprocess.run([python, "-c", "import sys, venv; print('%d.%d.%d' % sys.version_info[:3])"],
                              capture_output=True, text=True, timeout=60, check=False)
    except OSError:
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def python_candidates(minor: str) -> list:
    """Where an interpreter of ``minor`` (``3.12``) may be: pyenv's versions (newest patch
    first), the interpreter behind the project's environment, then ``pythonX.Y`` on PATH."""
    pyenv = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    found = sorted(glob.glob(os.path.join(pyenv, "versions", minor + ".*", "bin", "python" + minor)),
                   key=lambda p: [int(x) if x.isdigit() else 0 for x in p.split(os.sep)[-3].split(".")],
                   reverse=True)
    found.append(os.path.join(sys.base_prefix, "bin", "python" + minor))
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        found.append(os.path.join(directory or ".", "python" + minor))
    out = []
    for path in found:
        if path not in out and os.access(path, os.X_OK):
            out.append(path)
    return out


def find_python(minor: str) -> tuple:
    """``(path, full version)`` of the first working interpreter of ``minor``; Skip if none."""
    tried = python_candidates(minor)
    for path in tried:
        version = _version_of(path)
        if version and version.startswith(minor + "."):
            return path, version
    raise Skip("no Python %s on this machine (looked for pyenv's %s/versions/%s.*/bin/python%s and python%s on PATH%s): "
               "install one (for example `pyenv install %s`) to run this leg"
               % (minor, os.environ.get("PYENV_ROOT") or "~/.pyenv", minor, minor, minor,
                  "; tried " + ", ".join(tried) if tried else "", minor))


def venv_dir(leg: Leg, python_version: str) -> Path:
    digest = hashlib.sha256(("python %s\n%s" % (python_version, leg.pins())).encode()).hexdigest()[:12]
    return CACHE / ("%s-%s" % (leg.name, digest))


def ensure_venv(leg: Leg, log=print) -> Path:
    """The leg's virtual environment, created and installed when missing. Skip when the machine
    has no interpreter for it."""
    python, version = find_python(leg.python)
    target = venv_dir(leg, version)
    stamp = target / ".installed"
    if stamp.is_file():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / (".%s.lock" % leg.name), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the CI legs and a matrix run may build at the same time
        if stamp.is_file():
            return target
        log("matrix %s: creating %s (Python %s: %s)"
            % (leg.name, target.relative_to(ROOT), version, ", ".join(leg.requirements)))
        shutil.rmtree(target, ignore_errors=True)
        started = time.monotonic()
        for cmd in ([python, "-m", "venv", str(target)],
                    [str(target / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                     *leg.requirements]):
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=1800)
            if proc.returncode != 0:
                shutil.rmtree(target, ignore_errors=True)
                raise RuntimeError("matrix %s: `%s` failed:\n%s%s"
                                   % (leg.name, " ".join(cmd), proc.stdout[-4000:], _pip_errors(proc.stderr)))
        stamp.write_text(leg.pins())
        for old in CACHE.glob(leg.name + "-*"):  # earlier pins of the same leg
            if old != target:
                shutil.rmtree(old, ignore_errors=True)
        log("matrix %s: environment ready in %.0fs" % (leg.name, time.monotonic() - started))
    return target


def _pip_errors(stderr: str) -> str:
    # The machine's pip configuration names local index folders that may not exist: noise.
    return "\n".join(line for line in stderr.splitlines() if "is ignored: it is neither" not in line)[-4000:]


def installed_versions(venv: Path) -> dict:
    code = ("import importlib.metadata as m, sys; "
            "print(m.version('ansible-core'), m.version('pyvmomi'), '%d.%d.%d' % sys.version_info[:3])")
    proc = subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, check=False)
    parts = proc.stdout.split()
    if proc.returncode != 0 or len(parts) != 3:
        return {}
    return {"ansible-core": parts[0], "pyVmomi": parts[1], "python": parts[2]}


def _junit_counts(path: Path) -> dict:
    try:
        root = ET.parse(str(path)).getroot()
    except (OSError, ET.ParseError):
        return {}
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    if suite is None:
        return {}
    counts = dict((k, int(suite.get(k, 0))) for k in ("tests", "failures", "errors", "skipped"))
    counts["passed"] = counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]
    return counts


def run_leg(leg: Leg, pytest_args=(), workers: int = 2, stream: bool = True, log=print, ci: bool = False,
            basetemp: str | None = None) -> Result:
    """Set the leg up and run its tests. ``stream``: show pytest's output as it runs (else it is
    kept in ``Result.output``). ``ci``: leave out the tests marked ``matrix(ci=False)`` (what
    scripts/test runs). ``basetemp``: pytest's temporary directory (for a run inside pytest)."""
    started = time.monotonic()
    try:
        venv = ensure_venv(leg, log=log)
    except Skip as skip:
        return Result(leg, "skipped", str(skip))
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        return Result(leg, "error", str(exc), time.monotonic() - started)
    setup_seconds = time.monotonic() - started
    versions = installed_versions(venv)
    junit = CACHE / (".%s-%d.junit.xml" % (leg.name, os.getpid()))
    cmd = [str(PROJECT_PYTHON), "-m", "pytest", "-p", "no:cacheprovider", "-m", MARKER, "-n", str(workers),
           "-ra", "--durations=8", "--junitxml", str(junit), *(["--basetemp", basetemp] if basetemp else []), *TEST_PATHS,
           *pytest_args]
    # Nothing of a surrounding pytest run (scripts/test runs two legs) leaks into the leg's.
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith(("PYTEST_", "VMCH_MATRIX_")))
    env.update(VMCH_ANSIBLE_VENV=str(venv), PYTHONDONTWRITEBYTECODE="1")
    if ci:
        env["VMCH_MATRIX_SELECTION"] = "ci"
    log("matrix %s: ansible-core %s, pyVmomi %s, Python %s: %s" % (
        leg.name, versions.get("ansible-core"), versions.get("pyVmomi"), versions.get("python"),
        " ".join(cmd[1:])))
    proc = subprocess.run(cmd, cwd=str(ROOT), env=env, stdin=subprocess.DEVNULL, check=False,
                          **({} if stream else dict(stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)))
    counts = _junit_counts(junit)
    junit.unlink(missing_ok=True)
    seconds = time.monotonic() - started
    status = "passed" if proc.returncode == 0 else "failed"
    if proc.returncode == 5:
        status = "error"  # no test selected: the marker is gone, nothing was checked
    detail = "%s (set-up %.0fs)" % (_describe(counts, proc.returncode), setup_seconds)
    return Result(leg, status, detail, seconds, counts, versions, "" if stream else proc.stdout)


def _describe(counts: dict, rc: int) -> str:
    if not counts:
        return "pytest exit code %d" % rc
    parts = ["%d passed" % counts["passed"]]
    for key in ("failures", "errors", "skipped"):
        if counts.get(key):
            parts.append("%d %s" % (counts[key], {"failures": "failed"}.get(key, key)))
    return ", ".join(parts)


def table(results) -> str:
    rows = [("leg", "ansible-core", "pyVmomi", "Python", "result", "time")]
    for r in results:
        rows.append((r.leg.name, r.versions.get("ansible-core", "-"), r.versions.get("pyVmomi", "-"),
                     r.versions.get("python", "-"), "%s: %s" % (r.status, r.detail),
                     "%.0fs" % r.seconds if r.seconds else "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 2)]
    lines = []
    for row in rows:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-2] + "  " + row[-1])
    return "\n".join(lines)


def parse_legs(names) -> list:
    if not names:
        return list(LEGS)
    legs = []
    for name in names:
        name = ALIASES.get(name, name)
        if name not in BY_NAME:
            raise SystemExit("matrix: unknown leg '%s' (legs: %s, oldest, newest)" % (name, ", ".join(BY_NAME)))
        if BY_NAME[name] not in legs:
            legs.append(BY_NAME[name])
    return legs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/matrix", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run the tests marked 'matrix' on each ansible-core release the collection admits, each leg "
                    "in its own cached virtual environment (.cache/matrix/).",
        epilog="legs:\n" + "\n".join("  %-5s Python %s, %s (%s)" % (l.name, l.python, " ".join(l.requirements), l.why)
                                     for l in LEGS)
        + "\n\nexamples:\n  scripts/matrix                 every leg\n  scripts/matrix 2.16           one leg"
          "\n  scripts/matrix oldest newest   what scripts/test runs on every CI run"
          "\n  scripts/matrix 2.21 -- -k roles -x   pytest arguments after --")
    parser.add_argument("legs", nargs="*", metavar="LEG", help="legs to run (default: all): %s, oldest, newest"
                        % ", ".join(BY_NAME))
    parser.add_argument("-n", "--workers", type=int, default=2, help="pytest-xdist workers per leg (default 2)")
    parser.add_argument("--setup-only", action="store_true", help="create the environments, run nothing")
    parser.add_argument("--strict", action="store_true", help="a leg skipped for want of its Python fails the run")
    parser.add_argument("--list", action="store_true", help="list the legs and exit")
    argv = list(sys.argv[1:] if argv is None else argv)
    pytest_args = []
    if "--" in argv:
        at = argv.index("--")
        argv, pytest_args = argv[:at], argv[at + 1:]
    args = parser.parse_args(argv)
    if args.list:
        for leg in LEGS:
            print("%-5s Python %s  %s  (%s)" % (leg.name, leg.python, " ".join(leg.requirements), leg.why))
        return 0
    results = []
    for leg in parse_legs(args.legs):
        if args.setup_only:
            try:
                venv = ensure_venv(leg)
                results.append(Result(leg, "ready", str(venv.relative_to(ROOT)), versions=installed_versions(venv)))
            except Skip as skip:
                results.append(Result(leg, "skipped", str(skip)))
            except RuntimeError as exc:
                results.append(Result(leg, "error", str(exc)))
            continue
        print("\n=== matrix leg %s" % leg.name, flush=True)
        result = run_leg(leg, pytest_args, workers=args.workers)
        if result.status == "skipped":
            print("matrix %s: SKIPPED: %s" % (leg.name, result.detail), flush=True)
        results.append(result)
    print("\n" + table(results))
    bad = [r for r in results if r.status in ("failed", "error") or (args.strict and r.status == "skipped")]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
