package main

import (
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
)

// Datastore file access (GET /folder/<path>?dcPath=<datacenter path>&dsName=<datastore>) as
// vCenter serves it. vcsim 0.24.2 serves /folder from each datastore's local directory with Go's
// http.FileServer (Range requests answered 206 with Content-Range, 416 past the end, HEAD), but it
// serves anyone: it never looks at the session cookie. vCenter answers a request without a valid
// session of its own with 401. The launcher
//   - notes the sessions vcsim opens (the Set-Cookie of Login, LoginByToken,
//     LoginExtensionBy*, CloneSession answers),
//   - refuses /folder requests whose cookie is not one of them, or one whose session ended
//     (ended_sessions.go), with 401 and nothing served, unless they carry HTTP Basic credentials
//     the simulator accepts for Login (vCenter takes those on /folder too: it is how users fetch a
//     datastore file with curl -u or ansible.builtin.get_url today; the bench compares with it),
//   - answers 404 when dcPath is not the inventory path of a datacenter: vCenter wants the whole
//     path ("F0/DC0" for a datacenter in folder F0), vcsim's finder also found "DC0", and
//   - traces each /folder request after it is served: its HTTP status, its Range header and the
//     bytes of the body served ("served"), so a test can tell how much of a file a client read.

// folderPath is the path of datastore file access.
const folderPath = "/folder"

// endSessionsPath: POST ends every live session but the caller's own, as an expiry would (a test
// hook: a client must notice at its next request, log in anew and go on).
const endSessionsPath = "/launcher/end_sessions"

// liveSessions is the set of session keys vcsim handed out.
type liveSessions struct {
	mu  sync.Mutex
	ids map[string]bool
}

func newLiveSessions() *liveSessions {
	return &liveSessions{ids: map[string]bool{}}
}

func (l *liveSessions) add(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ids[id] = true
}

func (l *liveSessions) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ids []string
	for id := range l.ids {
		ids = append(ids, id)
	}
	return ids
}

func (l *liveSessions) has(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ids[id]
}

// opensSession tells the SOAP methods whose answer may carry a new session cookie.
func opensSession(method string) bool {
	return strings.HasPrefix(method, "Login") || method == "CloneSession"
}

// cookieWatcher passes an answer through and notes the session cookie it sets.
type cookieWatcher struct {
	http.ResponseWriter
	live *liveSessions
	done bool
}

func (c *cookieWatcher) capture() {
	if c.done {
		return
	}
	c.done = true
	for _, cookie := range (&http.Response{Header: c.Header()}).Cookies() {
		if cookie.Name == soap.SessionCookieName && cookie.Value != "" {
			c.live.add(cookie.Value)
		}
	}
}

func (c *cookieWatcher) WriteHeader(code int) {
	c.capture()
	c.ResponseWriter.WriteHeader(code)
}

func (c *cookieWatcher) Write(b []byte) (int, error) {
	c.capture()
	return c.ResponseWriter.Write(b)
}

// countingWriter counts the body bytes and keeps the status of an answer.
type countingWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

func (c *countingWriter) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *countingWriter) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	n, err := c.ResponseWriter.Write(b)
	c.n += int64(n)
	return n, err
}

func isFolderRequest(r *http.Request) bool {
	return r.URL.Path == folderPath || strings.HasPrefix(r.URL.Path, folderPath+"/")
}

// serveFolder answers a datastore file request: 401 without a live session, else vcsim's answer.
func (h *sdkHandler) serveFolder(w http.ResponseWriter, r *http.Request) {
	cookie := sessionCookie(r)
	path := r.URL.Path // vcsim trims the /folder prefix of the request it serves
	cw := &countingWriter{ResponseWriter: w}
	user, pass, basic := r.BasicAuth()
	basic = basic && h.basicAuth != nil && h.basicAuth(user, pass)
	if !basic && (cookie == "" || !h.live.has(cookie) || h.ended.ended(cookie)) {
		w.Header().Set("WWW-Authenticate", `Basic realm="VMware HTTP server"`)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		cw.status = http.StatusUnauthorized
	} else if dcPath := r.URL.Query().Get("dcPath"); dcPath != "" && !isDatacenterPath(dcPath) {
		http.NotFound(cw, r)
	} else {
		h.next.ServeHTTP(cw, r)
	}
	if h.tracer != nil {
		h.tracer.logFolder(r.Method, path, sessionTag(r), cw.status, r.Header.Get("Range"), cw.n)
	}
}

// isDatacenterPath tells whether p ("DC0", "F0/DC0", with or without a leading slash) is the
// inventory path of a datacenter: the names of the folders from the root folder down, then its own.
func isDatacenterPath(p string) bool {
	p = strings.Trim(p, "/")
	for _, e := range simulator.Map.All("Datacenter") {
		var names []string
		var obj mo.Entity = e
		for obj != nil && obj.Entity().Parent != nil { // the root folder has no parent and no place in the path
			names = append([]string{obj.Entity().Name}, names...)
			parent, _ := simulator.Map.Get(*obj.Entity().Parent).(mo.Entity)
			obj = parent
		}
		if strings.Join(names, "/") == p {
			return true
		}
	}
	return false
}

// serveEndSessions ends every live session but the caller's (endSessionsPath). vcsim keeps knowing
// them, like the end_session fault: every later request of theirs but Login is refused with
// NotAuthenticated (ended_sessions.go), /folder with 401. Answers {"ended": N}.
func (h *sdkHandler) serveEndSessions(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	own := sessionCookie(r)
	n := 0
	for _, id := range h.live.all() {
		if id != own && h.ended.endKept(id) {
			n++
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = fmt.Fprintf(w, "{\"ended\": %d}\n", n)
}
