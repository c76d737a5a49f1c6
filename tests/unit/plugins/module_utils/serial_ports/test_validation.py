"""Validation of serial ports (serial_ports/validation.py): service and proxy URIs, datastore paths,
and the wanted ports of a task as a whole. Table-driven."""
import pytest
from ansible_collections.vmchannels.vsphere.plugins.module_utils.serial_ports import validation

from .helpers import entry, net


@pytest.mark.parametrize("uri,direction,proxied,fragment", [
    ("tcp://5000", "server", False, "no colon before the port"),
    ("telnet://7001", "client", False, "telnet://:7001"),
    ("ftp://host:21", "client", False, "scheme 'ftp'"),
    ("telnet://:70000", "server", False, "1-65535"),
    ("telnet://:0", "server", False, "1-65535"),
    ("telnet://:7001", "client", False, "no host"),
    ("", "server", False, "non-empty"),
    ("telnet:// :7001", "server", False, "without spaces"),
    ("just-a-name", "server", False, "not a URI"),
])
def test_bad_service_uri(uri, direction, proxied, fragment):
    assert fragment in validation.validate_service_uri(uri, direction, proxied)


@pytest.mark.parametrize("uri,direction,proxied", [
    ("telnet://:7001", "server", False),
    ("tcp://host.example.com:7001", "client", False),
    ("tcp6://[fe80::1]:7001", "client", False),
    ("telnets://h:7001#thumbprint=AB:CD&peerName=h", "client", False),
    ("tcp+ssl://10.0.0.1:7001", "client", False),
    ("host.example.com:7001", "client", False),
    ("vSPC.py", "server", True),
])
def test_good_service_uri(uri, direction, proxied):
    assert validation.validate_service_uri(uri, direction, proxied) is None


@pytest.mark.parametrize("uri,fragment", [
    ("tcp://vspc:13370", "telnet://HOST:PORT"),
    ("telnet://admin:pw@vspc:13370", "user name or password"),
    ("telnet://vspc", "telnet://HOST:PORT"),
    ("telnet://vspc:99999", "1-65535"),
])
def test_bad_proxy_uri(uri, fragment):
    assert fragment in validation.validate_proxy_uri(uri)


@pytest.mark.parametrize("path,ok", [
    ("[datastore1] web01/serial.log", True),
    ("[my ds] a b/c.log", True),
    ("datastore1/web01/serial.log", False),
    ("[datastore1]web01.log", False),
    ("[] x.log", False),
    ("[ds] ", False),
])
def test_datastore_path(path, ok):
    assert (validation.validate_datastore_path(path) is None) is ok


@pytest.mark.parametrize("ports,fragment", [
    ([entry(0, net())], "between 1 and 32"),
    ([entry(33, net())], "between 1 and 32"),
    ([entry(1, net()), entry(1, net())], "listed twice"),
    ([entry(1, {"type": "file", "file_path": "[ds] a.log", "service_uri": "telnet://:1"})], "service_uri does not belong to a file backing"),
    ([entry(1, {"type": "network"})], "service_uri is required"),
    ([entry(1, {"type": "pipe", "pipe_name": " "})], "pipe_name is required"),
    ([entry(1, {"type": "device"})], "device_name"),
    ([entry(1, {"type": "device", "device_name": "/dev/x", "auto_detect": True})], "exclude each other"),
    ([entry(1, {"type": "thinprint", "file_path": "[ds] a"})], "it takes no option"),
    ([entry(1, net(), state="absent")], "state absent takes only number"),
    ([entry(1, net(proxy="ssl://v:1"))], "proxy_uri"),
])
def test_validate_ports_errors(ports, fragment):
    errors = validation.validate_ports(ports)
    assert any(fragment in e for e in errors), errors


def test_validate_ports_ok():
    assert validation.validate_ports([
        entry(1, net(proxy="telnet://vspc:13370")), entry(2, {"type": "file", "file_path": "[ds] a.log"}),
        entry(3, state="absent"), entry(4, {"type": "thinprint"}), entry(5, yield_on_poll=False),
        entry(6, {"type": "device", "auto_detect": True}), entry(7, {"type": "pipe", "pipe_name": "/tmp/p"}),
    ]) == []
