"""Pure logic of serial ports: plan and diff (serial_ports/ports.py). Table-driven."""
import pytest
from ansible_collections.vmchannels.vsphere.plugins.module_utils.serial_ports import ports as sp

from .helpers import entry, net


def port(number, backing, **options):
    out = dict(sp.NEW_PORT_DEFAULTS, number=number, backing=sp.normalize_backing(backing),
               key=9000 + (number or 3), label="Serial port %s" % number, status="untried")
    out.update(options)
    return out


# -- plan --------------------------------------------------------------------------------------

def test_new_port_gets_defaults_and_backing_defaults():
    changes = sp.plan({}, [entry(1, net())])
    assert [(c.op, c.number) for c in changes] == [("add", 1)]
    after = changes[0].after
    assert after["backing"] == {"type": "network", "service_uri": "telnet://:7001", "direction": "server", "proxy_uri": None}
    assert (after["yield_on_poll"], after["start_connected"], after["allow_guest_control"]) == (True, True, False)


def test_new_port_without_backing_is_refused():
    with pytest.raises(ValueError, match="port 2 does not exist yet"):
        sp.plan({}, [entry(2, yield_on_poll=True)])


def test_unset_options_keep_current_values():
    current = {1: port(1, net(), yield_on_poll=False, allow_guest_control=True)}
    assert sp.plan(current, [entry(1)]) == []
    changes = sp.plan(current, [entry(1, start_connected=False)])
    assert [c.op for c in changes] == ["edit"]
    assert changes[0].after["yield_on_poll"] is False and changes[0].after["allow_guest_control"] is True


def test_same_backing_type_ports_are_independent():
    current = {1: port(1, net("telnet://:7001")), 2: port(2, net("telnet://:7002"))}
    changes = sp.plan(current, [entry(2, net("telnet://:7012"))])
    assert [(c.op, c.number) for c in changes] == [("edit", 2)]
    assert changes[0].after["backing"]["service_uri"] == "telnet://:7012"


def test_backing_is_replaced_as_a_whole():
    current = {1: port(1, net(proxy="telnet://vspc:1"))}
    changes = sp.plan(current, [entry(1, net())])
    assert changes[0].after["backing"]["proxy_uri"] is None


def test_connected_is_compared_only_while_powered_on():
    current = {1: port(1, net(), connected=False)}
    assert sp.plan(current, [entry(1, connected=True)], powered_on=False) == []
    assert [c.op for c in sp.plan(current, [entry(1, connected=True)], powered_on=True)] == ["edit"]


def test_absent_and_exclusive():
    current = {1: port(1, net()), 2: port(2, {"type": "thinprint"}), -9003: port(None, {"type": "thinprint"})}
    assert [(c.op, c.number) for c in sp.plan(current, [entry(2, state="absent")])] == [("remove", 2)]
    assert sp.plan(current, [entry(5, state="absent")]) == []
    changes = sp.plan(current, [entry(1)], exclusive=True)
    assert [(c.op, c.number) for c in changes] == [("remove", -9003), ("remove", 2)]
    assert [(c.op, c.number) for c in sp.plan(current, [], exclusive=True)] == [
        ("remove", -9003), ("remove", 1), ("remove", 2)]


def test_predicted_and_diff():
    current = {1: port(1, net())}
    changes = sp.plan(current, [entry(1, state="absent"), entry(2, {"type": "file", "file_path": "[ds] x"})])
    after = sp.predicted(current, changes)
    assert sorted(after) == [2]
    d = sp.diff(current, after, powered_on=False)
    assert list(d["before"]["serial_ports"]) == ["port 1"] and list(d["after"]["serial_ports"]) == ["port 2"]
    assert "connected" not in d["after"]["serial_ports"]["port 2"]


@pytest.mark.parametrize("state,expected", [("poweredOff", []), ("poweredOn", [1, 2]), ("suspended", [1, 2])])
def test_power_problem(state, expected):
    current = {2: port(2, net()), 3: port(3, net())}
    changes = sp.plan(current, [entry(1, net()), entry(2, state="absent"), entry(3, yield_on_poll=False)])
    assert sp.power_problem(changes, state) == expected


@pytest.mark.parametrize("backing,ruleset", [
    ({"type": "network", "proxy_uri": "telnet://v:1"}, "vSPC"),
    ({"type": "network", "proxy_uri": None}, "remoteSerialPort"),
    ({"type": "file"}, None),
    (None, None),
])
def test_needed_ruleset(backing, ruleset):
    assert sp.needed_ruleset(backing) == ruleset


@pytest.mark.parametrize("unit,label,number", [(0, "Serial port 1", 1), (None, "Serial port 3", 3),
                                               (None, "serialport-9000", None), (4, None, 5)])
def test_port_number(unit, label, number):
    assert sp.port_number(unit, label) == number
