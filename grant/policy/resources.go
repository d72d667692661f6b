package policy

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/timebound-iam/timebound-iam/profiles"
)

// MaxARN bounds one resource ARN, in characters. Long before it, the 2,048
// characters of the whole session policy bind.
const MaxARN = 1024

// partitions are the AWS partitions an ARN may name.
var partitions = []string{"aws", "aws-cn", "aws-us-gov"}

// ResourceARNs checks a grant's resources against its services and returns
// the ARNs the session policy scopes its Allow statements to, in order and
// without repeats. Each resource is an ARN,
// arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE, whose SERVICE is one of the
// services in access; or, when s3 is granted, a bucket name, which stands
// for the bucket and its objects (arn:aws:s3:::NAME and arn:aws:s3:::NAME/*).
// An ARN may hold the wildcards * and ? outside its partition and service,
// as IAM allows, and only letters, digits and / : * ? . _ - + = , @ in all,
// at most [MaxARN] of them. The error names the first bad resource by its
// index.
func ResourceARNs(access []Access, resources []string) ([]string, error) {
	var out []string
	add := func(arn string) {
		if !slices.Contains(out, arn) {
			out = append(out, arn)
		}
	}
	granted := func(prefix string) bool {
		return slices.ContainsFunc(access, func(a Access) bool { return a.Service == prefix })
	}
	for i, res := range resources {
		if !strings.HasPrefix(res, "arn:") {
			if !validBucket(res) {
				return nil, fmt.Errorf("resources[%d] %q is not an ARN (arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE) or an S3 bucket name (3-63 lowercase letters, digits, dots and hyphens)", i, res)
			}
			if !granted("s3") {
				return nil, fmt.Errorf("resources[%d] %q is an S3 bucket name but the grant has no s3: add s3 to services, or give the ARN of a granted service's resource", i, res)
			}
			add("arn:aws:s3:::" + res)
			add("arn:aws:s3:::" + res + "/*")
			continue
		}
		if err := checkARN(res); err != nil {
			return nil, fmt.Errorf("resources[%d] %q is not an ARN: %s", i, res, err)
		}
		service := strings.Split(res, ":")[2]
		if !granted(service) {
			return nil, fmt.Errorf("resources[%d] %q is a resource of service %q, which the grant does not include: add it to services, or drop the resource", i, res, service)
		}
		add(res)
	}
	return out, nil
}

// checkARN says what is wrong with arn, or returns nil.
func checkARN(arn string) error {
	if len(arn) > MaxARN {
		return fmt.Errorf("it is %d characters; at most %d", len(arn), MaxARN)
	}
	if !profiles.SafeResource(arn) {
		return errors.New("use only letters, digits and / : * ? . _ - + = , @ (no spaces, quotes or control characters)")
	}
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[5] == "" {
		return errors.New("it needs six parts, arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE, with a resource")
	}
	if !slices.Contains(partitions, parts[1]) {
		return fmt.Errorf("partition %q is not aws, aws-cn or aws-us-gov", parts[1])
	}
	if parts[2] == "" || !only(parts[2], func(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' }) {
		return fmt.Errorf("service %q is not a service prefix such as s3", parts[2])
	}
	return nil
}

// validBucket reports whether name follows S3's bucket naming rules: 3-63
// lowercase letters, digits, dots and hyphens, starting and ending with a
// letter or digit, with no two dots in a row.
func validBucket(name string) bool {
	alnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
	return len(name) >= 3 && len(name) <= 63 &&
		only(name, func(c byte) bool { return alnum(c) || c == '.' || c == '-' }) &&
		alnum(name[0]) && alnum(name[len(name)-1]) && !strings.Contains(name, "..")
}

// only reports whether every byte of s satisfies ok.
func only(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}
