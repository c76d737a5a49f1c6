# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Attributes shared by every module: all of them belong to the vsphere action group.
    DOCUMENTATION = r"""
attributes:
  action_group:
    description: Use C(group/vmchannels.vsphere.vsphere) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - vmchannels.vsphere.vsphere
"""

    # For modules that change things.
    ACTIONS = r"""
attributes:
  check_mode:
    description: Computes and reports the change without making it.
    support: full
  diff_mode:
    description: Returns the state before and after the change as C(diff).
    support: full
"""

    # For info modules.
    INFO_MODULE = r"""
attributes:
  check_mode:
    description: Reads only; it runs the same in check mode.
    support: full
  diff_mode:
    description: Reads only; there is never a diff.
    support: N/A
"""
