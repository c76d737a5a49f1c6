# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument specs shared by every module of the collection.

``base_argument_spec()`` is documented by the ``vmchannels.vsphere.base_options`` doc fragment and
``vm_identity_argument_spec()`` by ``vmchannels.vsphere.vm_identity``: change them together.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import env_fallback


def base_argument_spec():
    """Connection options, with the VMWARE_* environment fallbacks of the other VMware collections."""
    return dict(
        hostname=dict(type="str", required=True, fallback=(env_fallback, ["VMWARE_HOST"])),
        username=dict(
            type="str", required=True, aliases=["user", "admin"], fallback=(env_fallback, ["VMWARE_USER"])
        ),
        password=dict(
            type="str", required=True, no_log=True, aliases=["pass", "pwd"],
            fallback=(env_fallback, ["VMWARE_PASSWORD"]),
        ),
        port=dict(type="int", default=443, fallback=(env_fallback, ["VMWARE_PORT"])),
        validate_certs=dict(type="bool", default=True, fallback=(env_fallback, ["VMWARE_VALIDATE_CERTS"])),
        proxy_host=dict(type="str", fallback=(env_fallback, ["VMWARE_PROXY_HOST"])),
        proxy_port=dict(type="int", fallback=(env_fallback, ["VMWARE_PROXY_PORT"])),
        timeout=dict(type="int", default=300),
    )


def vm_identity_argument_spec():
    """How a module names one virtual machine: name (narrowed by datacenter and folder), uuid or moid."""
    return dict(
        name=dict(type="str"),
        uuid=dict(type="str"),
        moid=dict(type="str"),
        datacenter=dict(type="str"),
        folder=dict(type="str"),
    )


VM_IDENTITY_MODULE_KWARGS = dict(
    required_one_of=[("name", "uuid", "moid")],
    mutually_exclusive=[("name", "uuid", "moid")],
)
