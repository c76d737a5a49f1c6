# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pyVmomi types the collection's modules use, created once in Ansible's main process.

pyVmomi creates a type on its first use (a lazy type: a class built from its type info). A forked
worker would create each type again for every task; created in the main process before the fork,
they are inherited. :data:`TYPES` lists what a module run creates: the types our code names and
those pyVmomi builds to read the answers (tests/integration/test_in_process.py checks that a run
of every module creates no other).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:
    from pyVmomi import VmomiSupport
except ImportError:  # the modules report a missing pyVmomi themselves
    VmomiSupport = None

TYPES = ()

_created = []


def create():
    """Create every type of :data:`TYPES` (once per process)."""
    if VmomiSupport is None or _created:
        return
    for name in TYPES:
        VmomiSupport.GetVmodlType(name)
    _created.append(True)
