package grant

import (
	"strings"
	"testing"
	"time"
)

func TestCheckMFACode(t *testing.T) {
	for _, tt := range []struct {
		code string
		ok   bool
	}{
		{"123456", true},
		{"000000", true},
		{"12345", false},
		{"1234567", false},
		{"12 456", false},
		{"12345a", false},
		{"１２３４５６", false}, // fullwidth digits are not what STS takes
		{"", false},
	} {
		err := CheckMFACode(tt.code)
		if (err == nil) != tt.ok {
			t.Errorf("CheckMFACode(%q) = %v, want ok %v", tt.code, err, tt.ok)
		}
		if err != nil && (!strings.Contains(err.Error(), "mfa_code") || tt.code != "" && strings.Contains(err.Error(), tt.code)) {
			t.Errorf("CheckMFACode(%q) = %v: want mfa_code named and the code left out", tt.code, err)
		}
	}
}

func TestUsedCodes(t *testing.T) {
	const a, b = "arn:aws:iam::123456789012:mfa/a", "arn:aws:iam::123456789012:mfa/b"
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	var u usedCodes
	steps := []struct {
		name         string
		serial, code string
		at           time.Duration
		want         bool
	}{
		{"first use", a, "111111", 0, true},
		{"again at once", a, "111111", time.Second, false},
		{"another code", a, "222222", time.Second, true},
		{"the same code of another device", b, "111111", time.Second, true},
		{"again within the window", a, "111111", mfaReuseWindow - time.Second, false},
		{"again after the window", a, "111111", mfaReuseWindow, true},
	}
	for _, s := range steps {
		if got := u.take(s.serial, s.code, t0.Add(s.at)); got != s.want {
			t.Errorf("%s: take = %v, want %v", s.name, got, s.want)
		}
	}
}
