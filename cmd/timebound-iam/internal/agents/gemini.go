package agents

import (
	"encoding/json"
)

// The keys below are those of Gemini CLI 0.61.0 (npm @google/gemini-cli,
// docs/reference/configuration.md and docs/cli/sandbox.md): MCP servers under
// "mcpServers" in .gemini/settings.json, and tools.sandbox, true for the
// default container runtime or the name of one ("docker", "podman", "runsc",
// "lxc", "sandbox-exec"). The sandbox is a container (docker or podman) or
// macOS seatbelt, whose default profile limits writes only; there is no
// setting that denies reads of a path.

// GeminiNotContained says why Gemini CLI's commands are not contained.
const GeminiNotContained = "Gemini CLI's sandbox is a docker or podman container (on macOS, a seatbelt profile that limits writes only); " +
	"setup agent turns it on with tools.sandbox but cannot check for a container runtime, and Gemini has no setting that denies reads of ~/.aws, " +
	"so without a container its shell commands can read your base credentials"

// MergeGemini sets, in Gemini CLI's .gemini/settings.json, the
// "timebound-iam" MCP server as [MergeServer] does, and tools.sandbox to true
// unless it already names a sandbox. Invalid JSON is a [*SyntaxError].
func MergeGemini(settings []byte, p Params) ([]byte, Action, error) {
	out, act, err := MergeServer(settings, Entry(p))
	if err != nil {
		return nil, "", err
	}
	var have struct {
		Tools struct {
			Sandbox any `json:"sandbox"`
		} `json:"tools"`
	}
	_ = json.Unmarshal(out, &have) // MergeServer has checked it
	if s, ok := have.Tools.Sandbox.(string); have.Tools.Sandbox == true || ok && s != "" && s != "false" {
		return out, act, nil
	}
	d, err := parseDoc(out)
	if err != nil {
		return nil, "", err
	}
	if _, err := d.set(true, "tools", "sandbox"); err != nil {
		return nil, "", err
	}
	if act == Unchanged {
		act = Updated
	}
	return d.bytes(), act, nil
}

// gemini is Google's Gemini CLI.
var gemini = Agent{
	Name: "gemini", Title: "Gemini CLI", MCPFile: ".gemini/settings.json", RulesFile: "GEMINI.md", Launch: "gemini",
	ContainedReason: GeminiNotContained,
	merge:           mergeGemini,
	mcpPart:         `the "` + ServerName + `" server under "mcpServers", and tools.sandbox`,
}
