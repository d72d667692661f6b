// Command cardfloor is make bench's card floor: a program that links the
// libraries the design card names (aws-sdk-go-v2's config and sts, the MCP
// go-sdk, keyring, urfave/cli and ini.v1), with D-Bus disabled as in the
// release binary, and only prints fixed credential_process JSON. Their
// package initialisation runs as in timebound-iam; nothing else does. Built
// from this module's go.mod with the release flags, it is the least a
// credential_process helper built on those libraries can cost.
package main

import (
	"os"

	// Before keyring, as in cmd/timebound-iam.
	_ "github.com/timebound-iam/timebound-iam/keychain/dbusguard"

	_ "github.com/99designs/keyring"
	_ "github.com/aws/aws-sdk-go-v2/config"
	_ "github.com/aws/aws-sdk-go-v2/service/sts"
	_ "github.com/modelcontextprotocol/go-sdk/mcp"
	_ "github.com/urfave/cli/v2"
	_ "gopkg.in/ini.v1"
)

func main() {
	os.Stdout.WriteString(`{"Version":1,"AccessKeyId":"ASIAEXAMPLE","SecretAccessKey":"secret","SessionToken":"token","Expiration":"2099-01-01T00:00:00Z"}` + "\n")
}
