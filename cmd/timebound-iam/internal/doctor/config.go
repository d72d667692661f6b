package doctor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/timebound-iam/timebound-iam/grant/config"
)

func (d *Doctor) checkConfig() Check {
	if d.ConfigErr != nil {
		return fail(ConfigCheck, d.ConfigErr.Error(),
			"fix the value named above in the config file, the environment or the flags; timebound-iam setup aws writes a working config")
	}
	cfg := d.Config
	if err := cfg.CheckRole(); err != nil {
		return fail(ConfigCheck, err.Error(), "timebound-iam setup aws creates the broker role and writes role_arn")
	}
	path := cfg.ConfigFile()
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return warn(ConfigCheck,
			fmt.Sprintf("%s does not exist; role_arn %s comes from the environment or a flag", path, cfg.RoleARN),
			fmt.Sprintf("run timebound-iam setup aws to write it, or create it with the line role_arn = %s", cfg.RoleARN))
	}
	services := "all catalog services"
	if len(cfg.Services) > 0 {
		services = cfg.ServicesText()
	}
	return ok(ConfigCheck, fmt.Sprintf("%s: role %s, region %s, max_ttl %s, services %s",
		path, cfg.RoleARN, cfg.Region, config.ShortDuration(cfg.MaxTTL), services))
}

// checkLimits lists the limits every grant must fit and where each came
// from. Without a managed policy they are the user's own settings, which
// any process running as the user can change: said, but not a warning, since
// a single-user machine may want exactly that.
func (d *Doctor) checkLimits() Check {
	cfg := d.Config
	parts := make([]string, 0, 6)
	for _, l := range cfg.Limits() {
		parts = append(parts, fmt.Sprintf("%s %s (%s)", l.Key, l.Value, l.Source))
	}
	where := "no managed policy at " + config.ManagedPolicyPath() + ", so these are your own settings, which any process running as you can change"
	if cfg.PolicyFile != "" {
		where = "managed policy " + cfg.PolicyFile + " caps them"
	}
	return ok(LimitsCheck, where+": "+strings.Join(parts, "; "))
}
