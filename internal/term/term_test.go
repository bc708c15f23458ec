package term

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestInert(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"alias/prod-payments", "alias/prod-payments"},
		{"clé · 鍵 … ✓", "clé · 鍵 … ✓"},
		{`back\slash`, `back\slash`},
		{"\x1b]0;pwned\x07", `\x1b]0;pwned\x07`},
		{"\x1b[2J\x1b[H", `\x1b[2J\x1b[H`},
		{"a\rb", `a\rb`},
		{"FAIL\n123456789012  us-east-1  PASS", `FAIL\n123456789012  us-east-1  PASS`},
		{"a\tb", `a\tb`},
		{"\x00\x01\x1f", `\x00\x01\x1f`},
		{"del\x7f", `del\x7f`},
		{"c1 \u009b2J", `c1 \u009b2J`},
		{"c1 \u0085", `c1 \u0085`},
		// Raw C1 bytes are not UTF-8: each is one escaped byte.
		{"raw \x9b2J", `raw \x9b2J`},
		{"\xff\xfe", `\xff\xfe`},
		{"cut \xe2\x80", `cut \xe2\x80`},
		{"bidi \u202eevil\u202c", `bidi \u202eevil\u202c`},
		{"isolate \u2066x\u2069", `isolate \u2066x\u2069`},
		// Neighbours of the escaped ranges are kept.
		{"\u00a0\u2029\u202f\u2065\u206a", "\u00a0\u2029\u202f\u2065\u206a"},
	} {
		if got := Inert(tc.in); got != tc.want {
			t.Errorf("Inert(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestLines(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"a\nb\n", "a\nb\n"},
		{"a\r\nb", "a\r\nb"},
		{"a\rb\r", "a\\rb\\r"},
		{"\tindent\tx\x1b\n", "\tindent\tx\\x1b\n"},
		{"+x \x1b[2J\n-y\x07\n", "+x \\x1b[2J\n-y\\x07\n"},
		{"\n\n", "\n\n"},
	} {
		if got := Lines(tc.in); got != tc.want {
			t.Errorf("Lines(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestInertNoAllocation(t *testing.T) {
	s := strings.Repeat("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab é ", 4)
	if n := testing.AllocsPerRun(100, func() { _ = Inert(s) }); n != 0 {
		t.Errorf("Inert of a clean string: %v allocations, want 0", n)
	}
	text := s + "\n" + s + "\n"
	if n := testing.AllocsPerRun(100, func() { _ = Lines(text) }); n != 0 {
		t.Errorf("Lines of clean lines: %v allocations, want 0", n)
	}
}

// FuzzInert: whatever the input, the output is valid UTF-8 without a
// control byte or a reordering rune, and clean input comes back unchanged.
func FuzzInert(f *testing.F) {
	for _, s := range []string{"", "plain", "\x1b]0;t\x07\x1b[2J\r\nPASS", "\u009b\x9b\xff", "\u202e\u2066"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Inert(s)
		checkInert(t, s, got)
		if firstUnsafe(s) < 0 && got != s {
			t.Errorf("Inert(%q) = %q, want it unchanged", s, got)
		}
		lines := Lines(s)
		if strings.Count(lines, "\n") != strings.Count(s, "\n") {
			t.Errorf("Lines(%q) = %q: newlines changed", s, lines)
		}
		kept := strings.NewReplacer("\r\n", "", "\n", "", "\t", "").Replace(lines)
		checkInert(t, s, kept)
	})
}

func checkInert(t *testing.T, in, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Fatalf("Inert(%q) = %q: not valid UTF-8", in, out)
	}
	for _, r := range out {
		if r < 0x20 || r == 0x7f || unsafeRune(r) {
			t.Fatalf("Inert(%q) = %q: contains %U", in, out, r)
		}
	}
}
