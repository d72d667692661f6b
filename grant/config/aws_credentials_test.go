package config

import (
	"errors"
	"testing"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
)

func TestCredentialsErrorSaysWhereItLooked(t *testing.T) {
	files := CredentialsError{Profile: "default", ConfigFile: "/h/.aws/config", CredentialsFile: "/h/.aws/credentials"}
	with := func(f func(*CredentialsError)) *CredentialsError { e := files; f(&e); return &e }
	tests := []struct {
		name string
		err  *CredentialsError
		want string
	}{
		{"nothing anywhere", with(func(e *CredentialsError) { e.Nothing, e.Err = true, errors.New("no EC2 IMDS role found") }),
			`found no base AWS credentials: looked in the environment (AWS_ACCESS_KEY_ID), in profile "default" of /h/.aws/credentials and /h/.aws/config, and at the EC2 instance metadata service`},
		{"metadata service off", with(func(e *CredentialsError) { e.Nothing, e.IMDSOff, e.Err = true, true, errors.New("access disabled") }),
			`found no base AWS credentials: looked in the environment (AWS_ACCESS_KEY_ID), in profile "default" of /h/.aws/credentials and /h/.aws/config, and not at the EC2 instance metadata service (AWS_EC2_METADATA_DISABLED)`},
		{"no such profile", with(func(e *CredentialsError) {
			e.Profile, e.ProfileFrom, e.Err = "base", "source_profile", awsconfig.SharedConfigProfileNotExistError{Profile: "base"}
		}), `cannot load the base AWS credentials: profile "base" (source_profile) is in neither /h/.aws/config nor /h/.aws/credentials`},
		{"a source that fails", with(func(e *CredentialsError) {
			e.Profile, e.ProfileFrom, e.Err = "sso", "AWS_PROFILE", errors.New("failed to refresh cached credentials, the SSO session has expired")
		}), `cannot load the base AWS credentials of profile "sso" (AWS_PROFILE): the SSO session has expired`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if errors.Unwrap(tt.err) == nil {
				t.Error("the SDK's error is not in the chain")
			}
		})
	}
}
