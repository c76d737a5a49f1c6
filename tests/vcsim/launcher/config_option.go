package main

// QueryConfigOption / QueryConfigOptionEx device options (flag -config-options,
// default on).
//
// vcsim 0.24.2 returns a VirtualMachineConfigOption without
// hardwareOptions.virtualDeviceOption, so clients cannot read
// VirtualSIOControllerOption.numSerialPorts or
// VirtualVMCIDeviceOption.filterSpecOption (govmomi 0.24.2 does not even have
// Go types for the latter: they are declared below, named after the WSDL
// type, VirtualMachineVMCIDeviceOption, because the SOAP xsi:type is the Go
// type name). The EnvironmentBrowser objects are replaced by a type that
// embeds simulator.EnvironmentBrowser by value and appends these two options.
// Values are modelled on ESXi 6.5 / hardware version 13 (32 serial ports);
// they are not a capture of a real host. QueryConfigOptionEx additionally gets
// complete GuestOsDescriptors (see completeGuestOsDescriptors).

import (
	"fmt"
	"sync"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

type VirtualMachineVMCIDeviceOptionFilterSpecOption struct {
	types.DynamicData

	Action               types.ChoiceOption `xml:"action"`
	Protocol             types.ChoiceOption `xml:"protocol"`
	Direction            types.ChoiceOption `xml:"direction"`
	LowerDstPortBoundary types.LongOption   `xml:"lowerDstPortBoundary"`
	UpperDstPortBoundary types.LongOption   `xml:"upperDstPortBoundary"`
}

type VirtualMachineVMCIDeviceOption struct {
	types.VirtualDeviceOption

	AllowUnrestrictedCommunication types.BoolOption                                `xml:"allowUnrestrictedCommunication"`
	FilterSpecOption               *VirtualMachineVMCIDeviceOptionFilterSpecOption `xml:"filterSpecOption,omitempty"`
	FilterSupported                *types.BoolOption                               `xml:"filterSupported,omitempty"`
}

func choices(def int32, keys ...string) types.ChoiceOption {
	c := types.ChoiceOption{DefaultIndex: def}
	for _, k := range keys {
		c.ChoiceInfo = append(c.ChoiceInfo, &types.ElementDescription{
			Description: types.Description{Label: k, Summary: k},
			Key:         k,
		})
	}
	return c
}

// serialPortsFor models the serial-port limit of a hardware version: 32 from
// version 11 (vSphere 6.0) on, 4 before. The key is the "vmx-NN" of
// QueryConfigOption; an empty key means the host's default (the newest).
func serialPortsFor(key string) int32 {
	var version int
	if _, err := fmt.Sscanf(key, "vmx-%d", &version); err == nil && version < 11 {
		return 4
	}
	return 32
}

func extraDeviceOptions(key string) []types.BaseVirtualDeviceOption {
	sio := &types.VirtualSIOControllerOption{
		VirtualControllerOption: types.VirtualControllerOption{
			VirtualDeviceOption: types.VirtualDeviceOption{
				Type:                 "VirtualSIOController",
				AutoAssignController: &types.BoolOption{Supported: false, DefaultValue: false},
			},
			Devices:         types.IntOption{Min: 0, Max: 1, DefaultValue: 1},
			SupportedDevice: []string{"VirtualFloppy", "VirtualSerialPort", "VirtualParallelPort"},
		},
		NumFloppyDrives:  types.IntOption{Min: 0, Max: 2, DefaultValue: 0},
		NumSerialPorts:   types.IntOption{Min: 0, Max: serialPortsFor(key), DefaultValue: 0},
		NumParallelPorts: types.IntOption{Min: 0, Max: 3, DefaultValue: 0},
	}
	vmci := &VirtualMachineVMCIDeviceOption{
		VirtualDeviceOption: types.VirtualDeviceOption{
			Type:                 "VirtualMachineVMCIDevice", // WSDL name of vim.vm.device.VirtualVMCIDevice
			ControllerType:       "VirtualPCIController",
			AutoAssignController: &types.BoolOption{Supported: true, DefaultValue: true},
		},
		AllowUnrestrictedCommunication: types.BoolOption{Supported: true, DefaultValue: false},
		FilterSpecOption: &VirtualMachineVMCIDeviceOptionFilterSpecOption{
			Action:               choices(0, "allow", "deny"),
			Protocol:             choices(0, "hypervisor", "doorbell", "queuepair", "datagram", "stream", "anyProtocol"),
			Direction:            choices(0, "guest", "host", "anyDirection"),
			LowerDstPortBoundary: types.LongOption{Min: 0, Max: 4294967295, DefaultValue: 0},
			UpperDstPortBoundary: types.LongOption{Min: 0, Max: 4294967295, DefaultValue: 4294967295},
		},
		FilterSupported: &types.BoolOption{Supported: true, DefaultValue: false},
	}
	return []types.BaseVirtualDeviceOption{sio, vmci}
}

type environmentBrowser struct {
	simulator.EnvironmentBrowser
}

func addDeviceOptions(opt *types.VirtualMachineConfigOption, key string) {
	if opt == nil {
		return
	}
	opt.HardwareOptions.HwVersion = 13
	opt.HardwareOptions.NumSIOControllers = types.IntOption{Min: 0, Max: 1, DefaultValue: 1}
	opt.HardwareOptions.VirtualDeviceOption = append(opt.HardwareOptions.VirtualDeviceOption, extraDeviceOptions(key)...)
}

func (b *environmentBrowser) QueryConfigOption(req *types.QueryConfigOption) soap.HasFault {
	res := b.EnvironmentBrowser.QueryConfigOption(req)
	if body, ok := res.(*methods.QueryConfigOptionBody); ok && body.Res != nil {
		addDeviceOptions(body.Res.Returnval, req.Key)
	}
	return res
}

func (b *environmentBrowser) QueryConfigOptionEx(req *types.QueryConfigOptionEx) soap.HasFault {
	res := b.EnvironmentBrowser.QueryConfigOptionEx(req)
	if body, ok := res.(*methods.QueryConfigOptionExBody); ok && body.Res != nil {
		key := ""
		if req.Spec != nil {
			key = req.Spec.Key
		}
		addDeviceOptions(body.Res.Returnval, key)
		completeGuestOsDescriptors(body.Res.Returnval)
	}
	return res
}

// completeGuestOsDescriptors fills the fields pyVmomi requires in every
// GuestOsDescriptor (vcsim sets only id and family, and pyVmomi then fails to
// deserialize the whole QueryConfigOptionEx answer with "Required field
// recommendedDiskController not provided"). Generic values, not per guest.
func completeGuestOsDescriptors(opt *types.VirtualMachineConfigOption) {
	if opt == nil {
		return
	}
	for i := range opt.GuestOSDescriptor {
		d := &opt.GuestOSDescriptor[i]
		if d.FullName == "" {
			d.FullName = d.Id
		}
		d.SupportedMaxCPUs = 128
		d.NumSupportedPhysicalSockets = 128
		d.NumSupportedCoresPerSocket = 128
		d.SupportedMinMemMB = 4
		d.SupportedMaxMemMB = 6128640
		d.RecommendedMemMB = 2048
		d.RecommendedColorDepth = 32
		d.SupportedDiskControllerList = []string{"VirtualLsiLogicController", "VirtualLsiLogicSASController", "ParaVirtualSCSIController", "VirtualIDEController", "VirtualAHCIController", "VirtualNVMEController"}
		d.RecommendedDiskController = "ParaVirtualSCSIController"
		d.RecommendedSCSIController = "ParaVirtualSCSIController"
		d.SupportedNumDisks = 60
		d.RecommendedDiskSizeMB = 16384
		d.RecommendedCdromController = "VirtualIDEController"
		d.SupportedEthernetCard = []string{"VirtualE1000", "VirtualE1000e", "VirtualVmxnet3"}
		d.RecommendedEthernetCard = "VirtualVmxnet3"
		d.SupportedFirmware = []string{"bios", "efi"}
		d.RecommendedFirmware = "bios"
		d.SupportLevel = "supported"
		d.SupportedForCreate = types.NewBool(true)
		d.VRAMSizeInKB = &types.IntOption{Min: 1024, Max: 262144, DefaultValue: 4096}
		d.NumSupportedFloppyDevices = 2
		d.UsbRecommended = types.NewBool(true)
		d.SupportsMemoryHotAdd = types.NewBool(true)
		d.SupportsCpuHotAdd = types.NewBool(true)
		d.SupportsHotPlugPCI = types.NewBool(true)
		d.DiskUuidEnabled = types.NewBool(true)
	}
}

var envMu sync.Mutex

func wrapEnvironmentBrowser(ref *types.ManagedObjectReference) {
	if ref == nil {
		return
	}
	envMu.Lock()
	defer envMu.Unlock()
	old, ok := simulator.Map.Get(*ref).(*simulator.EnvironmentBrowser)
	if !ok {
		return
	}
	b := &environmentBrowser{}
	b.EnvironmentBrowser.EnvironmentBrowser = old.EnvironmentBrowser
	simulator.Map.Put(b) // same reference: replaces the object
}

type envBrowserFixer struct {
	mo.ExtensibleManagedObject
}

func (*envBrowserFixer) PutObject(obj mo.Reference) {
	if b, ok := obj.(*simulator.EnvironmentBrowser); ok {
		ref := b.Self
		wrapEnvironmentBrowser(&ref)
	}
}
func (*envBrowserFixer) UpdateObject(mo.Reference, []types.PropertyChange) {}
func (*envBrowserFixer) RemoveObject(types.ManagedObjectReference)         {}

func installConfigOptions() {
	for _, kind := range []string{"ComputeResource", "ClusterComputeResource"} {
		for _, e := range simulator.Map.All(kind) {
			switch cr := e.(type) {
			case *mo.ComputeResource:
				wrapEnvironmentBrowser(cr.EnvironmentBrowser)
			case *simulator.ClusterComputeResource:
				wrapEnvironmentBrowser(cr.EnvironmentBrowser)
			}
		}
	}
	h := &envBrowserFixer{}
	h.Self = types.ManagedObjectReference{Type: "VcsimEnvBrowserFixer", Value: "envBrowserFixer"}
	simulator.Map.AddHandler(h)
}
