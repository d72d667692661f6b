package grant

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	"github.com/timebound-iam/timebound-iam/grant/config"
)

// AssumeRoler is the one STS call a grant makes; *sts.Client satisfies it.
type AssumeRoler interface {
	AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleOutput, error)
}

// AssumeRoleFunc adapts a function to [AssumeRoler], for fakes.
type AssumeRoleFunc func(ctx context.Context, in *sts.AssumeRoleInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleOutput, error)

// AssumeRole calls f.
func (f AssumeRoleFunc) AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	return f(ctx, in, optFns...)
}

// NewSTS returns an STS client signed with the base credentials: the
// source_profile, or the standard AWS chain. Its AssumeRole calls, retries
// and backoff included, give up after cfg.STSTimeout; throttling and other
// transient errors are retried by the SDK's standard retryer (3 attempts
// unless AWS_MAX_ATTEMPTS or the profile's max_attempts says otherwise).
func NewSTS(ctx context.Context, cfg config.Config) (*sts.Client, error) {
	awsCfg, err := cfg.BaseAWS(ctx)
	if err != nil {
		return nil, err
	}
	return sts.NewFromConfig(awsCfg, func(o *sts.Options) {
		if cfg.STSEndpoint != "" {
			o.BaseEndpoint = aws.String(cfg.STSEndpoint)
		}
		if cfg.STSTimeout > 0 {
			o.APIOptions = append(o.APIOptions, assumeRoleTimeout(cfg.STSTimeout))
		}
	}), nil
}

// errSTSTimeout marks an AssumeRole call that sts_timeout cut short, as
// opposed to one whose caller gave up.
var errSTSTimeout = errors.New("sts_timeout reached")

// assumeRoleTimeout bounds each AssumeRole call, every attempt and backoff
// included, by d. It sits in the Initialize step, outside the retry loop: a
// per-attempt HTTP timeout would let the retryer multiply it. Other STS
// calls (doctor's GetCallerIdentity) keep their callers' deadlines.
func assumeRoleTimeout(d time.Duration) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("timebound-iam-sts-timeout",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				if middleware.GetOperationName(ctx) != "AssumeRole" {
					return next.HandleInitialize(ctx, in)
				}
				tctx, cancel := context.WithTimeout(ctx, d)
				defer cancel()
				out, md, err := next.HandleInitialize(tctx, in)
				if err != nil && tctx.Err() != nil && ctx.Err() == nil {
					err = fmt.Errorf("%w: %w", errSTSTimeout, err)
				}
				return out, md, err
			}), middleware.Before)
	}
}

// explainSTS turns an AssumeRole failure on role into a message that says
// which limit or permission was hit and what to do; mfaSerial is the device
// whose code the call carried, "" for none. No message holds the code.
func explainSTS(err error, cfg config.Config, role, mfaSerial, ttl string) error {
	// Without base credentials the request never left: what AWS would say
	// is moot, and the SDK's chain of wrappers says nothing more.
	var creds *config.CredentialsError
	if errors.As(err, &creds) {
		return creds
	}
	if errors.Is(err, errSTSTimeout) {
		return fmt.Errorf("STS AssumeRole on %s got no answer within sts_timeout %s (endpoint %s): check the network path to STS and try again, or raise sts_timeout in %s", role, config.ShortDuration(cfg.STSTimeout), stsEndpointText(cfg), cfg.ConfigFile())
	}
	var api smithy.APIError
	if !errors.As(err, &api) {
		return fmt.Errorf("STS AssumeRole on %s failed: %w", role, err)
	}
	msg := api.ErrorMessage()
	switch {
	case strings.Contains(msg, "role chaining"):
		return fmt.Errorf("ttl %s exceeds the 1h limit STS sets when the base credentials are themselves a role session (role chaining): ask for 1h or less, or use base credentials that are not a role session", ttl)
	case strings.Contains(msg, "MaxSessionDuration"):
		return fmt.Errorf("ttl %s exceeds the broker role's MaxSessionDuration (%s): ask for a shorter ttl, or raise it with aws iam update-role --role-name <role> --max-session-duration <seconds>", ttl, role)
	case mfaSerial != "" && api.ErrorCode() == "AccessDenied" && strings.Contains(msg, "invalid MFA one time pass code"):
		return fmt.Errorf("AWS did not accept the MFA code for mfa_serial %s (AccessDenied: %s): no grant was made; ask again and type the code the device shows now, which works once and only while it is shown", mfaSerial, msg)
	case mfaSerial != "" && api.ErrorCode() == "AccessDenied" && strings.Contains(msg, "unable to validate MFA code"):
		return fmt.Errorf("AWS could not check the code against mfa_serial %s (AccessDenied: %s): mfa_serial must be an MFA device of the base identity, an IAM user; set it in %s, or run timebound-iam setup aws --mfa-serial <your device's ARN>", mfaSerial, msg, cfg.ConfigFile())
	case mfaSerial != "" && api.ErrorCode() == "AccessDenied":
		return fmt.Errorf("the base credentials may not assume the MFA role %s with a code of %s (AccessDenied: %s): its trust policy must name the base identity and require aws:MultiFactorAuthPresent; timebound-iam setup aws --mfa-serial %s prints or applies it", role, mfaSerial, msg, mfaSerial)
	case api.ErrorCode() == "AccessDenied":
		return fmt.Errorf("the base credentials may not assume %s (AccessDenied: %s): check the role's trust policy and the base identity", role, msg)
	case api.ErrorCode() == "Throttling" || api.ErrorCode() == "ThrottlingException" || api.ErrorCode() == "RequestLimitExceeded":
		return fmt.Errorf("STS throttled AssumeRole on %s and kept refusing after %s (%s: %s): wait a minute and try again, and make fewer grants at once", role, attemptsText(err), api.ErrorCode(), msg)
	case strings.Contains(msg, "PackedPolicyTooLarge") || api.ErrorCode() == "PackedPolicyTooLarge":
		return fmt.Errorf("STS found the session policy too large after packing (%s): ask for fewer services in one grant", msg)
	}
	return fmt.Errorf("STS AssumeRole on %s failed: %s: %s", role, api.ErrorCode(), msg)
}

// stsEndpointText names the endpoint AssumeRole went to, for messages.
func stsEndpointText(c config.Config) string {
	if c.STSEndpoint != "" {
		return c.STSEndpoint
	}
	return "the default for " + c.Region
}

// attemptsText says how many attempts the retryer made, when it says.
func attemptsText(err error) string {
	var max *retry.MaxAttemptsError
	if errors.As(err, &max) {
		return fmt.Sprintf("%d attempts with backoff", max.Attempt)
	}
	return "retries with backoff"
}
