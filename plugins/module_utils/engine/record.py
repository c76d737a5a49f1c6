# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run record of the engine and what a concern must provide.

:class:`VmRun` is one VM of a run, for one VM (vm_serial_port, vm_vmci_filter) as for many
(vm_serial_port_bulk, vm_vmci_filter_bulk): what was asked, read, planned and done. :class:`RunOptions`
says how the run goes. A :class:`Concern` is what a module manages on each VM (the serial ports, the
VMCI firewall): it plans one VM's change from what was read and says how results and diffs show it;
``engine.ensure`` runs any concern the same way.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.vm_config import vm_label


class RunOptions(object):
    """How the run goes: ``timeout`` (seconds per vSphere task), ``parallel`` (reconfigure tasks at
    once), ``allow_power_cycle``, ``max_powered_off`` (VMs down at once), ``check_mode``,
    ``name_hosts`` (name the ESXi host of every VM read, for the bulk modules' ``esxi_host``)."""

    def __init__(self, timeout, parallel=1, allow_power_cycle=False, max_powered_off=1, check_mode=False,
                 name_hosts=False):
        self.timeout = timeout
        self.parallel = parallel
        self.allow_power_cycle = allow_power_cycle
        self.max_powered_off = max_powered_off
        self.check_mode = check_mode
        self.name_hosts = name_hosts


class VmRun(object):
    """One VM of the run: what was asked, what was read and planned, what happened.

    ``plan`` is the concern's plan of the VM (see :class:`Concern`); ``after`` the concern's state
    after the run (predicted in check mode); ``final`` the VM's properties after the change;
    ``applied`` says the change was made (or, in check mode, would be); ``rejected`` that the entry
    itself was refused before any request (its message names it); ``details`` holds the concern's own
    result fields found after the change (the serial ports' ``firewall`` view).
    """

    def __init__(self, entry):
        self.entry = entry
        self.rejected = False
        self.ref = None
        self.props = None  # as read before the change
        self.plan = None
        self.error = None
        self.after = None
        self.final = None
        self.applied = False
        self.power_cycle = None
        self.host = None  # the name of the ESXi host that runs the VM (with name_hosts)
        self.details = {}
        self.warnings = []  # what happened that the user should know (the plan's own are in plan.warnings)

    @property
    def label(self):
        return vm_label(self.props) if self.props is not None else str(requested(self.entry))


def requested(entry):
    """How the user named a VM, for results of VMs that were not found."""
    return dict((k, entry.get(k)) for k in ("name", "uuid", "moid") if entry.get(k))


class Concern(object):
    """What a module manages on each VM. A subclass provides:

    - ``extra_paths`` and ``with_datastores``: what the one read of the VMs adds to ``vm_config.VM_PATHS``;
    - :meth:`plan`: the VM's plan from ``run.props``, an object with ``changes`` (true when the VM must
      change), ``blocked`` (true when the change needs the VM powered off while it runs), ``after``
      (the state after the change), ``warnings`` (a list), ``device_changes()`` (the device specs),
      ``what()`` (the reconfiguration, for messages) and, when it can be ``blocked``, ``change_note()``
      (what was changed, for a VM left powered off). What vSphere would refuse raises
      :class:`VSphereError`, whose ``plan``, when set, is what the VM would need;
    - :meth:`explain`: a refusal of the VM's reconfiguration, reworded for the concern;
    - :meth:`state_after`: the concern's state in the VM's properties read after the change;
    - :meth:`inspect_hosts`: what the concern checks on the hosts of the VMs after the run (the
      serial ports' firewall rule sets, which name the hosts in the same read: ``names_hosts``);
    - :meth:`result_fields`, :meth:`before_fields`: the concern's keys of a VM's result (the latter in
      the bulk modules' ``vms`` only);
    - :meth:`diff`: ``{"before": ..., "after": ...}`` of one VM, as the one-VM module returns it, and
      :meth:`diff_halves`, the same as a bulk diff keys it by VM; ``diff_of_failed`` says whether the
      bulk diff outside check mode shows the VMs that could not be changed.
    """

    extra_paths = ()
    with_datastores = False
    diff_of_failed = False
    names_hosts = False  # inspect_hosts() names the VMs' hosts in its own read

    def plan(self, client, run, allow_power_cycle):
        raise NotImplementedError

    def explain(self, error, run):
        return error

    def state_after(self, props):
        raise NotImplementedError

    def inspect_hosts(self, client, runs, name_hosts):
        """The warnings about the hosts of ``runs`` after the run. A concern that reads the hosts
        anyway names them too (``run.host``, with ``name_hosts``) and sets :attr:`names_hosts`; for
        the others ``engine.ensure`` names them (one request). The default checks nothing."""
        return []

    def result_fields(self, run):
        raise NotImplementedError

    def before_fields(self, run):
        return {}

    def diff(self, run):
        raise NotImplementedError

    def diff_halves(self, run):
        diff = self.diff(run)
        return diff["before"], diff["after"]
