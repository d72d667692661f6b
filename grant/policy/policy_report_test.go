package policy

import (
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"testing"

	"github.com/timebound-iam/timebound-iam/grant/catalog"
)

var report = flag.Bool("report", false, "print the policy-size fitting report (make policy-report)")

// fitReport measures what fitting buys at one level: how many catalog
// services' policies fit alone, and how many services one grant can hold,
// packed greedily smallest first, before fitting and after.
type fitReport struct {
	level                     Level
	services                  int // catalog services offering level
	aloneBefore, aloneAfter   int
	packedBefore, packedAfter int
	charsBefore, charsAfter   int // all single-service policies, summed
	shrunk                    int // single-service policies fitting shortened
}

func measureFit(t *testing.T, level Level) fitReport {
	r := fitReport{level: level}
	type sized struct {
		a             Access
		before, after int
	}
	var all []sized
	for _, svc := range catalog.All() {
		if !slices.Contains(ServiceLevels(svc), level) {
			continue
		}
		a := Access{svc.Prefix, level}
		b, err := builder{dialect: DialectAWS}.compose([]Access{a}, "*")
		if err != nil {
			t.Fatal(err)
		}
		s := sized{a, len(unfitted(t, []Access{a})), len(b)}
		all = append(all, s)
		r.services++
		r.charsBefore += s.before
		r.charsAfter += s.after
		if s.before <= MaxSize {
			r.aloneBefore++
		}
		if s.after <= MaxSize {
			r.aloneAfter++
		}
		if s.after < s.before {
			r.shrunk++
		}
	}
	pack := func(size func(sized) int, policy func([]Access) int) int {
		order := slices.Clone(all)
		slices.SortStableFunc(order, func(x, y sized) int { return size(x) - size(y) })
		var in []Access
		for _, s := range order {
			if n := policy(append(slices.Clone(in), s.a)); n <= MaxSize {
				in = append(in, s.a)
			}
		}
		return len(in)
	}
	r.packedBefore = pack(func(s sized) int { return s.before }, func(a []Access) int { return len(unfitted(t, a)) })
	r.packedAfter = pack(func(s sized) int { return s.after }, func(a []Access) int {
		b, err := builder{dialect: DialectAWS}.compose(a, "*")
		if err != nil {
			t.Fatal(err)
		}
		return len(b)
	})
	return r
}

// TestPolicyFitReport holds fitting to never making things worse, and with
// -report (make policy-report) prints the figures the README quotes.
func TestPolicyFitReport(t *testing.T) {
	var w io.Writer = io.Discard
	if *report {
		w = os.Stdout
	}
	fmt.Fprintf(w, "Policy-size fitting, %s and %s, STS limit %d characters.\n", catalog.Source, catalog.ViewOnlySource, MaxSize)
	fmt.Fprintf(w, "Packed: the most catalog services one grant holds, added greedily smallest policy first.\n\n")
	fmt.Fprintf(w, "%-10s %8s %14s %14s %14s %22s %9s\n", "level", "services", "fit alone", "packed", "shortened", "characters, summed", "saved")
	for _, level := range []Level{ViewOnly, ReadOnly} {
		r := measureFit(t, level)
		fmt.Fprintf(w, "%-10s %8d %6d -> %-5d %6d -> %-5d %14d %10d -> %-9d %.1f%%\n", r.level, r.services,
			r.aloneBefore, r.aloneAfter, r.packedBefore, r.packedAfter, r.shrunk, r.charsBefore, r.charsAfter,
			100*float64(r.charsBefore-r.charsAfter)/float64(r.charsBefore))
		if r.aloneAfter < r.aloneBefore || r.packedAfter < r.packedBefore || r.charsAfter > r.charsBefore {
			t.Errorf("%s: fitting made it worse: %+v", level, r)
		}
	}
	f := measureFull(t)
	fmt.Fprintf(w, "\nFull, with each service's escalation denies (%d of %d services have some), and lifted by allow_escalation.\n", f.withDenies, f.services)
	fmt.Fprintf(w, "%-22s %8s %10s %8s %16s\n", "full", "services", "fit alone", "packed", "longest alone")
	fmt.Fprintf(w, "%-22s %8d %10d %8d %16s\n", "denies (the default)", f.services, f.alone, f.packed, fmt.Sprintf("%d (%s)", f.longest, f.longestService))
	fmt.Fprintf(w, "%-22s %8d %10d %8d\n", "denies lifted", f.services, f.services, f.packedLifted)
	if f.alone != f.services {
		t.Errorf("%d of %d services fit alone at full with their denies, want all: %s is %d characters", f.alone, f.services, f.longestService, f.longest)
	}
}

// fullReport measures full grants: each service alone with its escalation
// denies, and how many services one grant holds, packed greedily smallest
// first, with the denies and with them lifted.
type fullReport struct {
	services, withDenies, alone, packed, packedLifted int
	longest                                           int
	longestService                                    string
}

func measureFull(t *testing.T) fullReport {
	var r fullReport
	type sized struct {
		a Access
		n int
	}
	var all []sized
	for _, svc := range catalog.All() {
		a := Access{svc.Prefix, Full}
		b, err := builder{dialect: DialectAWS}.compose([]Access{a}, "*")
		if err != nil {
			t.Fatal(err)
		}
		r.services++
		if len(EscalationDenied(a, DialectAWS)) > 0 {
			r.withDenies++
		}
		if len(b) <= MaxSize {
			r.alone++
		}
		if len(b) > r.longest {
			r.longest, r.longestService = len(b), svc.Prefix
		}
		all = append(all, sized{a, len(b)})
	}
	slices.SortStableFunc(all, func(x, y sized) int { return x.n - y.n })
	pack := func(b builder) int {
		var in []Access
		for _, s := range all {
			trial := append(slices.Clone(in), s.a)
			if doc, err := b.compose(trial, "*"); err == nil && len(doc) <= MaxSize {
				in = trial
			}
		}
		return len(in)
	}
	var names []string
	for _, s := range all {
		names = append(names, s.a.Service)
	}
	r.packed = pack(builder{dialect: DialectAWS})
	r.packedLifted = pack(builder{dialect: DialectAWS, allowEscalation: names})
	return r
}
