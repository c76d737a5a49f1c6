"""The oldest and the newest leg of the compatibility matrix (scripts/matrix) on every run of
scripts/test: ansible-core 2.16 with pyVmomi 8.0.1.0 (the floors that meta/runtime.yml and
requirements.txt declare) and the newest ansible-core on its Python.

Each leg is a pytest run of its own over the tests marked ``matrix`` that are not marked
``matrix(ci=False)``, with the leg's ansible-playbook, ansible-doc, Python and pyVmomi
(tests/ansible_under_test.py), run serially since this run already keeps both cores busy. The leg's
environment is created on first use under .cache/matrix/ (about 30 s) and reused. A leg whose
Python the machine lacks is skipped with the reason; scripts/matrix runs every leg.
"""
import importlib.util
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _load_matrix():
    spec = importlib.util.spec_from_file_location("matrix", os.path.join(ROOT, "scripts", "matrix.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


matrix = _load_matrix()


@pytest.mark.parametrize("leg", [matrix.OLDEST, matrix.NEWEST], ids=lambda leg: "ansible-core-" + leg.name)
def test_leg(leg, tmp_path):
    result = matrix.run_leg(leg, workers=0, stream=False, ci=True, basetemp=str(tmp_path / "leg"), log=print)
    if result.status == "skipped":
        pytest.skip("matrix leg %s: %s" % (leg.name, result.detail))
    print(matrix.table([result]))
    assert result.status == "passed", "matrix leg %s %s:\n%s" % (leg.name, result.detail, result.output[-12000:])
    # A leg that ran (almost) nothing proves nothing: the selection must not have gone missing.
    assert result.counts.get("passed", 0) >= 20, result.counts
