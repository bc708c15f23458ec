package terraform

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

var fixCases = []struct {
	file  string
	fixes []Fix
}{
	{"absent.tf", []Fix{{StartLine: 11, Resource: "aws_kms_key.main", EnableRotation: true}}},
	{"literal_false.tf", []Fix{{StartLine: 1, Resource: "aws_kms_key.legacy", EnableRotation: true}}},
	{"period.tf", []Fix{{StartLine: 1, Resource: "aws_kms_key.slow", PeriodDays: 365}}},
	{"absent_period.tf", []Fix{{StartLine: 1, Resource: "aws_kms_key.k", EnableRotation: true, PeriodDays: 365}}},
	{"oneline.tf", []Fix{
		{StartLine: 1, Resource: "aws_kms_key.empty", EnableRotation: true},
		{StartLine: 3, Resource: "aws_kms_key.one", EnableRotation: true, PeriodDays: 180},
		{StartLine: 5, Resource: "aws_kms_key.off", EnableRotation: true},
	}},
	{"blocks_only.tf", []Fix{
		{StartLine: 1, Resource: "aws_kms_key.guarded", EnableRotation: true},
		{StartLine: 7, Resource: "aws_kms_key.tagged", EnableRotation: true},
	}},
	{"counted.tf", []Fix{
		// Two instances of one block, one of them through a module: one edit.
		{StartLine: 1, Resource: "aws_kms_key.per_tenant[0]", EnableRotation: true},
		{StartLine: 1, Resource: `module.m["a.b"].aws_kms_key.per_tenant[2]`, EnableRotation: true},
		{StartLine: 6, Resource: "aws_kms_key.null_rotation", EnableRotation: true},
	}},
	{"crlf.tf", []Fix{{StartLine: 1, Resource: "aws_kms_key.windows", EnableRotation: true}}},
}

// TestApplyFixesGolden checks each fixed file against its golden file, that a
// second run changes nothing, that every byte outside the fixed blocks is
// kept, and that loading the fixed file gives keys that rotate.
func TestApplyFixesGolden(t *testing.T) {
	t.Parallel()
	for _, tc := range fixCases {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join("testdata", "fix", tc.file)
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ApplyFixes(path, src, tc.fixes)
			if err != nil {
				t.Fatalf("ApplyFixes(%s) error: %v", tc.file, err)
			}
			golden := path + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read golden (run go test -update): %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("ApplyFixes(%s):\ngot:\n%s\nwant:\n%s", tc.file, got, want)
			}

			// A second --fix run reads the fixed file again: the blocks may
			// have moved down.
			fixedFile, diags := hclsyntax.ParseConfig(got, path, hcl.InitialPos)
			if diags.HasErrors() {
				t.Fatalf("fixed %s does not parse: %v", tc.file, diags)
			}
			var second []Fix
			for _, f := range tc.fixes {
				typ, name, _ := resourceInAddress(f.Resource)
				f.StartLine = findResource(fixedFile.Body.(*hclsyntax.Body), typ, name).TypeRange.Start.Line
				second = append(second, f)
			}
			again, err := ApplyFixes(path, got, second)
			if err != nil {
				t.Fatalf("second ApplyFixes(%s) error: %v", tc.file, err)
			}
			if !bytes.Equal(again, got) {
				t.Errorf("second ApplyFixes(%s) changed the file:\ngot:\n%s\nwant:\n%s", tc.file, again, got)
			}

			checkOutsideBlocksKept(t, path, src, got, tc.fixes)

			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "main.tf"), got, 0o644); err != nil {
				t.Fatal(err)
			}
			res := LoadDirs([]string{dir}, Options{})
			if len(res.Diags) > 0 {
				t.Errorf("reload of fixed %s: diagnostics %+v, want none", tc.file, res.Diags)
			}
			for _, f := range tc.fixes {
				_, name, _ := resourceInAddress(f.Resource)
				var found bool
				for _, k := range res.Keys {
					if !strings.HasPrefix(k.Resource, "aws_kms_key."+name) {
						continue
					}
					found = true
					if k.Rotation.Enabled != kmskey.True {
						t.Errorf("reload of fixed %s: %s rotation = %v, want true", tc.file, k.Resource, k.Rotation.Enabled)
					}
					if f.PeriodDays > 0 && k.Rotation.PeriodDays != f.PeriodDays {
						t.Errorf("reload of fixed %s: %s period = %d, want %d", tc.file, k.Resource, k.Rotation.PeriodDays, f.PeriodDays)
					}
				}
				if !found {
					t.Errorf("reload of fixed %s: no key aws_kms_key.%s", tc.file, name)
				}
			}
		})
	}
}

// checkOutsideBlocksKept checks that the text between the fixed blocks is
// byte-identical, in order.
func checkOutsideBlocksKept(t *testing.T, path string, src, got []byte, fixes []Fix) {
	t.Helper()
	f, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	fixed := make(map[*hclsyntax.Block]bool)
	for _, fx := range fixes {
		typ, name, _ := resourceInAddress(fx.Resource)
		fixed[findResource(f.Body.(*hclsyntax.Body), typ, name)] = true
	}
	at := 0
	var segments [][]byte
	for _, b := range f.Body.(*hclsyntax.Body).Blocks {
		if fixed[b] {
			segments = append(segments, src[at:b.TypeRange.Start.Byte])
			at = b.CloseBraceRange.End.Byte
		}
	}
	segments = append(segments, src[at:])
	first, last := segments[0], segments[len(segments)-1]
	if !bytes.HasPrefix(got, first) || !bytes.HasSuffix(got, last) || len(got) < len(first)+len(last) {
		t.Errorf("%s: text before the first or after the last fixed block changed:\n%s", path, got)
		return
	}
	middle := got[len(first) : len(got)-len(last)]
	cursor := 0
	for i, seg := range segments[1 : len(segments)-1] {
		j := bytes.Index(middle[cursor:], seg)
		if j < 0 {
			t.Errorf("%s: text between fixed blocks changed: segment %d %q not found in order in\n%s", path, i+1, seg, got)
			return
		}
		cursor += j + len(seg)
	}
}

func TestApplyFixesRefuses(t *testing.T) {
	t.Parallel()
	path := filepath.Join("testdata", "fixrefuse", "refuse.tf")
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		fix     Fix
		want    string // a fragment of the error
		refused string // the RefusedError's Argument, or "-" when it is not one
	}{
		{"rotation from a variable", Fix{StartLine: 5, Resource: "module.m.aws_kms_key.from_var[0]", EnableRotation: true}, "fix testdata/fixrefuse/refuse.tf: module.m.aws_kms_key.from_var[0]: enable_key_rotation is set by an expression (var.rotate), not a literal; set it by hand", "enable_key_rotation"},
		{"period from a variable", Fix{StartLine: 9, Resource: "aws_kms_key.period_from_var", PeriodDays: 365}, "rotation_period_in_days is set by an expression (var.period)", "rotation_period_in_days"},
		{"replica", Fix{StartLine: 22, Resource: "aws_kms_replica_key.replica", EnableRotation: true}, "only aws_kms_key blocks are rewritten", ""},
		{"external key", Fix{StartLine: 26, Resource: "aws_kms_external_key.imported", EnableRotation: true}, "only aws_kms_key blocks are rewritten", ""},
		{"stale line", Fix{StartLine: 3, Resource: "aws_kms_key.no_rotation", EnableRotation: true}, "starts on line 28, not 3", "-"},
		{"absent resource", Fix{StartLine: 1, Resource: "aws_kms_key.nowhere", EnableRotation: true}, "is not in the file", "-"},
		{"period without rotation", Fix{StartLine: 28, Resource: "aws_kms_key.no_rotation", PeriodDays: 365}, "without enabling rotation", "-"},
		{"period out of range", Fix{StartLine: 28, Resource: "aws_kms_key.no_rotation", EnableRotation: true, PeriodDays: 30}, "outside the range", "-"},
		{"bad address", Fix{StartLine: 28, Resource: "module.", EnableRotation: true}, "bad resource address", "-"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ApplyFixes(path, src, []Fix{tc.fix})
			if err == nil {
				t.Fatalf("ApplyFixes(%+v) = %d bytes, nil error; want an error containing %q", tc.fix, len(got), tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ApplyFixes(%+v) error = %q, want it to contain %q", tc.fix, err, tc.want)
			}
			var re *RefusedError
			switch isRefused := errors.As(err, &re); {
			case tc.refused == "-" && isRefused:
				t.Errorf("ApplyFixes(%+v) error is a *RefusedError %+v, want another error", tc.fix, re)
			case tc.refused != "-" && !isRefused:
				t.Errorf("ApplyFixes(%+v) error %T is not a *RefusedError", tc.fix, err)
			case isRefused && (re.Argument != tc.refused || re.Resource != tc.fix.Resource || re.File != path):
				t.Errorf("ApplyFixes(%+v) refused %+v, want argument %q, resource %q, file %q", tc.fix, re, tc.refused, tc.fix.Resource, path)
			}
		})
	}

	conflict := []Fix{
		{StartLine: 28, Resource: "aws_kms_key.no_rotation[0]", EnableRotation: true, PeriodDays: 180},
		{StartLine: 28, Resource: "aws_kms_key.no_rotation[1]", EnableRotation: true, PeriodDays: 365},
	}
	if _, err := ApplyFixes(path, src, conflict); err == nil || !strings.Contains(err.Error(), "conflicting rotation periods") {
		t.Errorf("ApplyFixes(conflicting periods) error = %v, want conflicting rotation periods", err)
	}
	jsonPath := filepath.Join("testdata", "fixrefuse", "refuse.tf.json")
	if _, err := ApplyFixes(jsonPath, []byte(`{"resource":{"aws_kms_key":{"j":{}}}}`), []Fix{{Resource: "aws_kms_key.j", EnableRotation: true}}); err == nil || !strings.Contains(err.Error(), "only native .tf files") {
		t.Errorf("ApplyFixes(.tf.json) error = %v, want only native .tf files", err)
	}
	if _, err := ApplyFixes(path, []byte("resource \"aws_kms_key\" {"), []Fix{{Resource: "aws_kms_key.x", EnableRotation: true}}); err == nil || !strings.Contains(err.Error(), "does not parse") {
		t.Errorf("ApplyFixes(broken file) error = %v, want does not parse", err)
	}
	// Nothing asked: the file comes back as it was.
	if got, err := ApplyFixes(path, src, nil); err != nil || !bytes.Equal(got, src) {
		t.Errorf("ApplyFixes(no fixes) = %q, %v; want the source unchanged, nil", got, err)
	}
}
