"""Credentials inside URIs are never shown, whatever their characters: the masked form of a URI, the
values a module adds to what Ansible masks in its results, and every output path that shows a URI
(validation messages, results, diffs, the audit report) (plugins/module_utils/vsphere/masking.py)."""
import json

import pytest
from ansible_collections.vmchannels.vsphere.plugins.filter.audit import audit_report, backing_text, serial_drift
from ansible_collections.vmchannels.vsphere.plugins.module_utils.serial_ports.ports import diff, public_port
from ansible_collections.vmchannels.vsphere.plugins.module_utils.serial_ports.validation import validate_backing
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.masking import (
    host_of,
    mask_uri,
    masked,
    masked_change,
    uri_credentials,
)
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.options import connection_errors

#: One password per character that breaks a strict parse of the authority (urlsplit's), and spaces.
PASSWORDS = ("Se/cret-Pw", "Se#cret-Pw", "Se?cret-Pw", "Se@cret-Pw", "Se:cret-Pw", "Se%40cret-Pw", "Se cret-Pw",
             "S/e#c?r@e:t%20 -Pw", "@/#?", "Se//cret@@Pw")


@pytest.mark.parametrize("uri,shown", [
    ("telnet://admin:s3cret@vspc.example.com:13370", "telnet://admin:********@vspc.example.com:13370"),
    ("telnets://token@vspc:1#thumbprint=AB:CD", "telnets://********@vspc:1#thumbprint=AB:CD"),
    ("tcp://a:b@c@host:7001/path", "tcp://a:********@host:7001/path"),
    ("tcp://:only-a-password@host:7001", "tcp://:********@host:7001"),
    ("user:pass@vspc-port", "user:********@vspc-port"),
    ("ops:Se/cret@name", "ops:********@name"),
    ("ops:Se://cret@name", "ops:********@name"),  # "://" inside the password is no scheme
    ("telnet://:7001", "telnet://:7001"),
    ("tcp://@host:1", "tcp://@host:1"),  # an empty user info hides nothing
    ("vSPC.py", "vSPC.py"),
    ("telnets://h:7001#peerName=x", "telnets://h:7001#peerName=x"),
    # An @ after the host cannot be told from one inside a password: masked too, a password is never cut.
    ("telnets://h:7001#peerName=a@b", "telnets://h:********@b"),
    ("https://u:p@vc.example.com/sdk?x=y@z", "https://u:********@z"),
    (None, None),
])
def test_mask_uri(uri, shown):
    assert mask_uri(uri) == shown


@pytest.mark.parametrize("password", PASSWORDS)
@pytest.mark.parametrize("form,shown", [
    ("telnet://ops:%s@vspc.example.com:13370", "telnet://ops:********@vspc.example.com:13370"),
    ("tcp://ops:%s@console.example.com:7001/path", "tcp://ops:********@console.example.com:7001/path"),
    ("ops:%s@name", "ops:********@name"),
    ("https://root:%s@vc.example.com/sdk", "https://root:********@vc.example.com/sdk"),
])
def test_every_password_masked_whatever_its_characters(form, shown, password):
    uri = form % password
    assert mask_uri(uri) == shown
    assert uri_credentials({"service_uri": uri}) == {password}
    assert host_of(uri) == shown.split("@")[-1].split("/")[0]


@pytest.mark.parametrize("password", [p for p in PASSWORDS if " " not in p])
def test_free_text_masks_uris_with_a_scheme_up_to_white_space(password):
    text = "log in as ops@vsphere.local to telnet://ops:%s@vspc:1 and mail admin@example.com" % password
    assert mask_uri(text, schemeless=False) == (
        "log in as ops@vsphere.local to telnet://ops:********@vspc:1 and mail admin@example.com")
    assert uri_credentials({"note": text}) == {password}


def test_uri_credentials_of_nested_parameters():
    params = {"username": "ops@vsphere.local", "hostname": "https://root:Pw-Host-1@vc/sdk",
              "vms": [{"name": "web01", "serial_ports": [{"number": 1, "backing": {
                  "service_uri": "tok:Pw-Token-2@port1", "proxy_uri": "telnet://a:Pw-Proxy-3@vspc:1"}}]}],
              "note": "see user@example.com", "pipe_name": "x:y@z"}
    assert uri_credentials(params) == {"Pw-Host-1", "Pw-Token-2", "Pw-Proxy-3"}
    # a token (no ":") or a password too short to be masked alone: the whole user info
    assert uri_credentials({"service_uri": "T0ken-9@port", "proxy_uri": "telnet://ops:pw@v:1"}) == {"T0ken-9", "ops:pw"}


def test_masked_copies_and_masks_only_uri_options():
    value = {"vms": [{"name": "a:b@c", "backing": {"service_uri": "o:Se/cret@n", "proxy_uri": None}}]}
    assert masked(value) == {"vms": [{"name": "a:b@c", "backing": {"service_uri": "o:********@n", "proxy_uri": None}}]}
    assert value["vms"][0]["backing"]["service_uri"] == "o:Se/cret@n"


@pytest.mark.parametrize("password", PASSWORDS)
def test_results_and_diffs_show_masked_uris(password):
    port = {"number": 1, "backing": {"type": "network", "service_uri": "tok:%s@port1" % password, "direction": "server",
                                     "proxy_uri": "telnet://a:%s@vspc:1" % password}, "yield_on_poll": True}
    shown = repr(public_port(port)) + repr(diff({}, {1: port}, True))
    assert password not in shown
    assert public_port(port)["backing"]["proxy_uri"] == "telnet://a:********@vspc:1"
    assert public_port(port)["backing"]["service_uri"] == "tok:********@port1"
    assert port["backing"]["service_uri"] == "tok:%s@port1" % password  # the value itself is untouched


@pytest.mark.parametrize("password", [p for p in PASSWORDS if " " not in p])
def test_tcp_uri_with_credentials_refused_saying_why_without_the_password(password):
    errors = validate_backing({"type": "network", "service_uri": "tcp://ops:%s@console.example.com:7001" % password})
    assert len(errors) == 1, errors
    assert errors[0].startswith("service_uri 'tcp://ops:********@console.example.com:7001' carries a user name or "
                                "password"), errors
    assert "write tcp://console.example.com:7001" in errors[0]
    assert password not in errors[0]


@pytest.mark.parametrize("password", [p for p in PASSWORDS if " " not in p])
@pytest.mark.parametrize("uri", ["ops:%s@name", "tcp://ops:%s@console.example.com:7001", "telnet://ops:%s@:7001"])
def test_credentials_through_a_vspc_accepted(uri, password):
    """Through a vSPC the service URI is passed on to the concentrator, credentials included."""
    assert validate_backing({"type": "network", "service_uri": uri % password,
                             "proxy_uri": "telnet://vspc.example.com:13370"}) == []


@pytest.mark.parametrize("password", [p for p in PASSWORDS if " " not in p])
def test_other_problems_of_a_uri_with_credentials_said_without_the_password(password):
    for uri, fragment in (("ftp://ops:%s@console:7001", "uses the scheme 'ftp'"),
                          ("tcp://ops:%s@console:99999", "has port 99999"),
                          ("tcp://ops:%s@console", "is not a URI vSphere accepts")):
        errors = validate_backing({"type": "network", "service_uri": uri % password})
        assert len(errors) == 1 and fragment in errors[0] and password not in errors[0], errors
        assert "ops:********@console" in errors[0]


@pytest.mark.parametrize("password", PASSWORDS)
def test_connection_options_with_credentials_said_without_the_password(password):
    params = dict(hostname="https://root:%s@vc.example.com/sdk" % password, username="u", password="p", port=443,
                  proxy_host="http://px:%s@proxy.example.com:3128" % password)
    message = "; ".join(connection_errors(params))
    assert "'https://root:********@vc.example.com/sdk'" in message and "'vc.example.com'" in message
    assert "'http://px:********@proxy.example.com:3128'" in message and "'proxy.example.com'" in message
    assert password not in message


@pytest.mark.parametrize("password", PASSWORDS)
def test_audit_report_shows_masked_uris_whatever_the_results_fed_in(password):
    raw = {"type": "network", "service_uri": "ops:%s@name" % password, "direction": "server",
           "proxy_uri": "telnet://a:%s@vspc:1" % password}
    serial = {"vms": [{"vm": {"name": "web01", "moid": "vm-1"}, "serial_ports_before": [{"number": 1, "backing": raw}]}],
              "diff": {"before": {"vms": {"web01 (vm-1)": {"port 1": {"backing": dict(raw, direction="client")}}}},
                       "after": {"vms": {"web01 (vm-1)": {"port 1": {"backing": raw}}}}}}
    report = audit_report([{"name": "web01", "serial_managed": True}], serial, {})
    shown = json.dumps(report) + backing_text(raw) + repr(serial_drift({"port 1": {"backing": raw}}, {}))
    assert password not in shown
    assert "ops:********@name via vSPC telnet://a:********@vspc:1" in report["vms"][0]["serial_ports"][0]["backing_text"]


@pytest.mark.parametrize("old,new,shown", [
    ("ops:Se/cret@port-1", "ops:Other/pw@port-1", "ops:********@port-1 (credentials changed)"),
    ("T0ken-1@port-1", "T0ken-2@port-1", "********@port-1 (credentials changed)"),
    ("ops:Se/cret@port-1", "ops:Se/cret@port-2", "ops:********@port-2"),  # the change shows by itself
    ("ops:Se/cret@port-1", "ops:Se/cret@port-1", "ops:********@port-1"),
    (None, "ops:Se/cret@port-1", "ops:********@port-1"),
])
def test_masked_change(old, new, shown):
    assert masked_change(old, new) == shown


def test_a_changed_password_alone_shows_in_the_diff_and_as_drift():
    """Masked, two passwords look alike: the diff's "after" half says the credentials changed, so that
    --diff shows a change and the audit a drift (the module plans an edit)."""
    def port(password):
        return {"number": 1, "yield_on_poll": True, "start_connected": True, "allow_guest_control": False,
                "backing": {"type": "network", "service_uri": "ops:%s@port-1" % password, "direction": "server",
                            "proxy_uri": "telnet://vspc:1"}}

    halves = diff({1: port("Old/Pw#1")}, {1: port("New/Pw#2")}, False)
    before, after = halves["before"]["serial_ports"]["port 1"], halves["after"]["serial_ports"]["port 1"]
    assert before["backing"]["service_uri"] == "ops:********@port-1"
    assert after["backing"]["service_uri"] == "ops:********@port-1 (credentials changed)"
    assert after["backing"]["proxy_uri"] == "telnet://vspc:1"
    assert serial_drift({"port 1": before}, {"port 1": after}) == [
        "port 1: service_uri ops:********@port-1 -> ops:********@port-1 (credentials changed)"]
    assert "Pw" not in repr(halves)


def test_filters_for_roles_and_playbooks():
    from ansible_collections.vmchannels.vsphere.plugins.filter.masking import FilterModule

    filters = FilterModule().filters()
    ports = [{"number": 1, "backing": {"type": "network", "service_uri": "ops:Se/cret@n", "proxy_uri": "telnet://v:1"}}]
    assert filters["uri_credentials_in"](ports) is True
    assert filters["uri_credentials_in"]([{"host": "vm1", "entry": {"serial_ports": ports}}]) is True
    assert filters["uri_credentials_in"]([{"number": 1, "backing": {"type": "pipe", "pipe_name": "a:b@c"}}]) is False
    assert filters["uri_credentials_in"]({"note": "see telnet://a:b@h:1"}) is True
    assert filters["uri_credentials_in"]([]) is False
    assert filters["masked_uris"](ports)[0]["backing"]["service_uri"] == "ops:********@n"
