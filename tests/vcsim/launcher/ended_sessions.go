package main

import (
	"fmt"
	"html"
	"net/http"
	"regexp"
	"sync"

	"github.com/vmware/govmomi/vim25/soap"
)

// endedSessions models what vcsim 0.24.2 lacks: a real vCenter refuses every
// request of an ended session (logged out, terminated by an administrator,
// expired) with NotAuthenticated. vcsim refuses most methods, but answers
// RetrieveProperties(Ex) and Fetch as for an anonymous caller, with empty
// results: a client reusing an ended session would read "no such VM" instead
// of learning that its session ended. The handler notes the sessions that
// Logout and TerminateSession end (vcsim's session cookie is the session key)
// and refuses those three methods for them.
type endedSessions struct {
	mu   sync.Mutex
	ids  map[string]bool
	kept map[string]bool // ended by the launcher's end_session fault: vcsim still knows them
	// faultEnded: the end_session fault has ended its session
	faultEnded bool
}

var (
	reSessionID    = regexp.MustCompile(`<(?:[A-Za-z_][\w.-]*:)?sessionId\b[^>]*>([^<]*)<`)
	anonymousReads = map[string]bool{"RetrieveProperties": true, "RetrievePropertiesEx": true, "Fetch": true}
)

func newEndedSessions() *endedSessions {
	return &endedSessions{ids: map[string]bool{}, kept: map[string]bool{}}
}

func sessionCookie(r *http.Request) string {
	if c, err := r.Cookie(soap.SessionCookieName); err == nil {
		return c.Value
	}
	return ""
}

// note records the sessions a request ends.
func (e *endedSessions) note(r *http.Request, method string, body []byte) {
	cookie := sessionCookie(r)
	e.mu.Lock()
	defer e.mu.Unlock()
	switch method {
	case "Logout":
		if cookie != "" {
			e.ids[cookie] = true
		}
	case "TerminateSession": // vcsim refuses to terminate the caller's own session
		for _, m := range reSessionID.FindAllSubmatch(body, -1) {
			if id := string(m[1]); id != cookie {
				e.ids[id] = true
			}
		}
	}
}

// endByFault is the end_session fault (faults.go) hitting the request: the first hit ends the
// request's session (vcsim keeps it: every later request of it is refused here, and a Login with
// its cookie starts a new one), later hits refuse requests of that ended session and let those of
// other sessions through, so the fault ends one session, as an expiry would. True: refuse it.
func (e *endedSessions) endByFault(r *http.Request) bool {
	cookie := sessionCookie(r)
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.faultEnded && cookie != "" {
		e.faultEnded = true
		e.ids[cookie] = true
		e.kept[cookie] = true
		return true
	}
	return cookie != "" && e.kept[cookie]
}

// refuses tells whether the request is one of an ended session that vcsim would answer: a read
// (vcsim answers it as for an anonymous caller), or any request but Login and
// RetrieveServiceContent of a session ended by endByFault (vcsim still knows it).
func (e *endedSessions) refuses(r *http.Request, method string) bool {
	cookie := sessionCookie(r)
	e.mu.Lock()
	defer e.mu.Unlock()
	if cookie == "" || !e.ids[cookie] {
		return false
	}
	return anonymousReads[method] || (e.kept[cookie] && method != "Login" && method != "RetrieveServiceContent")
}

// endKept ends the session id the way endByFault does (vcsim keeps knowing it); false when it had
// ended already.
func (e *endedSessions) endKept(id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ids[id] {
		return false
	}
	e.ids[id] = true
	e.kept[id] = true
	return true
}

// ended tells whether the session cookie was ended (folder.go refuses its file requests).
func (e *endedSessions) ended(cookie string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.ids[cookie]
}

// forget drops the cookie of a Login sent with a session that endByFault ended, so that vcsim logs in
// anew (it refuses a Login on a session it still knows).
func (e *endedSessions) forget(r *http.Request, method string) {
	cookie := sessionCookie(r)
	if method != "Login" || cookie == "" {
		return
	}
	e.mu.Lock()
	kept := e.kept[cookie]
	e.mu.Unlock()
	if kept {
		r.Header.Del("Cookie")
	}
}

// writeNotAuthenticated answers as vCenter does for a request of an ended session.
func writeNotAuthenticated(w http.ResponseWriter, thisType, this string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<soapenv:Body><soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>The session is not authenticated.</faultstring>
<detail><NotAuthenticatedFault xmlns="urn:vim25" xsi:type="NotAuthenticated"><object type="%s">%s</object><privilegeId>System.View</privilegeId></NotAuthenticatedFault></detail>
</soapenv:Fault></soapenv:Body></soapenv:Envelope>`, html.EscapeString(thisType), html.EscapeString(this))
}
