# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Documents exactly plugins/module_utils/vsphere/options.py:vm_identity_argument_spec().
    DOCUMENTATION = r"""
options:
  name:
    description:
      - The name of the virtual machine, as shown in the vSphere Client.
      - When several VMs share the name, narrow the search with O(datacenter) and O(folder); the
        error lists the folders of the candidates.
      - Exactly one of O(name), O(uuid) and O(moid) is required.
    type: str
  uuid:
    description:
      - The BIOS UUID (C(config.uuid)) or the instance UUID (C(config.instanceUuid)) of the VM.
      - Looked up through the vSphere search index, so the cost does not grow with the inventory.
    type: str
  moid:
    description:
      - The managed object ID of the VM, for example V(vm-42). The cheapest way to name a VM.
    type: str
  datacenter:
    description:
      - With O(name), only search this datacenter.
    type: str
  folder:
    description:
      - With O(name), only match a VM directly in this VM folder.
      - Either the full inventory path (V(/DC1/vm/prod/web)) or the path below the datacenter's
        VM folder (V(prod/web)).
    type: str
"""
