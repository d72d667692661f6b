package grant_test

import (
	"cmp"
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/99designs/keyring"

	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/audit"
	"github.com/timebound-iam/timebound-iam/grant/awsiam"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
	"github.com/timebound-iam/timebound-iam/grant/policy"
)

const (
	mfaSerial = "arn:aws:iam::123456789012:mfa/alice"
	baseRole  = "arn:aws:iam::123456789012:role/broker"
	mfaRole   = "arn:aws:iam::123456789012:role/broker-mfa"
)

var (
	s3Full = []policy.Access{{Service: "s3", Level: policy.Full}}
	s3Read = []policy.Access{{Service: "s3", Level: policy.ReadOnly}}
)

// mfaManager is an sdkManager with approval = full, mfa_serial and
// mfa_role_arn set, and an audit log in its state directory.
func mfaManager(t *testing.T, stand *granttest.STS, overrides map[string]string) (*grant.Manager, keyring.Keyring, *audit.Log) {
	t.Helper()
	values := map[string]string{"role_arn": baseRole, "mfa_serial": mfaSerial, "mfa_role_arn": mfaRole}
	for k, v := range overrides {
		values[k] = v
	}
	m, ring := sdkManager(t, stand, values)
	log := audit.Open(filepath.Join(m.Config.Home, audit.FileName))
	m.Audit = log
	return m, ring, log
}

// events lists the audit log's entries as "event detail".
func events(t *testing.T, log *audit.Log) []string {
	t.Helper()
	entries, err := log.Read()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, strings.TrimSpace(e.Event.Event+" "+e.Detail))
	}
	return out
}

// TestMFAGrant: a grant that needs approval goes to the MFA role with the
// device's serial and the code the person gave; one that does not goes to
// the base role with neither.
func TestMFAGrant(t *testing.T) {
	stand := granttest.StartStandIn(t)
	m, _, log := mfaManager(t, stand, nil)
	const code = "738204"
	stand.SetMFA(mfaSerial, code)

	p, err := m.Ask(grant.Request{Access: s3Full, TTL: 30 * time.Minute, Client: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Needed || p.MFASerial != mfaSerial {
		t.Fatalf("pending: needed %v, MFASerial %q; want true, %q", p.Needed, p.MFASerial, mfaSerial)
	}
	prompt := p.Prompt.String()
	for _, want := range []string{"role:      broker-mfa\n", "mfa:       the MFA role: AWS requires the current code of " + mfaSerial + "\n"} {
		if !strings.Contains(prompt, want) {
			t.Errorf("prompt lacks %q:\n%s", want, prompt)
		}
	}
	if err := p.ApproveWithCode(grant.ApproverTerminal, 0, code); err != nil {
		t.Fatal(err)
	}
	s, err := p.Grant(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	issued := stand.Issued()
	if len(issued) != 1 {
		t.Fatalf("%d credentials issued, want 1", len(issued))
	}
	form := issued[0].Form
	if form.Get("RoleArn") != mfaRole || form.Get("SerialNumber") != mfaSerial || form.Get("TokenCode") != code {
		t.Errorf("AssumeRole RoleArn %q SerialNumber %q TokenCode present %v; want %q, %q, the code", form.Get("RoleArn"), form.Get("SerialNumber"), form.Get("TokenCode") == code, mfaRole, mfaSerial)
	}
	// The profile records the MFA role, for revoke --aws.
	set, err := m.Profiles.Read()
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := set.Get(s.ID); !ok || e.Role != mfaRole {
		t.Errorf("profile tb_role %q, want %q", e.Role, mfaRole)
	}
	if s.Role != mfaRole {
		t.Errorf("Session.Role %q, want %q", s.Role, mfaRole)
	}
	want := []string{"requested", "approved", "granted assumed the MFA role " + mfaRole + " with a code of " + mfaSerial}
	if got := events(t, log); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("audit %q, want %q", got, want)
	}

	// read_only needs no approval here: the base role, no MFA.
	p, err = m.Ask(grant.Request{Access: s3Read, TTL: 30 * time.Minute, Client: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Needed || p.MFASerial != "" || strings.Contains(p.Prompt.String(), "mfa:") {
		t.Errorf("a read_only grant: needed %v, MFASerial %q, prompt:\n%s", p.Needed, p.MFASerial, p.Prompt)
	}
	if _, err := p.Grant(context.Background()); err != nil {
		t.Fatal(err)
	}
	form = stand.Issued()[1].Form
	if form.Get("RoleArn") != baseRole || form.Has("SerialNumber") || form.Has("TokenCode") {
		t.Errorf("read_only AssumeRole: RoleArn %q, SerialNumber %v, TokenCode %v; want the base role and neither", form.Get("RoleArn"), form.Has("SerialNumber"), form.Has("TokenCode"))
	}
}

// TestMFARefusals: a grant to the MFA role without a good, fresh code is
// refused; the refusals before STS cost no call, and none leaves a profile,
// a keychain item or the code anywhere.
func TestMFARefusals(t *testing.T) {
	stand := granttest.StartStandIn(t)
	const good, wrong = "590317", "864213"
	tests := []struct {
		name, code string
		before     func(t *testing.T, m *grant.Manager) // runs first, e.g. spends the code
		approveErr string                               // ApproveWithCode's error
		grantErr   string                               // Grant's error
		calls      int                                  // AssumeRole calls the refused grant makes
		events     []string
	}{
		{
			name: "wrong code: AWS refuses it", code: wrong,
			grantErr: "AWS did not accept the MFA code for mfa_serial " + mfaSerial + " (AccessDenied: " + granttest.MFAInvalidCode + "): no grant was made; ask again and type the code the device shows now",
			calls:    1,
			events:   []string{"requested", "approved", "refused AWS did not accept the MFA code for mfa_serial " + mfaSerial},
		},
		{
			name: "malformed code: refused before STS", code: "59031",
			approveErr: "mfa_code is not the 6 digits the MFA device shows: type the code it shows now, 6 digits and nothing else",
			events:     []string{"requested", "refused mfa_code is not the 6 digits"},
		},
		{
			name: "letters: refused before STS", code: "59o317",
			approveErr: "mfa_code is not the 6 digits",
			events:     []string{"requested", "refused mfa_code is not the 6 digits"},
		},
		{
			name: "no code", code: "",
			approveErr: "mfa_code is missing: this grant goes to the MFA role, which needs the current 6-digit code of " + mfaSerial,
			events:     []string{"requested", "refused mfa_code is missing"},
		},
		{
			name: "a code used already: refused before STS", code: good,
			before: func(t *testing.T, m *grant.Manager) {
				p, err := m.Ask(grant.Request{Access: s3Full, TTL: 30 * time.Minute, Client: "cli"})
				if err != nil {
					t.Fatal(err)
				}
				if err := p.ApproveWithCode(grant.ApproverTerminal, 0, good); err != nil {
					t.Fatal(err)
				}
				s, err := p.Grant(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if _, err := m.Revoke(context.Background(), []string{s.ID}); err != nil {
					t.Fatal(err)
				}
			},
			grantErr: "this MFA code of " + mfaSerial + " was used for a grant already, and a code counts once: wait for the device to show the next code, then ask again",
			events:   []string{"requested", "approved", "refused this MFA code of " + mfaSerial + " was used for a grant already"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, ring, log := mfaManager(t, stand, nil)
			granttest.ScanSecrets(t).Add(granttest.Secret{What: "the MFA code typed", Value: tt.code}, granttest.Secret{What: "the good code", Value: good})
			stand.SetMFA(mfaSerial, good)
			if tt.before != nil {
				tt.before(t, m)
			}
			// Only this grant's events count.
			seen := len(events(t, log))
			calls := stand.Calls()
			p, err := m.Ask(grant.Request{Access: s3Full, TTL: 30 * time.Minute, Client: "cli"})
			if err != nil {
				t.Fatal(err)
			}
			err = p.ApproveWithCode(grant.ApproverTerminal, 0, tt.code)
			if tt.approveErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.approveErr) {
					t.Fatalf("ApproveWithCode = %v, want %q", err, tt.approveErr)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				_, err = p.Grant(context.Background())
				if err == nil || !strings.Contains(err.Error(), tt.grantErr) {
					t.Fatalf("Grant = %v, want %q", err, tt.grantErr)
				}
			}
			if tt.code != "" && strings.Contains(err.Error(), tt.code) {
				t.Errorf("the error holds the code: %v", err)
			}
			if got := stand.Calls() - calls; got != tt.calls {
				t.Errorf("%d AssumeRole calls, want %d", got, tt.calls)
			}
			checkNoLiveGrant(t, m, ring)
			got := events(t, log)[seen:]
			ok := len(got) == len(tt.events)
			for i := 0; ok && i < len(got); i++ {
				ok = strings.HasPrefix(got[i], tt.events[i])
			}
			if !ok {
				t.Errorf("audit %q, want %q", got, tt.events)
			}
		})
	}
}

// checkNoLiveGrant fails t if a keychain item or a live profile is left:
// the failed grant's, since any earlier grant of the test is revoked.
func checkNoLiveGrant(t *testing.T, m *grant.Manager, ring keyring.Keyring) {
	t.Helper()
	if keys, _ := ring.Keys(); len(keys) != 0 {
		t.Errorf("keychain items left after a failed grant: %v", keys)
	}
	set, _ := m.Profiles.Read()
	for e := range set.All() {
		if e.Live(time.Now()) {
			t.Errorf("profile %s left after a failed grant", e.Name())
		}
	}
}

// TestMFAConfigRefusals: a grant that needs the MFA role is refused before
// anyone is asked when the MFA role is not configured, and a grant made
// without the approval path (Manager.Grant) never reaches the MFA role.
func TestMFAConfigRefusals(t *testing.T) {
	stand := granttest.StartStandIn(t)
	t.Run("mfa_serial without mfa_role_arn", func(t *testing.T) {
		m, _, _ := mfaManager(t, stand, map[string]string{"mfa_role_arn": ""})
		_, err := m.Ask(grant.Request{Access: s3Full, TTL: 30 * time.Minute})
		if err == nil || !strings.Contains(err.Error(), "mfa_serial is set in ") || !strings.Contains(err.Error(), "but mfa_role_arn is not") || !strings.Contains(err.Error(), "timebound-iam setup aws --mfa-serial "+mfaSerial) {
			t.Errorf("Ask = %v, want an error naming mfa_serial, mfa_role_arn and setup aws --mfa-serial", err)
		}
		// read_only still works: it goes to the base role.
		if _, err := m.Ask(grant.Request{Access: s3Read, TTL: 30 * time.Minute}); err != nil {
			t.Errorf("a read_only Ask = %v", err)
		}
	})
	t.Run("Manager.Grant carries no code", func(t *testing.T) {
		m, ring, _ := mfaManager(t, stand, nil)
		calls := stand.Calls()
		_, err := m.Grant(context.Background(), grant.Request{Access: s3Full, TTL: 30 * time.Minute, Approver: grant.ApproverTerminal})
		if err == nil || !strings.Contains(err.Error(), "this grant goes to the MFA role "+mfaRole+", and no code of "+mfaSerial+" was given") {
			t.Errorf("Grant = %v, want a refusal for want of a code", err)
		}
		if stand.Calls() != calls {
			t.Error("the refused grant reached STS")
		}
		checkNothingWritten(t, m, ring)
	})
}

// TestMFASTSErrors: what AWS says about the MFA role is explained, naming
// the device or the trust policy.
func TestMFASTSErrors(t *testing.T) {
	stand := granttest.StartStandIn(t)
	tests := []struct {
		name, serial, role, want string
	}{
		{"a device of someone else", "arn:aws:iam::123456789012:mfa/mallory", mfaRole,
			"AWS could not check the code against mfa_serial arn:aws:iam::123456789012:mfa/mallory (AccessDenied: " + granttest.MFAUnknownDevice + "): mfa_serial must be an MFA device of the base identity"},
		{"the MFA role's trust refuses the base identity", mfaSerial, "arn:aws:iam::123456789012:role/denied",
			"the base credentials may not assume the MFA role arn:aws:iam::123456789012:role/denied with a code of " + mfaSerial + " (AccessDenied: "},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code := []string{"401927", "615083"}[i]
			m, ring, _ := mfaManager(t, stand, map[string]string{"mfa_serial": tt.serial, "mfa_role_arn": tt.role})
			stand.SetMFA(mfaSerial, code)
			p, err := m.Ask(grant.Request{Access: s3Full, TTL: 30 * time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			if err := p.ApproveWithCode(grant.ApproverElicitation, 0, code); err != nil {
				t.Fatal(err)
			}
			_, err = p.Grant(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Grant = %v\nwant %q", err, tt.want)
			}
			if strings.Contains(err.Error(), code) {
				t.Errorf("the error holds the code: %v", err)
			}
			checkNothingWritten(t, m, ring)
		})
	}
}

// rolePolicies is an IAM whose inline policies start empty, recording
// which role each write went to.
type rolePolicies struct {
	mu   sync.Mutex
	docs map[string]string // role name -> document
}

func (r *rolePolicies) GetRolePolicy(_ context.Context, role, _ string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return cmp.Or(r.docs[role], `{"Version":"2012-10-17","Statement":[]}`), nil
}

func (r *rolePolicies) PutRolePolicy(_ context.Context, role, _, doc string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.docs == nil {
		r.docs = map[string]string{}
	}
	r.docs[role] = doc
	return nil
}

func (r *rolePolicies) doc(role string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.docs[role]
}

// TestMFARevokeAtAWS: revoke --aws puts the deny of a grant made on the MFA
// role on the MFA role, and of one made on the base role on the base role;
// --all denies on both.
func TestMFARevokeAtAWS(t *testing.T) {
	stand := granttest.StartStandIn(t)
	m, _, _ := mfaManager(t, stand, nil)
	api := &rolePolicies{}
	m.IAM = func(context.Context) (awsiam.RolePolicyAPI, error) { return api, nil }
	stand.SetMFA(mfaSerial, "250719")
	full, err := m.Ask(grant.Request{Access: s3Full, TTL: 30 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if err := full.ApproveWithCode(grant.ApproverTerminal, 0, "250719"); err != nil {
		t.Fatal(err)
	}
	a, err := full.Grant(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	read, err := m.Ask(grant.Request{Access: s3Read, TTL: 30 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	b, err := read.Grant(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	res, err := m.Revoke(context.Background(), []string{a.ID, b.ID})
	if err != nil {
		t.Fatal(err)
	}
	d := m.DenyAtAWS(context.Background(), res)
	if d.Err != nil {
		t.Fatal(d.Err)
	}
	if d.RoleOf(a.ID) != mfaRole || d.RoleOf(b.ID) != baseRole {
		t.Errorf("denied %s on %s and %s on %s; want the MFA role and the base role", a.Profile(), d.RoleOf(a.ID), b.Profile(), d.RoleOf(b.ID))
	}
	onMFA, onBase := api.doc("broker-mfa"), api.doc("broker")
	if !strings.Contains(onMFA, "timebound-iam-"+a.ID) || strings.Contains(onMFA, "timebound-iam-"+b.ID) {
		t.Errorf("the MFA role's deny policy:\n%s\nwant %s only", onMFA, a.Profile())
	}
	if !strings.Contains(onBase, "timebound-iam-"+b.ID) || strings.Contains(onBase, "timebound-iam-"+a.ID) {
		t.Errorf("the base role's deny policy:\n%s\nwant %s only", onBase, b.Profile())
	}
	want := "role " + baseRole + " now denies every request of " + b.Profile() + " (inline policy timebound-iam-revoked); the MFA role " + mfaRole + " now denies every request of " + a.Profile() + " (inline policy timebound-iam-revoked)"
	if got := d.Detail(); got != want {
		t.Errorf("Detail:\n%s\nwant:\n%s", got, want)
	}

	all := m.DenyAllAtAWS(context.Background())
	if all.Err != nil || all.MFARole != mfaRole {
		t.Fatalf("DenyAllAtAWS: MFARole %q, err %v", all.MFARole, all.Err)
	}
	for _, role := range []string{"broker", "broker-mfa"} {
		if !strings.Contains(api.doc(role), "aws:TokenIssueTime") || !strings.Contains(api.doc(role), "TimeboundIamRevokedAll") {
			t.Errorf("role %s after --all:\n%s\nwant the deny of every earlier session", role, api.doc(role))
		}
	}
}
