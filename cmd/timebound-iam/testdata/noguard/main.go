// Command noguard links keyring without dbusguard: the control for
// TestNoDBusDaemon, showing the trap is real on this machine.
package main

import (
	"fmt"

	"github.com/99designs/keyring"
)

func main() { fmt.Println(keyring.AvailableBackends()) }
