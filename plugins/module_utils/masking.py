# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Credentials inside URIs: never shown.

A URI option may carry a user name and password (``telnet://admin:s3cret@vspc:13370``), although
none of ours takes one. :func:`mask_uri` is what every message, result, diff and warning shows of a
URI: its user info replaced by ``********``. :func:`uri_credentials` collects the user info of the
URIs in a module's parameters, which ``module.build_module`` adds to the values Ansible masks in
everything the module returns (the ``invocation`` shown with ``-vvv`` included). Pure functions.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

MASK = "********"
#: Options whose value is a URI, or a host, that could carry user info without a scheme.
URI_OPTIONS = ("hostname", "proxy_host", "service_uri", "proxy_uri")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def _userinfo_span(text, start):
    """``(begin, end)`` of the user info of the authority that starts at ``start``, or ``None``."""
    end = len(text)
    for stop in "/?#":
        found = text.find(stop, start)
        if found != -1:
            end = min(end, found)
    at = text.rfind("@", start, end)
    return (start, at) if at > start else None


def _spans(text, schemeless):
    spans = []
    for match in _SCHEME.finditer(text):
        span = _userinfo_span(text, match.end())
        if span:
            spans.append(span)
    if not spans and schemeless and "://" not in text:
        span = _userinfo_span(text, 0)
        if span:
            spans.append(span)
    return spans


def mask_uri(text, schemeless=True):
    """``text`` with the user info of every URI in it replaced by ``********``: the form of a URI
    every message and result shows. ``schemeless`` also masks ``user:password@host:port`` without a
    scheme (for a value that is one URI; not for free text, where ``user@example.com`` is not one)."""
    if not isinstance(text, str) or "@" not in text:
        return text
    out = text
    for begin, end in reversed(_spans(text, schemeless)):
        out = out[:begin] + MASK + out[end:]
    return out


def uri_credentials(params, option=None):
    """Every user info (and the password within it) of the URIs in ``params`` (any nesting of dicts
    and lists); the scheme-less form counts only for the values of :data:`URI_OPTIONS`."""
    found = set()
    if isinstance(params, dict):
        for key, value in params.items():
            found |= uri_credentials(value, key)
    elif isinstance(params, (list, tuple)):
        for value in params:
            found |= uri_credentials(value, option)
    elif isinstance(params, str) and "@" in params:
        for begin, end in _spans(params, option in URI_OPTIONS):
            userinfo = params[begin:end]
            found.add(userinfo)
            if ":" in userinfo:
                found.add(userinfo.split(":", 1)[1])
    return set(value for value in found if len(value) >= 3)  # shorter ones would mask words everywhere
