"""What the bench runs: the task of each side, the play around it, the inventory file, and the
repository's serial_console playbook."""

import os

from common import CLUSTER, PORT, ROOT


def serial_task(side, identity):
    if side.ours:
        return {"vmchannels.vsphere.vm_serial_port": dict(identity, serial_ports=[{
            "number": 1, "backing": dict(type="network", direction="server", **PORT)}])}
    return {"community.vmware.vmware_guest_serial_port": dict(identity, backings=[
        dict(type="network", direction="server", **PORT)])}


def bulk_task():
    """Scenario 1 bulk: ONE run_once task of vm_serial_port_bulk for every VM of the play."""
    vms = "{{ dict(ansible_play_hosts | zip_longest([], fillvalue=bench_ports)) | dict2items(key_name='name', value_name='serial_ports') }}"
    return {"vmchannels.vsphere.vm_serial_port_bulk": {"vms": vms},
            "vars": {"bench_ports": [{"number": 1, "backing": dict(type="network", direction="server", **PORT)}]},
            "run_once": True}


def firewall_task(side):
    if side.ours:
        return {"vmchannels.vsphere.esxi_serial_firewall_ruleset": {
            "cluster_name": CLUSTER, "rulesets": ["vSPC"], "state": "enabled"}}
    return {"community.vmware.vmware_host_firewall_manager": {
        "cluster_name": CLUSTER, "rules": [{"name": "vSPC", "enabled": True}]}}


def play(task, hosts="vms"):
    task = dict(task, name="bench", delegate_to="localhost")
    return [{"name": "bench", "hosts": hosts, "connection": "local", "gather_facts": False, "tasks": [task]}]


def write_inventory(workdir, names):
    os.makedirs(workdir, exist_ok=True)
    path = os.path.join(workdir, "inventory.ini")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("[vms]\n" + "".join("%s\n" % n for n in names))
    return path


def serial_console_playbook(root=ROOT):
    """The playbook of the checkout at ``root`` (this one, or the baseline's worktree), if it has one."""
    path = os.path.join(root, "playbooks", "serial_console.yml")
    return path if os.path.exists(path) else None
