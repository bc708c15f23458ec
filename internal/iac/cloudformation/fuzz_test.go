package cloudformation

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/kmsrotor/kmsrotor/internal/iac/limit"
)

// seeds adds every corpus and fix input to a fuzz target.
func seeds(f *testing.F) {
	for _, dir := range []string{"testdata/corpus", "testdata/fix"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, file := range files {
			if filepath.Ext(file) == ".golden" {
				continue
			}
			src, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(src)
		}
	}
}

// FuzzParse: Parse never panics, and every key's lines lie in the file.
func FuzzParse(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, src []byte) {
		r := Parse("f.yaml", src)
		// YAML's line breaks: LF, CRLF and a lone CR.
		lines := bytes.Count(bytes.ReplaceAll(src, []byte("\r\n"), []byte("\n")), []byte("\n")) + bytes.Count(src, []byte("\r")) - bytes.Count(src, []byte("\r\n")) + 1
		for _, k := range r.Keys {
			if k.StartLine < 1 || k.EndLine < k.StartLine || k.EndLine > lines {
				t.Errorf("key %s has lines %d-%d in a file of %d lines", k.Resource, k.StartLine, k.EndLine, lines)
			}
		}
		if !r.Template && len(r.Keys) > 0 {
			t.Errorf("keys from a file that is not a template")
		}
	})
}

// FuzzApplyFixes: fixing every key never panics, never produces a file that
// does not parse, and a second fix changes nothing.
func FuzzApplyFixes(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, src []byte) {
		r := Parse("f.yaml", src)
		var fs []Fix
		for i, k := range r.Keys {
			fs = append(fs, Fix{Resource: k.Resource, EnableRotation: true, PeriodDays: []int{0, 90, 2560}[i%3]})
		}
		out, _ := ApplyFixes("f.yaml", src, fs)
		if out == nil || bytes.Equal(out, src) {
			return
		}
		if !IsTemplate(out) {
			t.Fatalf("the fixed file is no longer a template:\n%s", out)
		}
		again, _ := ApplyFixes("f.yaml", out, fs)
		if !bytes.Equal(again, out) {
			t.Errorf("a second fix changed the file:\nfirst:\n%s\nsecond:\n%s", out, again)
		}
	})
}

// FuzzJSON checks the JSON parser against yaml.v3 on the JSON both accept:
// the same tree, with the same positions and styles.
func FuzzJSON(f *testing.F) {
	for _, s := range []string{`{"a": [1, -2.5e3, true, null, "x\"y"], "b": {"c": "\u00e9"}}`, "{\n\t\"k\": {}\n}", `{"a":"é","b":[]}`} {
		f.Add([]byte(s))
	}
	seeds(f)
	f.Fuzz(func(t *testing.T, src []byte) {
		if !json.Valid(src) || !isJSON(src) || limit.JSON(src) != nil {
			return // nesting past limit.Depth is refused by design
		}
		mine, err := parseJSON(src)
		if err != nil {
			t.Fatalf("parseJSON rejects valid JSON %q: %v", src, err)
		}
		theirs, err := parseYAML(src)
		if err != nil {
			return // yaml.v3 rejects some JSON; that is why parseJSON exists
		}
		if d := sameTree(mine, theirs); d != "" {
			t.Errorf("parseJSON and yaml.v3 differ on %q: %s", src, d)
		}
	})
}

func sameTree(a, b *yaml.Node) string {
	// The document node's position is not used.
	samePos := a.Kind == yaml.DocumentNode || (a.Line == b.Line && a.Column == b.Column)
	if a.Kind != b.Kind || a.Value != b.Value || !samePos || len(a.Content) != len(b.Content) {
		return fmt.Sprintf("got kind %d %q at %d:%d with %d children, yaml.v3 kind %d %q at %d:%d with %d children",
			a.Kind, a.Value, a.Line, a.Column, len(a.Content), b.Kind, b.Value, b.Line, b.Column, len(b.Content))
	}
	if a.Kind != yaml.DocumentNode && (a.Tag != b.Tag || a.Style != b.Style) {
		return fmt.Sprintf("%q: got tag %s style %d, yaml.v3 tag %s style %d", a.Value, a.Tag, a.Style, b.Tag, b.Style)
	}
	for i := range a.Content {
		if d := sameTree(a.Content[i], b.Content[i]); d != "" {
			return d
		}
	}
	return ""
}
