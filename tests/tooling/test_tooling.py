"""The collection as its users and Ansible's own tools see it: ansible-lint (production profile),
ansible-test sanity, ansible-galaxy collection build, ansible-doc and meta/runtime.yml.

Every test runs the real tool from the project's virtual environment (the directory of
``sys.executable``) and shows the tool's output when it fails; ansible-doc, which users run, is the
one of the Ansible under test (tests/ansible_under_test.py: a leg of scripts/matrix, if any).
"""
import ast
import fcntl
import os
import re
import shutil
import subprocess
import sys
import tarfile

import pytest
import yaml

import ansible_under_test

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
COLLECTIONS = os.path.join(ROOT, ".build", "collections")
MODULES_DIR = os.path.join(ROOT, "plugins", "modules")
SANITY_ROOT = os.path.join(ROOT, ".build", "sanity")
FQCN = "vmchannels.vsphere"
BASE_OPTIONS = FQCN + ".base_options"
CONNECTION_OPTIONS = ("hostname", "username", "password", "validate_certs")
# Top-level paths that must never be shipped in the collection tarball.
NOT_SHIPPED = (".venv", ".cache", ".build", ".ci", ".git", "bench", "scripts", "tests", ".pytest_cache")


def module_names():
    if not os.path.isdir(MODULES_DIR):
        return []
    return sorted(os.path.splitext(f)[0] for f in os.listdir(MODULES_DIR)
                  if f.endswith(".py") and f != "__init__.py")


def tool_env(**extra):
    env = dict(os.environ)
    for key in [k for k in env if k.startswith(("ANSIBLE_", "VMWARE_"))]:
        del env[key]
    env.update({
        "PATH": BIN + os.pathsep + env.get("PATH", ""),
        "VIRTUAL_ENV": os.path.dirname(BIN),
        "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS,
        "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_NOCOLOR": "1",
        "NO_COLOR": "1",
        "PY_COLORS": "0",
    })
    env.update(extra)
    return env


def run(cmd, cwd=ROOT, timeout=600, **env):
    proc = subprocess.run(cmd, cwd=cwd, env=tool_env(**env), stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout, check=False)
    proc.output = "$ %s\n%s\n%s" % (" ".join(cmd), proc.stdout, proc.stderr)
    return proc


def git_files():
    """The files of the checkout as a commit of the working tree would hold them: tracked files
    plus untracked files that are not ignored."""
    out = subprocess.run(["git", "ls-files", "-z", "-c", "-o", "--exclude-standard"], cwd=ROOT,
                         capture_output=True, check=True).stdout.decode()
    return sorted(set(p for p in out.split("\0") if p and os.path.lexists(os.path.join(ROOT, p))))


def snapshot(dest):
    """Make ``dest`` a git checkout whose last commit holds exactly the working tree's files.

    ``dest`` is kept between runs (only its ``tests/output``, where ansible-test keeps the virtual
    environment it delegates to, survives the refresh): that saves ~25 s a run."""
    os.makedirs(dest, exist_ok=True)
    for entry in os.listdir(dest):
        path = os.path.join(dest, entry)
        if entry == ".git":
            continue
        if entry == "tests" and os.path.isdir(path):
            for sub in os.listdir(path):
                if sub != "output":
                    _remove(os.path.join(path, sub))
            continue
        _remove(path)
    for rel in git_files():
        target = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(os.path.join(ROOT, rel), target, follow_symlinks=False)
    git = ["git", "-c", "user.name=tooling", "-c", "user.email=tooling@example.invalid", "-c", "init.defaultBranch=main",
           "-c", "commit.gpgsign=false"]
    if not os.path.isdir(os.path.join(dest, ".git")):
        subprocess.run(git + ["init", "-q"], cwd=dest, check=True, capture_output=True)
    subprocess.run(git + ["add", "-A"], cwd=dest, check=True, capture_output=True)
    subprocess.run(git + ["commit", "-q", "--no-verify", "--allow-empty", "-m", "snapshot"], cwd=dest, check=True,
                   capture_output=True)


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    else:
        os.unlink(path)


def documentation(module):
    """The parsed DOCUMENTATION of a module file, read without importing it."""
    path = os.path.join(MODULES_DIR, module + ".py")
    with open(path) as handle:
        tree = ast.parse(handle.read(), path)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "DOCUMENTATION" for t in node.targets):
            return yaml.safe_load(node.value.value)
    raise AssertionError("%s has no DOCUMENTATION" % path)


# ansible-lint


def lint(cwd):
    # Offline, ansible-lint puts ANSIBLE_HOME/collections (default ~/.ansible/collections) before
    # ANSIBLE_COLLECTIONS_PATH: a copy of this collection installed there (by molecule, or by any
    # other checkout on the machine) would be linted instead of this one. A home of its own avoids that.
    home = os.path.join(ROOT, ".build", "ansible-lint-home")
    os.makedirs(home, exist_ok=True)
    return run([os.path.join(BIN, "ansible-lint"), "--profile", "production", "--nocolor"], cwd=cwd,
               timeout=900, ANSIBLE_HOME=home)


def test_ansible_lint_production_profile_passes():
    proc = lint(ROOT)
    assert proc.returncode == 0, proc.output
    summary = re.search(r"(\d+) failure\(s\), (\d+) warning\(s\) (?:on|in) (\d+) files", proc.output)
    assert summary, proc.output
    failures, warnings, files = (int(n) for n in summary.groups())
    assert (failures, warnings) == (0, 0), proc.output
    # galaxy.yml and meta/runtime.yml at least: proves lint looked at the collection, not at nothing.
    assert files >= 2, proc.output
    assert "Profile 'production' was required, and it passed" in proc.output, proc.output


def test_ansible_lint_config_catches_a_bad_playbook(tmp_path):
    """The repository's .ansible-lint neither excludes playbooks/ nor weakens the profile: the same
    configuration fails on a playbook that breaks production rules."""
    for rel in (".ansible-lint", "galaxy.yml", "meta/runtime.yml", "changelogs/changelog.yaml"):
        if os.path.exists(os.path.join(ROOT, rel)):
            os.makedirs(os.path.dirname(str(tmp_path / rel)), exist_ok=True)
            shutil.copy(os.path.join(ROOT, rel), str(tmp_path / rel))
    (tmp_path / "playbooks").mkdir(exist_ok=True)
    (tmp_path / "playbooks" / "bad.yml").write_text(
        "---\n- hosts: localhost\n  tasks:\n    - shell: echo hi\n")
    subprocess.run(["git", "init", "-q"], cwd=str(tmp_path), check=True)
    proc = lint(str(tmp_path))
    assert proc.returncode != 0, proc.output
    for rule in ("fqcn[action-core]", "name[play]", "no-changed-when"):
        assert rule in proc.output, proc.output


# ansible-test sanity


@pytest.fixture(scope="session")
def pip_bootstrap():
    """The offline stand-in for ansible-test's get-pip script (see scripts/prepare-ansible-test)."""
    proc = run([os.path.join(ROOT, "scripts", "prepare-ansible-test")], VMCH_VENV=os.path.dirname(BIN))
    assert proc.returncode == 0, proc.output
    return proc.stdout.strip().splitlines()[-1]


def test_ansible_test_sanity_passes(pip_bootstrap):
    """ansible-test sanity on a git snapshot of the working tree (tracked and untracked files that
    are not ignored), under .build/sanity/ansible_collections/vmchannels/vsphere."""
    collection = os.path.join(SANITY_ROOT, "ansible_collections", "vmchannels", "vsphere")
    os.makedirs(SANITY_ROOT, exist_ok=True)
    with open(os.path.join(SANITY_ROOT, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one sanity run at a time per checkout
        snapshot(collection)
        proc = run([os.path.join(BIN, "ansible-test"), "sanity", "--requirements", "--python",
                    "%d.%d" % sys.version_info[:2], "--venv", "--color", "no"], cwd=collection, timeout=1800)
    noise = re.compile(r"^(Looking in|WARNING: Location|Collecting|  Downloading|  Using cached|  Obtaining|"
                       r"  Preparing|  Building|  Created|  Stored|  Installing|  Getting|Building|Installing|"
                       r"Successfully|Requirement already|\s+[\u2501\u257a\u2578 ]+)")
    lines = [line for line in proc.output.splitlines() if not noise.match(line)]
    assert proc.returncode == 0, "\n".join(lines)
    assert 'Running sanity test "validate-modules"' in proc.output, proc.output


# ansible-galaxy collection build


def test_galaxy_build_ships_the_collection_only(tmp_path):
    proc = run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path), ROOT])
    assert proc.returncode == 0, proc.output
    with open(os.path.join(ROOT, "galaxy.yml")) as handle:
        galaxy = yaml.safe_load(handle)
    tarball = tmp_path / ("%s-%s-%s.tar.gz" % (galaxy["namespace"], galaxy["name"], galaxy["version"]))
    assert tarball.is_file(), proc.output
    with tarfile.open(str(tarball)) as tar:
        names = [n[2:] if n.startswith("./") else n for n in tar.getnames()]
    shipped = [n for n in names if n.split("/")[0] in NOT_SHIPPED]
    assert shipped == [], shipped
    junk = [n for n in names if "__pycache__" in n.split("/") or n.endswith(".pyc")]
    assert junk == [], junk
    for required in ("MANIFEST.json", "FILES.json", "meta/runtime.yml", "plugins/module_utils/vsphere/client.py",
                     "plugins/doc_fragments/base_options.py"):
        assert required in names, names
    for module in module_names():
        assert "plugins/modules/%s.py" % module in names, names


# ansible-doc


@pytest.mark.matrix
@pytest.mark.parametrize("module", module_names())
def test_ansible_doc_renders_module(module):
    proc = run([os.path.join(ansible_under_test.BIN, "ansible-doc"), "-t", "module", "%s.%s" % (FQCN, module)])
    assert proc.returncode == 0, proc.output
    assert proc.stderr.strip() == "", proc.output  # no warnings about the docs either
    assert "%s.%s" % (FQCN, module) in proc.stdout, proc.output
    fragments = documentation(module).get("extends_documentation_fragment") or []
    if isinstance(fragments, str):
        fragments = [fragments]
    if BASE_OPTIONS in fragments:
        for option in CONNECTION_OPTIONS:
            assert re.search(r"^\s*[-=] %s\b" % option, proc.stdout, re.M), (option, proc.output)


# meta/runtime.yml


def test_action_group_lists_exactly_the_modules():
    with open(os.path.join(ROOT, "meta", "runtime.yml")) as handle:
        runtime = yaml.safe_load(handle)
    group = runtime.get("action_groups", {}).get("vsphere")
    assert group is not None, "meta/runtime.yml has no action group vsphere"
    assert len(group) == len(set(group)), "duplicates in action group vsphere: %s" % group
    assert sorted(group) == module_names(), (
        "action group vsphere in meta/runtime.yml: missing %s, no such module %s"
        % (sorted(set(module_names()) - set(group)), sorted(set(group) - set(module_names()))))
