# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vSphere session: login, the run's shared session, renewal, logout.

Nothing here knows about ``AnsibleModule``: every failure is raised as :class:`.errors.VSphereError`,
whose message is safe to show (the password is scrubbed from it), and the module layer turns it into
``fail_json``. One client is one session; it can serve any number of objects (bulk runs log in once).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import socket
import ssl
import threading
from contextlib import contextmanager

from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.errors import (
    HAS_PYVMOMI,
    VSphereError,
    ca_bundle_problem,
    fault_text,
    fault_to_error,
)

try:
    from pyVim.connect import SmartStubAdapter
    from pyVmomi import vim, vmodl
except ImportError:  # pragma: no cover - errors.HAS_PYVMOMI reports it
    pass


class VSphereClient(object):
    """One logged-in session on a vCenter Server or ESXi host.

    Use as a context manager (or call :meth:`connect` / :meth:`close`). :attr:`content` is the
    ServiceContent; :attr:`stub` builds managed-object references without a round trip.
    """

    #: A store of sessions shared by the tasks of one Ansible run, or ``None``: a module shipped to
    #: its interpreter logs in and out itself. The controller sets it while it runs a module inside
    #: Ansible's worker (``plugins/plugin_utils/sessions.py``); the store logs the sessions out when
    #: the run ends.
    shared_sessions = None

    def __init__(self, hostname, username, password, port=443, validate_certs=True,
                 proxy_host=None, proxy_port=None, timeout=300):
        self.hostname = hostname
        self.username = username
        self._password = password
        self.port = port
        self.validate_certs = validate_certs
        self.proxy_host = proxy_host
        self.proxy_port = proxy_port
        self.timeout = timeout
        self.si = None
        self.content = None
        self._logged_in = False
        self._shared = None  # the shared-session entry this client uses, when it uses one
        self._reused = False  # the session came from the store (it may have ended meanwhile)
        self._collector = None  # the private PropertyCollector of a shared session
        self._collector_generation = 0
        #: Bumped each time the shared session is renewed: objects the old session created (a
        #: private PropertyCollector and its filters) are gone with it.
        self.session_generation = 0

    # -- session ------------------------------------------------------------------------------
    def _ssl_context(self):
        if not self.validate_certs:
            return None
        cafile = os.environ.get("REQUESTS_CA_BUNDLE") or None
        return ssl.create_default_context(cafile=cafile)

    def http_ssl_context(self):
        """The TLS context for other HTTPS requests to the same server (datastore file access):
        verified like the SOAP connection (``REQUESTS_CA_BUNDLE``), or not at all with
        ``validate_certs`` false."""
        if self.validate_certs:
            return self._ssl_context()
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context

    def _where(self):
        return "%s:%s" % (self.hostname, self.port)

    #: How the run gave each connection option (``options.connection_sources``: the option's
    #: name, its ``VMWARE_*`` variable, or ``None`` for a default), so that messages name what the
    #: user wrote; ``None`` when unknown (messages then name both).
    option_sources = None

    def _named(self, option, variable):
        """``option`` as the run gave it: the option, its variable, or both when unknown."""
        if self.option_sources is None:
            return "%s (%s)" % (option, variable)
        source = self.option_sources.get(option)
        if source is None and option.endswith("port"):
            return "%s (not set, so %s)" % (option, (self.proxy_port or 80) if option == "proxy_port" else self.port)
        return source or option

    def _unreachable(self, exc):
        """The message for a connection that could not be made: to vSphere, or to the HTTP proxy."""
        reason = self.scrub(getattr(exc, "strerror", None) or exc)
        if not self.proxy_host:
            return ("Cannot reach %s: %s. Check %s and %s and that the vSphere API answers there."
                    % (self._where(), reason, self._named("hostname", "VMWARE_HOST"),
                       self._named("port", "VMWARE_PORT")))
        proxy = "%s:%s" % (self.proxy_host, self.proxy_port or 80)
        if "Tunnel connection failed" in str(exc):
            return ("The HTTP proxy %s refused to connect to %s (%s). Check that the proxy allows HTTPS (CONNECT) "
                    "to that host and port, or leave %s unset to connect directly."
                    % (proxy, self._where(), reason, self._named("proxy_host", "VMWARE_PROXY_HOST")))
        return ("Cannot reach the HTTP proxy %s: %s. Check %s and %s and that the proxy answers there."
                % (proxy, reason, self._named("proxy_host", "VMWARE_PROXY_HOST"),
                   self._named("proxy_port", "VMWARE_PROXY_PORT")))

    def _certs_off(self):
        """How to turn certificate validation off, in the form the run gives it."""
        if (self.option_sources or {}).get("validate_certs") == "VMWARE_VALIDATE_CERTS":
            return "VMWARE_VALIDATE_CERTS=false"
        if (self.option_sources or {}).get("validate_certs") == "validate_certs":
            return "validate_certs: false"
        return "validate_certs: false (VMWARE_VALIDATE_CERTS=false)"

    def scrub(self, text):
        """Remove the password from ``text`` (belt and braces: no message should contain it)."""
        text = str(text)
        if self._password and len(self._password) >= 3:
            text = text.replace(self._password, "********")
        return text

    def _open(self, read_content=True):
        """The stub and the ServiceContent: SmartStubAdapter negotiates the API version over plain
        HTTP GETs, then one request, RetrieveServiceContent. (SmartConnect would read the content a
        second time when it is first used.)"""
        kwargs = dict(
            host=self.hostname, port=self.port, httpConnectionTimeout=self.timeout, connectionPoolTimeout=-1,
        )
        if self.validate_certs:
            kwargs["sslContext"] = self._ssl_context()
        else:
            kwargs["disableSslCertValidation"] = True
        if self.proxy_host:
            kwargs["httpProxyHost"] = self.proxy_host
            kwargs["httpProxyPort"] = self.proxy_port or 80
        stub = SmartStubAdapter(**kwargs)
        self.si = vim.ServiceInstance("ServiceInstance", stub)
        if read_content:
            self.content = self.si.RetrieveContent()

    def _login(self):
        """Log in on the open stub (one request); returns the session cookie. A refusal is a
        :class:`VSphereError` (kind ``login`` when the account itself was refused)."""
        with self._translated_login_errors():
            self.content.sessionManager.Login(self.username, self._password, None)
        self._logged_in = True
        return self.stub.cookie

    def connect(self):
        """Open the session: a login of its own, or the run's shared session (see :attr:`shared_sessions`)."""
        if not HAS_PYVMOMI:
            raise VSphereError("The Python library pyVmomi is required: pip install pyVmomi", kind="dependency")
        if not self.hostname:
            raise VSphereError("%s is empty: set the hostname option or the VMWARE_HOST environment variable."
                               % self._named("hostname", "VMWARE_HOST"), kind="invalid")
        bundle_problem = ca_bundle_problem() if self.validate_certs else None
        if bundle_problem:
            raise VSphereError("Not connecting to %s: %s" % (self._where(), bundle_problem), kind="tls")
        with self._translated_login_errors():
            self._open()
            if self.shared_sessions is None:
                self._login()
            else:
                self._join_shared_session()
        return self

    def _join_shared_session(self):
        """Use the session the run's earlier tasks opened, or log in and offer it to the later ones.

        A shared session may have been ended by vCenter since (idle timeout, restart, an
        administrator): the first request it refuses with ``NotAuthenticated`` is sent again after a
        new login, which replaces the stored one. A refused request changed nothing, so resending it
        is safe.
        """
        self._shared = self.shared_sessions.entry(
            hostname=self.hostname, port=self.port, username=self.username, password=self._password,
            validate_certs=self.validate_certs, proxy_host=self.proxy_host, proxy_port=self.proxy_port,
            session_manager=self.content.sessionManager._moId,
        )
        cookie, self._reused = self._shared.checkout(self._login)
        stub = self.stub
        if self._reused:
            stub.cookie = cookie
        invoke = stub.InvokeMethod
        renewing = threading.RLock()
        local = threading.local()

        def invoke_renewing(mo, info, args):
            sent_with = stub.cookie
            try:
                return invoke(mo, info, args)
            except vim.fault.NotAuthenticated:
                # A request of the renewal itself (its Login) refused NotAuthenticated: no renewal
                # within a renewal; the refusal is the answer.
                if getattr(local, "renewing", False):
                    raise
                # Requests sent at once from several threads (a bulk wave's starts) are refused
                # together: the first renews the session, the others resend with its cookie.
                with renewing:
                    if stub.cookie == sent_with:
                        if not self._reused:
                            raise
                        self._reused = False
                        local.renewing = True
                        try:
                            stub.cookie = self._shared.renew(sent_with, self._login)
                        finally:
                            local.renewing = False
                        self.session_generation += 1
                return invoke(mo, info, args)

        stub.InvokeMethod = invoke_renewing

    def renew_ended_session(self, refused_cookie):
        """After an HTTP request outside the SOAP API (datastore file access) was refused with 401
        while sent with ``refused_cookie``: whether the request may be sent again.

        vCenter answers 401 both for an ended session and for a user who lacks the privileges, so
        the session is asked (one request, ``SessionManager.currentSession``). A session that ended
        is replaced by a new login (the run's shared one through the store, like a refused SOAP
        request); a live session means the refusal is about privileges: ``False``."""
        try:
            current = self.content.sessionManager.currentSession
        except vim.fault.NotAuthenticated:
            current = None
        except vmodl.MethodFault as fault:
            raise fault_to_error(fault, "checking the session")
        if self.stub.cookie != refused_cookie:
            return True  # renewed meanwhile (a shared session renewed by the read above)
        if current is not None:
            return False
        with self._translated_login_errors():
            if self._shared is not None:
                self._reused = False
                self.stub.cookie = self._shared.renew(refused_cookie, self._login)
            else:
                self._login()
        return True

    @contextmanager
    def _translated_login_errors(self):
        """Every failure of opening a session as one :class:`VSphereError` with a clear message."""
        try:
            yield
        except vim.fault.PasswordExpired:
            raise VSphereError(
                "Cannot log in to %s as %s: the password has expired (PasswordExpired). Change it (vSphere "
                "Client or the SSO administration), then update %s."
                % (self._where(), self.username, self._named("password", "VMWARE_PASSWORD")), kind="login",
            )
        except vim.fault.InvalidLogin:
            raise VSphereError(
                "Cannot log in to %s as %s: the user name or password is incorrect (or the account is "
                "locked or expired). Check %s and %s." % (self._where(), self.username,
                                                          self._named("username", "VMWARE_USER"),
                                                          self._named("password", "VMWARE_PASSWORD")), kind="login",
            )
        except vim.fault.NoPermission as fault:
            raise fault_to_error(fault, "logging in to %s as %s" % (self._where(), self.username))
        except ssl.SSLCertVerificationError as exc:
            raise VSphereError(
                "The TLS certificate of %s could not be verified (%s). Trust its certificate "
                "authority by pointing REQUESTS_CA_BUNDLE (or SSL_CERT_FILE) at a PEM bundle, or set "
                "%s for a test system."
                % (self._where(), getattr(exc, "verify_message", None) or exc.reason, self._certs_off()), kind="tls",
            )
        except ssl.SSLError as exc:
            raise VSphereError("TLS handshake with %s failed: %s" % (self._where(), exc), kind="tls")
        except (socket.timeout, TimeoutError):
            raise VSphereError(
                "Connecting to %s%s timed out after %s seconds." % (
                    self._where(), " through the HTTP proxy %s:%s" % (self.proxy_host, self.proxy_port or 80)
                    if self.proxy_host else "", self.timeout),
                kind="connection",
            )
        except (socket.gaierror, ConnectionError, OSError) as exc:
            raise VSphereError(self._unreachable(exc), kind="connection")
        except vmodl.MethodFault as fault:
            raise VSphereError(
                "Cannot log in to %s: %s" % (self._where(), self.scrub(fault_text(fault))), kind="login",
                fault=fault,
            )
        except VSphereError:
            raise
        except Exception as exc:  # pyVmomi raises bare Exceptions for non-vSphere endpoints
            raise VSphereError(
                "Cannot connect to %s: %s" % (self._where(), self.scrub(exc)), kind="connection",
            )

    def recall(self, name):
        """What an earlier task of the run remembered on this shared session under ``name``
        (:meth:`remember`); ``None`` without a shared session or when nothing was remembered."""
        return self._shared.recall(name) if self._shared is not None else None

    def remember(self, name, value):
        """Keep ``value`` (JSON data, never a secret) for the run's later tasks on this shared
        session; nothing without one (a shipped module keeps nothing beyond its task)."""
        if self._shared is not None:
            self._shared.remember(name, value)

    def wait_collector(self):
        """The PropertyCollector to wait for updates on (``WaitForUpdatesEx``).

        A session of its own waits on the session's collector. A shared session may serve other
        tasks waiting at the same time: each client then waits on a private collector (created on
        first use, destroyed by :meth:`close`), so no waiter sees, or consumes, another's updates.
        """
        if self._shared is None:
            return self.content.propertyCollector
        if self._collector is not None and self._collector_generation != self.session_generation:
            self._collector = None  # it belonged to a session that has ended: gone with it
        if self._collector is None:
            self._collector_generation = self.session_generation
            try:
                self._collector = self.content.propertyCollector.CreatePropertyCollector()
            except vmodl.MethodFault as fault:
                raise fault_to_error(fault, "creating a property collector")
        return self._collector

    def close(self):
        """End this client's use of the session: log out of a session of its own; of a shared one,
        only destroy the private collector (the run logs the session out when it ends)."""
        if self.si is None:
            return
        try:
            if self._collector is not None:
                self._collector.DestroyPropertyCollector()
            elif self._shared is None and self._logged_in:
                # Logout through the content read at login: pyVim's Disconnect() would first fetch
                # the ServiceContent again (one more request per run).
                self.content.sessionManager.Logout()
        except Exception:  # the session may already be gone; this is best effort
            pass
        finally:
            try:
                self.si._stub.DropConnections()
            except Exception:
                pass
        self.si = None
        self.content = None
        self._collector = None
        self._logged_in = False

    def end_session(self, cookie, session_manager):
        """Log out the session ``cookie`` (a shared session, at the end of the run that opened it):
        one request, to the SessionManager whose moid the login saw."""
        try:
            with self._translated_login_errors():
                self._open(read_content=False)
                self.stub.cookie = cookie
                vim.SessionManager(session_manager, self.stub).Logout()
        finally:
            self.close()

    def __enter__(self):
        return self.connect()

    def __exit__(self, *exc_info):
        self.close()

    # -- helpers ------------------------------------------------------------------------------
    @property
    def stub(self):
        return self.si._stub

    def ref(self, vim_type, moid):
        """A managed-object reference built locally: no round trip, existence checked on first read."""
        return vim_type(moid, self.stub)

    @property
    def is_vcenter(self):
        return self.content.about.apiType == "VirtualCenter"
