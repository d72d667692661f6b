package granttest_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
)

// TestMinIORevokeSTSTokens shows the rig's two promises: MinIO issues STS
// credentials that work on S3, and RevokeSTSTokens makes MinIO refuse them at
// once, which the end-to-end tests use for the server half of expiry.
func TestMinIORevokeSTSTokens(t *testing.T) {
	rig, err := granttest.FindRig()
	if err != nil {
		t.Skip(err)
	}
	m, err := rig.StartMinIO(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	t.Logf("MinIO ready in %v", m.Ready)
	if _, err := m.MC("mb", "rig/bucket"); err != nil {
		t.Fatal(err)
	}
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:ListAllMyBuckets","s3:ListBucket"],"Resource":["arn:aws:s3:::*"]}]}`
	if err := m.AddUser("broker", "brokersecret123", policy); err != nil {
		t.Fatal(err)
	}
	client := sts.New(sts.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(m.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("broker", "brokersecret123", ""),
	})
	out, err := client.AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::123456789012:role/broker"), RoleSessionName: aws.String("rig-test"), DurationSeconds: aws.Int32(900),
	})
	if err != nil {
		t.Fatal(err)
	}
	c := aws.Credentials{AccessKeyID: *out.Credentials.AccessKeyId, SecretAccessKey: *out.Credentials.SecretAccessKey, SessionToken: *out.Credentials.SessionToken}
	if got := listBuckets(t, m.URL, c); got != http.StatusOK {
		t.Fatalf("ListBuckets with fresh STS keys: %d", got)
	}
	if err := m.RevokeSTSTokens("broker"); err != nil {
		t.Fatal(err)
	}
	if got := listBuckets(t, m.URL, c); got != http.StatusForbidden {
		t.Errorf("ListBuckets with revoked STS keys: %d, want 403", got)
	}
}

func listBuckets(t *testing.T, url string, c aws.Credentials) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url+"/", nil)
	sum := sha256.Sum256(nil)
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	if err := v4.NewSigner().SignHTTP(context.Background(), c, req, hash, "s3", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestSeedScenario(t *testing.T) {
	rig, err := granttest.FindRig()
	if err != nil {
		t.Skip(err)
	}
	m, err := rig.StartMinIO(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s, err := granttest.SeedScenario(m)
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.MC("ls", "rig/"+s.Readable)
	if err != nil || !strings.Contains(string(out), s.Object) {
		t.Errorf("mc ls %s = %s, %v; want %s", s.Readable, out, err, s.Object)
	}
}
