# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Credentials inside URIs: never shown, whatever their characters.

A URI option may carry a user name and password (``telnet://admin:s3cret@vspc:13370``, or through a
vSPC a service URI such as ``ops:Se/cret@name``). Everything the collection shows of such a value
goes through this module:

- :func:`mask_uri` is the form of a URI every message, result, diff, warning and audit report
  shows: the password replaced by ``********`` (``tcp://ops:********@host:7001``), or the whole
  user info when it has no ``:`` (a token: ``********@port-1``).
- :func:`masked` applies it to the URI options (:data:`URI_OPTIONS`) of any nesting of dicts and
  lists (a backing, a port, a diff, an audit record).
- :func:`masked_change` is a URI in the "after" half of a diff: marked when only its credentials
  changed, so that the change shows (in ``--diff`` and as drift in the audit).
- :func:`uri_credentials` collects what :func:`mask_uri` hides of the URIs in a module's
  parameters; ``ansible_module.build_module`` adds it to the values Ansible removes from everything the
  module returns and logs (the ``invocation`` shown with ``-vvv`` included).
- :func:`carries_credentials` tells whether a value holds such a URI (for roles: filter
  ``uri_credentials_in``).

Where the user info ends: a password may hold ``/``, ``?``, ``#``, ``@``, ``:``, ``%`` or spaces,
and then the strict parse of RFC 3986 (the authority ends at the first ``/``, ``?`` or ``#``, as
``urlsplit`` does) shows part of it. Here the user info of a value that is one URI runs from after
``SCHEME://`` (or from the start, without a scheme) to the **last** ``@`` of the value: a password
is never cut, at the price of masking too much when an ``@`` appears only after the host (a query
or ``#`` option such as ``#peerName=a@b`` is then shown masked). Before the user info's first
``:`` is the user name, shown; after it, the password. In free text (``schemeless=False``) only
``SCHEME://`` starts a URI, and it ends at the next white space. Pure functions.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

MASK = "********"
#: What the "after" half of a diff adds to a URI whose credentials alone changed (:func:`masked_change`).
CHANGED = " (credentials changed)"
#: Options whose value is a URI, or a host, that could carry user info without a scheme.
URI_OPTIONS = ("hostname", "proxy_host", "service_uri", "proxy_uri")
#: Shorter user infos and passwords are not added to what Ansible masks: they would mask words everywhere.
MIN_SECRET = 3
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_WHITE = re.compile(r"\s")


def _last_at(text, start, end):
    """``(start, at)``: the user info ``text[start:at]`` of the authority starting at ``start``,
    the URI ending at ``end``; ``None`` when there is none (no ``@``, or nothing before it)."""
    at = text.rfind("@", start, end)
    return (start, at) if at > start else None


def userinfo_spans(text, schemeless=True):
    """``(begin, end)`` of the user info of every URI in ``text`` (see the module's description).
    ``schemeless``: ``text`` is one URI, with or without ``SCHEME://``; otherwise free text."""
    if not isinstance(text, str) or "@" not in text:
        return []
    if schemeless:
        scheme = _SCHEME.match(text)
        span = _last_at(text, scheme.end() if scheme else 0, len(text))
        return [span] if span else []
    spans = []
    pos = 0
    while True:
        scheme = _SCHEME.search(text, pos)
        if not scheme:
            return spans
        white = _WHITE.search(text, scheme.end())
        end = white.start() if white else len(text)
        span = _last_at(text, scheme.end(), end)
        if span:
            spans.append(span)
        pos = end


def _shown(userinfo):
    user, colon, _password = userinfo.partition(":")
    return user + ":" + MASK if colon else MASK


def mask_uri(text, schemeless=True):
    """``text`` with the password of every URI in it replaced by ``********`` (the whole user info
    when it has no ``:``): the form of a URI every message and result shows. ``schemeless`` also masks
    ``user:password@host:port`` without a scheme (for a value that is one URI; not for free text,
    where ``user@example.com`` is not one)."""
    out = text
    for begin, end in reversed(userinfo_spans(text, schemeless)):
        out = out[:begin] + _shown(text[begin:end]) + out[end:]
    return out


def host_of(uri):
    """The host (and port) of a URI, without scheme, user info and path: what a message may suggest
    instead of it. The path starts at the first ``/`` after the user info."""
    spans = userinfo_spans(uri)
    rest = uri[spans[0][1] + 1:] if spans else uri.split("://", 1)[-1]
    return rest.split("/", 1)[0]


def masked_change(old, new):
    """``new`` masked, as the "after" half of a diff shows it next to ``old``: marked
    ``(credentials changed)`` when only the masked part differs, which would otherwise look unchanged."""
    shown = mask_uri(new)
    if old != new and isinstance(new, str) and mask_uri(old) == shown:
        return shown + CHANGED
    return shown


def masked(value, option=None):
    """A copy of ``value`` (any nesting of dicts and lists) with the URI options
    (:data:`URI_OPTIONS`) masked by :func:`mask_uri`; everything else as it is."""
    if isinstance(value, dict):
        return dict((key, masked(item, key)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return [masked(item, option) for item in value]
    if option in URI_OPTIONS and isinstance(value, str):
        return mask_uri(value)
    return value


def carries_credentials(value, option=None):
    """Whether a URI in ``value`` (any nesting of dicts and lists) has a user info: the scheme-less
    form counts for the values of :data:`URI_OPTIONS`, ``SCHEME://`` URIs anywhere."""
    if isinstance(value, dict):
        return any(carries_credentials(item, key) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return any(carries_credentials(item, option) for item in value)
    return bool(userinfo_spans(value, option in URI_OPTIONS))


def uri_credentials(params, option=None):
    """The secret of every URI in ``params`` (any nesting of dicts and lists), what :func:`mask_uri`
    hides: the password, or the whole user info when it has no ``:`` or its password is too short to
    be masked alone (:data:`MIN_SECRET`). The scheme-less form counts only for the values of
    :data:`URI_OPTIONS`. Ansible then shows ``tcp://ops:********@host`` in the ``invocation`` too."""
    found = set()
    if isinstance(params, dict):
        for key, value in params.items():
            found |= uri_credentials(value, key)
    elif isinstance(params, (list, tuple)):
        for value in params:
            found |= uri_credentials(value, option)
    elif isinstance(params, str):
        for begin, end in userinfo_spans(params, option in URI_OPTIONS):
            userinfo = params[begin:end]
            password = userinfo.partition(":")[2]
            found.add(password if len(password) >= MIN_SECRET else userinfo)
    return set(value for value in found if len(value) >= MIN_SECRET)
