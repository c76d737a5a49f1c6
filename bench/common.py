"""What every part of the bench shares: the checkout's paths, the serial port and the cluster that the
scenarios configure and read back, reading a file, a checkout's commit."""

import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results")


def _read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


PORT = {"service_uri": "telnet://:7001", "proxy_uri": "telnet://vspc.example.com:13370"}
CLUSTER = "DC0_C0"


def _git_head(root=ROOT):
    """The short commit of the checkout (or worktree) at ``root``."""
    out = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    return out.stdout.strip() or "?"
