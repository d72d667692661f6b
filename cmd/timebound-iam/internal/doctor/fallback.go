package doctor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/timebound-iam/timebound-iam/grant"
	"gopkg.in/ini.v1"
)

func (d *Doctor) checkFallback() Check {
	var found []string
	if id := d.getenv("AWS_ACCESS_KEY_ID"); id != "" {
		found = append(found, fmt.Sprintf("AWS_ACCESS_KEY_ID (%s) is set in this environment", grant.MaskKey(id)))
	}
	path := d.getenv("AWS_SHARED_CREDENTIALS_FILE")
	if path == "" && d.UserHome != "" {
		path = filepath.Join(d.UserHome, ".aws", "credentials")
	}
	keys, err := keyProfiles(path)
	if err != nil {
		return warn(FallbackCheck, fmt.Sprintf("cannot check %s: %v", path, err), "make it readable, or check it by hand for aws_access_key_id")
	}
	if len(keys) > 0 {
		found = append(found, fmt.Sprintf("%s holds aws_access_key_id in %s", path, strings.Join(keys, ", ")))
	}
	if len(found) > 0 {
		return warn(FallbackCheck, strings.Join(found, "; "),
			"an agent running as you could fall back on these keys after a refused grant: run the agent with AWS_SHARED_CREDENTIALS_FILE "+
				"pointing to an empty file and without AWS_ACCESS_KEY_ID in its environment (timebound-iam setup agent writes that environment)")
	}
	if path == "" {
		return ok(FallbackCheck, "no AWS_ACCESS_KEY_ID in the environment")
	}
	return ok(FallbackCheck, fmt.Sprintf("no AWS_ACCESS_KEY_ID in the environment and no aws_access_key_id in %s", path))
}

// keyProfiles lists the profiles of a shared credentials file that hold an
// access key id, as "name (****WXYZ)". A missing file holds none.
func keyProfiles(path string) ([]string, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	// botocore lowercases option names, so AWS_ACCESS_KEY_ID counts too.
	f, err := ini.LoadSources(ini.LoadOptions{InsensitiveKeys: true, IgnoreInlineComment: true}, data)
	if err != nil {
		return nil, fmt.Errorf("not valid INI: %w", err)
	}
	var out []string
	for _, s := range f.Sections() {
		if id := strings.TrimSpace(s.Key("aws_access_key_id").String()); id != "" {
			out = append(out, fmt.Sprintf("%s (%s)", s.Name(), grant.MaskKey(id)))
		}
	}
	return out, nil
}
