"""Bad input, through real ansible-playbook runs: every case of the table below must fail before the
first vSphere API request (the simulator's trace stays empty for the whole run), with a message that
names the option and says what is allowed, and without a traceback.

The cases run as tasks with ``ignore_errors`` in ONE playbook; the inventory has four names
(``b0``..``b3``, all local) and the play uses the ``free`` strategy, so four module runs go at once
and each task runs on one of them. What counts as "bad" (decided per input): a value no vSphere
object could ever have (wrong type, out-of-range number, malformed URI or datastore path, unknown
choice, conflicting or duplicate options, empty or over-long string). A well-formed name that simply
does not exist (including non-ASCII names, which vSphere allows) is not bad input: it needs a look-up
and must end in a clean "not found" (see test_legal_but_unknown_names).
"""
import pytest
from vcsimctl import Simulator

from conftest import run_playbook
from reliability_support import (
    BULK,
    FW,
    FWI,
    SP,
    SPI,
    VF,
    VFI,
    firewall_guard,
    register_trace,
)

# The autouse fixture, named here so that it is visibly used: scans this file's simulator traces.
pytestmark = [pytest.mark.usefixtures(firewall_guard.__name__), pytest.mark.bad_input]

VM = {"name": "DC0_H0_VM0"}
THINPRINT = [{"number": 1, "backing": {"type": "thinprint"}}]
LONG = "x" * 5000
DENY = {"action": "deny", "protocol": "stream", "direction": "host"}


def port(**backing):
    return dict(VM, serial_ports=[{"number": 1, "backing": backing}])


def rule(**fields):
    out = dict(DENY)
    out.update(fields)
    return out


# (case id, module, arguments, fragments the message must contain: the option and what is allowed)
CASES = [
    # -- connection options (every module shares them) --
    ("port not a number", SPI, dict(VM, port="https"), ["port", "int"]),
    ("port out of range", SPI, dict(VM, port=70000), ["port", "1", "65535"]),
    ("timeout zero", VFI, dict(VM, timeout=0), ["timeout", "at least 1"]),
    ("validate_certs not a boolean", SPI, dict(VM, validate_certs="maybe"), ["validate_certs", "bool"]),
    ("hostname empty", VFI, dict(VM, hostname=""), ["hostname", "empty"]),
    ("hostname is a URL", SPI, dict(VM, hostname="https://vc.example.com/sdk"), ["hostname", "vc.example.com"]),
    ("proxy_port out of range", VFI, dict(VM, proxy_host="proxy", proxy_port=123456), ["proxy_port", "65535"]),
    ("proxy_host a URL", SPI, dict(VM, proxy_host="http://proxy.example.com:3128"),
     ["proxy_host", "'proxy.example.com'", "proxy_port"]),
    ("password empty", FWI, dict(datacenter="DC0", password=""), ["password is empty", "VMWARE_PASSWORD"]),
    ("unknown option", SPI, dict(VM, serial_port=1), ["serial_port", "Supported parameters include"]),
    # -- VM identity --
    ("no VM identity", SPI, {}, ["one of the following is required: name, uuid, moid"]),
    ("name and uuid", VF, dict(VM, uuid="42165fa3-1b6e-1c0f-3c2a-a2e2b7b2e0a1", filter_enabled=True),
     ["mutually exclusive", "name", "uuid"]),
    ("name empty", SP, dict(name="", serial_ports=THINPRINT), ["name must not be empty"]),
    ("name of 5000 characters", VF, dict(name=LONG, filter_enabled=False), ["name", "at most 80"]),
    ("uuid malformed", SPI, dict(uuid="not-a-uuid"), ["uuid", "32 hexadecimal digits"]),
    ("uuid non-ASCII", VFI, dict(uuid="4216\u00e9fa3-1b6e-1c0f-3c2a-a2e2b7b2e0a1"), ["uuid", "32 hexadecimal digits"]),
    ("datacenter empty", SPI, dict(VM, datacenter=""), ["datacenter must not be empty"]),
    # -- vm_serial_port --
    ("serial_ports missing", SP, dict(VM), ["serial_ports"]),
    # ansible-core 2.19 reports first the error of its no_log scan of sub-options, which does not name
    # the option ("dictionary requested, could not parse JSON or key=value"); its second error would.
    ("serial_ports not a list of dicts", SP, dict(VM, serial_ports="port1"), ["dictionary requested"]),
    ("number not a number", SP, dict(VM, serial_ports=[{"number": "one", "backing": {"type": "thinprint"}}]),
     ["number", "int"]),
    ("number zero", SP, dict(VM, serial_ports=[{"number": 0, "backing": {"type": "thinprint"}}]),
     ["number must be between 1 and 32"]),
    ("duplicate port number", SP, dict(VM, serial_ports=[{"number": 2, "backing": {"type": "thinprint"}},
                                                         {"number": 2, "backing": {"type": "file",
                                                                                   "file_path": "[ds] a.log"}}]),
     ["port number 2 is listed twice"]),
    ("backing type unknown", SP, port(type="serial"), ["type", "network, pipe, file, device, thinprint"]),
    ("service_uri without colon", SP, port(type="network", service_uri="tcp://5000"), ["service_uri", "tcp://:5000"]),
    ("service_uri of 5000 characters", SP, port(type="network", service_uri="telnet://" + LONG + ":1"),
     ["service_uri"]),
    ("direction unknown", SP, port(type="network", service_uri="telnet://:7001", direction="inbound"),
     ["direction", "server, client"]),
    ("proxy_uri with credentials", SP, port(type="network", service_uri="vSPC.py",
                                            proxy_uri="telnet://admin:pw@vspc:13370"),
     ["proxy_uri", "user name or password"]),
    ("file_path not a datastore path", SP, port(type="file", file_path="/vmfs/volumes/ds1/a.log"),
     ["file_path", "[DATASTORE] FOLDER/FILE"]),
    ("file without file_path", SP, port(type="file"), ["file_path is required for a file backing"]),
    ("pipe without pipe_name", SP, port(type="pipe", endpoint="client"), ["pipe_name is required"]),
    ("device_name and auto_detect", SP, port(type="device", device_name="/dev/ttyS0", auto_detect=True),
     ["device_name and auto_detect", "exclude each other"]),
    ("field of another backing", SP, port(type="file", file_path="[ds] a.log", pipe_name="x"),
     ["pipe_name", "file backing"]),
    ("absent with a backing", SP, dict(VM, serial_ports=[{"number": 1, "state": "absent",
                                                          "backing": {"type": "thinprint"}}]),
     ["state absent takes only number", "backing"]),
    # -- vm_serial_port_bulk --
    ("bulk: vms missing", BULK, {}, ["vms"]),
    ("bulk: vms empty", BULK, dict(vms=[]), ["vms is empty"]),
    ("bulk: VM without identity", BULK, dict(vms=[{"serial_ports": THINPRINT}]),
     ["one of the following is required: name, uuid, moid", "vms"]),
    # a VM listed twice is the failure of the later entry; the earlier one is invalid too, so nothing is asked
    # (a duplicate of a valid entry: vm_serial_port_bulk/test_invalid_entries.py)
    ("bulk: VM listed twice", BULK, dict(vms=[dict(VM, serial_ports=[{"number": 40, "backing": {"type": "thinprint"}}]),
                                              dict(VM, serial_ports=THINPRINT)]),
     ["vms[1] (DC0_H0_VM0): the VM is listed twice"]),
    ("bulk: bad port of one VM", BULK, dict(vms=[dict(VM, serial_ports=[{"number": 40, "backing": {"type": "thinprint"}}])]),
     ["vms[0] (DC0_H0_VM0)", "number must be between 1 and 32"]),
    ("bulk: unknown backing field", BULK, dict(vms=[dict(VM, serial_ports=[{"number": 1, "backing": {
        "type": "thinprint", "speed": 9600}}])]), ["speed", "Supported parameters include"]),
    ("bulk: parallel zero", BULK, dict(vms=[dict(VM, serial_ports=THINPRINT)], parallel=0),
     ["parallel must be at least 1"]),
    # -- esxi_serial_firewall_ruleset(_info) --
    ("rulesets missing", FW, dict(cluster_name="DC0_C0"), ["rulesets"]),
    ("ruleset of another service", FW, dict(cluster_name="DC0_C0", rulesets=["sshServer"]),
     ["rulesets", "remoteSerialPort, vSPC", "sshServer"]),
    ("ruleset wrong case", FW, dict(cluster_name="DC0_C0", rulesets=["vspc"]), ["rulesets", "remoteSerialPort, vSPC"]),
    ("rulesets as one string", FW, dict(cluster_name="DC0_C0", rulesets="remoteSerialPort,httpClient"),
     ["rulesets", "httpClient"]),
    ("rulesets empty", FW, dict(cluster_name="DC0_C0", rulesets=[]), ["rulesets is empty", "remoteSerialPort, vSPC"]),
    ("state unknown (firewall)", FW, dict(cluster_name="DC0_C0", rulesets=["vSPC"], state="on"),
     ["state", "enabled, disabled"]),
    ("no host selected", FW, dict(rulesets=["vSPC"]), ["esxi_hostname", "cluster_name", "datacenter"]),
    ("host and cluster", FW, dict(rulesets=["vSPC"], esxi_hostname=["DC0_C0_H0"], cluster_name="DC0_C0"),
     ["mutually exclusive", "esxi_hostname", "cluster_name"]),
    ("cluster_name empty", FWI, dict(cluster_name=""), ["cluster_name is empty"]),
    ("info takes no rulesets", FWI, dict(datacenter="DC0", rulesets=["vSPC"]), ["rulesets", "Supported parameters"]),
    # -- vm_vmci_filter(_info) --
    ("nothing to do", VF, dict(VM), ["filter_enabled", "rules"]),
    ("absent with rules", VF, dict(VM, state="absent", rules=[DENY]), ["state=absent", "rules"]),
    ("action unknown", VF, dict(VM, rules=[rule(action="permit")]), ["action", "allow, deny"]),
    ("protocol unknown", VF, dict(VM, rules=[rule(protocol="tcp")]), ["protocol", "hypervisor", "anyProtocol"]),
    ("ports out of range", VF, dict(VM, rules=[rule(ports="70000")]), ["ports", "0-65535"]),
    ("ports a boolean", VF, dict(VM, rules=[rule(ports=True)]), ["ports", "2000-2010"]),
    ("duplicate ranks", VF, dict(VM, rules=[rule(rank=1), rule(rank=1, action="allow")]),
     ["same rank 1", "unique"]),
    ("rank negative", VF, dict(VM, rules=[rule(rank=-3)]), ["rank -3", "0-4294967295"]),
    ("rank above 2^32-1", VF, dict(VM, rules=[rule(rank=2 ** 32)]), ["rank 4294967296", "0-4294967295"]),
    ("rank on some rules only", VF, dict(VM, rules=[rule(rank=1), rule(action="allow")]),
     ["rank is set on rule #1 but not on #2"]),
    ("filter_enabled not a boolean", VF, dict(VM, filter_enabled="yes please"), ["filter_enabled", "bool"]),
]

STREAMS = 4


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    simulator = register_trace(Simulator(vm=1, trace=str(tmp_path_factory.mktemp("badinput") / "trace.jsonl")).start())
    yield simulator
    simulator.stop()


def _playbook(cases):
    tasks = []
    for index, (case, module, args, dummy) in enumerate(cases):
        tasks.append({"name": case, module: args, "ignore_errors": True,
                      "when": "inventory_hostname == 'b%d'" % (index % STREAMS)})
    return [{"hosts": "all", "connection": "local", "gather_facts": False, "strategy": "free", "tasks": tasks}]


def test_every_bad_input_fails_before_any_request(tmp_path, sim):
    assert len(CASES) >= 40 and len(set(c[0] for c in CASES)) == len(CASES)
    sim.reset_trace()
    run = run_playbook(tmp_path, _playbook(CASES), sim=sim, inventory=",".join("b%d" % i for i in range(STREAMS)) + ",",
                       args=["--forks", str(STREAMS)], env={"ANSIBLE_PIPELINING": "true"})
    calls = sim.soap_calls()
    failures = ["requests were made: %s" % dict(calls)] if calls else []
    if "Traceback" in run.stdout + run.stderr:
        failures.append("a traceback was printed")
    for case, module, args, fragments in CASES:
        entry = [e for e in run.results if e["task"] == case and e["status"] != "skipped"]
        if len(entry) != 1:
            failures.append("%s: ran %d times" % (case, len(entry)))
            continue
        result = entry[0]["result"]
        msg = str(result.get("msg"))
        if entry[0]["status"] != "failed":
            failures.append("%s: did not fail (%s)" % (case, entry[0]["status"]))
        missing = [f for f in fragments if f not in msg]
        if missing:
            failures.append("%s: %s not in %r" % (case, missing, msg))
        if "MODULE FAILURE" in msg or "Module failed" in msg or "Traceback" in str(result.get("exception", "")):
            failures.append("%s: crashed: %r" % (case, msg))
    assert not failures, "\n".join(failures)


def test_missing_connection_options_name_the_variable(tmp_path, sim):
    """Without the option and its VMWARE_* variable (none is set for this run), the message names both,
    as vmware.vmware does, instead of Ansible's bare "missing required arguments"."""
    tasks = [
        {"name": "nothing", SPI: dict(VM), "ignore_errors": True},
        {"name": "no password", BULK: {"hostname": sim.host, "username": sim.username, "vms": [
            dict(VM, serial_ports=THINPRINT)]}, "ignore_errors": True},
        {"name": "no user", FW: {"hostname": sim.host, "password": sim.password, "datacenter": "DC0",
                                 "rulesets": ["vSPC"]}, "ignore_errors": True},
    ]
    sim.reset_trace()
    run = run_playbook(tmp_path, tasks, sim=None, name="missing")  # sim=None: no VMWARE_* variable
    assert not sim.soap_calls()
    assert "Traceback" not in run.stdout + run.stderr
    expected = {
        "nothing": ["hostname is missing: set the hostname option or the VMWARE_HOST environment variable",
                    "username is missing: set the username option or the VMWARE_USER environment variable",
                    "password is missing: set the password option or the VMWARE_PASSWORD environment variable"],
        "no password": ["password is missing", "VMWARE_PASSWORD"],
        "no user": ["username is missing", "VMWARE_USER"],
    }
    for name, fragments in expected.items():
        entry = run.task(name)
        assert entry["status"] == "failed", entry
        msg = entry["result"]["msg"]
        assert all(f in msg for f in fragments) and "missing required arguments" not in msg, (name, msg)
    assert "hostname" not in run.result("no password")["msg"]


def test_legal_but_unknown_names(tmp_path, sim):
    """Well-formed names that do not exist (non-ASCII ones included: vSphere allows them) need a
    look-up, and end in a clean not-found error naming what was looked for."""
    tasks = [
        {"name": "non-ASCII VM name", SP: {"name": "Bücher-Server-東京", "serial_ports": THINPRINT}, "ignore_errors": True},
        {"name": "non-ASCII VM name (info)", VFI: {"name": "Serveur-élan"}, "ignore_errors": True},
        {"name": "unknown uuid", SPI: {"uuid": "00000000-1111-2222-3333-444444444444"}, "ignore_errors": True},
        {"name": "unknown moid", VF: {"moid": "vm-999999", "filter_enabled": True}, "ignore_errors": True},
        {"name": "unknown host", FW: {"esxi_hostname": ["esx-ünknown.example"], "rulesets": ["vSPC"]},
         "ignore_errors": True},
        {"name": "unknown cluster", FWI: {"cluster_name": "Clüster-9"}, "ignore_errors": True},
        {"name": "unknown datacenter", FWI: {"datacenter": "DC-Zürich"}, "ignore_errors": True},
    ]
    expected = {
        "non-ASCII VM name": "No virtual machine named 'Bücher-Server-東京'",
        "non-ASCII VM name (info)": "No virtual machine named 'Serveur-élan'",
        "unknown uuid": "No virtual machine has the BIOS or instance UUID 00000000-1111-2222-3333-444444444444",
        "unknown moid": "vm-999999",
        "unknown host": "No ESXi host named 'esx-ünknown.example'",
        "unknown cluster": "No cluster named 'Clüster-9'",
        "unknown datacenter": "No datacenter named 'DC-Zürich'",
    }
    run = run_playbook(tmp_path, tasks, sim=sim)
    assert "Traceback" not in run.stdout + run.stderr
    for name, fragment in expected.items():
        assert run.task(name)["status"] == "failed", run.task(name)
        result = run.result(name)
        assert fragment in result["msg"], (name, result["msg"])
        assert result["error_kind"] == "not_found", (name, result)


SC = "vmchannels.vsphere.serial_console"
VW = "vmchannels.vsphere.vmci_firewall"
ROLE_CASES = [
    # rejected by the role's meta/argument_specs.yml
    ("role: ports not a list of dicts", SC, dict(serial_console_ports="port1"), ["serial_console_ports", "dict"]),
    ("role: port number not a number", SC, dict(serial_console_ports=[{"number": "one", "backing": {"type": "thinprint"}}]),
     ["number", "int"]),
    ("role: port number missing", SC, dict(serial_console_ports=[{"backing": {"type": "thinprint"}}]), ["number"]),
    ("role: backing type unknown", SC, dict(serial_console_ports=[{"number": 1, "backing": {"type": "serial"}}]),
     ["type", "network, pipe, file, device, thinprint"]),
    ("role: firewall scope unknown", SC, dict(serial_console_firewall_scope="datacenter"),
     ["serial_console_firewall_scope", "cluster, host"]),
    ("role: exclusive not a boolean", SC, dict(serial_console_exclusive="sometimes"), ["serial_console_exclusive", "bool"]),
    ("role: profile unknown", VW, dict(vmci_firewall_profile="open"),
     ["vmci_firewall_profile", "deny_all, hypervisor_only, unrestricted"]),
    ("role: rule action unknown", VW, dict(vmci_firewall_rules=[{"action": "permit", "protocol": "stream",
                                                                 "direction": "host"}]), ["action", "allow, deny"]),
    ("role: enabled not a boolean", VW, dict(vmci_firewall_enabled="maybe"), ["vmci_firewall_enabled", "bool"]),
    # accepted by the argument specs, rejected by the modules before any request
    ("role: port number 0", SC, dict(serial_console_ports=[{"number": 0, "backing": {"type": "thinprint"}}]),
     ["number must be between 1 and 32"]),
    ("role: vSPC URI with credentials", SC, dict(serial_console_ports=[{"number": 1, "backing": {
        "type": "network", "service_uri": "vSPC.py", "proxy_uri": "telnet://u:p@vspc:1"}}]),
     ["proxy_uri", "user name or password"]),
    ("role: empty VM name", SC, dict(serial_console_vm="", serial_console_ports=[{"number": 1, "backing": {
        "type": "thinprint"}}]), ["serial_console_vm must not be empty"]),  # the role's variable, not the option
    ("role: rule ports out of range", VW, dict(vmci_firewall_rules=[{"action": "deny", "protocol": "stream",
                                                                     "direction": "host", "ports": "70000"}]),
     ["ports", "0-65535"]),
    ("role: duplicate ranks", VW, dict(vmci_firewall_rules=[
        {"action": "deny", "protocol": "stream", "direction": "host", "rank": 3},
        {"action": "allow", "protocol": "hypervisor", "direction": "host", "rank": 3}]), ["same rank 3"]),
]


def test_role_inputs_fail_before_any_request(tmp_path, sim):
    """Each case includes the role in a block; the rescue records the failure's message. The roles
    check their inputs with meta/argument_specs.yml, and what those cannot express is refused by the
    modules they call, before any request in both cases."""
    tasks = []
    for index, (case, role, variables, dummy) in enumerate(ROLE_CASES):
        variables = dict(variables)
        variables.setdefault("serial_console_vm" if role == SC else "vmci_firewall_vm", "DC0_H0_VM0")
        tasks.append({"name": case, "block": [{"name": "include " + case, "ansible.builtin.include_role": {
            "name": role}, "vars": variables}], "rescue": [{"name": "record %d" % index, "ansible.builtin.set_fact": {
                "role_case_%d" % index: "{{ ansible_failed_result.msg }}"}}]})
    sim.reset_trace()
    run = run_playbook(tmp_path, tasks, sim=sim, name="roles")
    calls = sim.soap_calls()
    assert run.rc == 0, run
    assert not calls, "requests were made: %s" % dict(calls)
    assert "Traceback" not in run.stdout + run.stderr
    failures = []
    for index, (case, dummy, dummy2, fragments) in enumerate(ROLE_CASES):
        try:
            msg = run.result("record %d" % index)["ansible_facts"]["role_case_%d" % index]
        except KeyError:
            failures.append("%s: the role did not fail" % case)
            continue
        missing = [f for f in fragments if f not in msg]
        if missing:
            failures.append("%s: %s not in %r" % (case, missing, msg))
    assert not failures, "\n".join(failures)
