package granttest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
)

// Fixtures shared by the unit tests of grant and of its front-ends.
const (
	// Exe is the helper path the tests' grants write into credential_process.
	Exe = "/usr/local/bin/timebound-iam"
	// Role is the broker role the tests' grants assume.
	Role = "arn:aws:iam::123456789012:role/broker"
)

// T0 is a whole second so that profile times (RFC 3339, seconds) round-trip.
var T0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// Clock is a time source the test moves; handlers read it on the server's
// goroutines.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock at now.
func NewClock(now time.Time) *Clock { return &Clock{now: now} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Add moves the clock on by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// FakeSTS records every AssumeRole input and answers with fresh random
// credentials that expire DurationSeconds after the clock's now, or with the
// error SetErr gave it.
type FakeSTS struct {
	Clock *Clock

	mu     sync.Mutex
	err    error
	inputs []*sts.AssumeRoleInput
	issued []aws.Credentials
}

// AssumeRole records in and answers it.
func (f *FakeSTS) AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, _ ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inputs = append(f.inputs, in)
	if f.err != nil {
		return nil, f.err
	}
	c := aws.Credentials{
		AccessKeyID:     "ASIA" + strings.ToUpper(RandomHex(8)),
		SecretAccessKey: RandomHex(20),
		SessionToken:    "IQoJb3JpZ2luX2VjE" + RandomHex(90),
		Expires:         f.Clock.Now().Add(time.Duration(aws.ToInt32(in.DurationSeconds)) * time.Second),
	}
	f.issued = append(f.issued, c)
	return &sts.AssumeRoleOutput{Credentials: &types.Credentials{
		AccessKeyId:     aws.String(c.AccessKeyID),
		SecretAccessKey: aws.String(c.SecretAccessKey),
		SessionToken:    aws.String(c.SessionToken),
		Expiration:      aws.Time(c.Expires),
	}}, nil
}

// SetErr makes every later AssumeRole fail with err; nil ends that.
func (f *FakeSTS) SetErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

// Calls returns the AssumeRole inputs so far.
func (f *FakeSTS) Calls() []*sts.AssumeRoleInput {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.inputs)
}

// Secrets returns the credentials issued so far.
func (f *FakeSTS) Secrets() []aws.Credentials {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.issued)
}

// IssuedSecrets is what the scan looks for: every credential issued, the full
// access key id included (results and logs show it masked, ****WXYZ).
func (f *FakeSTS) IssuedSecrets() []Secret {
	var out []Secret
	for i, c := range f.Secrets() {
		whose := fmt.Sprintf("issued credentials %d", i+1)
		out = append(out, CredentialSecrets(whose, c.SecretAccessKey, c.SessionToken)...)
		out = append(out, Secret{What: "the AccessKeyId of " + whose, Value: c.AccessKeyID})
	}
	return out
}

// RandomHex returns n random bytes in hex.
func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// StartStandIn starts the STS stand-in for the rest of t, with base
// credentials in the environment and no AWS config files to read.
func StartStandIn(t *testing.T) *STS {
	t.Helper()
	stand, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stand.Close() })
	scan := ScanSecrets(t)
	scan.From(stand.Secrets)
	scan.From(stand.TokenCodes)
	SetBaseCredentials(t)
	return stand
}

// SetBaseCredentials gives the rest of t static base credentials in the
// environment, and no AWS config files or instance metadata to find others
// in.
func SetBaseCredentials(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_MAX_ATTEMPTS", "")
	t.Setenv("AWS_RETRY_MODE", "")
}
