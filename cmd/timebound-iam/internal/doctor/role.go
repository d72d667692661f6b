package doctor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/smithy-go"
	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/timebound-iam/timebound-iam/grant/policy"
	"github.com/timebound-iam/timebound-iam/profiles"
)

const roleHint = "the error above says what to fix; timebound-iam setup aws prints the broker role's trust and permission policies"

func (d *Doctor) checkRole(ctx context.Context, keyringOK bool) Check {
	if d.Config.CheckRole() != nil {
		return skipped(RoleCheck, "no valid role_arn", ConfigCheck)
	}
	if !keyringOK {
		return skipped(RoleCheck, "grants need a working keyring", KeyringCheck)
	}
	ctx, cancel := d.bounded(ctx)
	defer cancel()
	g, err := d.Granter(ctx)
	if err != nil {
		return fail(RoleCheck, err.Error(), roleHint)
	}
	svc := d.probeService()
	// The config may allow the service no higher than view_only.
	level := policy.ReadOnly
	if d.Config.MaxLevels[svc] == policy.ViewOnly {
		level = policy.ViewOnly
	}
	access := []policy.Access{{Service: svc, Level: level}}
	// A probe is a grant like any other: where it would need a person's
	// approval, doctor does not make it.
	if d.Config.NeedsApproval(access) {
		return warn(RoleCheck, fmt.Sprintf("not probed: a %s %s grant needs a person's approval here (approval = %s)", svc, level, d.Config.ApprovalSetting()),
			fmt.Sprintf("test the role in a terminal: timebound-iam grant -s %s:%s -t 15m, then timebound-iam revoke it", svc, level))
	}
	s, err := g.Grant(ctx, grant.Request{
		Access: access,
		TTL:    config.MinTTL,
		Reason: "timebound-iam doctor: can the broker role be assumed",
		Client: "doctor",
	})
	if err != nil {
		return fail(RoleCheck, err.Error(), roleHint)
	}
	// The revoke touches only local files: let it finish even when the grant
	// used up the time.
	if _, err := g.Revoke(context.WithoutCancel(ctx), []string{s.ID}); err != nil {
		return fail(RoleCheck, fmt.Sprintf("granted %s, then could not revoke it: %v", s.Profile(), err),
			"run timebound-iam revoke "+s.Profile())
	}
	d.dropTombstone(s.ID)
	return ok(RoleCheck, fmt.Sprintf("assumed %s for a 15m %s %s grant and revoked it (its keys stay valid at AWS until %s)",
		d.Config.RoleARN, svc, level, s.Expires.UTC().Format(time.RFC3339)))
}

// probeService is the service of the role check's grant: the first allowed.
func (d *Doctor) probeService() string {
	if d.Config.STSDialect == policy.DialectMinIO || len(d.Config.Services) == 0 {
		return "s3"
	}
	return d.Config.Services[0]
}

// dropTombstone removes the role check's revoked profile, which nobody will
// ever run. A failure is harmless: prune removes it after a day.
func (d *Doctor) dropTombstone(id string) {
	if d.Profiles == nil {
		return
	}
	_ = d.Profiles.Update(func(set *profiles.Set) error {
		if e, ok := set.Get(id); ok && e.Status == profiles.Revoked {
			set.Remove(id)
		}
		return nil
	})
}

// RoleName is the IAM role name in a role ARN, without its path.
func RoleName(arn string) string {
	_, rest, _ := strings.Cut(arn, ":role/")
	return rest[strings.LastIndex(rest, "/")+1:]
}

func (d *Doctor) checkDuration(ctx context.Context) Check {
	cfg := d.Config
	if cfg.CheckRole() != nil {
		return skipped(DurationCheck, "no valid role_arn", ConfigCheck)
	}
	name := RoleName(cfg.RoleARN)
	compare := fmt.Sprintf("compare the role's maximum session duration (aws iam get-role --role-name %s) with max_ttl %s", name, config.ShortDuration(cfg.MaxTTL))
	ctx, cancel := d.bounded(ctx)
	defer cancel()
	client, err := d.IAM(ctx)
	if err != nil {
		return warn(DurationCheck, "cannot check: "+err.Error(), compare)
	}
	role, err := client.GetRole(ctx, name)
	if err != nil {
		var api smithy.APIError
		if errors.As(err, &api) && api.ErrorCode() == "AccessDenied" {
			return warn(DurationCheck, fmt.Sprintf("cannot check: the base credentials may not call iam:GetRole on %s", name),
				"allow iam:GetRole on the broker role to the base identity, or "+compare)
		}
		return warn(DurationCheck, fmt.Sprintf("cannot check: iam:GetRole on %s failed: %s", name, apiText(err)), compare)
	}
	// AWS's default when a role was created without one.
	limit := time.Hour
	if role.MaxSessionDuration > 0 {
		limit = role.MaxSessionDuration
	}
	if cfg.MaxTTL > limit {
		return warn(DurationCheck,
			fmt.Sprintf("role %s allows sessions up to %s, below max_ttl %s: longer grants will fail", name, config.ShortDuration(limit), config.ShortDuration(cfg.MaxTTL)),
			fmt.Sprintf("lower max_ttl to %s in %s, or raise the role's limit: aws iam update-role --role-name %s --max-session-duration %d",
				config.ShortDuration(limit), cfg.ConfigFile(), name, int(cfg.MaxTTL/time.Second)))
	}
	return ok(DurationCheck, fmt.Sprintf("role %s allows sessions up to %s; max_ttl %s fits", name, config.ShortDuration(limit), config.ShortDuration(cfg.MaxTTL)))
}
