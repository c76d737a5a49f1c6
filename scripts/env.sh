# Sourced by the scripts: where things live. Safe to source in an interactive shell too:
#   . scripts/env.sh
VMCH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export VMCH_ROOT
export VMCH_VENV="${VMCH_VENV:-$VMCH_ROOT/.venv}"
export PATH="$VMCH_VENV/bin:$PATH"
# The collection is loaded from this checkout through .build/collections/ansible_collections/vmchannels/vsphere
export ANSIBLE_COLLECTIONS_PATH="$VMCH_ROOT/.build/collections"
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
# Interpreter discovery on localhost finds a broken pyenv shim: use the project's Python.
export ANSIBLE_PYTHON_INTERPRETER="$VMCH_VENV/bin/python"
export ANSIBLE_LOCALHOST_WARNING=false
export ANSIBLE_INVENTORY_UNPARSED_WARNING=false
export ANSIBLE_RETRY_FILES_ENABLED=false
export ANSIBLE_NOCOLOR="${ANSIBLE_NOCOLOR:-1}"
