"""The simulator of the bench (tests/vcsim): one started per scenario, its VMs read and powered off
for the inventory, the work of a run read back, and its request trace counted."""

import collections
import json
import os
import re
import sys

from common import CLUSTER, PORT, ROOT

sys.path.insert(0, os.path.join(ROOT, "tests", "vcsim"))

from vcsimctl import Simulator  # noqa: E402  (stdlib only)


def sim_for(n_vms, delay_ms, cluster_hosts=None, login_delay_ms=0):
    """A simulator with at least ``n_vms`` VMs: vcsim makes ``vm`` VMs on the standalone host and
    as many in the cluster's resource pool, so ``vm = ceil(n/2)``. ``login_delay_ms``: what the
    launcher adds to ``Login`` alone (vCenter's single sign-on)."""
    options = dict(vm=max(1, (n_vms + 1) // 2), delay_ms=delay_ms or None, start_timeout=300,
                   login_delay_ms=login_delay_ms or None)
    if cluster_hosts:
        options["host"] = cluster_hosts
    return Simulator(**options).start()


def _session(sim):
    from pyVim.connect import SmartConnect

    return SmartConnect(host=sim.host, port=sim.port, user=sim.username, pwd=sim.password,
                        disableSslCertValidation=True)


def _vms(si):
    """``{name: (vm, uuid, power state)}`` of every VM, in one PropertyCollector request."""
    from pyVmomi import vim, vmodl

    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    pc = vmodl.query.PropertyCollector
    spec = pc.FilterSpec(
        objectSet=[pc.ObjectSpec(obj=view, skip=True, selectSet=[
            pc.TraversalSpec(name="v", type=vim.view.ContainerView, path="view", skip=False)])],
        propSet=[pc.PropertySpec(type=vim.VirtualMachine,
                                 pathSet=["name", "config.uuid", "runtime.powerState", "config.hardware.device"])])
    out = {}
    for obj in content.propertyCollector.RetrieveContents([spec]):
        props = dict((p.name, p.val) for p in obj.propSet)
        out[props["name"]] = (obj.obj, props.get("config.uuid"), props.get("runtime.powerState"),
                              props.get("config.hardware.device") or [])
    view.Destroy()
    return out


def inventory_of(sim, n_vms, power_off=None):
    """The first ``n_vms`` VM names (sorted), powered off (the peer refuses running VMs; ours would
    need allow_power_cycle): not part of any timed run. ``power_off``: how many of them to power
    off (default all; the single-VM scenarios need only the last few)."""
    from pyVim.connect import Disconnect

    si = _session(sim)
    try:
        vms = _vms(si)
        names = sorted(vms, key=_natural)[:n_vms]
        for name in names[-power_off if power_off else 0:]:
            vm = vms[name][0]
            if vms[name][2] != "poweredOff":
                vm.PowerOffVM_Task()  # vcsim's tasks are synchronous
        return names, dict((n, (vms[n][0]._moId, vms[n][1])) for n in names)
    finally:
        Disconnect(si)


def _natural(name):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def count_with_vspc_port(sim, names):
    """How many of ``names`` have a network serial port through the vSPC (read back, to check the
    runs did the work)."""
    from pyVim.connect import Disconnect
    from pyVmomi import vim

    si = _session(sim)
    try:
        vms = _vms(si)
    finally:
        Disconnect(si)
    done = 0
    for name in names:
        for device in vms[name][3]:
            backing = getattr(device, "backing", None)
            if isinstance(device, vim.vm.device.VirtualSerialPort) and \
                    isinstance(backing, vim.vm.device.VirtualSerialPort.URIBackingInfo) and \
                    backing.proxyURI == PORT["proxy_uri"]:
                done += 1
                break
    return done


def vspc_enabled_hosts(sim):
    from pyVim.connect import Disconnect
    from pyVmomi import vim

    si = _session(sim)
    try:
        content = si.RetrieveContent()
        view = content.viewManager.CreateContainerView(content.rootFolder, [vim.ClusterComputeResource], True)
        cluster = [c for c in view.view if c.name == CLUSTER][0]
        states = []
        for host in cluster.host:
            rulesets = host.configManager.firewallSystem.firewallInfo.ruleset
            states.append(any(r.key == "vSPC" and r.enabled for r in rulesets))
        return sum(states), len(states)
    finally:
        Disconnect(si)


def trace_counts(sim):
    """``(soap calls, GETs, Counter of methods, distinct session tags)`` since the last ``reset_trace``."""
    methods = collections.Counter()
    sessions = set()
    gets = 0
    with open(sim.trace_file, "rb") as handle:
        handle.seek(sim._trace_offset)
        data = handle.read()
    for line in data.splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if rec.get("http", "POST") == "POST" and rec.get("method"):
            methods[rec["method"]] += 1
            if rec.get("session"):
                sessions.add(rec["session"])
        else:
            gets += 1
    return sum(methods.values()), gets, methods, len(sessions)
