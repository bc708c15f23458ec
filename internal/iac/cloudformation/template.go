// Package cloudformation reads AWS CloudFormation templates, YAML or JSON
// (SAM and CDK-synthesized templates included), into kmskey.Keys that carry
// their file, lines and logical ID, and fixes their rotation properties with
// minimal text edits that keep comments, order and indentation.
//
// Templates are parsed with the yaml.v3 Node API, JSON included (JSON is
// YAML), so that every value keeps its line and column. Intrinsic functions
// are resolved where the template alone decides them (parameter defaults,
// conditions over them, mappings); anything else is unknown, never a guess.
package cloudformation

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/kmsrotor/kmsrotor/internal/iac/diag"
	"github.com/kmsrotor/kmsrotor/internal/iac/limit"
	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

// Diagnostic is a problem found in a template, with its position.
type Diagnostic = diag.Diagnostic

// Result is what Parse read from one file.
type Result struct {
	Keys  []kmskey.Key
	Diags []Diagnostic
	// Template is false when the file is some other YAML or JSON document,
	// which a directory walk ignores. A file that does not parse but reads like
	// a template (it names AWSTemplateFormatVersion or an AWS:: type) counts
	// as a template, so its parse error is reported.
	Template bool
}

// The resource types this package reads.
const (
	TypeKey        = "AWS::KMS::Key"
	TypeReplicaKey = "AWS::KMS::ReplicaKey"
)

// maxDepth bounds the nesting of intrinsic functions and conditions that
// resolution follows, so that a hostile template cannot exhaust the stack.
const maxDepth = 64

// IsTemplate reports whether src is a CloudFormation template: it parses and
// has AWSTemplateFormatVersion, or Resources whose entries have an AWS:: or
// Custom:: Type.
func IsTemplate(src []byte) bool {
	if !mayBeTemplate(src) {
		return false
	}
	root, _, err := parseRoot(src)
	return err == nil && isTemplate(root)
}

// Parse reads the KMS keys of the template in src; file names it in keys and
// diagnostics.
func Parse(file string, src []byte) Result {
	if !mayBeTemplate(src) {
		return Result{}
	}
	root, doc, err := parseRoot(src)
	if err != nil {
		d := Diagnostic{File: file, Code: diag.CodeParseError, Message: "does not parse: " + err.Error()}
		var pe *parseError
		if errors.As(err, &pe) {
			d.Line, d.Message = pe.Line, "does not parse: "+pe.Msg
		}
		return Result{Template: readsLikeTemplate(src), Diags: []Diagnostic{d}}
	}
	if !isTemplate(root) {
		return Result{}
	}
	t := newTemplate(file, src, doc, root)
	t.duplicates()
	keys := t.keys()
	return Result{Keys: keys, Diags: t.diags, Template: true}
}

// mayBeTemplate is a cheap test that spares parsing most non-template files.
func mayBeTemplate(src []byte) bool {
	return bytes.Contains(src, []byte("AWSTemplateFormatVersion")) || bytes.Contains(src, []byte("Resources"))
}

// typeRE finds a resource Type at the start of a line (YAML, JSON one
// member per line) or, quoted, anywhere (JSON on one line).
var typeRE = regexp.MustCompile(`(?m)^\s*"?Type"?\s*:\s*["']?(AWS|Custom)::|"Type"\s*:\s*"(AWS|Custom)::`)

// readsLikeTemplate guesses from text alone whether a file that does not
// parse was meant to be a template.
func readsLikeTemplate(src []byte) bool {
	return bytes.Contains(src, []byte("AWSTemplateFormatVersion")) || typeRE.Match(src)
}

// parseRoot parses src and returns its root mapping and the document node.
// A syntax error is a *parseError with the line.
func parseRoot(src []byte) (root, doc *yaml.Node, err error) {
	if isJSON(src) {
		// A template that starts with '{' is JSON to CloudFormation, which
		// rejects one that is not well-formed ("JSON not well-formed"), such
		// as a trailing comma that yaml.v3 would accept in a flow mapping:
		// so there is no YAML fallback. UNCONFIRMED in kms-api.md: that
		// CloudFormation tells JSON by the first character; its error for
		// such a template names JSON. JSON has its own parser: faster, and
		// it reads valid JSON that yaml.v3 rejects (the escape \/, keys
		// over 1024 characters).
		doc, err = parseJSON(src)
	} else {
		doc, err = parseYAML(src)
	}
	if err != nil {
		return nil, nil, err
	}
	if err := duplicateKeys(doc); err != nil {
		return nil, nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, doc, nil
	}
	return deref(doc.Content[0]), doc, nil
}

func parseYAML(src []byte) (doc *yaml.Node, err error) {
	defer func() {
		// yaml.v3 has panicked on malformed input before; a bad file must
		// never stop a scan.
		if r := recover(); r != nil {
			doc, err = nil, &parseError{Msg: fmt.Sprint(r)}
		}
	}()
	var n yaml.Node
	if err := yaml.Unmarshal(src, &n); err != nil {
		return nil, &parseError{Line: errorLine(err), Msg: errLineRE.ReplaceAllString(strings.TrimPrefix(err.Error(), "yaml: "), "")}
	}
	// Resolution walks aliases as if expanded, and recurses per level.
	if err := limit.YAML(&n); err != nil {
		return nil, &parseError{Msg: err.Error()}
	}
	return &n, nil
}

// duplicateKeys rejects a mapping that names a key twice: which of the two
// a template means is unknowable (a YAML reader must reject it, JSON ones
// differ), and the check would read one while --fix edits the other.
// UNCONFIRMED in kms-api.md: that CloudFormation rejects such a template
// (cfn-lint reports it as an error). Aliases are not walked again: the node
// they name is walked where it is anchored. Nesting is bounded already.
func duplicateKeys(doc *yaml.Node) error {
	return duplicateKeysIn(doc, resourcesNode(doc))
}

// resourcesNode is the template's Resources mapping, whose keys are logical
// IDs, or nil.
func resourcesNode(doc *yaml.Node) *yaml.Node {
	root := doc
	if root != nil && root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	if root == nil || root.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "Resources" {
			return root.Content[i+1]
		}
	}
	return nil
}

func duplicateKeysIn(n, resources *yaml.Node) error {
	if n == nil || n.Kind == yaml.AliasNode {
		return nil
	}
	if n.Kind == yaml.MappingNode {
		seen := make(map[string]int, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode || k.Value == "<<" {
				continue
			}
			if first, ok := seen[k.Value]; ok {
				what := fmt.Sprintf("key %q", k.Value)
				if n == resources {
					what = "logical ID " + k.Value
				}
				return &parseError{Line: k.Line, Msg: fmt.Sprintf("duplicate %s on lines %d and %d; CloudFormation rejects the template, and kmsrotor does not edit it", what, first, k.Line)}
			}
			seen[k.Value] = k.Line
		}
	}
	for _, c := range n.Content {
		if err := duplicateKeysIn(c, resources); err != nil {
			return err
		}
	}
	return nil
}

var errLineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)

// parserProblems are the messages of yaml.v3's parser (parserc.go), as
// opposed to its scanner's. For them yaml.v3 prints the 0-based line of the
// construct being parsed, for scanner errors the 1-based one; and it prints
// no line at all for line 0.
var parserProblems = []string{
	"did not find expected ',' or ']'", "did not find expected ',' or '}'",
	"did not find expected '-' indicator", "did not find expected <document start>",
	"did not find expected <stream-start>", "did not find expected key",
	"did not find expected node content", "found duplicate %TAG directive",
	"found duplicate %YAML directive", "found incompatible YAML document",
	"found undefined tag handle",
}

// errorLine extracts the 1-based line of a yaml.v3 error ("yaml: line 7: …").
func errorLine(err error) int {
	msg := err.Error()
	parser := slices.ContainsFunc(parserProblems, func(p string) bool { return strings.HasSuffix(msg, p) })
	m := errLineRE.FindStringSubmatch(msg)
	if m == nil {
		if parser || strings.HasPrefix(msg, "yaml: ") {
			return 1
		}
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	if parser {
		n++
	}
	return n
}

func isTemplate(root *yaml.Node) bool {
	if root == nil || root.Kind != yaml.MappingNode {
		return false
	}
	if lookup(root, "AWSTemplateFormatVersion") != nil {
		return true
	}
	res := lookup(root, "Resources")
	if res == nil || res.Kind != yaml.MappingNode {
		return false
	}
	for i := 1; i < len(res.Content); i += 2 {
		typ := lookup(deref(res.Content[i]), "Type")
		if typ != nil && typ.Kind == yaml.ScalarNode &&
			(strings.HasPrefix(typ.Value, "AWS::") || strings.HasPrefix(typ.Value, "Custom::")) {
			return true
		}
	}
	return false
}

// template is one parsed template and the sections resolution needs.
type template struct {
	file       string
	src        *source
	doc, root  *yaml.Node
	json       bool
	params     *yaml.Node
	conditions *yaml.Node
	mappings   *yaml.Node
	resources  *yaml.Node

	condMemo map[string]tri
	condBusy map[string]bool
	diags    []Diagnostic
}

func newTemplate(file string, src []byte, doc, root *yaml.Node) *template {
	t := &template{
		file:     file,
		src:      newSource(src),
		doc:      doc,
		root:     root,
		json:     root.Style&yaml.FlowStyle != 0,
		condMemo: map[string]tri{},
		condBusy: map[string]bool{},
	}
	t.params = mappingOrNil(lookup(root, "Parameters"))
	t.conditions = mappingOrNil(lookup(root, "Conditions"))
	t.mappings = mappingOrNil(lookup(root, "Mappings"))
	t.resources = mappingOrNil(lookup(root, "Resources"))
	return t
}

func (t *template) diag(n *yaml.Node, code, format string, a ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	t.diags = append(t.diags, Diagnostic{File: t.file, Line: line, Code: code, Message: fmt.Sprintf(format, a...)})
}

// resource is one entry of Resources.
type resource struct {
	id        string
	key, body *yaml.Node
	typ       string
	startLine int
	endLine   int
}

// eachResource lists the entries of Resources in order, with their lines.
func (t *template) eachResource() []resource {
	res := t.resources
	if res == nil {
		return nil
	}
	out := make([]resource, 0, len(res.Content)/2)
	for i := 0; i+1 < len(res.Content); i += 2 {
		k, body := res.Content[i], deref(res.Content[i+1])
		if k.Kind != yaml.ScalarNode || body == nil || body.Kind != yaml.MappingNode {
			continue
		}
		r := resource{id: k.Value, key: k, body: body, startLine: k.Line}
		if typ := lookup(body, "Type"); typ != nil && typ.Kind == yaml.ScalarNode {
			r.typ = typ.Value
		}
		r.endLine = t.endLine(res, i)
		out = append(out, r)
	}
	return out
}

// endLine returns the last line of the value of the pair at index i of the
// mapping m: the closing brace of a flow mapping, else the last line that is
// neither blank nor a comment before the next key of m or of an enclosing
// block mapping.
func (t *template) endLine(m *yaml.Node, i int) int {
	key, val := m.Content[i], m.Content[i+1]
	if val.Style&yaml.FlowStyle != 0 && (val.Kind == yaml.MappingNode || val.Kind == yaml.SequenceNode) {
		if c := t.src.matchClose(t.src.offset(val.Line, val.Column)); c >= 0 {
			return t.src.lineOf(c)
		}
	}
	if m.Style&yaml.FlowStyle != 0 {
		// A block value cannot sit inside a flow mapping; keep to known lines.
		return max(key.Line, lastLine(val))
	}
	boundary := t.src.lines() + 1
	if i+2 < len(m.Content) {
		boundary = m.Content[i+2].Line
	} else if next := t.nextKeyAfter(m); next > 0 {
		boundary = next
	}
	return t.src.lastSignificant(max(key.Line, lastLine(val)), boundary)
}

// nextKeyAfter returns the line of the root key that follows the root entry
// holding m (Outputs after Resources), or 0.
func (t *template) nextKeyAfter(m *yaml.Node) int {
	for i := 1; i < len(t.root.Content); i += 2 {
		if deref(t.root.Content[i]) == m && i+1 < len(t.root.Content) {
			return t.root.Content[i+1].Line
		}
	}
	return 0
}

// lastLine is the greatest line any node under n starts on.
func lastLine(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	l := n.Line
	for _, c := range n.Content {
		l = max(l, lastLine(c))
	}
	return l
}

// lookup returns the value of key in mapping m (the first, if repeated).
func lookup(m *yaml.Node, key string) *yaml.Node {
	i := lookupIndex(m, key)
	if i < 0 {
		return nil
	}
	return m.Content[i+1]
}

// lookupIndex returns the index of key's key node in mapping m, or -1.
func lookupIndex(m *yaml.Node, key string) int {
	if m == nil || m.Kind != yaml.MappingNode {
		return -1
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
			return i
		}
	}
	return -1
}

func mappingOrNil(n *yaml.Node) *yaml.Node {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	return n
}

// deref follows YAML aliases (bounded: yaml.v3 rejects cycles, this guards
// against any it misses).
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < maxDepth; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.AliasNode {
		return nil
	}
	return n
}
