package grant

import (
	"fmt"
	"path/filepath"
	"unicode/utf8"

	"github.com/timebound-iam/timebound-iam/grant/audit"
	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/timebound-iam/timebound-iam/profiles"
)

// Bounds on what a refused request can put into one audit entry: the
// request is the requester's input, unchecked when it is refused.
const (
	maxAuditServices = 50
	maxAuditText     = 1000 // characters of a detail or client name
)

// requestEvent is the audit entry of kind for r and grant id, which may
// still be empty; detail says why for a decline or a refusal.
func requestEvent(kind, id string, r Request, detail string) audit.Event {
	access := r.Access
	if len(access) > maxAuditServices {
		access = access[:maxAuditServices]
	}
	e := audit.Event{Event: kind, Reason: clip(r.Reason, MaxReason), Client: clip(r.Client, maxAuditText), Approver: clip(r.Approver, maxAuditText), Detail: clip(detail, maxAuditText)}
	for _, a := range access {
		svc := clip(a.Service, 100)
		e.Services = append(e.Services, svc)
		if e.Levels == nil {
			e.Levels = map[string]string{}
		}
		e.Levels[svc] = clip(string(a.Level), 100)
	}
	if n := len(r.Access) - len(access); n > 0 {
		e.Services = append(e.Services, fmt.Sprintf("...(%d more)", n))
	}
	if id != "" {
		e.Session = profiles.Prefix + id
	}
	if r.TTL > 0 {
		e.TTL = config.ShortDuration(r.TTL)
	}
	return e
}

// clip cuts s to at most n characters, marking the cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-3]) + "..."
}

// sessionEvent is the audit entry of kind for an existing grant.
func sessionEvent(kind string, e profiles.Entry) audit.Event {
	s := session(e)
	return audit.Event{Event: kind, Session: e.Name(), Services: s.Services(), Levels: s.Levels()}
}

// auditPath names the audit log in messages.
func (m *Manager) auditPath() string {
	return filepath.Join(m.Config.Home, audit.FileName)
}
