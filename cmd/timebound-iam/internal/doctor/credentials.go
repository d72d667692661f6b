package doctor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/timebound-iam/timebound-iam/grant/policy"
)

func (d *Doctor) credentialsHint() string {
	if d.Config.SourceProfile != "" {
		return fmt.Sprintf("check profile %q (source_profile) in ~/.aws/config and ~/.aws/credentials; aws sts get-caller-identity --profile %s shows what it resolves to",
			d.Config.SourceProfile, d.Config.SourceProfile)
	}
	return fmt.Sprintf("set up base credentials in the standard AWS chain (aws configure, AWS_PROFILE, aws sso login), or name a profile with source_profile in %s",
		d.Config.ConfigFile())
}

const roleCheckTells = "the role check shows whether the base credentials can assume the broker role"

func (d *Doctor) checkIdentity(ctx context.Context) Check {
	if d.Config.STSDialect == policy.DialectMinIO {
		return warn(CredentialsCheck, "cannot check: MinIO's STS has no GetCallerIdentity (sts_dialect = minio)", roleCheckTells)
	}
	ctx, cancel := d.bounded(ctx)
	defer cancel()
	client, err := d.STS(ctx)
	if err != nil {
		return fail(CredentialsCheck, err.Error(), d.credentialsHint())
	}
	out, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	var creds *config.CredentialsError
	switch {
	case errors.As(err, &creds):
		// Before unreachable: the credential chain's own requests (to the
		// EC2 instance metadata service) fail like a request to STS would.
		return fail(CredentialsCheck, creds.Error(), d.credentialsHint())
	case unsupported(err):
		return warn(CredentialsCheck, fmt.Sprintf("cannot check: the STS endpoint does not serve GetCallerIdentity (%s)", apiText(err)), roleCheckTells)
	case errors.Is(err, context.DeadlineExceeded):
		return fail(CredentialsCheck, fmt.Sprintf("STS GetCallerIdentity got no answer within %s", config.ShortDuration(d.timeout())),
			"check the network, region and sts_endpoint")
	case unreachable(err):
		return fail(CredentialsCheck, "cannot reach STS: "+apiText(err), "check the network, region and sts_endpoint")
	case err != nil:
		return fail(CredentialsCheck, "STS GetCallerIdentity failed: "+apiText(err), d.credentialsHint())
	}
	arn := aws.ToString(out.Arn)
	detail := fmt.Sprintf("account %s, %s", aws.ToString(out.Account), arn)
	if !strings.Contains(arn, ":assumed-role/") {
		return ok(CredentialsCheck, detail)
	}
	const chainCap = time.Hour
	if d.Config.MaxTTL > chainCap {
		return warn(CredentialsCheck,
			fmt.Sprintf("%s: a role session, so STS caps every grant at 1h (role chaining), below max_ttl %s", detail, config.ShortDuration(d.Config.MaxTTL)),
			fmt.Sprintf("use base credentials that are not a role session (an IAM user's, through source_profile), or lower max_ttl to 1h in %s", d.Config.ConfigFile()))
	}
	return ok(CredentialsCheck, detail+": a role session; max_ttl "+config.ShortDuration(d.Config.MaxTTL)+" fits its 1h role-chaining cap")
}

// unsupported reports an endpoint that does not implement the operation, such
// as MinIO or a stand-in that serves only AssumeRole.
func unsupported(err error) bool {
	if err == nil {
		return false
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "InvalidAction", "NotImplemented", "UnknownOperationException", "UnsupportedOperation":
			return true
		}
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		switch re.HTTPStatusCode() {
		case http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusNotImplemented:
			return true
		}
	}
	return false
}

// unreachable reports a request that never got an answer.
func unreachable(err error) bool {
	var send *smithyhttp.RequestSendError
	return errors.As(err, &send)
}

// apiText is the base credentials' own error when they are missing, "Code:
// message" for an AWS API error, the transport's own error for a request that
// got no answer, else the whole error.
func apiText(err error) string {
	var creds *config.CredentialsError
	if errors.As(err, &creds) {
		return creds.Error()
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode() + ": " + api.ErrorMessage()
	}
	var send *smithyhttp.RequestSendError
	if errors.As(err, &send) && send.Err != nil {
		return send.Err.Error()
	}
	return err.Error()
}
