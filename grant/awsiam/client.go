package awsiam

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/timebound-iam/timebound-iam/grant/config"
)

// Client calls the eight IAM actions timebound-iam uses, through IAM's
// Query API, signed by aws-sdk-go-v2's SigV4 signer with the base
// credentials. It stands in for aws-sdk-go-v2's service/iam, whose package
// initialisation (a schema for every IAM shape, and an endpoint table) would
// run on every credential_process call of this binary: about 4 ms and 640 KB
// there, where IAM is never called.
//
// Errors are the SDK's: a [*smithy.OperationError] around an
// [*awshttp.ResponseError] around a [*smithy.GenericAPIError] with IAM's code,
// so errors.As(err, &smithy.APIError) reads the code as it would from
// service/iam.
type Client struct {
	endpoint string
	// custom says that the endpoint was set by the user (AWS_ENDPOINT_URL_IAM,
	// AWS_ENDPOINT_URL, or the shared config's services section) rather than
	// derived from the region.
	custom bool
	// signingRegion is the region IAM's endpoint signs in: IAM is global
	// within a partition.
	signingRegion string
	creds         aws.CredentialsProvider
	http          aws.HTTPClient
	retryer       aws.Retryer
	signer        *v4.Signer
	// pageSize is MaxItems of the List calls; 0 leaves IAM's default (100).
	pageSize int
}

// Role is what the IAM calls return of a role.
type Role struct {
	Name string
	ARN  string
	// TrustPolicy is the role's trust policy document, URL-decoded.
	TrustPolicy        string
	MaxSessionDuration time.Duration
	// PermissionsBoundary is the ARN of the role's permissions boundary,
	// empty without one.
	PermissionsBoundary string
}

// AttachedPolicy is a managed policy attached to a role.
type AttachedPolicy struct{ Name, ARN string }

// NewRole is the role [Client.CreateRole] creates.
type NewRole struct {
	Name, TrustPolicy, Description string
	MaxSessionDuration             time.Duration
}

// NewClient returns an IAM client signed with the base credentials.
func NewClient(ctx context.Context, cfg config.Config) (*Client, error) {
	awsCfg, err := cfg.BaseAWS(ctx)
	if err != nil {
		return nil, err
	}
	return NewFromConfig(ctx, awsCfg)
}

// endpointOf is IAM's endpoint in one partition, chosen by region prefix.
type endpointOf struct {
	prefix, url, fips, signingRegion string
}

// partitions are IAM's endpoints as aws-sdk-go-v2's service/iam resolves
// them without dual-stack; the first whose prefix the region has wins, and
// the last, the aws partition, takes every other region.
var partitions = []endpointOf{
	{"cn-", "https://iam.cn-north-1.amazonaws.com.cn", "https://iam-fips.amazonaws.com.cn", "cn-north-1"},
	{"us-gov-", "https://iam.us-gov.amazonaws.com", "https://iam.us-gov.amazonaws.com", "us-gov-west-1"},
	{"us-isob-", "https://iam.us-isob-east-1.sc2s.sgov.gov", "https://iam-fips.us-isob-east-1.sc2s.sgov.gov", "us-isob-east-1"},
	{"us-isof-", "https://iam.us-isof-south-1.csp.hci.ic.gov", "https://iam-fips.csp.hci.ic.gov", "us-isof-south-1"},
	{"us-iso-", "https://iam.us-iso-east-1.c2s.ic.gov", "https://iam-fips.us-iso-east-1.c2s.ic.gov", "us-iso-east-1"},
	{"eu-isoe-", "https://iam.eu-isoe-west-1.cloud.adc-e.uk", "https://iam-fips.cloud.adc-e.uk", "eu-isoe-west-1"},
	{"eusc-", "https://iam.eusc-de-east-1.amazonaws.eu", "https://iam-fips.amazonaws.eu", "eusc-de-east-1"},
	{"", "https://iam.amazonaws.com", "https://iam-fips.amazonaws.com", "us-east-1"},
}

// NewFromConfig returns an IAM client for awsCfg's credentials, region,
// endpoint settings, HTTP client and retry limit.
func NewFromConfig(ctx context.Context, awsCfg aws.Config) (*Client, error) {
	c := &Client{creds: awsCfg.Credentials, http: awsCfg.HTTPClient, signer: v4.NewSigner()}
	if c.http == nil {
		c.http = awshttp.NewBuildableClient()
	}
	c.retryer = retry.NewStandard(func(o *retry.StandardOptions) {
		if awsCfg.RetryMaxAttempts > 0 {
			o.MaxAttempts = awsCfg.RetryMaxAttempts
		}
	})
	var p endpointOf
	for _, p = range partitions {
		if strings.HasPrefix(awsCfg.Region, p.prefix) {
			break
		}
	}
	c.signingRegion = p.signingRegion
	c.endpoint = p.url
	if useFIPS(ctx, awsCfg.ConfigSources) {
		c.endpoint = p.fips
	}
	if e, ok := baseEndpoint(ctx, awsCfg); ok {
		c.endpoint, c.custom = e, true
	}
	if c.creds == nil {
		return nil, errors.New("no AWS credentials for IAM")
	}
	return c, nil
}

// baseEndpoint is the endpoint the user set for IAM, as service/iam reads it:
// AWS_ENDPOINT_URL_IAM or the shared config's services section, else
// AWS_ENDPOINT_URL (aws.Config.BaseEndpoint).
func baseEndpoint(ctx context.Context, awsCfg aws.Config) (string, bool) {
	_, global := os.LookupEnv("AWS_ENDPOINT_URL")
	_, own := os.LookupEnv("AWS_ENDPOINT_URL_IAM")
	if !global || own {
		for _, src := range awsCfg.ConfigSources {
			p, ok := src.(interface {
				GetServiceBaseEndpoint(context.Context, string) (string, bool, error)
			})
			if !ok {
				continue
			}
			if e, found, err := p.GetServiceBaseEndpoint(ctx, "IAM"); found && err == nil {
				return e, true
			}
		}
	}
	if awsCfg.BaseEndpoint != nil {
		return *awsCfg.BaseEndpoint, true
	}
	return "", false
}

// useFIPS reports whether the configuration asks for FIPS endpoints
// (AWS_USE_FIPS_ENDPOINT, use_fips_endpoint).
func useFIPS(ctx context.Context, sources []any) bool {
	for _, src := range sources {
		p, ok := src.(interface {
			GetUseFIPSEndpoint(context.Context) (aws.FIPSEndpointState, bool, error)
		})
		if !ok {
			continue
		}
		if v, found, err := p.GetUseFIPSEndpoint(ctx); found && err == nil {
			return v == aws.FIPSEndpointStateEnabled
		}
	}
	return false
}

// Custom reports whether the endpoint was set by the user rather than
// derived from the region: only then can IAM be something other than AWS's.
func (c *Client) Custom() bool { return c.custom }

// GetRole reads role name.
func (c *Client) GetRole(ctx context.Context, name string) (Role, error) {
	var out struct {
		Role xmlRole `xml:"GetRoleResult>Role"`
	}
	err := c.callXML(ctx, "GetRole", url.Values{"RoleName": {name}}, &out)
	return out.Role.role(), err
}

// CreateRole creates a role.
func (c *Client) CreateRole(ctx context.Context, r NewRole) (Role, error) {
	in := url.Values{"RoleName": {r.Name}, "AssumeRolePolicyDocument": {r.TrustPolicy}}
	if r.Description != "" {
		in.Set("Description", r.Description)
	}
	if r.MaxSessionDuration > 0 {
		in.Set("MaxSessionDuration", strconv.Itoa(int(r.MaxSessionDuration/time.Second)))
	}
	var out struct {
		Role xmlRole `xml:"CreateRoleResult>Role"`
	}
	err := c.callXML(ctx, "CreateRole", in, &out)
	return out.Role.role(), err
}

// UpdateAssumeRolePolicy replaces the trust policy of role name.
func (c *Client) UpdateAssumeRolePolicy(ctx context.Context, name, doc string) error {
	_, err := c.call(ctx, "UpdateAssumeRolePolicy", url.Values{"RoleName": {name}, "PolicyDocument": {doc}})
	return err
}

// UpdateRole sets the maximum session duration of role name.
func (c *Client) UpdateRole(ctx context.Context, name string, maxSession time.Duration) error {
	_, err := c.call(ctx, "UpdateRole", url.Values{"RoleName": {name}, "MaxSessionDuration": {strconv.Itoa(int(maxSession / time.Second))}})
	return err
}

// GetRolePolicy reads the inline policy policyName of role, URL-decoded.
func (c *Client) GetRolePolicy(ctx context.Context, role, policyName string) (string, error) {
	var out struct {
		Doc string `xml:"GetRolePolicyResult>PolicyDocument"`
	}
	err := c.callXML(ctx, "GetRolePolicy", url.Values{"RoleName": {role}, "PolicyName": {policyName}}, &out)
	return policyText(out.Doc), err
}

// PutRolePolicy writes the inline policy policyName of role.
func (c *Client) PutRolePolicy(ctx context.Context, role, policyName, doc string) error {
	_, err := c.call(ctx, "PutRolePolicy", url.Values{"RoleName": {role}, "PolicyName": {policyName}, "PolicyDocument": {doc}})
	return err
}

// ListRolePolicies lists the names of role's inline policies, every page.
func (c *Client) ListRolePolicies(ctx context.Context, role string) ([]string, error) {
	var names []string
	err := c.pages(ctx, "ListRolePolicies", role, func(body []byte) (bool, string, error) {
		var out struct {
			Names     []string `xml:"ListRolePoliciesResult>PolicyNames>member"`
			Truncated bool     `xml:"ListRolePoliciesResult>IsTruncated"`
			Marker    string   `xml:"ListRolePoliciesResult>Marker"`
		}
		err := xml.Unmarshal(body, &out)
		names = append(names, out.Names...)
		return out.Truncated, out.Marker, err
	})
	return names, err
}

// ListAttachedRolePolicies lists the managed policies attached to role,
// every page.
func (c *Client) ListAttachedRolePolicies(ctx context.Context, role string) ([]AttachedPolicy, error) {
	var policies []AttachedPolicy
	err := c.pages(ctx, "ListAttachedRolePolicies", role, func(body []byte) (bool, string, error) {
		var out struct {
			Policies []struct {
				Name string `xml:"PolicyName"`
				ARN  string `xml:"PolicyArn"`
			} `xml:"ListAttachedRolePoliciesResult>AttachedPolicies>member"`
			Truncated bool   `xml:"ListAttachedRolePoliciesResult>IsTruncated"`
			Marker    string `xml:"ListAttachedRolePoliciesResult>Marker"`
		}
		err := xml.Unmarshal(body, &out)
		for _, p := range out.Policies {
			policies = append(policies, AttachedPolicy(p))
		}
		return out.Truncated, out.Marker, err
	})
	return policies, err
}

// pages calls a List action on role until IAM says the list is complete,
// passing each response body to read, which returns the page's IsTruncated
// and Marker.
func (c *Client) pages(ctx context.Context, action, role string, read func([]byte) (truncated bool, marker string, err error)) error {
	in := url.Values{"RoleName": {role}}
	if c.pageSize > 0 {
		in.Set("MaxItems", strconv.Itoa(c.pageSize))
	}
	for {
		body, err := c.call(ctx, action, in)
		if err != nil {
			return err
		}
		more, marker, err := read(body)
		if err != nil {
			return opError(action, fmt.Errorf("decoding the response: %w", err))
		}
		if !more || marker == "" {
			return nil
		}
		in.Set("Marker", marker)
	}
}

// xmlError is the Error element of IAM's ErrorResponse.
type xmlError struct {
	Type    string `xml:"Type"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

type xmlRole struct {
	Name                string `xml:"RoleName"`
	ARN                 string `xml:"Arn"`
	TrustPolicy         string `xml:"AssumeRolePolicyDocument"`
	MaxSessionDuration  int    `xml:"MaxSessionDuration"`
	PermissionsBoundary string `xml:"PermissionsBoundary>PermissionsBoundaryArn"`
}

func (r xmlRole) role() Role {
	return Role{Name: r.Name, ARN: r.ARN, TrustPolicy: policyText(r.TrustPolicy),
		MaxSessionDuration: time.Duration(r.MaxSessionDuration) * time.Second, PermissionsBoundary: r.PermissionsBoundary}
}

// policyText is a policy document as IAM returns it, URL-decoded. IAM
// percent-encodes the documents it returns (RFC 3986: a literal + stays as
// it is, so a foreign statement comes back unchanged); some emulators do not.
func policyText(s string) string {
	if s == "" || json.Valid([]byte(s)) {
		return s
	}
	if d, err := url.PathUnescape(s); err == nil {
		return d
	}
	return s
}

// userAgent names this tool in IAM's request logs.
const userAgent = "timebound-iam"

// maxResponse bounds what is read of an IAM response: the largest, a role
// policy, is at most 10,240 characters, percent-encoded.
const maxResponse = 1 << 20

// callXML is [Client.call], with the response's XML decoded into out.
func (c *Client) callXML(ctx context.Context, action string, params url.Values, out any) error {
	body, err := c.call(ctx, action, params)
	if err != nil {
		return err
	}
	if err := xml.Unmarshal(body, out); err != nil {
		return opError(action, fmt.Errorf("decoding the response: %w", err))
	}
	return nil
}

// call sends action with its parameters, retrying as the SDK's standard
// retryer says, and returns the response body.
func (c *Client) call(ctx context.Context, action string, params url.Values) ([]byte, error) {
	form := url.Values{"Action": {action}, "Version": {"2010-05-08"}}
	for k, v := range params {
		form[k] = v
	}
	body := form.Encode()
	for attempt := 1; ; attempt++ {
		resp, err := c.send(ctx, body)
		if err == nil {
			return resp, nil
		}
		if attempt >= c.retryer.MaxAttempts() || !c.retryer.IsErrorRetryable(err) {
			return nil, opError(action, err)
		}
		delay, derr := c.retryer.RetryDelay(attempt, err)
		if derr != nil {
			return nil, opError(action, err)
		}
		select {
		case <-ctx.Done():
			return nil, opError(action, ctx.Err())
		case <-time.After(delay):
		}
	}
}

// send signs and posts one request; an error is a transport error or IAM's.
func (c *Client) send(ctx context.Context, body string) ([]byte, error) {
	creds, err := c.creds.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("failed to refresh cached credentials, %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	// CloudTrail records it as the calls' userAgent.
	req.Header.Set("User-Agent", userAgent)
	sum := sha256.Sum256([]byte(body))
	if err := c.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "iam", c.signingRegion, time.Now().UTC()); err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &smithyhttp.RequestSendError{Err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, &smithyhttp.RequestSendError{Err: err}
	}
	if resp.StatusCode/100 == 2 {
		return b, nil
	}
	// IAM answers <ErrorResponse><Error>...; some emulators wrap the Error
	// in <Errors>.
	var doc struct {
		Error     xmlError `xml:"Error"`
		Wrapped   xmlError `xml:"Errors>Error"`
		RequestID string   `xml:"RequestId"`
	}
	err = xml.Unmarshal(b, &doc)
	e := cmp.Or(doc.Error, doc.Wrapped)
	if err != nil || e.Code == "" {
		e.Code, e.Message = http.StatusText(resp.StatusCode), strings.TrimSpace(string(bytes.ToValidUTF8(b[:min(len(b), 200)], nil)))
	}
	fault := smithy.FaultServer
	if e.Type == "Sender" {
		fault = smithy.FaultClient
	}
	return nil, &awshttp.ResponseError{
		RequestID: cmp.Or(resp.Header.Get("X-Amzn-Requestid"), doc.RequestID),
		ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: resp},
			Err:      &smithy.GenericAPIError{Code: e.Code, Message: e.Message, Fault: fault},
		},
	}
}

func opError(action string, err error) error {
	return &smithy.OperationError{ServiceID: "IAM", OperationName: action, Err: err}
}

// IsNoSuchEntity reports whether IAM answered err with NoSuchEntity: the
// role or policy does not exist.
func IsNoSuchEntity(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "NoSuchEntity"
}
