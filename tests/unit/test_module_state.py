"""No mutable state at module level in the modules and module_utils.

In-process (plugins/plugin_utils/in_process.py), a module and its module_utils are imported once per
worker and their globals outlive the task: a list, dict or set kept at module level (or in a class
body), or a ``global`` rebound by a function, would carry one loop item's data into the next, where
a shipped module starts afresh every time. Constants are therefore tuples, frozensets and
``types.MappingProxyType``; the check below parses every file with ``ast`` and names what is not.
"""
import ast
import glob
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FILES = sorted(os.path.relpath(p, ROOT) for pattern in ("plugins/modules/*.py", "plugins/module_utils/**/*.py")
               for p in glob.glob(os.path.join(ROOT, pattern), recursive=True))

#: Module-level names allowed to hold a mutable value, ``(file, name): why it is never mutated``.
#: Keep it empty: convert a constant to a tuple, frozenset or MappingProxyType instead.
ALLOWED = {}

#: Calls that build a mutable value.
MUTABLE_CALLS = frozenset(("list", "dict", "set", "bytearray", "defaultdict", "OrderedDict", "Counter", "deque",
                           "ChainMap", "SimpleNamespace"))
#: Calls whose result cannot be changed: a mutable literal given to them directly is sealed in.
IMMUTABLE_CALLS = frozenset(("MappingProxyType", "frozenset", "tuple"))
MUTATING_METHODS = frozenset(("append", "extend", "insert", "update", "add", "setdefault", "pop", "remove", "clear"))
_LITERALS = (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)


def _name(func):
    return getattr(func, "id", None) or getattr(func, "attr", None)


def _sealed(node):
    """What is mutable inside ``node``, an argument of an immutable call (its own container is sealed)."""
    if isinstance(node, ast.Dict):
        return next((m for m in map(_mutable, node.values) if m), None)
    if isinstance(node, (ast.List, ast.Set, ast.Tuple)):
        return next((m for m in map(_mutable, node.elts) if m), None)
    if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
        return _mutable(node.elt)
    if isinstance(node, ast.DictComp):
        return _mutable(node.value)
    if isinstance(node, ast.Call) and _name(node.func) == "dict":
        return next((m for m in map(_mutable, list(node.args) + [k.value for k in node.keywords]) if m), None)
    return _mutable(node)


def _mutable(node):
    """A description of the mutable value ``node`` builds, or ``None``."""
    if isinstance(node, _LITERALS):
        return "a %s" % type(node).__name__.lower().replace("comp", " comprehension")
    if isinstance(node, ast.Tuple):
        return next((m for m in map(_mutable, node.elts) if m), None)
    if isinstance(node, ast.Call):
        name = _name(node.func)
        if name in MUTABLE_CALLS:
            return "%s()" % name
        if name in IMMUTABLE_CALLS:
            return next((m for m in map(_sealed, list(node.args) + [k.value for k in node.keywords]) if m), None)
    if isinstance(node, (ast.IfExp,)):
        return _mutable(node.body) or _mutable(node.orelse)
    if isinstance(node, ast.BoolOp):
        return next((m for m in map(_mutable, node.values) if m), None)
    return None


def _statements(body):
    """The statements run at import time: ``body`` and the blocks of its if/try/with/for, not functions."""
    for node in body:
        yield node
        for field in ("body", "orelse", "finalbody"):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                yield from _statements(getattr(node, field, None) or [])
        for handler in getattr(node, "handlers", None) or []:
            yield from _statements(handler.body)


def _targets(node):
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return ", ".join(ast.unparse(t) if hasattr(ast, "unparse") else getattr(t, "id", "?") for t in targets)


def mutable_state(source, where="<source>"):
    """``(where, line, name, what)`` of every piece of mutable module-level state in ``source``:
    module-level and class-level assignments of mutable values, module-level calls that mutate, and
    ``global`` statements."""
    tree = ast.parse(source)
    found = []
    scopes = [("", tree.body)]
    scopes += [(node.name + ".", node.body) for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]
    for prefix, body in scopes:
        for node in _statements(body):
            if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and node.value is not None:
                what = _mutable(node.value)
                if what or isinstance(node, ast.AugAssign) and not prefix:
                    found.append((where, node.lineno, prefix + _targets(node), what or "changed in place"))
            elif (not prefix and isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
                  and isinstance(node.value.func, ast.Attribute) and node.value.func.attr in MUTATING_METHODS):
                found.append((where, node.lineno, ast.dump(node.value.func.value)[:40], "mutated at import"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            found.append((where, node.lineno, ", ".join(node.names), "global statement"))
    return found


@pytest.mark.parametrize("path", FILES)
def test_no_mutable_module_level_state(path):
    with open(os.path.join(ROOT, path)) as handle:
        found = [f for f in mutable_state(handle.read(), path) if (path, f[2]) not in ALLOWED]
    assert found == [], ("mutable module-level state (in-process it outlives the task): %s; use a tuple, frozenset "
                         "or types.MappingProxyType" % "; ".join("%s:%d %s (%s)" % f for f in found))


def test_the_allow_list_names_existing_names_only():
    for path, name in ALLOWED:
        with open(os.path.join(ROOT, path)) as handle:
            assert name in handle.read(), (path, name)


def test_every_module_and_module_util_is_checked():
    assert "plugins/modules/vm_serial_port.py" in FILES and "plugins/module_utils/vsphere/client.py" in FILES
    assert len(FILES) > 20


@pytest.mark.parametrize("source,names", [
    ("CACHE = {}", ["CACHE"]),
    ("SEEN = []\nNAMES = [n for n in 'ab']\nS = {1}\nD = {k: 1 for k in 'ab'}", ["SEEN", "NAMES", "S", "D"]),
    ("A = list()\nB = dict(a=1)\nC = set()\nD = collections.defaultdict(list)\nE = OrderedDict()",
     ["A", "B", "C", "D", "E"]),
    ("X: dict = {}", ["X"]),
    ("A, B = [], ()", ["(A, B)"]),
    ("P = ([1], 2)", ["P"]),
    ("M = MappingProxyType({'a': [1]})", ["M"]),  # sealed outside, mutable inside
    ("F = frozenset([set()])", ["F"]),
    ("try:\n    import x\n    FOUND = []\nexcept ImportError:\n    FOUND = {}", ["FOUND", "FOUND"]),
    ("if True:\n    L = []", ["L"]),
    ("class C(object):\n    registry = {}\n    def f(self):\n        local = []", ["C.registry"]),
    ("N = 0\ndef bump():\n    global N\n    N += 1", ["N"]),
    ("X = ()\nX += (1,)", ["X"]),
    ("ITEMS = ()\nREG = MappingProxyType({})\nREG.update(a=1)", ["Name(id='REG', ctx=Load())"]),
])
def test_the_check_finds_mutable_state(source, names):
    assert [f[2] for f in mutable_state(source)] == names


def test_the_check_lets_constants_and_local_state_pass():
    source = """
import re
from types import MappingProxyType
NAME = "x"
LIMIT = 32
CHOICES = ("a", "b")
NAMES = frozenset(("a", "b"))
FIELDS = MappingProxyType({"network": ("service_uri",), "file": ()})
DEFAULTS = MappingProxyType({"network": MappingProxyType({"direction": "server"})})
KWARGS = MappingProxyType(dict(mutually_exclusive=(("a", "b"),)))
SORTED = tuple(sorted(["b", "a"]))
PATTERN = re.compile(r"^x$")
MAYBE = None if NAME else ()


class Change(object):
    __slots__ = ("op", "number")

    def __init__(self):
        self.seen = []


def f(items=None):
    out = []
    cache = {}
    out.append(cache)
    return out
"""
    assert mutable_state(source) == []
