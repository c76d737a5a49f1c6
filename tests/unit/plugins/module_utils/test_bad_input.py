"""Bad input against the pure validation functions the modules call before connecting: one table
per function, each message must name the option and say what is allowed. (The end-to-end table, which
also proves that no request is made, is tests/integration/all_modules/test_bad_input.py; this one
covers more variants at no cost.)"""
import pytest
from ansible_collections.vmchannels.vsphere.plugins.module_utils.esxi_firewall.rulesets import validate_params
from ansible_collections.vmchannels.vsphere.plugins.module_utils.serial_ports.validation import validate_ports
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vmci.rules import validate as validate_vmci
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.options import (
    connection_errors,
    connection_sources,
    vm_identity_errors,
)

GOOD_CONNECTION = dict(hostname="vc.example.com", username="ops@vsphere.local", password="x-Secret-9", port=443,
                       proxy_port=None, timeout=300)


@pytest.mark.parametrize("changes,fragments", [
    (dict(port=0), ["port is 0", "1-65535"]),
    (dict(port=65536), ["port is 65536", "1-65535"]),
    (dict(port=-443), ["port", "1-65535"]),
    (dict(proxy_port=0), ["proxy_port is 0", "1-65535"]),
    (dict(proxy_port=99999), ["proxy_port", "1-65535"]),
    (dict(timeout=0), ["timeout is 0", "at least 1"]),
    (dict(timeout=-5), ["timeout is -5", "at least 1"]),
    (dict(hostname="https://vc.example.com/sdk"), ["hostname", "is a URL", "'vc.example.com'"]),
    (dict(hostname="https://admin:pw@vc.example.com"), ["hostname", "'vc.example.com'"]),
    (dict(hostname="vc.example.com/sdk"), ["hostname", "'vc.example.com'"]),
    (dict(hostname="vc example.com"), ["hostname", "contains spaces"]),
    (dict(hostname="vc.example.com\t"), ["hostname", "contains spaces"]),
    # a missing connection option names the option and its VMWARE_* variable (as vmware.vmware does)
    (dict(hostname=None), ["hostname is missing", "the hostname option or the VMWARE_HOST environment variable"]),
    (dict(username=None), ["username is missing", "VMWARE_USER"]),
    (dict(password=None), ["password is missing", "VMWARE_PASSWORD"]),
    (dict(hostname=" "), ["hostname is empty", "VMWARE_HOST"]),
    (dict(password=""), ["password is empty", "VMWARE_PASSWORD"]),
    (dict(hostname=None, username=None, password=None), ["VMWARE_HOST", "VMWARE_USER", "VMWARE_PASSWORD"]),
    # credentials inside a URI are masked, never repeated
    (dict(hostname="https://admin:Hidden-Pw-77@vc.example.com/sdk"), ["https://admin:********@vc.example.com/sdk"]),
    (dict(proxy_host="http://px:Hidden-Pw-77@proxy.example.com:3128"),
     ["proxy_host 'http://px:********@proxy.example.com:3128' is not a host name", "'proxy.example.com'", "proxy_port"]),
    (dict(proxy_host="proxy example"), ["proxy_host", "not a host name"]),
])
def test_connection_options(changes, fragments):
    params = dict(GOOD_CONNECTION, **changes)
    message = "; ".join(connection_errors(params))
    for fragment in fragments:
        assert fragment in message, message
    assert "Hidden-Pw-77" not in message


@pytest.mark.parametrize("changes,task,environ,fragments,absent", [
    # a port in hostname: refused with both values, whatever port says (one way to give the port)
    (dict(hostname="127.0.0.1:1", port=37919), {"hostname", "port"}, {},
     ["hostname '127.0.0.1:1' includes a port (1), and port is 37919", "hostname ('127.0.0.1')", "only in port"],
     ["VMWARE"]),
    (dict(hostname="127.0.0.1:1", port=443), {"hostname"}, {},
     ["hostname '127.0.0.1:1' includes a port (1), and port is 443 (its default)"], ["VMWARE"]),
    (dict(hostname="127.0.0.1:1", port=37919), set(), {"VMWARE_HOST": "127.0.0.1:1", "VMWARE_PORT": "37919"},
     ["VMWARE_HOST '127.0.0.1:1' includes a port (1), and VMWARE_PORT is 37919", "only in VMWARE_PORT"],
     ["hostname"]),
    (dict(hostname="[fe80::1]:444"), {"hostname"}, {}, ["includes a port (444)", "('fe80::1')"], []),
    # a URL: the host alone as the example, the port where it goes
    (dict(hostname="https://127.0.0.1:37919/sdk"), {"hostname"}, {},
     ["hostname 'https://127.0.0.1:37919/sdk' is a URL", "for example '127.0.0.1'", "the port 37919 in port"],
     ["'127.0.0.1:37919'", "VMWARE", "username"]),
    (dict(hostname="https://vc.example.com/sdk"), set(), {"VMWARE_HOST": "https://vc.example.com/sdk"},
     ["VMWARE_HOST 'https://vc.example.com/sdk' is a URL", "'vc.example.com'"], ["port"]),
    (dict(proxy_host="http://proxy:3128"), {"proxy_host"}, {"VMWARE_HOST": "x"}, ["proxy_host 'http://proxy:3128'"],
     ["VMWARE_PROXY_HOST"]),
])
def test_connection_options_name_what_the_run_used(changes, task, environ, fragments, absent):
    message = "; ".join(connection_errors(dict(GOOD_CONNECTION, **changes), connection_sources(task, environ)))
    for fragment in fragments:
        assert fragment in message, message
    for fragment in absent:
        assert fragment not in message, message


def test_connection_sources():
    sources = connection_sources({"hostname", "user", "validate_certs"}, {"VMWARE_PASSWORD": "x", "VMWARE_HOST": "y"})
    assert sources["hostname"] == "hostname"  # the task wins over the environment, as in Ansible
    assert sources["username"] == "username"  # given through an alias
    assert sources["password"] == "VMWARE_PASSWORD"
    assert sources["port"] is None and sources["proxy_host"] is None
    assert sources["validate_certs"] == "validate_certs"


@pytest.mark.parametrize("params", [
    GOOD_CONNECTION, dict(GOOD_CONNECTION, port=1, proxy_port=65535, timeout=1),
    dict(GOOD_CONNECTION, hostname="10.0.0.5"), dict(GOOD_CONNECTION, hostname="fe80::1"),
    dict(GOOD_CONNECTION, hostname="vcénter.example.com"),  # IDN host names are legal
])
def test_good_connection_options(params):
    assert connection_errors(params) == []


@pytest.mark.parametrize("params,fragments", [
    (dict(name=""), ["name must not be empty"]),
    (dict(name="\t "), ["name must not be empty"]),
    (dict(name="n" * 81), ["81 characters", "at most 80"]),
    (dict(name="\u00e9" * 200), ["200 characters", "at most 80"]),
    (dict(uuid=""), ["uuid must not be empty"]),
    (dict(uuid="42165fa3-1b6e-1c0f-3c2a"), ["uuid", "32 hexadecimal digits"]),
    (dict(uuid="g2165fa3-1b6e-1c0f-3c2a-a2e2b7b2e0a1"), ["uuid", "32 hexadecimal digits"]),
    (dict(uuid="42165fa3-1b6e-1c0f-3c2a-a2e2b7b2e0a1ff"), ["uuid", "32 hexadecimal digits"]),
    (dict(moid="vm 42"), ["moid", "managed object ID"]),
    (dict(moid="vm-" + "9" * 100), ["moid", "managed object ID"]),
    (dict(name="web01", datacenter=" "), ["datacenter must not be empty"]),
    (dict(name="web01", folder=""), ["folder must not be empty"]),
])
def test_vm_identity(params, fragments):
    message = "; ".join(vm_identity_errors(params))
    for fragment in fragments:
        assert fragment in message, message


@pytest.mark.parametrize("params", [
    dict(name="Bücher-Server-東京"), dict(name="n" * 80), dict(uuid="42165FA3 1B6E 1C0F 3C2A A2E2B7B2E0A1"),
    dict(moid="vm-42"), dict(name="web01", folder="/DC0/vm/prod"),
])
def test_good_vm_identity(params):
    assert vm_identity_errors(params) == []


def _port(number=1, state="present", **backing):
    entry = dict(number=number, state=state, backing=None, yield_on_poll=None, start_connected=None,
                 allow_guest_control=None, connected=None)
    if backing:
        fields = dict(type=None, service_uri=None, direction=None, proxy_uri=None, pipe_name=None, endpoint=None,
                      no_rx_loss=None, file_path=None, device_name=None, auto_detect=None)
        fields.update(backing)
        entry["backing"] = fields
    return entry


@pytest.mark.parametrize("ports,fragments", [
    ([_port(number=0, type="thinprint")], ["serial_ports[0]", "number must be between 1 and 32"]),
    ([_port(number=33, type="thinprint")], ["number must be between 1 and 32"]),
    ([_port(number=-1, state="absent")], ["number must be between 1 and 32"]),
    ([_port(number=3, type="thinprint"), _port(number=3, state="absent")],
     ["serial_ports[1]", "port number 3 is listed twice (also serial_ports[0])"]),
    ([_port(type="network")], ["service_uri is required"]),
    ([_port(type="network", service_uri="")], ["service_uri is required"]),
    ([_port(type="network", service_uri=" telnet://:7001")], ["service_uri", "without spaces"]),
    ([_port(type="network", service_uri="tcp://5000")], ["service_uri", "no colon", "tcp://:5000"]),
    ([_port(type="network", service_uri="http://h:7001")], ["service_uri", "scheme 'http'", "telnet, telnets"]),
    ([_port(type="network", service_uri="telnet://:0")], ["service_uri", "1-65535"]),
    ([_port(type="network", service_uri="telnet://:65536")], ["service_uri", "1-65535"]),
    ([_port(type="network", service_uri="telnet://h")], ["service_uri", "SCHEME://HOST:PORT"]),
    ([_port(type="network", service_uri="telnet://k\u00f6ln:7001")], ["service_uri", "SCHEME://HOST:PORT"]),
    ([_port(type="network", service_uri="telnet://" + "h" * 254 + ":7001")], ["service_uri", "at most 253"]),
    ([_port(type="network", service_uri="telnet://:7001", direction="client")], ["service_uri", "direction: server"]),
    ([_port(type="network", service_uri="vSPC.py", proxy_uri="ssl://vspc:1")], ["proxy_uri", "telnet://HOST:PORT"]),
    ([_port(type="network", service_uri="vSPC.py", proxy_uri="telnet://vspc")], ["proxy_uri", "telnet://HOST:PORT"]),
    ([_port(type="network", service_uri="vSPC.py", proxy_uri="telnet://u:p@vspc:1")], ["proxy_uri", "user name"]),
    ([_port(type="network", service_uri="vSPC.py", proxy_uri="telnet://admin:Hidden-Pw-77@vspc:1")],
     ["proxy_uri 'telnet://admin:********@vspc:1' carries a user name or password"]),
    ([_port(type="network", service_uri="tcp://admin:Hidden-Pw-77@console:7001")],
     ["service_uri 'tcp://admin:********@console:7001' carries a user name or password",
      "vSphere connects to or listens on HOST:PORT without credentials", "write tcp://console:7001"]),
    ([_port(type="network", service_uri="ftp://admin:Hidden-Pw-77@console:7001")],
     ["service_uri 'ftp://admin:********@console:7001' uses the scheme 'ftp'"]),
    ([_port(type="network", service_uri="vSPC.py", proxy_uri="telnet://vspc:70000")], ["proxy_uri", "1-65535"]),
    ([_port(type="network", service_uri="vSPC.py", proxy_uri="telnet://" + "v" * 300 + ":1")],
     ["proxy_uri", "at most 253"]),
    ([_port(type="pipe")], ["pipe_name is required"]),
    ([_port(type="pipe", pipe_name="  ")], ["pipe_name is required"]),
    ([_port(type="file", file_path="/vmfs/volumes/ds/a.log")], ["file_path", "[DATASTORE] FOLDER/FILE"]),
    ([_port(type="file", file_path="[ds]a.log")], ["file_path", "[DATASTORE] FOLDER/FILE"]),
    ([_port(type="file", file_path="[] a.log")], ["file_path", "[DATASTORE] FOLDER/FILE"]),
    ([_port(type="file")], ["file_path is required for a file backing", "'[datastore1] web01/serial.log'"]),
    ([_port(type="file", file_path=" ")], ["file_path is required for a file backing"]),
    ([_port(type="device")], ["device_name is required for a device backing", "unless auto_detect: true"]),
    ([_port(type="device", device_name="/dev/ttyS0", auto_detect=True)], ["exclude each other"]),
    ([_port(type="thinprint", file_path="[ds] a")], ["file_path", "thinprint backing", "no option"]),
    ([_port(type="file", file_path="[ds] a", service_uri="telnet://:1", endpoint="client")],
     ["endpoint, service_uri", "file backing", "file_path"]),
    ([dict(_port(state="absent"), yield_on_poll=True)], ["state absent takes only number", "yield_on_poll"]),
])
def test_serial_ports(ports, fragments):
    message = "; ".join(validate_ports(ports))
    assert message
    for fragment in fragments:
        assert fragment in message, message
    assert "Hidden-Pw-77" not in message


@pytest.mark.parametrize("backing,field", [
    (dict(type="network"), "service_uri"), (dict(type="pipe"), "pipe_name"),
    (dict(type="file"), "file_path"), (dict(type="device"), "device_name"),
])
def test_missing_backing_field_named_alike(backing, field):
    """Every backing type names its missing required field the same way."""
    message = "; ".join(validate_ports([_port(**backing)]))
    assert "%s is required for a %s backing" % (field, backing["type"]) in message, message
    assert "None" not in message


def _rules(*rules):
    out = []
    for rule in rules:
        entry = dict(action="deny", protocol="stream", direction="host", ports=None, rank=None)
        entry.update(rule)
        out.append(entry)
    return out


@pytest.mark.parametrize("params,fragments", [
    (dict(state="absent", rules=_rules({})), ["state=absent", "rules"]),
    (dict(state="absent", filter_enabled=True), ["state=absent", "filter_enabled"]),
    (dict(rules=_rules(dict(action="permit"))), ["rule #1", "action 'permit'", "allow, deny"]),
    (dict(rules=_rules(dict(action=None))), ["rule #1", "action is missing"]),
    (dict(rules=_rules({}, dict(protocol="tcp"))), ["rule #2", "protocol 'tcp'", "anyProtocol"]),
    (dict(rules=_rules(dict(direction="inbound"))), ["direction 'inbound'", "guest, host, anyDirection"]),
    (dict(rules=_rules(dict(ports=65536))), ["ports", "0-65535"]),
    (dict(rules=_rules(dict(ports="-1"))), ["ports", "not a port"]),
    (dict(rules=_rules(dict(ports="2010-2000"))), ["ports", "low-high", "2000-2010"]),
    (dict(rules=_rules(dict(ports="1-2-3"))), ["ports", "not a port"]),
    (dict(rules=_rules(dict(ports="ssh"))), ["ports", "not a port"]),
    (dict(rules=_rules(dict(ports="\u00b2"))), ["ports", "not a port", "2000-2010"]),  # a digit int() refuses
    (dict(rules=_rules(dict(ports="\uff12\uff10\uff10\uff10"))), ["ports", "not a port"]),  # full-width 2000
    (dict(rules=_rules(dict(ports=True))), ["ports", "not a port"]),
    (dict(rules=_rules(dict(ports=2.5))), ["ports", "not a port"]),
    (dict(rules=_rules(dict(ports=[1, 2]))), ["ports", "not a port"]),
    (dict(rules=_rules(dict(rank=5), dict(rank=5, action="allow"))), ["rules #1 and #2 have the same rank 5"]),
    (dict(rules=_rules(dict(rank=-3))), ["rule #1: rank -3 is outside the ranks allowed (0-4294967295)"]),
    (dict(rules=_rules(dict(rank=1), dict(rank=2 ** 32))), ["rule #2: rank 4294967296 is outside", "0-4294967295"]),
    (dict(rules=_rules(dict(rank=1), {}, {})), ["rank is set on rule #1 but not on #2, #3"]),
])
def test_vmci_rules(params, fragments):
    params.setdefault("state", "present")
    message = " ".join(validate_vmci(params))
    for fragment in fragments:
        assert fragment in message, message


@pytest.mark.parametrize("params,fragments", [
    (dict(rulesets=[], cluster_name="C0"), ["rulesets is empty", "remoteSerialPort, vSPC"]),
    (dict(rulesets=None, cluster_name="C0"), ["rulesets is empty"]),
    (dict(rulesets=["vSPC"], esxi_hostname=[]), ["esxi_hostname is an empty list"]),
    (dict(rulesets=["vSPC"], esxi_hostname=["h1", ""]), ["esxi_hostname", "empty host name (item 2"]),
    (dict(rulesets=["vSPC"], cluster_name=" "), ["cluster_name is empty"]),
    (dict(rulesets=["vSPC"], datacenter=""), ["datacenter is empty"]),
])
def test_firewall_target_and_rulesets(params, fragments):
    message = validate_params(params) or ""
    for fragment in fragments:
        assert fragment in message, message
