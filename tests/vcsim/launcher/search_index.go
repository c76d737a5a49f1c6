package main

// SearchIndex.FindAllByUuid (vSphere API 5.0+) is missing from vcsim 0.24.2, which answers it
// with MethodNotFound. The collection looks VMs up by UUID with it (so that two VMs sharing a
// BIOS UUID, as clones can, are reported instead of one being picked at random), so the
// launcher adds it: the SearchIndex is replaced by a type that embeds vcsim's by value and
// adds the method; the other SearchIndex methods are vcsim's own.

import (
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

type searchIndex struct {
	simulator.SearchIndex
}

func (s *searchIndex) FindAllByUuid(ctx *simulator.Context, req *types.FindAllByUuid) soap.HasFault {
	body := &methods.FindAllByUuidBody{Res: new(types.FindAllByUuidResponse)}
	instance := req.InstanceUuid != nil && *req.InstanceUuid
	if req.VmSearch {
		for _, e := range ctx.Map.All("VirtualMachine") {
			vm, ok := e.(*simulator.VirtualMachine)
			if !ok || vm.Config == nil {
				continue
			}
			if (instance && vm.Config.InstanceUuid == req.Uuid) || (!instance && vm.Config.Uuid == req.Uuid) {
				body.Res.Returnval = append(body.Res.Returnval, vm.Self)
			}
		}
	} else {
		for _, e := range ctx.Map.All("HostSystem") {
			host, ok := e.(*simulator.HostSystem)
			if ok && host.Summary.Hardware != nil && host.Summary.Hardware.Uuid == req.Uuid {
				body.Res.Returnval = append(body.Res.Returnval, host.Self)
			}
		}
	}
	return body
}

func installSearchIndex() {
	for _, value := range []string{"SearchIndex", "ha-searchindex"} {
		ref := types.ManagedObjectReference{Type: "SearchIndex", Value: value}
		if old, ok := simulator.Map.Get(ref).(*simulator.SearchIndex); ok {
			idx := &searchIndex{}
			idx.SearchIndex.SearchIndex = old.SearchIndex
			simulator.Map.Put(idx)
		}
	}
}
