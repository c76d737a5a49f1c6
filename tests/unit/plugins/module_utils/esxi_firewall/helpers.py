"""Shared by test_hosts.py and test_rulesets.py: a firewall rule set as vSphere returns it (a real
pyVmomi data object), remoteSerialPort with its inbound rules."""
from pyVmomi import vim


def make_ruleset(key, enabled=False, all_ip=True, ips=(), networks=(), user_controllable=None):
    rules = [vim.host.Ruleset.Rule(port=0, endPort=65535, direction="outbound", portType="dst", protocol="tcp")]
    if key == "remoteSerialPort":
        rules += [vim.host.Ruleset.Rule(port=23, endPort=0, direction="inbound", portType="dst", protocol="tcp"),
                  vim.host.Ruleset.Rule(port=1024, endPort=65535, direction="inbound", portType="dst",
                                        protocol="tcp")]
    return vim.host.Ruleset(
        key=key, label="label of %s" % key, enabled=enabled, required=False, rule=rules,
        userControllable=user_controllable,
        allowedHosts=vim.host.Ruleset.IpList(
            allIp=all_ip, ipAddress=list(ips),
            ipNetwork=[vim.host.Ruleset.IpNetwork(network=n.split("/")[0], prefixLength=int(n.split("/")[1]))
                       for n in networks]),
    )
