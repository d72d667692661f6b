package profiles_test

import (
	"fmt"
	"time"

	"github.com/timebound-iam/timebound-iam/profiles"
)

// The line runs this binary from an empty environment: an absolute, quoted
// binary path, the grant id, the state directory and the keychain backend,
// and never a secret.
func ExampleCredentialProcess() {
	e := profiles.Entry{
		ID: "k3f9ab2c",
		Helper: profiles.Helper{
			Exe:     "/home/ana/my tools/timebound-iam",
			Home:    "/home/ana/.config/timebound-iam",
			Backend: "keyctl",
		},
		Status:  profiles.Active,
		Expires: time.Date(2026, 11, 25, 14, 30, 0, 0, time.UTC),
	}
	line, err := profiles.CredentialProcess(e)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(line)

	// A revoked grant's tombstone says so, and the helper refuses without
	// opening the keychain.
	e.Status, e.Revoked = profiles.Revoked, time.Date(2026, 11, 25, 14, 10, 0, 0, time.UTC)
	line, _ = profiles.CredentialProcess(e)
	fmt.Println(line)
	// Output:
	// '/home/ana/my tools/timebound-iam' credential-process --session k3f9ab2c --home '/home/ana/.config/timebound-iam' --backend keyctl --expires 2026-11-25T14:30:00Z
	// '/home/ana/my tools/timebound-iam' credential-process --session k3f9ab2c --home '/home/ana/.config/timebound-iam' --backend keyctl --expires 2026-11-25T14:30:00Z --revoked-at 2026-11-25T14:10:00Z
}

func ExampleQuote() {
	fmt.Println(profiles.Quote("/tmp/it's a $HOME dir"))
	// Output:
	// '/tmp/it'\''s a $HOME dir'
}
