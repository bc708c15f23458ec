package iac

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, a, b, want string
	}{
		{"equal", "a\nb\n", "a\nb\n", ""},
		{"insert in the middle", "1\n2\n3\n4\n5\n6\n7\n8\n", "1\n2\n3\n4\nnew\n5\n6\n7\n8\n",
			"--- a/f\n+++ b/f\n@@ -2,6 +2,7 @@\n 2\n 3\n 4\n+new\n 5\n 6\n 7\n"},
		{"replace first line", "a\nb\nc\nd\ne\n", "A\nb\nc\nd\ne\n",
			"--- a/f\n+++ b/f\n@@ -1,4 +1,4 @@\n-a\n+A\n b\n c\n d\n"},
		{"append to a file without final newline", "a\nb", "a\nb\nc\n",
			"--- a/f\n+++ b/f\n@@ -1,2 +1,3 @@\n a\n-b\n\\ No newline at end of file\n+b\n+c\n"},
		{"from empty", "", "x\n", "--- a/f\n+++ b/f\n@@ -0,0 +1 @@\n+x\n"},
		{"to empty", "x\n", "", "--- a/f\n+++ b/f\n@@ -1 +0,0 @@\n-x\n"},
		{"two hunks", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n", "1\nX\n3\n4\n5\n6\n7\n8\n9\n10\nY\n12\n",
			"--- a/f\n+++ b/f\n@@ -1,5 +1,5 @@\n 1\n-2\n+X\n 3\n 4\n 5\n@@ -8,5 +8,5 @@\n 8\n 9\n 10\n-11\n+Y\n 12\n"},
		{"contexts that touch merge", "1\n2\n3\n4\n5\n6\n7\n8\n9\n", "1\nX\n3\n4\n5\n6\n7\nY\n9\n",
			"--- a/f\n+++ b/f\n@@ -1,9 +1,9 @@\n 1\n-2\n+X\n 3\n 4\n 5\n 6\n 7\n-8\n+Y\n 9\n"},
		// A file's control bytes are shown, not sent to the terminal; tabs
		// and CRLF line ends are kept, so the diff still applies.
		{"control bytes escaped", "\x1b]0;t\x07\r\n\tx = 1\n", "\x1b]0;t\x07\r\n\tx = 2\x1b[2J\rPASS\n",
			"--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n \\x1b]0;t\\x07\r\n-\tx = 1\n+\tx = 2\\x1b[2J\\rPASS\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Diff("f", []byte(tt.a), []byte(tt.b))
			if got != tt.want {
				t.Errorf("Diff(%q, %q):\ngot:\n%s\nwant:\n%s", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

// TestDiffRoundTrip applies each diff of random line edits back to its input
// and checks that it gives the output, and, when diff(1) is installed, that
// the hunks are as short as diff(1)'s.
// TestDiffHeaderName: a file name with a newline cannot add a line to the
// header.
func TestDiffHeaderName(t *testing.T) {
	got := Diff("a\n+++ b/forged\x1b[2J", []byte("x\n"), []byte("y\n"))
	want := "--- a/a\\n+++ b/forged\\x1b[2J\n+++ b/a\\n+++ b/forged\\x1b[2J\n@@ -1 +1 @@\n-x\n+y\n"
	if got != want {
		t.Errorf("Diff with a hostile name:\ngot:  %q\nwant: %q", got, want)
	}
}

func TestDiffRoundTrip(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	words := []string{"a\n", "b\n", "c\n", "d\n", "e\n"}
	for i := range 300 {
		a := randomLines(r, words, r.IntN(30))
		b := mutate(r, a, words)
		as, bs := strings.Join(a, ""), strings.Join(b, "")
		d := Diff("f", []byte(as), []byte(bs))
		got, err := applyUnified(as, d)
		if err != nil || got != bs {
			t.Fatalf("case %d: applying Diff(%q, %q) = %q: got %q, %v; want %q", i, as, bs, d, got, err, bs)
		}
	}
}

func randomLines(r *rand.Rand, words []string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = words[r.IntN(len(words))]
	}
	return out
}

func mutate(r *rand.Rand, a, words []string) []string {
	b := append([]string(nil), a...)
	for range r.IntN(6) {
		switch i := r.IntN(len(b) + 1); {
		case r.IntN(2) == 0 || len(b) == 0:
			b = append(b[:i], append([]string{words[r.IntN(len(words))]}, b[i:]...)...)
		case i < len(b):
			b = append(b[:i], b[i+1:]...)
		}
	}
	return b
}

// applyUnified applies a unified diff made by Diff to a.
func applyUnified(a, d string) (string, error) {
	if d == "" {
		return a, nil
	}
	src := splitLines(a)
	var out []string
	pos := 0
	lines := strings.Split(strings.TrimSuffix(d, "\n"), "\n")[2:]
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if strings.HasPrefix(l, "@@") {
			start, length, _ := strings.Cut(strings.Fields(l)[1][1:], ",")
			n, err := strconv.Atoi(start)
			if err != nil {
				return "", err
			}
			if length != "0" { // an empty range names the line before it
				n--
			}
			out = append(out, src[pos:n]...)
			pos = n
			continue
		}
		text := l[1:] + "\n"
		if i+1 < len(lines) && lines[i+1] == `\ No newline at end of file` {
			text = l[1:]
			i++
		}
		switch l[0] {
		case ' ':
			out = append(out, src[pos])
			pos++
		case '-':
			pos++
		case '+':
			out = append(out, text)
		}
	}
	out = append(out, src[pos:]...)
	return strings.Join(out, ""), nil
}

// TestDiffMatchesDiffUtility compares with diff -u where it is installed.
func TestDiffMatchesDiffUtility(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("diff"); err != nil {
		t.Skip("diff(1) not installed")
	}
	dir := t.TempDir()
	a := "AWSTemplateFormatVersion: x\nResources:\n  K:\n    Type: AWS::KMS::Key\n    Properties:\n      Description: d\n  L:\n    Type: AWS::KMS::Key\n"
	b := "AWSTemplateFormatVersion: x\nResources:\n  K:\n    Type: AWS::KMS::Key\n    Properties:\n      EnableKeyRotation: true\n      Description: d\n  L:\n    Type: AWS::KMS::Key\n    Properties:\n      EnableKeyRotation: true\n"
	pa, pb := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	os.WriteFile(pa, []byte(a), 0o644)
	os.WriteFile(pb, []byte(b), 0o644)
	out, _ := exec.Command("diff", "-u", "--label", "a/f", "--label", "b/f", pa, pb).Output()
	if got := Diff("f", []byte(a), []byte(b)); got != string(out) {
		t.Errorf("Diff:\n%s\ndiff -u:\n%s", got, out)
	}
}
