package policy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/timebound-iam/timebound-iam/grant/catalog"
)

// Level is how much of a service a grant allows.
type Level string

// The levels a grant can ask for.
const (
	ViewOnly Level = "view_only" // the service's slice of AWS's ViewOnlyAccess: metadata, no data reads
	ReadOnly Level = "read_only" // the service's slice of AWS's ReadOnlyAccess
	Full     Level = "full"      // <prefix>:*
)

// Levels lists the allowed values of a level, narrowest first, for error
// messages and schemas. Not every service offers every level: see
// [ServiceLevels].
var Levels = []Level{ViewOnly, ReadOnly, Full}

// ParseLevel accepts "view_only" (alias "vo"), "read_only" (alias "ro") and
// "full". field names the input in the error, e.g. "level".
func ParseLevel(field, s string) (Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "view_only", "vo":
		return ViewOnly, nil
	case "read_only", "ro":
		return ReadOnly, nil
	case "full":
		return Full, nil
	}
	return "", fmt.Errorf("%s %q is not allowed: use %s", field, s, levelChoice(Levels))
}

// ServiceLevels returns the levels the catalog offers for svc, narrowest
// first: view_only only where AWS's ViewOnlyAccess names the service.
func ServiceLevels(svc catalog.Service) []Level {
	if svc.HasViewOnly() {
		return Levels
	}
	return []Level{ReadOnly, Full}
}

// levelChoice writes levels as a choice: "a", "b" or "c".
func levelChoice(levels []Level) string {
	q := make([]string, len(levels))
	for i, l := range levels {
		q[i] = strconv.Quote(string(l))
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// levelError refuses a level that svc does not offer, naming the levels it
// does.
func levelError(svc catalog.Service, l Level) error {
	return fmt.Errorf("service %q has no %s level (AWS's ViewOnlyAccess names none of its actions): use %s", svc.Prefix, l, levelChoice(ServiceLevels(svc)))
}

// Access is one service at one level.
type Access struct {
	Service string
	Level   Level
}

// AtMost reports whether l is no wider than max.
func (l Level) AtMost(max Level) bool {
	return slices.Index(Levels, l) <= slices.Index(Levels, max)
}

// CheckLevel refuses a level that is none of [Levels], naming them.
func CheckLevel(l Level) error {
	if !slices.Contains(Levels, l) {
		return fmt.Errorf("level %q is not allowed: use %s", l, levelChoice(Levels))
	}
	return nil
}

// CheckServiceLevel refuses a level that svc does not offer ([ServiceLevels]),
// naming the levels it does.
func CheckServiceLevel(svc catalog.Service, l Level) error {
	if !slices.Contains(ServiceLevels(svc), l) {
		return levelError(svc, l)
	}
	return nil
}

// lookup returns the catalog's entry for service, or an error naming it.
func lookup(service string) (catalog.Service, error) {
	s, ok := catalog.Lookup(service)
	if !ok {
		return catalog.Service{}, fmt.Errorf("service %q is not an AWS service prefix in the catalog; timebound-iam services lists them", service)
	}
	return s, nil
}
