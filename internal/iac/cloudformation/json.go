package cloudformation

import (
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/kmsrotor/kmsrotor/internal/iac/limit"
)

// JSON is YAML, nearly: yaml.v3 rejects some valid JSON (the escape \/ that
// many serializers write, keys over 1024 characters). parseJSON reads such
// files into the same yaml.Node tree, with the same positions (1-based line,
// column in characters, collections at their opening bracket), so that the
// rest of the package need not know which parser ran.

// maxJSONDepth bounds nesting, as limit.YAML bounds YAML's.
const maxJSONDepth = limit.Depth

type jsonParser struct {
	src       []byte
	pos       int
	line, col int
	depth     int
}

// parseError is a syntax error at a 1-based line (0 when unknown).
type parseError struct {
	Line int
	Msg  string
}

func (e *parseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

// isJSON reports whether src starts, after blanks, with '{'.
func isJSON(src []byte) bool {
	for _, c := range src {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return true
		}
		return false
	}
	return false
}

func parseJSON(src []byte) (*yaml.Node, error) {
	p := &jsonParser{src: src, line: 1, col: 1}
	if len(src) >= 3 && string(src[:3]) == "\xef\xbb\xbf" {
		p.pos = 3
	}
	p.ws()
	n, err := p.value()
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.pos < len(src) {
		return nil, p.errorf("unexpected %q after the top-level value", src[p.pos])
	}
	return &yaml.Node{Kind: yaml.DocumentNode, Line: 1, Column: 1, Content: []*yaml.Node{n}}, nil
}

func (p *jsonParser) errorf(format string, a ...any) error {
	return &parseError{Line: p.line, Msg: fmt.Sprintf(format, a...)}
}

// advance moves past n bytes, keeping line and column.
func (p *jsonParser) advance(n int) {
	for ; n > 0 && p.pos < len(p.src); n-- {
		c := p.src[p.pos]
		p.pos++
		switch {
		case c == '\n' || (c == '\r' && (p.pos == len(p.src) || p.src[p.pos] != '\n')):
			// YAML's line breaks, so that positions match yaml.v3's.
			p.line++
			p.col = 1
		case c == '\r':
		case c&0xC0 != 0x80: // not a UTF-8 continuation byte: a new character
			p.col++
		}
	}
}

func (p *jsonParser) ws() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\r', '\n':
			p.advance(1)
		default:
			return
		}
	}
}

func (p *jsonParser) value() (*yaml.Node, error) {
	if p.pos >= len(p.src) {
		return nil, p.errorf("unexpected end of input")
	}
	line, col := p.line, p.col
	switch c := p.src[p.pos]; {
	case c == '{' || c == '[':
		return p.collection(c, line, col)
	case c == '"':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Style: yaml.DoubleQuotedStyle, Value: s, Line: line, Column: col}, nil
	case c == 't' || c == 'f' || c == 'n':
		for _, lit := range []struct{ word, tag string }{{"true", "!!bool"}, {"false", "!!bool"}, {"null", "!!null"}} {
			if len(p.src)-p.pos >= len(lit.word) && string(p.src[p.pos:p.pos+len(lit.word)]) == lit.word {
				p.advance(len(lit.word))
				return &yaml.Node{Kind: yaml.ScalarNode, Tag: lit.tag, Value: lit.word, Line: line, Column: col}, nil
			}
		}
	case c == '-' || (c >= '0' && c <= '9'):
		start := p.pos
		for p.pos < len(p.src) {
			if c := p.src[p.pos]; !(c == '.' || c == 'e' || c == 'E' || c == '-' || c == '+' || (c >= '0' && c <= '9')) {
				break
			}
			p.advance(1)
		}
		text := string(p.src[start:p.pos])
		var num json.Number
		if err := json.Unmarshal([]byte(text), &num); err != nil {
			return nil, p.errorf("invalid number %q", text)
		}
		// Tagged as yaml.v3 resolves them: a number out of range is a string.
		tag := "!!str"
		if _, err := strconv.ParseInt(text, 10, 64); err == nil {
			tag = "!!int"
		} else if _, err := strconv.ParseUint(text, 10, 64); err == nil {
			tag = "!!int"
		} else if _, err := strconv.ParseFloat(text, 64); err == nil {
			tag = "!!float"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: text, Line: line, Column: col}, nil
	}
	r, _ := utf8.DecodeRune(p.src[p.pos:])
	return nil, p.errorf("unexpected character %q", r)
}

func (p *jsonParser) collection(open byte, line, col int) (*yaml.Node, error) {
	if p.depth++; p.depth > maxJSONDepth {
		return nil, p.errorf("nesting deeper than %d", maxJSONDepth)
	}
	defer func() { p.depth-- }()
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle, Line: line, Column: col}
	closer := byte(']')
	if open == '{' {
		n.Kind, n.Tag, closer = yaml.MappingNode, "!!map", '}'
	}
	p.advance(1)
	p.ws()
	if p.pos < len(p.src) && p.src[p.pos] == closer {
		p.advance(1)
		return n, nil
	}
	for {
		p.ws()
		if open == '{' {
			if p.pos >= len(p.src) || p.src[p.pos] != '"' {
				return nil, p.errorf("expected a string key")
			}
			k, err := p.value()
			if err != nil {
				return nil, err
			}
			p.ws()
			if p.pos >= len(p.src) || p.src[p.pos] != ':' {
				return nil, p.errorf("expected ':' after key %q", k.Value)
			}
			p.advance(1)
			p.ws()
			n.Content = append(n.Content, k)
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		n.Content = append(n.Content, v)
		p.ws()
		if p.pos >= len(p.src) {
			return nil, p.errorf("unexpected end of input: expected ',' or %q", closer)
		}
		switch p.src[p.pos] {
		case ',':
			line := p.line
			p.advance(1)
			p.ws()
			if p.pos < len(p.src) && p.src[p.pos] == closer {
				return nil, &parseError{Line: line, Msg: fmt.Sprintf("trailing comma before %q: JSON not well-formed", closer)}
			}
		case closer:
			p.advance(1)
			return n, nil
		default:
			return nil, p.errorf("expected ',' or %q", closer)
		}
	}
}

// str reads a JSON string; encoding/json decodes its escapes.
func (p *jsonParser) str() (string, error) {
	start := p.pos
	i := p.pos + 1
	for ; i < len(p.src); i++ {
		if c := p.src[i]; c == '\\' {
			i++
		} else if c == '"' {
			break
		} else if c == '\n' {
			return "", p.errorf("unterminated string")
		}
	}
	if i >= len(p.src) {
		return "", p.errorf("unterminated string")
	}
	raw := p.src[start+1 : i]
	var s string
	if plainString(raw) {
		s = string(raw)
	} else if err := json.Unmarshal(p.src[start:i+1], &s); err != nil {
		return "", p.errorf("invalid string: %v", err)
	}
	p.advance(i + 1 - start)
	return s, nil
}

// plainString reports whether a JSON string's content needs no decoding: no
// escape, no control character, valid UTF-8.
func plainString(raw []byte) bool {
	ascii := true
	for _, c := range raw {
		switch {
		case c == '\\' || c < 0x20:
			return false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return ascii || utf8.Valid(raw)
}
