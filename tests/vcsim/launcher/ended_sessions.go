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
	mu  sync.Mutex
	ids map[string]bool
}

var (
	reSessionID    = regexp.MustCompile(`<(?:[A-Za-z_][\w.-]*:)?sessionId\b[^>]*>([^<]*)<`)
	anonymousReads = map[string]bool{"RetrieveProperties": true, "RetrievePropertiesEx": true, "Fetch": true}
)

func newEndedSessions() *endedSessions {
	return &endedSessions{ids: map[string]bool{}}
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

// refuses tells whether the request is a read that vcsim would answer for an ended session.
func (e *endedSessions) refuses(r *http.Request, method string) bool {
	if !anonymousReads[method] {
		return false
	}
	cookie := sessionCookie(r)
	e.mu.Lock()
	defer e.mu.Unlock()
	return cookie != "" && e.ids[cookie]
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
