package config

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
)

// BaseAWS loads the AWS configuration of the base identity, which grants
// and setup's IAM calls are signed with: the source_profile, or the standard
// AWS credential chain, in region.
func (cfg Config) BaseAWS(ctx context.Context) (aws.Config, error) {
	opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithRegion(cfg.Region)}
	// The agent's shell settings can reach this process too (Claude Code
	// applies its settings env to MCP servers). There, AWS_CONFIG_FILE names
	// the dedicated file and AWS_SHARED_CREDENTIALS_FILE the empty one, which
	// would hide the base credentials: read them as "the AWS default".
	if sameFile(os.Getenv("AWS_CONFIG_FILE"), cfg.AWSConfigFile()) {
		opts = append(opts, awsconfig.WithSharedConfigFiles([]string{awsconfig.DefaultSharedConfigFilename()}))
	}
	if sameFile(os.Getenv("AWS_SHARED_CREDENTIALS_FILE"), filepath.Join(cfg.Home, EmptyCredentialsName)) {
		opts = append(opts, awsconfig.WithSharedCredentialsFiles([]string{awsconfig.DefaultSharedCredentialsFilename()}))
	}
	if cfg.SourceProfile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(cfg.SourceProfile))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
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
