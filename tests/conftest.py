"""Shared test set-up: make the collection and the simulator controller importable; the markers."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, ".build", "collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "vmchannels", "vsphere")

if not os.path.islink(LINK) and not os.path.isdir(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink(ROOT, LINK)
for path in (COLLECTIONS, os.path.join(ROOT, "tests", "vcsim"), os.path.join(ROOT, "tests")):
    if path not in sys.path:
        sys.path.insert(0, path)


# The compatibility matrix (scripts/matrix) runs the tests marked ``matrix`` on every ansible-core
# release the collection admits. ``@pytest.mark.matrix(ci=False)``: in the full matrix only, not in
# the two legs that scripts/test runs on every CI run (VMCH_MATRIX_SELECTION=ci).
def pytest_configure(config):
    config.addinivalue_line("markers", "matrix(ci=True): run on every leg of scripts/matrix (ci=False: not in "
                                       "the oldest/newest legs of scripts/test)")
    for theme, what in THEMES:
        config.addinivalue_line("markers", "%s: %s" % (theme, what))


# Integration tests are grouped by module (tests/integration/<module>/, plus all_modules/, execution/,
# roles/, playbooks/, docs/); what a test is about across modules is its theme marker, e.g.
# `scripts/test -m reliability` or `-m "security or bad_input"`.
THEMES = (
    ("reliability", "faults, killed runs and power safety: nothing is lost whatever fails"),
    ("concurrency", "concurrent runs and edits of one VM or host"),
    ("security", "secrets never shown, TLS, firewall allowed-IP lists never touched"),
    ("bad_input", "bad input refused before the first vSphere request"),
    ("shared_state", "the run's shared session and remembered VM name index can do no harm"),
    ("performance", "request and task counts (speed itself is measured by bench/, never asserted)"),
    ("docs", "the documentation's playbooks and messages, run as written"),
    ("awx", "the playbooks the way AWX runs them"),
)


def pytest_collection_modifyitems(config, items):
    if os.environ.get("VMCH_MATRIX_SELECTION") != "ci":
        return
    keep, drop = [], []
    for item in items:
        marker = item.get_closest_marker("matrix")
        (drop if marker is not None and marker.kwargs.get("ci", True) is False else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
