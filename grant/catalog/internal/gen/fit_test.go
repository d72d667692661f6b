package main

import (
	"slices"
	"strings"
	"testing"
)

func TestFitPatterns(t *testing.T) {
	// Region a:Get* as the data expands it: every a:Get action there is.
	getRegion := []region{{stem: "a:get", actions: []string{"a:GetBucketAcl", "a:GetBucketPolicy", "a:GetBucketTagging", "a:GetObject", "a:GetObjectAcl"}}}
	known := []string{"a:GetBucketAcl", "a:GetBucketPolicy", "a:GetBucketTagging", "a:GetObject", "a:GetObjectAcl", "a:ListBuckets", "a:PutObject"}
	tests := []struct {
		name     string
		patterns []string
		regions  []region
		want     []string
	}{
		{"merge under a complete wildcard", []string{"a:GetBucketAcl", "a:GetBucketPolicy", "a:GetBucketTagging", "a:ListBuckets"}, getRegion,
			[]string{"a:GetBucket*", "a:ListBuckets"}},
		// a:GetObject is not allowed, so neither a:Get* nor a:GetObject*
		// may stand in for a:GetObjectAcl.
		{"never over an action not allowed", []string{"a:GetBucketAcl", "a:GetObjectAcl"}, getRegion,
			[]string{"a:GetBucketAcl", "a:GetObjectAcl"}},
		{"the whole region", []string{"a:GetBucketAcl", "a:GetBucketPolicy", "a:GetBucketTagging", "a:GetObject", "a:GetObjectAcl"}, getRegion,
			[]string{"a:Get*"}},
		// Without a region nothing says which a:GetBucket actions exist.
		{"no region, no merge", []string{"a:GetBucketAcl", "a:GetBucketPolicy", "a:GetBucketTagging"}, nil,
			[]string{"a:GetBucketAcl", "a:GetBucketPolicy", "a:GetBucketTagging"}},
		{"drop what a pattern covers", []string{"a:Get*", "a:GetObject", "a:getobjectacl", "a:ListBuckets"}, nil,
			[]string{"a:Get*", "a:ListBuckets"}},
		{"case-insensitive duplicates", []string{"a:ListBuckets", "a:listbuckets"}, nil, []string{"a:ListBuckets"}},
		// One for one is no merge.
		{"one pattern is left alone", []string{"a:GetBucketAcl", "a:ListBuckets"}, []region{{stem: "a:getbucketa", actions: []string{"a:GetBucketAcl"}}},
			[]string{"a:GetBucketAcl", "a:ListBuckets"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := fitPatterns(tt.patterns, known, tt.regions)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("fitPatterns(%q) = %q, want %q", tt.patterns, got, tt.want)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		p, s string
		want bool
	}{
		{"s3:Get*", "s3:GetObject", true},
		{"s3:Get*", "s3:getobject", true},
		{"s3:Get*", "s3:List", false},
		{"iam:Update*Key", "iam:UpdateAccessKey", true},
		{"iam:Update*Key", "iam:UpdateAccessKeys", false},
		{"a?c", "abc", true},
		{"a?c", "a*c", false}, // ? cannot stand for a wildcard
		{"s3:Get*", "s3:GetBucket*", true},
		{"s3:GetBucket*", "s3:Get*", false},
		{"*", "", true},
	}
	for _, tt := range tests {
		if got := match(tt.p, tt.s); got != tt.want {
			t.Errorf("match(%q, %q) = %v, want %v", tt.p, tt.s, got, tt.want)
		}
	}
}

func TestRegionsOf(t *testing.T) {
	p := &policy{expansions: map[string][]string{
		"a:Get*":         {"a:GetX"},
		"a:List*":        {"a:ListY"},
		"a:Update*Key":   {"a:UpdateKey"}, // a wildcard inside: not a region
		"a:Describe":     {"a:Describe"},  // no wildcard: not a region
		"b:Get*":         {"b:GetZ"},
		"a:BatchGetFoo*": {"a:BatchGetFooBar"},
	}}
	// A known action the expansion missed (another data date) joins its
	// region, so that no merge can jump over it.
	got := regionsOf("a", []string{"a:GetNew"}, p)
	var stems []string
	for _, r := range got {
		stems = append(stems, r.stem+"="+strings.Join(r.actions, ","))
	}
	want := []string{"a:batchgetfoo=a:BatchGetFooBar", "a:get=a:GetNew,a:GetX", "a:list=a:ListY"}
	if !slices.Equal(stems, want) {
		t.Errorf("regionsOf = %q, want %q", stems, want)
	}
}
