package profiles

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestRenderExact pins the whole section, the format other tools (and the
// scripts in cmd/timebound-iam/testdata) read.
func TestRenderExact(t *testing.T) {
	f := newFile(t)
	mustUpdate(t, f, put(active("abcd2345")))
	want := `[profile tb-abcd2345]
credential_process = '/opt/tb/bin/timebound-iam' credential-process --session abcd2345 --home '/home/ana/.config/timebound-iam' --backend file --expires 2026-11-25T14:30:00Z
region = us-east-1
tb_access = s3:read_only logs:full
tb_backend = file
tb_status = active
tb_created = 2026-11-25T14:00:00Z
tb_expires = 2026-11-25T14:30:00Z

`
	if diff := cmp.Diff(want, readString(t, f.Path)); diff != "" {
		t.Errorf("file (-want +got):\n%s", diff)
	}
}

func TestPutRefusesINIInjection(t *testing.T) {
	with := func(change func(*Entry)) Entry {
		e := active("bbbb2222")
		change(&e)
		return e
	}
	for _, tc := range []struct {
		name string
		e    Entry
	}{
		{"region with newline and header", with(func(e *Entry) { e.Region = "us-east-1\n[profile evil]" })},
		{"region with CR", with(func(e *Entry) { e.Region = "us-east-1\rx" })},
		{"region with =", with(func(e *Entry) { e.Region = "us-east-1 = x" })},
		{"service with =", with(func(e *Entry) { e.Access = []Access{{"s3=x", "read_only"}} })},
		{"service with newline", with(func(e *Entry) { e.Access = []Access{{"s3\n[profile evil]\ncredential_process = /bin/sh", "read_only"}} })},
		{"service with colon", with(func(e *Entry) { e.Access = []Access{{"s3:full", "read_only"}} })},
		{"level with space", with(func(e *Entry) { e.Access = []Access{{"s3", "read_only full"}} })},
		{"level with newline", with(func(e *Entry) { e.Access = []Access{{"s3", "full\nregion = evil"}} })},
		{"backend with newline", with(func(e *Entry) { e.Helper.Backend = "file\n[profile evil]" })},
		{"backend with shell", with(func(e *Entry) { e.Helper.Backend = "file;id" })},
		{"empty backend", with(func(e *Entry) { e.Helper.Backend = "" })},
		{"status with newline", with(func(e *Entry) { e.Status = "active\nx = y" })},
		{"invalid id", with(func(e *Entry) { e.ID = "abcd]\n[profile evil" })},
		{"upper-case id", with(func(e *Entry) { e.ID = "ABCD2345" })},
		{"exe with newline", with(func(e *Entry) { e.Helper.Exe = "/opt/tb\n[profile evil]/tb" })},
		{"exe relative", with(func(e *Entry) { e.Helper.Exe = "timebound-iam" })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFile(t)
			writeString(t, f.Path, "[default]\nregion = eu-west-1\n", 0o600)
			mustUpdate(t, f, put(active("abcd2345")))
			before := take(t, f.Path)
			err := f.Update(put(tc.e))
			if err == nil {
				t.Fatalf("Put(%+v) succeeded:\n%s", tc.e, readString(t, f.Path))
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error has a raw line break: %q", err)
			}
			before.check(t, f.Path)
			checkNoStrays(t, f)
		})
	}
}

func TestCredentialProcess(t *testing.T) {
	e := active("abcd2345")
	revoked := e
	revoked.Status, revoked.Revoked = Revoked, time.Date(2026, 11, 25, 15, 10, 0, 0, time.FixedZone("CET", 3600))
	odd := e
	odd.Helper = Helper{Exe: "/tmp/it's a $HOME dir ünï/timebound-iam", Home: `/tmp/st\ate "dir" $(id)`, Backend: "keyctl"}
	for _, tc := range []struct {
		name string
		e    Entry
		want string
	}{
		{"active", e, "'/opt/tb/bin/timebound-iam' credential-process --session abcd2345 --home '/home/ana/.config/timebound-iam' --backend file --expires 2026-11-25T14:30:00Z"},
		{"revoked", revoked, "'/opt/tb/bin/timebound-iam' credential-process --session abcd2345 --home '/home/ana/.config/timebound-iam' --backend file --expires 2026-11-25T14:30:00Z --revoked-at 2026-11-25T14:10:00Z"},
		{"odd paths", odd, `'/tmp/it'\''s a $HOME dir ünï/timebound-iam' credential-process --session abcd2345 --home '/tmp/st\ate "dir" $(id)' --backend keyctl --expires 2026-11-25T14:30:00Z`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CredentialProcess(tc.e)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("CredentialProcess =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}

	refused := map[string]func(*Entry){
		"relative exe":       func(e *Entry) { e.Helper.Exe = "bin/timebound-iam" },
		"bare exe":           func(e *Entry) { e.Helper.Exe = "timebound-iam" },
		"empty exe":          func(e *Entry) { e.Helper.Exe = "" },
		"relative home":      func(e *Entry) { e.Helper.Home = "state" },
		"dot-relative home":  func(e *Entry) { e.Helper.Home = "./state" },
		"invalid id":         func(e *Entry) { e.ID = "abcd2345; touch /tmp/pwned" },
		"empty id":           func(e *Entry) { e.ID = "" },
		"backend with shell": func(e *Entry) { e.Helper.Backend = "file $(touch /tmp/pwned)" },
		"empty backend":      func(e *Entry) { e.Helper.Backend = "" },
	}
	for _, bad := range []string{"\n", "\r", "\x00", "#", ";", "`"} {
		refused[fmt.Sprintf("exe with %q", bad)] = func(e *Entry) { e.Helper.Exe = "/opt/t" + bad + "b/timebound-iam" }
		refused[fmt.Sprintf("home with %q", bad)] = func(e *Entry) { e.Helper.Home = "/home/a" + bad + "na/state" }
	}
	for name, change := range refused {
		t.Run("refuses "+name, func(t *testing.T) {
			e := active("abcd2345")
			change(&e)
			if line, err := CredentialProcess(e); err == nil {
				t.Errorf("CredentialProcess(%+v) = %q, want an error", e.Helper, line)
			}
		})
	}
}
