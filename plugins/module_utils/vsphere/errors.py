# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's one error type and the translation of vSphere faults into it.

Every failure of the client layer and above is a :class:`VSphereError` with a ``kind`` and a message
that names the object and what to do; :func:`fault_to_error` words a vSphere fault,
:func:`lost_connection_error` a request that got no answer, :func:`ca_bundle_problem` a CA bundle that
cannot be used. Nothing here knows ``AnsibleModule`` or a session.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import http.client
import os
import socket
import ssl

try:
    from pyVmomi import vim, vmodl

    HAS_PYVMOMI = True
    PYVMOMI_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - exercised where pyVmomi is missing
    HAS_PYVMOMI = False
    PYVMOMI_IMPORT_ERROR = exc


class VSphereError(Exception):
    """The one error type of the collection's client layer.

    ``kind`` says what went wrong (``login``, ``connection``, ``tls``, ``permission``, ``not_found``,
    ``task``, ``timeout``, ``concurrent``, ``invalid``, ``fault``) so callers can react to a class of
    failure without parsing messages. ``fault`` keeps the original vSphere fault when there was one.
    """

    def __init__(self, msg, kind="fault", fault=None):
        super(VSphereError, self).__init__(msg)
        self.msg = msg
        self.kind = kind
        self.fault = fault

    def __str__(self):
        return self.msg


def fault_text(fault):
    """The most useful human text of a vSphere/vmodl fault."""
    msg = getattr(fault, "msg", None)
    if not msg:
        messages = [m.message for m in (getattr(fault, "faultMessage", None) or []) if getattr(m, "message", None)]
        msg = "; ".join(messages)
    name = type(fault).__name__
    if hasattr(fault, "_wsdlName"):
        name = fault._wsdlName
    return "%s: %s" % (name, msg) if msg else name


def _permission_text(fault):
    """Which privilege is missing on which object, as vSphere reported it."""
    privilege = getattr(fault, "privilegeId", None)
    obj = getattr(fault, "object", None)
    parts = []
    if privilege:
        parts.append("privilege %s" % privilege)
    if obj is not None:
        parts.append("on %s" % getattr(obj, "_moId", obj))
    return " ".join(parts) or fault_text(fault)


#: What a request raises when the connection dies or stalls after login (vCenter restarted, network
#: cut, proxy timeout): not a vSphere fault, no answer at all.
CONNECTION_ERRORS = (socket.timeout, OSError, http.client.HTTPException)


def lost_connection_error(client, exc, note=""):
    """The :class:`VSphereError` for a request that got no answer (one of :data:`CONNECTION_ERRORS`);
    ``note`` says what the run did about it (for example that a VM was powered back on)."""
    timed_out = isinstance(exc, socket.timeout)
    return VSphereError(client.scrub(
        "%s %s:%s during the run (%s). A change that was being sent may or may not have been applied: "
        "run the task again (it changes only what still differs), or check the object in the vSphere Client.%s"
        % ("No answer within %s seconds (timeout) from" % client.timeout if timed_out else "Lost the connection to",
           client.hostname, client.port, exc or type(exc).__name__, (" " + note) if note else "")),
        kind="timeout" if timed_out else "connection")


def fault_to_error(fault, what):
    """Translate a vSphere fault raised while doing ``what`` into a :class:`VSphereError`."""
    if HAS_PYVMOMI:
        if isinstance(fault, vim.fault.NotAuthenticated):  # a NoPermission, but not a missing privilege
            return VSphereError(
                "The vSphere session ended while %s (NotAuthenticated): it expired, or an administrator or a "
                "restart of the server ended it. Run the task again to log in anew." % what,
                kind="login", fault=fault,
            )
        if isinstance(fault, vim.fault.NoPermission):
            return VSphereError(
                "Permission denied while %s: the user lacks %s. Grant the privilege to the user's role "
                "on that object." % (what, _permission_text(fault)),
                kind="permission", fault=fault,
            )
        if isinstance(fault, vim.fault.ConcurrentAccess):
            return VSphereError(
                "%s was refused because the object was changed by someone else meanwhile "
                "(ConcurrentAccess); read it again and retry." % (what[:1].upper() + what[1:]),
                kind="concurrent", fault=fault,
            )
        if isinstance(fault, vmodl.fault.ManagedObjectNotFound):
            return VSphereError(
                "The object %s no longer exists (ManagedObjectNotFound) while %s."
                % (getattr(getattr(fault, "obj", None), "_moId", "?"), what),
                kind="not_found", fault=fault,
            )
    return VSphereError("vSphere refused %s: %s" % (what, fault_text(fault)), kind="fault", fault=fault)


def ca_bundle_problem():
    """What is wrong with the CA bundle that validating certificates would use, or ``None``:
    ``REQUESTS_CA_BUNDLE`` when set, else ``SSL_CERT_FILE`` (which OpenSSL would silently ignore).
    Checked before connecting, so a bad bundle is named instead of failing the handshake."""
    variable = "REQUESTS_CA_BUNDLE" if os.environ.get("REQUESTS_CA_BUNDLE") else "SSL_CERT_FILE"
    path = os.environ.get(variable)
    if not path:
        return None
    problem = None
    if not os.path.exists(path):
        problem = "which does not exist"
    elif os.path.isdir(path):
        problem = "which is a directory, not a file"
    else:
        try:
            ssl.create_default_context(cafile=path)
        except ssl.SSLError as exc:
            problem = "which holds no PEM certificate OpenSSL can load (%s)" % (getattr(exc, "reason", None) or exc)
        except OSError as exc:
            problem = "which cannot be read (%s)" % (exc.strerror or exc)
    if problem is None:
        return None
    return ("%s is set to %s, %s. Point it at a file of PEM certificates of the certificate authorities to trust, "
            "unset it to use the system's, or set validate_certs: false (VMWARE_VALIDATE_CERTS=false) for a test "
            "system." % (variable, path, problem))
