# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs the vm_serial_port_log module inside Ansible's worker when its task runs on the controller
(plugins/plugin_utils/in_process.py); ships it to its interpreter otherwise."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmchannels.vsphere.plugins.plugin_utils.in_process import ModuleAction


class ActionModule(ModuleAction):
    pass
