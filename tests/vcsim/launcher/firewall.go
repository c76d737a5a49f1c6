package main

// Per-host firewall and UpdateRuleset.
//
// vcsim 0.24.2 gives every HostFirewallSystem a shallow copy of
// esx.HostFirewallInfo, so all hosts share one Ruleset slice (enabling a rule
// set on one host shows on all), and host.config.firewall is a separate copy
// that EnableRuleset/DisableRuleset never update. UpdateRuleset is missing.
//
// Here every host gets its own deep copy of the rule-set table, used by BOTH
// host.config.firewall and host.configManager.firewallSystem.firewallInfo (the
// same pointer), and the firewall system is replaced by a type that embeds
// simulator.HostFirewallSystem by value (so property retrieval keeps working),
// adds UpdateRuleset and a no-op RefreshFirewall, and makes
// Enable/Disable/UpdateRuleset report the change to WaitForUpdates(Ex).
// Hosts added later (AddHost_Task, AddStandaloneHost_Task) are fixed by a
// registry handler.
//
// With -upstream-firewall, host.config.firewall is a copy of its own that no
// rule-set change ever updates, as in upstream vcsim (v0.57 still behaves so):
// a client that reads config.firewall instead of the firewall system's
// firewallInfo then sees stale rule sets, which real ESXi hosts never show.

import (
	"bytes"
	"sync"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/simulator/esx"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
	"github.com/vmware/govmomi/vim25/xml"
)

// syncConfigFirewall: host.config.firewall is the firewall system's table
// (false with -upstream-firewall: a stale copy, as upstream vcsim's).
var syncConfigFirewall = true

type firewallSystem struct {
	simulator.HostFirewallSystem

	host types.ManagedObjectReference
}

// changed reports a rule-set change to WaitForUpdates listeners, for both
// firewallSystem.firewallInfo and host.config.firewall (vcsim's own
// Enable/DisableRuleset update the data silently).
func (s *firewallSystem) changed(ctx *simulator.Context) {
	ctx.Map.Update(s, []types.PropertyChange{{Name: "firewallInfo", Val: s.FirewallInfo}})
	if !syncConfigFirewall {
		return
	}
	if h, ok := ctx.Map.Get(s.host).(*simulator.HostSystem); ok && h.Config != nil {
		ctx.Map.Update(h, []types.PropertyChange{{Name: "config.firewall", Val: s.FirewallInfo}})
	}
}

func (s *firewallSystem) EnableRuleset(ctx *simulator.Context, req *types.EnableRuleset) soap.HasFault {
	res := s.HostFirewallSystem.EnableRuleset(req)
	if res.Fault() == nil {
		s.changed(ctx)
	}
	return res
}

func (s *firewallSystem) DisableRuleset(ctx *simulator.Context, req *types.DisableRuleset) soap.HasFault {
	res := s.HostFirewallSystem.DisableRuleset(req)
	if res.Fault() == nil {
		s.changed(ctx)
	}
	return res
}

// UpdateRuleset replaces the allowedHosts of rule set req.Id with
// req.Spec.AllowedHosts (NotFound for an unknown id).
func (s *firewallSystem) UpdateRuleset(ctx *simulator.Context, req *types.UpdateRuleset) soap.HasFault {
	body := &methods.UpdateRulesetBody{}
	info := s.FirewallInfo
	for i := range info.Ruleset {
		if info.Ruleset[i].Key == req.Id {
			allowed := new(types.HostFirewallRulesetIpList)
			deepCopy(&req.Spec.AllowedHosts, allowed)
			info.Ruleset[i].AllowedHosts = allowed
			body.Res = new(types.UpdateRulesetResponse)
			s.changed(ctx)
			return body
		}
	}
	body.Fault_ = simulator.Fault("", &types.NotFound{})
	return body
}

// RefreshFirewall is a no-op (the simulated table never changes on its own).
func (s *firewallSystem) RefreshFirewall(req *types.RefreshFirewall) soap.HasFault {
	return &methods.RefreshFirewallBody{Res: new(types.RefreshFirewallResponse)}
}

// Default rule sets that must exist (they do in 0.24.2's esx data; kept as a
// safety net with the data of a real ESXi 6.5+ host).
var requiredRulesets = []types.HostFirewallRuleset{
	{
		Key:   "remoteSerialPort",
		Label: "VM serial port connected over network",
		Rule: []types.HostFirewallRule{
			{Port: 0, EndPort: 65535, Direction: "outbound", PortType: "dst", Protocol: "tcp"},
			{Port: 23, EndPort: 0, Direction: "inbound", PortType: "dst", Protocol: "tcp"},
			{Port: 1024, EndPort: 65535, Direction: "inbound", PortType: "dst", Protocol: "tcp"},
		},
		Enabled:      false,
		AllowedHosts: &types.HostFirewallRulesetIpList{AllIp: true},
	},
	{
		Key:   "vSPC",
		Label: "VM serial port connected to vSPC",
		Rule: []types.HostFirewallRule{
			{Port: 0, EndPort: 65535, Direction: "outbound", PortType: "dst", Protocol: "tcp"},
		},
		Enabled:      false,
		AllowedHosts: &types.HostFirewallRulesetIpList{AllIp: true},
	},
}

func newFirewallInfo() *types.HostFirewallInfo {
	info := new(types.HostFirewallInfo)
	deepCopy(&esx.HostFirewallInfo, info)
	for _, want := range requiredRulesets {
		found := false
		for _, rs := range info.Ruleset {
			if rs.Key == want.Key {
				found = true
				break
			}
		}
		if !found {
			rs := types.HostFirewallRuleset{}
			deepCopy(&want, &rs)
			info.Ruleset = append(info.Ruleset, rs)
		}
	}
	return info
}

var firewallMu sync.Mutex

// fixHostFirewall gives the host its own table and the UpdateRuleset-capable
// firewall system (idempotent).
func fixHostFirewall(host *mo.HostSystem) {
	if host.ConfigManager.FirewallSystem == nil {
		return
	}
	firewallMu.Lock()
	defer firewallMu.Unlock()
	ref := *host.ConfigManager.FirewallSystem
	old, ok := simulator.Map.Get(ref).(*simulator.HostFirewallSystem)
	if !ok {
		return // already replaced (or missing)
	}
	info := newFirewallInfo()
	fw := &firewallSystem{}
	fw.HostFirewallSystem.HostFirewallSystem = old.HostFirewallSystem // mo data (Self, ...)
	fw.FirewallInfo = info
	fw.host = host.Self
	simulator.Map.Put(fw) // same reference: replaces the shared-table object
	if host.Config != nil {
		if syncConfigFirewall {
			host.Config.Firewall = info // same data as firewallSystem.firewallInfo
		} else {
			stale := new(types.HostFirewallInfo)
			deepCopy(info, stale) // never updated again
			host.Config.Firewall = stale
		}
	}
}

type firewallFixer struct {
	mo.ExtensibleManagedObject
}

func (*firewallFixer) PutObject(obj mo.Reference) {
	if h, ok := obj.(*simulator.HostSystem); ok {
		fixHostFirewall(&h.HostSystem)
	}
}
func (*firewallFixer) UpdateObject(mo.Reference, []types.PropertyChange) {}
func (*firewallFixer) RemoveObject(types.ManagedObjectReference)         {}

func installFirewallFixes(upstream bool) {
	syncConfigFirewall = !upstream
	for _, e := range simulator.Map.All("HostSystem") {
		if h, ok := e.(*simulator.HostSystem); ok {
			fixHostFirewall(&h.HostSystem)
		}
	}
	h := &firewallFixer{}
	h.Self = types.ManagedObjectReference{Type: "VcsimFirewallFixer", Value: "firewallFixer"}
	simulator.Map.AddHandler(h)
}

// deepCopy copies src to dst through vim25 XML (as vcsim's own deepCopy does).
func deepCopy(src, dst interface{}) {
	b, err := xml.Marshal(src)
	if err != nil {
		panic(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.TypeFunc = types.TypeFunc()
	if err := dec.Decode(dst); err != nil {
		panic(err)
	}
}
