package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/timebound-iam/timebound-iam/grant/granttest"
)

// TestE2EFullCannotExpose: an s3 full grant under a broker that may change
// the bucket's policy still cannot make the bucket public, by policy or by
// ACL, since its session policy denies s3:PutBucketPolicy (MinIO checks it
// for PutBucketAcl too); it can still write objects. Each effect is checked
// from outside: with mc, and as an anonymous client. The control, the
// broker's own keys setting the same policy, shows that the broker allows
// it, so the grant's Deny is what stopped it, and that the anonymous check
// sees a public bucket when there is one.
func TestE2EFullCannotExpose(t *testing.T) {
	w := newWorld(t, writerBroker)
	s := w.s
	defer w.scanSecrets(t)
	bucket := s.Writable
	owner := granttest.User{AccessKeyID: "broker-owner", SecretAccessKey: "owner-" + strings.Repeat("k", 16)}
	ownerPolicy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[`+
		`{"Effect":"Allow","Action":["s3:ListAllMyBuckets"],"Resource":["arn:aws:s3:::*"]},`+
		`{"Effect":"Allow","Action":["s3:*"],"Resource":["arn:aws:s3:::%[1]s","arn:aws:s3:::%[1]s/*"]}]}`, bucket)
	if err := w.m.AddUser(owner.AccessKeyID, owner.SecretAccessKey, ownerPolicy); err != nil {
		t.Fatal(err)
	}
	for i, kv := range w.env {
		switch {
		case strings.HasPrefix(kv, "AWS_ACCESS_KEY_ID="):
			w.env[i] = "AWS_ACCESS_KEY_ID=" + owner.AccessKeyID
		case strings.HasPrefix(kv, "AWS_SECRET_ACCESS_KEY="):
			w.env[i] = "AWS_SECRET_ACCESS_KEY=" + owner.SecretAccessKey
		}
	}
	public := filepath.Join(w.work, "public.json")
	doc := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":["s3:GetObject","s3:PutObject"],"Resource":["arn:aws:s3:::%s/*"]}]}`, bucket)
	if err := os.WriteFile(public, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	upload := writeUpload(t, w)
	anonymous := func(t *testing.T) int {
		resp, err := http.Get(w.m.URL + "/" + bucket + "/audit.test")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	bucketPolicy := func(t *testing.T) string {
		out, err := w.m.MC("anonymous", "get-json", "rig/"+bucket)
		if err != nil {
			t.Fatalf("mc anonymous get-json: %v: %s", err, out)
		}
		return strings.TrimSpace(string(out))
	}
	before := bucketPolicy(t)

	full := w.grantCLI(t, "-s", "s3:full", "-t", "15m")
	t.Run("put-bucket-policy is denied", func(t *testing.T) {
		line := mustFail(t, w.aws(full.Profile, "s3api", "put-bucket-policy", "--bucket", bucket, "--policy", "file://"+public), "AccessDenied")
		t.Logf("put-bucket-policy with s3 full: %s", line)
		if got := bucketPolicy(t); got != before {
			t.Errorf("the bucket policy changed after a denied put-bucket-policy:\n%s\nwas\n%s", got, before)
		}
	})
	t.Run("a public ACL is denied", func(t *testing.T) {
		mustFail(t, w.aws(full.Profile, "s3api", "put-bucket-acl", "--bucket", bucket, "--acl", "public-read-write"), "AccessDenied")
		if got := bucketPolicy(t); got != before {
			t.Errorf("the bucket policy changed after a denied put-bucket-acl:\n%s", got)
		}
	})
	t.Run("objects can still be written", func(t *testing.T) {
		mustSucceed(t, w.aws(full.Profile, "s3", "cp", upload, "s3://"+bucket+"/audit.test"))
		out, err := w.m.MC("ls", "rig/"+bucket)
		if err != nil || !strings.Contains(string(out), "audit.test") {
			t.Errorf("mc ls rig/%s does not show audit.test after the full grant's upload: %v\n%s", bucket, err, out)
		}
		if code := anonymous(t); code != http.StatusForbidden {
			t.Errorf("anonymous GET of the object: %d, want 403: the bucket is public", code)
		}
	})
	t.Run("control: the broker itself may set the policy", func(t *testing.T) {
		env := append(append([]string{}, w.consumer...), "AWS_ACCESS_KEY_ID="+owner.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+owner.SecretAccessKey, "AWS_CONFIG_FILE=/dev/null")
		mustSucceed(t, w.run(env, awsCLI, "--endpoint-url", w.m.URL, "--region", "us-east-1", "s3api", "put-bucket-policy", "--bucket", bucket, "--policy", "file://"+public))
		if got := bucketPolicy(t); got == before {
			t.Errorf("the bucket policy is unchanged after the broker set it: %s", got)
		}
		if code := anonymous(t); code != http.StatusOK {
			t.Errorf("anonymous GET of the object with the public policy: %d, want 200", code)
		}
	})
}
