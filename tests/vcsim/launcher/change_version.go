package main

// config.changeVersion checking, as real vCenter does it.
//
// vcsim 0.24.2 leaves config.changeVersion empty and ignores
// spec.changeVersion. Here:
//   - every VM gets a non-empty changeVersion (at startup, and for VMs created
//     later by CreateVM_Task/CloneVM_Task/RegisterVM_Task via a registry
//     handler that sees the VM's first property update),
//   - a ReconfigVM_Task whose spec.changeVersion differs from the current one
//     fails (task error vim.fault.ConcurrentAccess) without applying anything,
//   - every successful ReconfigVM_Task bumps changeVersion (ISO-8601 UTC
//     timestamp with microseconds, strictly increasing, like vCenter's
//     "2024-01-02T03:04:05.123456Z").
//
// The VirtualMachine type cannot be wrapped (vcsim type-asserts
// *simulator.VirtualMachine everywhere), so sdkHandler rewrites the _this of
// ReconfigVM_Task requests to a per-VM "guard" object, registered under
// {Type: guardType, Value: <vm moid>}. The guard is dispatched by vcsim
// normally (session check, delay, locking) and calls the VM's own
// ReconfigVMTask under the VM's lock. The same guard serves the fault
// injection of faults.go (power methods of VMs with faults).

import (
	"sync"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

const guardType = "VcsimReconfigGuard"

type reconfigGuard struct {
	mo.ExtensibleManagedObject // an embedded mo type keeps vcsim's reflection helpers happy

	vm types.ManagedObjectReference
}

var (
	guardMu   sync.Mutex
	versionMu sync.Mutex
	lastVer   time.Time
)

// nextChangeVersion returns a strictly increasing timestamp string.
func nextChangeVersion() string {
	versionMu.Lock()
	defer versionMu.Unlock()
	now := time.Now().UTC().Truncate(time.Microsecond)
	if !now.After(lastVer) {
		now = lastVer.Add(time.Microsecond)
	}
	lastVer = now
	return now.Format("2006-01-02T15:04:05.000000Z")
}

// reconfigGuardFor returns the guard moid for the VM moid, registering the
// guard on first use; "" if there is no such VM (vcsim then answers natively).
func reconfigGuardFor(vmValue string) string {
	ref := types.ManagedObjectReference{Type: "VirtualMachine", Value: vmValue}
	if _, ok := simulator.Map.Get(ref).(*simulator.VirtualMachine); !ok {
		return ""
	}
	gref := types.ManagedObjectReference{Type: guardType, Value: vmValue}
	guardMu.Lock()
	defer guardMu.Unlock()
	if simulator.Map.Get(gref) == nil {
		g := &reconfigGuard{vm: ref}
		g.Self = gref
		simulator.Map.Put(g)
	}
	return vmValue
}

func (g *reconfigGuard) ReconfigVMTask(ctx *simulator.Context, req *types.ReconfigVM_Task) soap.HasFault {
	req.This = g.vm
	// runTask (faults.go) locks the VM and applies the injected faults first.
	return g.runTask(ctx, "ReconfigVM_Task", func(c *simulator.Context, vm *simulator.VirtualMachine) soap.HasFault {
		return reconfigureChecked(c, vm, req)
	}, func(ref types.ManagedObjectReference) soap.HasFault {
		return &methods.ReconfigVM_TaskBody{Res: &types.ReconfigVM_TaskResponse{Returnval: ref}}
	})
}

// reconfigureChecked is ReconfigVM_Task with the changeVersion check (the VM is locked).
func reconfigureChecked(ctx *simulator.Context, vm *simulator.VirtualMachine, req *types.ReconfigVM_Task) soap.HasFault {
	current := ""
	if vm.Config != nil {
		current = vm.Config.ChangeVersion
	}
	if req.Spec.ChangeVersion != "" && req.Spec.ChangeVersion != current {
		task := simulator.CreateTask(vm, "reconfigVm", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
			return nil, new(types.ConcurrentAccess)
		})
		tref := task.Run()
		if task.Info.Error != nil {
			task.Info.Error.LocalizedMessage = "Cannot complete operation due to concurrent modification by another operation."
		}
		return &methods.ReconfigVM_TaskBody{Res: &types.ReconfigVM_TaskResponse{Returnval: tref}}
	}

	res := vm.ReconfigVMTask(ctx, req)
	body, ok := res.(*methods.ReconfigVM_TaskBody)
	if !ok || body.Res == nil {
		return res
	}
	// vcsim tasks run synchronously: the task is finished here.
	if task, ok := ctx.Map.Get(body.Res.Returnval).(*simulator.Task); ok &&
		task.Info.State == types.TaskInfoStateSuccess && vm.Config != nil {
		ctx.Map.Update(vm, []types.PropertyChange{{Name: "config.changeVersion", Val: nextChangeVersion()}})
	}
	return res
}

// changeVersionInit is a registry handler giving new VMs a changeVersion.
type changeVersionInit struct {
	mo.ExtensibleManagedObject
}

func (*changeVersionInit) PutObject(mo.Reference) {}

func (*changeVersionInit) RemoveObject(ref types.ManagedObjectReference) {
	if ref.Type == "VirtualMachine" {
		simulator.Map.Remove(types.ManagedObjectReference{Type: guardType, Value: ref.Value})
	}
}

func (*changeVersionInit) UpdateObject(obj mo.Reference, _ []types.PropertyChange) {
	// vcsim registers a new VM before its config exists; the first property
	// update after creation (createVM updates "name" last) finds it filled in.
	if vm, ok := obj.(*mo.VirtualMachine); ok && vm.Config != nil && vm.Config.ChangeVersion == "" {
		vm.Config.ChangeVersion = nextChangeVersion()
	}
}

func installChangeVersion() {
	for _, e := range simulator.Map.All("VirtualMachine") {
		if vm, ok := e.(*simulator.VirtualMachine); ok && vm.Config != nil && vm.Config.ChangeVersion == "" {
			vm.Config.ChangeVersion = nextChangeVersion()
		}
	}
	h := &changeVersionInit{}
	h.Self = types.ManagedObjectReference{Type: "VcsimChangeVersionInit", Value: "changeVersionInit"}
	simulator.Map.AddHandler(h)
}
