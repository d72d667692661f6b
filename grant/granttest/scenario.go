package granttest

import (
	"fmt"
	"os"
	"path/filepath"
)

// Scenario is the seed scenario's world on a MinIO server: a broker that may
// only read and list one bucket, a bucket it may not touch, and a second
// broker that may also write to a scratch bucket.
type Scenario struct {
	// Readable is the one bucket Broker may read and list; it holds Object.
	Readable string
	// Object is a key in Readable.
	Object string
	// Other is a bucket neither broker may list.
	Other string
	// Writable is the bucket WriterBroker may read and write.
	Writable string
	// Broker reads and lists Readable only (and may list bucket names).
	Broker User
	// WriterBroker reads and writes Writable (and may list bucket names).
	WriterBroker User
}

// User is a MinIO IAM user: the base credentials of a broker.
type User struct {
	AccessKeyID, SecretAccessKey string
}

// SeedScenario creates the scenario's buckets, object and users on m.
func SeedScenario(m *MinIO) (Scenario, error) {
	s := Scenario{
		Readable: "agent-data", Object: "report.csv", Other: "other-team", Writable: "scratch",
		Broker:       User{"broker", random(12)},
		WriterBroker: User{"broker-rw", random(12)},
	}
	if _, err := m.MC("mb", "rig/"+s.Readable, "rig/"+s.Other, "rig/"+s.Writable); err != nil {
		return s, err
	}
	f, err := os.CreateTemp("", "object-*")
	if err != nil {
		return s, err
	}
	defer os.Remove(f.Name())
	fmt.Fprintln(f, "region,revenue\neu,42")
	f.Close()
	for _, b := range []string{s.Readable, s.Other} {
		if _, err := m.MC("cp", f.Name(), "rig/"+b+"/"+s.Object); err != nil {
			return s, err
		}
	}
	readOnly := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[`+
		`{"Effect":"Allow","Action":["s3:ListAllMyBuckets"],"Resource":["arn:aws:s3:::*"]},`+
		`{"Effect":"Allow","Action":["s3:ListBucket","s3:GetBucketLocation"],"Resource":["arn:aws:s3:::%[1]s"]},`+
		`{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::%[1]s/*"]}]}`, s.Readable)
	if err := m.AddUser(s.Broker.AccessKeyID, s.Broker.SecretAccessKey, readOnly); err != nil {
		return s, err
	}
	readWrite := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[`+
		`{"Effect":"Allow","Action":["s3:ListAllMyBuckets"],"Resource":["arn:aws:s3:::*"]},`+
		`{"Effect":"Allow","Action":["s3:ListBucket","s3:GetBucketLocation"],"Resource":["arn:aws:s3:::%[1]s"]},`+
		`{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject","s3:DeleteObject"],"Resource":["arn:aws:s3:::%[1]s/*"]}]}`, s.Writable)
	return s, m.AddUser(s.WriterBroker.AccessKeyID, s.WriterBroker.SecretAccessKey, readWrite)
}

// Env is the environment for timebound-iam with user as its base
// credentials and m as its STS, keeping state under home with the file
// keyring. It starts from nothing: no inherited AWS settings leak in.
func (m *MinIO) Env(home string, user User) []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"TIMEBOUND_IAM_HOME=" + filepath.Join(home, "state"),
		"TIMEBOUND_IAM_ROLE_ARN=arn:aws:iam::123456789012:role/timebound-iam-broker",
		"TIMEBOUND_IAM_STS_ENDPOINT=" + m.URL,
		"TIMEBOUND_IAM_STS_DIALECT=minio",
		"TIMEBOUND_IAM_KEYRING_BACKEND=file",
		"TIMEBOUND_IAM_FILE_PASSPHRASE=" + random(8),
		"AWS_ACCESS_KEY_ID=" + user.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + user.SecretAccessKey,
		"AWS_CONFIG_FILE=" + filepath.Join(home, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "no-aws-credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
	}
}
