"""One code path per concern, checked on the source (AST, so comments and docstrings do not count):
vm_serial_port and vm_serial_port_bulk plan, build the config spec with changeVersion and word the
firewall warning in one place each; the many-VM runs (serial ports, VMCI firewall) find the VMs,
wait for their reconfigurations and retry concurrent edits in one place (bulk.py); no two functions share the vague name ``read_vm``; the task
waiter no longer reads ``info.result``, which nothing used."""
import ast
import glob
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOURCES = sorted(glob.glob(os.path.join(ROOT, "plugins", "module_utils", "**", "*.py"), recursive=True) +
                 glob.glob(os.path.join(ROOT, "plugins", "modules", "*.py")))


def _tree(path):
    with open(path) as handle:
        return ast.parse(handle.read())


def _docstrings(tree):
    return set(id(n.body[0].value) for n in ast.walk(tree)
               if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef)) and n.body
               and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant))


def _where(predicate):
    """``{file: [enclosing function names]}`` of the code nodes for which ``predicate(node)`` holds."""
    found = {}
    for path in SOURCES:
        tree = _tree(path)
        docstrings = _docstrings(tree)
        for function in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)] + [tree]:
            body = function.body if function is not tree else [n for n in tree.body if not isinstance(
                n, (ast.FunctionDef, ast.ClassDef))]
            for statement in body:
                for node in ast.walk(statement):
                    if id(node) in docstrings or not predicate(node):
                        continue
                    name = getattr(function, "name", "<module>")
                    found.setdefault(os.path.relpath(path, ROOT), set()).add(name)
    return dict((k, sorted(v)) for k, v in found.items())


def _named(node, name):
    return (isinstance(node, ast.Attribute) and node.attr == name) or (isinstance(node, ast.Name) and node.id == name)


def _mentions(node, text):
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and text in node.value


@pytest.mark.parametrize("what,predicate,expected", [
    ("the config spec", lambda n: isinstance(n, ast.Call) and _named(n.func, "ConfigSpec"),
     {"plugins/module_utils/vsphere/vm_config.py": ["start_reconfigure"]}),
    ("the changeVersion sent", lambda n: _named(n, "changeVersion"),
     {"plugins/module_utils/vsphere/vm_config.py": ["start_reconfigure"]}),
    ("the serial-port plan", lambda n: isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
     and n.func.attr == "plan" and _named(n.func.value, "sp"),
     {"plugins/module_utils/serial_ports/plan.py": ["plan_vm"]}),
    ("the firewall warning", lambda n: _mentions(n, "is disabled on host"),
     {"plugins/module_utils/serial_ports/plan.py": ["firewall_warnings"]}),
    ("the ReconfigVM_Task call", lambda n: _named(n, "ReconfigVM_Task"),
     {"plugins/module_utils/vsphere/vm_config.py": ["start_reconfigure"]}),
    # one many-VM machinery for the serial ports and the VMCI firewall (bulk.py)
    ("the wait for a wave of tasks", lambda n: isinstance(n, ast.Call) and _named(n.func, "wait_for_tasks"),
     {"plugins/module_utils/engine/runs.py": ["reconfigure_wave"],  # reconfigurations of many VMs
      "plugins/module_utils/engine/power_cycle.py": ["_wait"],  # power tasks
      "plugins/module_utils/vsphere/vm_config.py": ["reconfigure"]}),  # vm_vmci_filter's one VM
    ("the retries of concurrent edits", lambda n: _named(n, "CONCURRENT_RETRIES"),
     {"plugins/module_utils/engine/runs.py": ["<module>", "with_retries"]}),
    ("the look-up of many VMs", lambda n: isinstance(n, ast.Call) and _named(n.func, "find_vms"),
     {"plugins/module_utils/engine/runs.py": ["find_runs"]}),
])
def test_one_place(what, predicate, expected):
    assert _where(predicate) == expected, what


def _defined(names):
    return sorted((os.path.relpath(path, ROOT), node.name) for path in SOURCES for node in ast.walk(_tree(path))
                  if isinstance(node, ast.FunctionDef) and node.name in names)


def test_function_names_say_what_they_read():
    assert _defined(("read_vm", "read_vms")) == []
    assert _defined(("read_vm_properties", "read_vms_properties", "find_and_read_vm")) == [
        ("plugins/module_utils/vmci/firewall.py", "find_and_read_vm"),
        ("plugins/module_utils/vsphere/vm_config.py", "read_vm_properties"),
        ("plugins/module_utils/vsphere/vm_config.py", "read_vms_properties")]


def test_task_waiter_reads_only_what_is_used():
    assert _where(lambda n: _mentions(n, "info.result")) == {}
