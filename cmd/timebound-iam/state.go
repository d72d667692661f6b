package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/audit"
	"github.com/timebound-iam/timebound-iam/grant/awsiam"
	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/timebound-iam/timebound-iam/keychain"
	"github.com/timebound-iam/timebound-iam/profiles"
	"github.com/urfave/cli/v2"
)

// configFlags override the config file and the environment for one run.
func configFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "home", Usage: "state `DIR` (default $TIMEBOUND_IAM_HOME, else $XDG_CONFIG_HOME/timebound-iam, else ~/.config/timebound-iam)"},
		&cli.StringFlag{Name: "role-arn", Usage: "broker role to assume (config role_arn, env TIMEBOUND_IAM_ROLE_ARN)"},
		&cli.StringFlag{Name: "region", Usage: "region for STS and the profiles (config region, env TIMEBOUND_IAM_REGION; default us-east-1)"},
		&cli.StringFlag{Name: "sts-endpoint", Usage: "STS endpoint `URL` (config sts_endpoint, env TIMEBOUND_IAM_STS_ENDPOINT)"},
		&cli.StringFlag{Name: "sts-dialect", Usage: "aws, or minio for a MinIO STS: s3 only, in MinIO's policy language (config sts_dialect, env TIMEBOUND_IAM_STS_DIALECT)"},
		&cli.StringFlag{Name: "keyring-backend", Usage: "keychain backend: " + strings.Join(keychain.Backends, ", ") + " (config keyring_backend, env TIMEBOUND_IAM_KEYRING_BACKEND; default: the OS keychain, keyctl on headless Linux)"},
	}
}

// loadConfig resolves the state directory and the configuration:
// flags over environment over the config file. Each permission it fixes in
// the state directory is reported as a plain warning line on stderr.
func loadConfig(c *cli.Context) (config.Config, error) {
	return loadConfigWarn(c, plainWarning(c), plainNote(c))
}

// plainNote reports a config warning ([config.Config.Warnings]) as a plain
// warning line on stderr.
func plainNote(c *cli.Context) func(string) {
	return func(msg string) { fmt.Fprintf(c.App.ErrWriter, "%s: warning: %s\n", prog, msg) }
}

// logNote is plainNote for serve: a structured line through its logger.
func logNote(log *slog.Logger) func(string) {
	return func(msg string) { log.Warn("config", "warning", msg) }
}

// homeWarning reports one permission fixed in the state directory; see
// [config.SecureHome].
type homeWarning func(path string, was, now fs.FileMode)

// plainWarning is the human CLI's form of a [homeWarning].
func plainWarning(c *cli.Context) homeWarning {
	return func(path string, was, now fs.FileMode) {
		fmt.Fprintf(c.App.ErrWriter, "%s: warning: %s was open to other users; made it private: mode was %04o; now %04o\n", prog, path, was, now)
	}
}

// logWarning is a [homeWarning] for serve: a structured line through its
// logger, like everything else serve reports, so that a client or a log
// collector reading serve's stderr as key=value lines can parse it.
func logWarning(log *slog.Logger) homeWarning {
	return func(path string, was, now fs.FileMode) {
		log.Warn("state directory path was open to other users; made it private", "path", path,
			"was", fmt.Sprintf("%04o", was), "now", fmt.Sprintf("%04o", now))
	}
}

// stateHome resolves the state directory, --home over the environment, and
// makes sure it exists and is private, reporting what it fixed to warn.
func stateHome(c *cli.Context, warn homeWarning) (string, error) {
	home := c.String("home")
	if home == "" {
		var err error
		if home, err = config.Home(os.Getenv); err != nil {
			return "", err
		}
	}
	home, err := filepath.Abs(home)
	if err != nil {
		return "", err
	}
	return home, config.SecureHome(home, warn)
}

// loadConfigWarn is loadConfig reporting fixed permissions to warn, and
// what the config says that changes nothing to note.
func loadConfigWarn(c *cli.Context, warn homeWarning, note func(string)) (config.Config, error) {
	home, err := stateHome(c, warn)
	if err != nil {
		return config.Config{}, err
	}
	cfg, err := config.Load(home, os.Getenv, map[string]string{
		"role_arn":        c.String("role-arn"),
		"region":          c.String("region"),
		"sts_endpoint":    c.String("sts-endpoint"),
		"sts_dialect":     c.String("sts-dialect"),
		"keyring_backend": c.String("keyring-backend"),
	})
	for _, w := range cfg.Warnings {
		note(w)
	}
	return cfg, err
}

// newManager assembles the grant use cases. withSTS is false for commands that
// never call STS.
func newManager(c *cli.Context, withSTS bool, log *slog.Logger) (*grant.Manager, error) {
	return newManagerWarn(c, withSTS, log, plainWarning(c), plainNote(c))
}

// newManagerWarn is newManager reporting fixed permissions to warn.
func newManagerWarn(c *cli.Context, withSTS bool, log *slog.Logger, warn homeWarning, note func(string)) (*grant.Manager, error) {
	cfg, err := loadConfigWarn(c, warn, note)
	if err != nil {
		return nil, err
	}
	keys, err := keychain.Open(keychain.Options{Backend: cfg.KeyringBackend, Dir: cfg.Home, Passphrase: cfg.FilePassphrase})
	if errors.Is(err, keychain.ErrUnavailable) {
		return nil, withHint(err, "set keyring_backend in %s, or TIMEBOUND_IAM_KEYRING_BACKEND, to one of: %s", cfg.ConfigFile(), strings.Join(keychain.Available(), ", "))
	}
	if err != nil {
		return nil, withHint(err, "choose a backend with keyring_backend in %s (one of %s)", cfg.ConfigFile(), strings.Join(keychain.Backends, ", "))
	}
	// A grant must not reach STS, only to find it cannot store the result.
	if withSTS {
		if err := keys.Check(); err != nil {
			return nil, err
		}
	}
	exe, err := selfPath()
	if err != nil {
		return nil, err
	}
	// Only revoke --aws and revoke_access with aws use IAM; the client is made
	// then, once.
	newIAM := sync.OnceValues(func() (awsiam.RolePolicyAPI, error) {
		return awsiam.NewRolePolicyClient(context.Background(), cfg)
	})
	m := &grant.Manager{
		Config:   cfg,
		Keys:     keys,
		Profiles: &profiles.File{Path: cfg.AWSConfigFile(), Home: cfg.Home},
		Exe:      exe,
		Now:      time.Now,
		Log:      log,
		IAM:      func(context.Context) (awsiam.RolePolicyAPI, error) { return newIAM() },
		Audit:    audit.Open(filepath.Join(cfg.Home, audit.FileName)),
	}
	if withSTS {
		if m.STS, err = grant.NewSTS(context.Background(), cfg); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// selfPath is the absolute path this binary was started by, for
// credential_process. It keeps symlinks: a package manager's stable link
// outlives the versioned file it points to.
func selfPath() (string, error) {
	arg0 := os.Args[0]
	if !strings.ContainsRune(arg0, filepath.Separator) {
		if p, err := exec.LookPath(arg0); err == nil {
			arg0 = p
		} else {
			return os.Executable()
		}
	}
	return filepath.Abs(arg0)
}

// cliLogger reports only problems: the CLI prints its own results.
func cliLogger(c *cli.Context) *slog.Logger {
	return slog.New(slog.NewTextHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
