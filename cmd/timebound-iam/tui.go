package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/timebound-iam/timebound-iam/credproc"
	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/urfave/cli/v2"
)

// All human-facing error text leaves through this file, on stderr, as
//
//	timebound-iam: error: <what failed>
//	timebound-iam: hint: <what to do>
const prog = "timebound-iam"

// hinted is an error with a next step for the user.
type hinted struct {
	err  error
	hint string
}

func (h *hinted) Error() string { return h.err.Error() }
func (h *hinted) Unwrap() error { return h.err }

func withHint(err error, format string, args ...any) error {
	return &hinted{err: err, hint: fmt.Sprintf(format, args...)}
}

// exitStatus is an error that sets the exit code: exec ends with its
// command's. err, when not nil, is reported first.
type exitStatus struct {
	code int
	err  error
}

func (e *exitStatus) Error() string {
	if e.err != nil {
		return e.err.Error()
	}
	return fmt.Sprintf("exit status %d", e.code)
}

func (e *exitStatus) Unwrap() error { return e.err }

// report prints err and returns the exit code.
func report(w io.Writer, err error) int {
	var status *exitStatus
	if errors.As(err, &status) {
		if status.err != nil {
			report(w, status.err)
		}
		return status.code
	}
	var refusal *credproc.Refusal
	if errors.As(err, &refusal) {
		// One line: the AWS CLI shows it verbatim after its own prefix.
		fmt.Fprintf(w, "%s: %s\n", prog, refusal)
		return 1
	}
	fmt.Fprintf(w, "%s: error: %s\n", prog, cliWords(err.Error()))
	var h *hinted
	var creds *config.CredentialsError
	switch {
	case errors.As(err, &h):
		fmt.Fprintf(w, "%s: hint: %s\n", prog, cliWords(h.hint))
	case errors.As(err, &creds):
		fmt.Fprintf(w, "%s: hint: %s\n", prog, credentialsHint(creds))
	}
	return 1
}

// credentialsHint says how to give timebound-iam the base credentials that
// e found missing or could not load.
func credentialsHint(e *config.CredentialsError) string {
	switch {
	case e.NoProfile():
		return fmt.Sprintf("create it with aws configure --profile %s (or aws configure sso), or name an existing profile with source_profile in %s; then run %s doctor", e.Profile, e.Settings, prog)
	case e.Nothing:
		return fmt.Sprintf("run aws configure (access keys) or aws sso login (IAM Identity Center), or name a profile that has credentials with source_profile in %s; then run %s doctor", e.Settings, prog)
	}
	return fmt.Sprintf("for IAM Identity Center run aws sso login --profile %s; aws sts get-caller-identity --profile %s shows what the profile resolves to; %s doctor checks the rest", e.Profile, e.Profile, prog)
}

// printJSON writes a command's --json result: one indented object.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // usage holds <command>
	return enc.Encode(v)
}

func usageError(c *cli.Context, err error, _ bool) error {
	return withHint(err, "run %s --help", helpName(c))
}

// helpName is the command line that names c's command: "timebound-iam",
// "timebound-iam grant", "timebound-iam setup aws".
func helpName(c *cli.Context) string {
	if c.Command != nil && c.Command.HelpName != "" {
		return c.Command.HelpName
	}
	return prog
}

// unknownCommand is the action of the program and of each command with
// subcommands: with no argument it shows the help, else its argument names
// no command.
func unknownCommand(c *cli.Context) error {
	root := c.Command == nil || c.Command.HelpName == c.App.HelpName
	if c.NArg() == 0 {
		if root {
			return cli.ShowAppHelp(c)
		}
		return cli.ShowSubcommandHelp(c)
	}
	cmds := c.App.VisibleCommands()
	if !root {
		cmds = c.Command.VisibleCommands()
	}
	names := make([]string, len(cmds))
	for i, cmd := range cmds {
		names[i] = cmd.Name
	}
	return withHint(fmt.Errorf("%s has no command %q", helpName(c), c.Args().First()),
		"the commands are %s; run %s --help", strings.Join(names, ", "), helpName(c))
}

// helpWidth is the width help text is wrapped to.
const helpWidth = 100

// The help templates are urfave/cli's, with the options written by
// flagText: each flag's names on one line, its usage wrapped under them.
const (
	appHelp = `NAME:
   {{template "helpNameTemplate" .}}

USAGE:
   {{wrap .UsageText 3}}

COMMANDS:{{template "visibleCommandTemplate" .}}

OPTIONS:{{range .VisibleFlags}}
{{.String}}{{end}}

Run "{{.HelpName}} help COMMAND" for a command's options and arguments.
`
	commandHelp = `NAME:
   {{template "helpNameTemplate" .}}

USAGE:
   {{if .UsageText}}{{wrap .UsageText 3}}{{else}}{{.HelpName}}{{if .VisibleCommands}} COMMAND{{end}}{{if .VisibleFlags}} [OPTIONS]{{end}}{{with trim .ArgsUsage}} {{.}}{{end}}{{end}}{{if .Description}}

DESCRIPTION:
   {{template "descriptionTemplate" .}}{{end}}{{if .VisibleCommands}}

COMMANDS:{{template "visibleCommandTemplate" .}}{{end}}{{if .VisibleFlags}}

OPTIONS:{{range .VisibleFlags}}
{{.String}}{{end}}{{end}}
`
)

func init() {
	cli.AppHelpTemplate = appHelp
	cli.CommandHelpTemplate = commandHelp
	cli.SubcommandHelpTemplate = commandHelp
	cli.HelpPrinter = func(w io.Writer, templ string, data any) {
		cli.HelpPrinterCustom(w, templ, data, map[string]any{"wrap": wrapHelp})
	}
	cli.FlagStringer = flagText
	cli.VersionPrinter = func(c *cli.Context) { fmt.Fprintln(c.App.Writer, versionText()) }
}

// flagText is a flag's entry in the help: its names and a placeholder for
// its value once, its usage wrapped to helpWidth under them, and its default
// when it has one worth saying that the usage does not already give.
//
//	-s, --service SERVICE[:LEVEL]
//	      SERVICE[:LEVEL] to grant; repeat or separate with commas; ...
func flagText(f cli.Flag) string {
	df, ok := f.(cli.DocGenerationFlag)
	if !ok {
		return f.String()
	}
	placeholder, usage := unquoteUsage(df.GetUsage())
	if !df.TakesValue() {
		placeholder = ""
	} else if placeholder == "" {
		placeholder = placeholderFor(f)
	}
	names := slices.Clone(f.Names())
	// -s before --service.
	slices.SortStableFunc(names, func(a, b string) int { return len(a) - len(b) })
	for i, n := range names {
		if len(n) == 1 {
			names[i] = "-" + n
		} else {
			names[i] = "--" + n
		}
	}
	head := "   " + strings.Join(names, ", ")
	if placeholder != "" {
		head += " " + placeholder
	}
	def := df.GetDefaultText()
	if u, err := strconv.Unquote(def); err == nil {
		def = u
	}
	if df.TakesValue() && !strings.Contains(usage, "default") && def != "" && def != "0s" && def != "0" && def != "[]" {
		usage += " (default: " + def + ")"
	}
	return head + "\n" + wrapText(usage, "         ", "         ", helpWidth)
}

// unquoteUsage splits the placeholder written `LIKE THIS` out of a flag's
// usage, as urfave/cli does.
func unquoteUsage(usage string) (placeholder, text string) {
	before, rest, ok := strings.Cut(usage, "`")
	if !ok {
		return "", usage
	}
	name, after, ok := strings.Cut(rest, "`")
	if !ok {
		return "", usage
	}
	return name, before + name + after
}

// placeholderFor names the value of a flag whose usage gives no placeholder:
// DURATION, TIME, N, else the last word of its name (--role-arn: ARN).
func placeholderFor(f cli.Flag) string {
	switch f.(type) {
	case *cli.DurationFlag:
		return "DURATION"
	case *cli.TimestampFlag:
		return "TIME"
	case *cli.IntFlag, *cli.Int64Flag, *cli.UintFlag, *cli.Uint64Flag:
		return "N"
	}
	name := f.Names()[0]
	return strings.ToUpper(name[strings.LastIndexByte(name, '-')+1:])
}

// wrapText wraps text into lines of at most width columns, the first
// starting with first and the rest with indent. A word longer than a line
// gets a line of its own.
func wrapText(text, first, indent string, width int) string {
	var b strings.Builder
	line, empty := first, strings.TrimSpace(first) == ""
	for _, word := range strings.Fields(text) {
		if !empty && len(line)+1+len(word) > width {
			b.WriteString(line + "\n")
			line, empty = indent, true
		}
		if !empty && !strings.HasSuffix(line, " ") {
			line += " "
		}
		line += word
		empty = false
	}
	b.WriteString(line)
	return b.String()
}

// wrapHelp is the help templates' wrap: text whose first line follows
// offset columns already written and whose other lines get offset spaces,
// each line wrapped to helpWidth. A wrapped line keeps its indentation, and
// in a list item or a two-column table its continuation lines hang under its
// text.
func wrapHelp(text string, offset int) string {
	lines := strings.Split(text, "\n")
	for i, line := range lines {
		if line == "" {
			continue
		}
		// Each line as printed, from column 0.
		line = strings.Repeat(" ", offset) + line
		if len(line) > helpWidth {
			lead := len(line) - len(strings.TrimLeft(line, " "))
			hang := lead
			if rest := line[lead:]; strings.HasPrefix(rest, "- ") {
				hang += 2
			} else if gap := strings.Index(rest, "  "); gap > 0 && lead > offset {
				hang += gap + len(rest[gap:]) - len(strings.TrimLeft(rest[gap:], " "))
			}
			line = wrapText(line[hang:], line[:hang], strings.Repeat(" ", hang), helpWidth)
		}
		if i == 0 {
			line = line[offset:]
		}
		lines[i] = line
	}
	return strings.Join(lines, "\n")
}

// mcpWords are the MCP tools' and fields' names that the grant use cases
// write into their errors, which an agent reads, each with the CLI's own
// words for a person at a terminal. Longer phrases come first.
var mcpWords = strings.NewReplacer(
	"call grant_access again (or run timebound-iam grant)", "run timebound-iam grant again",
	"(revoke_access, or timebound-iam revoke)", "(timebound-iam revoke)",
	"list_services shows the allowed names", "timebound-iam services lists them",
	"list_services shows the allowed ones", "timebound-iam services lists them",
	"list_active_sessions shows the live ones", "timebound-iam sessions lists the live ones",
	"list_active_sessions", "timebound-iam sessions",
	"list_services", "timebound-iam services",
	"revoke_access", "timebound-iam revoke",
	"grant_access", "timebound-iam grant",
	`session_id "`, `"`,
	"session_id ", "grant ",
)

// cliWords rewrites an error of the grant use cases in the CLI's words: the
// commands instead of the MCP tools, and -s SERVICE instead of the field
// services[i] "SERVICE". It is written out rather than a regexp, which
// every credential_process call would compile at start-up.
func cliWords(msg string) string {
	var b strings.Builder
	for {
		i := strings.Index(msg, "services[")
		if i < 0 {
			break
		}
		j := i + len("services[")
		for j < len(msg) && msg[j] >= '0' && msg[j] <= '9' {
			j++
		}
		if j == i+len("services[") || j >= len(msg) || msg[j] != ']' {
			b.WriteString(msg[:j])
			msg = msg[j:]
			continue
		}
		b.WriteString(msg[:i] + "-s")
		msg = msg[j+1:]
		// services[0] "ec2" becomes -s ec2; services[0]: becomes -s:.
		if rest, ok := strings.CutPrefix(msg, ` "`); ok {
			if end := strings.IndexByte(rest, '"'); end >= 0 {
				b.WriteString(" " + rest[:end])
				msg = rest[end+1:]
			}
		}
	}
	b.WriteString(msg)
	return mcpWords.Replace(b.String())
}
