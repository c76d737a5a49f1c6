"""playbooks/audit.yml against the simulator: drift against the inventory, the three reports from
one data structure, and the HTML report opened in a real browser (Debian's Chromium, headless,
driven by Playwright; scripts/bootstrap installs it).

The estate is configured by the two configuring playbooks from the inventory, then changed behind
their back with pyVmomi, so that each status and each kind of problem occurs once; the expected
figures are then read back from the simulator with pyVmomi, not taken from the report.
"""
import json
import os
import re
import shutil
import tempfile

import pytest
from pyVim.task import WaitForTask
from pyVmomi import vim
from vcsimctl import Simulator

from conftest import ROOT, connect, run_playbook
from vsphere_helpers import find_vm

PLAYBOOKS = os.path.join(ROOT, "playbooks")
SCREENSHOTS = os.path.join(ROOT, ".build", "screenshots")
CHROMIUM = "/usr/bin/chromium"
# Chromium as root needs --no-sandbox; the rest keep it from reaching for the network (there is
# none here: it would flood refused connections) and from touching a profile of its own.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

HYPERVISOR_ONLY = ["hypervisor", "anyProtocol"]
INVENTORY = {
    # in policy after the playbooks, then port 2 turned into a pipe behind their back: drifted
    "DC0_H0_VM0": {"serial_console_ports": [
        {"number": 1, "backing": {"type": "network", "service_uri": "vSPC.py", "proxy_uri": "telnet://vspc.example.com:13370"}},
        {"number": 2, "backing": {"type": "file", "file_path": "[LocalDS_0] DC0_H0_VM0/com2.log"}}],
        "vmci_firewall_profile": "hypervisor_only"},
    # in policy, but its host's remoteSerialPort rule set is closed afterwards: the port cannot connect
    "DC0_H0_VM1": {"serial_console_ports": [
        {"number": 1, "backing": {"type": "network", "service_uri": "telnet://:7005", "direction": "server"}}]},
    # VMCI filtering switched off behind the playbook's back, and its port 1 removed while it runs:
    # drifted, and adding the port back needs the VM powered off
    "DC0_C0_RP0_VM0": {"vmci_firewall_profile": "deny_all",
                       "serial_console_ports": [{"number": 1, "backing": {"type": "thinprint"}}]},
    # nothing asked: not managed (a VMCI rule is set by hand: no problem either)
    "DC0_C0_RP0_VM1": {},
    # no such VM: error
    "ghost01": {"vmci_firewall_profile": "deny_all"},
}


def write_inventory(tmp_path, hosts):
    path = tmp_path / "hosts.json"
    common = {"ansible_connection": "local", "serial_console_allow_power_cycle": True}
    path.write_text(json.dumps({"vms": {"hosts": hosts, "vars": common}}))
    return str(path)


def _vmci_device(vm):
    return [d for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualVMCIDevice)][0]


def _serial_devices(vm):
    return [d for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualSerialPort)]


def _edit(vm, operation, device):
    WaitForTask(vm.ReconfigVM_Task(spec=vim.vm.ConfigSpec(deviceChange=[
        vim.vm.device.VirtualDeviceSpec(operation=operation, device=device)])))


def drift_behind_the_back(si):
    vm0 = find_vm(si, "DC0_H0_VM0")
    port2 = [d for d in _serial_devices(vm0) if d.unitNumber == 1][0]
    port2.backing = vim.vm.device.VirtualSerialPort.PipeBackingInfo(pipeName="/tmp/drift", endpoint="server")
    _edit(vm0, "edit", port2)
    vm1 = find_vm(si, "DC0_H0_VM1")
    vm1.runtime.host.configManager.firewallSystem.DisableRuleset(id="remoteSerialPort")
    cluster_vm = find_vm(si, "DC0_C0_RP0_VM0")
    device = _vmci_device(cluster_vm)
    device.filterEnable = False
    _edit(cluster_vm, "edit", device)
    _edit(cluster_vm, "remove", _serial_devices(cluster_vm)[0])
    # the VM nobody manages gets a VMCI rule by hand: it has no problem at all
    unmanaged = find_vm(si, "DC0_C0_RP0_VM1")
    device = _vmci_device(unmanaged)
    device.filterInfo = vim.vm.device.VirtualVMCIDevice.FilterInfo(filters=[vim.vm.device.VirtualVMCIDevice.FilterSpec(
        rank=1, action="deny", protocol="anyProtocol", direction="anyDirection")])
    _edit(unmanaged, "edit", device)


def expected_figures(si, names):
    """The summary figures of the VMs ``names``, read from the simulator with pyVmomi."""
    backings = dict((kind, 0) for kind in ("network", "pipe", "file", "device", "thinprint"))
    classes = {"URIBackingInfo": "network", "PipeBackingInfo": "pipe", "FileBackingInfo": "file",
               "DeviceBackingInfo": "device", "ThinPrintBackingInfo": "thinprint"}
    closed = without_vmci = 0
    for name in names:
        vm = find_vm(si, name)
        rulesets = dict((r.key, r.enabled) for r in vm.runtime.host.configManager.firewallSystem.firewallInfo.ruleset)
        for device in _serial_devices(vm):
            backing = device.backing
            backings[classes[type(backing).__name__.split(".")[-1]]] += 1
            if isinstance(backing, vim.vm.device.VirtualSerialPort.URIBackingInfo):
                closed += not rulesets["vSPC" if backing.proxyURI else "remoteSerialPort"]
        device = _vmci_device(vm)
        filters = device.filterInfo.filters if device.filterInfo is not None else []
        without_vmci += not (device.filterEnable and filters)
    return {"vms": len(names), "serial_ports": sum(backings.values()), "ports_by_backing": backings,
            "network_ports_not_ready": closed, "vms_without_vmci_filtering": without_vmci}


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    """A simulator configured from INVENTORY, drifted, and audited: (sim, report dir, audit run)."""
    tmp_path = tmp_path_factory.mktemp("audit")
    sim = Simulator(vm=2, trace=str(tmp_path / "trace.jsonl")).start()
    try:
        si = connect(sim)
        inventory = write_inventory(tmp_path, INVENTORY)
        for book in ("serial_console.yml", "vmci_firewall.yml"):
            run = run_playbook(tmp_path, [{"import_playbook": os.path.join(PLAYBOOKS, book)}], sim=sim,
                               inventory=inventory, args=["--limit", "!ghost01"], name=book[:-4])
            assert run.rc == 0, run
        drift_behind_the_back(si)
        report_dir = tmp_path / "report"
        # The connection through the playbook's vcenter_* variables (module_defaults), no VMWARE_*.
        extra = {"vcenter_hostname": sim.host, "vcenter_port": sim.port, "vcenter_username": sim.username,
                 "vcenter_password": sim.password, "vcenter_validate_certs": False,
                 "audit_report_dir": str(report_dir)}
        sim.reset_trace()
        run = run_playbook(tmp_path, [{"import_playbook": os.path.join(PLAYBOOKS, "audit.yml")}],
                           inventory=inventory, args=["-e", json.dumps(extra)], name="audit")
        yield sim, si, report_dir, run
    finally:
        sim.stop()


def test_audit_reports_drift_status_and_figures(audited):
    sim, si, report_dir, run = audited
    assert run.rc == 2, run  # ghost01 cannot be audited: the last task fails, after the reports are written
    assert run.task("Fail when VMs could not be audited (the reports list them)")["status"] == "failed"
    assert "ghost01" in run.result("Fail when VMs could not be audited (the reports list them)")["msg"]
    # Nothing changed, every vSphere task ran once for all VMs, in the run's one shared session
    # (docs/execution.md). Each bulk module looks the names up, reads every VM and names their hosts
    # (3 reads each) and esxi_serial_firewall_ruleset_info reads the hosts: 8 reads at most.
    methods = sim.soap_calls()
    assert not set(methods) & {"ReconfigVM_Task", "EnableRuleset", "DisableRuleset", "PowerOffVM_Task"}, methods
    assert methods["Login"] == 1 and methods["Logout"] == 1, methods
    assert methods["RetrievePropertiesEx"] <= 8, methods
    assert len(set(e["host"] for e in run.results)) == 1  # run_once: every task on the first host only

    data = json.loads((report_dir / "vmchannels-audit.json").read_text())
    vms = dict((vm["name"], vm) for vm in data["vms"])
    assert dict((n, vm["status"]) for n, vm in vms.items()) == {
        "DC0_H0_VM0": "drifted", "DC0_H0_VM1": "in policy", "DC0_C0_RP0_VM0": "drifted",
        "DC0_C0_RP0_VM1": "not managed", "ghost01": "error"}
    assert vms["DC0_H0_VM0"]["drift"] == [
        "port 2: backing pipe -> file (file [LocalDS_0] DC0_H0_VM0/com2.log)"]
    assert vms["DC0_C0_RP0_VM0"]["drift"] == ["port 1: missing (wanted: thinprint)", "VMCI filtering off -> on"]
    assert "needs it powered off" in vms["DC0_C0_RP0_VM0"]["notes"][0]
    assert "No virtual machine named 'ghost01'" in vms["ghost01"]["errors"][0]
    assert data["unreadable_vms"] == ["ghost01"]
    port = vms["DC0_H0_VM1"]["serial_ports"][0]
    assert (port["ruleset"], port["ruleset_ready"]) == ("remoteSerialPort", False)
    assert vms["DC0_H0_VM0"]["esxi_host"] == "DC0_H0" and vms["DC0_H0_VM0"]["cluster"] is None
    cluster_vm = find_vm(si, "DC0_C0_RP0_VM0")
    assert vms["DC0_C0_RP0_VM0"]["esxi_host"] == cluster_vm.runtime.host.name
    assert vms["DC0_C0_RP0_VM0"]["cluster"] == "DC0_C0"
    assert [r["protocol"] for r in vms["DC0_H0_VM0"]["vmci"]["rules"]] == HYPERVISOR_ONLY
    # The figures, against the simulator read with pyVmomi.
    readable = [n for n in INVENTORY if n != "ghost01"]
    expected = expected_figures(si, readable)
    expected["vms"] += 1  # ghost01 is counted, as an error
    summary = data["summary"]
    for key, value in expected.items():
        assert summary[key] == value, key
    assert (summary["vms_drifted"], summary["vms_in_policy"], summary["vms_not_managed"], summary["vms_error"]) == (
        2, 1, 1, 1)
    assert summary["network_ports_not_ready"] == 1

    # The Markdown, from the same data.
    table = (report_dir / "vmchannels-audit.md").read_text()
    lines = table.splitlines()
    assert "| VM | ESXi host | power | port | backing | connected | rule set | VMCI filtering | status |" in lines
    assert any(l.startswith("| DC0_H0_VM1 | DC0_H0 | poweredOn | 1 | network server telnet://:7005 |")
               and "remoteSerialPort on DC0_H0: disabled" in l and l.endswith("| in policy |") for l in lines), table
    # "connected" as the VM's power state makes it true: a running VM's port is connected or not
    vm1_port = find_vm(si, "DC0_H0_VM1").config.hardware.device
    vm1_connected = [d for d in vm1_port if isinstance(d, vim.vm.device.VirtualSerialPort)][0].connectable.connected
    assert vms["DC0_H0_VM1"]["power_state"] == "poweredOn"
    assert vms["DC0_H0_VM1"]["serial_ports"][0]["connected_text"] == ("yes" if vm1_connected else "no")
    assert "connects at power on" not in table  # every VM of the audit runs
    # One word for one state: enabled/disabled, never ready/open/closed.
    for word in ("NOT READY", ": ready", "open", "closed"):
        assert word not in table, word
    # The vCenter read and the time with its zone, in all three reports.
    vcenter = "%s:%s" % (sim.host, sim.port)
    assert data["vcenter"] == vcenter and re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", data["generated"])
    assert data["generated_text"].endswith(" UTC")
    assert "Generated %s from %s:" % (data["generated_text"], vcenter) in table
    # Every host of the clusters concerned, also those that run no audited VM; standalone DC0_H0.
    cluster_hosts = sorted(h.name for h in find_vm(si, "DC0_C0_RP0_VM0").runtime.host.parent.host)
    assert sorted(data["hosts"]) == sorted(cluster_hosts + ["DC0_H0"])
    assert any(data["hosts"][h]["audited_vms"] == 0 for h in cluster_hosts), data["hosts"]
    for name in data["hosts"]:
        assert any(l.startswith("| %s |" % name) for l in lines), name
    assert "- DC0_H0_VM0: port 2: backing pipe -> file (file [LocalDS_0] DC0_H0_VM0/com2.log)" in lines
    assert any(l.startswith("- ghost01: No virtual machine named 'ghost01'") for l in lines), table
    assert run.result("Show the report")["msg"] == lines
    stats = run.task("Hand the summary to AWX (job artifacts)")["result"]["ansible_stats"]["data"]
    assert stats["vmchannels_audit"] == summary
    # The HTML embeds the very same data.
    html = (report_dir / "vmchannels-audit.html").read_text()
    embedded = re.search(r'<script type="application/json" id="audit-data">(.*?)</script>', html, re.S).group(1)
    assert json.loads(embedded) == data
    assert '<time datetime="%s">%s</time> from <span id="vcenter">%s</span>' % (
        data["generated"], data["generated_text"], vcenter) in html
    assert "<title>vmchannels.vsphere audit of %s, %s</title>" % (vcenter, data["generated_text"]) in html
    assert sim.password not in run.stdout + run.stderr + html + table


# -- the HTML report in Chromium -----------------------------------------------------------------

def browser(playwright, **options):
    assert os.path.exists(CHROMIUM), "Debian's chromium is missing: run scripts/bootstrap"
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    context = playwright.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, headless=True,
                                                            args=CHROMIUM_ARGS, **options)
    context.profile_dir = profile
    return context


def close(context):
    context.close()
    shutil.rmtree(context.profile_dir, ignore_errors=True)


def visible_rows(page):
    return page.eval_on_selector_all("#vms tbody tr:not([hidden])",
                                     "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent))")


def test_html_report_in_chromium_figures_sorting_filtering_no_request(audited):
    from playwright.sync_api import sync_playwright

    sim, si, report_dir, run = audited
    path = str(report_dir / "vmchannels-audit.html")
    url = "file://" + path
    data = json.loads((report_dir / "vmchannels-audit.json").read_text())
    os.makedirs(SCREENSHOTS, exist_ok=True)
    with sync_playwright() as playwright:
        for scheme in ("light", "dark"):
            context = browser(playwright, color_scheme=scheme, viewport={"width": 1400, "height": 1000})
            try:
                page = context.new_page()
                requests, errors, blocked = [], [], []
                page.on("request", lambda request: requests.append(request.url))
                page.on("pageerror", lambda error: errors.append(str(error)))
                page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
                # Anything but the file itself is refused and counted (the CSP should stop it first).
                page.route("**/*", lambda route: route.continue_() if route.request.url == url
                           else (blocked.append(route.request.url), route.abort()))
                page.goto(url)
                page.wait_for_selector("html[data-ready=true]")
                assert requests == [url] and blocked == [] and errors == [], (requests, blocked, errors)

                # The summary figures, against the simulator.
                expected = expected_figures(si, [n for n in INVENTORY if n != "ghost01"])

                def figure(key, page=page):
                    return int(page.inner_text('[data-figure="%s"]' % key))

                assert figure("vms") == expected["vms"] + 1
                assert figure("serial_ports") == expected["serial_ports"]
                assert figure("network_ports_not_ready") == expected["network_ports_not_ready"] == 1
                assert figure("vms_without_vmci_filtering") == expected["vms_without_vmci_filtering"]
                assert figure("vms_drifted") == 2
                for kind, count in expected["ports_by_backing"].items():
                    assert int(page.inner_text('[data-backing="%s"]' % kind)) == count, kind

                # One row per port (a VM without a port has one), sorted by VM.
                rows = visible_rows(page)
                # The rule-set state in the same words as the Markdown and the hosts table.
                states = set(r[6].rsplit(": ", 1)[-1] for r in rows if r[6] != "\u2014")
                assert states == {"enabled", "disabled"}, states
                host_states = page.eval_on_selector_all("#hosts tbody tr", "rows => rows.map(r => [r.cells[4].textContent, r.cells[5].textContent])")
                assert set(sum(host_states, [])) <= {"enabled", "disabled"} and len(host_states) == len(data["hosts"])
                assert page.inner_text("#vcenter") == data["vcenter"]
                assert len(rows) == sum(max(1, len(vm["serial_ports"])) for vm in data["vms"])
                names = [r[0] for r in rows]
                assert names == sorted(names)
                # Problems are highlighted: the closed rule set (red), the drifted VMs (amber).
                assert page.eval_on_selector_all("#vms tbody tr.bad", "rows => rows.map(r => r.cells[0].textContent)"
                                                 ) == ["DC0_H0_VM1", "ghost01"]
                assert "DC0_H0_VM0" in page.eval_on_selector_all(
                    "#vms tbody tr.warn", "rows => rows.map(r => r.cells[0].textContent)")

                # Sorting: by status, then descending.
                page.click('th[data-key="status"] button')
                statuses = [r[8] for r in visible_rows(page)]
                assert statuses == sorted(statuses) and statuses != [r[8] for r in rows]
                assert page.get_attribute('th[data-key="status"]', "aria-sort") == "ascending"
                page.click('th[data-key="status"] button')
                assert [r[8] for r in visible_rows(page)] == sorted(statuses, reverse=True)

                # Filtering: by status, ESXi host, cluster, backing, VM name, problems only.
                page.select_option("#f-status", "drifted")
                assert sorted(set(r[0] for r in visible_rows(page))) == ["DC0_C0_RP0_VM0", "DC0_H0_VM0"]
                page.select_option("#f-status", "")
                page.select_option("#f-host", "DC0_H0")
                assert sorted(set(r[0] for r in visible_rows(page))) == ["DC0_H0_VM0", "DC0_H0_VM1"]
                page.select_option("#f-host", "")
                page.select_option("#f-cluster", "DC0_C0")
                assert sorted(set(r[0] for r in visible_rows(page))) == ["DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1"]
                page.select_option("#f-cluster", "")
                page.select_option("#f-backing", "pipe")
                assert [(r[0], r[4]) for r in visible_rows(page)] == [("DC0_H0_VM0", "2")]
                page.select_option("#f-backing", "")
                page.fill("#f-vm", "h0_vm1")
                assert set(r[0] for r in visible_rows(page)) == {"DC0_H0_VM1"}
                page.fill("#f-vm", "")
                page.check("#f-problems")
                assert "DC0_C0_RP0_VM1" not in set(r[0] for r in visible_rows(page))  # not managed, no problem
                page.uncheck("#f-problems")
                assert page.inner_text("#shown") == "%d of %d rows" % (len(rows), len(rows))
                page.click('th[data-key="vm"] button')  # back to VM order for the screenshot
                page.screenshot(path=os.path.join(SCREENSHOTS, "audit-report-%s.png" % scheme), full_page=True)
                if scheme == "light":
                    page.emulate_media(media="print")
                    page.screenshot(path=os.path.join(SCREENSHOTS, "audit-report-print.png"), full_page=True)
                    assert page.is_hidden(".controls")
                assert requests == [url] and blocked == []
            finally:
                close(context)
