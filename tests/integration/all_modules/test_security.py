"""Secrets, TLS and firewall safety.

* The password never appears in module results, warnings, errors, diffs, ``-vvv`` output or the
  Ansible log: a distinctive password, enforced by the simulator, is grepped for in all of them after
  runs of every module that succeed, warn, diff, and fail in several ways.
* ``validate_certs`` defaults to true: a simulator serving a certificate from a private CA is refused
  (the message names validate_certs and REQUESTS_CA_BUNDLE) until REQUESTS_CA_BUNDLE points at that CA;
  a certificate for another name and a self-signed one are refused even then.
* No code path of the collection calls UpdateRuleset or any firewall method but Enable/DisableRuleset
  (a static scan of plugins/), no run of these tests does (every simulator trace of the reliability,
  security and concurrency tests is scanned after each test: reliability_support.assert_firewall_calls),
  and no module changes a rule set it was not asked to change (read back before and after).
"""
import ast
import json
import os

import pytest

from conftest import ROOT, run_playbook
from reliability_support import (
    BULK,
    FW,
    FWI,
    SP,
    SPI,
    VF,
    VFB,
    VFI,
    Reader,
    firewall_guard,
    make_pki,
    other_sessions,
)
from vsphere_helpers import power, serial_ports

# The autouse fixture, named here so that it is visibly used: scans this file's simulator traces.
pytestmark = [pytest.mark.usefixtures(firewall_guard.__name__), pytest.mark.security]

SECRET = "Vmch-S3cr3t&<%q9-Orchid"
WRONG = "Wr0ng-Gu3ss&<%-Lotus"
USER = "secops@vsphere.local"
NETWORK_PORT = [{"number": 1, "backing": {"type": "network", "service_uri": "telnet://:7001"}}]
RULES = [{"action": "allow", "protocol": "hypervisor", "direction": "host"}]


ENV_TASKS = ("serial check", "serial", "firewall info", "not found", "bad input", "wrong password")


def _tasks():
    return [
        {"name": "serial check", SP: {"name": "DC0_H0_VM0", "serial_ports": NETWORK_PORT}, "check_mode": True},
        {"name": "serial", SP: {"name": "DC0_H0_VM0", "serial_ports": NETWORK_PORT}},
        {"name": "serial info", SPI: {"name": "DC0_H0_VM0"}},
        {"name": "bulk", BULK: {"vms": [{"name": "DC0_C0_RP0_VM0", "serial_ports": NETWORK_PORT},
                                        {"name": "DC0_H0_VM1", "serial_ports": NETWORK_PORT}]}, "ignore_errors": True},
        {"name": "vmci", VF: {"name": "DC0_H0_VM0", "filter_enabled": True, "rules": RULES}},
        {"name": "vmci info", VFI: {"name": "DC0_H0_VM0"}},
        {"name": "vmci bulk", VFB: {"vms": [{"name": "DC0_H0_VM0", "rules": RULES}, {"name": "no-such-vm"}]},
         "check_mode": True, "diff": True, "ignore_errors": True},
        {"name": "firewall", FW: {"esxi_hostname": "DC0_C0_H0", "rulesets": ["vSPC"]}},
        {"name": "firewall info", FWI: {"datacenter": "DC0"}},
        {"name": "not found", SPI: {"name": "no-such-vm"}, "ignore_errors": True},
        {"name": "bad input", SP: {"name": "DC0_H0_VM0", "serial_ports": [{"number": 99}]}, "ignore_errors": True},
        {"name": "powered on", SP: {"name": "DC0_H0_VM1", "serial_ports": NETWORK_PORT}, "ignore_errors": True},
        {"name": "wrong password", SPI: {"name": "DC0_H0_VM0", "password": WRONG}, "ignore_errors": True},
    ]


def test_password_never_in_output(fresh_vcsim, tmp_path):
    sim = fresh_vcsim(vm=2, username=USER, password=SECRET)
    with Reader(sim) as reader:
        power(reader.vm("DC0_H0_VM0"), "poweredOff")
        power(reader.vm("DC0_H0_VM1"), "poweredOn")
        power(reader.vm("DC0_C0_RP0_VM0"), "poweredOff")
        firewalls_before = reader.firewalls()
    connection = {"hostname": sim.host, "port": sim.port, "username": USER, "password": SECRET,
                  "validate_certs": False}
    plays = [
        # the password in the playbook, through module_defaults of the action group
        {"name": "module_defaults", "hosts": "localhost", "connection": "local", "gather_facts": False,
         "module_defaults": {"group/vmchannels.vsphere.vsphere": connection}, "tasks": _tasks()},
        # the password from VMWARE_PASSWORD
        {"name": "environment", "hosts": "localhost", "connection": "local", "gather_facts": False,
         "tasks": [dict(t, name=t["name"] + " (env)") for t in _tasks() if t["name"] in ENV_TASKS]},
    ]
    log = tmp_path / "ansible.log"
    run = run_playbook(tmp_path, plays, sim=sim, args=["-vvv", "--diff"], env={"ANSIBLE_LOG_PATH": str(log)})
    assert run.rc == 0, run  # every failure above is an expected one (ignore_errors)
    assert run.result("serial")["changed"] is True and run.result("serial (env)")["changed"] is False
    bulk = run.task("bulk")  # one VM changed, one refused (powered on): a partial failure with a message
    assert bulk["status"] == "failed" and "1 of 2 VMs could not be changed" in bulk["result"]["msg"], bulk
    vmci_bulk = run.task("vmci bulk")  # check mode: one VM planned, one not found
    assert vmci_bulk["status"] == "failed", vmci_bulk
    assert "1 of 2 VMs could not be changed (check mode: nothing was changed)" in vmci_bulk["result"]["msg"]
    for suffix in ("", " (env)"):
        assert run.result("serial" + suffix)["diff"]["after"]["serial_ports"]["port 1"]
        assert any("remoteSerialPort" in w for w in run.result("serial check" + suffix)["warnings"])
        for name, fragment in (("not found", "No virtual machine named"), ("bad input", "between 1 and 32"),
                               ("powered on", "poweredOn"), ("wrong password", "Cannot log in")):
            if suffix and name not in ENV_TASKS:
                continue
            entry = run.task(name + suffix)
            assert entry["status"] == "failed" and fragment in entry["result"]["msg"], entry
    # Everything a user or a log collector could see: screen (-vvv, diffs), results, the Ansible log.
    seen = {"stdout": run.stdout, "stderr": run.stderr, "results": json.dumps(run.results),
            "log": log.read_text()}
    assert "remoteSerialPort" in seen["stdout"] and "port 1" in seen["stdout"]  # warnings and diffs shown
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in seen["results"]  # the invocation is there, masked
    for where, text in seen.items():
        for secret in (SECRET, WRONG):
            assert secret not in text, "%s leaks a password" % where
            for fragment in (secret[:8], secret[-8:]):  # nor a part of it
                assert fragment not in text, "%s leaks part of a password" % where

    # No module touched a rule set it was not asked for: only vSPC on DC0_C0_H0 changed.
    with Reader(sim) as reader:
        after = reader.firewalls()
    changed = sorted((h, k) for h in after for k in after[h] if after[h][k] != firewalls_before[h][k])
    assert changed == [("DC0_C0_H0", "vSPC")]
    assert after["DC0_C0_H0"]["vSPC"][1:] == firewalls_before["DC0_C0_H0"]["vSPC"][1:]
    assert other_sessions(sim) == []


def test_password_is_no_log_and_the_only_secret_option():
    from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.options import base_argument_spec

    spec = base_argument_spec()
    assert spec["password"]["no_log"] is True
    assert spec["validate_certs"]["default"] is True
    # No other option of any module looks like a secret (it would need no_log too).
    for path in sorted(os.listdir(os.path.join(ROOT, "plugins", "modules"))):
        if not path.endswith(".py"):
            continue
        source = open(os.path.join(ROOT, "plugins", "modules", path)).read()
        options = _doc_options(source)
        suspicious = [o for o in options if any(w in o.lower() for w in ("pass", "secret", "token", "cred", "key"))]
        assert suspicious == [], (path, suspicious)


def _doc_options(source):
    """Option names (nested ones too) of a module's DOCUMENTATION."""
    import yaml

    tree = ast.parse(source)
    doc = [n.value.value for n in tree.body if isinstance(n, ast.Assign)
           and getattr(n.targets[0], "id", None) == "DOCUMENTATION"][0]
    names = []

    def walk(options):
        for name, spec in (options or {}).items():
            names.append(name)
            walk((spec or {}).get("suboptions"))

    walk(yaml.safe_load(doc).get("options"))
    return names


def test_tls_certificate_verification(fresh_vcsim, tmp_path):
    pki = make_pki(str(tmp_path))
    trusted = fresh_vcsim(vm=1, cert=pki["cert"], key=pki["key"])
    self_signed = fresh_vcsim(vm=1, cert=pki["self_cert"], key=pki["self_key"])
    env = dict(trusted.env())
    del env["VMWARE_VALIDATE_CERTS"]  # the default: true
    tasks = [
        {"name": "default trust store", SPI: {"name": "DC0_H0_VM0"}, "ignore_errors": True,
         "environment": {"REQUESTS_CA_BUNDLE": "", "SSL_CERT_FILE": ""}},
        {"name": "CA trusted", SPI: {"name": "DC0_H0_VM0"}, "environment": {"REQUESTS_CA_BUNDLE": pki["ca"]}},
        {"name": "CA trusted, other name", SPI: {"name": "DC0_H0_VM0", "hostname": "localhost"},
         "ignore_errors": True, "environment": {"REQUESTS_CA_BUNDLE": pki["ca"]}},
        {"name": "self-signed", SPI: {"name": "DC0_H0_VM0", "port": self_signed.port, "validate_certs": True},
         "ignore_errors": True, "environment": {"REQUESTS_CA_BUNDLE": pki["ca"]}},
        {"name": "self-signed, not validated", SPI: {"name": "DC0_H0_VM0", "port": self_signed.port,
                                                     "validate_certs": False}},
    ]
    run = run_playbook(tmp_path, tasks, env=env)
    assert "Traceback" not in run.stdout + run.stderr
    for name, reason in (("default trust store", "unable to get local issuer certificate"),
                         ("CA trusted, other name", "match"),
                         ("self-signed", "self-signed certificate")):
        entry = run.task(name)
        assert entry["status"] == "failed", entry
        msg = entry["result"]["msg"]
        assert "could not be verified" in msg and reason in msg, (name, msg)
        assert "validate_certs" in msg and "REQUESTS_CA_BUNDLE" in msg, (name, msg)
        assert entry["result"]["error_kind"] == "tls"
    assert run.result("CA trusted")["vm"]["name"] == "DC0_H0_VM0"
    assert run.result("self-signed, not validated")["vm"]["name"] == "DC0_H0_VM0"
    # A refused handshake never logs in: nothing to clean up on either simulator.
    assert other_sessions(trusted) == [] and other_sessions(self_signed) == []


def _firewall_methods():
    from pyVmomi import vim

    return set(m for m in dir(vim.host.FirewallSystem) if m[:1].isupper() and callable(
        getattr(vim.host.FirewallSystem, m, None)) and m not in ("Array",))


def _code_words(path):
    """Every attribute name, variable name and (non-docstring) string constant of a Python file."""
    tree = ast.parse(open(path).read())
    docstrings = set(id(n.body[0].value) for n in ast.walk(tree)
                     if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef)) and n.body
                     and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            yield node.attr
        elif isinstance(node, ast.Name):
            yield node.id
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.value


def test_no_code_path_calls_update_ruleset():
    """Static scan of plugins/: the only firewall-system methods named anywhere in code (attribute
    access, getattr strings, messages) are EnableRuleset and DisableRuleset, only in esxi_firewall/hosts.py; no
    string even contains UpdateRuleset or builds a RulesetSpec (comments and docstrings may)."""
    methods = _firewall_methods()
    assert {"EnableRuleset", "DisableRuleset", "UpdateRuleset", "UpdateDefaultPolicy"} <= methods
    found = {}
    for folder, dummy, files in os.walk(os.path.join(ROOT, "plugins")):
        for name in (f for f in files if f.endswith(".py")):
            path = os.path.join(folder, name)
            for word in _code_words(path):
                for method in methods | {"RulesetSpec", "IpList"}:
                    if word == method or (method in ("UpdateRuleset", "RulesetSpec") and method in word):
                        found.setdefault(method, set()).add(os.path.relpath(path, ROOT))
    assert set(found) == {"EnableRuleset", "DisableRuleset"}, found
    assert all(paths == {"plugins/module_utils/esxi_firewall/hosts.py"} for paths in found.values()), found


@pytest.mark.parametrize("module", ["all_modules/test_faults", "all_modules/test_concurrency", "all_modules/test_security",
                                    "all_modules/test_bad_input", "vm_serial_port/test_power_cycle"])
def test_every_trace_is_scanned(module):
    """The guard that scans the simulator traces after each test is in place in every test file of
    this suite (reliability_support.firewall_guard)."""
    source = open(os.path.join(ROOT, "tests", "integration", module + ".py")).read()
    assert "firewall_guard" in source


def test_bad_ca_bundle_is_named_before_connecting(fresh_vcsim, tmp_path):
    """A REQUESTS_CA_BUNDLE (or SSL_CERT_FILE) that does not exist, is a directory or holds no PEM
    certificate is named, with its problem, before any request: not "Lost the connection ... may or
    may not have been applied"."""
    sim = fresh_vcsim(vm=1)
    env = dict(sim.env())
    del env["VMWARE_VALIDATE_CERTS"]  # the default: true
    not_pem = tmp_path / "not-a-bundle.pem"
    not_pem.write_text("this is not a certificate\n")
    bundles = {"missing": (str(tmp_path / "no-such-ca.pem"), "which does not exist"),
               "directory": (str(tmp_path), "which is a directory"),
               "not pem": (str(not_pem), "which holds no PEM certificate")}
    tasks = [{"name": name, SPI: {"name": "DC0_H0_VM0"}, "ignore_errors": True,
              "environment": {"REQUESTS_CA_BUNDLE": path}} for name, (path, dummy) in bundles.items()]
    tasks.append({"name": "ssl cert file", SPI: {"name": "DC0_H0_VM0"}, "ignore_errors": True,
                  "environment": {"REQUESTS_CA_BUNDLE": "", "SSL_CERT_FILE": bundles["missing"][0]}})
    sim.reset_trace()
    run = run_playbook(tmp_path, tasks, env=env)
    assert "Traceback" not in run.stdout + run.stderr
    for name, (path, problem) in list(bundles.items()) + [("ssl cert file", (bundles["missing"][0],
                                                                             "which does not exist"))]:
        entry = run.task(name)
        assert entry["status"] == "failed", entry
        msg = entry["result"]["msg"]
        variable = "SSL_CERT_FILE" if name == "ssl cert file" else "REQUESTS_CA_BUNDLE"
        assert "%s is set to %s, %s" % (variable, path, problem) in msg, (name, msg)
        assert "Lost the connection" not in msg and "may or may not" not in msg, msg
        assert entry["result"]["error_kind"] == "tls"
    assert not sim.soap_calls()


URI_SECRETS = ("Pr0xy-Uri-S3cret", "Svc-Uri-S3cret", "T0ken-Uri-S3cret", "H0st-Uri-S3cret", "Px-Uri-S3cret")


def test_credentials_inside_uris_never_in_output(fresh_vcsim, tmp_path):
    """A user name and password inside any URI option (proxy_uri and service_uri of vm_serial_port and
    vm_serial_port_bulk, hostname, proxy_host) are masked in messages, results, diffs and warnings, in
    the -vvv output (the invocation included) and in the Ansible log, whether the value is refused or
    accepted and sent to vSphere (through a vSPC, service_uri may be any token)."""
    sim = fresh_vcsim(vm=2)
    with Reader(sim) as reader:
        for name in ("DC0_H0_VM0", "DC0_H0_VM1"):
            power(reader.vm(name), "poweredOff")
    proxy_uri = "telnet://vspcadmin:Pr0xy-Uri-S3cret@vspc.example.com:13370"
    service_uri = "tcp://svcuser:Svc-Uri-S3cret@console.example.com:7001"
    token = "tokuser:T0ken-Uri-S3cret@port-1"
    vspc_port = [{"number": 1, "backing": {"type": "network", "service_uri": token,
                                           "proxy_uri": "telnet://vspc.example.com:13370"}}]
    tasks = [
        {"name": "proxy_uri refused", SP: {"name": "DC0_H0_VM0", "serial_ports": [{"number": 1, "backing": {
            "type": "network", "service_uri": "vSPC.py", "proxy_uri": proxy_uri}}]}, "ignore_errors": True},
        {"name": "service_uri refused", SP: {"name": "DC0_H0_VM0", "serial_ports": [{"number": 1, "backing": {
            "type": "network", "service_uri": service_uri}}]}, "ignore_errors": True},
        {"name": "token check", SP: {"name": "DC0_H0_VM0", "serial_ports": vspc_port}, "check_mode": True},
        {"name": "token applied", SP: {"name": "DC0_H0_VM0", "serial_ports": vspc_port}, "register": "applied"},
        {"name": "show registered", "ansible.builtin.debug": {"var": "applied"}},
        {"name": "token info", SPI: {"name": "DC0_H0_VM0"}},
        {"name": "bulk", BULK: {"vms": [{"name": "DC0_H0_VM1", "serial_ports": vspc_port}]}},
        {"name": "bulk refused", BULK: {"vms": [{"name": "DC0_H0_VM0", "serial_ports": [{"number": 2, "backing": {
            "type": "network", "service_uri": "vSPC.py", "proxy_uri": proxy_uri}}]}]}, "ignore_errors": True},
        {"name": "hostname", SPI: {"name": "DC0_H0_VM0", "hostname": "https://root:H0st-Uri-S3cret@vc.example.com/sdk"},
         "ignore_errors": True},
        {"name": "proxy_host", SPI: {"name": "DC0_H0_VM0", "proxy_host": "http://pxuser:Px-Uri-S3cret@proxy:3128"},
         "ignore_errors": True},
    ]
    log = tmp_path / "ansible.log"
    run = run_playbook(tmp_path, tasks, sim=sim, args=["-vvv", "--diff"], env={"ANSIBLE_LOG_PATH": str(log)})
    assert run.rc == 0, run
    for name, fragment in (("proxy_uri refused", "telnet://vspcadmin:********@vspc.example.com:13370"),
                           ("bulk refused", "telnet://vspcadmin:********@vspc.example.com:13370"),
                           ("service_uri refused", "tcp://svcuser:********@console.example.com:7001"),
                           ("hostname", "https://root:********@vc.example.com/sdk"),
                           ("proxy_host", "http://pxuser:********@proxy:3128")):
        entry = run.task(name)
        assert entry["status"] == "failed" and fragment in entry["result"]["msg"], entry
    applied = run.result("token applied")
    assert applied["changed"] is True
    assert applied["serial_ports"][0]["backing"]["service_uri"] == "tokuser:********@port-1"
    assert applied["diff"]["after"]["serial_ports"]["port 1"]["backing"]["service_uri"] == "tokuser:********@port-1"
    assert run.result("token info")["serial_ports"][0]["backing"]["service_uri"] == "tokuser:********@port-1"
    bulk = run.result("bulk")
    assert bulk["vms"][0]["serial_ports"][0]["backing"]["service_uri"] == "tokuser:********@port-1"
    assert bulk["diff"]["after"]["vms"]
    with Reader(sim) as reader:  # what was sent is the value given, not the masked one
        assert serial_ports(reader.vm("DC0_H0_VM0"))[1]["backing"]["serviceURI"] == token
    seen = {"stdout": run.stdout, "stderr": run.stderr, "results": json.dumps(run.results), "log": log.read_text()}
    assert "invocation" in seen["stdout"] and "tokuser:********@port-1" in seen["stdout"]
    assert run.result("show registered")["applied"]["serial_ports"][0]["backing"]["service_uri"] == "tokuser:********@port-1"
    for where, text in seen.items():
        for secret in URI_SECRETS:
            assert secret not in text, "%s shows %s" % (where, secret)
    assert other_sessions(sim) == []


#: One password per character that cuts a strict parse of a URI's authority short, and a space; each
#: is checked whole and by its two halves (a mask that stops at the character shows the second half).
PASSWORDS = {"/": "Head4Slash/Tail4Slash", "#": "Head4Hash#Tail4Hash", "?": "Head4Query?Tail4Query",
             "@": "Head4At@Tail4At", ":": "Head4Colon:Tail4Colon", "%": "Head4Pct%40Tail4Pct",
             " ": "Head4Space Tail4Space"}
DRIFT_PASSWORD = "Head4Drift/Tail4Drift@x"
VSPC = "telnet://vspc.example.com:13370"


def _vspc_ports(passwords):
    """Ports 1..n through a vSPC, each with a service URI ``ops:PASSWORD@port-N``."""
    return [{"number": n, "backing": {"type": "network", "service_uri": "ops:%s@port-%d" % (p, n), "proxy_uri": VSPC}}
            for n, p in enumerate(passwords, 1)]


def _assert_no_password(seen):
    """No password, nor either side of its first special character (letters and digits only, so an
    escaped copy in the HTML report or the JSON is found too)."""
    for password in list(PASSWORDS.values()) + [DRIFT_PASSWORD]:
        head, dummy, tail = password.partition(next(c for c in password if not c.isalnum()))
        for part in (password, head, tail.rstrip("@x")):
            for where, text in seen.items():
                assert part not in text, "%s shows %r (of the password %r)" % (where, part, password)


def test_passwords_of_any_character_never_shown(fresh_vcsim, tmp_path):
    """Passwords holding / # ? @ : % inside vSPC service URIs: --check --diff, then the real change, at
    -vvv: neither the screen, the results, the Ansible log nor the audit's three reports show any of them
    or a part; vSphere gets the URIs as given. A tcp:// URI with credentials is refused, saying why and
    what to write; a password with a space (refused: no spaces in a URI), and one in a task that fails
    while the module is being built (a wrong type), are masked in the -vvv invocation too."""
    sim = fresh_vcsim(vm=2)
    with Reader(sim) as reader:
        for name in ("DC0_H0_VM0", "DC0_H0_VM1"):
            power(reader.vm(name), "poweredOff")
    accepted = [p for c, p in PASSWORDS.items() if c != " "]
    ports = _vspc_ports(accepted)
    change = [{"name": "change", SP: {"name": "DC0_H0_VM0", "serial_ports": ports}},
              {"name": "bulk", BULK: {"vms": [{"name": "DC0_H0_VM1", "serial_ports": ports}]}}]
    refused = [
        {"name": "tcp refused", SP: {"name": "DC0_H0_VM0", "serial_ports": [{"number": 9, "backing": {
            "type": "network", "service_uri": "tcp://ops:%s@console.example.com:7001" % PASSWORDS["/"]}}]},
         "ignore_errors": True},
        {"name": "space refused", SP: {"name": "DC0_H0_VM0", "serial_ports": _vspc_ports([PASSWORDS[" "]])},
         "ignore_errors": True},
        {"name": "wrong type", SP: {"name": "DC0_H0_VM0",
                                    "serial_ports": [dict(_vspc_ports([PASSWORDS["#"]])[0], number="one")]},
         "ignore_errors": True},
        {"name": "info", SPI: {"name": "DC0_H0_VM0"}},
    ]
    log = tmp_path / "ansible.log"
    env = {"ANSIBLE_LOG_PATH": str(log)}
    check = run_playbook(tmp_path, change, sim=sim, args=["-vvv", "--check", "--diff"], env=env, name="check")
    assert check.rc == 0, check
    assert check.result("change")["changed"] is True
    with Reader(sim) as reader:
        assert serial_ports(reader.vm("DC0_H0_VM0")) == {}  # check mode changed nothing
    run = run_playbook(tmp_path, change + refused, sim=sim, args=["-vvv", "--diff"], env=env, name="run")
    assert run.rc == 0, run
    result = run.result("change")
    assert result["changed"] is True
    shown = ["ops:********@port-%d" % n for n in range(1, len(accepted) + 1)]
    assert [p["backing"]["service_uri"] for p in result["serial_ports"]] == shown
    assert [p["backing"]["service_uri"] for p in check.result("change")["serial_ports"]] == shown
    after = check.result("change")["diff"]["after"]["serial_ports"]
    assert [after["port %d" % n]["backing"]["service_uri"] for n in range(1, len(accepted) + 1)] == shown
    assert [p["backing"]["service_uri"] for p in run.result("bulk")["vms"][0]["serial_ports"]] == shown
    assert [p["backing"]["service_uri"] for p in run.result("info")["serial_ports"]] == shown
    with Reader(sim) as reader:  # vSphere got the URIs as given
        for name in ("DC0_H0_VM0", "DC0_H0_VM1"):
            got = serial_ports(reader.vm(name))
            assert [got[n]["backing"]["serviceURI"] for n in sorted(got)] == [p["backing"]["service_uri"] for p in ports]
    tcp = run.task("tcp refused")
    assert tcp["status"] == "failed"
    assert ("service_uri 'tcp://ops:********@console.example.com:7001' carries a user name or password"
            in tcp["result"]["msg"]) and "write tcp://console.example.com:7001" in tcp["result"]["msg"], tcp
    assert "without spaces" in run.task("space refused")["result"]["msg"]
    assert run.task("wrong type")["status"] == "failed"
    assert "ops:********@port-1" in run.stdout  # the -vvv invocation is there, masked

    # The audit: the inventory asks port 1 with another password (drift), the reports show it masked.
    wanted = _vspc_ports([DRIFT_PASSWORD] + accepted[1:])
    inventory = tmp_path / "hosts.json"
    inventory.write_text(json.dumps({"vms": {"hosts": {"DC0_H0_VM0": {"serial_console_ports": wanted}},
                                             "vars": {"ansible_connection": "local"}}}))
    report_dir = tmp_path / "report"
    extra = {"vcenter_hostname": sim.host, "vcenter_port": sim.port, "vcenter_username": sim.username,
             "vcenter_password": sim.password, "vcenter_validate_certs": False, "audit_report_dir": str(report_dir)}
    audit = run_playbook(tmp_path, [{"import_playbook": os.path.join(ROOT, "playbooks", "audit.yml")}],
                         inventory=str(inventory), args=["-vvv", "-e", json.dumps(extra)], env=env, name="audit")
    assert audit.rc == 0, audit
    reports = dict((ext, (report_dir / ("vmchannels-audit." + ext)).read_text()) for ext in ("md", "json", "html"))
    record = json.loads(reports["json"])["vms"][0]
    assert record["status"] == "drifted", record
    assert record["drift"] == ["port 1: service_uri ops:********@port-1 -> ops:********@port-1 (credentials changed)"]
    assert [p["backing"]["service_uri"] for p in record["serial_ports"]] == shown
    assert "ops:********@port-1" in reports["md"] and "ops:********@port-1" in reports["html"]
    seen = {"check stdout": check.stdout, "check stderr": check.stderr, "check results": json.dumps(check.results),
            "stdout": run.stdout, "stderr": run.stderr, "results": json.dumps(run.results),
            "audit stdout": audit.stdout, "audit stderr": audit.stderr, "audit results": json.dumps(audit.results),
            "log": log.read_text()}
    seen.update(("audit " + ext, text) for ext, text in reports.items())
    _assert_no_password(seen)
    assert other_sessions(sim) == []


def test_serial_console_role_never_prints_uri_passwords(fresh_vcsim, tmp_path):
    """The serial_console role with vSPC service URIs carrying passwords, at -vvv with --diff, in bulk
    mode then in the default mode (a changed password each time), with a VM whose invalid input fails alone
    (the bulk module plans the others of its group): the role's facts and loop items never print a password
    (its internal facts are not printed then, its loops go over names), the VMs get the URIs as given."""
    sim = fresh_vcsim(vm=2)
    with Reader(sim) as reader:
        for name in ("DC0_H0_VM0", "DC0_H0_VM1"):
            power(reader.vm(name), "poweredOff")
    for bulk, password in ((True, PASSWORDS["/"]), (False, PASSWORDS["#"])):
        ports = _vspc_ports([password])
        hosts = {"DC0_H0_VM0": {"serial_console_ports": ports}, "DC0_H0_VM1": {"serial_console_ports": ports},
                 "DC0_C0_RP0_VM0": {"serial_console_ports": [{"number": 33, "backing": {"type": "thinprint"}}]}}
        inventory = tmp_path / "hosts.json"
        inventory.write_text(json.dumps({"vms": {"hosts": hosts, "vars": {"ansible_connection": "local"}}}))
        run = run_playbook(tmp_path, [{"import_playbook": os.path.join(ROOT, "playbooks", "serial_console.yml")}],
                           sim=sim, inventory=str(inventory), name="bulk" if bulk else "default",
                           args=["-vvv", "--diff", "-e", json.dumps({"serial_console_bulk": bulk})])
        assert run.rc == 2, run  # DC0_C0_RP0_VM0 fails (port 33), the others are configured
        assert "ops:********@port-1" in run.stdout  # the diff, masked
        with Reader(sim) as reader:
            for name in ("DC0_H0_VM0", "DC0_H0_VM1"):
                assert serial_ports(reader.vm(name))[1]["backing"]["serviceURI"] == ports[0]["backing"]["service_uri"]
        _assert_no_password({"stdout": run.stdout, "stderr": run.stderr, "results": json.dumps(run.results)})
