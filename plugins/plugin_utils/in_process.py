# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's modules, run inside Ansible's worker when their task runs on the controller.

Every module of the collection has an action plugin of a few lines that subclasses
:class:`ModuleAction`. When a task executes on the controller (connection ``local``, which
includes ``delegate_to: localhost``), without ``become`` or ``async``, with the controller's own
Python as the task's interpreter, the module's ``main()`` runs in the worker that Ansible already
forked for the task: no AnsiballZ payload, no new Python, no import of ansible and pyVmomi per
task, and the run's vSphere session is shared (:mod:`.sessions`). Anywhere else the module is
shipped exactly as Ansible ships any module.

The module file stays the only source of documentation, argument spec and logic. The arguments
are encoded as the AnsiballZ wrapper encodes them and the result printed by ``exit_json`` /
``fail_json`` is decoded by the action base's own ``_parse_returned_data``, so ``changed``,
``diff``, check mode, warnings, deprecations, ``no_log`` masking and failures are what the shipped
module returns. Every global the module touches is restored afterwards.

The fast path is off when the variable ``vmchannels_in_process`` is false or the controller's
environment has ``VMCHANNELS_IN_PROCESS=false``; the shared session is off with
``vmchannels_shared_session: false`` or ``VMCHANNELS_SHARED_SESSION=false``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import io
import json
import os
import shutil
import sys
import traceback
from contextlib import redirect_stderr, redirect_stdout

from ansible import constants as C
from ansible.errors import AnsibleConnectionFailure
from ansible.module_utils import basic
from ansible.module_utils.common import warnings as module_warnings
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.release import __version__ as ansible_core_version
from ansible.utils.display import Display
from ansible.utils.vars import merge_hash

try:
    from ansible.vars.clean import remove_internal_keys
except ImportError:  # gone in ansible-core 2.21.5 (scripts/matrix): its results clean themselves (_decode)
    remove_internal_keys = None

from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.client import VSphereClient
from ansible_collections.vmchannels.vsphere.plugins.plugin_utils import pyvmomi_types, sessions
from ansible_collections.vmchannels.vsphere.plugins.plugin_utils.roles.variables import ROLE_OPTIONS, role_message

try:  # ansible-core 2.19+: serialization profiles and module-side behaviour switched by is_controller
    from ansible.module_utils import _internal as module_internal
    from ansible.module_utils.common.json import Direction, get_module_encoder
except ImportError:  # ansible-core 2.16-2.18
    module_internal = None

try:  # ansible-core 2.19+: how the AnsiballZ wrapper reports an exception a module did not handle
    from ansible.module_utils._internal._ansiballz._loader import _handle_exception as report_module_exception
except ImportError:  # ansible-core 2.16-2.18: the traceback goes to stderr ("MODULE FAILURE")
    report_module_exception = None

display = Display()

#: The ansible-core releases whose internals this module uses as tested (tests/integration, the
#: compatibility matrix); on any other release the modules are shipped.
TESTED_CORE = ((2, 16), (2, 21))
CORE = tuple(int(part) for part in ansible_core_version.split(".")[:2])

#: Our modules declare no ``METADATA``: ansible-core 2.19+ then serializes their input and output
#: with the "legacy" profile (tests/unit/plugins/plugin_utils/test_in_process.py checks that no module declares one).
PROFILE = "legacy"
_AUTO_INTERPRETERS = ("auto", "auto_legacy", "auto_silent", "auto_legacy_silent")
_OFF_VARIABLE = "vmchannels_in_process"
_OFF_ENVIRONMENT = "VMCHANNELS_IN_PROCESS"
_SHARED_VARIABLE = "vmchannels_shared_session"
_SHARED_ENVIRONMENT = "VMCHANNELS_SHARED_SESSION"

#: module name -> imported module, or the text of the import error
_modules = {}


def module_name_of(action_module_name):
    """``...plugins.action.X`` -> ``...plugins.modules.X``."""
    return action_module_name.replace(".plugins.action.", ".plugins.modules.")


def preload(module_name):
    """Import a module (and with it pyVmomi and the module_utils) and create the pyVmomi types the
    collection uses, in the process that imports the action plugin: the main process, before it
    forks the workers, so that no worker pays for either."""
    if module_name in _modules:
        return
    try:
        _modules[module_name] = importlib.import_module(module_name)
        pyvmomi_types.create()
        sessions.prepare()
    except Exception as exc:  # an import error is reported when a task would use the module
        _modules[module_name] = "%s: %s" % (type(exc).__name__, exc)


def not_delegated_advice(error, action, host, transport):
    """The message of a connection failure of a task that does not run on the controller: most often
    a task of the collection run against the VMs of the inventory without ``delegate_to: localhost``,
    so that Ansible tries to log in to the VM."""
    return ("%s\nThe task tried to reach host '%s' (connection %s) to run %s there. The modules of "
            "vmchannels.vsphere talk to vCenter from the Ansible controller: add 'delegate_to: localhost' to the "
            "task (or 'connection: local' to the play) when '%s' is a VM of the inventory, not a machine to log "
            "in to." % (error, host, transport or "?", action, host))


def _collection_role(role):
    """``serial_console`` or ``vmci_firewall`` for a task of one of the collection's roles, else ``None``."""
    if role is None:
        return None
    name = role.get_name()
    collection, _dot, short = name.rpartition(".")
    return short if short in ROLE_OPTIONS and collection in ("", "vmchannels.vsphere") else None


def _switched_off(value):
    return value is not None and not boolean(value, strict=False)


def _same_python(interpreter):
    """Whether ``interpreter`` (a path or a command name) is the Python running Ansible."""
    path = shutil.which(interpreter) or interpreter
    if not os.path.isabs(path) or not os.path.exists(path):
        return False
    mine = sys.executable
    if os.path.abspath(path) == os.path.abspath(mine):
        return True
    # venv/bin/python and venv/bin/python3.11 are the same interpreter; /usr/bin/python3, the
    # target of a virtual environment's symlink, is not (it has other packages)
    return os.path.dirname(os.path.abspath(path)) == os.path.dirname(os.path.abspath(mine)) and \
        os.path.samefile(path, mine)


def encode_arguments(module_args):
    """The module's input as the AnsiballZ wrapper hands it to ``basic._load_params``."""
    params = dict(ANSIBLE_MODULE_ARGS=module_args)
    if module_internal is not None:
        return json.dumps(params, cls=get_module_encoder(PROFILE, Direction.CONTROLLER_TO_MODULE)).encode("utf-8")
    from ansible.module_utils.common.json import AnsibleJSONEncoder  # ansible-core 2.16-2.18 (deprecated later)

    return json.dumps(params, cls=AnsibleJSONEncoder, vault_to_text=True).encode("utf-8")


class _ModuleGlobals(object):
    """What a module run changes in the worker's process, saved on entry and put back on exit."""

    _BASIC = ("_ANSIBLE_ARGS", "_ANSIBLE_PROFILE", "_PARSED_MODULE_ARGS")
    _WARNINGS = ("_global_warnings", "_global_deprecations")

    def __init__(self, json_params, environment, shared_sessions):
        self.json_params = json_params
        self.environment = environment
        self.shared_sessions = shared_sessions

    def __enter__(self):
        self._saved_basic = dict((name, getattr(basic, name)) for name in self._BASIC if hasattr(basic, name))
        self._saved_warnings = {}
        for name in self._WARNINGS:
            collected = getattr(module_warnings, name)
            self._saved_warnings[name] = type(collected)(collected)
            collected.clear()
        self._saved_environ = dict(os.environ)
        self._saved_cwd = os.getcwd()
        self._saved_sessions = VSphereClient.shared_sessions
        self._saved_is_controller = getattr(module_internal, "is_controller", None)

        basic._ANSIBLE_ARGS = self.json_params
        if "_ANSIBLE_PROFILE" in self._saved_basic:
            basic._ANSIBLE_PROFILE = PROFILE
        os.environ.update((str(k), str(v)) for k, v in self.environment.items())
        VSphereClient.shared_sessions = self.shared_sessions
        if module_internal is not None:
            # the module must behave as on a target: collect warnings into its result instead of
            # displaying them, and encode its result with the module-side profile
            module_internal.is_controller = False
        return self

    def __exit__(self, *exc_info):
        if module_internal is not None:
            module_internal.is_controller = self._saved_is_controller
        VSphereClient.shared_sessions = self._saved_sessions
        if os.getcwd() != self._saved_cwd:
            os.chdir(self._saved_cwd)
        if os.environ != self._saved_environ:
            os.environ.clear()
            os.environ.update(self._saved_environ)
        for name, saved in self._saved_warnings.items():
            collected = getattr(module_warnings, name)
            collected.clear()
            if isinstance(collected, dict):
                collected.update(saved)
            else:
                collected.extend(saved)
        for name, value in self._saved_basic.items():
            setattr(basic, name, value)
        return False


def exit_status(code, stderr):
    """The exit status of a process that ended with ``sys.exit(code)``, as Python gives it: ``None`` is
    0, an integer is itself, anything else (``sys.exit("text")``) is written to ``stderr`` with a new
    line and is 1, so the task's failure shows the text as the shipped module's would."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    stderr.write("%s\n" % (code,))
    return 1


def run_main(main, json_params, environment, shared_sessions):
    """Run a module's ``main()`` with ``json_params`` as its input and ``environment`` added to
    ``os.environ``. Returns what the shipped module would have: ``rc``, ``stdout``, ``stderr``."""
    stdout, stderr = io.StringIO(), io.StringIO()
    rc = 0
    with _ModuleGlobals(json_params, environment, shared_sessions):
        with redirect_stdout(stdout), redirect_stderr(stderr):
            try:
                main()
                raise RuntimeError("New-style module did not handle its own exit.")
            except SystemExit as exc:
                rc = exit_status(exc.code, stderr)
            except Exception as exc:  # what the AnsiballZ wrapper, or Python itself, reports
                rc = 1
                if report_module_exception is not None:
                    try:
                        report_module_exception(exc, PROFILE)
                    except SystemExit:
                        pass
                else:
                    stderr.write(traceback.format_exc())
    out, err = stdout.getvalue(), stderr.getvalue()
    return dict(rc=rc, stdout=out, stderr=err, stdout_lines=out.splitlines(), stderr_lines=err.splitlines())


class ModuleAction(ActionBase):
    """The action plugin of every module of the collection (see the module docstring)."""

    _supports_check_mode = True
    _supports_async = True
    module_name = None

    def __init_subclass__(cls, **kwargs):
        super(ModuleAction, cls).__init_subclass__(**kwargs)
        cls.module_name = module_name_of(cls.__module__)
        preload(cls.module_name)

    def run(self, tmp=None, task_vars=None):
        result = self._run(tmp, task_vars)
        role = _collection_role(getattr(self._task, "_role", None))
        if role and self.module_name.rpartition(".")[2].startswith("vm_") and isinstance(result.get("msg"), str):
            # a VM task of the roles: the message names the role's variables, not the module's options
            # (the firewall modules' options, such as datacenter, are not the role's variables there)
            result["msg"] = role_message(result["msg"], role)
        return result

    def _run(self, tmp, task_vars):
        sessions.bind_worker()  # a task of a killed run does not go on (session_reaper.die_with_parent)
        result = super(ModuleAction, self).run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        reason = self._shipping_reason(task_vars)
        host = task_vars.get("inventory_hostname")
        if reason is None:
            display.vvv("vmchannels: running %s inside the Ansible worker" % self._task.action, host=host)
            return merge_hash(result, self._execute_in_process(task_vars))
        display.vvv("vmchannels: running %s as a shipped module (%s)" % (self._task.action, reason), host=host)
        wrap_async = self._task.async_val and not self._connection.has_native_async
        try:
            result = merge_hash(result, self._execute_module(task_vars=task_vars, wrap_async=wrap_async))
        except AnsibleConnectionFailure as exc:
            transport = getattr(self._connection, "transport", None)
            if transport == "local":
                raise
            # from None: the message carries the failure, ansible-core 2.19+ would repeat its cause
            raise AnsibleConnectionFailure(not_delegated_advice(exc, self._task.action, host, transport)) from None
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    # -- the decision ---------------------------------------------------------------------------
    def _setting(self, task_vars, variable, environment):
        """A switch: the task variable wins over the controller's environment variable."""
        if variable in task_vars:
            return self._templar.template(task_vars[variable])
        return os.environ.get(environment)

    def _shipping_reason(self, task_vars):
        """Why the module must be shipped to its interpreter, or ``None`` to run it here."""
        if _switched_off(self._setting(task_vars, _OFF_VARIABLE, _OFF_ENVIRONMENT)):
            return "turned off by %s / %s" % (_OFF_VARIABLE, _OFF_ENVIRONMENT)
        if not TESTED_CORE[0] <= CORE <= TESTED_CORE[1]:
            return "in-process execution is not tested with ansible-core %s" % ansible_core_version
        if self._task.async_val:
            return "async task"
        if self._play_context.become:
            return "become"
        if getattr(self._connection, "transport", None) != "local":
            return "the task runs on another host (connection %s)" % getattr(self._connection, "transport", "?")
        interpreter = self._interpreter(task_vars)
        if interpreter is None:
            return "the interpreter is discovered on the target (set ansible_python_interpreter)"
        if not _same_python(interpreter):
            return "the task's interpreter %s is not the controller's %s" % (interpreter, sys.executable)
        loaded = _modules.get(self.module_name)
        if not hasattr(loaded, "main"):
            return "the module cannot be imported on the controller (%s)" % loaded
        return None

    def _interpreter(self, task_vars):
        """The Python the task's module would run with, as ``_configure_module`` finds it; ``None``
        when it would be discovered."""
        use_vars = task_vars
        if self._task.delegate_to:
            use_vars = (task_vars.get("ansible_delegated_vars") or {}).get(self._task.delegate_to, task_vars)
        configured = C.config.get_config_value("INTERPRETER_PYTHON", variables=use_vars)
        interpreter = str(self._templar.template(configured) or "").strip()
        if not interpreter or interpreter in _AUTO_INTERPRETERS:
            return (use_vars.get("ansible_facts") or {}).get("discovered_interpreter_python")
        return interpreter

    # -- the run --------------------------------------------------------------------------------
    def _execute_in_process(self, task_vars):
        module_args = self._task.args.copy()
        self._update_module_args(self._task.action, module_args, task_vars)
        environment = {}
        self._compute_environment_string(environment)
        shared = None
        if not _switched_off(self._setting(task_vars, _SHARED_VARIABLE, _SHARED_ENVIRONMENT)):
            shared = sessions.store_for_task()
        res = run_main(_modules[self.module_name].main, encode_arguments(module_args), environment, shared)
        return self._decode(res)

    def _decode(self, res):
        """The module's printed result as ``_execute_module`` returns it."""
        if module_internal is None:
            data = self._parse_returned_data(res)
        else:
            data = self._parse_returned_data(res, PROFILE)
        if hasattr(data, "as_result_dict"):  # ansible-core 2.21+: a UnifiedTaskResult
            data.remove_internal_keys()
            return data.as_result_dict(for_round_trip=True)
        data.pop("_ansible_suppress_tmpdir_delete", None)
        remove_internal_keys(data)
        return data
