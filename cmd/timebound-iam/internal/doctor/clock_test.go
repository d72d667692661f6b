package doctor

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/timebound-iam/timebound-iam/grant/config"
)

func TestClockSkew(t *testing.T) {
	serverTime := time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC)
	tests := []struct {
		name         string
		offset       time.Duration // local minus server
		handler      http.HandlerFunc
		status       Status
		detail, hint string
	}{
		{name: "in step", status: OK, detail: "the local clock is within 1s of STS (127.0.0.1:"},
		{name: "30s ahead", offset: 30 * time.Second, status: OK, detail: "the local clock is 30s ahead of STS"},
		{
			name: "90s behind", offset: -90 * time.Second,
			status: Warn, detail: "the local clock is 1m30s behind STS", hint: "before it drifts past 5 minutes",
		},
		{
			name: "6m ahead", offset: 6 * time.Minute,
			status: Fail, detail: "the local clock is 6m ahead of STS", hint: "AWS rejects requests signed more than 5 minutes off",
		},
		{
			name: "redirect is not followed", offset: 2 * time.Minute,
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Date", serverTime.Format(http.TimeFormat))
				http.Redirect(w, r, "http://127.0.0.1:1/", http.StatusFound)
			},
			status: Warn, detail: "the local clock is 2m ahead of STS",
			hint: "sync the clock with NTP",
		},
		{
			name:    "no Date header",
			handler: func(w http.ResponseWriter, r *http.Request) { w.Header()["Date"] = nil },
			status:  Warn, detail: "cannot check: 127.0.0.1:", hint: "is reachable",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.handler
			if h == nil {
				h = func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Date", serverTime.Format(http.TimeFormat))
					w.WriteHeader(http.StatusForbidden)
				}
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			d := healthy(t)
			d.ClockURL = srv.URL
			// Date is truncated to the second: the server read its clock half
			// a second past it on average.
			d.Now = func() time.Time { return serverTime.Add(500*time.Millisecond + tt.offset) }
			want(t, run(t, d, ClockCheck), tt.status, tt.detail, tt.hint)
		})
	}

	t.Run("unreachable", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		d := healthy(t)
		d.ClockURL = srv.URL
		want(t, run(t, d, ClockCheck), Warn, "cannot check: Get \""+srv.URL, "check that "+srv.URL+" is reachable")
	})
}

func TestIsAWS(t *testing.T) {
	tests := []struct {
		url  string
		want bool
	}{
		{"", true},
		{"https://sts.us-east-1.amazonaws.com", true},
		{"https://vpce-0abc-xyz.sts.eu-west-1.vpce.amazonaws.com", true},
		{"https://sts.cn-north-1.amazonaws.com.cn", true},
		{"https://sts.us-east-1.api.aws", true},
		{"http://127.0.0.1:9000", false},
		{"https://minio.example.com", false},
		{"https://amazonaws.com.evil.example", false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			if got := IsAWS(tt.url); got != tt.want {
				t.Errorf("IsAWS(%q) = %v, want %v", tt.url, got, tt.want)
			}
		})
	}
}

func TestSTSURL(t *testing.T) {
	tests := []struct {
		name, region, endpoint, want string
	}{
		{"regional", "eu-west-1", "", "https://sts.eu-west-1.amazonaws.com"},
		{"us-east-1 is regional too", "us-east-1", "", "https://sts.us-east-1.amazonaws.com"},
		{"china", "cn-north-1", "", "https://sts.cn-north-1.amazonaws.com.cn"},
		{"sts_endpoint", "us-east-1", "http://127.0.0.1:9000", "http://127.0.0.1:9000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := STSURL(config.Config{Region: tt.region, STSEndpoint: tt.endpoint})
			if got != tt.want {
				t.Errorf("STSURL = %q, want %q", got, tt.want)
			}
		})
	}
}
