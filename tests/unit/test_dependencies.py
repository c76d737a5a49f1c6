"""What may import what in plugins/, and where the reconfiguration of a VM is written, checked on the
source (AST: comments, strings and docstrings do not count).

The layers of docs/design.md as rules over files: the pure files take values and import nothing that
talks to vSphere; ``vsphere/`` is the bottom layer; ``engine/`` (one run for one VM and for many)
builds only on ``vsphere/``; the concerns (``serial_ports/``, ``vmci/``) build on the engine (and may
read the ESXi firewall) and never on each other; ``esxi_firewall/`` only on ``vsphere/``; module_utils ships with a module, so it never
imports controller code; modules are thin and import only module_utils. The config spec of a
reconfiguration, with its ``changeVersion``, is built in one file, the engine alone finds many VMs,
awaits their tasks and retries concurrent edits, and one file of serial_ports/ plans the ports and
warns about the firewall for vm_serial_port and vm_serial_port_bulk alike.

Each rule is a function of (file, imported name), so the unit tests at the end feed it a graph that
breaks it: a rule that cannot fail would check nothing.
"""
import ast
import glob
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PREFIX = "ansible_collections.vmchannels.vsphere."
MODULE_UTILS = "plugins/module_utils/"

#: Files of pure logic: values in, values out.
PURE = frozenset("plugins/module_utils/%s.py" % name for name in (
    "serial_ports/ports", "serial_ports/validation", "vmci/rules", "esxi_firewall/rulesets",
    "vsphere/masking", "vsphere/options"))
#: Libraries that talk to the network (a pure file imports none of them).
IO_LIBRARIES = ("pyVmomi", "pyVim", "requests", "socket", "ssl", "http", "urllib")


def _package(path):
    """``plugins/module_utils/engine/waves.py`` -> ``engine``; ``None`` outside module_utils."""
    if not path.startswith(MODULE_UTILS):
        return None
    return path[len(MODULE_UTILS):].split("/")[0]


def _in(path, *packages):
    return _package(path) in packages


def _ours(name):
    return name.startswith("plugins/")


def _io(name):
    return any(name == lib or name.startswith(lib + ".") for lib in IO_LIBRARIES)


def _controller(name):
    """Ansible's controller code: anything of ``ansible`` but its module_utils."""
    return (name == "ansible" or name.startswith("ansible.")) and not name.startswith("ansible.module_utils")


#: (rule, violated(file, imported)): ``imported`` is a file of the collection (``plugins/...py``) or
#: the dotted name of anything else.
RULES = (
    ("a pure file imports neither pyVmomi nor any I/O module",
     lambda f, i: f in PURE and (_io(i) or (_ours(i) and i not in PURE))),
    ("vsphere/ imports nothing from engine/, the concerns or esxi_firewall/",
     lambda f, i: _in(f, "vsphere") and _package(i) not in (None, "vsphere")),
    ("engine/ imports only vsphere/",
     lambda f, i: _in(f, "engine") and _package(i) not in (None, "engine", "vsphere")),
    ("the concerns (serial_ports/, vmci/) never import each other",
     lambda f, i: (_in(f, "serial_ports") and _in(i, "vmci")) or (_in(f, "vmci") and _in(i, "serial_ports"))),
    ("esxi_firewall/ imports only vsphere/",
     lambda f, i: _in(f, "esxi_firewall") and _package(i) not in (None, "esxi_firewall", "vsphere")),
    ("module_utils imports neither plugin_utils nor Ansible's controller code",
     lambda f, i: f.startswith(MODULE_UTILS) and ((_ours(i) and not i.startswith(MODULE_UTILS)) or _controller(i))),
    ("modules import only module_utils",
     lambda f, i: f.startswith("plugins/modules/") and ((_ours(i) and not i.startswith(MODULE_UTILS))
                                                        or _controller(i))),
)

#: (what, names used in code, the packages the one file using them must be in, how many files).
ONE_PLACE = (
    ("the config spec of a reconfiguration, with its changeVersion",
     ("ReconfigVM_Task", "ConfigSpec", "changeVersion"), ("vsphere", "engine"), 1),
    ("the retries of concurrent edits", ("CONCURRENT_RETRIES",), ("engine",), 1),
    ("the look-up of many VMs at once", ("find_vms",), ("engine",), 1),
    ("waiting for vSphere tasks (reconfigurations in waves, power operations)", ("wait_for_tasks",), ("engine",), 2),
    ("the serial-port plan of a VM and the firewall warning, for one VM and for many",
     ("plan_vm", "firewall_warnings"), ("serial_ports",), 1),
)


def _sources():
    return sorted(os.path.relpath(p, ROOT) for pattern in ("plugins/**/*.py",)
                  for p in glob.glob(os.path.join(ROOT, pattern), recursive=True))


def _tree(path):
    with open(os.path.join(ROOT, path)) as handle:
        return ast.parse(handle.read())


def _resolve(dotted, files):
    """A dotted import of the collection as its file (the longest prefix that is one), else as given."""
    if not dotted.startswith(PREFIX):
        return dotted
    parts = dotted[len(PREFIX):].split(".")
    for end in range(len(parts), 0, -1):
        candidate = "/".join(parts[:end])
        if candidate + ".py" in files:
            return candidate + ".py"
        if candidate + "/__init__.py" in files:
            return candidate + "/__init__.py"
    return "/".join(parts)


def import_graph(files):
    """``{file: set of what it imports}`` (also imports inside functions and ``try``)."""
    graph = {}
    for path in files:
        names = set()
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.update("%s.%s" % (node.module, alias.name) for alias in node.names)
        graph[path] = set(_resolve(name, set(files)) for name in names)
    return graph


def violations(graph):
    """``[(rule, file, imported)]`` for every import of ``graph`` that breaks a rule of :data:`RULES`."""
    return sorted((rule, path, name) for path, names in graph.items() for name in names
                  for rule, violated in RULES if violated(path, name))


def _docstrings(tree):
    return set(id(n.body[0].value) for n in ast.walk(tree)
               if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef)) and n.body
               and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant))


def uses(files):
    """``{name: set of files}`` of the names used in code (as a name, an attribute or an imported name),
    definitions and strings aside."""
    found = {}
    for path in files:
        tree = _tree(path)
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                found.setdefault(node.id, set()).add(path)
            elif isinstance(node, ast.Attribute):
                found.setdefault(node.attr, set()).add(path)
            elif isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    found.setdefault(alias.name, set()).add(path)
    return found


def misplaced(used):
    """``[(what, files)]`` for every entry of :data:`ONE_PLACE` that ``used`` (see :func:`uses`) breaks:
    its names are used in more files than allowed, or in a file outside its packages. An import of
    a name counts as a use, so the file that defines a function and imports it nowhere else passes."""
    out = []
    for what, names, packages, count in ONE_PLACE:
        files = set()
        for name in names:
            files |= used.get(name, set())
        if len(files) > count or any(not _in(path, *packages) for path in files):
            out.append((what, sorted(files)))
    return out


# -- the collection ------------------------------------------------------------------------------

def test_the_collection_keeps_its_layers():
    files = _sources()
    assert len(files) > 40
    assert violations(import_graph(files)) == []


def test_the_collection_writes_each_of_these_in_one_place():
    used = uses([f for f in _sources() if f.startswith((MODULE_UTILS, "plugins/modules/"))])
    assert misplaced(used) == []
    # the names are still there (a renamed name would pass every rule unseen)
    for dummy, names, dummy_packages, dummy_count in ONE_PLACE:
        assert all(used.get(name) for name in names), names


def test_the_pure_files_exist():
    assert all(os.path.exists(os.path.join(ROOT, path)) for path in PURE)


def test_the_task_waiter_reads_only_what_is_used():
    for path in _sources():
        tree = _tree(path)
        docstrings = _docstrings(tree)
        assert not [n for n in ast.walk(tree) if isinstance(n, ast.Constant) and id(n) not in docstrings
                    and isinstance(n.value, str) and "info.result" in n.value], path


# -- every rule can fail ---------------------------------------------------------------------------

MU = MODULE_UTILS
BAD_IMPORTS = [
    (RULES[0][0], MU + "serial_ports/ports.py", "pyVmomi.vim"),
    (RULES[0][0], MU + "vmci/rules.py", MU + "vsphere/client.py"),
    (RULES[0][0], MU + "vsphere/masking.py", "socket"),
    (RULES[1][0], MU + "vsphere/client.py", MU + "engine/waves.py"),
    (RULES[1][0], MU + "vsphere/vm_config.py", MU + "serial_ports/ports.py"),
    (RULES[2][0], MU + "engine/ensure.py", MU + "serial_ports/plan.py"),
    (RULES[2][0], MU + "engine/waves.py", MU + "esxi_firewall/hosts.py"),
    (RULES[3][0], MU + "serial_ports/concern.py", MU + "vmci/firewall.py"),
    (RULES[3][0], MU + "vmci/concern.py", MU + "serial_ports/plan.py"),
    (RULES[4][0], MU + "esxi_firewall/hosts.py", MU + "engine/record.py"),
    (RULES[5][0], MU + "vsphere/client.py", "plugins/plugin_utils/sessions.py"),
    (RULES[5][0], MU + "engine/waves.py", "ansible.errors"),
    (RULES[6][0], "plugins/modules/vm_serial_port.py", "plugins/plugin_utils/in_process.py"),
    (RULES[6][0], "plugins/modules/vm_serial_port.py", "ansible.plugins.action"),
]


@pytest.mark.parametrize("rule,path,name", BAD_IMPORTS, ids=["%s: %s" % (p, n) for r, p, n in BAD_IMPORTS])
def test_each_rule_catches_a_bad_import(rule, path, name):
    graph = {path: {name, "ansible.module_utils.basic", "re"}}
    assert violations(graph) == [(rule, path, name)]


def test_every_rule_has_a_bad_import():
    assert set(rule for rule, violated in RULES) == set(rule for rule, path, name in BAD_IMPORTS)


def test_good_imports_pass():
    graph = {
        MU + "serial_ports/ports.py": {"re", "copy", "types.MappingProxyType"},
        MU + "serial_ports/validation.py": {MU + "serial_ports/ports.py", MU + "vsphere/masking.py"},
        MU + "engine/ensure.py": {MU + "engine/waves.py", MU + "vsphere/client.py", "pyVmomi.vim"},
        MU + "serial_ports/concern.py": {MU + "engine/record.py", MU + "esxi_firewall/hosts.py"},
        MU + "vsphere/ansible_module.py": {"ansible.module_utils.basic"},
        "plugins/modules/vm_vmci_filter.py": {MU + "vmci/concern.py", "ansible.module_utils.common.arg_spec"},
        "plugins/plugin_utils/in_process.py": {"ansible.plugins.action", MU + "vsphere/client.py"},
    }
    assert violations(graph) == []


@pytest.mark.parametrize("used,what", [
    ({"ConfigSpec": {MU + "vsphere/vm_config.py"}, "changeVersion": {MU + "engine/waves.py"}}, ONE_PLACE[0][0]),
    ({"ReconfigVM_Task": {MU + "serial_ports/plan.py"}}, ONE_PLACE[0][0]),
    ({"CONCURRENT_RETRIES": {MU + "engine/waves.py", MU + "vmci/concern.py"}}, ONE_PLACE[1][0]),
    ({"find_vms": {MU + "serial_ports/concern.py"}}, ONE_PLACE[2][0]),
    ({"wait_for_tasks": {MU + "engine/waves.py", MU + "engine/power_cycle.py", MU + "vsphere/vm_config.py"}},
     ONE_PLACE[3][0]),
    ({"plan_vm": {MU + "serial_ports/concern.py"}, "firewall_warnings": {"plugins/modules/vm_serial_port.py"}},
     ONE_PLACE[4][0]),
])
def test_each_one_place_rule_catches_a_second_place(used, what):
    assert [w for w, files in misplaced(used)] == [what]


# -- names that say what they do, one text in one place (from test_one_path.py) --------------------

def _defined(files, names):
    return sorted((path, node.name) for path in files for node in ast.walk(_tree(path))
                  if isinstance(node, ast.FunctionDef) and node.name in names)


def _code_strings(files, text):
    """The files whose code (docstrings aside) holds a string containing ``text``."""
    found = set()
    for path in files:
        tree = _tree(path)
        docstrings = _docstrings(tree)
        if any(isinstance(n, ast.Constant) and id(n) not in docstrings and isinstance(n.value, str) and text in n.value
               for n in ast.walk(tree)):
            found.add(path)
    return sorted(found)


def test_function_names_say_what_they_read():
    files = _sources()
    assert _defined(files, ("read_vm", "read_vms")) == []  # read what? the properties, by name
    assert _defined(files, ("read_vm_properties", "read_vms_properties", "find_and_read_vm")) == [
        (MU + "vsphere/vm_config.py", "find_and_read_vm"),
        (MU + "vsphere/vm_config.py", "read_vm_properties"),
        (MU + "vsphere/vm_config.py", "read_vms_properties")]


def test_the_firewall_warning_and_the_port_plan_are_written_once():
    files = _sources()
    assert _code_strings(files, "is disabled on host") == [MU + "serial_ports/plan.py"]
    # the pure plan of the ports is called by one VM's plan only, for every module and the role
    calls = set(path for path in files for node in ast.walk(_tree(path))
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "plan"
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "sp")
    assert calls == {MU + "serial_ports/plan.py"}
