package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/ioutil"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/vim25/soap"
)

// sdkHandler wraps vcsim's HTTP handler. For every SOAP request it
//   - appends one JSON line to the -trace file (if any),
//   - drops the connection when a fault says so (faults.go),
//   - routes ReconfigVM_Task (and, for VMs with faults, PowerOnVM_Task,
//     PowerOffVM_Task and ShutdownGuest) to the VM's guard (change_version.go,
//     faults.go) by rewriting the request's _this reference,
//   - refuses the reads of ended sessions (ended_sessions.go), and
//   - delays Login by loginDelay (vCenter's single sign-on takes hundreds of
//     milliseconds; vcsim answers at once).
//
// POST /launcher/faults sets the faults of a VM (faults.go); /folder (datastore
// files) is served by serveFolder (folder.go).
type sdkHandler struct {
	next       http.Handler
	tracer     *requestTracer
	loginDelay time.Duration
	ended      *endedSessions // ended_sessions.go
	live       *liveSessions  // folder.go
	// basicAuth tells whether HTTP Basic credentials are accepted on /folder (folder.go)
	basicAuth func(user, pass string) bool
}

// sessionTag names the session of a request in the trace without revealing
// its cookie: the first 12 hex digits of the cookie's SHA-256 ("" without one).
func sessionTag(r *http.Request) string {
	c, err := r.Cookie(soap.SessionCookieName)
	if err != nil || c.Value == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(c.Value))
	return hex.EncodeToString(sum[:])[:12]
}

var (
	reMethod = regexp.MustCompile(`(?s)<(?:[A-Za-z_][\w.-]*:)?Body\b[^>]*>\s*<(?:[A-Za-z_][\w.-]*:)?([A-Za-z_]\w*)`)
	reThis   = regexp.MustCompile(`(?s)<_this\b([^>]*)>([^<]*)</_this>`)
	reType   = regexp.MustCompile(`\btype="([^"]*)"`)
	// The objects a PropertyCollector request starts from (ObjectSpec.obj) and the types it asks
	// properties of (PropertySpec.type; a TraversalSpec's <type> is not inside a <propSet>).
	reObj     = regexp.MustCompile(`(?s)<(?:[A-Za-z_][\w.-]*:)?obj\b[^>]*\btype="([^"]*)"[^>]*>([^<]*)</`)
	rePropSet = regexp.MustCompile(`(?s)<(?:[A-Za-z_][\w.-]*:)?propSet\b[^>]*>\s*<(?:[A-Za-z_][\w.-]*:)?type\b[^>]*>([^<]*)</`)
)

// maxTracedObjects bounds the "objects" of one trace line (a read of 500 VMs names the first ones
// and counts them all in "object_count").
const maxTracedObjects = 20

// propertySpecs returns the starting objects ("Type:value", at most maxTracedObjects), their
// number, and the sorted distinct property types of a PropertyCollector request body.
func propertySpecs(body []byte) ([]string, int, []string) {
	var objects []string
	matches := reObj.FindAllSubmatch(body, -1)
	for _, m := range matches {
		if len(objects) < maxTracedObjects {
			objects = append(objects, string(m[1])+":"+string(m[2]))
		}
	}
	seen := map[string]bool{}
	var types []string
	for _, m := range rePropSet.FindAllSubmatch(body, -1) {
		t := string(m[1])
		if !seen[t] {
			seen[t] = true
			types = append(types, t)
		}
	}
	sort.Strings(types)
	return objects, len(matches), types
}

func (h *sdkHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == faultsPath {
		serveFaults(w, r)
		return
	}
	if r.URL.Path == endSessionsPath {
		h.serveEndSessions(w, r) // folder.go: a test hook
		return
	}
	if isFolderRequest(r) {
		h.serveFolder(w, r) // folder.go: datastore files, session checked, bytes served traced
		return
	}
	if r.Method != http.MethodPost {
		if h.tracer != nil { // e.g. pyVmomi's GET /sdk/vimServiceVersions.xml
			h.tracer.log(r.Method, r.URL.Path, "", "", "", "", 0, nil, 0, nil)
		}
		h.next.ServeHTTP(w, r)
		return
	}
	body, err := ioutil.ReadAll(r.Body)
	_ = r.Body.Close()
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}

	method := ""
	if m := reMethod.FindSubmatch(body); m != nil {
		method = string(m[1])
	}
	thisType, thisValue := "", ""
	loc := reThis.FindSubmatchIndex(body)
	if loc != nil {
		if t := reType.FindSubmatch(body[loc[2]:loc[3]]); t != nil {
			thisType = string(t[1])
		}
		thisValue = string(body[loc[4]:loc[5]])
	}

	if h.tracer != nil {
		var objects, types []string
		count := 0
		if strings.HasPrefix(method, "Retrieve") || method == "CreateFilter" {
			objects, count, types = propertySpecs(body)
		}
		h.tracer.log(r.Method, r.URL.Path, method, thisType, thisValue, sessionTag(r), len(body), objects, count, types)
	}
	if method == "Login" && h.loginDelay > 0 {
		time.Sleep(h.loginDelay)
	}
	if h.ended.refuses(r, method) {
		writeNotAuthenticated(w, thisType, thisValue)
		return
	}
	h.ended.note(r, method, body)
	h.ended.forget(r, method)
	if ((thisType == "VirtualMachine" && takeEndSession(thisValue, method)) ||
		(thisType == "PropertyCollector" && takeEndSessionAt(method))) && h.ended.endByFault(r) {
		writeNotAuthenticated(w, thisType, thisValue)
		return
	}

	if thisType == "VirtualMachine" && takeDrop(thisValue, method) {
		// A lost connection: closed before the request is executed, without an answer.
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, herr := hj.Hijack(); herr == nil {
				_ = conn.Close()
				return
			}
		}
	}

	// Without a session cookie vcsim refuses the call anyway (NotAuthenticated
	// naming the VM): leave such requests alone.
	rerouted := false
	if _, cerr := r.Cookie(soap.SessionCookieName); cerr == nil && thisType == "VirtualMachine" && loc != nil &&
		(method == "ReconfigVM_Task" || (guardedPowerMethods[method] && hasFaults(thisValue))) {
		if guard := reconfigGuardFor(thisValue); guard != "" {
			var b bytes.Buffer
			b.Write(body[:loc[0]])
			b.WriteString(`<_this type="` + guardType + `">` + guard + `</_this>`)
			b.Write(body[loc[1]:])
			body = b.Bytes()
			rerouted = true
		}
	}

	r.Body = ioutil.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	if !rerouted {
		if opensSession(method) {
			w = &cookieWatcher{ResponseWriter: w, live: h.live} // folder.go
		}
		h.next.ServeHTTP(w, r)
		return
	}
	// A rerouted call that vcsim refuses before reaching the guard (NotAuthenticated for a
	// cookie of an ended session) names the guard in its fault, a type no client knows:
	// name the VM again, as vcsim would have (the guard's value is the VM's).
	rec := httptest.NewRecorder()
	h.next.ServeHTTP(rec, r)
	out := bytes.ReplaceAll(rec.Body.Bytes(), []byte(`type="`+guardType+`"`), []byte(`type="VirtualMachine"`))
	out = bytes.ReplaceAll(out, []byte(`xsi:type="`+guardType+`"`), []byte(`xsi:type="VirtualMachine"`))
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(rec.Code)
	_, _ = w.Write(out)
}

// requestTracer writes one JSON object per SOAP request, one per line:
//
//	{"seq":1,"time":"...","http":"POST","path":"/sdk","method":"RetrieveServiceContent","this_type":"ServiceInstance","this":"ServiceInstance","session":"","bytes":412}
//
// "session" is sessionTag of the request: which requests shared a session.
//
// SOAP calls are the lines with "http":"POST" (their "method" is the SOAP
// method); other HTTP requests (GET) are logged with an empty "method".
// PropertyCollector reads (Retrieve*, CreateFilter) also carry "objects" (the
// ObjectSpecs they start from, "Type:value", the first 20), "object_count" and
// "types" (the PropertySpec types): a look-up by name starts from the root
// folder ("Folder:group-d1"), a read by moid from the VM itself.
type requestTracer struct {
	mu  sync.Mutex
	f   *os.File
	seq int64
}

func newRequestTracer(path string) (*requestTracer, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0600)
	if err != nil {
		return nil, err
	}
	return &requestTracer{f: f}, nil
}

// write appends one JSON line: the record that line builds from the next sequence number and the time.
func (t *requestTracer) write(line func(seq int64, now string) interface{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seq++
	b, _ := json.Marshal(line(t.seq, time.Now().UTC().Format(time.RFC3339Nano)))
	_, _ = t.f.Write(append(b, '\n'))
}

func (t *requestTracer) log(httpMethod, path, method, thisType, this, session string, n int, objects []string,
	count int, types []string) {
	t.write(func(seq int64, now string) interface{} {
		return struct {
			Seq         int64    `json:"seq"`
			Time        string   `json:"time"`
			HTTP        string   `json:"http"`
			Path        string   `json:"path"`
			Method      string   `json:"method"`
			ThisType    string   `json:"this_type"`
			This        string   `json:"this"`
			Session     string   `json:"session"`
			Bytes       int      `json:"bytes"`
			Objects     []string `json:"objects,omitempty"`
			ObjectCount int      `json:"object_count,omitempty"`
			Types       []string `json:"types,omitempty"`
		}{seq, now, httpMethod, path, method, thisType, this, session, n, objects, count, types}
	})
}

// logFolder writes the line of a datastore file request (folder.go), after it was answered:
//
//	{"seq":9,"time":"...","http":"GET","path":"/folder/vm/serial.log","method":"","session":"3f2a...","status":206,"range":"bytes=-65536","served":65536}
//
// "served" is the number of body bytes sent (0 for HEAD, a 401 or a 416).
func (t *requestTracer) logFolder(httpMethod, path, session string, status int, rangeHeader string, served int64) {
	t.write(func(seq int64, now string) interface{} {
		return struct {
			Seq     int64  `json:"seq"`
			Time    string `json:"time"`
			HTTP    string `json:"http"`
			Path    string `json:"path"`
			Method  string `json:"method"`
			Session string `json:"session"`
			Status  int    `json:"status"`
			Range   string `json:"range,omitempty"`
			Served  int64  `json:"served"`
		}{seq, now, httpMethod, path, "", session, status, rangeHeader, served}
	})
}

func (t *requestTracer) Close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	_ = t.f.Close()
}
