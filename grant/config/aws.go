package config

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/smithy-go/logging"
)

// BaseAWS loads the AWS configuration of the base identity, which grants
// and setup's IAM calls are signed with: the source_profile, or the standard
// AWS credential chain, in region. When the credentials cannot be found or
// loaded, the error of BaseAWS, and of every call signed with its
// credentials, holds a [*CredentialsError]. The SDK logs nothing: its
// warnings (such as "falling back to IMDSv1") would land on the user's
// terminal, or in serve's structured log, in the SDK's own format.
func (cfg Config) BaseAWS(ctx context.Context) (aws.Config, error) {
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRegion(cfg.Region),
		awsconfig.WithLogger(logging.Nop{}),
		awsconfig.WithClientLogMode(0),
		awsconfig.WithLogConfigurationWarnings(false),
	}
	configFile, credentialsFile := os.Getenv("AWS_CONFIG_FILE"), os.Getenv("AWS_SHARED_CREDENTIALS_FILE")
	// The agent's shell settings can reach this process too (Claude Code
	// applies its settings env to MCP servers). There, AWS_CONFIG_FILE names
	// the dedicated file and AWS_SHARED_CREDENTIALS_FILE the empty one, which
	// would hide the base credentials: read them as "the AWS default".
	if sameFile(configFile, cfg.AWSConfigFile()) {
		configFile = ""
		opts = append(opts, awsconfig.WithSharedConfigFiles([]string{awsconfig.DefaultSharedConfigFilename()}))
	}
	if sameFile(credentialsFile, filepath.Join(cfg.Home, EmptyCredentialsName)) {
		credentialsFile = ""
		opts = append(opts, awsconfig.WithSharedCredentialsFiles([]string{awsconfig.DefaultSharedCredentialsFilename()}))
	}
	if cfg.SourceProfile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(cfg.SourceProfile))
	}
	cerr := &CredentialsError{Profile: cfg.SourceProfile, ProfileFrom: "source_profile", CredentialsFile: credentialsFile, ConfigFile: configFile, Settings: cfg.ConfigFile()}
	if cerr.Profile == "" {
		cerr.Profile, cerr.ProfileFrom = os.Getenv("AWS_PROFILE"), "AWS_PROFILE"
	}
	if cerr.Profile == "" {
		cerr.Profile, cerr.ProfileFrom = "default", ""
	}
	if cerr.ConfigFile == "" {
		cerr.ConfigFile = awsconfig.DefaultSharedConfigFilename()
	}
	if cerr.CredentialsFile == "" {
		cerr.CredentialsFile = awsconfig.DefaultSharedCredentialsFilename()
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		cerr.Err = err
		return aws.Config{}, cerr
	}
	// With nothing in the environment or the profile, the SDK's chain ends
	// at the EC2 instance metadata service; off EC2 that is "no credentials".
	if cache, ok := awsCfg.Credentials.(*aws.CredentialsCache); ok {
		cerr.Nothing = cache.IsCredentialsProvider((*ec2rolecreds.Provider)(nil))
		cerr.IMDSOff = strings.EqualFold(os.Getenv("AWS_EC2_METADATA_DISABLED"), "true")
	}
	awsCfg.Credentials = &explainedCredentials{CredentialsProvider: awsCfg.Credentials, err: *cerr}
	return awsCfg, nil
}

// CredentialsError is a failure to find or load the base identity's
// credentials, before any request reaches AWS. Its message names where the
// SDK looked; Err is the SDK's own error.
type CredentialsError struct {
	// Profile is the AWS profile read, and ProfileFrom the setting that
	// named it ("source_profile", "AWS_PROFILE"), empty for "default".
	Profile, ProfileFrom string
	// ConfigFile and CredentialsFile are the shared files read.
	ConfigFile, CredentialsFile string
	// Settings is this tool's config file, where source_profile is set.
	Settings string
	// Nothing is true when no source held credentials at all, and the
	// last in the chain, the EC2 instance metadata service, had none either.
	Nothing bool
	// IMDSOff is true when AWS_EC2_METADATA_DISABLED turned that service off.
	IMDSOff bool
	Err     error
}

// NoProfile reports whether the failure is that Profile is in neither
// shared file.
func (e *CredentialsError) NoProfile() bool {
	var notExist awsconfig.SharedConfigProfileNotExistError
	return errors.As(e.Err, &notExist)
}

func (e *CredentialsError) Error() string {
	profile := fmt.Sprintf("profile %q", e.Profile)
	if e.ProfileFrom != "" {
		profile += " (" + e.ProfileFrom + ")"
	}
	switch {
	case e.NoProfile():
		return fmt.Sprintf("cannot load the base AWS credentials: %s is in neither %s nor %s", profile, e.ConfigFile, e.CredentialsFile)
	case e.Nothing:
		imds := "and at the EC2 instance metadata service"
		if e.IMDSOff {
			imds = "and not at the EC2 instance metadata service (AWS_EC2_METADATA_DISABLED)"
		}
		return fmt.Sprintf("found no base AWS credentials: looked in the environment (AWS_ACCESS_KEY_ID), in %s of %s and %s, %s", profile, e.CredentialsFile, e.ConfigFile, imds)
	}
	msg := e.Err.Error()
	msg = strings.TrimPrefix(msg, "failed to refresh cached credentials, ")
	return fmt.Sprintf("cannot load the base AWS credentials of %s: %s", profile, msg)
}

// Unwrap returns the SDK's error.
func (e *CredentialsError) Unwrap() error { return e.Err }

// explainedCredentials turns its provider's failures into a
// [*CredentialsError]; the SDK's signers keep it in the error they return.
type explainedCredentials struct {
	aws.CredentialsProvider
	err CredentialsError
}

func (p *explainedCredentials) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := p.CredentialsProvider.Retrieve(ctx)
	if err != nil {
		e := p.err
		e.Err = err
		return c, &e
	}
	return c, nil
}

func sameFile(a, b string) bool {
	if a == "" {
		return false
	}
	a, errA := filepath.Abs(a)
	b, errB := filepath.Abs(b)
	return errA == nil && errB == nil && filepath.Clean(a) == filepath.Clean(b)
}
