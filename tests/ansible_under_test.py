"""The Ansible the tests run: the project's environment (.venv, where pytest runs) by default, or
the environment of one leg of the compatibility matrix, which scripts/matrix names in
``VMCH_ANSIBLE_VENV`` (ansible-core 2.16 with pyVmomi 8.0.1.0, ..., 2.21 on Python 3.13).

Every ``ansible-playbook``, ``ansible-inventory`` and ``ansible-doc`` a test starts is ``BIN``'s,
and every module runs on ``PYTHON`` (``ANSIBLE_PYTHON_INTERPRETER``) with that environment's
pyVmomi; so do the action and controller plugins of the checkout, inside ``ansible-playbook``.
The tests themselves, and their read-back through pyVmomi, stay in the project's environment.
Tools that are not part of what users run (ansible-lint, ansible-test, molecule, ansible-builder)
always come from the project's environment.
"""
import os
import sys

PROJECT_BIN = os.path.dirname(sys.executable)
VENV = os.environ.get("VMCH_ANSIBLE_VENV") or os.path.dirname(PROJECT_BIN)
BIN = os.path.join(VENV, "bin")
PYTHON = os.path.join(BIN, "python")
# True inside a leg of scripts/matrix (tests/matrix/ runs the oldest and newest legs from scripts/test).
IN_MATRIX_LEG = bool(os.environ.get("VMCH_ANSIBLE_VENV"))

if not os.access(os.path.join(BIN, "ansible-playbook"), os.X_OK):
    raise RuntimeError("VMCH_ANSIBLE_VENV=%s holds no ansible-playbook: create it with scripts/matrix --setup-only"
                       % VENV)
