package terraform

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/kmsrotor/kmsrotor/internal/kmskey"

	"github.com/kmsrotor/kmsrotor/internal/iac/limit"
)

// Site is where the value of a rotation argument is set when the resource
// block does not state it itself: a local, a variable's default, a .tfvars
// value, a module call's argument, or a module call that leaves the
// argument to the module's default (Insert: the argument is added there).
type Site struct {
	File string
	Line int
	// Start and End are the byte offsets of the literal to replace; unused
	// when Insert.
	Start, End int
	// Insert adds Arg = value to the module block that starts on Line.
	Insert bool
	// Arg is the argument or variable the site sets, for messages.
	Arg string
	// Refs are the references the value flows through (local.x, var.y in
	// their module directories): the site is edited only when each is used
	// for rotation arguments alone (Shared).
	Refs []SiteRef
	// Refusal, when set, says why the value is not edited here, with the
	// line to change by hand.
	Refusal string
}

// SiteRef is a reference (local.x or var.x) in a module directory.
type SiteRef struct {
	Dir, Ref string
}

// KeySites tells a key's fix where its values are set. Rotation and Period
// are nil when the argument is absent or a literal in the resource block.
type KeySites struct {
	Rotation, Period *Site
	// CallFile, CallLine and CallName are the root module's call of the
	// module that makes the key (module.kms), when it is made in a module.
	CallFile string
	CallLine int
	CallName string
	// Downloaded is set when the key's block is in a module that terraform
	// init downloaded (.terraform/modules): never edited, the call site is.
	Downloaded bool
	// Note is said of the key in its finding: a module not downloaded.
	Note string
	// DeclaredFile and DeclaredLine are, for a key of a plan, the block in
	// the configuration the plan was made from, when it is on disk.
	DeclaredFile string
	DeclaredLine int
}

// maxHops bounds how far a value is followed through locals and variables.
const maxHops = 16

// trace returns where the value of a resource argument is set, nil when it
// is a literal in place.
func (in *instance) trace(expr hcl.Expression, r rep, arg string) *Site {
	if _, ok := literalValue(expr); ok {
		return nil
	}
	if st, ok := expr.(*hclsyntax.ScopeTraversalExpr); !ok || len(st.Traversal) != 2 {
		return nil // an expression in the block: the block's fix refuses it
	}
	return in.valueSite(expr, arg, nil, 0)
}

func (in *instance) valueSite(expr hcl.Expression, arg string, refs []SiteRef, hops int) *Site {
	rng := expr.Range()
	if _, ok := literalValue(expr); ok {
		s := &Site{File: rng.Filename, Line: rng.Start.Line, Start: rng.Start.Byte, End: rng.End.Byte, Arg: arg, Refs: refs}
		if isJSONFile(rng.Filename) {
			s.Refusal = fmt.Sprintf("is set in %s line %d (JSON); change it there by hand", rng.Filename, rng.Start.Line)
		}
		return s
	}
	refuse := func(format string, a ...any) *Site {
		return &Site{File: rng.Filename, Line: rng.Start.Line, Arg: arg, Refusal: fmt.Sprintf(format, a...)}
	}
	st, ok := expr.(*hclsyntax.ScopeTraversalExpr)
	if !ok || len(st.Traversal) != 2 || hops > maxHops {
		return refuse("is set by an expression on %s line %d, not a literal; set it by hand", rng.Filename, rng.Start.Line)
	}
	name, _ := attrStep(st.Traversal, 1)
	switch st.Traversal.RootName() {
	case "local":
		a := in.mod.locals[name]
		if a == nil {
			break
		}
		return in.valueSite(a.Expr, "local."+name, append(refs, SiteRef{in.mod.dir, "local." + name}), hops+1)
	case "var":
		v := in.mod.variables[name]
		if v == nil {
			break
		}
		refs = append(refs, SiteRef{in.mod.dir, "var." + name})
		switch {
		case in.parent == nil && in.ev.rootVars[name].set:
			a := in.ev.rootVars[name]
			if a.expr == nil {
				break
			}
			return in.valueSite(a.expr, name, refs, hops+1)
		case in.parent != nil && in.call.args[name] != nil:
			return in.parent.valueSite(in.call.args[name].Expr, name, refs, hops+1)
		case in.parent != nil:
			// The module's default applies: the caller sets the argument.
			s := &Site{File: in.call.file, Line: in.call.line, Insert: true, Arg: name, Refs: refs}
			if isJSONFile(in.call.file) || downloaded(in.call.file) {
				s.Refusal = fmt.Sprintf("comes from the default of variable %q; set %s in module %q (%s line %d) by hand", name, name, in.call.name, in.call.file, in.call.line)
			}
			return s
		case v.def != nil:
			return in.valueSite(v.def.Expr, "var."+name, refs, hops+1)
		}
		return refuse("comes from variable %q, which has no value in the files; pass it (a .tfvars file) to have it checked", name)
	}
	return refuse("is set by an expression on %s line %d that kmsrotor cannot follow; set it by hand", rng.Filename, rng.Start.Line)
}

func isJSONFile(path string) bool { return strings.HasSuffix(path, ".json") }

// isConfigFile reports a Terraform or OpenTofu configuration file name.
func isConfigFile(name string) bool {
	for _, ext := range []string{".tf", ".tf.json", ".tofu", ".tofu.json"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// downloaded reports a file under .terraform, which terraform init writes.
func downloaded(path string) bool {
	return strings.Contains(filepath.ToSlash(path), "/.terraform/")
}

// rootCall returns the outermost module call of an instance: the one in
// the root module.
func (in *instance) rootCall() *moduleCall {
	var c *moduleCall
	for x := in; x.parent != nil; x = x.parent {
		c = x.call
	}
	return c
}

// Shared says, for a site that is not refused, why editing it would change
// more than rotation arguments: a reference it flows through is used
// elsewhere than as the whole value of a rotation argument. It returns ""
// when every use is one.
func Shared(s *Site) string {
	for _, r := range s.Refs {
		all, rot := countUses(r)
		if all > rot {
			return fmt.Sprintf("%s is also used for other values than rotation (%d uses, %d for rotation), and editing %s line %d would change them too; set the argument in the resource block instead",
				r.Ref, all, rot, s.File, s.Line)
		}
	}
	return ""
}

// countUses counts the uses of a reference in a directory's configuration,
// and those that are the whole value of an argument about rotation.
func countUses(r SiteRef) (all, rotation int) {
	entries, err := os.ReadDir(r.Dir)
	if err != nil {
		return 1, 0
	}
	use := regexp.MustCompile(`(^|[^\w.])` + regexp.QuoteMeta(r.Ref) + `($|[^\w-])`)
	rot := regexp.MustCompile(`^\s*"?\w*rotation\w*"?\s*[=:]\s*"?(\$\{)?` + regexp.QuoteMeta(r.Ref) + `\}?"?\s*,?\s*$`)
	for _, e := range entries {
		if e.IsDir() || !isConfigFile(e.Name()) {
			continue
		}
		src, err := limit.ReadFile(filepath.Join(r.Dir, e.Name()))
		if err != nil {
			return 1, 0
		}
		for _, line := range strings.Split(string(src), "\n") {
			line = stripComment(line)
			n := len(use.FindAllStringIndex(line, -1))
			all += n
			if n == 1 && rot.MatchString(line) {
				rotation++
			}
		}
	}
	return all, rotation
}

// ApplySite sets the value at a site: it replaces the literal (whose text
// must be as read) with value, or adds arg = value to the module block.
// The result is formatted as terraform fmt would format the block.
func ApplySite(filename string, src []byte, s *Site, value string) ([]byte, error) {
	if s.Refusal != "" {
		return nil, &RefusedError{File: filename, Resource: s.Arg, Reason: s.Refusal}
	}
	if !s.Insert {
		if s.End > len(src) || s.Start < 0 || s.Start > s.End {
			return nil, fmt.Errorf("fix %s: line %d: the file changed since it was read", filename, s.Line)
		}
		old := src[s.Start:s.End]
		if string(old) == value {
			return src, nil
		}
		if e, d := hclsyntax.ParseExpression(old, filename, hcl.InitialPos); d.HasErrors() {
			return nil, fmt.Errorf("fix %s: line %d: the file changed since it was read", filename, s.Line)
		} else if _, ok := literalValue(e); !ok {
			return nil, fmt.Errorf("fix %s: line %d: the file changed since it was read", filename, s.Line)
		}
		return bytes.Join([][]byte{src[:s.Start:s.Start], []byte(value), src[s.End:]}, nil), nil
	}
	file, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, fmt.Errorf("fix %s: the file does not parse: %w", filename, diags)
	}
	var blk *hclsyntax.Block
	for _, b := range file.Body.(*hclsyntax.Body).Blocks {
		if b.Type == "module" && b.TypeRange.Start.Line == s.Line {
			blk = b
		}
	}
	if blk == nil {
		return nil, fmt.Errorf("fix %s: no module block on line %d: the file changed since it was read", filename, s.Line)
	}
	if a := blk.Body.Attributes[s.Arg]; a != nil {
		return nil, fmt.Errorf("fix %s: module on line %d already sets %s", filename, s.Line, s.Arg)
	}
	start, end := blk.TypeRange.Start.Byte, blk.CloseBraceRange.End.Byte
	text := insertArgs(src[start:end], blk, start, nil, []string{s.Arg + " = " + value})
	return bytes.Join([][]byte{src[:start:start], text, src[end:]}, nil), nil
}

// insertArgs returns the block's text with the edits applied and the
// arguments inserted after its last argument (a one-line block is opened
// up), formatted as terraform fmt formats it.
func insertArgs(block []byte, b *hclsyntax.Block, base int, edits []edit, inserts []string) []byte {
	nl := "\n"
	if bytes.Contains(block, []byte("\r\n")) {
		nl = "\r\n"
	}
	switch {
	case len(inserts) > 0 && b.OpenBraceRange.Start.Line == b.CloseBraceRange.Start.Line:
		// A one-line block, `{}` or `{ a = 1 }`: replace inside it, then
		// open it up with one argument per line.
		in0, in1 := b.OpenBraceRange.End.Byte, b.CloseBraceRange.Start.Byte
		inner := strings.TrimSpace(string(applyEdits(block[in0-base:in1-base], in0, edits)))
		var lines []string
		if inner != "" {
			lines = append(lines, "  "+inner)
		}
		for _, s := range inserts {
			lines = append(lines, "  "+s)
		}
		edits = []edit{{in0, in1, nl + strings.Join(lines, nl) + nl}}
	case len(inserts) > 0:
		at, indent := insertionPoint(block, b, base)
		var text strings.Builder
		for _, s := range inserts {
			text.WriteString(indent + s + nl)
		}
		edits = append(edits, edit{at, at, text.String()})
	}
	return hclwrite.Format(applyEdits(block, base, edits))
}

// kmsModule reports a remote module call that likely makes KMS keys: its
// source names kms, or it passes a rotation argument.
func kmsModule(c *moduleCall) bool {
	if strings.Contains(strings.ToLower(c.source), "kms") {
		return true
	}
	for name := range c.args {
		if strings.Contains(name, "rotation") {
			return true
		}
	}
	return false
}

// notDownloaded stands for the keys of a remote KMS module that terraform
// init has not downloaded: one key at the call, whose rotation is what the
// call passes as enable_key_rotation (the variable the public KMS modules
// use) when that is a literal, and unresolved otherwise. The call is where
// a fix goes.
func (in *instance) notDownloaded(c *moduleCall) {
	k := kmskey.Key{
		Source:    kmskey.SourceTerraform,
		File:      c.file,
		StartLine: c.line,
		EndLine:   c.endLine,
		Resource:  in.prefix + "module." + c.name,
		Manager:   kmskey.ManagerCustomer,
		Origin:    kmskey.OriginAWSKMS,
		Spec:      kmskey.SpecSymmetricDefault,
		Usage:     kmskey.UsageEncryptDecrypt,
		State:     kmskey.StateEnabled,
	}
	sites := KeySites{CallFile: c.file, CallLine: c.line, CallName: "module." + c.name,
		Note: fmt.Sprintf("module source %q is not on disk: run terraform init in %s to download it and have its keys checked", c.source, filepath.Dir(c.file))}
	if root := in.rootCall(); root != nil {
		sites.CallFile, sites.CallLine, sites.CallName = root.file, root.line, "module."+root.name
	}
	k.Rotation.Enabled = kmskey.Unknown
	if a := c.args["enable_key_rotation"]; a != nil {
		if v, ok := in.evalKnown(a.Expr, rep{}); ok && !v.IsNull() {
			if b, err := convert.Convert(v, cty.Bool); err == nil {
				k.Rotation.Enabled = kmskey.BoolOf(b.True())
				sites.Rotation = in.valueSite(a.Expr, "enable_key_rotation", nil, 0)
			}
		}
	}
	if k.Rotation.Enabled == kmskey.Unknown {
		k.Unresolved = append(k.Unresolved, kmskey.AttrRotation)
	} else if k.Rotation.Enabled == kmskey.True {
		if a := c.args["rotation_period_in_days"]; a != nil {
			if v, ok := in.evalKnown(a.Expr, rep{}); ok && !v.IsNull() {
				if n, err := convert.Convert(v, cty.Number); err == nil {
					if d, whole := wholeInt(n); whole {
						k.Rotation.PeriodDays = d
						sites.Period = in.valueSite(a.Expr, "rotation_period_in_days", nil, 0)
					}
				}
			} else {
				k.Unresolved = append(k.Unresolved, kmskey.AttrPeriod)
			}
		} else {
			// The module's default is not known, nor the name of its
			// variable for the period, if any.
			k.Rotation.PeriodDays = 0
			k.Unresolved = append(k.Unresolved, kmskey.AttrPeriod)
		}
	}
	in.ev.res.Keys = append(in.ev.res.Keys, k)
	in.ev.res.Sites = append(in.ev.res.Sites, sites)
}

// stripComment drops a # or // comment from a line of HCL, outside quoted
// strings.
func stripComment(line string) string {
	quoted := false
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && (c == '#' || (c == '/' && i+1 < len(line) && line[i+1] == '/')):
			return line[:i]
		}
	}
	return line
}
