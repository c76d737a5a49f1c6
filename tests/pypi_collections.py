"""Ansible collections that the tests combine with vmchannels.vsphere, taken from PyPI's ``ansible``
package, pinned with its hash in tests/requirements-collections.txt.

``collections_path("vmware.vmware")`` downloads the wheel once (pip, no dependencies), unpacks only
the named collections into ``.cache/collections/<hash of the pin>/ansible_collections/`` and
returns that directory, for ANSIBLE_COLLECTIONS_PATH. Safe to call from parallel test workers.
"""
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REQUIREMENTS = os.path.join(ROOT, "tests", "requirements-collections.txt")
CACHE = os.path.join(ROOT, ".cache", "collections")


def _pin():
    with open(REQUIREMENTS) as handle:
        return "".join(line for line in handle if line.strip() and not line.lstrip().startswith("#"))


def collections_path(*names):
    """The directory holding ``ansible_collections/<namespace>/<name>`` for each of ``names``."""
    pin = _pin()
    target = os.path.join(CACHE, hashlib.sha256(pin.encode()).hexdigest()[:12])
    wanted = [os.path.join(target, "ansible_collections", *name.split(".")) for name in names]
    if all(os.path.isfile(os.path.join(path, "MANIFEST.json")) for path in wanted):
        return target
    os.makedirs(CACHE, exist_ok=True)
    with open(os.path.join(CACHE, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        missing = [name for name, path in zip(names, wanted) if not os.path.isfile(os.path.join(path, "MANIFEST.json"))]
        if missing:
            _unpack(missing, target)
    return target


def _unpack(names, target):
    download = tempfile.mkdtemp(prefix="wheel-", dir=CACHE)
    try:
        proc = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                               "--require-hashes", "--disable-pip-version-check", "-q", "-d", download,
                               "-r", REQUIREMENTS], capture_output=True, text=True, timeout=1800, check=False)
        wheels = [f for f in os.listdir(download) if f.endswith(".whl")]
        if proc.returncode != 0 or len(wheels) != 1:
            raise RuntimeError("pip download -r %s failed:\n%s\n%s" % (REQUIREMENTS, proc.stdout[-3000:], proc.stderr[-3000:]))
        with zipfile.ZipFile(os.path.join(download, wheels[0])) as wheel:
            for name in names:
                prefix = "ansible_collections/%s/" % name.replace(".", "/")
                members = [m for m in wheel.namelist() if m.startswith(prefix)]
                if not members:
                    raise RuntimeError("%s holds no collection %s" % (wheels[0], name))
                staging = tempfile.mkdtemp(prefix="unpack-", dir=CACHE)
                wheel.extractall(staging, members)
                final = os.path.join(target, *prefix.rstrip("/").split("/"))
                shutil.rmtree(final, ignore_errors=True)
                os.makedirs(os.path.dirname(final), exist_ok=True)
                os.replace(os.path.join(staging, *prefix.rstrip("/").split("/")), final)
                shutil.rmtree(staging, ignore_errors=True)
    finally:
        shutil.rmtree(download, ignore_errors=True)
