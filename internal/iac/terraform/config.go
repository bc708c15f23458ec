package terraform

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	hcljson "github.com/hashicorp/hcl/v2/json"
	"github.com/zclconf/go-cty/cty"

	"github.com/kmsrotor/kmsrotor/internal/iac/diag"
	"github.com/kmsrotor/kmsrotor/internal/iac/limit"
)

// The resource types that create KMS keys.
const (
	typeKey                = "aws_kms_key"
	typeExternalKey        = "aws_kms_external_key"
	typeReplicaKey         = "aws_kms_replica_key"
	typeReplicaExternalKey = "aws_kms_replica_external_key"
)

var keyTypes = map[string]bool{typeKey: true, typeExternalKey: true, typeReplicaKey: true, typeReplicaExternalKey: true}

// maxDiagsPerFile keeps one broken file from burying the others: the HCL
// parser's later errors in a file are usually echoes of the first.
const maxDiagsPerFile = 5

// module is the static configuration of one directory: its declarations,
// merged across files (override files last), before any evaluation.
type module struct {
	dir        string
	autoVars   []string // terraform.tfvars, terraform.tfvars.json, *.auto.tfvars[.json], in precedence order
	variables  map[string]*variable
	locals     map[string]*hcl.Attribute
	outputs    map[string]*hcl.Attribute
	resources  []*resource          // KMS key resources, in file order
	resByAddr  map[string]*resource // by "type.name"
	calls      []*moduleCall
	callByName map[string]*moduleCall
	diags      []Diagnostic
	// sources are the files that declare KMS resources, by path.
	sources map[string]*Source
	// missing is set when the directory cannot be read.
	missing error
}

type variable struct {
	name     string
	def      *hcl.Attribute // default, nil when absent
	ty       cty.Type       // cty.DynamicPseudoType when no type is given
	defaults *typeexpr.Defaults
}

type resource struct {
	typ, name          string
	file               string
	startLine, endLine int
	attrs              map[string]*hcl.Attribute
	count, forEach     *hcl.Attribute
}

type moduleCall struct {
	name           string
	file           string
	line, endLine  int
	source         string
	dir            string // the local directory called; "" for remote or unknown sources
	args           map[string]*hcl.Attribute
	count, forEach *hcl.Attribute
}

// moduleMeta are the module block arguments that are not input variables.
var moduleMeta = map[string]bool{"source": true, "version": true, "count": true, "for_each": true, "providers": true, "depends_on": true}

var fileSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
	{Type: "resource", LabelNames: []string{"type", "name"}},
	{Type: "variable", LabelNames: []string{"name"}},
	{Type: "locals"},
	{Type: "module", LabelNames: []string{"name"}},
	{Type: "output", LabelNames: []string{"name"}},
}}

// resourceSchema names every argument of the four KMS resource types that
// says something about the key; the others (policy, timeouts, ...) are ignored.
var resourceSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "count"}, {Name: "for_each"},
	{Name: "description"}, {Name: "tags"},
	{Name: "enable_key_rotation"}, {Name: "rotation_period_in_days"},
	{Name: "customer_master_key_spec"}, {Name: "key_spec"}, {Name: "key_usage"},
	{Name: "is_enabled"}, {Name: "enabled"}, {Name: "multi_region"},
	{Name: "custom_key_store_id"}, {Name: "xks_key_id"},
	{Name: "primary_key_arn"},
}}

var variableSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "default"}, {Name: "type"}}}

var outputSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "value"}}}

// loader holds every module directory read so far. It is filled by load
// (one goroutine at a time) and only read during evaluation.
type loader struct {
	mods map[string]*module
	// extra lists the module directories loaded because a given directory
	// calls them, though the walker did not give them.
	extra []string
}

func newLoader() *loader {
	return &loader{mods: make(map[string]*module)}
}

// load reads the given directories and, breadth first, every local module
// directory they call, each exactly once.
func (l *loader) load(dirs []string) {
	pending := slices.Clone(dirs)
	for len(pending) > 0 {
		mods := parseDirs(pending)
		for i, d := range pending {
			l.mods[d] = mods[i]
		}
		var next []string
		queued := make(map[string]bool)
		for _, d := range pending {
			m := l.mods[d]
			for _, c := range m.calls {
				if c.dir == "" || queued[c.dir] {
					continue
				}
				if _, ok := l.mods[c.dir]; !ok {
					queued[c.dir] = true
					next = append(next, c.dir)
					l.extra = append(l.extra, c.dir)
				}
			}
		}
		pending = next
	}
	// A call to a directory that cannot be read is reported where the call is.
	for _, d := range append(slices.Clone(dirs), l.extra...) {
		m := l.mods[d]
		for _, c := range m.calls {
			if c.dir != "" && l.mods[c.dir].missing != nil {
				m.diags = append(m.diags, Diagnostic{File: c.file, Line: c.line, Code: diag.CodeParseError,
					Message: fmt.Sprintf("module %q: cannot read its source %q: %v", c.name, c.source, l.mods[c.dir].missing)})
			}
		}
	}
}

// roots returns the given directories that no other loaded directory calls
// as a local module. A directory that is only called from inside a call
// cycle is a root too, so that no given directory is silently dropped.
func (l *loader) roots(given []string) []string {
	called := make(map[string]bool)
	for _, d := range given {
		for _, c := range l.mods[d].calls {
			if c.dir != "" && c.dir != d {
				called[c.dir] = true
			}
		}
	}
	reached := make(map[string]bool)
	var visit func(d string)
	visit = func(d string) {
		if reached[d] {
			return
		}
		reached[d] = true
		if m := l.mods[d]; m != nil {
			for _, c := range m.calls {
				if c.dir != "" {
					visit(c.dir)
				}
			}
		}
	}
	var roots []string
	for _, d := range given {
		if !called[d] {
			roots = append(roots, d)
			visit(d)
		}
	}
	for _, d := range given {
		if !reached[d] {
			roots = append(roots, d)
			visit(d)
		}
	}
	return roots
}

// parallel runs fn(0..n-1) on runtime.NumCPU workers.
func parallel(n int, fn func(i int)) {
	workers := min(runtime.NumCPU(), n)
	if workers <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				fn(i)
			}
		})
	}
	wg.Wait()
}

// fileConfig is what one file declares.
type fileConfig struct {
	path      string
	override  bool
	resources []*resource
	variables []*variable
	locals    []*hcl.Attribute
	calls     []*moduleCall
	outputs   []*hcl.Attribute
	diags     []Diagnostic
	// source is kept when the file declares KMS resources (native syntax).
	source *Source
}

type dirListing struct {
	configs  []string // config file paths, in lexical order
	autoVars []string
	err      error
}

// parseDirs reads the directories, in parallel over directories and then
// over files (one directory may hold thousands of files), and merges each
// directory's files into a module.
func parseDirs(dirs []string) []*module {
	listings := make([]dirListing, len(dirs))
	parallel(len(dirs), func(i int) { listings[i] = listDir(dirs[i]) })

	var paths []string
	for _, ls := range listings {
		paths = append(paths, ls.configs...)
	}
	files := make([]*fileConfig, len(paths))
	parallel(len(paths), func(i int) { files[i] = parseFile(paths[i]) })

	mods := make([]*module, len(dirs))
	at := 0
	for i, d := range dirs {
		n := len(listings[i].configs)
		mods[i] = assemble(d, listings[i], files[at:at+n])
		at += n
	}
	return mods
}

func listDir(dir string) dirListing {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return dirListing{err: err}
	}
	var ls dirListing
	var auto []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || ignoredFile(name) {
			continue
		}
		switch {
		case isConfigFile(name):
			ls.configs = append(ls.configs, filepath.Join(dir, name))
		case name == "terraform.tfvars" || name == "terraform.tfvars.json":
			ls.autoVars = append(ls.autoVars, filepath.Join(dir, name))
		case strings.HasSuffix(name, ".auto.tfvars") || strings.HasSuffix(name, ".auto.tfvars.json"):
			auto = append(auto, filepath.Join(dir, name))
		}
	}
	// os.ReadDir sorts by name, so terraform.tfvars precedes
	// terraform.tfvars.json and the auto files are in lexical order, as
	// Terraform applies them.
	ls.autoVars = append(ls.autoVars, auto...)
	ls.configs = tofuShadows(ls.configs)
	return ls
}

// tofuShadows drops the .tf (.tf.json) files for which a .tofu
// (.tofu.json) file of the same name exists: OpenTofu reads the .tofu file
// instead, so that one configuration can serve both tools.
func tofuShadows(configs []string) []string {
	has := make(map[string]bool, len(configs))
	for _, c := range configs {
		has[c] = true
	}
	out := configs[:0]
	for _, c := range configs {
		switch {
		case strings.HasSuffix(c, ".tf") && has[strings.TrimSuffix(c, ".tf")+".tofu"]:
			continue
		case strings.HasSuffix(c, ".tf.json") && has[strings.TrimSuffix(c, ".tf.json")+".tofu.json"]:
			continue
		}
		out = append(out, c)
	}
	return out
}

// ignoredFile reports the names Terraform itself skips: hidden files and
// editor backups.
func ignoredFile(name string) bool {
	return strings.HasPrefix(name, ".") || strings.HasPrefix(name, "#") || strings.HasSuffix(name, "~")
}

func isOverride(path string) bool {
	base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(filepath.Base(path), ".json"), ".tf"), ".tofu")
	return base == "override" || strings.HasSuffix(base, "_override")
}

// parseSource parses one HCL or HCL-JSON document, after checking its
// nesting: HCL's parser recurses once per level, without a bound.
func parseSource(path string, src []byte) (hcl.Body, hcl.Diagnostics) {
	if err := limit.Brackets(src); err != nil {
		return hcl.EmptyBody(), limitDiag(path, err)
	}
	var f *hcl.File
	var diags hcl.Diagnostics
	if strings.HasSuffix(path, ".json") {
		f, diags = hcljson.Parse(src, path)
	} else {
		f, diags = hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	}
	if f == nil || f.Body == nil {
		return hcl.EmptyBody(), diags
	}
	return f.Body, diags
}

func parseFile(path string) *fileConfig {
	fc := &fileConfig{path: path, override: isOverride(path)}
	src, err := limit.ReadFile(path)
	if err != nil {
		fc.diags = []Diagnostic{{File: path, Code: diag.CodeParseError, Message: err.Error()}}
		return fc
	}
	extractFile(fc, src)
	return fc
}

// extractFile fills fc from the file's source. A file that does not parse
// contributes nothing but its diagnostics: a half-parsed block is not a fact.
func extractFile(fc *fileConfig, src []byte) {
	body, diags := parseSource(fc.path, src)
	if diags.HasErrors() {
		fc.diags = append(fc.diags, toDiags(diags, fc.path)...)
		return
	}
	content, _, diags := body.PartialContent(fileSchema)
	fc.diags = append(fc.diags, toDiags(diags, fc.path)...)
	if sb, ok := body.(*hclsyntax.Body); ok {
		fc.source = newSource(fc.path, src, sb)
	}
	dir := filepath.Dir(fc.path)
	for _, b := range content.Blocks {
		switch b.Type {
		case "resource":
			if keyTypes[b.Labels[0]] {
				fc.resources = append(fc.resources, extractResource(fc, b))
			}
		case "variable":
			fc.variables = append(fc.variables, extractVariable(fc, b))
		case "locals":
			attrs, diags := b.Body.JustAttributes()
			fc.diags = append(fc.diags, toDiags(diags, fc.path)...)
			fc.locals = append(fc.locals, sortedAttrs(attrs)...)
		case "module":
			fc.calls = append(fc.calls, extractCall(fc, dir, b))
		case "output":
			c, _, _ := b.Body.PartialContent(outputSchema)
			if a := c.Attributes["value"]; a != nil {
				// The output's name travels as the attribute's name.
				fc.outputs = append(fc.outputs, &hcl.Attribute{Name: b.Labels[0], Expr: a.Expr, Range: a.Range, NameRange: a.NameRange})
			}
		}
	}
	if len(fc.diags) > maxDiagsPerFile {
		fc.diags = fc.diags[:maxDiagsPerFile]
	}
}

func extractResource(fc *fileConfig, b *hcl.Block) *resource {
	c, _, diags := b.Body.PartialContent(resourceSchema)
	fc.diags = append(fc.diags, toDiags(diags, fc.path)...)
	r := &resource{
		typ: b.Labels[0], name: b.Labels[1], file: fc.path,
		startLine: b.DefRange.Start.Line, endLine: blockEndLine(b),
		attrs: c.Attributes,
	}
	r.count, r.forEach = c.Attributes["count"], c.Attributes["for_each"]
	delete(r.attrs, "count")
	delete(r.attrs, "for_each")
	return r
}

// blockEndLine is the line of the block's closing brace.
func blockEndLine(b *hcl.Block) int {
	if sb, ok := b.Body.(*hclsyntax.Body); ok {
		return sb.SrcRange.End.Line
	}
	return b.Body.MissingItemRange().End.Line
}

func extractVariable(fc *fileConfig, b *hcl.Block) *variable {
	c, _, diags := b.Body.PartialContent(variableSchema)
	fc.diags = append(fc.diags, toDiags(diags, fc.path)...)
	v := &variable{name: b.Labels[0], def: c.Attributes["default"], ty: cty.DynamicPseudoType}
	if a := c.Attributes["type"]; a != nil {
		ty, defaults, diags := typeConstraint(a.Expr)
		if diags.HasErrors() {
			fc.diags = append(fc.diags, toDiags(diags, fc.path)...)
		} else {
			v.ty, v.defaults = ty, defaults
		}
	}
	return v
}

// typeConstraint reads a variable's type, which HCL-JSON writes as a string
// holding the native expression.
func typeConstraint(expr hcl.Expression) (cty.Type, *typeexpr.Defaults, hcl.Diagnostics) {
	ty, defaults, diags := typeexpr.TypeConstraintWithDefaults(expr)
	if !diags.HasErrors() {
		return ty, defaults, nil
	}
	if s, d := expr.Value(nil); !d.HasErrors() && s.Type() == cty.String && s.IsKnown() && !s.IsNull() {
		native, d := parseExpression([]byte(s.AsString()), expr.Range().Filename, expr.Range().Start)
		if !d.HasErrors() {
			if ty, defaults, d := typeexpr.TypeConstraintWithDefaults(native); !d.HasErrors() {
				return ty, defaults, nil
			}
		}
	}
	return cty.DynamicPseudoType, nil, diags
}

func extractCall(fc *fileConfig, dir string, b *hcl.Block) *moduleCall {
	attrs, diags := b.Body.JustAttributes()
	fc.diags = append(fc.diags, toDiags(diags, fc.path)...)
	c := &moduleCall{name: b.Labels[0], file: fc.path, line: b.DefRange.Start.Line, endLine: blockEndLine(b), args: make(map[string]*hcl.Attribute)}
	for name, a := range attrs {
		if !moduleMeta[name] {
			c.args[name] = a
		}
	}
	c.count, c.forEach = attrs["count"], attrs["for_each"]
	if a := attrs["source"]; a != nil {
		if v, d := a.Expr.Value(nil); !d.HasErrors() && v.Type() == cty.String && v.IsKnown() && !v.IsNull() {
			c.source = v.AsString()
		}
	}
	if isLocalSource(c.source) {
		c.dir = filepath.Join(dir, filepath.FromSlash(c.source))
	} else if c.source != "" {
		c.dir = installedDir(dir, c.name)
	}
	return c
}

// installedDir is the directory terraform init downloaded a remote module
// to, from .terraform/modules/modules.json, or "" when it has not.
func installedDir(dir, name string) string {
	root, key := dir, name
	if i := strings.Index(filepath.ToSlash(dir), "/.terraform/modules/"); i >= 0 {
		root = dir[:i]
	}
	mods := readModulesJSON(root)
	if root != dir {
		// A call inside a downloaded module: its key is the caller's key
		// and the call's name.
		parent := ""
		for k, d := range mods {
			if d == dir {
				parent = k
			}
		}
		if parent == "" {
			return ""
		}
		key = parent + "." + name
	}
	return mods[key]
}

var modulesJSON sync.Map // root dir -> map[string]string

// readModulesJSON reads root/.terraform/modules/modules.json once: module
// keys (kms, kms.inner) to absolute directories.
func readModulesJSON(root string) map[string]string {
	if m, ok := modulesJSON.Load(root); ok {
		return m.(map[string]string)
	}
	out := map[string]string{}
	if src, err := os.ReadFile(filepath.Join(root, ".terraform", "modules", "modules.json")); err == nil {
		var doc struct {
			Modules []struct{ Key, Dir string }
		}
		if json.Unmarshal(src, &doc) == nil {
			for _, m := range doc.Modules {
				if m.Key != "" && m.Dir != "" {
					out[m.Key] = filepath.Join(root, filepath.FromSlash(m.Dir))
				}
			}
		}
	}
	modulesJSON.Store(root, out)
	return out
}

// isLocalSource reports a module source that is a path on disk. Registry,
// git and other remote sources are not fetched.
func isLocalSource(s string) bool {
	return strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../") || s == "." || s == ".." ||
		strings.HasPrefix(s, `.\`) || strings.HasPrefix(s, `..\`)
}

func sortedAttrs(attrs hcl.Attributes) []*hcl.Attribute {
	out := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b *hcl.Attribute) int { return a.Range.Start.Byte - b.Range.Start.Byte })
	return out
}

// assemble merges a directory's files into one module, applying override
// files after the others as Terraform does: an override replaces the
// arguments it sets, one by one.
func assemble(dir string, ls dirListing, files []*fileConfig) *module {
	m := &module{
		dir: dir, autoVars: ls.autoVars, missing: ls.err,
		variables: make(map[string]*variable), locals: make(map[string]*hcl.Attribute),
		outputs: make(map[string]*hcl.Attribute), resByAddr: make(map[string]*resource),
		callByName: make(map[string]*moduleCall),
	}
	for _, pass := range []bool{false, true} {
		for _, fc := range files {
			if fc.override != pass {
				continue
			}
			m.diags = append(m.diags, fc.diags...)
			if fc.source != nil {
				if m.sources == nil {
					m.sources = make(map[string]*Source)
				}
				m.sources[fc.path] = fc.source
			}
			if pass {
				m.applyOverride(fc)
			} else {
				m.add(fc)
			}
		}
	}
	return m
}

func (m *module) add(fc *fileConfig) {
	for _, r := range fc.resources {
		addr := r.typ + "." + r.name
		if prev := m.resByAddr[addr]; prev != nil {
			m.diags = append(m.diags, Diagnostic{File: r.file, Line: r.startLine, Code: diag.CodeParseError,
				Message: fmt.Sprintf("duplicate resource %s; it is first declared at %s:%d", addr, prev.file, prev.startLine)})
			continue
		}
		m.resByAddr[addr] = r
		m.resources = append(m.resources, r)
	}
	for _, v := range fc.variables {
		if _, dup := m.variables[v.name]; !dup {
			m.variables[v.name] = v
		}
	}
	for _, a := range fc.locals {
		if _, dup := m.locals[a.Name]; !dup {
			m.locals[a.Name] = a
		}
	}
	for _, c := range fc.calls {
		if _, dup := m.callByName[c.name]; !dup {
			m.callByName[c.name] = c
			m.calls = append(m.calls, c)
		}
	}
	for _, a := range fc.outputs {
		if _, dup := m.outputs[a.Name]; !dup {
			m.outputs[a.Name] = a
		}
	}
}

func (m *module) applyOverride(fc *fileConfig) {
	for _, o := range fc.resources {
		r := m.resByAddr[o.typ+"."+o.name]
		if r == nil {
			continue
		}
		merged := *r
		merged.attrs = make(map[string]*hcl.Attribute, len(r.attrs))
		for k, a := range r.attrs {
			merged.attrs[k] = a
		}
		for k, a := range o.attrs {
			merged.attrs[k] = a
		}
		if o.count != nil {
			merged.count = o.count
		}
		if o.forEach != nil {
			merged.forEach = o.forEach
		}
		*r = merged
	}
	for _, o := range fc.variables {
		v := m.variables[o.name]
		if v == nil {
			continue
		}
		if o.def != nil {
			v.def = o.def
		}
		if o.ty != cty.DynamicPseudoType {
			v.ty, v.defaults = o.ty, o.defaults
		}
	}
	for _, a := range fc.locals {
		m.locals[a.Name] = a
	}
	for _, o := range fc.calls {
		c := m.callByName[o.name]
		if c == nil {
			continue
		}
		for k, a := range o.args {
			c.args[k] = a
		}
		if o.count != nil {
			c.count = o.count
		}
		if o.forEach != nil {
			c.forEach = o.forEach
		}
		if o.source != "" {
			c.source, c.dir = o.source, o.dir
		}
	}
	for _, a := range fc.outputs {
		m.outputs[a.Name] = a
	}
}

// toDiags keeps the errors of HCL diagnostics.
func toDiags(ds hcl.Diagnostics, file string) []Diagnostic {
	var out []Diagnostic
	for _, d := range ds {
		if d.Severity != hcl.DiagError {
			continue
		}
		out = append(out, hclDiag(d, file))
	}
	return out
}

func hclDiag(d *hcl.Diagnostic, file string) Diagnostic {
	dg := Diagnostic{File: file, Code: diag.CodeParseError, Message: d.Summary}
	if d.Detail != "" {
		dg.Message += ": " + d.Detail
	}
	if d.Subject != nil {
		dg.Line = d.Subject.Start.Line
		if d.Subject.Filename != "" {
			dg.File = d.Subject.Filename
		}
	}
	return dg
}
