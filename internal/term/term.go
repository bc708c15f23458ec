// Package term makes strings from outside (AWS responses, error messages,
// file contents, paths) inert before they reach a terminal: nothing they
// contain can move the cursor, clear the screen, retitle the window, start
// a new line or reorder the text around them.
package term

import (
	"strings"
	"unicode/utf8"
)

// Inert returns s with every byte or rune a terminal would act on shown as
// a visible escape: C0 controls, DEL and C1 controls (as runes, and as raw
// bytes in invalid UTF-8) as \xNN or \uNNNN, with the Go names \n, \r and
// \t for those three; Unicode's bidirectional embeddings, overrides and
// isolates (U+202A–U+202E, U+2066–U+2069) as \uNNNN; every byte that is not
// valid UTF-8 as \xNN. A backslash is kept as it is, so Inert is for
// display, not a reversible encoding. A string with nothing to escape is
// returned as it is, without allocating.
func Inert(s string) string {
	i := firstUnsafe(s)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if safeASCII(c) {
				b.WriteByte(c)
			} else {
				writeByteEscape(&b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			writeByteEscape(&b, c)
		case unsafeRune(r):
			writeRuneEscape(&b, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// Lines is Inert for file content shown line by line (a diff): the
// newline that ends each line, a carriage return right before it (a CRLF
// file) and tabs are kept, since they only lay the text out and a patch
// made of the output must still apply; everything else is escaped.
func Lines(s string) string {
	if cleanLines(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for s != "" {
		line, rest, found := strings.Cut(s, "\n")
		end := ""
		if found {
			end = "\n"
			if l, ok := strings.CutSuffix(line, "\r"); ok {
				line, end = l, "\r\n"
			}
		}
		b.WriteString(inertKeepTabs(line))
		b.WriteString(end)
		s = rest
	}
	return b.String()
}

// inertKeepTabs is Inert with tabs kept.
func inertKeepTabs(s string) string {
	if !strings.Contains(s, "\t") {
		return Inert(s)
	}
	parts := strings.Split(s, "\t")
	for i, p := range parts {
		parts[i] = Inert(p)
	}
	return strings.Join(parts, "\t")
}

// cleanLines reports whether Lines has nothing to change in s.
func cleanLines(s string) bool {
	for s != "" {
		line, rest, found := strings.Cut(s, "\n")
		if found {
			line = strings.TrimSuffix(line, "\r")
		}
		for part := range strings.SplitSeq(line, "\t") {
			if firstUnsafe(part) >= 0 {
				return false
			}
		}
		s = rest
	}
	return true
}

// firstUnsafe is the index of the first byte Inert changes, or -1.
func firstUnsafe(s string) int {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if !safeASCII(c) {
				return i
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n == 1) || unsafeRune(r) {
			return i
		}
		i += n
	}
	return -1
}

// safeASCII: printable ASCII and the space.
func safeASCII(c byte) bool { return c >= 0x20 && c < 0x7f }

// unsafeRune: C1 controls and the bidirectional formatting characters
// that reorder the text after them (the "Trojan Source" characters).
func unsafeRune(r rune) bool {
	return (r >= 0x80 && r <= 0x9f) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
}

const hexDigits = "0123456789abcdef"

func writeByteEscape(b *strings.Builder, c byte) {
	switch c {
	case '\n':
		b.WriteString(`\n`)
	case '\r':
		b.WriteString(`\r`)
	case '\t':
		b.WriteString(`\t`)
	default:
		b.WriteString(`\x`)
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&0xf])
	}
}

func writeRuneEscape(b *strings.Builder, r rune) {
	b.WriteString(`\u`)
	for shift := 12; shift >= 0; shift -= 4 {
		b.WriteByte(hexDigits[(r>>shift)&0xf])
	}
}
