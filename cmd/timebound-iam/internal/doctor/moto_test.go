package doctor

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/99designs/keyring"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/awsiam"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
	"github.com/timebound-iam/timebound-iam/keychain"
)

// startMoto runs moto_server until the test ends and returns its URL; the
// test is skipped when moto_server is not installed.
func startMoto(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("moto_server"); err != nil {
		t.Skip("moto_server is not on PATH: it ships with the machine image's Python (moto 5.2.1); pip install 'moto[server]' provides it")
	}
	m, err := granttest.StartMoto(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m.URL
}

// TestMoto runs the base-credentials, max-session-duration and role checks
// with aws-sdk-go-v2's real STS client and timebound-iam's IAM client against moto_server, an IAM
// and STS emulator, with roles created through IAM's own API.
func TestMoto(t *testing.T) {
	url := startMoto(t)
	ctx := context.Background()
	base := credentials.NewStaticCredentialsProvider("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "")
	stsFor := func(creds aws.CredentialsProvider) *sts.Client {
		return sts.New(sts.Options{Region: "us-east-1", Credentials: creds, BaseEndpoint: aws.String(url)})
	}
	iamClient := iam.New(iam.Options{Region: "us-east-1", Credentials: base, BaseEndpoint: aws.String(url)})
	ours, err := awsiam.NewFromConfig(ctx, aws.Config{Region: "us-east-1", Credentials: base, BaseEndpoint: aws.String(url)})
	if err != nil {
		t.Fatal(err)
	}
	const trust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`
	roles := map[string]int32{"tb-short": 3600, "tb-long": 43200}
	arns := map[string]string{}
	for name, limit := range roles {
		out, err := iamClient.CreateRole(ctx, &iam.CreateRoleInput{
			RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust), MaxSessionDuration: aws.Int32(limit),
		})
		if err != nil {
			t.Fatalf("creating role %s in moto: %v", name, err)
		}
		arns[name] = aws.ToString(out.Role.Arn)
	}
	// A role session as base credentials, for the role-chaining warning.
	assumed, err := stsFor(base).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(arns["tb-long"]), RoleSessionName: aws.String("alice")})
	if err != nil {
		t.Fatal(err)
	}
	c := assumed.Credentials
	session := credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))

	doctorFor := func(t *testing.T, role, maxTTL string, creds aws.CredentialsProvider) *Doctor {
		d := healthy(t)
		d.Config = loadConfig(t, d.Config.Home, map[string]string{"role_arn": role, "max_ttl": maxTTL, "sts_endpoint": url})
		d.STS = func(context.Context) (Identity, error) { return stsFor(creds), nil }
		d.IAM = func(context.Context) (RoleGetter, error) { return ours, nil }
		d.ClockURL = url
		store := keychain.New(keyring.NewArrayKeyring(nil), keychain.KeyCtl)
		d.Keys = func() (*keychain.Store, error) { return store, nil }
		d.Granter = func(context.Context) (Granter, error) {
			return &grant.Manager{Config: d.Config, STS: stsFor(creds), Keys: store, Profiles: d.Profiles,
				Exe: "/usr/local/bin/timebound-iam", Now: time.Now}, nil
		}
		return d
	}

	tests := []struct {
		name, role, maxTTL string
		creds              aws.CredentialsProvider
		check              string
		status             Status
		detail, hint       string
	}{
		{
			name: "caller identity", role: arns["tb-long"], maxTTL: "12h", creds: base, check: CredentialsCheck,
			status: OK, detail: "account 123456789012, arn:aws:",
		},
		{
			name: "role session as base", role: arns["tb-long"], maxTTL: "12h", creds: session, check: CredentialsCheck,
			status: Warn, detail: ":assumed-role/tb-long/alice: a role session, so STS caps every grant at 1h", hint: "lower max_ttl to 1h",
		},
		{
			name: "1h role, max_ttl 2h", role: arns["tb-short"], maxTTL: "2h", creds: base, check: DurationCheck,
			status: Warn, detail: "role tb-short allows sessions up to 1h, below max_ttl 2h",
			hint: "aws iam update-role --role-name tb-short --max-session-duration 7200",
		},
		{
			name: "12h role, max_ttl 12h", role: arns["tb-long"], maxTTL: "12h", creds: base, check: DurationCheck,
			status: OK, detail: "role tb-long allows sessions up to 12h; max_ttl 12h fits",
		},
		{
			name: "no such role", role: "arn:aws:iam::123456789012:role/tb-missing", maxTTL: "12h", creds: base, check: DurationCheck,
			status: Warn, detail: "cannot check: iam:GetRole on tb-missing failed: NoSuchEntity", hint: "aws iam get-role --role-name tb-missing",
		},
		{
			name: "role assumed", role: arns["tb-long"], maxTTL: "12h", creds: base, check: RoleCheck,
			status: OK, detail: "assumed " + arns["tb-long"] + " for a 15m s3 read_only grant and revoked it",
		},
		{
			name: "clock against moto", role: arns["tb-long"], maxTTL: "12h", creds: base, check: ClockCheck,
			status: OK, detail: "the local clock is within 1s of STS (127.0.0.1:",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want(t, run(t, doctorFor(t, tt.role, tt.maxTTL, tt.creds), tt.check), tt.status, tt.detail, tt.hint)
		})
	}
}
