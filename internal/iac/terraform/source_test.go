package terraform

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestApplyFixesBlockLines: a fix that names its block's lines (EndLine),
// and one applied through the Source LoadDirs kept, give exactly what the
// whole-file ApplyFixes gives, refusals included; lines that are not
// exactly the block fall back to the whole file.
func TestApplyFixesBlockLines(t *testing.T) {
	t.Parallel()
	files := map[string][]Fix{}
	for _, tc := range fixCases {
		for _, f := range tc.fixes {
			files[filepath.Join("testdata", "fix", tc.file)] = append(files[filepath.Join("testdata", "fix", tc.file)], f)
		}
	}
	refuse := filepath.Join("testdata", "fixrefuse", "refuse.tf")
	files[refuse] = []Fix{
		{StartLine: 5, Resource: "module.m.aws_kms_key.from_var[0]", EnableRotation: true},
		{StartLine: 9, Resource: "aws_kms_key.period_from_var", PeriodDays: 365},
		{StartLine: 22, Resource: "aws_kms_replica_key.replica", EnableRotation: true},
		{StartLine: 28, Resource: "aws_kms_key.no_rotation", EnableRotation: true, PeriodDays: 180},
	}
	for path, fixes := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		copyPath := filepath.Join(dir, "main.tf")
		if err := os.WriteFile(copyPath, src, 0o644); err != nil {
			t.Fatal(err)
		}
		res := LoadDirs([]string{dir}, Options{})
		s := res.Sources[copyPath]
		if s == nil || !bytes.Equal(s.Bytes(), src) {
			t.Fatalf("LoadDirs(%s): got source %v, want the file as read", path, s)
		}
		endLines := map[int]int{}
		for _, k := range res.Keys {
			endLines[k.StartLine] = k.EndLine
		}
		for _, f := range fixes {
			whole, wholeErr := ApplyFixes(copyPath, src, []Fix{f})
			f.EndLine = endLines[f.StartLine]
			if f.EndLine == 0 {
				t.Fatalf("%s: no key starts on line %d", path, f.StartLine)
			}
			variants := map[string]func() ([]byte, error){
				"block lines":    func() ([]byte, error) { return ApplyFixes(copyPath, src, []Fix{f}) },
				"source":         func() ([]byte, error) { return s.Apply(f) },
				"wrong end line": func() ([]byte, error) { g := f; g.EndLine++; return ApplyFixes(copyPath, src, []Fix{g}) },
			}
			for name, apply := range variants {
				got, err := apply()
				var wantRefused, gotRefused *RefusedError
				if !bytes.Equal(got, whole) || fmt.Sprint(err) != fmt.Sprint(wholeErr) || errors.As(err, &gotRefused) != errors.As(wholeErr, &wantRefused) {
					t.Errorf("%s %+v by %s: got\n%s\nerror %v; want what the whole file gives:\n%s\nerror %v", path, f, name, got, err, whole, wholeErr)
				}
			}
		}
	}
}
