package cloudformation

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

// Fix asks for rotation on one AWS::KMS::Key.
type Fix struct {
	// StartLine is the line of the logical ID, as in the Key; the logical ID
	// alone locates the resource.
	StartLine int
	// Resource is the logical ID.
	Resource string
	// EnableRotation sets EnableKeyRotation to true.
	EnableRotation bool
	// PeriodDays sets RotationPeriodInDays when not 0.
	PeriodDays int
	// RemoveRotation removes EnableKeyRotation and RotationPeriodInDays:
	// the key cannot rotate (asymmetric, HMAC, imported material).
	RemoveRotation bool
}

// RefusedError is a fix that was not applied because the property it would
// change is not a literal in place (a !Ref, an !If, an alias), or the
// resource has a shape a minimal edit cannot safely change.
type RefusedError struct {
	File     string
	Resource string
	Property string
	Reason   string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("%s: %s: %s %s; change it by hand", e.File, e.Resource, e.Property, e.Reason)
}

// edit replaces src[off:end] with text. literal marks the replacement of
// one scalar's text by another's, which keeps the template's structure.
type edit struct {
	off, end int
	text     string
	literal  bool
}

// member is one property to insert.
type member struct{ name, value string }

// ApplyFixes returns src with the fixes applied as minimal text edits:
// EnableKeyRotation and RotationPeriodInDays are inserted under Properties
// at the indentation of their siblings (Properties is created when absent),
// or their literal values replaced; comments, order and indentation are kept.
// A fix that is already satisfied changes nothing, so applying twice is
// applying once. The result carries every fix that could be applied; the
// error joins one *RefusedError (or other error) per fix that could not be.
// Only AWS::KMS::Key resources are ever touched.
func ApplyFixes(file string, src []byte, fixes []Fix) ([]byte, error) {
	root, doc, err := parseRoot(src)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", file, err)
	}
	if !isTemplate(root) {
		return nil, fmt.Errorf("%s is not a CloudFormation template", file)
	}
	t := newTemplate(file, src, doc, root)
	if t.duplicates() {
		return nil, fmt.Errorf("%s: %s", file, t.diags[0].Message)
	}
	byID := map[string]resource{}
	for _, r := range t.eachResource() {
		if _, dup := byID[r.id]; !dup {
			byID[r.id] = r
		}
	}
	var edits []edit
	var errs []error
	for _, f := range fixes {
		r, ok := byID[f.Resource]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("%s: no resource %s", file, f.Resource))
			continue
		case r.typ != TypeKey:
			errs = append(errs, fmt.Errorf("%s: %s is of type %s: only %s resources are fixed", file, f.Resource, r.typ, TypeKey))
			continue
		case f.PeriodDays != 0 && !kmskey.ValidRotationPeriod(f.PeriodDays):
			errs = append(errs, fmt.Errorf("%s: %s: rotation period %d is outside the range AWS accepts (%d to %d days)",
				file, f.Resource, f.PeriodDays, kmskey.MinRotationPeriodDays, kmskey.MaxRotationPeriodDays))
			continue
		}
		e, err := t.fixEdits(r, f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		edits = append(edits, e...)
	}
	out := applyEdits(src, edits)
	// Never hand back a file that no longer parses as a template. Edits
	// that only replace a scalar's text in place (false with true, 730 with
	// 365, inside any quotes) keep every node where it was; anything
	// inserted is checked by parsing the result again.
	if slices.ContainsFunc(edits, func(e edit) bool { return !e.literal }) {
		if root, _, err := parseRoot(out); err != nil || !isTemplate(root) {
			return src, errors.Join(append(errs, fmt.Errorf("%s: the fixed template would not parse (%v); nothing changed", file, err))...)
		}
	}
	return out, errors.Join(errs...)
}

func applyEdits(src []byte, edits []edit) []byte {
	if len(edits) == 0 {
		return src
	}
	slices.SortStableFunc(edits, func(a, b edit) int { return b.off - a.off })
	out := slices.Clone(src)
	last := len(src) + 1
	for _, e := range edits {
		if e.end > last {
			continue // overlapping edits cannot come from distinct resources; be safe
		}
		out = slices.Concat(out[:e.off], []byte(e.text), out[e.end:])
		last = e.off
	}
	return out
}

// fixEdits computes the edits for one key, all or none.
func (t *template) fixEdits(r resource, f Fix) ([]edit, error) {
	refuse := func(prop, reason string) error {
		return &RefusedError{File: t.file, Resource: r.id, Property: prop, Reason: reason}
	}
	pi := lookupIndex(r.body, "Properties")
	var propsKey, props *yaml.Node
	if pi >= 0 {
		propsKey, props = r.body.Content[pi], r.body.Content[pi+1]
		if props.Kind == yaml.AliasNode || props.Anchor != "" {
			return nil, refuse("Properties", "is shared through a YAML anchor")
		}
		if _, _, ok := intrinsic(props); ok {
			return nil, refuse("Properties", "is computed by an intrinsic function")
		}
		if props.Kind != yaml.MappingNode && !(props.Kind == yaml.ScalarNode && props.Tag == "!!null") {
			return nil, refuse("Properties", "is not a mapping")
		}
	}

	var edits []edit
	var add []member
	if f.RemoveRotation {
		for _, name := range []string{propEnableKeyRotation, propRotationPeriodInDays} {
			i := lookupIndex(props, name)
			if i < 0 {
				continue
			}
			e, ok := t.deleteMember(props, i)
			if !ok {
				return nil, refuse(name, "has a layout a minimal edit cannot remove")
			}
			edits = append(edits, e)
		}
		return edits, nil
	}
	if f.EnableRotation {
		n := lookup(props, propEnableKeyRotation)
		if n == nil {
			add = append(add, member{propEnableKeyRotation, "true"})
		} else {
			v := t.resolve(n, 0)
			if e, done, err := t.paramEdit(r, n, propEnableKeyRotation, "true", func(v value) bool { b, ok := boolOf(v); return ok && b }); done {
				if err != nil {
					return nil, err
				}
				edits = append(edits, e...)
				v = value{kind: vLiteral, direct: true, scalar: true, s: "true"}
			}
			if !v.direct {
				return nil, refuse(propEnableKeyRotation, "is set by an expression ("+exprName(n)+")")
			}
			b, ok := boolOf(v)
			if !ok {
				return nil, refuse(propEnableKeyRotation, "is not a boolean")
			}
			if !b {
				e, ok := t.replaceScalar(n, "true")
				if !ok {
					return nil, refuse(propEnableKeyRotation, "has a form a minimal edit cannot change")
				}
				e.literal = true
				edits = append(edits, e)
			}
		}
	}
	if f.PeriodDays != 0 {
		want := strconv.Itoa(f.PeriodDays)
		n := lookup(props, propRotationPeriodInDays)
		if n == nil {
			add = append(add, member{propRotationPeriodInDays, want})
		} else {
			v := t.resolve(n, 0)
			if e, done, err := t.paramEdit(r, n, propRotationPeriodInDays, want, func(v value) bool { c, ok := intOf(v); return ok && c == f.PeriodDays }); done {
				if err != nil {
					return nil, err
				}
				edits = append(edits, e...)
				v = value{kind: vLiteral, direct: true, scalar: true, s: want}
			}
			if !v.direct {
				return nil, refuse(propRotationPeriodInDays, "is set by an expression ("+exprName(n)+")")
			}
			if cur, ok := intOf(v); !ok || cur != f.PeriodDays {
				e, ok := t.replaceScalar(n, want)
				if !ok {
					return nil, refuse(propRotationPeriodInDays, "has a form a minimal edit cannot change")
				}
				e.literal = true
				edits = append(edits, e)
			}
		}
	}
	if len(add) == 0 {
		return edits, nil
	}

	var e edit
	var ok bool
	switch rot := lookupIndex(props, propEnableKeyRotation); {
	case rot >= 0:
		// Only the period is missing: it goes right after EnableKeyRotation.
		e, ok = t.insertAfter(props, props.Content[rot], props.Content[rot+1], add)
	case props == nil:
		e, ok = t.insertProperties(r, add)
	case props.Kind == yaml.ScalarNode: // Properties: (null)
		e, ok = t.replaceNullProperties(propsKey, props, add)
	case props.Style&yaml.FlowStyle != 0:
		e, ok = t.insertFlow(props, add)
	default:
		e, ok = t.insertBlock(propsKey, props, add)
	}
	if !ok {
		return nil, refuse("Properties", "has a layout a minimal edit cannot extend")
	}
	return append(edits, e), nil
}

// exprName names the intrinsic that sets a property, for messages.
func exprName(n *yaml.Node) string {
	if n.Kind == yaml.AliasNode {
		return "*" + n.Value
	}
	if name, _, ok := intrinsic(n); ok {
		if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
			return n.Tag
		}
		return name
	}
	return "a non-literal value"
}

// replaceScalar replaces the text of a one-line scalar, keeping its quotes.
func (t *template) replaceScalar(n *yaml.Node, text string) (edit, bool) {
	if n.Kind != yaml.ScalarNode || strings.Contains(n.Value, "\n") {
		return edit{}, false
	}
	off := t.src.offset(n.Line, n.Column)
	if off < 0 {
		return edit{}, false
	}
	src := t.src.src
	start := off
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		start++
	}
	end := start + len(n.Value)
	if end > len(src) || string(src[start:end]) != n.Value {
		return edit{}, false
	}
	if start > off && (end >= len(src) || src[end] != src[off]) {
		return edit{}, false
	}
	return edit{off: start, end: end, text: text}, true
}

func (t *template) quoted(m *yaml.Node) bool {
	if t.json {
		return true
	}
	return m != nil && len(m.Content) > 0 && m.Content[0].Style&yaml.DoubleQuotedStyle != 0
}

func memberText(m member, quoted bool) string {
	if quoted {
		return `"` + m.name + `": ` + m.value
	}
	return m.name + ": " + m.value
}

func inline(add []member, quoted bool) string {
	parts := make([]string, len(add))
	for i, m := range add {
		parts[i] = memberText(m, quoted)
	}
	return strings.Join(parts, ", ")
}

// lineAfter returns the offset where a new line after line goes, and the
// line break to put first when the file does not end with one.
func (t *template) lineAfter(line int) (int, string) {
	off := t.src.start(line + 1)
	if line+1 > len(t.src.lineStart) || (off == len(t.src.src) && off > 0 && t.src.src[off-1] != '\n') {
		return len(t.src.src), t.src.eol
	}
	return off, ""
}

// step guesses the file's indentation unit from a nested and an outer indent.
func step(inner, outer string) string {
	if strings.HasPrefix(inner, outer) && len(inner) > len(outer) {
		return inner[len(outer):]
	}
	return "  "
}

// insertBlock inserts members as the first lines under a block Properties.
func (t *template) insertBlock(propsKey, props *yaml.Node, add []member) (edit, bool) {
	if len(props.Content) == 0 {
		return edit{}, false
	}
	first := props.Content[0]
	off := t.src.offset(first.Line, first.Column)
	if off < 0 || first.Line <= propsKey.Line || !t.src.prefixBlank(off) {
		return edit{}, false
	}
	indent := t.src.indent(first.Line)
	at, pre := t.lineAfter(propsKey.Line)
	var b strings.Builder
	b.WriteString(pre)
	for _, m := range add {
		b.WriteString(indent + memberText(m, t.quoted(props)) + t.src.eol)
	}
	return edit{off: at, end: at, text: b.String()}, true
}

// insertFlow inserts members first in a flow mapping ({…}, JSON): on their
// own lines when the members are one per line, else inline.
func (t *template) insertFlow(props *yaml.Node, add []member) (edit, bool) {
	open := t.src.offset(props.Line, props.Column)
	if open < 0 || t.src.src[open] != '{' {
		return edit{}, false
	}
	quoted := t.quoted(props)
	if len(props.Content) == 0 {
		end := t.src.matchClose(open)
		if end < 0 {
			return edit{}, false
		}
		return edit{off: open, end: end + 1, text: "{" + inline(add, quoted) + "}"}, true
	}
	first := props.Content[0]
	off := t.src.offset(first.Line, first.Column)
	if off < 0 {
		return edit{}, false
	}
	if first.Line > props.Line && t.src.prefixBlank(off) {
		indent := t.src.indent(first.Line)
		var b strings.Builder
		for _, m := range add {
			b.WriteString(indent + memberText(m, quoted) + "," + t.src.eol)
		}
		at := t.src.start(first.Line)
		return edit{off: at, end: at, text: b.String()}, true
	}
	return edit{off: off, end: off, text: inline(add, quoted) + ", "}, true
}

// insertAfter inserts members right after the member key: val, on its own
// line(s) when key starts its line, else inline.
func (t *template) insertAfter(props, key, val *yaml.Node, add []member) (edit, bool) {
	keyOff, valOff := t.src.offset(key.Line, key.Column), t.src.offset(val.Line, val.Column)
	if keyOff < 0 || valOff < 0 || val.Kind != yaml.ScalarNode || val.Line != key.Line {
		return edit{}, false
	}
	quoted := t.quoted(props)
	ownLine := t.src.prefixBlank(keyOff)
	if props.Style&yaml.FlowStyle == 0 {
		if !ownLine {
			return edit{}, false
		}
		indent := t.src.indent(key.Line)
		at, pre := t.lineAfter(key.Line)
		var b strings.Builder
		b.WriteString(pre)
		for _, m := range add {
			b.WriteString(indent + memberText(m, quoted) + t.src.eol)
		}
		return edit{off: at, end: at, text: b.String()}, true
	}
	// Flow: after the value, before the comma or brace that follows it.
	end := t.src.scalarEnd(valOff)
	if end < 0 {
		return edit{}, false
	}
	if !ownLine || key.Line == props.Line {
		return edit{off: end, end: end, text: ", " + inline(add, quoted)}, true
	}
	indent := t.src.indent(key.Line)
	var b strings.Builder
	for _, m := range add {
		b.WriteString("," + t.src.eol + indent + memberText(m, quoted))
	}
	return edit{off: end, end: end, text: b.String()}, true
}

// replaceNullProperties turns "Properties:" with no value into a mapping.
func (t *template) replaceNullProperties(propsKey, props *yaml.Node, add []member) (edit, bool) {
	quoted := t.json
	if props.Value != "" { // Properties: ~ or null
		e, ok := t.replaceScalar(props, "{"+inline(add, quoted)+"}")
		return e, ok
	}
	if t.json {
		return edit{}, false
	}
	keyOff := t.src.offset(propsKey.Line, propsKey.Column)
	if keyOff < 0 || !t.src.prefixBlank(keyOff) {
		return edit{}, false
	}
	outer := t.src.indent(propsKey.Line)
	indent := outer + step(outer, t.src.indent(lineOfKeyAbove(t, propsKey)))
	at, pre := t.lineAfter(propsKey.Line)
	var b strings.Builder
	b.WriteString(pre)
	for _, m := range add {
		b.WriteString(indent + memberText(m, false) + t.src.eol)
	}
	return edit{off: at, end: at, text: b.String()}, true
}

// lineOfKeyAbove returns the line of the resource's logical ID holding the
// key k, to learn the indentation unit.
func lineOfKeyAbove(t *template, k *yaml.Node) int {
	for _, r := range t.eachResource() {
		for i := 0; i < len(r.body.Content); i += 2 {
			if r.body.Content[i] == k {
				return r.key.Line
			}
		}
	}
	return k.Line
}

// insertProperties creates Properties right after the resource's Type.
func (t *template) insertProperties(r resource, add []member) (edit, bool) {
	ti := lookupIndex(r.body, "Type")
	if ti < 0 {
		return edit{}, false
	}
	typeKey, typeVal := r.body.Content[ti], r.body.Content[ti+1]
	keyOff := t.src.offset(typeKey.Line, typeKey.Column)
	if keyOff < 0 {
		return edit{}, false
	}
	quoted := t.quoted(r.body)
	outer := t.src.indent(r.key.Line)

	if r.body.Style&yaml.FlowStyle == 0 {
		// Block: new lines after the Type line, at the indentation of Type.
		if !t.src.prefixBlank(keyOff) || typeVal.Line != typeKey.Line {
			return edit{}, false
		}
		indent := t.src.indent(typeKey.Line)
		at, pre := t.lineAfter(typeKey.Line)
		var b strings.Builder
		b.WriteString(pre + indent + propsKeyText(quoted) + ":" + t.src.eol)
		for _, m := range add {
			b.WriteString(indent + step(indent, outer) + memberText(m, quoted) + t.src.eol)
		}
		return edit{off: at, end: at, text: b.String()}, true
	}

	// Flow (JSON): a new member right after the Type value, before the comma
	// or brace that follows it, so the commas stay right.
	valOff := t.src.offset(typeVal.Line, typeVal.Column)
	end := t.src.scalarEnd(valOff)
	open := t.src.offset(r.body.Line, r.body.Column)
	if end < 0 || open < 0 {
		return edit{}, false
	}
	closeOff := t.src.matchClose(open)
	if closeOff < 0 {
		return edit{}, false
	}
	if t.src.lineOf(closeOff) == t.src.lineOf(open) || !t.src.prefixBlank(keyOff) {
		return edit{off: end, end: end, text: ", " + propsKeyText(quoted) + ": {" + inline(add, quoted) + "}"}, true
	}
	indent := t.src.indent(typeKey.Line)
	inner := indent + step(indent, outer)
	var b strings.Builder
	b.WriteString("," + t.src.eol + indent + propsKeyText(quoted) + ": {" + t.src.eol)
	for i, m := range add {
		b.WriteString(inner + memberText(m, quoted))
		if i < len(add)-1 {
			b.WriteString(",")
		}
		b.WriteString(t.src.eol)
	}
	b.WriteString(indent + "}")
	return edit{off: end, end: end, text: b.String()}, true
}

func propsKeyText(quoted bool) string {
	if quoted {
		return `"Properties"`
	}
	return "Properties"
}

// paramEdit sets a property that is !Ref to a parameter at the parameter's
// Default. done is false when n is not such a reference. The Default is
// edited only when every use of the parameter is a rotation property, and
// the new value is one of its AllowedValues; otherwise the error says
// which line to change.
func (t *template) paramEdit(r resource, n *yaml.Node, prop, want string, already func(value) bool) ([]edit, bool, error) {
	name, arg, ok := intrinsic(n)
	if !ok || name != "Ref" || arg.Kind != yaml.ScalarNode {
		return nil, false, nil
	}
	p := mappingOrNil(lookup(t.params, arg.Value))
	if p == nil {
		return nil, false, nil
	}
	refuse := func(reason string) error {
		return &RefusedError{File: t.file, Resource: r.id, Property: prop, Reason: reason}
	}
	def := lookup(p, "Default")
	if def == nil || def.Kind != yaml.ScalarNode {
		return nil, true, refuse(fmt.Sprintf("comes from parameter %s, which has no Default; pass %s when deploying", arg.Value, want))
	}
	if already(t.resolve(n, 0)) {
		return nil, true, nil
	}
	if all, rot := t.paramUses(arg.Value); all != rot {
		return nil, true, refuse(fmt.Sprintf("comes from parameter %s, which is also used elsewhere (%d uses, %d for rotation), so its Default (line %d) is not changed; set %s to %s on line %d or pass %s=%s when deploying",
			arg.Value, all, rot, def.Line, prop, want, n.Line, arg.Value, want))
	}
	if allowed := lookup(p, "AllowedValues"); allowed != nil && allowed.Kind == yaml.SequenceNode {
		if !slices.ContainsFunc(allowed.Content, func(a *yaml.Node) bool { return strings.EqualFold(a.Value, want) }) {
			return nil, true, refuse(fmt.Sprintf("comes from parameter %s, whose AllowedValues (line %d) do not include %s; add it there and set the Default (line %d)", arg.Value, allowed.Line, want, def.Line))
		}
	}
	e, ok := t.replaceScalar(def, want)
	if !ok {
		return nil, true, refuse(fmt.Sprintf("comes from parameter %s, whose Default (line %d) has a form a minimal edit cannot change", arg.Value, def.Line))
	}
	e.literal = true
	return []edit{e}, true, nil
}

// paramUses counts the references to a parameter (Ref, !Ref, ${X} in
// Fn::Sub) and those that are the whole value of a rotation property.
func (t *template) paramUses(name string) (all, rotation int) {
	var walk func(n *yaml.Node, key string)
	walk = func(n *yaml.Node, key string) {
		if n == nil {
			return
		}
		if fn, arg, ok := intrinsic(n); ok && fn == "Ref" && arg.Kind == yaml.ScalarNode && arg.Value == name {
			all++
			if key == propEnableKeyRotation || key == propRotationPeriodInDays {
				rotation++
			}
			return
		}
		if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${"+name+"}") {
			all++
		}
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				walk(n.Content[i+1], n.Content[i].Value)
			}
			return
		}
		for _, c := range n.Content {
			walk(c, "")
		}
	}
	// A key that cannot rotate counts its rotation properties as other
	// uses: turning the parameter on would make AWS reject it.
	for _, r := range t.eachResource() {
		before := rotation
		walk(r.body, "")
		if r.typ == TypeKey && rotation > before {
			if k := t.kmsKey(r); k.Spec != kmskey.SpecSymmetricDefault || k.Origin != kmskey.OriginAWSKMS {
				rotation = before
			}
		}
	}
	walk(lookup(t.root, "Outputs"), "")
	walk(t.conditions, "")
	return all, rotation
}

// deleteMember deletes the i-th key of a block mapping with its value, when
// both are on the key's line alone.
func (t *template) deleteMember(props *yaml.Node, i int) (edit, bool) {
	if props.Style&yaml.FlowStyle != 0 || t.json {
		return edit{}, false
	}
	k, v := props.Content[i], props.Content[i+1]
	if v.Line != k.Line || lastLine(v) != k.Line {
		return edit{}, false
	}
	start := t.src.offset(k.Line, 1)
	end := t.src.offset(k.Line+1, 1)
	if start < 0 {
		return edit{}, false
	}
	if end < 0 {
		end = len(t.src.src)
	}
	return edit{off: start, end: end, text: ""}, true
}
