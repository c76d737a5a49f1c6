"""The sides of the bench: one Ansible installation each (``Side``), our collection's variants, the
project's virtual environment and the peer's (community.vmware from PyPI, installed on first use
into ``.cache/bench-peer-venv``), and the baseline (``--baseline REF``: our collection at another
commit, from a git worktree of it in ``.cache/bench-baseline/<sha>``)."""

import collections
import fcntl
import os
import shutil
import subprocess
import sys
import tempfile

from common import ROOT, _git_head, _read

PEER_VENV = os.path.join(ROOT, ".cache", "bench-peer-venv")
#: ansible 11.x bundles ansible-core 2.18 (runs on Python 3.11) and community.vmware 5.x, whose
#: module_utils need pyVmomi and requests.
PEER_REQUIREMENTS = ["ansible>=11,<12", "pyvmomi>=8.0.1.0", "requests"]


def collections_of(root):
    """The collection path through which a checkout (or a worktree) is loaded as vmchannels.vsphere."""
    return os.path.join(root, ".build", "collections")


OURS_COLLECTIONS = collections_of(ROOT)
BASELINE_DIR = os.path.join(ROOT, ".cache", "bench-baseline")
#: The key of the baseline's side: ``ours`` (its defaults) at the commit of ``--baseline``.
BASELINE = "ours-baseline"


class Side(object):
    """One Ansible installation (its ansible-playbook, interpreter and collection path) and the
    switches a run gets: ``extra_env`` (e.g. ``VMCHANNELS_IN_PROCESS=false``)."""

    def __init__(self, key, title, venv, collections_path, extra_env=None, root=ROOT):
        self.key = key
        self.title = title
        self.venv = venv
        self.collections_path = collections_path
        self.extra_env = dict(extra_env or {})
        self.root = root  # the checkout whose playbooks/ it runs (ours: this one; the baseline: its worktree)

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
    BASELINE: "vm_serial_port, defaults, at the commit of `--baseline`, from a worktree of it",
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


def ensure_collection_link(root=ROOT):
    """``<root>/.build/collections/ansible_collections/vmchannels/vsphere``, a link to ``root``."""
    link = os.path.join(collections_of(root), "ansible_collections", "vmchannels", "vsphere")
    if not os.path.lexists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(root, link)


def _git(args, cwd=ROOT):
    return subprocess.run(["git", "-C", cwd] + args, capture_output=True, text=True, check=False)


def ensure_baseline(ref, log):
    """The checkout of ``ref`` (a commit, branch or tag): a detached git worktree in
    ``.cache/bench-baseline/<sha>``, added on first use and reused after, with its own collection
    link. Returns its path."""
    found = _git(["rev-parse", "--verify", "--quiet", ref + "^{commit}"])
    if found.returncode != 0:
        raise SystemExit("--baseline %s: no such commit in %s" % (ref, ROOT))
    sha = found.stdout.strip()
    root = os.path.join(BASELINE_DIR, sha)
    os.makedirs(BASELINE_DIR, exist_ok=True)
    with open(os.path.join(BASELINE_DIR, ".lock"), "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two bench runs with the same baseline add it once
        if not (os.path.isfile(os.path.join(root, ".git")) and _git(["rev-parse", "HEAD"], root).stdout.strip() == sha):
            shutil.rmtree(root, ignore_errors=True)  # a broken or moved one (--force: still registered)
            log("adding the baseline %s (%s) as a worktree in %s" % (ref, sha[:12], os.path.relpath(root, ROOT)))
            added = _git(["worktree", "add", "--force", "--detach", "--quiet", root, sha])
            if added.returncode != 0:
                raise SystemExit("git worktree add %s %s failed: %s" % (root, sha, added.stderr.strip()))
        elif _git(["status", "--porcelain", "--untracked-files=no"], root).stdout.strip():
            log("WARNING: the baseline's worktree %s has local changes: it is measured as it is" % root)
        ensure_collection_link(root)
    return root


def baseline_side(root, venv):
    """The side ``ours-baseline``: ``ours`` (same venv, same in-process settings), the collection of ``root``."""
    return Side(BASELINE, "ours at %s" % _git_head(root), venv, collections_of(root), OURS_VARIANTS["ours"], root=root)


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
