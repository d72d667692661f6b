package granttest

import "testing"

func TestActionCovers(t *testing.T) {
	tests := []struct {
		p, q string
		want bool
	}{
		{"s3:*", "s3:GetObject", true},
		{"s3:Get*", "s3:GetObject*", true},
		{"s3:get*", "S3:GetObject", true},
		{"s3:Get*", "s3:*", false},
		{"s3:*Object", "s3:Get*", false},
		{"s3:GetObject", "s3:GetObjectAcl", false},
		{"s3:Get?bject", "s3:GetObject", true},
		{"s3:Get?bject", "s3:Get*bject", false},
		{"s3express:CreateSession", "s3express:CreateSession", true},
		{"s3:*", "s3express:CreateSession", false},
	}
	for _, tt := range tests {
		t.Run(tt.p+" "+tt.q, func(t *testing.T) {
			if got := ActionCovers(tt.p, tt.q); got != tt.want {
				t.Errorf("ActionCovers(%q, %q) = %v, want %v", tt.p, tt.q, got, tt.want)
			}
		})
	}
}
