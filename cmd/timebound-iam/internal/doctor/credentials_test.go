package doctor

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/timebound-iam/timebound-iam/grant/config"
)

func TestBaseCredentials(t *testing.T) {
	status501 := &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: http.StatusNotImplemented}},
		Err:      errors.New("not implemented"),
	}}
	tests := []struct {
		name         string
		keys         map[string]string // config
		sts          func(context.Context) (Identity, error)
		status       Status
		detail, hint string
	}{
		{
			name: "user", sts: identity(userARN, nil),
			status: OK, detail: "account 123456789012, " + userARN,
		},
		{
			name: "role session above max_ttl", sts: identity(sessionARN, nil),
			status: Warn, detail: sessionARN + ": a role session, so STS caps every grant at 1h (role chaining), below max_ttl 12h",
			hint: "or lower max_ttl to 1h in ",
		},
		{
			name: "role session within 1h", keys: map[string]string{"max_ttl": "1h"}, sts: identity(sessionARN, nil),
			status: OK, detail: "a role session; max_ttl 1h fits its 1h role-chaining cap",
		},
		{
			name: "no GetCallerIdentity", sts: identity("", &smithy.GenericAPIError{Code: "InvalidAction", Message: "only AssumeRole is served here"}),
			status: Warn, detail: "cannot check: the STS endpoint does not serve GetCallerIdentity (InvalidAction: only AssumeRole is served here)",
			hint: "the role check shows",
		},
		{
			name: "endpoint answers 501", sts: identity("", status501),
			status: Warn, detail: "cannot check: the STS endpoint does not serve GetCallerIdentity", hint: "role check",
		},
		{
			name: "minio", keys: map[string]string{"sts_dialect": "minio"},
			sts: func(context.Context) (Identity, error) {
				t.Error("STS called for a MinIO endpoint")
				return nil, errors.New("called")
			},
			status: Warn, detail: "cannot check: MinIO's STS has no GetCallerIdentity (sts_dialect = minio)", hint: "role check",
		},
		{
			name: "invalid keys", sts: identity("", &smithy.GenericAPIError{Code: "InvalidClientTokenId", Message: "The security token included in the request is invalid."}),
			status: Fail, detail: "STS GetCallerIdentity failed: InvalidClientTokenId: The security token included in the request is invalid.",
			hint: "set up base credentials in the standard AWS chain",
		},
		{
			name: "bad source_profile", keys: map[string]string{"source_profile": "base"},
			sts: func(context.Context) (Identity, error) {
				return nil, errors.New("loading base AWS credentials: failed to get shared config profile, base")
			},
			status: Fail, detail: "loading base AWS credentials: failed to get shared config profile, base",
			hint: `check profile "base" (source_profile)`,
		},
		{
			// The chain's last request, to the EC2 instance metadata service,
			// failed to send: that is no credentials, not "cannot reach STS".
			name: "no credentials",
			sts: identity("", &smithy.OperationError{ServiceID: "STS", OperationName: "GetCallerIdentity", Err: &config.CredentialsError{
				Profile: "default", ConfigFile: "/h/.aws/config", CredentialsFile: "/h/.aws/credentials", Nothing: true, Err: unreachableErr,
			}}),
			status: Fail, detail: `found no base AWS credentials: looked in the environment (AWS_ACCESS_KEY_ID), in profile "default" of /h/.aws/credentials and /h/.aws/config, and at the EC2 instance metadata service`,
			hint: "aws configure",
		},
		{
			name: "unreachable", sts: identity("", unreachableErr),
			status: Fail, detail: `cannot reach STS: Post "https://sts.us-east-1.amazonaws.com/": dial tcp: lookup sts.us-east-1.amazonaws.com: no such host`,
			hint: "check the network, region and sts_endpoint",
		},
		{
			name: "no answer",
			sts: func(context.Context) (Identity, error) {
				return IdentityFunc(func(ctx context.Context, _ *sts.GetCallerIdentityInput, _ ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
					<-ctx.Done()
					return nil, ctx.Err()
				}), nil
			},
			status: Fail, detail: "STS GetCallerIdentity got no answer within 50ms", hint: "check the network",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := healthy(t)
			d.Config = loadConfig(t, d.Config.Home, tt.keys)
			d.STS = tt.sts
			d.Timeout = 50 * time.Millisecond
			want(t, run(t, d, CredentialsCheck), tt.status, tt.detail, tt.hint)
		})
	}
}
