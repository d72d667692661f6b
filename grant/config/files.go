package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gofrs/flock"
	"github.com/timebound-iam/timebound-iam/profiles"
)

// SecureHome creates the state directory with mode 0700 and tightens it and
// everything under it: directories to 0700, files to 0600 (other users must
// not read grant metadata, the config or the file keyring). The keyring
// library and the user's own tools never tighten what they find, so each
// looser mode is fixed here and reported to warn with the path and both
// modes. Symlinks are left alone. A state directory this process cannot
// write is an error saying so, before any grant starts.
func SecureHome(home string, warn func(path string, was, now fs.FileMode)) error {
	if err := os.MkdirAll(home, 0o700); err != nil {
		return fmt.Errorf("creating state directory %s: %w; set TIMEBOUND_IAM_HOME to a directory you can write", home, err)
	}
	err := filepath.WalkDir(home, func(path string, d fs.DirEntry, err error) error {
		// Other processes' temporary files come and go during the walk.
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("securing state directory: %w", err)
		}
		want := fs.FileMode(0o600)
		switch {
		case d.IsDir():
			want = 0o700
		case !d.Type().IsRegular():
			return nil
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("securing state directory: %w", err)
		}
		// Only bits beyond want are a problem: a 0400 file stays 0400.
		if was := info.Mode().Perm(); was&^want != 0 {
			now := was & want
			if d.IsDir() {
				now = want
			}
			if err := os.Chmod(path, now); errors.Is(err, fs.ErrNotExist) {
				return nil
			} else if err != nil {
				return fmt.Errorf("securing %s (mode %04o): %w; make it private with chmod %04o", path, was, err, now)
			}
			warn(path, was, now)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Find out now, not between the STS call and the keychain write.
	probe, err := os.CreateTemp(home, ".write-check-*")
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("state directory %s is not writable (%v): make it writable by you (chmod 0700 %s), or set TIMEBOUND_IAM_HOME to a directory you can write", home, err, home)
	}
	probe.Close()
	return os.Remove(probe.Name())
}

// Update sets keys in home/config. A key the file already holds keeps
// its value unless overwrite names it; comments and other keys stay as they
// are. It returns one line per key saying what happened. The read, the change
// and the atomic write happen under the file lock home/config.lock, so two
// processes updating the config never lose each other's keys.
func Update(home string, values map[string]string, overwrite map[string]bool) ([]string, error) {
	path := filepath.Join(home, FileName)
	lock := flock.New(path+".lock", flock.SetFlag(os.O_CREATE|os.O_RDWR), flock.SetPermissions(0o600))
	if err := lock.Lock(); err != nil {
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	defer lock.Unlock()
	profiles.RemoveStaleTemps(path)
	lines, err := readConfigLines(path)
	if err != nil {
		return nil, err
	}
	var report []string
	changed := false
	for _, key := range configKeys {
		want, ok := values[key]
		if !ok {
			continue
		}
		found := false
		for i, line := range lines {
			k, have, isKV := configLine(line)
			if !isKV || k != key {
				continue
			}
			found = true
			switch {
			case have == want:
				report = append(report, fmt.Sprintf("%s = %s (unchanged)", key, want))
			case !overwrite[key]:
				report = append(report, fmt.Sprintf("%s = %s (kept; set earlier)", key, have))
			default:
				lines[i] = key + " = " + want + "\n"
				changed = true
				report = append(report, fmt.Sprintf("%s = %s (was %s)", key, want, have))
			}
			break
		}
		if !found {
			if n := len(lines); n > 0 && !strings.HasSuffix(lines[n-1], "\n") {
				lines[n-1] += "\n"
			}
			lines = append(lines, key+" = "+want+"\n")
			changed = true
			report = append(report, fmt.Sprintf("%s = %s (added)", key, want))
		}
	}
	if changed {
		if err := profiles.WriteFileAtomic(path, []byte(strings.Join(lines, "")), 0o600); err != nil {
			return nil, err
		}
	}
	return report, nil
}

// FileValues returns the keys home/config itself holds, as
// [Update] reads them: without the environment, flags or defaults, so a
// caller can tell what the user set earlier. A missing file holds nothing.
func FileValues(home string) (map[string]string, error) {
	lines, err := readConfigLines(filepath.Join(home, FileName))
	if err != nil {
		return nil, err
	}
	values := map[string]string{}
	for _, line := range lines {
		if k, v, ok := configLine(line); ok && slices.Contains(configKeys, k) {
			if _, seen := values[k]; !seen {
				values[k] = v
			}
		}
	}
	return values, nil
}

// readConfigLines reads the config as lines that keep their line ends; a
// missing file has none.
func readConfigLines(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines, nil
}

// configLine splits a "key = value" line; comments and other lines are not
// key-value lines.
func configLine(line string) (key, value string, ok bool) {
	trimmed := strings.TrimSpace(line)
	if strings.HasPrefix(trimmed, "#") || strings.HasPrefix(trimmed, ";") {
		return "", "", false
	}
	k, v, ok := strings.Cut(line, "=")
	if !ok {
		return "", "", false
	}
	return strings.TrimSpace(k), strings.TrimSpace(v), true
}
