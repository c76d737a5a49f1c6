"""What AWX / Automation Platform needs (docs/awx/): the execution environment definitions, the
custom credential type, and the playbooks run the way AWX runs them: ansible-runner with a private
data directory, the credential's environment injected, job slices running at the same time."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import types

import pytest
import yaml
from jinja2 import meta
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pyVmomi import vim

from conftest import ROOT, connect
from vsphere_helpers import find_vm, serial_ports

pytestmark = pytest.mark.awx

BIN = os.path.dirname(sys.executable)
AWX = os.path.join(ROOT, "docs", "awx")
CREDENTIAL_TYPE = os.path.join(AWX, "credential-type-vcenter.yml")
COLLECTIONS = os.path.join(ROOT, ".build", "collections")


def tool_env(**extra):
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith(("VMWARE_", "ANSIBLE_")))
    env["PATH"] = BIN + os.pathsep + env.get("PATH", "")
    env.update(extra)
    return env


def run(cmd, cwd=ROOT, timeout=600, env=None):
    proc = subprocess.run(cmd, cwd=cwd, env=env or tool_env(), stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout, check=False)
    proc.output = "$ %s\n%s\n%s" % (" ".join(cmd), proc.stdout, proc.stderr)
    return proc


# -- execution environments ------------------------------------------------------------------------

def test_meta_execution_environment_is_accepted_by_ansible_builder(tmp_path):
    ee = os.path.join(ROOT, "meta", "execution-environment.yml")
    with open(ee) as handle:
        assert yaml.safe_load(handle)["version"] == 3
    context = tmp_path / "context"
    proc = run([os.path.join(BIN, "ansible-builder"), "create", "-f", ee, "-c", str(context)])
    assert proc.returncode == 0, proc.output
    # Dockerfile or Containerfile, after the container runtime found.
    containerfile = [f for f in ("Dockerfile", "Containerfile") if (context / f).exists()]
    assert containerfile, os.listdir(str(context))
    text = (context / containerfile[0]).read_text()
    assert "quay.io/centos/centos:stream9" in text
    assert "COPY _build/requirements.txt requirements.txt" in text
    assert "pyVmomi>=8.0.1.0" in (context / "_build" / "requirements.txt").read_text()
    assert "python3" in (context / "_build" / "bindep.txt").read_text()
    # meta/requirements.txt and meta/bindep.txt are copies of the collection's files.
    for name in ("requirements.txt", "bindep.txt"):
        def lines(path):
            with open(path) as handle:
                return [l for l in handle.read().splitlines() if l.strip() and not l.startswith("#")]
        assert lines(os.path.join(ROOT, "meta", name)) == lines(os.path.join(ROOT, name)), name


def test_introspection_finds_the_collection_requirements():
    """ansible-builder reads meta/execution-environment.yml of every collection it installs into an
    EE, relative to the collection root."""
    proc = run([os.path.join(BIN, "ansible-builder"), "introspect", COLLECTIONS])
    assert proc.returncode == 0, proc.output
    data = yaml.safe_load(proc.stdout.split("\n", 1)[1])
    assert data["python"] == ["pyVmomi>=8.0.1.0  # from collection vmchannels.vsphere",
                              "requests  # from collection vmchannels.vsphere"], proc.output
    assert data["system"] == ["python3 [platform:rpm platform:dpkg]  # from collection vmchannels.vsphere"]


def test_docs_execution_environment_with_the_collection(tmp_path):
    with open(os.path.join(ROOT, "galaxy.yml")) as handle:
        version = yaml.safe_load(handle)["version"]
    work = tmp_path / "awx"
    work.mkdir()
    shutil.copy(os.path.join(AWX, "execution-environment.yml"), str(work))
    proc = run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(work), ROOT],
               env=tool_env(ANSIBLE_COLLECTIONS_PATH=COLLECTIONS))
    assert proc.returncode == 0, proc.output
    proc = run([os.path.join(BIN, "ansible-builder"), "create", "-f", str(work / "execution-environment.yml"),
                "-c", str(work / "context")])
    assert proc.returncode == 0, proc.output
    tarball = work / "context" / "_build" / "collections" / ("vmchannels-vsphere-%s.tar.gz" % version)
    assert tarball.is_file(), "docs/awx/execution-environment.yml must name the tarball of version %s" % version
    requirements = yaml.safe_load((work / "context" / "_build" / "requirements.yml").read_text())
    # vmware.vmware: for the inventory source playbooks/inventory/vsphere/vmchannels.vms.yml.
    assert requirements["collections"] == [{"name": "collections/" + tarball.name, "type": "file"},
                                           {"name": "vmware.vmware", "version": ">=2.0.0,<3.0.0"}]


# -- the credential type ---------------------------------------------------------------------------

def load_credential_type():
    with open(CREDENTIAL_TYPE) as handle:
        return yaml.safe_load(handle)


def inject(credential_type, inputs, private_dir):
    """The environment AWX gives a job for a credential of this type (AWX's CredentialType.
    inject_credential: boolean fields not set are false, file injectors are rendered first and
    named by tower.filename.<name>, everything in an immutable Jinja sandbox)."""
    namespace = dict(inputs)
    for field in credential_type["inputs"]["fields"]:
        if field["type"] == "boolean" and field["id"] not in namespace:
            namespace[field["id"]] = False
    sandbox = ImmutableSandboxedEnvironment()
    filenames = types.SimpleNamespace()
    for label, template in (credential_type["injectors"].get("file") or {}).items():
        fd, path = tempfile.mkstemp(dir=str(private_dir))
        with os.fdopen(fd, "w") as handle:
            handle.write(sandbox.from_string(template).render(**namespace))
        setattr(filenames, label.split(".", 1)[1], path)
    namespace["tower"] = types.SimpleNamespace(filename=filenames)
    return dict((key, sandbox.from_string(value).render(**namespace))
                for key, value in credential_type["injectors"]["env"].items())


def test_credential_type_injects_the_vmware_variables(tmp_path):
    ctype = load_credential_type()
    assert ctype["kind"] == "cloud"
    fields = dict((f["id"], f) for f in ctype["inputs"]["fields"])
    assert fields["password"]["secret"] is True
    assert set(ctype["inputs"]["required"]) == {"host", "username", "password"}
    # Every injector template uses declared inputs only (and AWX's tower.filename).
    sandbox = ImmutableSandboxedEnvironment()
    for value in list(ctype["injectors"]["env"].values()) + list(ctype["injectors"]["file"].values()):
        names = meta.find_undeclared_variables(sandbox.parse(value))
        assert names and names <= set(fields) | {"tower"}, (value, names)

    env = inject(ctype, {"host": "vc.example.com", "username": "svc@vsphere.local", "password": "s3cr3t!"}, tmp_path)
    assert env == {"VMWARE_HOST": "vc.example.com", "VMWARE_PORT": "443", "VMWARE_USER": "svc@vsphere.local",
                   "VMWARE_PASSWORD": "s3cr3t!", "VMWARE_VALIDATE_CERTS": "true", "REQUESTS_CA_BUNDLE": ""}
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    env = inject(ctype, {"host": "vc", "port": "8443", "username": "u", "password": "p",
                         "skip_cert_validation": True, "ca_bundle": pem}, tmp_path)
    assert env["VMWARE_PORT"] == "8443" and env["VMWARE_VALIDATE_CERTS"] == "false"
    with open(env["REQUESTS_CA_BUNDLE"]) as handle:
        assert handle.read() == pem


# -- ansible-runner, as AWX runs a job template ----------------------------------------------------

def private_data_dir(path, sim, hosts, extravars=None):
    """A private data directory as AWX prepares one: the project, the inventory of the slice, the
    credential's environment (plus the collection path an EE would provide)."""
    os.makedirs(os.path.join(path, "inventory"))
    os.makedirs(os.path.join(path, "env"))
    os.symlink(ROOT, os.path.join(path, "project"))
    with open(os.path.join(path, "inventory", "hosts.json"), "w") as handle:
        json.dump({"vms": {"hosts": hosts, "vars": {"ansible_connection": "local"}}}, handle)
    envvars = inject(load_credential_type(), {"host": sim.host, "port": str(sim.port), "username": sim.username,
                                              "password": sim.password, "skip_cert_validation": True}, path)
    envvars.update(ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
                   ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_LOCALHOST_WARNING="false")
    with open(os.path.join(path, "env", "envvars"), "w") as handle:
        yaml.safe_dump(envvars, handle)
    with open(os.path.join(path, "env", "extravars"), "w") as handle:
        yaml.safe_dump(extravars or {}, handle)
    return path


def runner(pdd, playbook, ident):
    proc = run([os.path.join(BIN, "ansible-runner"), "run", pdd, "-p", playbook, "--ident", ident], timeout=900)
    artifacts = os.path.join(pdd, "artifacts", ident)
    status = open(os.path.join(artifacts, "status")).read().strip() if os.path.exists(
        os.path.join(artifacts, "status")) else None
    events = []
    events_dir = os.path.join(artifacts, "job_events")
    for name in sorted(os.listdir(events_dir)) if os.path.isdir(events_dir) else []:
        with open(os.path.join(events_dir, name)) as handle:
            events.append(json.load(handle))
    return types.SimpleNamespace(proc=proc, status=status, events=events,
                                 stdout=open(os.path.join(artifacts, "stdout")).read()
                                 if os.path.exists(os.path.join(artifacts, "stdout")) else proc.output)


def host_rulesets(si):
    view = si.content.viewManager.CreateContainerView(si.content.rootFolder, [vim.HostSystem], True)
    try:
        return dict((h.name, dict((r.key, r.enabled) for r in h.configManager.firewallSystem.firewallInfo.ruleset
                                  if r.key in ("remoteSerialPort", "vSPC"))) for h in view.view)
    finally:
        view.Destroy()


def test_job_templates_through_ansible_runner_with_concurrent_slices(tmp_path, fresh_vcsim):
    sim = fresh_vcsim(vm=2)
    si = connect(sim)
    listen = {"type": "network", "service_uri": "telnet://:7001"}
    vspc = {"type": "network", "service_uri": "vSPC.py", "proxy_uri": "telnet://vspc.example.com:13370"}
    settings = {
        "DC0_C0_RP0_VM0": {"serial_console_ports": [{"number": 1, "backing": listen}],
                           "vmci_firewall_profile": "deny_all"},
        "DC0_C0_RP0_VM1": {"serial_console_ports": [{"number": 1, "backing": listen}, {"number": 2, "backing": vspc}],
                           "vmci_firewall_profile": "hypervisor_only"},
        "DC0_H0_VM0": {"serial_console_ports": [{"number": 1, "backing": vspc}]},
        "DC0_H0_VM1": {"serial_console_ports": [{"number": 1, "backing": listen}, {"number": 2, "backing": vspc}]},
    }
    for vm in settings.values():
        vm["serial_console_allow_power_cycle"] = True
    # AWX job slicing: host i of the inventory goes to slice i mod N. Each slice holds a cluster VM
    # and a VM of DC0_H0, so both slices enable remoteSerialPort and vSPC on DC0_H0 and on every
    # host of DC0_C0, at the same time.
    names = sorted(settings)
    slices = [dict((n, settings[n]) for n in names[i::2]) for i in range(2)]
    pdds = [private_data_dir(str(tmp_path / ("slice%d" % (i + 1))), sim, s) for i, s in enumerate(slices)]
    results = [None, None]

    def launch(i):
        results[i] = runner(pdds[i], "playbooks/serial_console.yml", "serial-%d" % (i + 1))

    threads = [threading.Thread(target=launch, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(900)
    enabled_by = []
    for result in results:
        assert result.status == "successful", result.stdout[-6000:]
        assert result.proc.returncode == 0
        firewall = [e for e in result.events if e.get("event") == "runner_on_ok"
                    and e["event_data"].get("task", "").endswith("Firewall | Enable the rule sets the serial ports need")]
        # Once per slice at most, never per VM. A slice that reads the hosts after the other slice
        # enabled the rule sets has nothing left to enable and skips the task (the slices race).
        assert len(firewall) <= 1, "the firewall task runs once per slice"
        enabled_by += firewall
        assert sim.password not in result.stdout
    assert enabled_by, "no slice enabled the rule sets"

    assert host_rulesets(si) == dict((h, {"remoteSerialPort": True, "vSPC": True})
                                     for h in ("DC0_H0", "DC0_C0_H0", "DC0_C0_H1", "DC0_C0_H2"))
    for name, vm_settings in settings.items():
        assert sorted(serial_ports(find_vm(si, name))) == [p["number"] for p in vm_settings["serial_console_ports"]]

    # The other two templates, over the whole inventory (one job each).
    whole = private_data_dir(str(tmp_path / "whole"), sim, settings,
                             extravars={"audit_report_dir": str(tmp_path / "audit")})
    again = runner(whole, "playbooks/serial_console.yml", "serial-again")
    assert again.status == "successful", again.stdout[-6000:]
    stats = [e for e in again.events if e.get("event") == "playbook_on_stats"][0]["event_data"]
    assert stats["changed"] == {}, stats
    vmci = runner(whole, "playbooks/vmci_firewall.yml", "vmci")
    assert vmci.status == "successful", vmci.stdout[-6000:]
    audit = runner(whole, "playbooks/audit.yml", "audit")
    assert audit.status == "successful", audit.stdout[-6000:]
    stats = [e for e in audit.events if e.get("event") == "playbook_on_stats"][0]["event_data"]
    summary = stats["artifact_data"]["vmchannels_audit"]
    assert dict((k, summary[k]) for k in ("vms", "vms_unreadable", "serial_ports", "network_ports",
                                          "network_ports_not_ready", "vms_with_vmci_filtering")) == {
        "vms": 4, "vms_unreadable": 0, "serial_ports": 6, "network_ports": 6, "network_ports_not_ready": 0,
        "vms_with_vmci_filtering": 2}, stats
    assert summary["vms_in_policy"] == 4 and summary["vms_drifted"] == 0, stats
    assert "| DC0_H0_VM1 | DC0_H0 | poweredOn | 2 | network server vSPC.py via vSPC" in audit.stdout
    assert (tmp_path / "audit" / "vmchannels-audit.md").is_file()
