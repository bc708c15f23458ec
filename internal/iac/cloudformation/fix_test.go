package cloudformation

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kmsrotor/kmsrotor/internal/check"
	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func fixes(period int, ids ...string) []Fix {
	out := make([]Fix, len(ids))
	for i, id := range ids {
		out[i] = Fix{Resource: id, EnableRotation: true, PeriodDays: period}
	}
	return out
}

func TestApplyFixes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string // golden: testdata/fix/<name>.golden
		input   string
		fixes   []Fix
		refused []string // resources whose fix must be refused
	}{
		{"block.yaml", "block.yaml", fixes(0, "Missing", "Off", "QuotedOff", "NoProperties", "NullProperties", "TildeProperties", "RotatingNoPeriod"), nil},
		{"block-period.yaml", "block.yaml", fixes(90, "Missing", "Off", "QuotedOff", "NoProperties", "NullProperties", "TildeProperties", "LongPeriod", "RotatingNoPeriod"), nil},
		{"deep.yaml", "deep.yaml", fixes(180, "Key", "Bare"), nil},
		{"flow.json", "flow.json", fixes(0, "Missing", "Inline", "Empty", "NoProperties", "NoPropertiesLast", "OneLine", "StringFalse"), nil},
		{"flow-period.json", "flow.json", fixes(120, "Missing", "Inline", "Empty", "NoProperties", "NoPropertiesLast", "OneLine", "StringFalse", "PeriodOnly", "PeriodOnlyInline"), []string{"Topic"}},
		{"yamlflow.yaml", "yamlflow.yaml", fixes(0, "FlowProps", "FlowResource", "MultiLineFlow"), nil},
		{"refused.yaml", "refused.yaml", append(fixes(0, "ByRef", "ByIf", "Shared", "Alias", "Fixable", "Replica"), Fix{Resource: "PeriodByRef", EnableRotation: true, PeriodDays: 90}),
			// ByRef is fixed at its parameter's Default.
			[]string{"ByIf", "Shared", "Alias", "Replica", "PeriodByRef"}},
		{"crlf.yaml", "crlf.yaml", fixes(90, "Key", "Bare"), nil},
		{"noeol.yaml", "noeol.yaml", fixes(0, "Key"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(filepath.Join("testdata/fix", tt.input))
			if err != nil {
				t.Fatal(err)
			}
			fs := tt.fixes
			if slices.Contains(tt.refused, "Topic") {
				fs = append(slices.Clone(fs), Fix{Resource: "Topic", EnableRotation: true})
			}
			out, err := ApplyFixes(tt.input, src, fs)
			checkRefusals(t, tt.input, err, tt.refused)

			golden := filepath.Join("testdata/fix", tt.name+".golden")
			if *update {
				if err := os.WriteFile(golden, out, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(out, want) {
				t.Errorf("ApplyFixes(%s):\ngot:\n%s\nwant:\n%s", tt.input, out, want)
			}

			checkFixed(t, tt.input, src, out, fs, tt.refused)

			again, err := ApplyFixes(tt.input, out, fs)
			checkRefusals(t, tt.input+" (second run)", err, tt.refused)
			if !bytes.Equal(again, out) {
				t.Errorf("ApplyFixes is not idempotent on %s:\nfirst:\n%s\nsecond:\n%s", tt.input, out, again)
			}
		})
	}
}

// checkRefusals checks that exactly the listed resources were refused.
func checkRefusals(t *testing.T, file string, err error, refused []string) {
	t.Helper()
	var got []string
	if err != nil {
		got = append(got, strings.Split(err.Error(), "\n")...)
	}
	if len(got) != len(refused) {
		t.Errorf("ApplyFixes(%s) refusals: got %q, want one for each of %v", file, got, refused)
		return
	}
	for _, r := range refused {
		if !slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, ": "+r+":") || strings.Contains(s, " "+r+" ") }) {
			t.Errorf("ApplyFixes(%s) refusals: got %q, want one naming %s", file, got, r)
		}
	}
	if err != nil && len(refused) > 0 && !slices.Contains(refused, "Replica") && !slices.Contains(refused, "Topic") {
		var re *RefusedError
		if !errors.As(err, &re) {
			t.Errorf("ApplyFixes(%s): got error %v, want a *RefusedError", file, err)
		}
	}
}

// checkFixed re-parses the fixed file: every fixed key now passes with the
// period asked for, every other key is as it was, nothing is diagnosed.
func checkFixed(t *testing.T, file string, before, after []byte, fs []Fix, refused []string) {
	t.Helper()
	r := Parse(file, after)
	if !r.Template || len(r.Diags) > 0 {
		t.Fatalf("fixed %s: template %v, diagnostics %v; want a clean template", file, r.Template, r.Diags)
	}
	old := map[string]kmskey.Key{}
	for _, k := range Parse(file, before).Keys {
		old[k.Resource] = k
	}
	for _, k := range r.Keys {
		// A replica is fixed through its primary.
		target := k.Resource
		if k.IsReplica() && k.PrimaryResource != "" {
			target = k.PrimaryResource
		}
		i := slices.IndexFunc(fs, func(f Fix) bool { return f.Resource == target })
		if i < 0 || slices.Contains(refused, target) {
			if got, want := facts(k), facts(old[k.Resource]); got != want {
				t.Errorf("fixed %s: %s was not to change: got %s, want %s", file, k.Resource, got, want)
			}
			continue
		}
		f := fs[i]
		policy := check.Policy{MaxRotationDays: 365}
		if f.PeriodDays > 0 {
			policy.MaxRotationDays = f.PeriodDays
		}
		fd := check.Evaluate(k, policy)
		if fd.Status != check.StatusPass || (f.PeriodDays > 0 && k.Rotation.PeriodDays != f.PeriodDays) {
			t.Errorf("fixed %s: %s is %s %s (%s) with period %d; want PASS with period %d", file, k.Resource, fd.Status, fd.Reason, fd.Message, k.Rotation.PeriodDays, f.PeriodDays)
		}
	}
}

// facts prints a key without its lines, which a fix above it moves.
func facts(k kmskey.Key) string {
	k.StartLine, k.EndLine = 0, 0
	return fmt.Sprintf("%+v", k)
}

func TestApplyFixesErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src string
		fix       Fix
		want      string
	}{
		{"not a template", "name: x\n", Fix{Resource: "K", EnableRotation: true}, "not a CloudFormation template"},
		{"does not parse", "Resources: [\n", Fix{Resource: "K", EnableRotation: true}, "parse"},
		{"no such resource", "Resources:\n  K:\n    Type: AWS::KMS::Key\n", Fix{Resource: "Other", EnableRotation: true}, "no resource Other"},
		{"period out of range", "Resources:\n  K:\n    Type: AWS::KMS::Key\n", Fix{Resource: "K", EnableRotation: true, PeriodDays: 30}, "outside the range"},
		{"not a boolean", "Resources:\n  K:\n    Type: AWS::KMS::Key\n    Properties:\n      EnableKeyRotation: yes\n", Fix{Resource: "K", EnableRotation: true}, "not a boolean"},
		{"computed properties", "Resources:\n  K:\n    Type: AWS::KMS::Key\n    Properties: !If [C, {}, {}]\n", Fix{Resource: "K", EnableRotation: true}, "intrinsic function"},
	}
	for _, tt := range tests {
		out, err := ApplyFixes("t.yaml", []byte(tt.src), []Fix{tt.fix})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: ApplyFixes(%q, %+v): got error %v, want one containing %q", tt.name, tt.src, tt.fix, err, tt.want)
		}
		if out != nil && !bytes.Equal(out, []byte(tt.src)) {
			t.Errorf("%s: ApplyFixes changed the file on error: got %q", tt.name, out)
		}
	}
}
