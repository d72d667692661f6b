package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/timebound-iam/timebound-iam/grant/audit"
	"github.com/urfave/cli/v2"
)

func auditCommand() *cli.Command {
	return &cli.Command{
		Name:  "audit",
		Usage: "list the audit log of grant decisions, or verify its hash chain",
		Description: "Every grant request, approval, decline, grant, refusal, revoke and prune is one JSON line\n" +
			"in " + audit.FileName + " in the state directory. Each line holds the SHA-256 of the line before it\n" +
			"and a sequence number, and " + audit.FileName + ".head records the last one, so that an edited, removed,\n" +
			"reordered or cut-off entry is found. --verify checks that instead of listing, and exits non-zero\n" +
			"naming the first broken entry.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print the entries as JSON lines, as stored"},
			&cli.BoolFlag{Name: "verify", Usage: "verify the hash chain and the head instead of listing; exit 1 naming the first broken entry"},
			&cli.StringFlag{Name: "home", Usage: "state `DIR` (default $TIMEBOUND_IAM_HOME, else $XDG_CONFIG_HOME/timebound-iam, else ~/.config/timebound-iam)"},
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return withHint(fmt.Errorf("audit takes no arguments, got %q", c.Args().First()), "run timebound-iam audit, audit --json or audit --verify")
			}
			home, err := stateHome(c, plainWarning(c))
			if err != nil {
				return err
			}
			l := audit.Open(filepath.Join(home, audit.FileName))
			if c.Bool("verify") {
				return verifyAudit(c, l)
			}
			return listAudit(c, l, c.Bool("json"))
		},
	}
}

func verifyAudit(c *cli.Context, l *audit.Log) error {
	n, err := l.Verify()
	var ve *audit.VerifyError
	if errors.As(err, &ve) {
		return withHint(err, "the log was changed outside timebound-iam; keep a copy for investigation (timebound-iam audit --json lists what is left)")
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.ErrWriter, "%s: audit log intact: %d %s\n", prog, n, plural(n, "entry", "entries"))
	return nil
}

func listAudit(c *cli.Context, l *audit.Log, asJSON bool) error {
	entries, err := l.Read()
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		fmt.Fprintf(c.App.ErrWriter, "%s: the audit log %s is empty\n", prog, l.Path)
		return nil
	}
	if asJSON {
		for _, e := range entries {
			line, err := json.Marshal(e)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "%s\n", line)
		}
		return nil
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTIME\tEVENT\tSESSION\tSERVICES\tTTL\tCLIENT\tAPPROVER\tDETAIL")
	for _, e := range entries {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.Time.UTC().Format(time.RFC3339), e.Event.Event,
			dash(e.Session), dash(servicesText(e.Event)), dash(e.TTL), dash(e.Client), dash(e.Approver), detailText(e.Event))
	}
	return tw.Flush()
}

// servicesText writes services with their levels: "s3:read_only,logs:full".
func servicesText(e audit.Event) string {
	parts := make([]string, len(e.Services))
	for i, s := range e.Services {
		parts[i] = s
		if l := e.Levels[s]; l != "" {
			parts[i] += ":" + l
		}
	}
	// Levels for services the list lacks come only from a hand-made entry;
	// they are shown rather than hidden.
	var extra []string
	for s, l := range e.Levels {
		if !slices.Contains(e.Services, s) {
			extra = append(extra, s+":"+l)
		}
	}
	sort.Strings(extra)
	return strings.Join(append(parts, extra...), ",")
}

// detailText is the last column: why (a refusal's or decline's reason),
// the requester's reason, and the masked access key id.
func detailText(e audit.Event) string {
	var parts []string
	if e.Detail != "" {
		parts = append(parts, e.Detail)
	}
	if e.Reason != "" {
		parts = append(parts, fmt.Sprintf("reason %q", e.Reason))
	}
	if e.AccessKey != "" {
		parts = append(parts, "key "+e.AccessKey)
	}
	return dash(strings.Join(parts, "; "))
}

// dash is one table cell: "-" for nothing, and quoted when s holds a
// character that is not printable. Client names, refused service names and
// details are the requester's own text; a line break or a terminal escape in
// them would forge rows or hide them in the one view a person reviews.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	if strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return strconv.Quote(s)
	}
	return s
}
