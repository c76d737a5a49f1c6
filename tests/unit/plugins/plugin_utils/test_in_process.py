"""Unit tests of the controller-side pieces of in-process execution: the action plugins, the
interpreter check and the restoration of the worker's globals (the run's session store is in
test_sessions.py)."""
import ast
import importlib
import json
import os
import subprocess
import sys

import pytest
from ansible.module_utils.common import warnings as module_warnings
from ansible_collections.vmchannels.vsphere.plugins.plugin_utils import in_process, sessions

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
MODULES = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, "plugins", "modules")) if f.endswith(".py"))
ACTIONS = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, "plugins", "action")) if f.endswith(".py"))


def test_every_module_has_an_action_plugin_and_every_action_plugin_a_module():
    assert MODULES and ACTIONS == MODULES


@pytest.mark.parametrize("name", MODULES)
def test_action_plugin_runs_its_own_module(name):
    action = importlib.import_module("ansible_collections.vmchannels.vsphere.plugins.action." + name)
    assert issubclass(action.ActionModule, in_process.ModuleAction)
    assert action.ActionModule.module_name == "ansible_collections.vmchannels.vsphere.plugins.modules." + name
    loaded = in_process._modules[action.ActionModule.module_name]
    assert hasattr(loaded, "main"), loaded


@pytest.mark.parametrize("name", MODULES)
def test_modules_declare_no_metadata_so_the_legacy_profile_applies(name):
    # ansible-core 2.19+ picks a module's serialization profile from its METADATA; without one it
    # is "legacy", which in_process.PROFILE assumes.
    with open(os.path.join(ROOT, "plugins", "modules", name + ".py")) as handle:
        tree = ast.parse(handle.read())
    assigned = [t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets
                if isinstance(t, ast.Name)]
    assert "METADATA" not in assigned


def test_same_python(tmp_path):
    assert in_process._same_python(sys.executable)
    # another name for the same interpreter in the same directory (venv/bin/python3 and python)
    alias = os.path.join(os.path.dirname(sys.executable), "python3")
    if os.path.exists(alias):
        assert in_process._same_python(alias)
    # the same binary elsewhere (the base interpreter of a virtual environment) has other packages
    elsewhere = tmp_path / "python"
    elsewhere.symlink_to(os.path.realpath(sys.executable))
    assert not in_process._same_python(str(elsewhere))
    assert not in_process._same_python(str(tmp_path / "missing-python"))
    assert not in_process._same_python("no-such-python-command")


@pytest.mark.parametrize("value, off", [(None, False), ("true", False), (True, False), ("yes", False),
                                        ("false", True), (False, True), ("0", True), ("off", True)])
def test_switches(value, off):
    assert in_process._switched_off(value) is off


def test_run_main_restores_every_global_it_changes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    module_warnings.warn("a warning of the worker before the run")
    before_warnings = module_warnings.get_warning_messages()
    before_environ = dict(os.environ)

    def main():
        from ansible.module_utils.basic import AnsibleModule

        module = AnsibleModule(argument_spec=dict(greeting=dict(type="str")))
        os.environ["VMCH_SET_BY_MODULE"] = "1"
        os.chdir("/")
        module.warn("a warning of the module")
        module.exit_json(changed=True, greeting=module.params["greeting"], seen=os.environ.get("VMCH_TASK_ENV"))

    res = in_process.run_main(main, in_process.encode_arguments(dict(greeting="hello")), {"VMCH_TASK_ENV": "x"}, None)
    assert res["rc"] == 0
    out = json.loads(res["stdout"])
    assert out["changed"] is True and out["greeting"] == "hello" and out["seen"] == "x"
    assert "a warning of the module" in json.dumps(out["warnings"])
    assert "a warning of the worker" not in json.dumps(out["warnings"])
    assert dict(os.environ) == before_environ
    assert os.getcwd() == str(tmp_path)
    assert module_warnings.get_warning_messages() == before_warnings


def test_run_main_reports_a_failure_and_an_unhandled_exception():
    def fails():
        from ansible.module_utils.basic import AnsibleModule

        AnsibleModule(argument_spec={}).fail_json(msg="it went wrong", error_kind="invalid")

    res = in_process.run_main(fails, in_process.encode_arguments({}), {}, None)
    assert res["rc"] == 1
    assert json.loads(res["stdout"])["msg"] == "it went wrong"

    def raises():
        raise ValueError("a bug")

    res = in_process.run_main(raises, in_process.encode_arguments({}), {}, None)
    assert res["rc"] == 1
    assert "a bug" in res["stdout"] + res["stderr"]


@pytest.mark.parametrize("code,rc,stderr", [
    ("cannot go on: pyVmomi is missing", 1, "cannot go on: pyVmomi is missing\n"),
    (None, 0, ""), (0, 0, ""), (3, 3, ""), (False, 0, ""), (["a", 1], 1, "['a', 1]\n"),
])
def test_run_main_exits_like_python_on_sys_exit(code, rc, stderr):
    """``sys.exit(code)`` in-process ends as the shipped module's process would: Python writes a code
    that is neither None nor an integer to stderr and exits 1 (the text was lost before)."""
    def main():
        sys.exit(code)

    res = in_process.run_main(main, in_process.encode_arguments({}), {}, None)
    assert (res["rc"], res["stderr"], res["stdout"]) == (rc, stderr, "")


def test_sys_exit_text_is_what_a_shipped_module_prints(tmp_path):
    script = tmp_path / "module.py"
    script.write_text("import sys\nsys.exit('cannot go on: pyVmomi is missing')\n")
    shipped = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=False)

    def main():
        sys.exit("cannot go on: pyVmomi is missing")

    res = in_process.run_main(main, in_process.encode_arguments({}), {}, None)
    assert (res["rc"], res["stderr"]) == (shipped.returncode, shipped.stderr)


def test_run_main_prints_nothing_on_the_worker_stdout(capsys):
    def main():
        from ansible.module_utils.basic import AnsibleModule

        print("noise")
        AnsibleModule(argument_spec={}).exit_json(changed=False)

    res = in_process.run_main(main, in_process.encode_arguments({}), {}, None)
    assert "noise" in res["stdout"]
    assert capsys.readouterr().out == ""


def test_run_main_restores_globals_when_the_task_times_out():
    class Timeout(BaseException):
        """Like ansible-core's TaskTimeoutError: a BaseException raised by the task's alarm."""

    before_environ = dict(os.environ)

    def main():
        os.environ["VMCH_SET_BY_MODULE"] = "1"
        raise Timeout()

    with pytest.raises(Timeout):
        in_process.run_main(main, in_process.encode_arguments({}), {"VMCH_TASK_ENV": "x"}, None)
    assert dict(os.environ) == before_environ


def test_an_untested_ansible_core_ships_the_module(monkeypatch):
    action = object.__new__(in_process.ModuleAction)
    monkeypatch.delenv("VMCHANNELS_IN_PROCESS", raising=False)
    monkeypatch.setattr(in_process, "CORE", (in_process.TESTED_CORE[1][0], in_process.TESTED_CORE[1][1] + 1))
    assert "not tested with ansible-core" in action._shipping_reason({})
    monkeypatch.setenv("VMCHANNELS_IN_PROCESS", "false")
    assert "turned off" in action._shipping_reason({})


def _prepare_in_a_worker():
    sessions._store = sessions._store_pid = None
    sessions.prepare()
    os._exit(0 if sessions._store is None and sessions._store_pid is None else 1)


def test_a_worker_that_imports_the_action_plugins_prepares_no_store_and_no_reaper():
    import multiprocessing

    worker = multiprocessing.get_context("fork").Process(target=_prepare_in_a_worker)
    worker.start()
    worker.join(30)
    assert worker.exitcode == 0
