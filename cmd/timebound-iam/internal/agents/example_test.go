package agents_test

import (
	"fmt"

	"github.com/timebound-iam/timebound-iam/cmd/timebound-iam/internal/agents"
)

// The entry joins the servers already there; they keep their bytes and
// their order.
func ExampleMergeServer() {
	config := []byte(`{
  "mcpServers": {
    "github": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-github"]}
  }
}
`)
	out, action, err := agents.MergeServer(config, agents.Server{Command: "/usr/local/bin/timebound-iam", Args: []string{"serve"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(action)
	fmt.Print(string(out))
	// Output:
	// added
	// {
	//   "mcpServers": {
	//     "github": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-github"]},
	//     "timebound-iam": {
	//       "command": "/usr/local/bin/timebound-iam",
	//       "args": [
	//         "serve"
	//       ]
	//     }
	//   }
	// }
}

// A re-run replaces only what lies between the markers.
func ExampleMergeBlock() {
	text := []byte("# Notes\n\n" + agents.Block("old rules") + "\n\nMine.\n")
	out, action, _ := agents.MergeBlock(text, "new rules")
	fmt.Println(action)
	fmt.Print(string(out))
	// Output:
	// updated
	// # Notes
	//
	// <!-- timebound-iam:begin -->
	// new rules
	// <!-- timebound-iam:end -->
	//
	// Mine.
}
