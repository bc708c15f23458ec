package report

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/kmsrotor/kmsrotor/internal/check"
)

func TestJSONGolden(t *testing.T) {
	t.Parallel()
	for _, tc := range docs {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := write(t, FormatJSON, tc.doc(), Options{})
			golden(t, "json/"+tc.name+".json", got)
		})
	}
}

func TestJSONRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tc := range docs {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want := tc.doc()
			out := write(t, FormatJSON, want, Options{})
			if !bytes.HasSuffix(out, []byte("}\n")) {
				t.Errorf("%s: got output ending %q, want a final newline after the object", tc.name, out[max(0, len(out)-10):])
			}
			var got Document
			dec := json.NewDecoder(bytes.NewReader(out))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&got); err != nil {
				t.Fatalf("%s: unmarshal: got error %v, want nil", tc.name, err)
			}
			if !reflect.DeepEqual(&got, want) {
				gotJSON, _ := json.MarshalIndent(&got, "", "  ")
				t.Errorf("%s: round trip changed the document\ngot:\n%s\nwant:\n%s", tc.name, gotJSON, out)
			}
		})
	}
}

// TestJSONNeverNull writes a document nobody finalized: findings, errors and
// aliases still come out as lists.
func TestJSONNeverNull(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		doc  *Document
		want []string
	}{
		{"nil lists", &Document{Scan: Scan{Kind: "aws"}}, []string{`"findings": []`, `"errors": []`, `"schema_version": 1`}},
		{"nil aliases", &Document{Findings: []check.Finding{{CheckID: check.CheckID, Status: check.StatusPass}}}, []string{`"aliases": []`, `"errors": []`}},
	}
	for _, tc := range tests {
		got := string(write(t, FormatJSON, tc.doc, Options{}))
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: got\n%s\nwant it to contain %s", tc.name, got, w)
			}
		}
		if strings.Contains(got, "null") && tc.name == "nil lists" {
			t.Errorf("%s: got\n%s\nwant no null", tc.name, got)
		}
	}
	if tests[1].doc.Findings[0].Aliases != nil {
		t.Errorf("writeJSON changed the caller's finding: got aliases %v, want nil", tests[1].doc.Findings[0].Aliases)
	}
}

// TestJSONFields checks that every field DESIGN.md lists is in the document:
// the top level, every finding's common fields, the live or IaC identity,
// and, across the findings, every optional rotation and key fact.
func TestJSONFields(t *testing.T) {
	t.Parallel()
	top := []string{"schema_version", "tool.name", "tool.version", "scan.kind", "scan.started_at", "scan.finished_at",
		"scan.duration_ms", "scan.complete", "scan.policy.max_rotation_days", "scan.policy.rotation_grace_days",
		"scan.policy.include_disabled", "summary.total", "summary.pass", "summary.fail", "summary.manual",
		"summary.skipped", "summary.error", "summary.muted", "findings", "errors"}
	every := []string{"status", "reason", "message", "severity", "check_id", "aliases", "rotation", "rotation.enabled",
		"key", "remediation", "remediation.text", "compliance", "muted"}
	live := []string{"account_id", "region", "key_id", "key_arn"}
	iac := []string{"file", "start_line", "end_line", "resource"}
	somewhere := map[string][]string{
		"live": {"rotation.period_days", "rotation.next_rotation_date", "rotation.last_rotation_date", "key.manager", "key.spec",
			"key.usage", "key.origin", "key.state", "key.multi_region_type", "key.primary_key_arn", "remediation.cli",
			"error.operation", "error.code"},
		"iac": {"key.manager", "key.spec", "key.origin", "key.state", "key.multi_region_type", "key.primary_resource",
			"remediation.terraform", "remediation.cloudformation"},
	}
	for _, tc := range docs[:2] {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var doc map[string]any
			if err := json.Unmarshal(write(t, FormatJSON, tc.doc(), Options{}), &doc); err != nil {
				t.Fatal(err)
			}
			for _, p := range top {
				if !has(doc, p) {
					t.Errorf("%s document: got no %s, want it present", tc.name, p)
				}
			}
			ident, other := live, iac
			if tc.name == "iac" {
				ident, other = iac, live
			}
			seen := map[string]bool{}
			for i, f := range doc["findings"].([]any) {
				f := f.(map[string]any)
				for _, p := range slicesConcat(every, ident) {
					if !has(f, p) {
						t.Errorf("%s finding %d (%v): got no %s, want it present", tc.name, i, f["reason"], p)
					}
				}
				for _, p := range other {
					if has(f, p) {
						t.Errorf("%s finding %d: got %s, want it absent from a %s finding", tc.name, i, p, tc.name)
					}
				}
				for _, p := range somewhere[tc.name] {
					if has(f, p) {
						seen[p] = true
					}
				}
			}
			for _, p := range somewhere[tc.name] {
				if !seen[p] {
					t.Errorf("%s document: got no finding with %s, want at least one", tc.name, p)
				}
			}
			if errs := doc["errors"].([]any); len(errs) != 1 || !has(errs[0].(map[string]any), "code") || !has(errs[0].(map[string]any), "message") {
				t.Errorf("%s document: got errors %v, want one entry with code and message", tc.name, errs)
			}
		})
	}
}

func slicesConcat(a, b []string) []string { return append(append([]string{}, a...), b...) }

// has reports whether the dotted path exists in a decoded JSON object.
func has(obj map[string]any, path string) bool {
	head, rest, nested := strings.Cut(path, ".")
	v, ok := obj[head]
	if !ok {
		return false
	}
	if !nested {
		return true
	}
	m, ok := v.(map[string]any)
	return ok && has(m, rest)
}
