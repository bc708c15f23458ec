package cloudformation

import (
	"bytes"
	"sort"
	"unicode/utf8"
)

// source maps yaml.v3 positions (1-based line, 1-based column counted in
// characters) to byte offsets, so that fixes can edit the text in place and
// findings can name the last line of a resource.
type source struct {
	src       []byte
	lineStart []int // lineStart[i] is the offset of line i+1
	bom       int   // length of a leading UTF-8 byte order mark, which yaml.v3 skips
	eol       string
}

func newSource(src []byte) *source {
	s := &source{src: src, lineStart: []int{0}, eol: "\n"}
	if bytes.HasPrefix(src, []byte("\xef\xbb\xbf")) {
		s.bom = 3
	}
	// Line breaks are YAML's: LF, CRLF, and a lone CR.
	for i, c := range src {
		if c == '\n' || (c == '\r' && (i+1 == len(src) || src[i+1] != '\n')) {
			s.lineStart = append(s.lineStart, i+1)
		}
	}
	if i := bytes.IndexAny(src, "\r\n"); i >= 0 && src[i] == '\r' {
		s.eol = "\r"
		if i+1 < len(src) && src[i+1] == '\n' {
			s.eol = "\r\n"
		}
	}
	return s
}

// lines is the number of lines, counting a last line without a newline.
func (s *source) lines() int {
	n := len(s.lineStart)
	if s.lineStart[n-1] == len(s.src) {
		n--
	}
	return n
}

// start returns the offset of the first byte of line (1-based), or len(src)
// past the end.
func (s *source) start(line int) int {
	if line < 1 {
		return 0
	}
	if line > len(s.lineStart) {
		return len(s.src)
	}
	off := s.lineStart[line-1]
	if line == 1 {
		off += s.bom
	}
	return min(off, len(s.src))
}

// offset converts a yaml.v3 line and column to a byte offset, or -1.
func (s *source) offset(line, col int) int {
	if line < 1 || line > len(s.lineStart) || col < 1 {
		return -1
	}
	off := s.start(line)
	for c := 1; c < col; c++ {
		if off >= len(s.src) || s.src[off] == '\n' || s.src[off] == '\r' {
			return -1
		}
		_, w := utf8.DecodeRune(s.src[off:])
		off += w
	}
	return off
}

// lineOf returns the 1-based line holding offset off.
func (s *source) lineOf(off int) int {
	return sort.Search(len(s.lineStart), func(i int) bool { return s.lineStart[i] > off })
}

// text returns line (1-based) without its line break.
func (s *source) text(line int) []byte {
	if line < 1 || line > len(s.lineStart) {
		return nil
	}
	b := s.src[s.start(line):]
	if i := bytes.IndexAny(b, "\r\n"); i >= 0 {
		b = b[:i]
	}
	return b
}

// indent returns the leading spaces and tabs of line.
func (s *source) indent(line int) string {
	t := s.text(line)
	n := 0
	for n < len(t) && (t[n] == ' ' || t[n] == '\t') {
		n++
	}
	return string(t[:n])
}

// prefixBlank reports whether only spaces and tabs precede offset off on its line.
func (s *source) prefixBlank(off int) bool {
	for i := off - 1; i >= 0 && s.src[i] != '\n' && s.src[i] != '\r'; i-- {
		if s.src[i] != ' ' && s.src[i] != '\t' && !(i < s.bom) {
			return false
		}
	}
	return true
}

// insignificant reports whether line is blank or holds only a comment.
func (s *source) insignificant(line int) bool {
	t := bytes.TrimSpace(s.text(line))
	return len(t) == 0 || t[0] == '#' || string(t) == "---" || string(t) == "..."
}

// lastSignificant returns the last line before boundary that is not blank
// or a comment, but never less than from.
func (s *source) lastSignificant(from, boundary int) int {
	end := boundary - 1
	for end > from && s.insignificant(end) {
		end--
	}
	return max(end, from)
}

// matchClose returns the offset of the bracket that closes the flow
// collection opening at off ('{' or '['), or -1. It skips quoted strings and
// YAML comments; JSON has neither single quotes nor comments outside strings.
func (s *source) matchClose(off int) int {
	src := s.src
	if off < 0 || off >= len(src) || (src[off] != '{' && src[off] != '[') {
		return -1
	}
	depth := 0
	for i := off; i < len(src); i++ {
		switch c := src[i]; c {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i
			}
		case '"', '\'':
			if !tokenStart(src, i) {
				continue
			}
			j := skipQuoted(src, i)
			if j < 0 {
				return -1
			}
			i = j
		case '#':
			if i > 0 && (src[i-1] == ' ' || src[i-1] == '\t' || src[i-1] == '\n') {
				for i < len(src) && src[i] != '\n' {
					i++
				}
			}
		}
	}
	return -1
}

// tokenStart reports whether a quote at i opens a quoted scalar rather than
// sitting inside a plain one (it's): only blanks or flow indicators precede it.
func tokenStart(src []byte, i int) bool {
	for j := i - 1; j >= 0; j-- {
		switch src[j] {
		case ' ', '\t', '\r', '\n':
			continue
		case '{', '[', ',', ':':
			return true
		}
		return false
	}
	return true
}

// skipQuoted returns the offset of the quote closing the string opened at i.
func skipQuoted(src []byte, i int) int {
	q := src[i]
	for j := i + 1; j < len(src); j++ {
		switch {
		case q == '"' && src[j] == '\\':
			j++
		case src[j] == q:
			if q == '\'' && j+1 < len(src) && src[j+1] == '\'' {
				j++
				continue
			}
			return j
		}
	}
	return -1
}

// scalarEnd returns the offset just past a one-line scalar token starting at
// off, quoted or plain, or -1 when the token is not on one line.
func (s *source) scalarEnd(off int) int {
	src := s.src
	if off < 0 || off >= len(src) {
		return -1
	}
	if src[off] == '"' || src[off] == '\'' {
		j := skipQuoted(src, off)
		if j < 0 || bytes.IndexByte(src[off:j], '\n') >= 0 {
			return -1
		}
		return j + 1
	}
	j := off
	for j < len(src) && src[j] != '\n' && src[j] != '\r' && src[j] != ',' && src[j] != '}' && src[j] != ']' {
		if src[j] == '#' && j > off && (src[j-1] == ' ' || src[j-1] == '\t') {
			break
		}
		j++
	}
	for j > off && (src[j-1] == ' ' || src[j-1] == '\t') {
		j--
	}
	return j
}
