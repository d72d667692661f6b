package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
)

// TestE2EResources shows on MinIO that resources narrow a grant below the
// broker's own rights. The broker here may read and write two buckets, A
// (the scenario's readable one) and B (its scratch one), so every denial
// below comes from the session policy: a grant narrowed to A lists A and is
// denied on B; one narrowed to B at full uploads to B and is denied on A.
func TestE2EResources(t *testing.T) {
	w := newWorld(t, broker)
	s := w.s
	defer w.scanSecrets(t)
	a, b := s.Readable, s.Writable
	two := granttest.User{AccessKeyID: "broker-two", SecretAccessKey: "two-" + strings.Repeat("x", 12)}
	policy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[`+
		`{"Effect":"Allow","Action":["s3:ListAllMyBuckets"],"Resource":["arn:aws:s3:::*"]},`+
		`{"Effect":"Allow","Action":["s3:ListBucket","s3:GetBucketLocation"],"Resource":["arn:aws:s3:::%[1]s","arn:aws:s3:::%[2]s"]},`+
		`{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":["arn:aws:s3:::%[1]s/*","arn:aws:s3:::%[2]s/*"]}]}`, a, b)
	if err := w.m.AddUser(two.AccessKeyID, two.SecretAccessKey, policy); err != nil {
		t.Fatal(err)
	}
	// Swap the base keys only: the rest of w.env, the keyring's passphrase
	// included, is what the consumers were set up with.
	w.base = two
	for i, kv := range w.env {
		switch {
		case strings.HasPrefix(kv, "AWS_ACCESS_KEY_ID="):
			w.env[i] = "AWS_ACCESS_KEY_ID=" + two.AccessKeyID
		case strings.HasPrefix(kv, "AWS_SECRET_ACCESS_KEY="):
			w.env[i] = "AWS_SECRET_ACCESS_KEY=" + two.SecretAccessKey
		}
	}
	upload := writeUpload(t, w)

	t.Run("unnarrowed reaches both", func(t *testing.T) {
		g := w.grantCLI(t, "-s", "s3", "-t", "15m")
		mustSucceed(t, w.aws(g.Profile, "s3", "ls", "s3://"+a))
		mustSucceed(t, w.aws(g.Profile, "s3", "ls", "s3://"+b))
	})

	t.Run("narrowed to A lists A, denied on B", func(t *testing.T) {
		g := w.grantCLI(t, "-s", "s3", "-r", a, "-t", "15m")
		if want := []string{"arn:aws:s3:::" + a, "arn:aws:s3:::" + a + "/*"}; !slices.Equal(g.Resources, want) {
			t.Errorf("grant resources = %q, want %q", g.Resources, want)
		}
		if out := mustSucceed(t, w.aws(g.Profile, "s3", "ls", "s3://"+a)); !strings.Contains(out, s.Object) {
			t.Errorf("aws s3 ls s3://%s = %q, want %s", a, out, s.Object)
		}
		mustSucceed(t, w.aws(g.Profile, "s3", "cp", "s3://"+a+"/"+s.Object, "-"))
		line := mustFail(t, w.aws(g.Profile, "s3", "ls", "s3://"+b), "AccessDenied")
		t.Logf("aws s3 ls s3://%s narrowed to %s: %s", b, a, line)
		// ListAllMyBuckets is allowed only on "*"; MinIO answers with the
		// buckets the grant may list, AWS with AccessDenied.
		if r := w.aws(g.Profile, "s3", "ls"); r.err == nil && strings.Contains(string(r.stdout), b) {
			t.Errorf("aws s3 ls narrowed to %s shows %s:\n%s", a, b, r.stdout)
		}

		var live grant.SessionsOutput
		if err := json.Unmarshal([]byte(mustSucceed(t, w.tb("sessions", "--json"))), &live); err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(live.Sessions, func(l grant.SessionOutput) bool { return l.SessionID == g.SessionID })
		if i < 0 || !slices.Equal(live.Sessions[i].Resources, g.Resources) {
			t.Errorf("sessions --json = %+v, want %s with resources %q", live.Sessions, g.SessionID, g.Resources)
		}
	})

	t.Run("full narrowed to B writes B only", func(t *testing.T) {
		g := w.grantCLI(t, "-s", "s3:full", "-r", "arn:aws:s3:::"+b+"/*", "-r", "arn:aws:s3:::"+b, "-t", "15m")
		mustSucceed(t, w.aws(g.Profile, "s3", "cp", upload, "s3://"+b+"/narrowed.test"))
		line := mustFail(t, w.aws(g.Profile, "s3", "cp", upload, "s3://"+a+"/narrowed.test"), "AccessDenied")
		t.Logf("aws s3 cp to %s narrowed to %s: %s", a, b, line)
		out, err := w.m.MC("ls", "rig/"+a)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(out), "narrowed.test") {
			t.Errorf("narrowed.test is in %s after a denied upload", a)
		}
	})
}
