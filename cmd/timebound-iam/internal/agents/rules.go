package agents

// Rules is what every agent is told, in its rules file, about reaching AWS.
// It holds no path and nothing machine-specific, so the file it lands in can
// be shared with a team; the grant's usage carries the dedicated config file.
const Rules = `# AWS access: only through timebound-iam

This project reaches AWS only with short-lived, scoped credentials from the timebound-iam MCP server. You never see them; the AWS CLI fetches them itself.

- Before any AWS command, call the ` + "`grant_access`" + ` tool with the services you need (` + "`list_services`" + ` names them), level ` + "`read_only`" + ` unless the task must change something, and the shortest ttl that fits the task.
- Run the AWS CLI exactly as the grant's ` + "`usage`" + ` says: ` + "`AWS_CONFIG_FILE=<config_file> aws --profile tb-<id> <command>`" + `. Always pass ` + "`--profile`" + `. Never set ` + "`AWS_PROFILE`" + `: it loses to other credentials in the environment.
- Never use other credentials, and never look at these ones: do not look for access keys, read ` + "`~/.aws`" + `, export ` + "`AWS_ACCESS_KEY_ID`" + `, try another profile, or run ` + "`aws configure export-credentials`" + ` or ` + "`timebound-iam credential-process`" + `, which print secrets.
- If a command fails with AccessDenied, do not fall back to other credentials, not even once: call ` + "`grant_access`" + ` for the missing service or level, or tell the user what is missing.
- If the command says the grant expired or was revoked, call ` + "`grant_access`" + ` again.
- Some grants need the user's approval, which the MCP client asks for with a form. If the user declines, or the approval times out, do not ask again in a loop: tell the user what access you need and why.
- When the task is done, call ` + "`revoke_access`" + ` with the grant's ` + "`session_id`" + `.
`

// managedNote opens the files timebound-iam owns whole.
const managedNote = "<!-- Written by `timebound-iam setup agent`, which replaces this file on every run. -->\n\n"

// cursorRule is a Cursor project rule that applies to every request.
const cursorRule = "---\n" +
	"description: AWS access only through timebound-iam's short-lived grants\n" +
	"alwaysApply: true\n" +
	"---\n" + managedNote + Rules

// kiroSteering is a Kiro steering file included in every interaction.
const kiroSteering = "---\n" +
	"inclusion: always\n" +
	"---\n" + managedNote + Rules
