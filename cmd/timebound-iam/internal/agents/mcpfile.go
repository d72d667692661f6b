package agents

// mergeMCP merges the agent's MCP server entry, and the sandbox where the
// agent keeps it in the same file, into the agent's MCPFile.
type mergeMCP func(config []byte, project string, p Params) ([]byte, Action, error)

// mergeServers is the "mcpServers" JSON of most agents.
func mergeServers(config []byte, _ string, p Params) ([]byte, Action, error) {
	return MergeServer(config, Entry(p))
}

func mergeVSCode(config []byte, _ string, p Params) ([]byte, Action, error) {
	return MergeVSCode(config, Entry(p))
}

func mergeGemini(config []byte, _ string, p Params) ([]byte, Action, error) {
	return MergeGemini(config, p)
}

// MCPPart says what of the MCP file is timebound-iam's, for people.
func (a Agent) MCPPart() string {
	if a.mcpPart != "" {
		return a.mcpPart
	}
	return `the "` + ServerName + `" server under "mcpServers"`
}
