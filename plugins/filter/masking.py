# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Credentials inside URIs, for roles and playbooks: the same functions the modules use
(``plugins/module_utils/vsphere/masking.py``).

``uri_credentials_in`` tells whether a value (serial port entries, the notes of the serial_console
role...) holds a URI with a user name or password; the role then keeps ``-v`` from printing its
internal facts (``no_log``). ``masked_uris`` is a copy with the passwords of the URI options masked.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.masking import carries_credentials, masked


def uri_credentials_in(value):
    return carries_credentials(value)


def masked_uris(value):
    return masked(value)


class FilterModule(object):
    def filters(self):
        return {"uri_credentials_in": uri_credentials_in, "masked_uris": masked_uris}
