# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the roles' registered tasks hold, read back per VM: the one way a bulk run's ``vms`` become
each VM's result (the serial_console role's plan and configuration runs, the vmci_firewall role's
configuration run)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def loop_results(registered):
    """The loop results of a registered task (none for a task that did not run)."""
    return [r for r in ((registered or {}).get("results") or []) if isinstance(r, dict) and "item" in r]


def per_vm(run, hosts, failure="the change failed"):
    """``{host: result}`` for the VMs ``hosts`` a bulk module's run took, in the order of its ``vms``:
    each VM's entry of ``vms``; when the run has no entry for it (the run failed as a whole, or did
    not run), a failure with the run's message (``failure`` when it has none)."""
    run = run or {}
    vms = run.get("vms")
    out = {}
    for index, host in enumerate(hosts):
        if vms is not None and index < len(vms):
            out[host] = vms[index]
        else:
            out[host] = dict(changed=False, failed=True, msg=run.get("msg", failure))
    return out
