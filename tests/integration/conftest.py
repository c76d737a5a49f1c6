"""Fixtures for integration tests: a simulator per session (or a fresh one), real
``ansible-playbook`` runs against it, and a pyVmomi session to read the result back."""
import json
import os
import subprocess

import ansible_under_test
import pytest
from vcsimctl import Simulator

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# ansible-playbook and the interpreter of the modules: the project's, or a matrix leg's.
BIN = ansible_under_test.BIN
CALLBACKS = os.path.join(ROOT, "tests", "integration", "callback_plugins")


class PlaybookRun(object):
    def __init__(self, proc, results):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.results = results

    def task(self, name):
        """The result entry of the last task called ``name`` (``KeyError`` if it never ran)."""
        for entry in reversed(self.results):
            if entry["task"] == name:
                return entry
        raise KeyError("task %r not in results: %s\n%s\n%s" % (name, [e["task"] for e in self.results],
                                                               self.stdout[-3000:], self.stderr[-3000:]))

    def result(self, name):
        return self.task(name)["result"]

    def __repr__(self):
        failures = ["%s: %s" % (e["task"], e["result"].get("msg")) for e in self.results if e["status"] == "failed"]
        return "PlaybookRun(rc=%s, failed tasks: %s)" % (self.rc, failures or self.stderr[-2000:])


def ansible_env(sim=None, extra=None):
    env = dict(os.environ)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": os.path.join(ROOT, ".build", "collections"),
        "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
        "ANSIBLE_PYTHON_INTERPRETER": ansible_under_test.PYTHON,
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
        "ANSIBLE_RETRY_FILES_ENABLED": "false",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_CALLBACK_PLUGINS": CALLBACKS,
        "ANSIBLE_CALLBACKS_ENABLED": "record_results",
        "PATH": BIN + os.pathsep + env.get("PATH", ""),
    })
    for key in [k for k in env if k.startswith("VMWARE_")]:
        del env[key]
    if sim is not None:
        env.update(sim.env())
    env.update(extra or {})
    return env


def run_playbook(tmp_path, plays, sim=None, env=None, args=(), inventory=None, name="play"):
    """Write ``plays`` (a list of plays, or a list of tasks for localhost) and run it."""
    if plays and "hosts" not in plays[0] and "import_playbook" not in plays[0]:
        plays = [{"hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": plays}]
    playbook = tmp_path / ("%s.yml" % name)
    playbook.write_text(json.dumps(plays, indent=1))
    results_file = tmp_path / ("%s.results.jsonl" % name)
    if results_file.exists():
        results_file.unlink()
    extra = {"RECORD_RESULTS_FILE": str(results_file)}
    extra.update(env or {})
    cmd = [os.path.join(BIN, "ansible-playbook"), "-i", inventory or "localhost,", str(playbook)] + list(args)
    proc = subprocess.run(cmd, cwd=str(tmp_path), env=ansible_env(sim, extra), capture_output=True, text=True,
                          timeout=900, check=False)
    results = []
    if results_file.exists():
        results = [json.loads(line) for line in results_file.read_text().splitlines() if line.strip()]
    return PlaybookRun(proc, results)


@pytest.fixture(scope="session")
def vcsim(tmp_path_factory):
    """One simulator for the whole session (default inventory). Tests that change shared state
    use their own VMs or ``fresh_vcsim``."""
    sim = Simulator(trace=str(tmp_path_factory.mktemp("vcsim") / "trace.log")).start()
    yield sim
    sim.stop()


@pytest.fixture
def fresh_vcsim(tmp_path):
    """A factory of simulators with a clean inventory, stopped at the end of the test."""
    started = []

    def make(**options):
        options.setdefault("trace", str(tmp_path / ("trace-%d.log" % len(started))))
        sim = Simulator(**options).start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def playbook(tmp_path, vcsim):
    """``playbook(tasks_or_plays, **kw)`` runs against the session simulator by default."""

    def run(plays, sim=vcsim, **kwargs):
        return run_playbook(tmp_path, plays, sim=sim, **kwargs)

    return run


def connect(sim):
    from pyVim.connect import SmartConnect

    return SmartConnect(host=sim.host, port=sim.port, user=sim.username, pwd=sim.password,
                        disableSslCertValidation=True)


@pytest.fixture(scope="session")
def si(vcsim):
    """A pyVmomi session on the session simulator, for reading results back."""
    from pyVim.connect import Disconnect

    service_instance = connect(vcsim)
    yield service_instance
    Disconnect(service_instance)


def module_simulator(**options):
    """Fixtures ``sim`` (a simulator for one test module, started with ``options``), ``si`` (a
    pyVmomi session on it) and ``play`` (playbook runs against it). In a test module:
    ``sim, si, play = module_simulator(vm=8)``."""
    from pyVim.connect import Disconnect

    @pytest.fixture(scope="module")
    def sim(tmp_path_factory):
        simulator = Simulator(trace=str(tmp_path_factory.mktemp("sim") / "trace.jsonl"), **options).start()
        yield simulator
        simulator.stop()

    @pytest.fixture(scope="module")
    def si(sim):
        service_instance = connect(sim)
        yield service_instance
        Disconnect(service_instance)

    @pytest.fixture
    def play(tmp_path, sim):
        def run(tasks, **kwargs):
            return run_playbook(tmp_path, tasks, sim=sim, **kwargs)
        return run

    return sim, si, play
