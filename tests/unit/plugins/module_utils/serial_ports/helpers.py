"""Shared by test_ports.py and test_validation.py: the wanted port entries of a task (every option
unset unless given) and a network backing."""
from ansible_collections.vmchannels.vsphere.plugins.module_utils.serial_ports import ports as sp


def entry(number, backing=None, state="present", **options):
    out = {"number": number, "state": state, "backing": backing}
    for option in sp.OPTIONS:
        out[option] = options.get(option)
    return out


def net(uri="telnet://:7001", direction=None, proxy=None):
    return {"type": "network", "service_uri": uri, "direction": direction, "proxy_uri": proxy}
