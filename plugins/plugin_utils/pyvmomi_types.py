# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pyVmomi types the collection's modules use, created once in Ansible's main process.

pyVmomi creates a type on its first use (a lazy type: a class built from its type info). A forked
worker would create each type again for every task; created in the main process before the fork,
they are inherited. :func:`names` lists them: every managed-object type (the references a read
returns: VMs, hosts, folders, tasks, the service content's managers), the data types of the
subtrees the modules read and write (VM configuration and devices, the property collector, host
firewall rule sets, task info, options), and the few others a VM or inventory read returns.
tests/integration/execution/test_in_process.py checks that a run of every module creates no other type.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:
    from pyVmomi import VmomiSupport
except ImportError:  # the modules report a missing pyVmomi themselves
    VmomiSupport = None

SUBTREES = (
    "vim.vm.", "vmodl.query.", "vim.host.Firewall", "vim.host.Ruleset", "vim.TaskInfo", "vim.option.",
)
OTHERS = (
    "vim.AboutInfo", "vim.ClusterComputeResource.Summary", "vim.ComputeResource.Summary", "vim.Description",
    "vim.ElementDescription", "vim.HostSystem.ConnectionState", "vim.LatencySensitivity",
    "vim.ResourceAllocationInfo", "vim.ResourceConfigOption", "vim.ResourcePool.Summary",
    "vim.ServiceInstanceContent", "vim.SharesInfo", "vim.StorageResourceManager.IOAllocationInfo", "vim.TagSpec",
    "vim.UserSession", "vim.VirtualApp.Summary", "vim.VirtualMachine.PowerState", "vim.dvs.PortConnection",
    "vim.encryption.CryptoKeyId", "vim.encryption.CryptoSpec", "vim.ext.ManagedByInfo", "vim.vApp.VmConfigSpec",
    "vim.vslm.ID", "vmodl.DynamicProperty",
)

_created = []


def names():
    """The vmodl names of the types to create (about 800 of pyVmomi's 4,800)."""
    # the type definitions pyVmomi registered at import (ListDataTypes() and friends exist only
    # from pyVmomi 8.0.2 on)
    managed = list(VmomiSupport._managedDefMap)
    data = list(VmomiSupport._dataDefMap) + list(VmomiSupport._enumDefMap)
    return managed + [n for n in data if n.startswith(SUBTREES)] + [n for n in OTHERS if n in data or n in managed]


def create():
    """Create the types of :func:`names` (once per process; ~0.1 s)."""
    if VmomiSupport is None or _created:
        return
    for name in names():
        VmomiSupport.GetVmodlType(name)
    _created.append(True)
