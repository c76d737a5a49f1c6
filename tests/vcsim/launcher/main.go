// Command launcher runs the govmomi 0.24.2 vSphere simulator (vcsim) with a
// configurable inventory and a few fixes/extensions needed by this
// collection's tests. See ../README.md.
//
// Build (no module downloads):
//
//	GO111MODULE=off GOPATH=<dir>:/usr/share/gocode go build -o vcsim .
package main

import (
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io/ioutil"
	"log"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/vmware/govmomi/simulator"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address (host:port) to listen on")
	username := flag.String("username", "", "required user name (with -password); default: any non-empty credentials are accepted")
	password := flag.String("password", "", "required password (with -username)")
	dc := flag.Int("dc", 1, "number of datacenters")
	cluster := flag.Int("cluster", 1, "number of clusters per datacenter")
	host := flag.Int("host", 3, "number of hosts per cluster")
	standalone := flag.Int("standalone-host", 1, "number of standalone hosts per datacenter")
	vm := flag.Int("vm", 2, "number of VMs per host / resource pool (Model.Machine)")
	folder := flag.Int("folder", 0, "number of folders (Model.Folder)")
	esxMode := flag.Bool("esx", false, "simulate a standalone ESXi host instead of vCenter")
	useTLS := flag.Bool("tls", true, "serve HTTPS")
	certFile := flag.String("cert", "", "PEM certificate file to serve (with -key) instead of the built-in self-signed one")
	keyFile := flag.String("key", "", "PEM private key file for -cert")
	delay := flag.Int("delay", 0, "fixed latency in milliseconds added to every SOAP call")
	loginDelay := flag.Int("login-delay", 0, "latency in milliseconds added to Login alone (models vCenter's single sign-on)")
	traceFile := flag.String("trace", "", "append one JSON line per SOAP request to FILE (see README)")
	traceSOAP := flag.String("trace-soap", "", "write vcsim's full SOAP request/response dump (simulator.Trace) to FILE")
	configOptions := flag.Bool("config-options", true, "add VirtualSIOControllerOption and VirtualVMCIDeviceOption to QueryConfigOption(Ex) results")
	upstreamFirewall := flag.Bool("upstream-firewall", false, "model upstream vcsim: host.config.firewall is never updated by Enable/DisableRuleset (only the firewall system's firewallInfo is)")
	readyFile := flag.String("ready-file", "", "write a JSON object with url/host/port/pid/... to FILE once listening")
	flag.Parse()

	log.SetPrefix("vcsim-launcher: ")

	var m *simulator.Model
	if *esxMode {
		m = simulator.ESX()
		m.Machine = *vm
	} else {
		m = simulator.VPX()
		m.Datacenter = *dc
		m.Cluster = *cluster
		m.ClusterHost = *host
		m.Host = *standalone
		m.Machine = *vm
		m.Folder = *folder
	}
	m.DelayConfig.Delay = *delay

	if *traceSOAP != "" {
		f, err := os.OpenFile(*traceSOAP, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0600)
		if err != nil {
			log.Fatal(err)
		}
		simulator.Trace = true
		simulator.TraceFile = f
	}

	if err := m.Create(); err != nil {
		log.Fatalf("creating model: %s", err)
	}

	// Launcher fixes and extensions (each in its own file).
	installFetchFix()                       // fetch_fix.go
	installFirewallFixes(*upstreamFirewall) // firewall.go
	installChangeVersion()                  // change_version.go
	installSearchIndex()                    // search_index.go
	if *configOptions {
		installConfigOptions() // config_option.go
	}

	// Credentials: only a Listen URL with user info makes vcsim refuse bad logins.
	u := &url.URL{Host: *listen}
	if *username != "" && *password != "" {
		u.User = url.UserPassword(*username, *password)
	}
	m.Service.Listen = u

	if *useTLS {
		cfg := new(tls.Config)
		if *certFile != "" || *keyFile != "" {
			cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
			if err != nil {
				log.Fatalf("loading -cert/-key: %s", err)
			}
			cfg.Certificates = []tls.Certificate{cert}
		}
		m.Service.TLS = cfg
	}

	var tracer *requestTracer
	if *traceFile != "" {
		var err error
		tracer, err = newRequestTracer(*traceFile)
		if err != nil {
			log.Fatal(err)
		}
	}

	srv := m.Service.NewServer()
	// Nobody knows the (ephemeral) port yet, so no request can arrive before
	// the handler is wrapped.
	srv.Config.Handler = &sdkHandler{next: srv.Config.Handler, tracer: tracer,
		loginDelay: time.Duration(*loginDelay) * time.Millisecond, ended: newEndedSessions(), live: newLiveSessions(),
		basicAuth: func(u, p string) bool { // the credentials Login accepts
			if *username != "" && *password != "" {
				return u == *username && p == *password
			}
			return u != "" && p != ""
		}}

	sdkURL := *srv.URL
	user := sdkURL.User
	sdkURL.User = nil
	pw, _ := user.Password()
	port, _ := strconv.Atoi(sdkURL.Port())
	ready := map[string]interface{}{
		"url":      sdkURL.String(),
		"host":     sdkURL.Hostname(),
		"port":     port,
		"pid":      os.Getpid(),
		"username": user.Username(),
		"password": pw,
		"esx":      *esxMode,
		"tls":      *useTLS,
	}
	if *readyFile != "" {
		if err := writeJSONAtomic(*readyFile, ready); err != nil {
			log.Fatalf("writing ready file: %s", err)
		}
	}
	fmt.Println(sdkURL.String())

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	s := <-sig
	log.Printf("received %s, shutting down", s)

	done := make(chan struct{})
	go func() {
		srv.Close() // waits for in-flight requests (e.g. WaitForUpdates)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		log.Print("server close timed out; exiting anyway")
	}
	m.Remove() // removes the temporary datastore directories
	if *readyFile != "" {
		_ = os.Remove(*readyFile)
	}
	if tracer != nil {
		tracer.Close()
	}
	os.Exit(0)
}

func writeJSONAtomic(path string, v interface{}) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := ioutil.TempFile(filepath.Dir(path), ".ready-*")
	if err != nil {
		return err
	}
	if _, err = tmp.Write(append(data, '\n')); err == nil {
		err = tmp.Close()
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
