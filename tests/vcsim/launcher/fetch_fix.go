package main

// Fix for the Fetch panic of vcsim 0.24.2.
//
// pyVmomi 8/9 reads single properties with the internal "Fetch" method. For an
// unset property (e.g. vm.snapshot of a VM without snapshots) the simulator's
// PropertyCollector.Fetch indexes an empty MissingSet and panics; net/http
// then drops the connection ("Remote end closed connection without response").
//
// We replace the registered PropertyCollector singleton with a type that embeds
// simulator.PropertyCollector BY VALUE (the simulator clones it per session with
// reflect.New, and getManagedObject digs the mo type out of field 0), and
// overrides Fetch: it calls the embedded Fetch and turns a panic into an empty
// FetchResponse (= unset property), or ManagedObjectNotFound if the object does
// not exist.

import (
	"log"
	"reflect"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

type propertyCollector struct {
	simulator.PropertyCollector
}

// FetchResponse must carry this exact type name: vcsim names the response
// element after the type of the body's Res field.
type FetchResponse struct {
	Returnval types.AnyType `xml:"returnval,omitempty,typeattr"`
}

type fetchBody struct {
	Res    *FetchResponse `xml:"FetchResponse,omitempty"`
	Fault_ *soap.Fault    `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault,omitempty"`
}

func (b *fetchBody) Fault() *soap.Fault { return b.Fault_ }

func (pc *propertyCollector) Fetch(ctx *simulator.Context, req interface{}) (res soap.HasFault) {
	defer func() {
		if r := recover(); r != nil {
			var this types.ManagedObjectReference
			if v := reflect.ValueOf(req); v.Kind() == reflect.Ptr && !v.IsNil() {
				if f := v.Elem().FieldByName("This"); f.IsValid() {
					this, _ = f.Interface().(types.ManagedObjectReference)
				}
			}
			if ctx.Map.Get(this) == nil {
				res = &fetchBody{Fault_: simulator.Fault("The object has already been deleted or has not been completely created",
					&types.ManagedObjectNotFound{Obj: this})}
				return
			}
			log.Printf("Fetch %s: unset property (recovered from: %v)", this, r)
			res = &fetchBody{Res: &FetchResponse{}}
		}
	}()
	out := reflect.ValueOf(&pc.PropertyCollector).MethodByName("Fetch").Call(
		[]reflect.Value{reflect.ValueOf(ctx), reflect.ValueOf(req)})
	return out[0].Interface().(soap.HasFault)
}

func installFetchFix() {
	ref := simulator.Map.Get(simulator.Map.Get(serviceInstanceRef).(*simulator.ServiceInstance).Content.PropertyCollector).Reference()
	pc := new(propertyCollector)
	pc.Self = ref
	simulator.Map.Put(pc) // same reference: replaces the singleton
}

var serviceInstanceRef = types.ManagedObjectReference{Type: "ServiceInstance", Value: "ServiceInstance"}
