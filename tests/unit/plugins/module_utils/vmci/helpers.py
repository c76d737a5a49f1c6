"""Shared by test_rules.py and test_firewall.py: a rule as a task gives it, and the filter specs
of a VMCI device as vSphere returns them (real pyVmomi data objects)."""
from pyVmomi import vim

FilterSpec = vim.vm.device.VirtualVMCIDevice.FilterSpec


def rule(action="allow", protocol="stream", direction="host", ports=None, rank=None):
    return dict(action=action, protocol=protocol, direction=direction, ports=ports, rank=rank)


def specs(*rows):
    out = []
    for row in rows:
        spec = FilterSpec(rank=row[0], action=row[1], protocol=row[2], direction=row[3])
        if len(row) > 4 and row[4] is not None:
            spec.lowerDstPortBoundary = row[4]
        if len(row) > 5 and row[5] is not None:
            spec.upperDstPortBoundary = row[5]
        out.append(spec)
    return out
