// Package mcpserver is the MCP front-end of timebound-iam: the four tools
// (grant_access, list_active_sessions, list_services, revoke_access), their
// input and output schemas, and the approval of a grant through the
// client's elicitation form, all over a [grant.Manager].
package mcpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/policy"
	"github.com/timebound-iam/timebound-iam/profiles"
)

// Instructions tell an agent how the tools fit together.
const Instructions = `timebound-iam gives you short-lived AWS credentials for one task.
1. Call grant_access with the services you need (list_services shows them), level read_only unless you must change something, and the shortest ttl that fits the task. Give a reason: the user sees it.
2. A grant may need the user's approval (by default, any grant with level full): your MCP client then shows the user a form, and grant_access returns once they answer. Where the user set it up, the form also asks for the code of their MFA device; never ask the user for that code yourself. The user may shorten the ttl. If they decline, or nobody answers, no grant is made: do not call grant_access again for the same access on your own; tell the user what you need and why, and let them decide.
3. Run the AWS CLI exactly as the result's usage says: AWS_CONFIG_FILE=<config_file> aws --profile tb-<id> <command>. Always pass --profile; AWS_PROFILE is not enough when other credentials are in the environment.
4. If a command fails with AccessDenied, do not look for other credentials: ask for the missing service or level with grant_access, or tell the user.
5. If the helper says the grant expired or was revoked, call grant_access again.
6. Call revoke_access when the task is done.
The credentials never appear in tool results; the AWS CLI fetches them itself.`

// GrantAccessInput is grant_access's input.
type GrantAccessInput struct {
	Services  []string `json:"services" jsonschema:"AWS service prefixes, e.g. [\"s3\"] or [\"lambda\",\"logs\"]; list_services shows the allowed names"`
	Level     string   `json:"level,omitempty" jsonschema:"view_only (vo: metadata only, AWS's ViewOnlyAccess for the service; no data reads such as s3:GetObject or kms:Decrypt; only for services whose list_services levels include it), read_only (ro: Describe/Get/List, AWS's ReadOnlyAccess for the service, which can read data) or full (every action of the service, still bounded by the broker role); default read_only"`
	TTL       string   `json:"ttl,omitempty" jsonschema:"how long the credentials live: a Go duration from 15m up to the configured max_ttl, e.g. \"30m\"; default from the config"`
	Reason    string   `json:"reason,omitempty" jsonschema:"one line on what the task needs this access for; logged for the user"`
	Resources []string `json:"resources,omitempty" jsonschema:"optional: narrow the whole grant to these resources instead of all: ARNs of the granted services (arn:aws:SERVICE:REGION:ACCOUNT:RESOURCE; * and ? wildcards allowed in RESOURCE), or for s3 bare bucket names, each meaning the bucket and its objects. A narrowed s3 grant cannot list all buckets (s3:ListAllMyBuckets works only on *); list a named bucket instead"`
}

// RevokeInput is revoke_access's input.
type RevokeInput struct {
	SessionID string `json:"session_id" jsonschema:"the grant to end, e.g. tb-k3f9ab2c or k3f9ab2c"`
	AWS       bool   `json:"aws,omitempty" jsonschema:"also make AWS refuse the grant's credentials at once, should a copy of them exist: adds a Deny of its role session to the broker role (inline policy timebound-iam-revoked; needs iam:GetRolePolicy and iam:PutRolePolicy on the role); default false"`
}

// RevokeOutput is revoke_access's result.
type RevokeOutput struct {
	SessionID string `json:"session_id"`
	Profile   string `json:"profile"`
	Revoked   bool   `json:"revoked" jsonschema:"true when this call ended a live grant; false when it had already expired or been revoked"`
	Status    string `json:"status" jsonschema:"the grant's state now: revoked or expired"`
	Orphaned  string `json:"orphaned,omitempty" jsonschema:"present when the grant's keychain item had no live profile (its section was removed or edited): what happened to the profile; the item was deleted all the same"`
	// The AWS side, present only when aws was true.
	AWSRevoked *bool  `json:"aws_revoked,omitempty" jsonschema:"only with aws: true when AWS refuses the grant's credentials too: the broker role now denies its session, or they had expired; false when only the local revoke happened"`
	AWSDetail  string `json:"aws_detail,omitempty" jsonschema:"only with aws: what happened at AWS, in a sentence"`
	AWSError   string `json:"aws_error,omitempty" jsonschema:"only when aws_revoked is false: why the AWS-side deny failed; a copy of the credentials then works until the grant's expiry"`
	// The grant ended either way; a missing record is for the user to fix.
	AuditError string `json:"audit_error,omitempty" jsonschema:"present when the grant was revoked but the audit log could not record it: tell the user"`
}

// NewServer returns the MCP server with the four tools over m.
func NewServer(m *grant.Manager, version string) *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: "timebound-iam", Version: version}, &mcp.ServerOptions{Instructions: Instructions})
	h := handlers{m: m, approvals: newApprovals(m)}
	s.AddReceivingMiddleware(h.approvals.roundTrips())
	no, yes := false, true
	mcp.AddTool(s, &mcp.Tool{
		Name:  "grant_access",
		Title: "Grant short-lived AWS access",
		Description: "Get temporary AWS credentials for the listed services at one level, for ttl. " +
			"Call this before any AWS CLI command. The result names a profile tb-<id> and a config file: run " +
			"`AWS_CONFIG_FILE=<config_file> aws --profile tb-<id> <command>` (always --profile, never AWS_PROFILE). " +
			"No secret is returned; the AWS CLI fetches the credentials itself until they expire. " +
			"A grant may need the user's approval (by default any level full grant): the user is shown the request in a form and may approve, shorten the ttl or decline. " +
			"After a decline or a timeout, do not retry on your own: ask the user.",
		InputSchema: grantInputSchema(),
		Annotations: &mcp.ToolAnnotations{Title: "Grant short-lived AWS access", DestructiveHint: &no, OpenWorldHint: &yes},
	}, h.grant)
	addListTool(s, &mcp.Tool{
		Name:        "list_active_sessions",
		Title:       "List live AWS grants",
		Description: "List the grants that still work: profile, services, level, expiry and time remaining. Reuse a live grant instead of asking again.",
		Annotations: &mcp.ToolAnnotations{Title: "List live AWS grants", ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: &no},
	}, h.m.Sessions)
	mcp.AddTool(s, &mcp.Tool{
		Name:        "list_services",
		Title:       "List grantable AWS services",
		Description: "List the AWS services grant_access accepts here, with the levels each offers. Use the name field in grant_access's services.",
		Annotations: &mcp.ToolAnnotations{Title: "List grantable AWS services", ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: &no},
	}, h.services)
	mcp.AddTool(s, &mcp.Tool{
		Name:  "revoke_access",
		Title: "Revoke an AWS grant",
		Description: "End a grant now, when the task is done. Its profile then refuses with a message; call grant_access for new access. " +
			"With aws: true it also makes AWS refuse the grant's credentials (a Deny on the broker role for its session), for when they may have been copied; " +
			"if that fails, the result says so in aws_error and the local revoke still happens.",
		// With aws it writes to IAM.
		Annotations: &mcp.ToolAnnotations{Title: "Revoke an AWS grant", DestructiveHint: &yes, IdempotentHint: true, OpenWorldHint: &yes},
	}, h.revoke)
	return s
}

// handlers serve the tools; approvals are the approval requests the
// server has issued, shared by all calls.
type handlers struct {
	m         *grant.Manager
	approvals *approvals
}

func (h handlers) grant(ctx context.Context, req *mcp.CallToolRequest, in GrantAccessInput) (*mcp.CallToolResult, grant.GrantOutput, error) {
	// Least privilege when the agent leaves level out.
	if in.Level == "" {
		in.Level = string(policy.ReadOnly)
	}
	r := grant.Request{Reason: in.Reason, Client: "mcp", Resources: in.Resources}
	if ci := req.ClientInfo(); ci != nil && ci.Name != "" {
		r.Client = ci.Name
	}
	level, err := policy.ParseLevel("level", in.Level)
	if err == nil {
		r.TTL, err = grant.ParseTTL(in.TTL, h.m.Config.DefaultTTL, h.m.Config.MaxTTL)
		err = h.m.Config.NoteLimit("max_ttl", err)
	}
	for _, s := range in.Services {
		r.Access = append(r.Access, policy.Access{Service: s, Level: policy.Level(in.Level)})
		if err == nil {
			r.Access[len(r.Access)-1].Level = level
		}
	}
	if err != nil {
		h.m.Refuse(r, err.Error())
		return nil, grant.GrantOutput{}, err
	}
	var p *grant.Pending
	if req.Params.RequestState != "" {
		// An answer to an approval request, or what claims to be one.
		if p, err = h.approvals.answer(req, r); err != nil {
			return nil, grant.GrantOutput{}, err
		}
	} else {
		// inputResponses without a requestState answer nothing this
		// server asked: the request is asked about afresh.
		if p, err = h.m.Ask(r); err != nil {
			return nil, grant.GrantOutput{}, err
		}
		if p.Needed {
			res, err := h.approvals.ask(ctx, req, p)
			return res, grant.GrantOutput{}, err
		}
	}
	s, err := p.Grant(ctx)
	if err != nil {
		return nil, grant.GrantOutput{}, err
	}
	return nil, h.m.Output(s), nil
}

// grantInputSchema is grant_access's input schema, with services and
// resources plain arrays: the generated ["null", "array"] type makes
// clients such as the MCP Inspector pass a JSON list as a string.
func grantInputSchema() *jsonschema.Schema {
	in, err := jsonschema.For[GrantAccessInput](nil)
	if err != nil {
		panic(fmt.Sprintf("grant_access: input schema: %v", err))
	}
	for _, name := range []string{"services", "resources"} {
		if p := in.Properties[name]; p != nil {
			p.Type, p.Types = "array", nil
		}
	}
	return in
}

// addListTool adds a tool that takes no arguments and may return a long list
// (a thousand sessions). For such a result mcp.AddTool's typed path costs
// most of the call: it marshals the output, unmarshals it to validate against
// the output schema, and marshals it again. Here the output is marshalled
// once; it is a value of the type the schema is generated from, so it
// matches that schema by construction.
func addListTool[Out any](s *mcp.Server, t *mcp.Tool, list func(context.Context) (Out, error)) {
	in, err := jsonschema.For[struct{}](nil)
	if err != nil {
		panic(fmt.Sprintf("%s: input schema: %v", t.Name, err))
	}
	out, err := jsonschema.For[Out](nil)
	if err != nil {
		panic(fmt.Sprintf("%s: output schema: %v", t.Name, err))
	}
	t.InputSchema, t.OutputSchema = in, out
	s.AddTool(t, func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		res := &mcp.CallToolResult{}
		if args := bytes.TrimSpace(req.Params.Arguments); len(args) > 0 && !bytes.Equal(args, []byte("{}")) && !bytes.Equal(args, []byte("null")) {
			res.SetError(fmt.Errorf("%s takes no arguments; call it with {}", t.Name))
			return res, nil
		}
		v, err := list(ctx)
		if err != nil {
			res.SetError(err)
			return res, nil
		}
		b, err := json.Marshal(v)
		if err != nil {
			res.SetError(err)
			return res, nil
		}
		res.StructuredContent = json.RawMessage(b)
		res.Content = []mcp.Content{&mcp.TextContent{Text: string(b)}}
		return res, nil
	})
}

func (h handlers) services(ctx context.Context, _ *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, grant.ServicesOutput, error) {
	return nil, grant.ServicesOutput{Services: grant.ServiceList(h.m.Config), Limits: h.m.Config.Limits()}, nil
}

func (h handlers) revoke(ctx context.Context, _ *mcp.CallToolRequest, in RevokeInput) (*mcp.CallToolResult, RevokeOutput, error) {
	res, err := h.m.Revoke(ctx, []string{in.SessionID})
	if err != nil {
		return nil, RevokeOutput{}, err
	}
	r := res[0]
	out := RevokeOutput{SessionID: r.ID, Profile: profiles.Prefix + r.ID, Revoked: r.Revoked, Status: string(r.Status), Orphaned: r.Orphan}
	if r.AuditErr != nil {
		out.AuditError = r.AuditErr.Error()
	}
	if in.AWS {
		// After the local revoke, whatever happens here: its failure is in
		// the result, not a tool error, since the grant did end.
		d := h.m.DenyAtAWS(ctx, res)
		ok := d.Denied()
		out.AWSRevoked, out.AWSDetail = &ok, d.Detail()
		if !ok {
			out.AWSError = d.Err.Error()
		}
	}
	return nil, out, nil
}
