package limit

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		size int
		ok   bool
	}{
		{"empty", 0, true},
		{"at the limit", FileBytes, true},
		{"one byte over", FileBytes + 1, false},
	} {
		path := filepath.Join(dir, tc.name)
		if err := os.WriteFile(path, make([]byte, tc.size), 0o644); err != nil {
			t.Fatal(err)
		}
		b, err := ReadFile(path)
		switch {
		case tc.ok && (err != nil || len(b) != tc.size):
			t.Errorf("ReadFile(%s) = %d bytes, %v; want %d bytes", tc.name, len(b), err, tc.size)
		case !tc.ok && !errors.Is(err, ErrTooLarge):
			t.Errorf("ReadFile(%s) = %d bytes, %v; want ErrTooLarge", tc.name, len(b), err)
		}
	}
}

func TestBrackets(t *testing.T) {
	deep := func(open, close string, n int) []byte {
		return []byte("a = " + strings.Repeat(open, n) + strings.Repeat(close, n))
	}
	for _, tc := range []struct {
		name string
		src  []byte
		ok   bool
	}{
		{"flat", []byte(`resource "aws_kms_key" "k" { tags = { a = "[" } }`), true},
		{"at the limit", deep("[", "]", Depth), true},
		{"one over", deep("[", "]", Depth+1), false},
		{"mixed over", deep("({[", "]})", Depth/3+1), false},
		{"many siblings", []byte(strings.Repeat("[[]]", 10000)), true},
		{"quoted brackets count", []byte(`a = "` + strings.Repeat("${[", Depth) + `"`), false},
		{"JSON escapes count", []byte(`{"a": "` + strings.Repeat(`\u005b`, Depth) + `"}`), false},
		{"stray closers", []byte(strings.Repeat("]", 1000) + strings.Repeat("[", 10)), true},
	} {
		if err := Brackets(tc.src); (err == nil) != tc.ok {
			t.Errorf("Brackets(%s) = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestJSON(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		ok        bool
	}{
		{"plan", `{"format_version":"1.2","values":{"root_module":{"resources":[{"a":[1,2]}]}}}`, true},
		{"brackets in strings", `{"a":"` + strings.Repeat("[", 1000) + `\"` + strings.Repeat("{", 1000) + `"}`, true},
		{"at the limit", strings.Repeat("[", Depth) + strings.Repeat("]", Depth), true},
		{"one over", strings.Repeat("[", Depth+1) + strings.Repeat("]", Depth+1), false},
		{"unterminated", `{"a":"` + strings.Repeat("[", 1000), true},
	} {
		if err := JSON([]byte(tc.src)); (err == nil) != tc.ok {
			t.Errorf("JSON(%s) = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

// laughs is the "billion laughs" document: n levels, each an anchor whose
// list aliases the level before it ten times.
func laughs(n int) string {
	var b strings.Builder
	b.WriteString("l0: &l0 [lol]\n")
	for i := 1; i <= n; i++ {
		b.WriteString("l" + string(rune('0'+i)) + ": &l" + string(rune('0'+i)) + " [")
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*l" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	return b.String()
}

func TestYAML(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      string // in the error; "" for none
	}{
		{"template", "Resources:\n  K:\n    Type: AWS::KMS::Key\n    Properties: &p {EnableKeyRotation: true}\n  L:\n    Properties: *p\n", ""},
		{"a few laughs", laughs(4), ""},
		{"a billion laughs", laughs(9), "aliases expand"},
		{"at the depth limit", strings.Repeat("[", Depth) + strings.Repeat("]", Depth), ""},
		{"one over", strings.Repeat("[", Depth+1) + strings.Repeat("]", Depth+1), "deeper than 256"},
		{"block nesting over", deepBlock(Depth + 1), "deeper than 256"},
	} {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(tc.src), &doc); err != nil {
			t.Fatalf("%s: yaml.Unmarshal: %v", tc.name, err)
		}
		err := YAML(&doc)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("YAML(%s) = %v, want nil", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("YAML(%s) = %v, want an error with %q", tc.name, err, tc.want)
		}
	}
}

func deepBlock(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(strings.Repeat(" ", i) + "k:\n")
	}
	return b.String()
}
