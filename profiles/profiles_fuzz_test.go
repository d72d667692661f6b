package profiles

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/ini.v1"
)

// FuzzForeignRoundTrip writes arbitrary bytes as the file and checks that
// what is not ours survives us byte for byte: a no-op Update writes nothing,
// and a Put of a new grant followed by its Remove, in one Update or in two,
// leaves the original text (with a final newline added when it lacked one,
// as appending a section must end the last foreign line). The tb- sections
// the text already holds read the same before and after.
func FuzzForeignRoundTrip(f *testing.F) {
	for _, tc := range foreignFiles {
		f.Add([]byte(tc.text))
	}
	for _, s := range []string{
		"\xef\xbb\xbf[default]\nregion = eu-west-1\n",
		"[profile tb-abcd2345]\ncredential_process = '/opt/tb' credential-process\ntb_access = s3:read_only\ntb_status = active\ntb_expires = 2026-11-25T14:30:00Z\n\n# mine\n",
		"[profile tb-abcd2345]\ntb_status = paused",
		"[profile x]\nk = \"\"\"\n[profile tb-fuzz0001]\n\"\"\"\n",
		"key = value\r",
		"[",
		"\n\n[\n]\n",
		"\x00\xff[profile tb-aaaa1111]\x00\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		file := &File{Path: filepath.Join(dir, "aws-config"), Home: testHome}
		if err := os.WriteFile(file.Path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		before := mustRead(t, file)
		id := ""
		for _, c := range []string{"fuzz0001", "fuzz0002", "fuzz0003"} {
			if !before.Has(c) {
				id = c
				break
			}
		}
		if id == "" {
			return // the text holds all our candidate ids
		}
		entries, problems := before.Entries(), problemSections(before)
		want := []byte(terminated(string(data)))
		check := func(step string, wantText []byte) {
			t.Helper()
			got, err := os.ReadFile(file.Path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, wantText) {
				t.Fatalf("%s: file changed (-want +got):\n%s", step, cmp.Diff(string(wantText), string(got)))
			}
		}

		info, err := os.Stat(file.Path)
		if err != nil {
			t.Fatal(err)
		}
		mustUpdate(t, file, func(*Set) error { return nil })
		check("no-op Update", data)
		if now, err := os.Stat(file.Path); err != nil || !os.SameFile(info, now) {
			t.Fatalf("no-op Update replaced the file (%v)", err)
		}

		e := active(id)
		mustUpdate(t, file, func(s *Set) error {
			if err := s.Put(e); err != nil {
				return err
			}
			s.Remove(id)
			return nil
		})
		check("Put and Remove in one Update", want)

		mustUpdate(t, file, put(e))
		section, err := render(e)
		if err != nil {
			t.Fatal(err)
		}
		check("Put", append(slices.Clip(want), section...))
		after := mustRead(t, &File{Path: file.Path, Home: testHome}) // a fresh read, no cache
		if got, ok := after.Get(id); !ok {
			t.Fatalf("our section does not read back; problems: %v", after.Problems())
		} else if diff := cmp.Diff(e, got); diff != "" {
			t.Fatalf("our section reads back (-put +got):\n%s", diff)
		}
		others := slices.DeleteFunc(after.Entries(), func(x Entry) bool { return x.ID == id })
		if diff := cmp.Diff(entries, others); diff != "" {
			t.Fatalf("the sections already there read differently after Put (-before +after):\n%s", diff)
		}
		if got := problemSections(after); !slices.Equal(got, problems) {
			t.Fatalf("unreadable sections after Put = %q, before %q", got, problems)
		}

		mustUpdate(t, file, remove(id))
		check("Remove", want)
	})
}

// problemSections names the unreadable tb- sections of s. It compares
// names, not messages: ini.v1 quotes the offending line, and a Put after a
// last line without a newline ends that line.
func problemSections(s *Set) []string {
	var names []string
	for _, err := range s.Problems() {
		name, _, _ := strings.Cut(err.Error(), ":")
		names = append(names, name)
	}
	return names
}

// injectionForeign is the user's text around our section in
// FuzzPutNoInjection, with the sections and keys ini.v1 must find in it.
const injectionForeign = "# my profiles\n[default]\nregion = eu-west-1\n\n[profile other]\noutput = json\n"

// FuzzPutNoInjection puts a grant whose outside-sourced fields (region,
// service and level words, binary path, state directory, keychain backend)
// are fuzzed. Put must refuse, leaving the file as it was, or write a file in
// which ini.v1, with and without inline comments, finds exactly the sections
// that were there plus ours and, in ours, exactly our keys with exactly the
// values put; and our own reader reads the grant back unchanged.
func FuzzPutNoInjection(f *testing.F) {
	f.Add("us-east-1", "s3", "read_only", "logs", "full", "/opt/tb/bin/timebound-iam", testHome, "file", "", false)
	f.Add("", "s3", "full", "", "", "/usr/local/bin/timebound-iam", "/root/.config/timebound-iam", "keyctl", "", true)
	f.Add("eu-west-1", "ec2", "read_only", "", "", "/tmp/it's a $HOME dir ünï/tb", `/tmp/st\ate "x" $(id) 'q'`, "secret-service", "", false)
	f.Add("us-east-1", "s3", "read_only", "", "", "/opt/tb", testHome, "file", "arn:aws:s3:::agent-data/*", false)
	for _, evil := range []string{
		"us-east-1\n[profile evil]", "us-east-1\rx", "us-east-1 = x", "s3]\n[profile evil", "x\ncredential_process = /bin/sh",
		"s3:full", "read_only full", "a#b", "a;b", "a=b", "\"\"\"", "`", "\x00", "'", "\\", "\u2028", "\x85", "A", strings.Repeat("a", 65),
	} {
		f.Add(evil, "s3", "read_only", "", "", "/opt/tb", testHome, "file", "", false)
		f.Add("us-east-1", evil, "read_only", "", "", "/opt/tb", testHome, "file", "", false)
		f.Add("us-east-1", "s3", evil, "logs", evil, "/opt/tb", testHome, "file", "", false)
		f.Add("us-east-1", "s3", "full", "", "", "/opt/"+evil+"/tb", "/home/"+evil, "file", "", true)
		f.Add("us-east-1", "s3", "full", "", "", "/opt/tb", testHome, evil, "", false)
		f.Add("us-east-1", "s3", "full", "", "", "/opt/tb", testHome, "file", "arn:aws:s3:::"+evil, false)
	}
	f.Fuzz(func(t *testing.T, region, svc1, lvl1, svc2, lvl2, exe, home, backend, resource string, revoked bool) {
		file := &File{Path: filepath.Join(t.TempDir(), "aws-config"), Home: home}
		if err := os.WriteFile(file.Path, []byte(injectionForeign), 0o600); err != nil {
			t.Fatal(err)
		}
		e := active("abcd2345")
		e.Region, e.Helper = region, Helper{Exe: exe, Home: "/not/used", Backend: backend}
		e.Access = []Access{{svc1, lvl1}}
		if svc2 != "" || lvl2 != "" {
			e.Access = append(e.Access, Access{svc2, lvl2})
		}
		if resource != "" {
			// The role is checked as resources are: one input fuzzes both.
			e.Resources, e.Role = []string{resource}, resource
		}
		if revoked {
			e.Status, e.Revoked = Revoked, created.Add(time.Minute)
		}
		if err := file.Update(put(e)); err != nil {
			if msg := err.Error(); strings.ContainsAny(msg, "\r\n") {
				t.Fatalf("error has a raw line break: %q", msg)
			}
			if got := readString(t, file.Path); got != injectionForeign {
				t.Fatalf("a refused Put changed the file:\n%s", cmp.Diff(injectionForeign, got))
			}
			return
		}
		e.Helper.Home = home // Put writes the File's state directory

		line, err := CredentialProcess(e)
		if err != nil {
			t.Fatalf("Put accepted what CredentialProcess refuses: %v", err)
		}
		access := make([]string, len(e.Access))
		for i, a := range e.Access {
			access[i] = a.Service + ":" + a.Level
		}
		ours := [][2]string{{"credential_process", line}}
		if region != "" {
			ours = append(ours, [2]string{"region", region})
		}
		ours = append(ours, [2]string{"tb_access", strings.Join(access, " ")})
		if resource != "" {
			ours = append(ours, [2]string{"tb_resources", resource}, [2]string{"tb_role", resource})
		}
		ours = append(ours,
			[2]string{"tb_backend", backend},
			[2]string{"tb_status", string(e.Status)},
			[2]string{"tb_created", "2026-11-25T14:00:00Z"},
			[2]string{"tb_expires", "2026-11-25T14:30:00Z"})
		if revoked {
			ours = append(ours, [2]string{"tb_revoked", "2026-11-25T14:01:00Z"})
		}
		want := map[string][][2]string{
			ini.DefaultSection:    nil,
			"default":             {{"region", "eu-west-1"}},
			"profile other":       {{"output", "json"}},
			"profile " + e.Name(): ours,
		}
		for _, opts := range []ini.LoadOptions{{IgnoreInlineComment: true}, {}} {
			cfg, err := ini.LoadSources(opts, file.Path)
			if err != nil {
				t.Fatalf("ini.v1 %+v cannot read the file: %v\n%s", opts, err, readString(t, file.Path))
			}
			got := map[string][][2]string{}
			for _, s := range cfg.Sections() {
				if _, dup := got[s.Name()]; dup {
					t.Fatalf("section [%s] twice", s.Name())
				}
				got[s.Name()] = nil
				for _, k := range s.Keys() {
					got[s.Name()] = append(got[s.Name()], [2]string{k.Name(), k.Value()})
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("ini.v1 %+v reads sections and keys (-want +got):\n%s\nfile:\n%s", opts, diff, readString(t, file.Path))
			}
		}
		s := mustRead(t, &File{Path: file.Path, Home: home})
		if got, ok := s.Get(e.ID); !ok {
			t.Fatalf("our section does not read back: %v", s.Problems())
		} else if diff := cmp.Diff(e, got); diff != "" {
			t.Fatalf("our section reads back (-put +got):\n%s", diff)
		}
	})
}
