# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bridge between ``AnsibleModule`` and the client layer.

:func:`run` builds the module with the connection options, opens one session, calls the module's
logic and turns every :class:`VSphereError` into ``fail_json`` with a clean message: no traceback,
no password. The session is logged out whatever happens.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib, remove_values
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.client import VSphereClient
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.errors import (
    CONNECTION_ERRORS,
    HAS_PYVMOMI,
    PYVMOMI_IMPORT_ERROR,
    VSphereError,
    lost_connection_error,
)
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.masking import uri_credentials
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.options import (
    base_argument_spec,
    connection_errors,
    connection_sources,
)


class _Module(AnsibleModule):
    """``AnsibleModule`` that adds the credentials inside URI options (``masking.uri_credentials``) to
    the values it removes from what it returns and logs, also when it fails while it is being built
    (a wrong type or an unknown option: its result still carries the ``invocation`` shown with -vvv);
    and that remembers which options the task itself gave (before the ``VMWARE_*`` fallbacks and the
    defaults fill in the others), for messages that name them."""

    task_options = frozenset()

    def _load_params(self):
        super(_Module, self)._load_params()
        self.task_options = frozenset(self.params or ())

    def _no_log_uri_credentials(self):
        self.no_log_values.update(uri_credentials(getattr(self, "params", None) or {}))

    def exit_json(self, **kwargs):
        self._no_log_uri_credentials()
        super(_Module, self).exit_json(**kwargs)

    def fail_json(self, *args, **kwargs):
        self._no_log_uri_credentials()
        super(_Module, self).fail_json(*args, **kwargs)

    def log(self, msg, log_args=None):
        self._no_log_uri_credentials()
        if log_args:
            log_args = remove_values(log_args, self.no_log_values)
        super(_Module, self).log(msg, log_args=log_args)


def build_module(argument_spec, **kwargs):
    """An ``AnsibleModule`` with the connection options added to ``argument_spec``. Credentials
    inside URI options are masked in everything the module returns, like the password."""
    spec = base_argument_spec()
    spec.update(argument_spec)
    module = _Module(argument_spec=spec, **kwargs)
    module._no_log_uri_credentials()
    module.connection_sources = connection_sources(module.task_options, os.environ)
    return module


def fail_on_errors(module, errors):
    """Fail before the first request when validation found problems (one message, all of them)."""
    if errors:
        module.fail_json(msg="Invalid options: " + "; ".join(errors), errors=errors)


def client_from_params(params, sources=None):
    client = VSphereClient(
        hostname=params["hostname"], username=params["username"], password=params["password"],
        port=params["port"], validate_certs=params["validate_certs"], proxy_host=params.get("proxy_host"),
        proxy_port=params.get("proxy_port"), timeout=params.get("timeout") or 300,
    )
    client.option_sources = sources
    return client


def run(module, logic, connect=True):
    """Run ``logic(module, client)``, which returns the result dict, and exit the module with it.

    ``connect=False`` says the logic will send no request (a bulk run whose every entry was refused
    before any request): the client is not connected, so nothing is asked of vSphere at all."""
    if not HAS_PYVMOMI:
        module.fail_json(msg=missing_required_lib("pyVmomi"), exception=str(PYVMOMI_IMPORT_ERROR))
    sources = getattr(module, "connection_sources", None)
    fail_on_errors(module, connection_errors(module.params, sources))
    client = client_from_params(module.params, sources)
    result = None
    try:
        if connect:
            client.connect()
        result = logic(module, client)
    except VSphereError as exc:
        client.close()
        failure = dict(msg=client.scrub(exc.msg), error_kind=exc.kind)
        failure.update(getattr(exc, "result", None) or {})
        module.fail_json(**failure)
    except CONNECTION_ERRORS as exc:
        # The connection died or stalled after login: a clear message instead of a traceback.
        client.close()
        error = lost_connection_error(client, exc)
        module.fail_json(msg=error.msg, error_kind=error.kind)
    finally:
        client.close()
    module.exit_json(**result)
