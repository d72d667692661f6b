package grant

import (
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/timebound-iam/timebound-iam/grant/catalog"
	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/timebound-iam/timebound-iam/grant/policy"
)

// fuzzConfig is one of the configurations config.Load can produce: mode picks
// the allow-list and dialect, maxMinutes the max_ttl (15m..12h).
func fuzzConfig(mode uint8, maxMinutes uint16) config.Config {
	span := uint16((config.DefaultMaxTTL - config.MinTTL) / time.Minute)
	cfg := config.Config{STSDialect: policy.DialectAWS, MaxTTL: config.MinTTL + time.Duration(maxMinutes%(span+1))*time.Minute}
	cfg.DefaultTTL = min(config.DefaultDefaultTTL, cfg.MaxTTL)
	switch mode % 3 {
	case 1:
		cfg.Services = []string{"s3", "logs", "lambda"}
	case 2:
		cfg.STSDialect = policy.DialectMinIO
	}
	return cfg
}

// checkFieldError holds what every input error must be: it names the field
// first, and it is one line of printable text, whatever the input held.
func checkFieldError(t *testing.T, err error, fields ...string) {
	t.Helper()
	msg := err.Error()
	if !slices.ContainsFunc(fields, func(f string) bool { return strings.HasPrefix(msg, f) }) {
		t.Fatalf("error %q does not start with the field name (one of %q)", msg, fields)
	}
	if !utf8.ValidString(msg) || strings.IndexFunc(msg, unicode.IsControl) >= 0 {
		t.Fatalf("error %q carries raw control characters or invalid UTF-8 from the input", msg)
	}
}

// FuzzRequestValidate feeds grant_access's inputs through the steps the MCP
// handler takes (policy.ParseLevel, ParseTTL, Request.validate) under the
// configurations config.Load allows. services is comma-separated. In raw mode
// (mode&4) level and ttl skip their parsers, as a caller building a Request
// in Go could. An accepted request must hold every documented bound; a
// refused one must be refused for a bound it breaks, with an error that
// names that field.
func FuzzRequestValidate(f *testing.F) {
	for _, seed := range []struct {
		services, level, ttl, reason string
		mode                         uint8
		maxMinutes                   uint16
	}{
		{"s3", "read_only", "30m", "fix the upload job", 0, 705},
		{"s3,logs", "ro", "1h", "", 1, 45},
		{"lambda,logs,ec2", "full", "", "deploy\tcheck", 0, 705},
		{"s3", "FULL", " 15m ", "", 2, 0},
		{"", "read_only", "1h", "", 0, 705},
		{"S3", "read_only", "1h", "", 0, 705},
		{"s3,s3", "read_only", "1h", "", 0, 705},
		{"ec2", "read_only", "1h", "", 1, 705},
		{"ec2", "read_only", "1h", "", 2, 705},
		{"s3]\n[profile x", "read_only", "1h", "", 0, 705},
		{"s3", "admin", "1h", "", 0, 705},
		{"s3", "admin\n", "1h", "", 4, 705},
		{"s3", "full", "14m59s", "", 0, 705},
		{"s3", "full", "12h0m1s", "", 0, 705},
		{"s3", "full", "20m0.5s", "", 0, 705},
		{"s3", "full", "-1h", "", 4, 705},
		{"s3", "full", "soon", "", 0, 705},
		{"s3", "full", "1h", strings.Repeat("x", 500), 0, 705},
		{"s3", "full", "1h", strings.Repeat("x", 501), 0, 705},
		{"s3", "full", "1h", strings.Repeat("é", 300), 0, 705},
		{"s3", "full", "1h", "a\nb", 0, 705},
		{"s3", "full", "1h", "bell\a \u0085 \x7f", 0, 705},
		{"s3", "full", "1h", "\xff\xfe", 0, 705},
		{"s3,ec2", "vo", "1h", "", 0, 705},
		{"s3,secretsmanager", "view_only", "1h", "", 0, 705},
		{"secretsmanager", "view_only", "1h", "", 4, 705},
	} {
		f.Add(seed.services, seed.level, seed.ttl, seed.reason, seed.mode, seed.maxMinutes)
	}
	f.Fuzz(func(t *testing.T, services, level, ttl, reason string, mode uint8, maxMinutes uint16) {
		cfg := fuzzConfig(mode, maxMinutes)
		raw := mode&4 != 0
		var lvl policy.Level
		var d time.Duration
		if raw {
			lvl = policy.Level(level)
			d, _ = time.ParseDuration(ttl)
		} else {
			if level == "" {
				level = string(policy.ReadOnly) // the MCP handler's default
			}
			var err error
			lvl, err = policy.ParseLevel("level", level)
			known := slices.Contains([]string{"view_only", "vo", "read_only", "ro", "full"}, strings.ToLower(strings.TrimSpace(level)))
			if err != nil {
				if known {
					t.Fatalf("policy.ParseLevel(%q) refused a level it documents: %v", level, err)
				}
				checkFieldError(t, err, "level")
				return
			}
			if !known || !slices.Contains(policy.Levels, lvl) {
				t.Fatalf("policy.ParseLevel(%q) = %q, want an error", level, lvl)
			}
			if d, err = ParseTTL(ttl, cfg.DefaultTTL, cfg.MaxTTL); err != nil {
				checkFieldError(t, err, "ttl")
				return
			}
		}
		r := Request{TTL: d, Reason: reason, Client: "fuzz"}
		if services != "" {
			for _, s := range strings.Split(services, ",") {
				r.Access = append(r.Access, policy.Access{Service: s, Level: lvl})
			}
		}

		broken := brokenFields(r, cfg)
		_, err := r.validate(cfg)
		if err == nil {
			if len(broken) > 0 {
				t.Fatalf("validate accepted %+v under %+v, which breaks the bounds of %v", r, cfg, broken)
			}
			return
		}
		checkFieldError(t, err, "services", "level", "reason", "ttl")
		field, _, _ := strings.Cut(err.Error(), " ")
		field, _, _ = strings.Cut(field, "[")
		if !broken[field] {
			t.Fatalf("validate refused %+v under %+v for %s (%v), but only %v break their bounds", r, cfg, field, err, broken)
		}
	})
}

// brokenFields says, independently of validate, which fields of r break the
// documented bounds: services in the catalog, allowed by cfg, each once;
// a known level; a reason of at most MaxReason characters with no control
// characters but tab; config.MinTTL <= ttl <= max_ttl in whole seconds.
func brokenFields(r Request, cfg config.Config) map[string]bool {
	broken := map[string]bool{}
	if len(r.Access) == 0 {
		broken["services"] = true
	}
	seen := map[string]bool{}
	for _, a := range r.Access {
		svc, inCatalog := catalog.Lookup(a.Service)
		allowed := (cfg.STSDialect != policy.DialectMinIO || a.Service == "s3") && (len(cfg.Services) == 0 || slices.Contains(cfg.Services, a.Service))
		if !inCatalog || !allowed || seen[a.Service] {
			broken["services"] = true
		}
		seen[a.Service] = true
		if a.Level != policy.ViewOnly && a.Level != policy.ReadOnly && a.Level != policy.Full {
			broken["level"] = true
		}
		// view_only exists only where ViewOnlyAccess names the service.
		if a.Level == policy.ViewOnly && inCatalog && len(svc.ViewOnly) == 0 {
			broken["services"] = true
		}
	}
	if utf8.RuneCountInString(r.Reason) > MaxReason || strings.ContainsFunc(r.Reason, func(c rune) bool { return unicode.IsControl(c) && c != '\t' }) {
		broken["reason"] = true
	}
	if r.TTL < config.MinTTL || r.TTL > cfg.MaxTTL || r.TTL%time.Second != 0 {
		broken["ttl"] = true
	}
	return broken
}

// FuzzParseTTL checks ParseTTL against time.ParseDuration: an accepted ttl is
// the duration the text (or, when blank, def) says, within [MinTTL, max] in
// whole seconds; every such duration is accepted; a refusal names "ttl".
func FuzzParseTTL(f *testing.F) {
	for _, s := range []string{"", "  ", "15m", " 1h30m ", "2h", "12h", "14m59s", "12h0m1s", "20m0.5s", "soon", "30", "-1h", "+1h", "1h-1m",
		".5h", "0.25h", "900s", "900000ms", "15m0.000000001s", "1e3s", "9223372036854775807ns", "9223372036854775808ns", "2562047h47m16.854775807s",
		"1µs", "1μs", "1h\n", "\t45m\v", "1h 30m", "1H", "\x00", "１h"} {
		f.Add(s, int64(time.Hour), uint16(705))
	}
	f.Add("", int64(0), uint16(705))
	f.Add("", int64(-1<<63), uint16(0))
	f.Add("", int64(13*time.Hour), uint16(705))
	f.Add("", int64(20*time.Minute+time.Millisecond), uint16(705))
	f.Fuzz(func(t *testing.T, s string, def int64, maxMinutes uint16) {
		max := fuzzConfig(0, maxMinutes).MaxTTL
		got, err := ParseTTL(s, time.Duration(def), max)

		want, perr := time.ParseDuration(strings.TrimSpace(s))
		if strings.TrimSpace(s) == "" {
			want, perr = time.Duration(def), nil
		}
		inBounds := perr == nil && want >= config.MinTTL && want <= max && want%time.Second == 0
		if err != nil {
			if inBounds {
				t.Fatalf("ParseTTL(%q, %v, %v) refused %v, which is within bounds: %v", s, time.Duration(def), max, want, err)
			}
			checkFieldError(t, err, "ttl ")
			return
		}
		if !inBounds || got != want {
			t.Fatalf("ParseTTL(%q, %v, %v) = %v; want %v (parse error %v) and an error unless within [%v, %v] in whole seconds", s, time.Duration(def), max, got, want, perr, config.MinTTL, max)
		}
	})
}
