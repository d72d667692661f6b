package doctor

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/timebound-iam/timebound-iam/grant/awsiam"
	"github.com/timebound-iam/timebound-iam/grant/config"
)

// Clock skew limits: SigV4 rejects requests signed more than 5 minutes off.
const (
	SkewWarn = time.Minute
	SkewFail = 5 * time.Minute
)

func (d *Doctor) checkClock(ctx context.Context) Check {
	ctx, cancel := d.bounded(ctx)
	defer cancel()
	host := d.ClockURL
	if u, err := url.Parse(d.ClockURL); err == nil && u.Host != "" {
		host = u.Host
	}
	reach := fmt.Sprintf("check that %s is reachable (region, sts_endpoint)", d.ClockURL)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.ClockURL, nil)
	if err != nil {
		return warn(ClockCheck, "cannot check: "+err.Error(), reach)
	}
	client := d.HTTP
	if client == nil {
		client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	before := d.now()
	resp, err := client.Do(req)
	after := d.now()
	if err != nil {
		return warn(ClockCheck, "cannot check: "+err.Error(), reach)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	date, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		return warn(ClockCheck, fmt.Sprintf("cannot check: %s sent no usable Date header", host), reach)
	}
	// Date has whole seconds, truncated: the server's clock read somewhere
	// in the second after it, and ours somewhere during the round trip.
	local := before.Add(after.Sub(before) / 2)
	skew := local.Sub(date.Add(500 * time.Millisecond)).Round(time.Second)
	off := skew.Abs()
	way := "ahead of"
	if skew < 0 {
		way = "behind"
	}
	detail := fmt.Sprintf("the local clock is %s %s STS (%s)", config.ShortDuration(off), way, host)
	switch {
	case off > SkewFail:
		return fail(ClockCheck, detail, "sync the clock with NTP (e.g. sudo timedatectl set-ntp true): AWS rejects requests signed more than 5 minutes off")
	case off > SkewWarn:
		return warn(ClockCheck, detail, "sync the clock with NTP (e.g. sudo timedatectl set-ntp true) before it drifts past 5 minutes, when AWS rejects every signed request")
	case off <= time.Second:
		return ok(ClockCheck, fmt.Sprintf("the local clock is within 1s of STS (%s)", host))
	}
	return ok(ClockCheck, detail)
}

// STSURL is the STS endpoint of cfg: sts_endpoint, else AWS's regional one.
func STSURL(cfg config.Config) string {
	if cfg.STSEndpoint != "" {
		return cfg.STSEndpoint
	}
	ep, err := sts.NewDefaultEndpointResolverV2().ResolveEndpoint(context.Background(),
		sts.EndpointParameters{Region: aws.String(cfg.Region)}.WithDefaults())
	if err != nil {
		return "https://sts." + cfg.Region + ".amazonaws.com"
	}
	return ep.URI.String()
}

// IsAWS reports whether an endpoint URL is AWS's own (a VPC endpoint
// included), rather than MinIO, an emulator or a stand-in. Empty means AWS.
func IsAWS(endpoint string) bool { return awsiam.IsAWSEndpoint(endpoint) }
