# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The decisions of the serial_console role (``roles/serial_console/tasks/main.yml``), in the order
its steps take them; the role's tasks only call the modules and hand these results around:

1. :func:`note`: what one VM asks for, from its ``serial_console_*`` variables (per VM);
2. :func:`outcome`: once the VMs are planned (``vm_serial_port_bulk`` in check mode, one run per plan
   group), which VMs fail, untouched, which rule sets the others need on which host, and which VMs
   of bulk mode the configuration run changes;
3. :func:`datacenters` (the hosts of which datacenters to read for cluster scope) and
   :func:`firewall_calls`: which rule sets to enable on which ESXi hosts, as calls of
   ``esxi_serial_firewall_ruleset`` (hosts already enabled are left out, hosts that need the same
   rule sets in the same datacenter share one call);
4. :func:`results`: every VM's outcome for the report task, with the configuration run's result for
   the VMs of bulk mode.

The rule set a network-backed port needs is ``serial_ports.ports.needed_ruleset``, the modules' own.
Messages name the role's variables (``variables.role_message``). Everything takes and returns plain
data (the modules' registered results as Ansible gives them).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmchannels.vsphere.plugins.module_utils.serial_ports.ports import needed_ruleset
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.options import VM_IDENTITY_OPTIONS
from ansible_collections.vmchannels.vsphere.plugins.plugin_utils.roles.registered import loop_results, per_vm
from ansible_collections.vmchannels.vsphere.plugins.plugin_utils.roles.variables import role_message
from ansible_collections.vmchannels.vsphere.plugins.plugin_utils.roles.wanted import (
    flag,
    serial_console_entry,
    serial_console_managed,
    truth,
    value,
)

ROLE = "serial_console"
SCOPES = ("cluster", "host")


def plan_group(allow_power_cycle, manage_firewall):
    """The VMs planned by one run share these settings (usually every VM of the play)."""
    return ("power cycle" if allow_power_cycle else "no power cycle") + ("" if manage_firewall else ", warnings")


def note(variables, host):
    """What the VM ``host`` asks for, from its ``serial_console_*`` variables (``variables``: name ->
    value, the role's defaults included): ``host``, ``vm``, ``entry`` (the ``vm_serial_port_bulk``
    entry), ``asks``, ``bulk``, ``allow_power_cycle``, ``manage_firewall``, ``scope``, ``plan_group``
    and ``variables`` (the names set, for :func:`variables.unknown_variables`)."""
    entry = serial_console_entry(variables, host)
    allow_power_cycle = flag(variables, "serial_console_allow_power_cycle", False)
    manage_firewall = flag(variables, "serial_console_manage_firewall", True)
    return dict(
        host=host, vm=value(variables, "serial_console_vm", host), entry=entry,
        asks=serial_console_managed(entry["serial_ports"], entry["exclusive"]),
        bulk=flag(variables, "serial_console_bulk", False), allow_power_cycle=allow_power_cycle,
        manage_firewall=manage_firewall, scope=value(variables, "serial_console_firewall_scope", "cluster"),
        plan_group=plan_group(allow_power_cycle, manage_firewall), variables=sorted(variables),
    )


def _plans(notes, plan):
    """{host: the VM's entry of ``vms`` of its plan, or a failure}. ``plan``: the registered loop over
    the plan groups. A VM whose entry is invalid has its own failure in ``vms`` (the module plans the
    others); a group whose run failed as a whole (no ``vms``: the connection, say) fails every VM of it."""
    plans = {}
    for run in loop_results(plan):
        group = [n["host"] for n in notes if n["asks"] and n["plan_group"] == run["item"]]
        plans.update(per_vm(run, group, "the plan failed"))
    return plans


def _unreadable_host_message(vm, rulesets):
    return ("The serial ports of VM '%s' need the ESXi firewall rule set(s) %s, but the host that runs the VM "
            "could not be read (no read permission on the host, or the VM is not running on a host). "
            "Nothing was changed. Grant System.Read on the host, or set serial_console_manage_firewall to "
            "false and enable the rule sets yourself." % (vm, ", ".join(sorted(rulesets))))


def outcome(notes, plan):
    """What the plan found: ``vms`` ({host: ``host``, ``bulk``, ``failed``, ``msg``, ``changes``,
    ``vm_id`` (the options that name the VM, for its configuration task), ``result``}, in the order
    of ``notes``), ``needs`` (per VM that manages the firewall and has
    network-backed ports: ``vm``, ``esxi_host``, ``scope``, ``enabled`` {rule set: bool on that host},
    ``rulesets``), ``apply`` (the VMs of bulk mode whose plan shows a change, grouped as they were
    planned: ``firewall_warnings``, ``allow_power_cycle``, ``hosts``) and ``cluster_vm_hosts`` (the
    ESXi hosts that run VMs of cluster scope, whose clusters the firewall step reads). Holds no entry: it is a fact,
    printed with -v, and the entries hold the passwords of their URIs.

    A VM fails, untouched, when its firewall scope is unknown, when its plan failed, or when its
    network-backed ports need a rule set on a host that could not be read."""
    plans = _plans(notes, plan)
    out = dict(vms={}, needs=[], apply=[])
    groups = {}
    for vm_note in notes:
        host = vm_note["host"]
        vm = dict(host=host, bulk=truth(vm_note["bulk"]), failed=False, msg="", changes=[],
                  vm_id=dict((k, v) for k, v in vm_note["entry"].items() if k in VM_IDENTITY_OPTIONS))
        out["vms"][host] = vm
        if vm_note["scope"] not in SCOPES:
            # the role's argument validation refuses it first, unless the caller turned it off
            vm.update(failed=True, result=dict(changed=False, failed=True),
                      msg="serial_console_firewall_scope must be one of: %s; got '%s'. Nothing was changed."
                      % (", ".join(SCOPES), vm_note["scope"]))
            continue
        if not truth(vm_note["asks"]):
            vm["result"] = dict(changed=False, skipped=True,
                                skip_reason="serial_console_ports is empty and serial_console_exclusive is false")
            continue
        vm_plan = plans[host]
        vm["result"] = vm_plan
        if truth(vm_plan.get("failed")):
            vm.update(failed=True, msg=role_message(vm_plan.get("msg", "the plan failed"), ROLE))
            continue
        numbers = [port.get("number") for port in vm_note["entry"]["serial_ports"]]
        rulesets = []
        if truth(vm_note["manage_firewall"]):
            for port in vm_plan.get("serial_ports") or []:
                ruleset = needed_ruleset(port.get("backing")) if port.get("number") in numbers else None
                if ruleset and ruleset not in rulesets:
                    rulesets.append(ruleset)
        firewall = vm_plan.get("firewall") or {}
        if rulesets and not firewall.get("host"):
            vm.update(failed=True, msg=_unreadable_host_message(vm_note["vm"], rulesets))
            continue
        vm["changes"] = vm_plan.get("changes") or []
        if rulesets:
            out["needs"].append(dict(vm=vm_note["vm"], esxi_host=firewall["host"], scope=vm_note["scope"],
                                     enabled=firewall.get("rulesets") or {}, rulesets=sorted(rulesets)))
        if vm["bulk"] and vm["changes"]:
            group = groups.setdefault(vm_note["plan_group"], dict(
                firewall_warnings=truth(vm_note["manage_firewall"]),
                allow_power_cycle=truth(vm_note["allow_power_cycle"]), hosts=[]))
            group["hosts"].append(host)
    out["apply"] = [groups[key] for key in sorted(groups)]
    out["cluster_vm_hosts"] = sorted(set(need["esxi_host"] for need in out["needs"] if need["scope"] == "cluster"))
    return out


def datacenters(vm_hosts=None):
    """The datacenters whose hosts the firewall step reads for cluster scope: those of the clusters of
    the hosts in ``vm_hosts`` (the registered read of ``outcome["cluster_vm_hosts"]``); a standalone
    host needs no other host."""
    reads = ((vm_hosts or {}).get("hosts") or {}).values()
    return sorted(set(read["datacenter"] for read in reads if read.get("cluster") and read.get("datacenter")))


def _enabled(read, ruleset):
    """Whether a host read by ``esxi_serial_firewall_ruleset_info`` has ``ruleset`` enabled."""
    return truth(((read.get("rulesets") or {}).get(ruleset) or {}).get("enabled"))


def firewall_calls(needs, vm_hosts=None, dc_hosts=None):
    """The calls of ``esxi_serial_firewall_ruleset`` that enable what ``needs`` (:func:`outcome`) asks:
    ``[{"datacenter": str or None, "rulesets": [...], "hosts": [...]}]``.

    Scope ``host``: the VM's host. Scope ``cluster``: every host of the VM's cluster, from
    ``dc_hosts`` (the registered loop of ``esxi_serial_firewall_ruleset_info`` over the clusters'
    datacenters, the item being the datacenter), or the VM's host alone when it is standalone;
    ``vm_hosts`` (the registered read of the hosts that run VMs of cluster scope) says which is which.
    Hosts on which a rule set is enabled already are left out; hosts that need the same rule sets in the
    same datacenter share one call."""
    vm_reads = (vm_hosts or {}).get("hosts") or {}
    datacenters = dict((run["item"], run["hosts"]) for run in loop_results(dc_hosts) if "hosts" in run)
    per_host = {}

    def want(host, datacenter, ruleset, enabled):
        entry = per_host.setdefault(host, dict(datacenter=None, rulesets=[]))
        if datacenter and not entry["datacenter"]:
            entry["datacenter"] = datacenter
        if not enabled and ruleset not in entry["rulesets"]:
            entry["rulesets"].append(ruleset)

    for need in needs or []:
        vm_host = vm_reads.get(need["esxi_host"]) or {}
        for ruleset in need["rulesets"]:
            if need["scope"] == "cluster" and vm_host.get("cluster"):
                for name, read in sorted((datacenters.get(vm_host.get("datacenter")) or {}).items()):
                    if read.get("cluster") == vm_host["cluster"]:
                        want(name, vm_host.get("datacenter"), ruleset, _enabled(read, ruleset))
            elif need["scope"] == "cluster":
                want(need["esxi_host"], vm_host.get("datacenter"), ruleset, _enabled(vm_host, ruleset))
            else:
                want(need["esxi_host"], None, ruleset, truth((need.get("enabled") or {}).get(ruleset)))
    calls = {}
    for name in sorted(per_host):
        entry = per_host[name]
        if not entry["rulesets"]:
            continue
        rulesets = sorted(entry["rulesets"])
        key = "%s/%s" % (entry["datacenter"] or "", ",".join(rulesets))
        calls.setdefault(key, dict(datacenter=entry["datacenter"], rulesets=rulesets, hosts=[]))["hosts"].append(name)
    return [calls[key] for key in sorted(calls)]


def results(outcome_all, applied=None):
    """Every VM's outcome for the report task: ``host``, ``bulk``, ``failed``, ``msg``, ``changed``,
    ``changes``, ``result`` and ``reset_result``. ``result`` is the VM's ``serial_console_result``
    unless its configuration task registers one (the default mode): the configuration run's entry for
    the VMs of bulk mode it changed, else the plan's. ``reset_result``: the VM's skipped configuration
    task (bulk mode) registers over it, so the role sets it again afterwards.
    ``applied``: the registered loop of the configuration runs of bulk mode (one per entry of
    ``outcome_all["apply"]``, the item)."""
    changed_by = {}
    for run in loop_results(applied):
        changed_by.update(per_vm(run, run["item"]["hosts"]))
    out = []
    for host, vm in outcome_all["vms"].items():
        result = changed_by.get(host, vm.get("result")) or {}
        failed = truth(vm["failed"]) or truth(result.get("failed"))
        if vm["failed"]:
            msg = vm["msg"]
        elif failed:
            msg = role_message(result.get("msg", "the change failed"), ROLE)
        else:
            msg = ""
        out.append(dict(vm, result=result, failed=failed, msg=msg,
                        changed=truth(vm["bulk"]) and not truth(vm["failed"]) and truth(result.get("changed")),
                        reset_result=truth(vm["bulk"]) and not failed))
    return out
