package awsiam

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
)

// TestClientAgainstMoto drives every call of Client against moto_server
// with its signature and policy checks on, and reads back with
// aws-sdk-go-v2's own IAM client: moto accepts the requests only if SigV4
// signed them right, and the SDK sees what the calls wrote.
func TestClientAgainstMoto(t *testing.T) {
	// The first three requests (the SDK's, below) make a user with keys and
	// an iam:* policy; moto checks every request after them.
	moto, err := granttest.StartMoto(t.TempDir(), "INITIAL_NO_AUTH_ACTION_COUNT=3")
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { moto.Close() })
	ctx := context.Background()
	sdkFor := func(creds aws.CredentialsProvider) *iam.Client {
		return iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(moto.URL), Credentials: creds})
	}
	admin := sdkFor(credentials.NewStaticCredentialsProvider("AKIAFAKEFAKEFAKE", "fake", ""))
	if _, err := admin.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("dev")}); err != nil {
		t.Fatal(err)
	}
	key, err := admin.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("dev")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("dev"), PolicyName: aws.String("all"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	devCreds := credentials.NewStaticCredentialsProvider(aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey), "")
	sdk := sdkFor(devCreds)
	client := func(creds aws.CredentialsProvider) *Client {
		c, err := NewFromConfig(ctx, aws.Config{Region: "eu-west-1", BaseEndpoint: aws.String(moto.URL), Credentials: creds})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := client(devCreds)

	// A document with what percent-encoding and form-encoding treat
	// specially: spaces, a literal +, %, &, = and non-ASCII.
	trust := `{"Version":"2012-10-17","Statement":[{"Sid":"a+b c%d&e=f","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/dev"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalTag/team":"données +1"}}}]}`
	created, err := c.CreateRole(ctx, NewRole{Name: "broker", TrustPolicy: trust, Description: "the broker", MaxSessionDuration: 2 * time.Hour})
	if err != nil {
		t.Fatalf("CreateRole: %v", err)
	}
	if created.Name != "broker" || created.ARN != "arn:aws:iam::123456789012:role/broker" || created.MaxSessionDuration != 2*time.Hour {
		t.Errorf("CreateRole = %+v", created)
	}
	sdkRole, err := sdk.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("broker")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(sdkRole.Role.Description); got != "the broker" {
		t.Errorf("description as the SDK reads it = %q", got)
	}
	got, err := c.GetRole(ctx, "broker")
	if err != nil {
		t.Fatalf("GetRole: %v", err)
	}
	if got.TrustPolicy != trust || got.ARN != created.ARN || got.MaxSessionDuration != 2*time.Hour || got.PermissionsBoundary != "" {
		t.Errorf("GetRole = %+v\nwant the trust policy %s", got, trust)
	}

	if err := c.UpdateRole(ctx, "broker", 12*time.Hour); err != nil {
		t.Fatalf("UpdateRole: %v", err)
	}
	newTrust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`
	if err := c.UpdateAssumeRolePolicy(ctx, "broker", newTrust); err != nil {
		t.Fatalf("UpdateAssumeRolePolicy: %v", err)
	}
	if got, err := c.GetRole(ctx, "broker"); err != nil || got.MaxSessionDuration != 12*time.Hour || !sameJSON(got.TrustPolicy, newTrust) {
		t.Errorf("after the updates, GetRole = %+v, %v", got, err)
	}

	// Inline policies: one with the special characters, read back by both
	// clients exactly, and enough of them to take three pages of two.
	perm := `{"Version":"2012-10-17","Statement":[{"Sid":"x","Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::a+b/c d%20é"}]}`
	names := []string{"p1", "p2", "p3", "p4", "p5"}
	for _, n := range names {
		if err := c.PutRolePolicy(ctx, "broker", n, perm); err != nil {
			t.Fatalf("PutRolePolicy %s: %v", n, err)
		}
	}
	if doc, err := c.GetRolePolicy(ctx, "broker", "p3"); err != nil || doc != perm {
		t.Errorf("GetRolePolicy = %q, %v\nwant %q", doc, err, perm)
	}
	inline, err := c.ListRolePolicies(ctx, "broker")
	if err != nil || !slices.Equal(inline, names) {
		t.Errorf("ListRolePolicies = %v, %v; want %v", inline, err, names)
	}
	var want []AttachedPolicy
	for _, n := range []string{"m1", "m2", "m3"} {
		p, err := sdk.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(n), PolicyDocument: aws.String(perm)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sdk.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("broker"), PolicyArn: p.Policy.Arn}); err != nil {
			t.Fatal(err)
		}
		want = append(want, AttachedPolicy{Name: n, ARN: aws.ToString(p.Policy.Arn)})
	}
	if _, err := sdk.PutRolePermissionsBoundary(ctx, &iam.PutRolePermissionsBoundaryInput{RoleName: aws.String("broker"), PermissionsBoundary: aws.String(want[0].ARN)}); err != nil {
		t.Fatal(err)
	}
	attached, err := c.ListAttachedRolePolicies(ctx, "broker")
	if err != nil || !slices.Equal(attached, want) {
		t.Errorf("ListAttachedRolePolicies = %v, %v; want %v", attached, err, want)
	}
	if got, err := c.GetRole(ctx, "broker"); err != nil || got.PermissionsBoundary != want[0].ARN {
		t.Errorf("GetRole's permissions boundary = %q, %v; want %s", got.PermissionsBoundary, err, want[0].ARN)
	}

	t.Run("no such role", func(t *testing.T) {
		_, err := c.GetRole(ctx, "nobody")
		if !IsNoSuchEntity(err) {
			t.Fatalf("GetRole(nobody) = %v, want NoSuchEntity", err)
		}
		_, err = c.GetRolePolicy(ctx, "broker", "none")
		if !IsNoSuchEntity(err) {
			t.Fatalf("GetRolePolicy(none) = %v, want NoSuchEntity", err)
		}
	})
	t.Run("wrong secret", func(t *testing.T) {
		bad := client(credentials.NewStaticCredentialsProvider(aws.ToString(key.AccessKey.AccessKeyId), "wrong", ""))
		_, err := bad.GetRole(ctx, "broker")
		var api smithy.APIError
		if !errors.As(err, &api) || api.ErrorCode() != "SignatureDoesNotMatch" {
			t.Fatalf("GetRole with a wrong secret = %v, want SignatureDoesNotMatch", err)
		}
	})
}

// TestClientPages: the List calls follow IAM's Marker until IsTruncated is
// false. moto answers in one page whatever MaxItems says, so IAM's pages
// come from a server here, in the shape IAM's API reference gives.
func TestClientPages(t *testing.T) {
	pages := map[string]string{
		"":    `<IsTruncated>true</IsTruncated><Marker>m-1</Marker>`,
		"m-1": `<IsTruncated>true</IsTruncated><Marker>m-2</Marker>`,
		"m-2": `<IsTruncated>false</IsTruncated>`,
	}
	var markers []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		m := r.Form.Get("Marker")
		markers = append(markers, m)
		if r.Form.Get("MaxItems") != "2" || r.Form.Get("RoleName") != "broker" {
			t.Errorf("form = %v", r.Form)
		}
		switch r.Form.Get("Action") {
		case "ListRolePolicies":
			fmt.Fprintf(w, `<ListRolePoliciesResponse><ListRolePoliciesResult><PolicyNames><member>a%s</member><member>b%s</member></PolicyNames>%s</ListRolePoliciesResult></ListRolePoliciesResponse>`, m, m, pages[m])
		case "ListAttachedRolePolicies":
			fmt.Fprintf(w, `<ListAttachedRolePoliciesResponse><ListAttachedRolePoliciesResult><AttachedPolicies><member><PolicyName>p%s</PolicyName><PolicyArn>arn:aws:iam::aws:policy/p%s</PolicyArn></member></AttachedPolicies>%s</ListAttachedRolePoliciesResult></ListAttachedRolePoliciesResponse>`, m, m, pages[m])
		}
	}))
	defer srv.Close()
	c, err := NewFromConfig(context.Background(), aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIAFAKEFAKEFAKE", "fake", "")})
	if err != nil {
		t.Fatal(err)
	}
	c.pageSize = 2
	names, err := c.ListRolePolicies(context.Background(), "broker")
	if want := []string{"a", "b", "am-1", "bm-1", "am-2", "bm-2"}; err != nil || !slices.Equal(names, want) {
		t.Errorf("ListRolePolicies = %v, %v; want %v", names, err, want)
	}
	attached, err := c.ListAttachedRolePolicies(context.Background(), "broker")
	if want := []AttachedPolicy{{"p", "arn:aws:iam::aws:policy/p"}, {"pm-1", "arn:aws:iam::aws:policy/pm-1"}, {"pm-2", "arn:aws:iam::aws:policy/pm-2"}}; err != nil || !slices.Equal(attached, want) {
		t.Errorf("ListAttachedRolePolicies = %v, %v; want %v", attached, err, want)
	}
	if want := []string{"", "m-1", "m-2", "", "m-1", "m-2"}; !slices.Equal(markers, want) {
		t.Errorf("markers sent = %q, want %q", markers, want)
	}
}

// TestClientErrors: IAM's XML errors become the SDK's error chain, with the
// code, message and request id; throttling and 5xx are retried as the SDK's
// standard retryer says, and nothing else is.
func TestClientErrors(t *testing.T) {
	tests := []struct {
		name     string
		statuses []int
		code     string
		wantErr  string
		wantReqs int32
	}{
		{"denied, not retried", []int{403}, "AccessDenied",
			"operation error IAM: GetRole, https response error StatusCode: 403, RequestID: req-1, api error AccessDenied: not authorized", 1},
		{"throttled, then fine", []int{400, 200}, "Throttling", "", 2},
		{"unavailable, then fine", []int{503, 200}, "ServiceUnavailable", "", 2},
		{"throttled every time", []int{400, 400, 400, 400}, "Throttling",
			"operation error IAM: GetRole, https response error StatusCode: 400, RequestID: req-3, api error Throttling: not authorized", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var reqs atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := reqs.Add(1)
				if err := r.ParseForm(); err != nil || r.Form.Get("Action") != "GetRole" || r.Form.Get("RoleName") != "broker" || r.Form.Get("Version") != "2010-05-08" {
					t.Errorf("request form = %v, %v", r.Form, err)
				}
				if ua := r.Header.Get("User-Agent"); ua != "timebound-iam" {
					t.Errorf("User-Agent = %q", ua)
				}
				if !authRE.MatchString(r.Header.Get("Authorization")) {
					t.Errorf("Authorization = %q", r.Header.Get("Authorization"))
				}
				status := tt.statuses[min(int(n), len(tt.statuses))-1]
				w.Header().Set("X-Amzn-Requestid", fmt.Sprintf("req-%d", n))
				w.WriteHeader(status)
				if status == 200 {
					fmt.Fprint(w, `<GetRoleResponse><GetRoleResult><Role><RoleName>broker</RoleName><Arn>arn:aws:iam::123456789012:role/broker</Arn><MaxSessionDuration>3600</MaxSessionDuration></Role></GetRoleResult></GetRoleResponse>`)
					return
				}
				fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>not authorized</Message></Error><RequestId>body-id</RequestId></ErrorResponse>`, tt.code)
			}))
			defer srv.Close()
			c, err := NewFromConfig(context.Background(), aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
				Credentials: credentials.NewStaticCredentialsProvider("AKIAFAKEFAKEFAKE", "fake", "")})
			if err != nil {
				t.Fatal(err)
			}
			// The SDK's backoff, without its wait.
			c.retryer = noDelay{c.retryer}
			role, err := c.GetRole(context.Background(), "broker")
			if tt.wantErr == "" {
				if err != nil || role.ARN != "arn:aws:iam::123456789012:role/broker" {
					t.Errorf("GetRole = %+v, %v", role, err)
				}
			} else if err == nil || err.Error() != tt.wantErr {
				t.Errorf("GetRole error = %v\nwant %s", err, tt.wantErr)
			}
			if n := reqs.Load(); n != tt.wantReqs {
				t.Errorf("%d requests, want %d", n, tt.wantReqs)
			}
		})
	}
}

type noDelay struct{ aws.Retryer }

func (noDelay) RetryDelay(int, error) (time.Duration, error) { return 0, nil }

// authRE is a SigV4 Authorization header for IAM in us-east-1 that signs the
// body's content type.
var authRE = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=AKIAFAKEFAKEFAKE/\d{8}/us-east-1/iam/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-date, Signature=[0-9a-f]{64}$`)

// TestClientEndpoints: the endpoint and signing region follow the region's
// partition, FIPS settings and endpoint overrides as aws-sdk-go-v2's
// service/iam resolves them, which the test asks.
func TestClientEndpoints(t *testing.T) {
	tests := []struct {
		region, fips, iamURL, globalURL string
		want, signing                   string
	}{
		{region: "us-east-1", want: "https://iam.amazonaws.com", signing: "us-east-1"},
		{region: "eu-central-2", want: "https://iam.amazonaws.com", signing: "us-east-1"},
		{region: "eu-central-2", fips: "true", want: "https://iam-fips.amazonaws.com", signing: "us-east-1"},
		{region: "cn-northwest-1", want: "https://iam.cn-north-1.amazonaws.com.cn", signing: "cn-north-1"},
		{region: "us-gov-east-1", want: "https://iam.us-gov.amazonaws.com", signing: "us-gov-west-1"},
		{region: "us-gov-east-1", fips: "true", want: "https://iam.us-gov.amazonaws.com", signing: "us-gov-west-1"},
		{region: "us-iso-west-1", want: "https://iam.us-iso-east-1.c2s.ic.gov", signing: "us-iso-east-1"},
		{region: "us-isob-east-1", want: "https://iam.us-isob-east-1.sc2s.sgov.gov", signing: "us-isob-east-1"},
		{region: "eu-isoe-west-1", want: "https://iam.eu-isoe-west-1.cloud.adc-e.uk", signing: "eu-isoe-west-1"},
		{region: "us-isof-south-1", want: "https://iam.us-isof-south-1.csp.hci.ic.gov", signing: "us-isof-south-1"},
		{region: "eusc-de-east-1", want: "https://iam.eusc-de-east-1.amazonaws.eu", signing: "eusc-de-east-1"},
		{region: "us-east-1", iamURL: "http://127.0.0.1:5000", want: "http://127.0.0.1:5000", signing: "us-east-1"},
		{region: "us-east-1", globalURL: "http://127.0.0.1:6000", want: "http://127.0.0.1:6000", signing: "us-east-1"},
		{region: "us-east-1", iamURL: "http://127.0.0.1:5000", globalURL: "http://127.0.0.1:6000", want: "http://127.0.0.1:5000", signing: "us-east-1"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s fips=%s iam=%s global=%s", tt.region, tt.fips, tt.iamURL, tt.globalURL), func(t *testing.T) {
			for _, k := range []string{"AWS_USE_FIPS_ENDPOINT", "AWS_ENDPOINT_URL_IAM", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"} {
				t.Setenv(k, "")
			}
			t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
			set := func(k, v string) {
				if v != "" {
					t.Setenv(k, v)
				}
			}
			set("AWS_USE_FIPS_ENDPOINT", tt.fips)
			set("AWS_ENDPOINT_URL_IAM", tt.iamURL)
			set("AWS_ENDPOINT_URL", tt.globalURL)
			ctx := context.Background()
			awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(tt.region),
				awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIAFAKEFAKEFAKE", "fake", "")))
			if err != nil {
				t.Fatal(err)
			}
			c, err := NewFromConfig(ctx, awsCfg)
			if err != nil {
				t.Fatal(err)
			}
			if c.endpoint != tt.want || c.signingRegion != tt.signing || c.Custom() != (tt.iamURL != "" || tt.globalURL != "") {
				t.Errorf("endpoint %s, signing region %s, custom %v; want %s, %s", c.endpoint, c.signingRegion, c.Custom(), tt.want, tt.signing)
			}
			// service/iam agrees on the URL and the region it signs in.
			sdkReq := &requestCatcher{}
			sdk := iam.NewFromConfig(awsCfg, func(o *iam.Options) {
				o.HTTPClient = sdkReq
				o.RetryMaxAttempts = 1
			})
			_, _ = sdk.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("broker")})
			if sdkReq.url != tt.want+"/" && sdkReq.url != tt.want {
				t.Errorf("service/iam sends to %s, Client to %s", sdkReq.url, c.endpoint)
			}
			if want := "/" + c.signingRegion + "/iam/aws4_request"; !strings.Contains(sdkReq.auth, want) {
				t.Errorf("service/iam signs with %s, Client with scope %s", sdkReq.auth, want)
			}
		})
	}
}

// requestCatcher records the URL and Authorization header of the request it
// is given, and fails it.
type requestCatcher struct{ url, auth string }

func (c *requestCatcher) Do(r *http.Request) (*http.Response, error) {
	c.url, c.auth = r.URL.String(), r.Header.Get("Authorization")
	return nil, errors.New("not sent")
}
