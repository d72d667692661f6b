package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/timebound-iam/timebound-iam/grant/catalog"
	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/timebound-iam/timebound-iam/keychain"
	"github.com/timebound-iam/timebound-iam/profiles"
	"github.com/urfave/cli/v2"
)

// completeFlag is urfave/cli's completion protocol: the words before the
// cursor, then this flag, and the program prints one candidate a line.
const completeFlag = "--generate-bash-completion"

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script for bash, zsh or fish",
		ArgsUsage: "bash|zsh|fish",
		Description: "Completes commands, flags, service names after -s and live grant ids after revoke.\n\n" +
			"  bash: add to ~/.bashrc:                      source <(timebound-iam completion bash)\n" +
			"  zsh:  add to ~/.zshrc, after compinit:       source <(timebound-iam completion zsh)\n" +
			"  fish: timebound-iam completion fish > ~/.config/fish/completions/timebound-iam.fish",
		Action: func(c *cli.Context) error {
			script, ok := completionScripts[c.Args().First()]
			if c.NArg() != 1 || !ok {
				return withHint(fmt.Errorf("completion needs one shell: bash, zsh or fish"), "e.g. source <(timebound-iam completion bash)")
			}
			_, err := io.WriteString(c.App.Writer, script)
			return err
		},
	}
}

// The scripts send the words before the cursor to the program with
// completeFlag, and the word under it too when it starts with "-" (urfave/cli's
// own scripts do the same). They are written here rather than taken from
// urfave/cli: its bash script needs the bash-completion package, and its fish
// generator writes a static list that cannot hold live grant ids.
var completionScripts = map[string]string{
	"bash": `# bash completion for timebound-iam: source <(timebound-iam completion bash)
_timebound_iam() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    local words=("${COMP_WORDS[@]:0:COMP_CWORD}")
    [[ $cur == -* ]] && words+=("$cur")
    local IFS=$'\n'
    COMPREPLY=($(compgen -W "$("${words[@]}" ` + completeFlag + ` 2>/dev/null)" -- "$cur"))
}
complete -o default -F _timebound_iam timebound-iam
`,
	"zsh": `#compdef timebound-iam
# zsh completion for timebound-iam: source <(timebound-iam completion zsh)
_timebound_iam() {
    local cur=${words[CURRENT]}
    local -a req opts
    req=("${(@)words[1,CURRENT-1]}")
    [[ $cur == -* ]] && req+=("$cur")
    opts=("${(@f)$("${(@)req}" ` + completeFlag + ` 2>/dev/null)}")
    if [[ -n ${opts[1]} ]]; then
        compadd -a opts
    else
        _files
    fi
}
if [[ $funcstack[1] == _timebound_iam ]]; then
    _timebound_iam "$@"
else
    compdef _timebound_iam timebound-iam
fi
`,
	"fish": `# fish completion for timebound-iam:
#   timebound-iam completion fish > ~/.config/fish/completions/timebound-iam.fish
function __timebound_iam_complete
    set -l words (commandline -opc)
    set -l cur (commandline -ct)
    if string match -q -- '-*' $cur
        set -a words $cur
    end
    $words ` + completeFlag + ` 2>/dev/null
end
complete -c timebound-iam -f -a '(__timebound_iam_complete)'
`,
}

// completer prints the completion candidates for cmd, nil for the program
// itself, given the command line args that ends with completeFlag.
func completer(cmd *cli.Command, args []string) cli.BashCompleteFunc {
	return func(c *cli.Context) {
		words := slices.Clone(args[1:])
		if n := len(words); n > 0 && words[n-1] == completeFlag {
			words = words[:n-1]
		}
		last := ""
		if len(words) > 0 {
			last = words[len(words)-1]
		}
		flags, subs := c.App.VisibleFlags(), c.App.VisibleCommands()
		if cmd != nil {
			flags, subs = cmd.VisibleFlags(), cmd.VisibleCommands()
		}
		for _, s := range completions(c.App.VisibleCommands(), cmd, flags, subs, words, last) {
			fmt.Fprintln(c.App.Writer, s)
		}
	}
}

// completions are the candidates for the word after words; last is either
// that word, when it starts with "-", or the word before it. top is the
// program's commands.
func completions(top []*cli.Command, cmd *cli.Command, flags []cli.Flag, subs []*cli.Command, words []string, last string) []string {
	if strings.HasPrefix(last, "-") {
		var out []string
		for _, f := range flags {
			names := flagForms(f)
			if slices.Contains(names, last) {
				// "-s" may be the word under the cursor, or the flag before it
				// waiting for its value: offer both.
				if v, ok := f.(cli.DocGenerationFlag); ok && v.TakesValue() {
					return append(flagValues(f), last)
				}
			}
			for _, n := range names {
				if strings.HasPrefix(n, last) {
					out = append(out, n)
				}
			}
		}
		return out
	}
	if len(subs) > 0 {
		return commandNames(subs)
	}
	if cmd == nil {
		return nil
	}
	switch cmd.Name {
	case "revoke":
		return liveGrants(words)
	case "completion":
		return []string{"bash", "zsh", "fish"}
	case "help":
		// help COMMAND [SUBCOMMAND]: the commands of the level reached.
		level := top
		for _, w := range words[slices.Index(words, "help")+1:] {
			i := slices.IndexFunc(level, func(c *cli.Command) bool { return c.Name == w })
			if i < 0 {
				return nil
			}
			level = level[i].Subcommands
		}
		return commandNames(level)
	}
	return nil
}

func commandNames(cmds []*cli.Command) []string {
	var out []string
	for _, c := range cmds {
		if !c.Hidden {
			out = append(out, c.Name)
		}
	}
	return out
}

// flagForms are f's names as typed: -s, --service.
func flagForms(f cli.Flag) []string {
	var out []string
	for _, n := range f.Names() {
		if len(n) == 1 {
			out = append(out, "-"+n)
		} else {
			out = append(out, "--"+n)
		}
	}
	return out
}

// flagValues are the values worth offering for f, if it has a fixed set.
func flagValues(f cli.Flag) []string {
	switch f.Names()[0] {
	case "service":
		all := catalog.All()
		out := make([]string, len(all))
		for i, s := range all {
			out[i] = s.Prefix
		}
		return out
	case "level":
		return []string{"view_only", "read_only", "full"}
	case "keyring-backend", "backend":
		return keychain.Backends
	case "sts-dialect":
		return []string{"aws", "minio"}
	}
	return nil
}

// liveGrants are the profile names of the live grants in the profiles file
// of the state directory (--home among words, else the default). It reads
// nothing else: no keychain, no STS, and it changes nothing.
func liveGrants(words []string) []string {
	home := ""
	if i := slices.Index(words, "--home"); i >= 0 && i+1 < len(words) {
		home = words[i+1]
	} else if h, err := config.Home(os.Getenv); err == nil {
		home = h
	}
	if home == "" {
		return nil
	}
	set, err := (&profiles.File{Path: filepath.Join(home, config.AWSConfigName), Home: home}).Read()
	if err != nil {
		return nil
	}
	var out []string
	now := time.Now()
	for _, e := range set.Entries() {
		if e.Live(now) && !slices.Contains(words, e.Name()) && !slices.Contains(words, e.ID) {
			out = append(out, e.Name())
		}
	}
	return out
}
