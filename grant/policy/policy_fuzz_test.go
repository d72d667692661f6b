package policy

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/timebound-iam/timebound-iam/grant/catalog"
)

// fuzzAccess turns bytes into a list of distinct catalog services, two bytes
// each: the value picks the service and its level (view_only only where the
// catalog offers it). Duplicates are dropped,
// as validate refuses them before Policy runs.
func fuzzAccess(data []byte) []Access {
	all := catalog.All()
	var access []Access
	seen := map[string]bool{}
	for ; len(data) >= 2; data = data[2:] {
		v := int(binary.BigEndian.Uint16(data))
		svc := all[v%len(all)].Prefix
		if seen[svc] {
			continue
		}
		seen[svc] = true
		level := ReadOnly
		switch v / len(all) % 3 {
		case 1:
			level = Full
		case 2:
			// validate refuses view_only where the catalog has none.
			if all[v%len(all)].HasViewOnly() {
				level = ViewOnly
			}
		}
		access = append(access, Access{svc, level})
	}
	return access
}

// fuzzSeed is the inverse of fuzzAccess, for readable seeds.
func fuzzSeed(access ...Access) []byte {
	all := catalog.All()
	var data []byte
	for _, a := range access {
		i := slices.IndexFunc(all, func(s catalog.Service) bool { return s.Prefix == a.Service })
		switch a.Level {
		case Full:
			i += len(all)
		case ViewOnly:
			i += 2 * len(all)
		}
		data = binary.BigEndian.AppendUint16(data, uint16(i))
	}
	return data
}

// FuzzPolicy checks the session policy for any set of catalog services and
// levels: it is compact JSON with Version 2012-10-17, within MaxSize,
// allowing exactly the services' fitted actions and denying nothing but
// escalation actions of those services, or it is a *TooLargeError
// that names every service and splits them into grants that each fit;
// nothing else, and never a panic.
func FuzzPolicy(f *testing.F) {
	for _, seed := range [][]Access{
		{{"s3", ReadOnly}},
		{{"s3", Full}},
		{{"s3express", ReadOnly}},
		{{"lambda", ReadOnly}, {"logs", ReadOnly}},
		{{"s3", Full}, {"ec2", ReadOnly}},
		{{"glue", ReadOnly}, {"datazone", ReadOnly}, {"lightsail", ReadOnly}, {"cleanrooms", ReadOnly}, {"logs", ReadOnly}, {"ec2", ReadOnly}},
		{{"glue", Full}, {"datazone", Full}, {"lightsail", Full}, {"cleanrooms", Full}, {"logs", Full}, {"ec2", Full}},
		{{"ec2", ReadOnly}},
		{{"s3", ViewOnly}},
		{{"s3", ViewOnly}, {"iam", ViewOnly}, {"ec2", Full}, {"kms", ViewOnly}},
	} {
		f.Add(fuzzSeed(seed...), false)
		f.Add(fuzzSeed(seed...), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, minio bool) {
		access := fuzzAccess(data)
		dialect := DialectAWS
		if minio {
			// validate allows s3 alone under the MinIO dialect.
			dialect = DialectMinIO
			access = slices.DeleteFunc(access, func(a Access) bool { return a.Service != "s3" })
		}
		if len(access) == 0 {
			return // validate refuses an empty list before Policy runs
		}
		p, err := Build(access, dialect)
		if err != nil {
			var tooLarge *TooLargeError
			if !errors.As(err, &tooLarge) {
				t.Fatalf("Build(%v, %s): %v; want a policy or a *TooLargeError", access, dialect, err)
			}
			if tooLarge.Size <= MaxSize {
				t.Fatalf("Build(%v, %s) refused at %d characters, within the limit", access, dialect, tooLarge.Size)
			}
			var names []string
			for _, a := range access {
				names = append(names, a.Service)
			}
			if !slices.Equal(sorted(tooLarge.Services), sorted(names)) {
				t.Fatalf("TooLargeError.Services = %v, want the requested %v", tooLarge.Services, names)
			}
			for _, name := range names {
				if !strings.Contains(err.Error(), name) {
					t.Fatalf("error %q does not name %s", err, name)
				}
			}
			// The split it suggests must fit and cover the request.
			checkSplit(t, access, tooLarge)
			return
		}
		if len(p) > MaxSize {
			t.Fatalf("Build(%v, %s) is %d characters, over %d", access, dialect, len(p), MaxSize)
		}
		var doc struct {
			Version   string
			Statement []struct {
				Effect    string
				Action    []string
				Resource  string
				Condition json.RawMessage
			}
		}
		dec := json.NewDecoder(strings.NewReader(p))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&doc); err != nil || dec.More() {
			t.Fatalf("Build(%v, %s) is not one JSON policy document (%v):\n%s", access, dialect, err, p)
		}
		if compact, _ := json.Marshal(json.RawMessage(p)); string(compact) != p {
			t.Fatalf("policy is not compact JSON:\n%s", p)
		}
		if doc.Version != "2012-10-17" {
			t.Fatalf("Version %q, want 2012-10-17", doc.Version)
		}
		if len(doc.Statement) == 0 {
			t.Fatalf("policy for %v has no statement:\n%s", access, p)
		}

		// What the catalog says access allows.
		var wantActions, wantConds []string
		for _, a := range access {
			svc, _ := catalog.Lookup(a.Service)
			if a.Level == Full {
				wantActions = append(wantActions, svc.Prefix+":*")
				continue
			}
			// AWS gets the fitted slices (TestFittedPolicyAllowsTheSame
			// proves them equal to AWS's); MinIO AWS's own, less what it
			// rejects.
			patterns, conds := svc.ReadOnlyFitted(), svc.ReadOnlyConditional
			if dialect == DialectMinIO {
				patterns = svc.ReadOnly
			}
			if a.Level == ViewOnly {
				patterns, conds = svc.ViewOnlyFitted(), svc.ViewOnlyConditional
				if dialect == DialectMinIO {
					patterns = svc.ViewOnly
				}
			}
			for _, act := range patterns {
				if dialect != DialectMinIO || !minioUnsupported[act] {
					wantActions = append(wantActions, act)
				}
			}
			for _, c := range conds {
				wantConds = append(wantConds, strings.Join(c.Actions, ",")+" if "+c.Condition)
			}
		}
		var gotActions, gotConds []string
		for _, s := range doc.Statement {
			if s.Resource != "*" || len(s.Action) == 0 {
				t.Fatalf("statement %+v: want Resource * and some actions", s)
			}
			switch {
			case s.Effect == "Deny":
				// Denies narrow a grant; they may only name escalation
				// denies of the services asked for, at their levels.
				for _, act := range s.Action {
					if s.Condition != nil || !slices.ContainsFunc(access, func(a Access) bool { return slices.Contains(EscalationDenied(a, dialect), act) }) {
						t.Fatalf("Deny statement %+v for %v under %s: want only escalation denies of the services asked for", s, access, dialect)
					}
				}
			case s.Effect != "Allow":
				t.Fatalf("statement %+v: Effect %q", s, s.Effect)
			case s.Condition == nil:
				gotActions = append(gotActions, s.Action...)
			default:
				gotConds = append(gotConds, strings.Join(s.Action, ",")+" if "+string(s.Condition))
			}
		}
		slices.Sort(wantActions)
		if diff := cmp.Diff(slices.Compact(wantActions), gotActions); diff != "" {
			t.Fatalf("unconditional actions for %v (-catalog +policy):\n%s", access, diff)
		}
		if diff := cmp.Diff(sorted(wantConds), sorted(gotConds)); diff != "" {
			t.Fatalf("conditional statements for %v (-catalog +policy):\n%s", access, diff)
		}
	})
}
