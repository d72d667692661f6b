// Package granttest provides an STS stand-in for tests: a real HTTP server on
// 127.0.0.1 that speaks AssumeRole's query/XML wire format, so tests exercise
// aws-sdk-go-v2's real STS client without reaching AWS.
//
// # Behaviour by role name
//
// The role ARN's name picks the answer, so scripts need no switches:
//   - "...role/denied"  AccessDenied
//   - "...role/short"   MaxSessionDuration 1h
//   - "...role/chained" the 1h role-chaining cap
//   - "...role/slow"    waits [SlowDelay], then answers as for any other role
//   - "...role/hang"    never answers; returns when the client gives up
//   - "...role/throttled-once" Throttling on the first request for each
//     RoleSessionName, then answers as for any other role
//   - "...role/throttled" Throttling, always
//   - "...role/<name>-mfa" AccessDenied unless the request carries a
//     SerialNumber and TokenCode, as a trust policy that requires
//     aws:MultiFactorAuthPresent refuses it
//   - anything else     MaxSessionDuration 12h
//
// # MFA
//
// [STS.SetMFA] names the one MFA device the stand-in knows and the code it
// shows now. A request with a SerialNumber or a TokenCode is checked as AWS
// checks it: a TokenCode that is not 6 digits gets a ValidationError; another
// device, or none set, gets AccessDenied "MultiFactorAuthentication failed,
// unable to validate MFA code..."; a wrong code, or the right one a second
// time, gets AccessDenied "MultiFactorAuthentication failed with invalid MFA
// one time pass code." A code is spent by its first request that passes.
// [STS.TokenCodes] returns every code requests carried, for the secret scan.
//
// Every answer carries fresh random credentials, which tests can then look
// for wherever a secret must not appear. A SourceIdentity or session tags
// that break STS's rules get STS's ValidationError.
package granttest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// SlowDelay is how long the stand-in waits before answering for
// "...role/slow": a wide window for killing a grant in mid-flight.
const SlowDelay = time.Second

// Issued is one set of credentials the stand-in handed out.
type Issued struct {
	AccessKeyID, SecretAccessKey, SessionToken string
	Expires                                    time.Time
	Form                                       url.Values // the request's parameters
}

// STS is a running stand-in.
type STS struct {
	// URL is the endpoint, e.g. http://127.0.0.1:41234.
	URL string

	srv    *http.Server
	mu     sync.Mutex
	issued []Issued
	calls  int
	// throttled holds the session names already throttled once.
	throttled map[string]bool
	// mfaSerial and mfaCode are the device [STS.SetMFA] set and its code;
	// spent holds the codes used; codes every TokenCode received.
	mfaSerial, mfaCode string
	spent              map[string]bool
	codes              []string
}

// The messages AWS sends when the MFA check of an AssumeRole fails.
const (
	// MFAInvalidCode is the message for a wrong or reused code.
	MFAInvalidCode = "MultiFactorAuthentication failed with invalid MFA one time pass code."
	// MFAUnknownDevice is the message for a SerialNumber that is not a
	// device of the caller.
	MFAUnknownDevice = "MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your MFA serial number is valid and associated with this user."
)

// SetMFA makes serial the caller's MFA device, showing code now: the next
// request with that SerialNumber and TokenCode passes, and spends it.
func (s *STS) SetMFA(serial, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mfaSerial, s.mfaCode = serial, code
}

// TokenCodes returns every TokenCode a request carried, as secrets: a code
// the person typed must appear nowhere but the request to STS.
func (s *STS) TokenCodes() []Secret {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Secret
	for i, c := range s.codes {
		out = append(out, Secret{What: fmt.Sprintf("the MFA TokenCode of AssumeRole request %d", i+1), Value: c})
	}
	return out
}

// tokenCodeChars is STS's rule for TokenCode.
var tokenCodeChars = regexp.MustCompile(`^[0-9]{6}$`)

// checkMFA returns the status, code and message STS answers a request's
// MFA parameters with, or 0 when it passes them. role is the RoleArn.
func (s *STS) checkMFA(form url.Values, role string) (status int, code, msg string) {
	serial, token := form.Get("SerialNumber"), form.Get("TokenCode")
	if serial == "" && token == "" {
		if strings.HasSuffix(role, "-mfa") {
			return 403, "AccessDenied", "User: arn:aws:iam::123456789012:user/base is not authorized to perform: sts:AssumeRole on resource: " + role
		}
		return 0, "", ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if token != "" {
		s.codes = append(s.codes, token)
	}
	switch {
	case token != "" && !tokenCodeChars.MatchString(token):
		return 400, "ValidationError", "1 validation error detected: Value at 'tokenCode' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\d]*"
	case serial == "" || serial != s.mfaSerial:
		return 403, "AccessDenied", MFAUnknownDevice
	case token != s.mfaCode || s.spent[token]:
		return 403, "AccessDenied", MFAInvalidCode
	}
	if s.spent == nil {
		s.spent = map[string]bool{}
	}
	s.spent[token] = true
	return 0, "", ""
}

// Start listens on a free port on 127.0.0.1. Stop it with Close.
func Start() (*STS, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &STS{URL: "http://" + ln.Addr().String()}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
	go s.srv.Serve(ln)
	return s, nil
}

// Close stops the server.
func (s *STS) Close() error { return s.srv.Close() }

// Issued returns every set of credentials handed out so far.
func (s *STS) Issued() []Issued {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Issued(nil), s.issued...)
}

// Calls counts AssumeRole requests, refused ones included.
func (s *STS) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// throttle reports whether the request for role and session name is to be
// throttled.
func (s *STS) throttle(role, session string) bool {
	switch {
	case strings.HasSuffix(role, "role/throttled"):
		return true
	case strings.HasSuffix(role, "role/throttled-once"):
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.throttled[session] {
			return false
		}
		if s.throttled == nil {
			s.throttled = map[string]bool{}
		}
		s.throttled[session] = true
		return true
	}
	return false
}

func (s *STS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Form.Get("Action") != "AssumeRole" {
		fail(w, 400, "InvalidAction", "only AssumeRole is served here")
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		fail(w, 403, "MissingAuthenticationToken", "Request is missing Authentication Token")
		return
	}
	s.mu.Lock()
	s.calls++
	s.mu.Unlock()
	role := r.Form.Get("RoleArn")
	if strings.HasSuffix(role, "role/hang") {
		<-r.Context().Done()
		return
	}
	if s.throttle(role, r.Form.Get("RoleSessionName")) {
		fail(w, 400, "Throttling", "Rate exceeded")
		return
	}
	if strings.HasSuffix(role, "role/slow") {
		select {
		case <-time.After(SlowDelay):
		case <-r.Context().Done():
			return
		}
	}
	if status, code, msg := s.checkMFA(r.Form, role); status != 0 {
		fail(w, status, code, msg)
		return
	}
	dur, _ := strconv.Atoi(r.Form.Get("DurationSeconds"))
	if dur == 0 {
		dur = 3600
	}
	switch {
	case strings.HasSuffix(role, "role/denied"):
		fail(w, 403, "AccessDenied", "User: arn:aws:iam::123456789012:user/base is not authorized to perform: sts:AssumeRole on resource: "+role)
		return
	case strings.HasSuffix(role, "role/chained") && dur > 3600:
		fail(w, 400, "ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
		return
	case strings.HasSuffix(role, "role/short") && dur > 3600, dur > 43200:
		fail(w, 400, "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
		return
	case dur < 900:
		fail(w, 400, "ValidationError", "1 validation error detected: Value '"+strconv.Itoa(dur)+"' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900")
		return
	case len(r.Form.Get("Policy")) > 2048:
		fail(w, 400, "ValidationError", "1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must have length less than or equal to 2048")
		return
	}
	if msg := checkAttribution(r.Form); msg != "" {
		fail(w, 400, "ValidationError", msg)
		return
	}
	is := Issued{
		AccessKeyID:     "ASIA" + strings.ToUpper(random(8)),
		SecretAccessKey: random(20),
		SessionToken:    "IQoJb3JpZ2luX2VjE" + random(90),
		Expires:         time.Now().UTC().Add(time.Duration(dur) * time.Second).Truncate(time.Second),
		Form:            r.Form,
	}
	s.mu.Lock()
	s.issued = append(s.issued, is)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <Credentials>
      <AccessKeyId>%s</AccessKeyId>
      <SecretAccessKey>%s</SecretAccessKey>
      <SessionToken>%s</SessionToken>
      <Expiration>%s</Expiration>
    </Credentials>
    <AssumedRoleUser>
      <Arn>%s</Arn>
      <AssumedRoleId>AROAEXAMPLE:%s</AssumedRoleId>
    </AssumedRoleUser>
    <PackedPolicySize>%d</PackedPolicySize>%s
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata>
</AssumeRoleResponse>`, is.AccessKeyID, is.SecretAccessKey, is.SessionToken, is.Expires.Format(time.RFC3339),
		esc(strings.Replace(role, ":iam::", ":sts::", 1)+"/"+r.Form.Get("RoleSessionName")), esc(r.Form.Get("RoleSessionName")),
		len(r.Form.Get("Policy"))*100/2048, sourceIdentity(r.Form), random(8))
}

// STS's rules for SourceIdentity and session tags, so that a request AWS
// would refuse fails here too.
var (
	sourceIdentityChars = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	tagChars            = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
)

// checkAttribution returns STS's complaint about the request's
// SourceIdentity or Tags, or "" when STS would take them.
func checkAttribution(form url.Values) string {
	if v, ok := form["SourceIdentity"]; ok && !sourceIdentityChars.MatchString(v[0]) {
		return "1 validation error detected: Value '" + v[0] + "' at 'sourceIdentity' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"
	}
	seen := map[string]bool{}
	for i := 1; ; i++ {
		n := strconv.Itoa(i)
		key, ok := form["Tags.member."+n+".Key"]
		if !ok {
			break
		}
		k, v := key[0], form.Get("Tags.member."+n+".Value")
		switch {
		case i > 50:
			return "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50"
		case len(k) == 0 || utf8.RuneCountInString(k) > 128 || !tagChars.MatchString(k):
			return "1 validation error detected: Value '" + k + "' at 'tags." + n + ".member.key' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+"
		case utf8.RuneCountInString(v) > 256 || !tagChars.MatchString(v):
			return "1 validation error detected: Value '" + v + "' at 'tags." + n + ".member.value' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*"
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			return "Tag keys can't start with 'aws:'"
		case seen[strings.ToLower(k)]:
			return "Duplicate tag keys found. Please note that Tag keys are case insensitive."
		}
		seen[strings.ToLower(k)] = true
	}
	return ""
}

// sourceIdentity is the response's SourceIdentity element, which AWS sends
// when the request set one.
func sourceIdentity(form url.Values) string {
	if v := form.Get("SourceIdentity"); v != "" {
		return "\n    <SourceIdentity>" + esc(v) + "</SourceIdentity>"
	}
	return ""
}

func fail(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
		code, esc(msg), random(8))
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
