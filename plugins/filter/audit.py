# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmchannels maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The data of ``playbooks/audit.yml``, built once on the controller and rendered three times
(Markdown, JSON, HTML).

``audit_report`` takes what the modules returned - the check-mode runs of ``vm_serial_port_bulk``
and ``vm_vmci_filter_bulk`` with ``--diff`` (the VMs' state as read and how it differs from the
inventory) and ``esxi_serial_firewall_ruleset_info`` (the hosts' clusters and rule sets) - and
returns the report: one record per VM (its ports, its VMCI firewall, its status: in policy, drifted,
not managed, or error, and the drift in words), the hosts, and the summary figures. Nothing here
compares a VM with the inventory: the modules' own plans and diffs say what differs; this only puts
them into words.

The URIs of the ports are shown as the modules show them, their passwords masked
(``masking.masked`` once more here, whatever the results fed in).

``csp_hash`` gives the Content-Security-Policy source (``'sha256-...'``) that allows exactly one
inline script or style of the HTML report.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib

from ansible_collections.vmchannels.vsphere.plugins.module_utils.serial_ports.ports import needed_ruleset
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.masking import mask_uri, masked

STATUSES = ("in policy", "drifted", "not managed", "error")
#: The one word for each state of a firewall rule set, in every report (``None``: not read).
RULESET_WORDS = {True: "enabled", False: "disabled", None: "unknown"}
BACKINGS = ("network", "pipe", "file", "device", "thinprint")
PORT_OPTIONS = ("yield_on_poll", "start_connected", "allow_guest_control", "connected")


# -- words ---------------------------------------------------------------------------------------

def backing_text(backing):
    """A backing in a few words: ``network client tcp://h:7002``, ``pipe server \\\\.\\pipe\\x``..."""
    backing = backing or {}
    kind = backing.get("type") or "unknown"
    if kind == "network":
        text = "network %s %s" % (backing.get("direction") or "server", mask_uri(backing.get("service_uri")))
        return text + (" via vSPC %s" % mask_uri(backing["proxy_uri"]) if backing.get("proxy_uri") else "")
    if kind == "pipe":
        return "pipe %s %s" % (backing.get("endpoint") or "server", backing.get("pipe_name"))
    if kind == "file":
        return "file %s" % backing.get("file_path")
    if kind == "device":
        return "device %s" % ("(auto-detect)" if backing.get("auto_detect") else backing.get("device_name"))
    return kind


def _value(value):
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _port_number(key):
    """``3`` from the diff key ``port 3`` (ports without a number sort last)."""
    text = key.split(" ", 1)[-1]
    return int(text) if text.lstrip("-").isdigit() else 1 << 30


def serial_drift(before, after):
    """How the ports of one VM differ, in words, from the halves of the serial module's diff
    (``{"port N": managed fields}``): ``port 2: backing file -> pipe``."""
    out = []
    before, after = masked(before), masked(after)
    for key in sorted(set(before) | set(after), key=_port_number):
        have, want = before.get(key), after.get(key)
        if have == want:
            continue
        if have is None:
            out.append("%s: missing (wanted: %s)" % (key, backing_text(want.get("backing"))))
            continue
        if want is None:
            out.append("%s: %s is not in the inventory (removed when exclusive)"
                       % (key, backing_text(have.get("backing"))))
            continue
        old, new = have.get("backing") or {}, want.get("backing") or {}
        if old.get("type") != new.get("type"):
            out.append("%s: backing %s -> %s (%s)" % (key, old.get("type"), new.get("type"), backing_text(new)))
        else:
            for field in sorted(set(old) | set(new)):
                if old.get(field) != new.get(field):
                    out.append("%s: %s %s -> %s" % (key, field, _value(old.get(field)), _value(new.get(field))))
        for option in PORT_OPTIONS:
            if option in want and have.get(option) != want.get(option):
                out.append("%s: %s %s -> %s" % (key, option, _value(have.get(option)), _value(want.get(option))))
    return out


def rule_text(rule):
    ports = rule.get("ports")
    return "%s %s %s%s" % (rule.get("action"), rule.get("protocol"), rule.get("direction"),
                           " ports %s" % ports if ports else "")


def rules_text(rules):
    return ", ".join(rule_text(r) for r in rules) if rules else "no rules"


def vmci_drift(before, after):
    """How the VMCI firewall of one VM differs, in words, from the halves of the VMCI module's diff."""
    out = []
    if bool(before.get("filter_enabled")) != bool(after.get("filter_enabled")):
        out.append("VMCI filtering %s -> %s" % (
            "on" if before.get("filter_enabled") else "off", "on" if after.get("filter_enabled") else "off"))
    if before.get("rules") != after.get("rules"):
        out.append("VMCI rules: %s -> %s" % (rules_text(before.get("rules")), rules_text(after.get("rules"))))
    return out


def vmci_text(vmci):
    if vmci.get("error"):
        return "unreadable"
    rules = vmci.get("rules") or []
    if vmci.get("filter_enabled") and rules:
        return "on: %s" % rules_text(rules)
    if vmci.get("filter_enabled"):
        return "on, no rules (nothing filtered)"
    return "off" + (" (%d rule%s kept)" % (len(rules), "s" if len(rules) > 1 else "") if rules else "")


# -- the report ------------------------------------------------------------------------------------

def _diff_for(result, module_result):
    """The halves of the module's diff that concern the VM of ``result`` (keyed ``NAME (MOID)``)."""
    vm = result.get("vm") or {}
    key = "%s (%s)" % (vm.get("name"), vm.get("moid"))
    diff = module_result.get("diff") or {}
    before = ((diff.get("before") or {}).get("vms") or {}).get(key)
    after = ((diff.get("after") or {}).get("vms") or {}).get(key)
    return before, after


def connected_text(connected, start_connected, power_state):
    """Whether a port is connected, in words true to the VM's power state: only a running VM's port
    can be connected; a stopped VM's port with ``start_connected`` connects at its next power on."""
    if power_state == "poweredOn":
        return "yes" if connected else "no"
    if power_state is None:
        return "unknown"
    state = "off" if power_state == "poweredOff" else power_state
    return "no (VM %s%s)" % (state, "; connects at power on" if start_connected else "")


def _port_record(port, host, power_state):
    backing = masked(port.get("backing") or {})
    ruleset = needed_ruleset(backing)
    ready = None
    if ruleset:
        ready = ((host.get("rulesets") or {}).get(ruleset) or {}).get("enabled") if host else None
    return dict(number=port.get("number"), label=port.get("label"), backing=backing, backing_text=backing_text(backing),
                connected=port.get("connected"), start_connected=port.get("start_connected"),
                connected_text=connected_text(port.get("connected"), port.get("start_connected"), power_state),
                status=port.get("status"), ruleset=ruleset, ruleset_ready=ready,
                ruleset_state=RULESET_WORDS[ready] if ruleset else None)


def _vm_record(wanted, serial, vmci, serial_result, vmci_result, hosts):
    """The record of one VM: ``wanted`` says what the inventory manages on it; ``serial`` and
    ``vmci`` are its entries in the two bulk results."""
    vm = serial.get("vm") or {}
    esxi = serial.get("esxi_host") or vmci.get("esxi_host")
    host = hosts.get(esxi) if esxi else None
    record = dict(name=vm.get("name") or wanted.get("name"), inventory_hostname=wanted.get("inventory_hostname"),
                  moid=vm.get("moid"), power_state=vm.get("power_state"), esxi_host=esxi,
                  cluster=(host or {}).get("cluster"), datacenter=(host or {}).get("datacenter"),
                  managed=dict(serial_ports=bool(wanted.get("serial_managed")), vmci=bool(wanted.get("vmci_managed"))),
                  drift=[], notes=[], errors=[], problems=[])
    ports = serial.get("serial_ports_before")
    record["serial_ports"] = [_port_record(p, host, vm.get("power_state")) for p in ports or []]
    if ports is None:  # not read: the VM was not found, or could not be read
        record["errors"].append(serial.get("msg") or "the serial ports could not be read")
    elif record["managed"]["serial_ports"]:
        before, after = _diff_for(serial, serial_result)
        if before is not None or after is not None:
            record["drift"] += serial_drift(before or {}, after or {})
        if serial.get("failed"):
            if serial.get("error_kind") == "power_state":
                record["notes"].append(serial.get("msg"))
            else:
                record["errors"].append(serial.get("msg"))
    vmci_before = vmci.get("before")
    if vmci_before is None:
        record["vmci"] = dict(filter_enabled=None, rules=[], error=vmci.get("msg") or "not read")
        if record["managed"]["vmci"] and ports is not None:
            record["errors"].append(vmci.get("msg") or "the VMCI firewall could not be read")
    else:
        record["vmci"] = dict(filter_enabled=vmci_before.get("filter_enabled"), rules=vmci_before.get("rules") or [],
                              error=None)
        if record["managed"]["vmci"]:
            before, after = _diff_for(vmci, vmci_result)
            if before is not None and after is not None:
                record["drift"] += vmci_drift(before, after)
    record["vmci"]["filtering"] = bool(record["vmci"]["filter_enabled"] and record["vmci"]["rules"])
    record["vmci"]["text"] = vmci_text(record["vmci"])
    if record["errors"]:
        record["status"] = "error"
    elif record["drift"]:
        record["status"] = "drifted"
    elif record["managed"]["serial_ports"] or record["managed"]["vmci"]:
        record["status"] = "in policy"
    else:
        record["status"] = "not managed"
    problems = record["problems"]
    problems += record["errors"]
    problems += ["drift: %s" % d for d in record["drift"]]
    for port in record["serial_ports"]:
        if port["ruleset"] and port["ruleset_ready"] is False:
            problems.append("port %s: rule set %s is disabled on %s, the port cannot connect"
                            % (port["number"], port["ruleset"], esxi))
        if port["status"] == "unrecoverableError":
            problems.append("port %s: unrecoverableError" % port["number"])
    if not record["vmci"]["error"] and not record["vmci"]["filtering"]:
        problems.append("VMCI: no filtering in force")
    return record


def generated_text(generated):
    """The report's timestamp for people, with its zone: ``2026-12-03 09:56 UTC`` from the ISO 8601
    ``2026-12-03T09:56:08Z`` the playbook passes (an offset such as ``+02:00`` is kept as such)."""
    if not generated:
        return "at an unknown time"
    text = str(generated).replace("T", " ", 1)
    if text.endswith("Z"):
        return text[:-1] + " UTC"
    if len(text) > 6 and text[-6] in "+-" and text[-3] == ":":
        return "%s UTC%s" % (text[:-6], text[-6:])
    return text + " (time zone not given)"


def _vcenter_text(vcenter):
    """``vc.example.com`` or ``vc.example.com:8443`` from ``{"hostname", "port"}`` or a string."""
    if isinstance(vcenter, dict):
        host, port = vcenter.get("hostname"), vcenter.get("port")
        if not host:
            return None
        return host if port in (None, "", 443, "443") else "%s:%s" % (host, port)
    return vcenter or None


def audit_report(vms, serial, vmci, hosts=None, generated=None, vcenter=None):
    """The audit report data.

    ``vms``: one dict per VM of the audit, in the order of the bulk runs' entries:
    ``inventory_hostname``, ``name``, ``serial_managed`` and ``vmci_managed`` (whether the inventory
    sets serial ports, or a VMCI policy, for it). ``serial`` and ``vmci``: the results of
    ``vm_serial_port_bulk`` and ``vm_vmci_filter_bulk`` run in check mode with diff over those VMs.
    ``hosts``: the result of ``esxi_serial_firewall_ruleset_info`` for their hosts and the other hosts
    of their clusters (or nothing). ``generated``: when, ISO 8601 with its zone. ``vcenter``: the
    vCenter (or ESXi host) read, ``{"hostname", "port"}`` or a string.
    """
    serial = serial or {}
    vmci = vmci or {}
    host_reads = (hosts or {}).get("hosts") or {}
    serial_vms = serial.get("vms") or []
    vmci_vms = vmci.get("vms") or []
    records = []
    for index, wanted in enumerate(vms or []):
        records.append(_vm_record(wanted, serial_vms[index] if index < len(serial_vms) else {},
                                  vmci_vms[index] if index < len(vmci_vms) else {}, serial, vmci, host_reads))
    by_backing = dict((kind, 0) for kind in BACKINGS)
    network = closed = 0
    for record in records:
        for port in record["serial_ports"]:
            kind = port["backing"].get("type") or "unknown"
            by_backing[kind] = by_backing.get(kind, 0) + 1
            if port["ruleset"]:
                network += 1
                closed += port["ruleset_ready"] is not True
    readable = [r for r in records if not r["vmci"]["error"]]
    unreadable = [r["name"] for r in records if r["status"] == "error" and r["moid"] is None]
    summary = dict(
        vms=len(records), vms_unreadable=len(unreadable),
        serial_ports=sum(by_backing.values()), ports_by_backing=by_backing,
        network_ports=network, network_ports_not_ready=closed,
        vms_with_vmci_filtering=sum(1 for r in readable if r["vmci"]["filtering"]),
        vms_without_vmci_filtering=sum(1 for r in readable if not r["vmci"]["filtering"]),
    )
    for status in STATUSES:
        summary["vms_" + status.replace(" ", "_")] = sum(1 for r in records if r["status"] == status)
    host_view = {}
    for name in sorted(host_reads):
        read = host_reads[name]
        rulesets = read.get("rulesets") or {}
        enabled = dict((key, (rulesets.get(key) or {}).get("enabled")) for key in ("remoteSerialPort", "vSPC"))
        host_view[name] = dict(cluster=read.get("cluster"), datacenter=read.get("datacenter"),
                               connection_state=read.get("connection_state"),
                               audited_vms=sum(1 for r in records if r["esxi_host"] == name),
                               remoteSerialPort=enabled["remoteSerialPort"], vSPC=enabled["vSPC"],
                               remoteSerialPort_state=RULESET_WORDS[enabled["remoteSerialPort"]],
                               vSPC_state=RULESET_WORDS[enabled["vSPC"]])
    return dict(generated=generated, generated_text=generated_text(generated), vcenter=_vcenter_text(vcenter),
                summary=summary, vms=records, hosts=host_view, unreadable_vms=unreadable)


def csp_hash(text):
    """The CSP source that allows the inline ``<script>`` or ``<style>`` whose content is ``text``."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-%s'" % base64.b64encode(digest).decode("ascii")


class FilterModule(object):
    def filters(self):
        return {"audit_report": audit_report, "csp_hash": csp_hash}
