"""Stand-ins for the engine's unit tests: VMs read as plain properties, a concern whose state is one
number, and a vSphere that answers reads and reconfigure waves from a script."""
from ansible_collections.vmchannels.vsphere.plugins.module_utils.engine.record import Concern
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.errors import VSphereError
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere.properties import ObjectProperties


class Ref(object):
    def __init__(self, moid):
        self._moId = moid


def props(moid, value, version="1", name=None, power_state="poweredOff"):
    return ObjectProperties(Ref(moid), {"name": name or moid, "config.uuid": "uuid-" + moid,
                                        "config.instanceUuid": "iuuid-" + moid, "runtime.powerState": power_state,
                                        "config.changeVersion": version, "value": value})


class NumberPlan(object):
    """A VM's plan: ``value`` from ``before`` to ``after``."""

    blocked = ()

    def __init__(self, run, after):
        self.run = run
        self.before = run.props["value"]
        self.after = after
        self.changes = self.before != after
        self.warnings = []

    def device_changes(self):
        return ["set %s" % self.after]

    def what(self):
        return "setting the number of %s" % self.run.props.get("name")


class Number(Concern):
    """A concern whose state is ``props["value"]``; an entry asks for ``value``; ``refuse`` is the
    set of names whose plan vSphere would refuse."""

    diff_of_failed = False

    def __init__(self, refuse=()):
        self.refuse = refuse

    def plan(self, client, run, allow_power_cycle):
        if run.props.get("name") in self.refuse:
            raise VSphereError("%s cannot have a number" % run.props.get("name"), kind="invalid")
        return NumberPlan(run, run.entry["value"])

    def explain(self, error, run):
        error.msg += " (number)"
        return error

    def state_after(self, props):
        return props["value"]

    def inspect_hosts(self, client, runs, name_hosts):
        return ["%d VMs looked at" % len(runs)]

    def result_fields(self, run):
        return dict(value=run.after) if run.after is not None else {}

    def before_fields(self, run):
        return dict(value_before=run.plan.before) if run.plan is not None else {}

    def diff(self, run):
        return dict(before=dict(value=run.plan.before), after=dict(value=run.plan.after))


class Vsphere(object):
    """What the fake vSphere holds (``{moid: value}``, each VM's change version) and answers:
    ``concurrent`` lists, per wave, the moids whose reconfiguration another client beats (the value
    it sets meanwhile, which bumps the version). Records the calls in ``calls``."""

    def __init__(self, values, concurrent=()):
        self.values = dict(values)
        self.versions = dict((moid, 1) for moid in values)
        self.concurrent = list(concurrent)
        self.calls = []

    def find_runs(self, client, runs):
        self.calls.append(("find", [run.entry.get("name") for run in runs if run.error is None]))
        for run in runs:
            if run.error is None and run.entry["name"] in self.values:
                run.ref = Ref(run.entry["name"])
            elif run.error is None:
                run.error = VSphereError("No virtual machine named '%s' was found." % run.entry["name"], kind="not_found")

    def read_all(self, client, refs, **options):
        self.calls.append(("read", [ref._moId for ref in refs]))
        return dict((ref._moId, props(ref._moId, self.values[ref._moId], str(self.versions[ref._moId])))
                    for ref in refs), {}

    def reconfigure_wave(self, client, changes, timeout, destroy_filter=True):
        self.calls.append(("wave", [p.moid for p, _specs, _what in changes]))
        beaten = self.concurrent.pop(0) if self.concurrent else {}
        for moid, value in beaten.items():
            self.values[moid] = value
            self.versions[moid] += 1
        out = []
        for read, specs, what in changes:
            if str(self.versions[read.moid]) != read.get("config.changeVersion"):
                out.append((VSphereError("%s was refused because the object was changed by someone else meanwhile "
                                         "(ConcurrentAccess); read it again and retry." % what.capitalize(),
                                         kind="concurrent"), None))
                continue
            self.values[read.moid] = int(specs[0].split()[1])
            self.versions[read.moid] += 1
            out.append((None, props(read.moid, self.values[read.moid], str(self.versions[read.moid]))))
        return out

    def install(self, monkeypatch, module):
        for name in ("find_runs", "read_all", "reconfigure_wave"):
            monkeypatch.setattr(module, name, getattr(self, name))
