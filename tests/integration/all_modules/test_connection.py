"""The client layer and the connection options, against the simulator: login, look-ups by name,
uuid and moid, clear errors for unknown names, ambiguous names, bad credentials, unreachable hosts
and untrusted certificates; module_defaults with the action group and the VMWARE_* variables."""
import os
import re
import socket

import pytest
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.client import VSphereClient
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.errors import VSphereError
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.inventory import find_hosts, find_vm
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.vm_config import read_vm_properties
from pyVim.task import WaitForTask
from pyVmomi import vim

from conftest import ROOT
from vsphere_helpers import find_vm as pyvmomi_find_vm

INFO = "vmchannels.vsphere.vm_serial_port_info"


def client_for(sim, **overrides):
    args = dict(hostname=sim.host, port=sim.port, username=sim.username, password=sim.password,
                validate_certs=False)
    args.update(overrides)
    return VSphereClient(**args)


def test_client_looks_up_by_name_uuid_and_moid(vcsim, si):
    expected = pyvmomi_find_vm(si, "DC0_H0_VM1")
    with client_for(vcsim) as client:
        by_name = find_vm(client, name="DC0_H0_VM1")
        by_uuid = find_vm(client, uuid=expected.config.uuid)
        by_instance = find_vm(client, uuid=expected.config.instanceUuid)
        by_moid = find_vm(client, moid=expected._moId)
        assert {by_name._moId, by_uuid._moId, by_instance._moId, by_moid._moId} == {expected._moId}
        props = read_vm_properties(client, by_moid)
        assert props["name"] == "DC0_H0_VM1"
        assert props["config.uuid"] == expected.config.uuid


def test_lookup_costs(vcsim):
    """By moid: no request; by uuid: one; by name: one, fetching names only."""
    with client_for(vcsim) as client:
        vcsim.reset_trace()
        find_vm(client, moid="vm-1")
        assert sum(vcsim.soap_calls().values()) == 0
        uuid = pyvmomi_uuid(client)
        vcsim.reset_trace()
        find_vm(client, uuid=uuid)
        assert vcsim.soap_calls() == {"FindAllByUuid": 1}
        vcsim.reset_trace()
        find_vm(client, name="DC0_H0_VM0")
        assert vcsim.soap_calls() == {"RetrievePropertiesEx": 1}


def pyvmomi_uuid(client):
    vm = find_vm(client, name="DC0_H0_VM0")
    return read_vm_properties(client, vm)["config.uuid"]


def test_unknown_and_ambiguous_names(vcsim, si):
    with client_for(vcsim) as client:
        with pytest.raises(VSphereError) as err:
            find_vm(client, name="no-such-vm")
        assert err.value.kind == "not_found" and "No virtual machine named 'no-such-vm'" in str(err.value)
        with pytest.raises(VSphereError) as err:
            find_vm(client, name="DC0_H0_VM0", folder="nowhere")
        assert "VMs with that name exist in: /DC0/vm" in str(err.value)
        with pytest.raises(VSphereError) as err:
            find_vm(client, uuid="00000000-0000-0000-0000-000000000000")
        assert err.value.kind == "not_found"
        with pytest.raises(VSphereError) as err:
            read_vm_properties(client, find_vm(client, moid="vm-999999"))
        assert "No virtual machine with moid vm-999999" in str(err.value)

    # a second VM with the same name in another folder makes the name ambiguous
    datacenter = si.content.rootFolder.childEntity[0]
    folder = datacenter.vmFolder.CreateFolder("dup-folder")
    source = pyvmomi_find_vm(si, "DC0_H0_VM1")
    WaitForTask(source.CloneVM_Task(folder=folder, name="DC0_H0_VM1", spec=vim.vm.CloneSpec(location=vim.vm.RelocateSpec())))
    try:
        with client_for(vcsim) as client:
            with pytest.raises(VSphereError) as err:
                find_vm(client, name="DC0_H0_VM1")
            assert err.value.kind == "ambiguous"
            assert "/DC0/vm/dup-folder" in str(err.value) and "/DC0/vm (moid" in str(err.value)
            assert find_vm(client, name="DC0_H0_VM1", folder="dup-folder")._moId != source._moId
            assert find_vm(client, name="DC0_H0_VM1", folder="/DC0/vm")._moId == source._moId
    finally:
        clone = [vm for vm in folder.childEntity if isinstance(vm, vim.VirtualMachine)][0]
        WaitForTask(clone.Destroy_Task())
        WaitForTask(folder.Destroy_Task())


def test_find_hosts(vcsim):
    with client_for(vcsim) as client:
        cluster = find_hosts(client, cluster="DC0_C0")
        assert [h.name for h in cluster] == ["DC0_C0_H0", "DC0_C0_H1", "DC0_C0_H2"]
        assert {h.cluster for h in cluster} == {"DC0_C0"} and {h.datacenter for h in cluster} == {"DC0"}
        assert [h.name for h in find_hosts(client, names=["DC0_H0"])] == ["DC0_H0"]
        assert len(find_hosts(client, datacenter="DC0")) == 4
        with pytest.raises(VSphereError, match="No cluster named 'nope'"):
            find_hosts(client, cluster="nope")
        with pytest.raises(VSphereError, match="No ESXi host named 'esx99'"):
            find_hosts(client, names=["esx99"])


def test_bad_credentials_give_a_clear_error(fresh_vcsim, tmp_path):
    from conftest import run_playbook

    sim = fresh_vcsim(username="admin", password="S3cret-Right")
    with pytest.raises(VSphereError) as err:
        client_for(sim, password="Wr0ng-Password-77").connect()
    assert err.value.kind == "login" and "user name or password is incorrect" in str(err.value)
    assert "Wr0ng-Password-77" not in str(err.value)

    run = run_playbook(tmp_path, [{"name": "info", INFO: {"name": "DC0_H0_VM0"}}], sim=sim,
                       env={"VMWARE_PASSWORD": "Wr0ng-Password-77"}, args=["-vvv"])
    assert run.rc != 0
    result = run.result("info")
    assert "Cannot log in to 127.0.0.1:%d as admin" % sim.port in result["msg"]
    assert "Check VMWARE_USER and VMWARE_PASSWORD." in result["msg"], result["msg"]  # what this run used
    assert result["error_kind"] == "login"
    output = run.stdout + run.stderr
    assert "Traceback" not in output and "Wr0ng-Password-77" not in output


def test_simulator_checks_the_credentials_it_shows(fresh_vcsim):
    """Simulator() and `vcsimctl.py start` show credentials; by default they are the only ones the
    simulator accepts (check_credentials=False / --any-credentials accepts any, as vcsim itself)."""
    sim = fresh_vcsim(vm=1)
    with client_for(sim) as client:
        assert client.content.sessionManager.currentSession.userName == sim.username
    with pytest.raises(VSphereError) as err:
        client_for(sim, password=sim.password + "-wrong").connect()
    assert err.value.kind == "login"
    with pytest.raises(VSphereError):
        client_for(sim, username="someone-else").connect()
    lax = fresh_vcsim(vm=1, check_credentials=False)
    with client_for(lax, username="anyone", password="anything") as client:
        assert client.content.sessionManager.currentSession is not None


def test_vcsimctl_cli(tmp_path):
    """The CLI: --help describes every option of start; start, env (shell exports of the credentials
    it checks) and stop."""
    import subprocess
    import sys

    ctl = [sys.executable, os.path.join(ROOT, "tests", "vcsim", "vcsimctl.py")]
    text = subprocess.run(ctl + ["start", "--help"], capture_output=True, text=True, check=True).stdout
    options = re.findall(r"^  (--[a-z-]+)(?: [A-Z]+)?(.*)$", text, re.M)
    assert len(options) >= 18, text
    undocumented = [o for o, rest in options if not rest.strip()
                    and not re.search(r"^  %s(?: [A-Z]+)?\n {10,}\S" % re.escape(o), text, re.M)]
    assert not undocumented, text
    for fragment in ("--any-credentials", "--upstream-firewall", "refused (InvalidLogin)"):
        assert fragment in " ".join(text.split()), text
    state = str(tmp_path / "vcs")
    subprocess.run(ctl + ["start", "--state-dir", state, "--vm", "1", "--no-trace"], capture_output=True, check=True)
    try:
        exports = subprocess.run(ctl + ["env", "--state-dir", state], capture_output=True, text=True,
                                 check=True).stdout
        env = dict(line[len("export "):].split("=", 1) for line in exports.splitlines())
        assert env["VMWARE_USER"] == "administrator@vsphere.local" and env["VMWARE_VALIDATE_CERTS"] == "false"
        with VSphereClient(hostname=env["VMWARE_HOST"], port=int(env["VMWARE_PORT"]), username=env["VMWARE_USER"],
                           password=env["VMWARE_PASSWORD"], validate_certs=False) as client:
            assert client.is_vcenter
        with pytest.raises(VSphereError):
            VSphereClient(hostname=env["VMWARE_HOST"], port=int(env["VMWARE_PORT"]), username=env["VMWARE_USER"],
                          password="not-" + env["VMWARE_PASSWORD"], validate_certs=False).connect()
    finally:
        subprocess.run(ctl + ["stop", "--state-dir", state], capture_output=True, check=True)


@pytest.mark.parametrize("in_process", ["true", "false"], ids=["in-process", "shipped"])
def test_unreachable_host(tmp_path, in_process):
    """Inside Ansible's worker and as a shipped module alike, the module knows which options the task gave."""
    from conftest import run_playbook

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nothing listens there
    env = {"VMWARE_HOST": "127.0.0.1", "VMWARE_PORT": str(port), "VMWARE_USER": "u", "VMWARE_PASSWORD": "Pw-Unused-5",
           "VMWARE_VALIDATE_CERTS": "false", "VMCHANNELS_IN_PROCESS": in_process}
    run = run_playbook(tmp_path, [
        {"name": "info", INFO: {"name": "x"}, "ignore_errors": True},
        {"name": "task options", INFO: {"name": "x", "hostname": "127.0.0.1", "port": port}, "ignore_errors": True},
        {"name": "port twice", INFO: {"name": "x", "hostname": "127.0.0.1:1", "port": port}, "ignore_errors": True},
    ], env=env)
    # The message names what the run used: the variables, or the task's options.
    msg = run.result("info")["msg"]
    assert "Cannot reach 127.0.0.1:%d" % port in msg and "Check VMWARE_HOST and VMWARE_PORT" in msg, msg
    msg = run.result("task options")["msg"]
    assert "Cannot reach 127.0.0.1:%d" % port in msg and "Check hostname and port" in msg, msg
    assert "VMWARE_" not in msg, msg
    # A port in hostname and another in port: refused before connecting, with both values.
    msg = run.result("port twice")["msg"]
    assert "hostname '127.0.0.1:1' includes a port (1), and port is %d" % port in msg, msg
    assert "Cannot reach" not in msg and ":1:%d" % port not in msg, msg
    assert "Traceback" not in run.stdout + run.stderr


def test_untrusted_certificate_is_refused_by_default(vcsim, tmp_path):
    from conftest import run_playbook

    env = dict(vcsim.env())
    del env["VMWARE_VALIDATE_CERTS"]  # the default is true
    run = run_playbook(tmp_path, [{"name": "info", INFO: {"name": "DC0_H0_VM0"}}], env=env)
    assert run.rc != 0
    msg = run.result("info")["msg"]
    assert "could not be verified" in msg and "validate_certs" in msg and "REQUESTS_CA_BUNDLE" in msg


def test_module_defaults_group_and_environment(playbook, vcsim):
    """Connection options from module_defaults for the action group (no VMWARE_* set), and from
    the VMWARE_* variables alone."""
    play = [{
        "hosts": "localhost", "connection": "local", "gather_facts": False,
        "module_defaults": {"group/vmchannels.vsphere.vsphere": {
            "hostname": vcsim.host, "port": vcsim.port, "username": vcsim.username, "password": vcsim.password,
            "validate_certs": False}},
        "tasks": [{"name": "grouped", INFO: {"name": "DC0_H0_VM0"}}],
    }]
    run = playbook(play, sim=None)
    assert run.rc == 0, run
    assert run.result("grouped")["vm"]["name"] == "DC0_H0_VM0"

    run = playbook([{"name": "from env", INFO: {"name": "DC0_H0_VM0"}}])
    assert run.rc == 0, run
    assert run.result("from env")["vm"]["name"] == "DC0_H0_VM0"


@pytest.mark.parametrize("args,fragment", [
    ({}, "one of the following is required: name, uuid, moid"),
    ({"name": "a", "moid": "vm-1"}, "mutually exclusive"),
    ({"name": ""}, "name must not be empty"),
    ({"uuid": "not-a-uuid"}, "is not a UUID"),
    ({"moid": "vm 1"}, "is not a managed object ID"),
    ({"name": "x" * 81}, "at most 80"),
])
def test_identity_validation_before_any_request(playbook, vcsim, args, fragment):
    vcsim.reset_trace()
    run = playbook([{"name": "bad", INFO: args}])
    assert run.rc != 0
    assert fragment in run.result("bad")["msg"]
    assert sum(vcsim.soap_calls().values()) == 0
