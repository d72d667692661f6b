package grant_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/99designs/keyring"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/timebound-iam/timebound-iam/grant/policy"
	"github.com/timebound-iam/timebound-iam/keychain"
	"github.com/timebound-iam/timebound-iam/profiles"
)

// BenchmarkGrant measures one grant beyond STS (answered in memory) with a
// file that holds n profiles; each timed grant's profile is removed again,
// untimed, so n stays n. make bench measures the whole server.
func BenchmarkGrant(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprintf("profiles=%d", n), func(b *testing.B) {
			home := b.TempDir()
			cfg, err := config.Load(home, func(string) string { return "" }, map[string]string{"role_arn": "arn:aws:iam::123456789012:role/broker"})
			if err != nil {
				b.Fatal(err)
			}
			m := &grant.Manager{
				Config: cfg,
				STS: grant.AssumeRoleFunc(func(ctx context.Context, in *sts.AssumeRoleInput, _ ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
					return &sts.AssumeRoleOutput{Credentials: &types.Credentials{
						AccessKeyId: aws.String("ASIAEXAMPLEEXAMPLE"), SecretAccessKey: aws.String("secret"),
						SessionToken: aws.String("token"), Expiration: aws.Time(time.Now().Add(12 * time.Hour)),
					}}, nil
				}),
				Keys:     keychain.New(keyring.NewArrayKeyring(nil), "array"),
				Profiles: &profiles.File{Path: filepath.Join(home, config.AWSConfigName), Home: home},
				Exe:      "/usr/local/bin/timebound-iam",
				Now:      time.Now,
			}
			r := grant.Request{Access: []policy.Access{{Service: "s3", Level: policy.ReadOnly}}, TTL: 12 * time.Hour, Client: "bench"}
			for range n {
				if _, err := m.Grant(context.Background(), r); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for b.Loop() {
				s, err := m.Grant(context.Background(), r)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := m.Profiles.Update(func(set *profiles.Set) error { set.Remove(s.ID); return nil }); err != nil {
					b.Fatal(err)
				}
				if err := m.Keys.Delete(s.ID); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}
