package grant

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
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
// source_profile, or the standard AWS chain.
func NewSTS(ctx context.Context, cfg Config) (*sts.Client, error) {
	awsCfg, err := baseConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return sts.NewFromConfig(awsCfg, func(o *sts.Options) {
		if cfg.STSEndpoint != "" {
			o.BaseEndpoint = aws.String(cfg.STSEndpoint)
		}
	}), nil
}

// NewIAM returns an IAM client signed with the base credentials.
func NewIAM(ctx context.Context, cfg Config) (*iam.Client, error) {
	awsCfg, err := baseConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return iam.NewFromConfig(awsCfg), nil
}

func baseConfig(ctx context.Context, cfg Config) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{config.WithRegion(cfg.Region)}
	// The agent's shell settings can reach this process too (Claude Code
	// applies its settings env to MCP servers). There, AWS_CONFIG_FILE names
	// the dedicated file and AWS_SHARED_CREDENTIALS_FILE the empty one, which
	// would hide the base credentials: read them as "the AWS default".
	if sameFile(os.Getenv("AWS_CONFIG_FILE"), cfg.AWSConfigFile()) {
		opts = append(opts, config.WithSharedConfigFiles([]string{config.DefaultSharedConfigFilename()}))
	}
	if sameFile(os.Getenv("AWS_SHARED_CREDENTIALS_FILE"), filepath.Join(cfg.Home, EmptyCredentialsName)) {
		opts = append(opts, config.WithSharedCredentialsFiles([]string{config.DefaultSharedCredentialsFilename()}))
	}
	if cfg.SourceProfile != "" {
		opts = append(opts, config.WithSharedConfigProfile(cfg.SourceProfile))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading base AWS credentials: %w", err)
	}
	return awsCfg, nil
}

func sameFile(a, b string) bool {
	if a == "" {
		return false
	}
	a, errA := filepath.Abs(a)
	b, errB := filepath.Abs(b)
	return errA == nil && errB == nil && filepath.Clean(a) == filepath.Clean(b)
}

// explainSTS turns an AssumeRole failure into a message that says which limit
// or permission was hit and what to do.
func explainSTS(err error, cfg Config, ttl string) error {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return fmt.Errorf("STS AssumeRole on %s failed: %w", cfg.RoleARN, err)
	}
	msg := api.ErrorMessage()
	switch {
	case strings.Contains(msg, "role chaining"):
		return fmt.Errorf("ttl %s exceeds the 1h limit STS sets when the base credentials are themselves a role session (role chaining): ask for 1h or less, or use base credentials that are not a role session", ttl)
	case strings.Contains(msg, "MaxSessionDuration"):
		return fmt.Errorf("ttl %s exceeds the broker role's MaxSessionDuration (%s): ask for a shorter ttl, or raise it with aws iam update-role --role-name <role> --max-session-duration <seconds>", ttl, cfg.RoleARN)
	case api.ErrorCode() == "AccessDenied":
		return fmt.Errorf("the base credentials may not assume %s (AccessDenied: %s): check the role's trust policy and the base identity", cfg.RoleARN, msg)
	case strings.Contains(msg, "PackedPolicyTooLarge") || api.ErrorCode() == "PackedPolicyTooLarge":
		return fmt.Errorf("STS found the session policy too large after packing (%s): ask for fewer services in one grant", msg)
	}
	return fmt.Errorf("STS AssumeRole on %s failed: %s: %s", cfg.RoleARN, api.ErrorCode(), msg)
}
