package policy

import "testing"

// BenchmarkScopedPolicyFiveReadOnly times the session policy of a typical
// five-service read_only grant, fitting included: the slices are fitted
// when the catalog is generated, so a grant pays only for the layout choice.
func BenchmarkScopedPolicyFiveReadOnly(b *testing.B) {
	access := []Access{{"s3", ReadOnly}, {"ec2", ReadOnly}, {"lambda", ReadOnly}, {"logs", ReadOnly}, {"iam", ReadOnly}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := BuildScoped(access, nil, DialectAWS); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScopedPolicyTooLarge times the refusal of a request that cannot
// fit, which builds and measures a policy per service and per trial group.
func BenchmarkScopedPolicyTooLarge(b *testing.B) {
	var access []Access
	for _, s := range []string{"glue", "datazone", "lightsail", "cleanrooms", "logs", "ec2"} {
		access = append(access, Access{s, ReadOnly})
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := BuildScoped(access, nil, DialectAWS); err == nil {
			b.Fatal("fits")
		}
	}
}
