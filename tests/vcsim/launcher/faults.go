package main

// Fault injection for the power-safety tests: per-VM behaviours of a real vSphere that vcsim
// 0.24.2 cannot show, set while the simulator runs:
//
//	POST /launcher/faults  {"vm": "<moid or name>", "tools": true, "shutdown_delay_ms": -1, ...}
//
// replaces the faults of that VM (an object with only "vm" clears them) and answers
// {"vm": "<moid>"}. The fields:
//
//   - tools: VMware Tools run in the guest. guest.toolsRunningStatus reads guestToolsRunning while
//     the VM is powered on (guestToolsNotRunning otherwise); without it, ShutdownGuest fails with
//     ToolsUnavailable, as on a real host (vcsim shuts any VM down).
//   - shutdown_delay_ms: ShutdownGuest is accepted and the guest powers off this many ms later
//     (0: at once); -1: never (a guest that hangs in its shutdown). A power operation in between
//     cancels the pending shutdown (a guest powered off and on again does not finish the old one).
//   - task_delay_ms: {"PowerOffVM_Task": 3000, ...}: that task of the VM is answered at once but
//     stays running for this long before the operation happens (a vSphere task that outlasts the
//     client's timeout). Meanwhile every other task or ShutdownGuest on the VM fails with
//     TaskInProgress, as on vCenter, where one task runs on a VM at a time.
//   - fail: {"ReconfigVM_Task": {"fault": "GenericVmConfigFault", "times": 1}}: the next `times`
//     tasks of that method end in error with that fault, changing nothing.
//   - refuse: {"ReconfigVM_Task": {"fault": "NoPermission", "times": 1}}: the next `times` calls of
//     that method are refused at once with that fault (a SOAP fault of the call: no task is
//     created, nothing changes), as vCenter refuses a call the user lacks the privilege for.
//     NoPermission names the VM and VirtualMachine.Config.AddRemoveDevice.
//   - drop: {"PowerOnVM_Task": 2}: the next 2 requests of that method on the VM lose their
//     connection: it is closed without an answer, before the request is executed.
//   - end_session: {"ReconfigVM_Task": 1}: the next call of that method on the VM is refused
//     NotAuthenticated, its session ended, as vCenter does when a session expires or an
//     administrator ends it (ended_sessions.go refuses every later request of that session; a
//     Login with its cookie starts a new session). One session is ended so per launcher: once
//     it has, the fault refuses calls of that session only and lets the others through.
//   - end_session_at: {"WaitForUpdatesEx": 2}: the 2nd call of that PropertyCollector method
//     (WaitForUpdatesEx, CreateFilter; by any client, counted from now) ends its session as
//     end_session does: a session that ends while a client waits on its collector. Waits name no VM,
//     so the count is what tells one wait of a power cycle from the next.
//
// The methods concerned are ReconfigVM_Task (always routed to the VM's guard, see
// change_version.go), PowerOnVM_Task, PowerOffVM_Task and ShutdownGuest (routed to the guard
// only for VMs with faults, so every other VM behaves exactly as vcsim's).

import (
	"encoding/json"
	"fmt"
	"io/ioutil"
	"net/http"
	"reflect"
	"sync"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

const faultsPath = "/launcher/faults"

type failSpec struct {
	Fault string `json:"fault"`
	Times int    `json:"times"`
}

type vmFaults struct {
	VM              string               `json:"vm"`
	Tools           bool                 `json:"tools"`
	ShutdownDelayMs int                  `json:"shutdown_delay_ms"`
	TaskDelayMs     map[string]int       `json:"task_delay_ms"`
	Fail            map[string]*failSpec `json:"fail"`
	Refuse          map[string]*failSpec `json:"refuse"`
	Drop            map[string]int       `json:"drop"`
	EndSession      map[string]int       `json:"end_session"`
	EndSessionAt    map[string]int       `json:"end_session_at"`
}

// vmFaultState is what the launcher keeps per VM with faults.
type vmFaultState struct {
	faults   vmFaults
	busy     *types.ManagedObjectReference // the delayed task running on the VM, if any
	powerSeq int                           // bumped by every power operation (cancels pending shutdowns)
}

var (
	faultsMu sync.Mutex
	faultsBy = map[string]*vmFaultState{}
)

// faultFactories are the faults "fail" can name.
var faultFactories = map[string]func() types.BaseMethodFault{
	"GenericVmConfigFault": func() types.BaseMethodFault {
		return &types.GenericVmConfigFault{Reason: "injected by the vcsim launcher"}
	},
	"InvalidState":   func() types.BaseMethodFault { return new(types.InvalidState) },
	"NotSupported":   func() types.BaseMethodFault { return new(types.NotSupported) },
	"TaskInProgress": func() types.BaseMethodFault { return new(types.TaskInProgress) },
	"NoPermission":   func() types.BaseMethodFault { return new(types.NoPermission) },
}

// guardedPowerMethods are routed to the guard for VMs with faults.
var guardedPowerMethods = map[string]bool{"PowerOnVM_Task": true, "PowerOffVM_Task": true, "ShutdownGuest": true}

func faultState(vmMoid string) *vmFaultState {
	faultsMu.Lock()
	defer faultsMu.Unlock()
	return faultsBy[vmMoid]
}

func hasFaults(vmMoid string) bool {
	return faultState(vmMoid) != nil
}

// takeDrop says whether this request must lose its connection (and counts it).
func takeDrop(vmMoid, method string) bool {
	return takeCounted(vmMoid, method, func(f *vmFaults) map[string]int { return f.Drop })
}

// takeEndSession says whether this request must end its session (and counts it).
func takeEndSession(vmMoid, method string) bool {
	return takeCounted(vmMoid, method, func(f *vmFaults) map[string]int { return f.EndSession })
}

// takeEndSessionAt says whether this call of a PropertyCollector method is the one an end_session_at
// fault waits for (and counts it).
func takeEndSessionAt(method string) bool {
	faultsMu.Lock()
	defer faultsMu.Unlock()
	for _, st := range faultsBy {
		if st.faults.EndSessionAt[method] > 0 {
			st.faults.EndSessionAt[method]--
			if st.faults.EndSessionAt[method] == 0 {
				return true
			}
		}
	}
	return false
}

func takeCounted(vmMoid, method string, counts func(*vmFaults) map[string]int) bool {
	faultsMu.Lock()
	defer faultsMu.Unlock()
	st := faultsBy[vmMoid]
	if st == nil || counts(&st.faults)[method] <= 0 {
		return false
	}
	counts(&st.faults)[method]--
	return true
}

// takeFail returns the fault the next task of method must end with, or nil.
func takeFail(vmMoid, method string) types.BaseMethodFault {
	return takeFault(vmMoid, method, func(f *vmFaults) map[string]*failSpec { return f.Fail })
}

// takeRefuse returns the fault the next call of method must be refused with, or nil.
func takeRefuse(vmMoid, method string) types.BaseMethodFault {
	return takeFault(vmMoid, method, func(f *vmFaults) map[string]*failSpec { return f.Refuse })
}

func takeFault(vmMoid, method string, specs func(*vmFaults) map[string]*failSpec) types.BaseMethodFault {
	faultsMu.Lock()
	defer faultsMu.Unlock()
	st := faultsBy[vmMoid]
	if st == nil {
		return nil
	}
	return takeSpec(specs(&st.faults)[method])
}

// takeSpec counts one use of spec and returns its fault, or nil when it is used up (faultsMu held).
func takeSpec(spec *failSpec) types.BaseMethodFault {
	if spec == nil || spec.Times <= 0 {
		return nil
	}
	spec.Times--
	return faultFactories[spec.Fault]()
}

// serveFaults handles POST /launcher/faults.
func serveFaults(w http.ResponseWriter, r *http.Request) {
	fail := func(code int, format string, args ...interface{}) {
		w.WriteHeader(code)
		_, _ = fmt.Fprintf(w, format+"\n", args...)
	}
	if r.Method != http.MethodPost {
		fail(http.StatusMethodNotAllowed, "POST a JSON object")
		return
	}
	body, err := ioutil.ReadAll(r.Body)
	if err != nil {
		fail(http.StatusBadRequest, "%s", err)
		return
	}
	var spec vmFaults
	if err = json.Unmarshal(body, &spec); err != nil {
		fail(http.StatusBadRequest, "%s", err)
		return
	}
	for kind, specs := range map[string]map[string]*failSpec{"fail": spec.Fail, "refuse": spec.Refuse} {
		for method, f := range specs {
			if f == nil || faultFactories[f.Fault] == nil {
				fail(http.StatusBadRequest, "%s.%s: unknown fault", kind, method)
				return
			}
		}
	}
	vm := findVM(spec.VM)
	if vm == nil {
		fail(http.StatusNotFound, "no VM %q", spec.VM)
		return
	}
	moid := vm.Self.Value
	reconfigGuardFor(moid) // the guard must exist before a power call is routed to it
	faultsMu.Lock()
	old := faultsBy[moid]
	if spec.Tools || spec.ShutdownDelayMs != 0 || len(spec.TaskDelayMs) > 0 || len(spec.Fail) > 0 || len(spec.Refuse) > 0 ||
		len(spec.Drop) > 0 || len(spec.EndSession) > 0 || len(spec.EndSessionAt) > 0 {
		st := &vmFaultState{faults: spec}
		if old != nil {
			st.busy, st.powerSeq = old.busy, old.powerSeq+1
		}
		faultsBy[moid] = st
	} else {
		delete(faultsBy, moid)
	}
	faultsMu.Unlock()
	simulator.Map.WithLock(vm, func() { updateTools(vm) })
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"vm": moid})
}

func findVM(nameOrMoid string) *simulator.VirtualMachine {
	for _, e := range simulator.Map.All("VirtualMachine") {
		if vm, ok := e.(*simulator.VirtualMachine); ok && (vm.Self.Value == nameOrMoid || vm.Name == nameOrMoid) {
			return vm
		}
	}
	return nil
}

// updateTools sets guest.toolsRunningStatus from the VM's faults and power state (VM locked).
func updateTools(vm *simulator.VirtualMachine) {
	st := faultState(vm.Self.Value)
	status := types.VirtualMachineToolsRunningStatusGuestToolsNotRunning
	if st != nil && st.faults.Tools && vm.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn {
		status = types.VirtualMachineToolsRunningStatusGuestToolsRunning
	}
	if vm.Guest == nil || vm.Guest.ToolsRunningStatus != string(status) {
		simulator.Map.Update(vm, []types.PropertyChange{{Name: "guest.toolsRunningStatus", Val: string(status)}})
	}
}

// faultBody is a SOAP fault answer for any method.
type faultBody struct {
	Reason *soap.Fault `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault,omitempty"`
}

func (b *faultBody) Fault() *soap.Fault { return b.Reason }

// taskOutcome reads the result or fault of a VM method's answer: the task it started, or the
// fault the method raised.
func taskOutcome(body soap.HasFault) (types.AnyType, types.BaseMethodFault) {
	if f := body.Fault(); f != nil {
		if mf, ok := f.Detail.Fault.(types.BaseMethodFault); ok {
			return nil, mf
		}
		return nil, &types.SystemError{Reason: f.String}
	}
	res := reflect.ValueOf(body).Elem().FieldByName("Res")
	if !res.IsValid() || res.IsNil() {
		return nil, nil
	}
	ref, ok := res.Elem().FieldByName("Returnval").Interface().(types.ManagedObjectReference)
	if !ok {
		return nil, nil
	}
	task, ok := simulator.Map.Get(ref).(*simulator.Task)
	if !ok {
		return nil, nil
	}
	if task.Info.Error != nil {
		return nil, task.Info.Error.Fault
	}
	return task.Info.Result, nil
}

// faultMessages are the localized messages of the injected task faults (vcsim's would be the Go type).
var faultMessages = map[string]string{
	"GenericVmConfigFault": "Invalid configuration for device '0'.",
	"InvalidState":         "The operation is not allowed in the current state.",
	"NotSupported":         "The operation is not supported on the object.",
	"TaskInProgress":       "Another task is already in progress.",
}

// failedTask starts a task of vm that ends with fault at once; returns its reference.
func failedTask(vm *simulator.VirtualMachine, name string, fault types.BaseMethodFault) types.ManagedObjectReference {
	task := simulator.CreateTask(vm, name, func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		return nil, fault
	})
	ref := task.Run()
	if task.Info.Error != nil {
		if msg, ok := faultMessages[reflect.TypeOf(fault).Elem().Name()]; ok {
			task.Info.Error.LocalizedMessage = msg
		}
	}
	return ref
}

// taskNames are the task names vcsim gives each method's task.
var taskNames = map[string]string{"ReconfigVM_Task": "reconfigVm", "PowerOnVM_Task": "powerOn", "PowerOffVM_Task": "powerOff"}

// runTask runs a task method of the VM through the faults: refused while a delayed task runs,
// failed as injected, delayed as injected, or else run at once by op (with the VM locked).
// wrap turns a task reference into the method's answer.
func (g *reconfigGuard) runTask(ctx *simulator.Context, method string,
	op func(*simulator.Context, *simulator.VirtualMachine) soap.HasFault,
	wrap func(types.ManagedObjectReference) soap.HasFault) soap.HasFault {
	vm, ok := ctx.Map.Get(g.vm).(*simulator.VirtualMachine)
	if !ok {
		return &faultBody{Reason: simulator.Fault("The object has already been deleted or has not been completely created",
			&types.ManagedObjectNotFound{Obj: g.vm})}
	}
	ctx.Caller = &g.vm // as if vcsim had dispatched to the VM: it is locked below
	moid := g.vm.Value
	if st := faultState(moid); st != nil {
		if method != "ReconfigVM_Task" {
			bumpPowerSeq(moid)
		}
		if fault := takeRefuse(moid, method); fault != nil {
			if denied, ok := fault.(*types.NoPermission); ok {
				denied.Object = g.vm
				denied.PrivilegeId = "VirtualMachine.Config.AddRemoveDevice"
			}
			return &faultBody{Reason: simulator.Fault("Permission to perform this operation was denied.", fault)}
		}
		if busy := busyTask(moid); busy != nil {
			return wrap(failedTask(vm, taskNames[method], &types.TaskInProgress{Task: *busy}))
		}
		if fault := takeFail(moid, method); fault != nil {
			return wrap(failedTask(vm, taskNames[method], fault))
		}
		if delay := st.faults.TaskDelayMs[method]; delay > 0 {
			return wrap(g.delayedTask(ctx, vm, method, delay, op))
		}
	}
	var res soap.HasFault
	ctx.Map.WithLock(vm, func() {
		res = op(ctx, vm)
		updateTools(vm)
	})
	return res
}

func bumpPowerSeq(moid string) int {
	faultsMu.Lock()
	defer faultsMu.Unlock()
	if st := faultsBy[moid]; st != nil {
		st.powerSeq++
		return st.powerSeq
	}
	return 0
}

func busyTask(moid string) *types.ManagedObjectReference {
	faultsMu.Lock()
	defer faultsMu.Unlock()
	if st := faultsBy[moid]; st != nil {
		return st.busy
	}
	return nil
}

func setBusy(moid string, task *types.ManagedObjectReference) {
	faultsMu.Lock()
	defer faultsMu.Unlock()
	if st := faultsBy[moid]; st != nil {
		st.busy = task
	}
}

// delayedTask answers with a task that stays running for delay ms, then runs op (VM locked) and
// ends with op's outcome. The VM is busy meanwhile.
func (g *reconfigGuard) delayedTask(ctx *simulator.Context, vm *simulator.VirtualMachine, method string, delay int,
	op func(*simulator.Context, *simulator.VirtualMachine) soap.HasFault) types.ManagedObjectReference {
	later := *ctx // the request's context ends with the request; its session and registry stay valid
	later.Caller = &g.vm
	moid := g.vm.Value
	task := simulator.CreateTask(vm, taskNames[method], func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		time.Sleep(time.Duration(delay) * time.Millisecond)
		var result types.AnyType
		var fault types.BaseMethodFault
		simulator.Map.WithLock(vm, func() {
			result, fault = taskOutcome(op(&later, vm))
			updateTools(vm)
		})
		setBusy(moid, nil)
		return result, fault
	})
	ref := task.Self
	setBusy(moid, &ref)
	go task.Run()
	return ref
}

func (g *reconfigGuard) PowerOnVMTask(ctx *simulator.Context, req *types.PowerOnVM_Task) soap.HasFault {
	req.This = g.vm
	return g.runTask(ctx, "PowerOnVM_Task", func(c *simulator.Context, vm *simulator.VirtualMachine) soap.HasFault {
		return vm.PowerOnVMTask(c, req)
	}, func(ref types.ManagedObjectReference) soap.HasFault {
		return &methods.PowerOnVM_TaskBody{Res: &types.PowerOnVM_TaskResponse{Returnval: ref}}
	})
}

func (g *reconfigGuard) PowerOffVMTask(ctx *simulator.Context, req *types.PowerOffVM_Task) soap.HasFault {
	req.This = g.vm
	return g.runTask(ctx, "PowerOffVM_Task", func(c *simulator.Context, vm *simulator.VirtualMachine) soap.HasFault {
		return vm.PowerOffVMTask(c, req)
	}, func(ref types.ManagedObjectReference) soap.HasFault {
		return &methods.PowerOffVM_TaskBody{Res: &types.PowerOffVM_TaskResponse{Returnval: ref}}
	})
}

// ShutdownGuest asks the guest to shut down: refused without Tools or while a task runs on the
// VM, otherwise accepted, and the guest powers off after shutdown_delay_ms (or never).
func (g *reconfigGuard) ShutdownGuest(ctx *simulator.Context, req *types.ShutdownGuest) soap.HasFault {
	req.This = g.vm
	vm, ok := ctx.Map.Get(g.vm).(*simulator.VirtualMachine)
	if !ok {
		return &faultBody{Reason: simulator.Fault("", &types.ManagedObjectNotFound{Obj: g.vm})}
	}
	ctx.Caller = &g.vm
	moid := g.vm.Value
	st := faultState(moid)
	if busy := busyTask(moid); busy != nil {
		return &methods.ShutdownGuestBody{Fault_: simulator.Fault("", &types.TaskInProgress{Task: *busy})}
	}
	var res soap.HasFault
	ctx.Map.WithLock(vm, func() {
		if vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn || st == nil || !st.faults.Tools {
			if vm.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn {
				res = &methods.ShutdownGuestBody{Fault_: simulator.Fault("VMware Tools are not running in the guest",
					new(types.ToolsUnavailable))}
				return
			}
			res = vm.ShutdownGuest(ctx, req) // vcsim's answer for a VM that is not running
			return
		}
		delay := 0
		if st != nil {
			delay = st.faults.ShutdownDelayMs
		}
		if delay == 0 {
			bumpPowerSeq(moid)
			res = vm.ShutdownGuest(ctx, req)
			updateTools(vm)
			return
		}
		res = &methods.ShutdownGuestBody{Res: new(types.ShutdownGuestResponse)}
		if delay < 0 {
			return // the guest hangs in its shutdown
		}
		seq := bumpPowerSeq(moid)
		later := *ctx
		later.Caller = &g.vm
		go func() {
			time.Sleep(time.Duration(delay) * time.Millisecond)
			simulator.Map.WithLock(vm, func() {
				if s := faultState(moid); s == nil || s.powerSeq != seq ||
					vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn {
					return // powered off or on again meanwhile: this shutdown is over
				}
				vm.ShutdownGuest(&later, req)
				updateTools(vm)
			})
		}()
	})
	return res
}
