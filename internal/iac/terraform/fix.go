package terraform

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

// Fix asks ApplyFixes to turn rotation on in one aws_kms_key block.
type Fix struct {
	StartLine      int    // the resource block's first line (Key.StartLine)
	EndLine        int    // its last line (Key.EndLine); 0 when not known
	Resource       string // its address within the file's module, e.g. aws_kms_key.main
	EnableRotation bool   // set enable_key_rotation = true
	PeriodDays     int    // > 0: set rotation_period_in_days = PeriodDays
	// RemoveRotation removes enable_key_rotation and
	// rotation_period_in_days: the key cannot rotate (asymmetric, HMAC).
	RemoveRotation bool
}

// RefusedError is a fix that was not applied because the argument it would
// change is set by an expression (var.x, a conditional) rather than absent
// or a literal, or because the block is not an aws_kms_key: a replica or an
// external key has no rotation of its own. Such findings are reported, not
// guessed at.
type RefusedError struct {
	File     string
	Resource string // the address the fix named
	Argument string // enable_key_rotation or rotation_period_in_days; "" for the block itself
	Reason   string
}

func (e *RefusedError) Error() string {
	if e.Argument == "" {
		return fmt.Sprintf("fix %s: %s: %s", e.File, e.Resource, e.Reason)
	}
	return fmt.Sprintf("fix %s: %s: %s %s; set it by hand", e.File, e.Resource, e.Argument, e.Reason)
}

// blockFix is the fixes asked of one block, merged: every instance of a
// counted resource, and every caller of a module, share the block.
type blockFix struct {
	block  *hclsyntax.Block
	addr   string // type.name
	asked  string // the address the first fix named
	enable bool
	period int
	remove bool
}

// ApplyFixes rewrites one .tf file, keeping comments and formatting: it
// replaces a literal false (or null) with true, or inserts the argument
// after the block's last argument, then aligns that block alone as terraform
// fmt would (hclwrite.Format); every byte outside the fixed blocks is kept.
// A second run with the same fixes changes nothing. It refuses, with a
// *RefusedError, to rewrite an argument whose value is an expression (var.x,
// a conditional) rather than absent or a literal, and any block other than
// aws_kms_key: those are reported, not guessed. Fixes of several instances
// of one block (count, for_each, a module called twice) are one edit.
//
// One fix whose StartLine and EndLine are known reads and checks only
// those lines, a block on its own: the cost of a fix is then the block's,
// not the file's, and the bytes around it are kept as they are. It falls
// back to the whole file when those lines are not exactly that block.
func ApplyFixes(filename string, src []byte, fixes []Fix) ([]byte, error) {
	if strings.HasSuffix(filename, ".json") {
		return nil, fmt.Errorf("fix %s: only native .tf files are rewritten; set enable_key_rotation in the JSON by hand", filename)
	}
	if len(fixes) == 1 {
		if body, r, ok := parseBlockLines(filename, src, fixes[0]); ok {
			return applyFixes(filename, src, body, r, fixes)
		}
	}
	file, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, fmt.Errorf("fix %s: the file does not parse: %w", filename, diags)
	}
	body, ok := file.Body.(*hclsyntax.Body)
	if !ok {
		return nil, fmt.Errorf("fix %s: unexpected body type %T", filename, file.Body)
	}
	return applyFixes(filename, src, body, span{0, len(src), hcl.InitialPos}, fixes)
}

// span is the part of a file that was parsed: src[start:end], whose first
// byte is at pos.
type span struct {
	start, end int
	pos        hcl.Pos
}

// parseBlockLines parses the lines StartLine..EndLine of src alone, with the
// positions they have in the file, and returns their body when it is
// exactly the resource block f names, starting on StartLine.
func parseBlockLines(filename string, src []byte, f Fix) (*hclsyntax.Body, span, bool) {
	if f.StartLine < 1 || f.EndLine < f.StartLine {
		return nil, span{}, false
	}
	start, line := 0, 1
	for ; line < f.StartLine; line++ {
		i := bytes.IndexByte(src[start:], '\n')
		if i < 0 {
			return nil, span{}, false
		}
		start += i + 1
	}
	end := start
	for ; line <= f.EndLine; line++ {
		i := bytes.IndexByte(src[end:], '\n')
		if i < 0 {
			if line < f.EndLine {
				return nil, span{}, false
			}
			end = len(src)
			break
		}
		end += i + 1
	}
	r := span{start, end, hcl.Pos{Line: f.StartLine, Column: 1, Byte: start}}
	file, diags := hclsyntax.ParseConfig(src[start:end], filename, r.pos)
	if diags.HasErrors() {
		return nil, span{}, false
	}
	body, ok := file.Body.(*hclsyntax.Body)
	typ, name, err := resourceInAddress(f.Resource)
	if !ok || err != nil || len(body.Blocks) != 1 || len(body.Attributes) != 0 {
		return nil, span{}, false
	}
	if b := findResource(body, typ, name); b == nil || b.TypeRange.Start.Line != f.StartLine {
		return nil, span{}, false
	}
	return body, r, true
}

// applyFixes applies fixes to the blocks of body, the parsed part r of src.
func applyFixes(filename string, src []byte, body *hclsyntax.Body, r span, fixes []Fix) ([]byte, error) {
	var todo []*blockFix
	for _, f := range fixes {
		if !f.EnableRotation && f.PeriodDays <= 0 && !f.RemoveRotation {
			continue
		}
		if f.PeriodDays != 0 && !kmskey.ValidRotationPeriod(f.PeriodDays) {
			return nil, fmt.Errorf("fix %s: %s: rotation period %d is outside the range AWS allows (%d to %d)", filename, f.Resource, f.PeriodDays, kmskey.MinRotationPeriodDays, kmskey.MaxRotationPeriodDays)
		}
		typ, name, err := resourceInAddress(f.Resource)
		if err != nil {
			return nil, fmt.Errorf("fix %s: %w", filename, err)
		}
		blk := findResource(body, typ, name)
		if blk == nil {
			return nil, fmt.Errorf("fix %s: resource %s.%s is not in the file", filename, typ, name)
		}
		if line := blk.TypeRange.Start.Line; f.StartLine != 0 && line != f.StartLine {
			return nil, fmt.Errorf("fix %s: %s.%s starts on line %d, not %d: the file changed since it was read", filename, typ, name, line, f.StartLine)
		}
		if typ != typeKey {
			return nil, &RefusedError{File: filename, Resource: f.Resource,
				Reason: fmt.Sprintf("only aws_kms_key blocks are rewritten; a %s cannot rotate automatically on its own", typ)}
		}
		i := slices.IndexFunc(todo, func(b *blockFix) bool { return b.block == blk })
		if i < 0 {
			todo = append(todo, &blockFix{block: blk, addr: typ + "." + name, asked: f.Resource})
			i = len(todo) - 1
		}
		bf := todo[i]
		bf.enable = bf.enable || f.EnableRotation
		bf.remove = bf.remove || f.RemoveRotation
		if f.PeriodDays > 0 {
			if bf.period != 0 && bf.period != f.PeriodDays {
				return nil, fmt.Errorf("fix %s: %s: conflicting rotation periods %d and %d were asked for one block", filename, bf.addr, bf.period, f.PeriodDays)
			}
			bf.period = f.PeriodDays
		}
	}

	// Rewrite from the end of the file so earlier offsets stay valid.
	slices.SortFunc(todo, func(a, b *blockFix) int {
		return cmp.Compare(b.block.TypeRange.Start.Byte, a.block.TypeRange.Start.Byte)
	})
	out := src
	inserted := false
	for _, bf := range todo {
		start, end := bf.block.TypeRange.Start.Byte, bf.block.CloseBraceRange.End.Byte
		text, changed, ins, err := fixBlock(src[start:end], bf, start)
		inserted = inserted || ins
		if re, ok := err.(*RefusedError); ok {
			re.File = filename
			return nil, re
		}
		if err != nil {
			return nil, fmt.Errorf("fix %s: %w", filename, err)
		}
		if changed {
			out = slices.Concat(out[:start:start], text, out[end:])
		}
	}
	// A fix that only replaces literals (false with true, 730 with 365)
	// keeps every token but those, and formatting changes only the spaces
	// between tokens: the block still parses and says what was asked. An
	// inserted argument is checked by parsing the result again.
	if (inserted || slices.ContainsFunc(todo, func(b *blockFix) bool { return b.remove })) && !bytes.Equal(out, src) {
		// Edits stay inside the parsed part, which grows or shrinks by
		// what they add.
		r.end += len(out) - len(src)
		if err := verifyFixed(filename, out, r, todo); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// resourceInAddress returns the resource type and name of an address,
// dropping any module path and instance key:
// module.m["a"].aws_kms_key.k[0] gives aws_kms_key, k.
func resourceInAddress(addr string) (typ, name string, err error) {
	rest := addr
	for strings.HasPrefix(rest, "module.") {
		rest = rest[len("module."):]
		n := strings.IndexAny(rest, ".[")
		if n < 0 {
			return "", "", fmt.Errorf("bad resource address %q", addr)
		}
		rest = rest[n:]
		if rest[0] == '[' {
			end := instanceKeyEnd(rest)
			if end < 0 {
				return "", "", fmt.Errorf("bad resource address %q", addr)
			}
			rest = rest[end:]
		}
		rest = strings.TrimPrefix(rest, ".")
	}
	typ, rest, ok := strings.Cut(rest, ".")
	if !ok || typ == "" {
		return "", "", fmt.Errorf("bad resource address %q", addr)
	}
	name = rest
	if n := strings.IndexByte(rest, '['); n >= 0 {
		name = rest[:n]
	}
	if name == "" {
		return "", "", fmt.Errorf("bad resource address %q", addr)
	}
	return typ, name, nil
}

// instanceKeyEnd returns the offset just past the instance key that s
// starts with ([0], ["a"], [?]), or -1.
func instanceKeyEnd(s string) int {
	if len(s) > 1 && s[1] == '"' {
		end := stringEnd([]byte(s), 1)
		if end < 0 || end >= len(s) || s[end] != ']' {
			return -1
		}
		return end + 1
	}
	if n := strings.IndexByte(s, ']'); n > 0 {
		return n + 1
	}
	return -1
}

func findResource(body *hclsyntax.Body, typ, name string) *hclsyntax.Block {
	for _, b := range body.Blocks {
		if b.Type == "resource" && len(b.Labels) == 2 && b.Labels[0] == typ && b.Labels[1] == name {
			return b
		}
	}
	return nil
}

// edit replaces src[start:end] (offsets in the file) with text.
type edit struct {
	start, end int
	text       string
}

// fixBlock returns the block's new text, whether it changed, and whether an
// argument was inserted (rather than only literals replaced). base is the
// block's offset in the file, since the parser's ranges are file offsets.
func fixBlock(block []byte, bf *blockFix, base int) ([]byte, bool, bool, error) {
	attrs := bf.block.Body.Attributes
	var edits []edit
	var inserts []string

	if bf.remove {
		for _, name := range []string{"enable_key_rotation", "rotation_period_in_days"} {
			a := attrs[name]
			if a == nil {
				continue
			}
			e, ok := lineOf(block, a, base)
			if !ok {
				return nil, false, false, &RefusedError{Resource: bf.asked, Argument: name, Reason: "shares its line with other arguments, not removed"}
			}
			edits = append(edits, e)
		}
		if len(edits) == 0 {
			return block, false, false, nil
		}
		return hclwrite.Format(applyEdits(block, base, edits)), true, false, nil
	}
	if bf.enable {
		if a := attrs["enable_key_rotation"]; a != nil {
			v, ok := literal(a.Expr)
			switch {
			case ok && v.Type() == cty.String:
				// A quoted "true" or "false", which Terraform converts.
				b, err := convert.Convert(v, cty.Bool)
				if err != nil {
					return nil, false, false, &RefusedError{Resource: bf.asked, Argument: "enable_key_rotation",
						Reason: fmt.Sprintf("is %s, not a boolean", exprText(block, a.Expr, base))}
				}
				if b.False() {
					r := a.Expr.Range()
					edits = append(edits, edit{r.Start.Byte, r.End.Byte, "true"})
				}
			case !ok || (!v.IsNull() && v.Type() != cty.Bool):
				return nil, false, false, &RefusedError{Resource: bf.asked, Argument: "enable_key_rotation",
					Reason: fmt.Sprintf("is set by an expression (%s), not a literal", exprText(block, a.Expr, base))}
			case v.IsNull() || v.False():
				r := a.Expr.Range()
				edits = append(edits, edit{r.Start.Byte, r.End.Byte, "true"})
			}
		} else {
			inserts = append(inserts, "enable_key_rotation = true")
		}
	}
	if bf.period > 0 {
		if a := attrs["rotation_period_in_days"]; a != nil {
			v, ok := literal(a.Expr)
			if ok && v.Type() == cty.String {
				// A numeric string, which Terraform converts.
				if n, err := convert.Convert(v, cty.Number); err == nil {
					v = n
				}
			}
			if !ok || (!v.IsNull() && v.Type() != cty.Number) {
				return nil, false, false, &RefusedError{Resource: bf.asked, Argument: "rotation_period_in_days",
					Reason: fmt.Sprintf("is set by an expression (%s), not a literal", exprText(block, a.Expr, base))}
			}
			if n, whole := wholeIntOrNull(v); !whole || n != bf.period {
				r := a.Expr.Range()
				edits = append(edits, edit{r.Start.Byte, r.End.Byte, strconv.Itoa(bf.period)})
			}
		} else {
			if !bf.enable && attrs["enable_key_rotation"] == nil {
				return nil, false, false, fmt.Errorf("%s: a rotation period was asked without enabling rotation, and enable_key_rotation is not set", bf.addr)
			}
			inserts = append(inserts, fmt.Sprintf("rotation_period_in_days = %d", bf.period))
		}
	}
	if len(edits) == 0 && len(inserts) == 0 {
		return block, false, false, nil
	}

	return insertArgs(block, bf.block, base, edits, inserts), true, len(inserts) > 0, nil
}

// lineOf is the edit that deletes an argument's whole line, when nothing
// but the argument and a comment is on it.
func lineOf(block []byte, a *hclsyntax.Attribute, base int) (edit, bool) {
	start := a.SrcRange.Start.Byte - base
	end := a.SrcRange.End.Byte - base
	ls := bytes.LastIndexByte(block[:start], '\n') + 1
	if len(bytes.TrimSpace(block[ls:start])) != 0 {
		return edit{}, false
	}
	le := bytes.IndexByte(block[end:], '\n')
	if le < 0 {
		return edit{}, false
	}
	rest := bytes.TrimSpace(block[end : end+le])
	if len(rest) != 0 && !bytes.HasPrefix(rest, []byte("#")) && !bytes.HasPrefix(rest, []byte("//")) {
		return edit{}, false
	}
	return edit{base + ls, base + end + le + 1, ""}, true
}

// insertionPoint is where new arguments go: at the start of the line after
// the block's last argument (after any comment on that line), or after the
// opening brace when the block has none. indent is that argument's
// indentation.
func insertionPoint(block []byte, b *hclsyntax.Block, base int) (int, string) {
	after := b.OpenBraceRange.End.Byte
	indent := "  "
	var last *hclsyntax.Attribute
	for _, a := range b.Body.Attributes {
		if last == nil || a.SrcRange.End.Byte > last.SrcRange.End.Byte {
			last = a
		}
	}
	if last != nil {
		after = last.SrcRange.End.Byte
		lineStart := bytes.LastIndexByte(block[:last.SrcRange.Start.Byte-base], '\n') + 1
		if ws := block[lineStart : last.SrcRange.Start.Byte-base]; len(bytes.TrimLeft(ws, " \t")) == 0 {
			indent = string(ws)
		}
	}
	rel := after - base
	nlAt := bytes.IndexByte(block[rel:], '\n')
	closeAt := b.CloseBraceRange.Start.Byte - base
	if nlAt < 0 || rel+nlAt >= closeAt {
		return b.CloseBraceRange.Start.Byte, indent
	}
	return base + rel + nlAt + 1, indent
}

func applyEdits(block []byte, base int, edits []edit) []byte {
	slices.SortFunc(edits, func(a, b edit) int { return cmp.Compare(b.start, a.start) })
	out := slices.Clone(block)
	for _, e := range edits {
		out = slices.Concat(out[:e.start-base:e.start-base], []byte(e.text), out[e.end-base:])
	}
	return out
}

// literal returns the value of a literal expression: true, false, null, a
// number, or a quoted string without interpolation ("true", "365"), which
// Terraform converts to the argument's type.
func literal(expr hclsyntax.Expression) (cty.Value, bool) {
	return literalValue(expr)
}

func exprText(block []byte, expr hclsyntax.Expression, base int) string {
	r := expr.Range()
	s := strings.Join(strings.Fields(string(block[r.Start.Byte-base:r.End.Byte-base])), " ")
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

// verifyFixed re-parses the rewritten file and checks that every fixed
// block now says what was asked, so that a surprising layout (a comment
// that swallows the next line) is an error, never a silent non-fix.
func verifyFixed(filename string, out []byte, r span, todo []*blockFix) error {
	file, diags := hclsyntax.ParseConfig(out[r.start:r.end], filename, r.pos)
	if diags.HasErrors() {
		return fmt.Errorf("fix %s: the rewritten file does not parse (%v); the file was not changed", filename, diags)
	}
	body := file.Body.(*hclsyntax.Body)
	for _, bf := range todo {
		blk := findResource(body, bf.block.Labels[0], bf.block.Labels[1])
		if blk == nil {
			return fmt.Errorf("fix %s: %s is missing after the rewrite; the file was not changed", filename, bf.addr)
		}
		if bf.remove {
			if blk.Body.Attributes["enable_key_rotation"] != nil || blk.Body.Attributes["rotation_period_in_days"] != nil {
				return fmt.Errorf("fix %s: %s: could not remove the rotation arguments; the file was not changed", filename, bf.addr)
			}
			continue
		}
		if bf.enable {
			v, ok := literalOf(blk.Body.Attributes["enable_key_rotation"])
			if ok {
				v, _ = convert.Convert(v, cty.Bool)
			}
			if !ok || v.Type() != cty.Bool || !v.True() {
				return fmt.Errorf("fix %s: %s: could not set enable_key_rotation = true; the file was not changed", filename, bf.addr)
			}
		}
		if bf.period > 0 {
			a := blk.Body.Attributes["rotation_period_in_days"]
			v, ok := literalOf(a)
			if ok {
				v, _ = convert.Convert(v, cty.Number)
			}
			if !ok || v == cty.NilVal || v.Type() != cty.Number {
				return fmt.Errorf("fix %s: %s: could not set rotation_period_in_days; the file was not changed", filename, bf.addr)
			}
			if n, whole := wholeInt(v); !whole || n != bf.period {
				return fmt.Errorf("fix %s: %s: could not set rotation_period_in_days; the file was not changed", filename, bf.addr)
			}
		}
	}
	return nil
}

func wholeIntOrNull(v cty.Value) (int, bool) {
	if v.IsNull() {
		return 0, false
	}
	return wholeInt(v)
}

func literalOf(a *hclsyntax.Attribute) (cty.Value, bool) {
	if a == nil {
		return cty.NilVal, false
	}
	v, ok := literal(a.Expr)
	if !ok || v.IsNull() {
		return cty.NilVal, false
	}
	return v, true
}
