package main

import (
	"strings"
	"testing"
)

func TestParsePolicyRejects(t *testing.T) {
	const head = `{"version":"v1","updatedate":"2026-01-02T03:04:05+00:00","document":{"Version":"2012-10-17","Statement":[`
	const tail = `]}}`
	tests := []struct {
		name, statement, wantErr string
	}{
		{"deny", `{"Effect":"Deny","Action":"s3:Get*","Resource":"*"}`, "only Allow"},
		{"not action", `{"Effect":"Allow","NotAction":"s3:Put*","Resource":"*"}`, "NotAction"},
		{"scoped resource", `{"Effect":"Allow","Action":"s3:Get*","Resource":"arn:aws:s3:::b/*"}`, "Resource"},
		{"unknown key", `{"Effect":"Allow","Action":"s3:Get*","Resource":"*","Extra":1}`, "unknown field"},
		{"uppercase prefix", `{"Effect":"Allow","Action":"S3:Get*","Resource":"*"}`, "malformed action"},
		{"no colon", `{"Effect":"Allow","Action":"s3Get","Resource":"*"}`, "malformed action"},
		{"empty condition", `{"Effect":"Allow","Action":"s3:Get*","Resource":"*","Condition":{}}`, "empty Condition"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parsePolicy([]byte(head+tt.statement+tail), false)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parsePolicy error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestParsePolicyAccepts(t *testing.T) {
	raw := `{"version":"v7","updatedate":"2026-01-02T23:04:05-05:00","document":{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["b:List*","a:Get*","a:Get*"],"Resource":"*"},
		{"Effect":"Allow","Action":"c:Open","Resource":["*"],"Condition":{"Z":{"k":1.50},"A":{"c:x":"<y>"}}}]}}`
	p, err := parsePolicy([]byte(raw), false)
	if err != nil {
		t.Fatal(err)
	}
	if p.version != "v7" || p.date != "2026-01-03" {
		t.Errorf("version, date = %q, %q; want v7, 2026-01-03 (UTC)", p.version, p.date)
	}
	services, err := buildServices(p, map[string]info{"a": {"Service A", "does a"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(services) != 3 || services[0].prefix != "a" || services[2].prefix != "c" {
		t.Fatalf("services = %+v", services)
	}
	if got := strings.Join(services[0].readOnly, ","); got != "a:Get*" {
		t.Errorf("a ReadOnly = %s, want deduplicated a:Get*", got)
	}
	if services[0].name != "Service A" || services[1].name != "AWS b" {
		t.Errorf("names = %q, %q", services[0].name, services[1].name)
	}
	c := services[2]
	if len(c.readOnly) != 0 || len(c.conditional) != 1 || c.conditional[0].condition != `{"A":{"c:x":"<y>"},"Z":{"k":1.50}}` {
		t.Errorf("c = %+v; want only a conditional with sorted keys, unescaped <>, number kept as written", c)
	}
}

func TestBuildServicesRejectsDrift(t *testing.T) {
	p := &policy{version: "v1", date: "2026-01-01", unconditional: []string{"s3:Get*"}}
	tests := []struct {
		name    string
		known   map[string]info
		wantErr string
	}{
		{"prefix not in data", map[string]info{"s3": {"Amazon S3", "x"}, "gone": {"Gone", "x"}}, "gone"},
		{"empty description", map[string]info{"s3": {"Amazon S3", ""}}, "required"},
		{"name equals fallback", map[string]info{"s3": {"AWS s3", "x"}}, "fallback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := buildServices(p, tt.known)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("buildServices error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestViewOnlyOmitsScoped(t *testing.T) {
	raw := `{"version":"v2","updatedate":"2026-01-02T03:04:05+00:00","document":{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["a:List*","z:Look"],"Resource":"*"},
		{"Sid":"Scoped","Effect":"Allow","Action":"b:GET","Resource":["arn:aws:b:::/x"]}]}}`
	if _, err := parsePolicy([]byte(raw), false); err == nil || !strings.Contains(err.Error(), "Resource") {
		t.Errorf("parsePolicy(omitScoped=false) error = %v, want one about Resource", err)
	}
	v, err := parsePolicy([]byte(raw), true)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(v.scoped, ";") != "Scoped (b:GET)" {
		t.Errorf("scoped = %q, want the Sid and its actions", v.scoped)
	}
	services := []service{{prefix: "a", readOnly: []string{"a:Get*"}}, {prefix: "b", readOnly: []string{"b:GET"}}}
	orphans := addViewOnly(services, v)
	if strings.Join(orphans, ",") != "z" {
		t.Errorf("orphans = %q, want [z]", orphans)
	}
	if strings.Join(services[0].viewOnly, ",") != "a:List*" || len(services[1].viewOnly) != 0 {
		t.Errorf("viewOnly = %q, %q; want a:List* and nothing for the scoped b", services[0].viewOnly, services[1].viewOnly)
	}
}
