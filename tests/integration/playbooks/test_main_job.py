"""scripts/main-job, the README's first command: with the embedded simulator, and pointed at a
"real" vCenter (a simulator started here, reached through VMWARE_* and -i like a real one)."""
import json
import os
import re
import shutil
import subprocess

from vcsimctl import Simulator

from conftest import ROOT, connect
from vsphere_helpers import find_vm, serial_ports

MAIN_JOB = os.path.join(ROOT, "scripts", "main-job")
EXAMPLE = os.path.join(ROOT, "playbooks", "inventory", "example")
RECAP = re.compile(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)", re.M)


def recaps(text):
    """{host: (changed, failed)} of the PLAY RECAP lines in ``text``."""
    return dict((host, (int(changed), int(failed))) for host, changed, failed in RECAP.findall(text))


def job_env(workdir, **extra):
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith(("VMWARE_", "ANSIBLE_")))
    env.update(VMCH_MAIN_JOB_DIR=str(workdir), **extra)
    return env


def main_job(args, env):
    proc = subprocess.run([MAIN_JOB] + list(args), cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=900, check=False)
    proc.output = proc.stdout + proc.stderr
    return proc


def section(output, playbook):
    """The output of the run of playbooks/<playbook> (up to the next playbook run)."""
    start = output.index("main-job: ansible-playbook playbooks/%s" % playbook)
    end = output.find("main-job: ", start + 10)
    return output[start:end if end > 0 else None]


def test_main_job_with_the_simulator_configures_audits_and_rechecks(tmp_path):
    proc = main_job([], job_env(tmp_path))
    assert proc.returncode == 0, proc.output[-8000:]
    out = proc.stdout
    assert "starting the embedded vCenter simulator" in out
    assert "main-job: inventory %s/inventory: 4 VMs" % tmp_path in out
    # The configuration changed every VM; the second run changed nothing.
    first = recaps(section(out, "serial_console.yml"))
    assert sorted(h for h, (changed, failed) in first.items() if changed and not failed) == [
        "DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1", "DC0_H0_VM0", "DC0_H0_VM1"]
    assert "main-job: second run: no changes (8 host results, changed=0)" in out
    second = (tmp_path / "second-run.log").read_text()
    assert len(RECAP.findall(second)) == 8 and set(recaps(second).values()) == {(0, 0)}

    # The report is printed and written; every network port has its rule set.
    report = (tmp_path / "audit" / "vmchannels-audit.md").read_text()
    assert report.strip() in out
    assert "| VM | ESXi host | power | port | backing | connected | rule set | VMCI filtering | status |" in report
    # The vCenter read (the simulator the job started) and the time with its zone.
    assert re.search(r"^Generated \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC from 127\.0\.0\.1:\d+: ", report, re.M), report
    data = json.loads((tmp_path / "audit" / "vmchannels-audit.json").read_text())
    assert data["summary"]["vms"] == 4 and data["summary"]["vms_unreadable"] == 0
    assert data["summary"]["network_ports"] == 3 and data["summary"]["network_ports_not_ready"] == 0
    kinds = set(p["backing"]["type"] for vm in data["vms"] for p in vm["serial_ports"])
    assert kinds == {"network", "pipe", "file", "device", "thinprint"}
    assert sorted(vm["vmci"]["filter_enabled"] for vm in data["vms"]) == [False, True, True, True]
    # Right after the configuration, every VM is as the inventory says; the summary and the HTML
    # report are printed.
    assert [vm["status"] for vm in data["vms"]] == ["in policy"] * 4
    assert ("main-job: drift: 4 VM(s) audited: 4 in policy, 0 drifted, 0 not managed, 0 with errors; 0 network "
            "port(s) whose rule set is not enabled; 1 VM(s) without VMCI filtering") in out
    html = tmp_path / "audit" / "vmchannels-audit.html"
    assert "main-job: HTML report (open it in a browser): %s" % html in out
    assert html.is_file() and "Content-Security-Policy" in html.read_text()
    # The simulator was stopped on exit.
    assert not (tmp_path / "vcsim" / "state.json").exists()
    assert not [pid for pid in os.listdir("/proc") if pid.isdigit() and str(tmp_path / "vcsim") in _cmdline(pid)]


def _cmdline(pid):
    try:
        with open("/proc/%s/cmdline" % pid, "rb") as handle:
            return handle.read().decode(errors="replace")
    except OSError:
        return ""


def test_main_job_against_a_vcenter_twice_second_run_changes_nothing(tmp_path):
    with Simulator(vm=1) as sim:
        si = connect(sim)
        vms = ["DC0_C0_RP0_VM0", "DC0_H0_VM0"]
        inventory = tmp_path / "inventory"
        shutil.copytree(os.path.join(EXAMPLE, "group_vars"), str(inventory / "group_vars"))
        (inventory / "host_vars").mkdir()
        shutil.copy(os.path.join(EXAMPLE, "host_vars", "db01.yml"), str(inventory / "host_vars" / (vms[0] + ".yml")))
        shutil.copy(os.path.join(EXAMPLE, "host_vars", "web01.yml"), str(inventory / "host_vars" / (vms[1] + ".yml")))
        (inventory / "hosts.yml").write_text("vms:\n  hosts:\n    %s:\n    %s:\n" % tuple(vms))
        for name in vms:  # serial_console_allow_power_cycle is false in the example: add ports powered off
            vm = find_vm(si, name)
            vm.PowerOffVM_Task()
        env = job_env(tmp_path / "work", **sim.env())

        proc = main_job(["-i", str(inventory)], env)
        assert proc.returncode == 0, proc.output[-8000:]
        assert "main-job: vCenter %s, inventory %s" % (sim.host, inventory) in proc.stdout
        assert "second run" not in proc.stdout  # --recheck is off by default against a vCenter
        first = recaps(section(proc.stdout, "serial_console.yml"))
        assert sorted(h for h, (changed, failed) in first.items() if changed and not failed) == sorted(vms)

        proc = main_job(["-i", str(inventory)], env)
        assert proc.returncode == 0, proc.output[-8000:]
        for book in ("serial_console.yml", "vmci_firewall.yml"):
            second = recaps(section(proc.stdout, book))
            assert sorted(second) == sorted(vms), proc.stdout
            assert set(second.values()) == {(0, 0)}, proc.stdout
        assert set(n for n, p in serial_ports(find_vm(si, vms[1])).items()) == {1, 2}
        assert sim.password not in proc.output

        # Without -i, a vCenter run refuses to guess the VMs.
        proc = main_job([], env)
        assert proc.returncode == 2
        assert "give the inventory of your VMs with -i PATH" in proc.stderr
