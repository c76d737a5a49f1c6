"""Credentials inside URIs are never shown: the masked form of a URI, and the values a module adds to
what Ansible masks in its results (plugins/module_utils/masking.py)."""
import pytest

from ansible_collections.vmchannels.vsphere.plugins.module_utils.masking import mask_uri, uri_credentials
from ansible_collections.vmchannels.vsphere.plugins.module_utils.serial_ports import diff, public_port


@pytest.mark.parametrize("uri,shown", [
    ("telnet://admin:s3cret@vspc.example.com:13370", "telnet://********@vspc.example.com:13370"),
    ("telnets://token@vspc:1#thumbprint=AB:CD", "telnets://********@vspc:1#thumbprint=AB:CD"),
    ("tcp://a:b@c@host:7001/path", "tcp://********@host:7001/path"),
    ("https://u:p@vc.example.com/sdk?x=y@z", "https://********@vc.example.com/sdk?x=y@z"),
    ("user:pass@vspc-port", "********@vspc-port"),
    ("telnet://:7001", "telnet://:7001"),
    ("vSPC.py", "vSPC.py"),
    ("telnets://h:7001#peerName=a@b", "telnets://h:7001#peerName=a@b"),  # no user info: @ after #
    (None, None),
])
def test_mask_uri(uri, shown):
    assert mask_uri(uri) == shown


def test_free_text_keeps_addresses():
    text = "log in as ops@vsphere.local to telnet://ops:s3cret@vspc:1"
    assert mask_uri(text, schemeless=False) == "log in as ops@vsphere.local to telnet://********@vspc:1"


def test_uri_credentials_of_nested_parameters():
    params = {"username": "ops@vsphere.local", "hostname": "https://root:Pw-Host-1@vc/sdk",
              "vms": [{"name": "web01", "serial_ports": [{"number": 1, "backing": {
                  "service_uri": "tok:Pw-Token-2@port1", "proxy_uri": "telnet://a:Pw-Proxy-3@vspc:1"}}]}],
              "note": "see user@example.com", "pipe_name": "x:y@z"}
    assert uri_credentials(params) == {"root:Pw-Host-1", "Pw-Host-1", "tok:Pw-Token-2", "Pw-Token-2",
                                       "a:Pw-Proxy-3", "Pw-Proxy-3"}


def test_results_and_diffs_show_masked_uris():
    port = {"number": 1, "backing": {"type": "network", "service_uri": "tok:Pw-Token-2@port1", "direction": "server",
                                     "proxy_uri": "telnet://a:Pw-Proxy-3@vspc:1"}, "yield_on_poll": True}
    shown = repr(public_port(port)) + repr(diff({}, {1: port}, True))
    assert "Pw-Token-2" not in shown and "Pw-Proxy-3" not in shown
    assert public_port(port)["backing"]["proxy_uri"] == "telnet://********@vspc:1"
    assert port["backing"]["service_uri"] == "tok:Pw-Token-2@port1"  # the value itself is untouched
