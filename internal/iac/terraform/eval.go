package terraform

import (
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/kmsrotor/kmsrotor/internal/iac/diag"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Limits that keep a hostile or broken configuration from exhausting memory.
const (
	// maxInstances bounds the resource and module instances one root
	// module may expand to.
	maxInstances = 20000
	// maxDepth bounds module nesting.
	maxDepth = 32
	// maxValueElems and maxValueBytes bound a stored value (a local, an
	// output, a variable): larger ones are unknown. A chain of locals that
	// doubles a string, or nests for over range, would otherwise grow
	// without limit.
	maxValueElems = 10000
	maxValueBytes = 1 << 20
	// evalBudget bounds the time spent evaluating one root module; past it
	// every further value is unknown. A real configuration takes
	// milliseconds.
	evalBudget = 10 * time.Second
)

// refMark marks every value derived from an attribute of a KMS resource
// instance. Such a value is unknown before apply, as in a Terraform plan: a
// marked value never becomes a fact of a key, a count or a for_each.
type refMark struct {
	addr string // absolute instance address, e.g. module.m.aws_kms_key.p[0]
	attr string
}

// The attributes of a KMS resource instance are placeholders: known,
// ARN-like strings that name the instance, and marked. A replica's
// primary_key_arn that evaluates to exactly one instance's placeholder ARN
// (directly, or through locals, module arguments and outputs, or a
// conditional on known values) names that instance as its primary. The
// placeholders behave like real ARNs (not null, not empty), so a condition
// on them (a.arn != null) takes the branch it would take after apply.
const (
	placeholderARN = "arn:aws:kms:kmsrotor-placeholder:000000000000:key/\x00"
	placeholderID  = "kmsrotor-placeholder-key-id\x00"
)

// repKind says how a resource or module block repeats.
type repKind uint8

const (
	repNone repKind = iota
	repCount
	repEach
)

// rep is one instance of a repeated block: count.index, or each.key and
// each.value. An unknown rep stands for instances that cannot be enumerated.
type rep struct {
	kind  repKind
	known bool
	index int
	key   string
	value cty.Value
}

func (r rep) suffix() string {
	switch {
	case r.kind == repNone:
		return ""
	case !r.known:
		return "[?]"
	case r.kind == repCount:
		return "[" + strconv.Itoa(r.index) + "]"
	}
	return "[" + quoteKey(r.key) + "]"
}

// quoteKey quotes a for_each key the way Terraform writes it in addresses.
func quoteKey(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '$', '%':
			b.WriteByte(c)
			if i+1 < len(s) && s[i+1] == '{' {
				b.WriteByte(c)
			}
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// slot memoizes a lazily evaluated value and detects cycles.
type slot struct {
	state uint8 // 0 new, 1 evaluating, 2 done
	val   cty.Value
}

// expansion is a resource's or module call's instances, once evaluated.
type expansion struct {
	state uint8
	// ok is set once reps are known; a remote, missing or cyclic module call
	// never gets there.
	ok       bool
	reps     []rep
	children []*instance // module calls only, one per rep
}

// rootEval evaluates one root module and the modules it calls. It is used by
// one goroutine.
type rootEval struct {
	l        *loader
	deadline time.Time
	evals    int
	expired  bool
	dir      string
	rootVars map[string]varAssign
	res      Result
	budget   int
	over     bool
	replicas []pendingReplica
}

// instance is one instance of a module: the root, or module.a["x"].
type instance struct {
	ev      *rootEval
	mod     *module
	prefix  string // "" for the root, else "module.a[0]." ...
	parent  *instance
	call    *moduleCall
	callRep rep
	depth   int
	dirs    []string // module directories from the root to here, for cycle detection

	vars    map[string]*slot
	locals  map[string]*slot
	outputs map[string]*slot
	calls   map[string]*expansion
	res     map[string]*expansion
}

func (l *loader) evalRoot(dir string, vf varFileValues) Result {
	ev := &rootEval{l: l, dir: dir, budget: maxInstances, deadline: time.Now().Add(evalBudget)}
	m := l.mods[dir]
	if m.missing != nil {
		return Result{Diags: []Diagnostic{{File: dir, Code: diag.CodeParseError, Message: fmt.Sprintf("read directory %s: %v", dir, m.missing)}}}
	}
	ev.rootVars = ev.readAutoVars(m)
	for name, a := range vf.vals {
		ev.rootVars[name] = a
	}
	root := ev.newInstance(m, nil, nil, rep{})
	root.collect()
	ev.resolveReplicas()
	return ev.res
}

func (ev *rootEval) newInstance(m *module, parent *instance, call *moduleCall, r rep) *instance {
	in := &instance{ev: ev, mod: m, parent: parent, call: call, callRep: r}
	if parent != nil {
		in.prefix = parent.prefix + "module." + call.name + r.suffix() + "."
		in.depth = parent.depth + 1
		in.dirs = append(slices.Clone(parent.dirs), m.dir)
	} else {
		in.dirs = []string{m.dir}
	}
	return in
}

// diag records a problem of the configuration (code ParseError).
func (ev *rootEval) diag(file string, line int, format string, args ...any) {
	ev.res.Diags = append(ev.res.Diags, Diagnostic{File: file, Line: line, Code: diag.CodeParseError, Message: fmt.Sprintf(format, args...)})
}

// invalid records a value the AWS provider or AWS would reject (code
// InvalidValue); the caller marks the fact it sets unresolved.
func (ev *rootEval) invalid(file string, line int, format string, args ...any) {
	ev.res.Diags = append(ev.res.Diags, Diagnostic{File: file, Line: line, Code: diag.CodeInvalidValue, Message: fmt.Sprintf(format, args...)})
}

// take reserves n instances from the root's budget.
func (ev *rootEval) take(n int, file string, line int) bool {
	if ev.budget >= n {
		ev.budget -= n
		return true
	}
	if !ev.over {
		ev.over = true
		ev.diag(file, line, "the configuration expands to more than %d resource and module instances; kmsrotor stops expanding here", maxInstances)
	}
	return false
}

// collect appends the keys of this module instance and of the modules it
// calls.
func (in *instance) collect() {
	for _, r := range in.mod.resources {
		for _, rp := range in.expandResource(r) {
			in.buildKey(r, rp)
		}
	}
	for _, c := range in.mod.calls {
		if c.dir == "" && c.source != "" && !isLocalSource(c.source) && kmsModule(c) {
			in.notDownloaded(c)
			continue
		}
		for _, child := range in.expandCall(c).children {
			child.collect()
		}
	}
}

func (in *instance) expandResource(r *resource) []rep {
	addr := r.typ + "." + r.name
	e := in.res[addr]
	if e == nil {
		if in.res == nil {
			in.res = make(map[string]*expansion)
		}
		e = &expansion{}
		in.res[addr] = e
	}
	switch e.state {
	case 1:
		return nil // a cycle through its own count or for_each
	case 2:
		return e.reps
	}
	e.state = 1
	e.reps = in.repetition(r.count, r.forEach, r.file, r.startLine)
	if !in.ev.take(len(e.reps), r.file, r.startLine) {
		e.reps = nil
	}
	e.state = 2
	return e.reps
}

func (in *instance) expandCall(c *moduleCall) *expansion {
	e := in.calls[c.name]
	if e == nil {
		if in.calls == nil {
			in.calls = make(map[string]*expansion)
		}
		e = &expansion{}
		in.calls[c.name] = e
	}
	if e.state != 0 {
		return e // done, or a cycle: no children yet
	}
	e.state = 1
	defer func() { e.state = 2 }()
	if c.dir == "" {
		return e // a remote module: not fetched, its keys are unknown
	}
	m := in.ev.l.mods[c.dir]
	if m == nil || m.missing != nil {
		return e // reported where the call is, by the loader
	}
	if slices.Contains(in.dirs, m.dir) || in.depth >= maxDepth {
		in.ev.diag(c.file, c.line, "module %q calls %s, which is already being evaluated (a module cycle, or nesting deeper than %d); its keys are skipped", c.name, c.source, maxDepth)
		return e
	}
	e.reps = in.repetition(c.count, c.forEach, c.file, c.line)
	if !in.ev.take(len(e.reps), c.file, c.line) {
		e.reps = nil
	}
	for _, r := range e.reps {
		e.children = append(e.children, in.ev.newInstance(m, in, c, r))
	}
	e.ok = true
	return e
}

// repetition evaluates count or for_each. An unknown count or for_each gives
// one unknown instance ([?]): its attributes are evaluated as written, and
// those that depend on count.index or each become unknown.
func (in *instance) repetition(count, forEach *hcl.Attribute, file string, line int) []rep {
	switch {
	case count != nil && forEach != nil:
		in.ev.diag(file, line, "count and for_each cannot both be set on one block")
		return nil
	case count != nil:
		return in.countReps(count)
	case forEach != nil:
		return in.forEachReps(forEach)
	}
	return []rep{{}}
}

func (in *instance) countReps(a *hcl.Attribute) []rep {
	unknown := []rep{{kind: repCount}}
	v, ok := in.evalKnown(a.Expr, rep{})
	if !ok {
		return unknown
	}
	if v.IsNull() {
		in.ev.diag(a.Range.Filename, a.Range.Start.Line, "count is null; Terraform requires a whole number")
		return nil
	}
	n, err := convert.Convert(v, cty.Number)
	if err != nil {
		in.ev.diag(a.Range.Filename, a.Range.Start.Line, "count: a number is required: %v", err)
		return nil
	}
	bf := n.AsBigFloat()
	i, acc := bf.Int64()
	if acc != big.Exact || i < 0 {
		in.ev.diag(a.Range.Filename, a.Range.Start.Line, "count must be a whole number at least 0, not %s", bf.Text('g', -1))
		return nil
	}
	if i > maxInstances {
		in.ev.take(maxInstances+1, a.Range.Filename, a.Range.Start.Line)
		return nil
	}
	reps := make([]rep, i)
	for j := range reps {
		reps[j] = rep{kind: repCount, known: true, index: j}
	}
	return reps
}

func (in *instance) forEachReps(a *hcl.Attribute) []rep {
	unknown := []rep{{kind: repEach}}
	v, diags := in.eval(a.Expr, rep{})
	if diags.HasErrors() {
		return unknown
	}
	// A map's values may be unknown (each.value then is); its keys, and a
	// set's elements, must be known and derive from no resource.
	v, marks := v.Unmark()
	if len(marks) > 0 || !v.IsKnown() || tooBig(v) {
		return unknown
	}
	ty := v.Type()
	switch {
	case v.IsNull():
		in.ev.diag(a.Range.Filename, a.Range.Start.Line, "for_each is null; Terraform requires a map or a set of strings")
		return nil
	case ty.IsMapType() || ty.IsObjectType():
		if v.LengthInt() > maxInstances {
			in.ev.take(maxInstances+1, a.Range.Filename, a.Range.Start.Line)
			return nil
		}
		var reps []rep
		for it := v.ElementIterator(); it.Next(); {
			k, val := it.Element()
			reps = append(reps, rep{kind: repEach, known: true, key: k.AsString(), value: val})
		}
		return reps
	case ty.IsSetType():
		v, marks := v.UnmarkDeep()
		if len(marks) > 0 || !v.IsWhollyKnown() {
			return unknown
		}
		s, err := convert.Convert(v, cty.Set(cty.String))
		if err != nil {
			in.ev.diag(a.Range.Filename, a.Range.Start.Line, "for_each: a set of strings is required: %v", err)
			return nil
		}
		if s.LengthInt() > maxInstances {
			in.ev.take(maxInstances+1, a.Range.Filename, a.Range.Start.Line)
			return nil
		}
		var reps []rep
		for it := s.ElementIterator(); it.Next(); {
			_, e := it.Element()
			if e.IsNull() {
				in.ev.diag(a.Range.Filename, a.Range.Start.Line, "for_each: a set element is null")
				return nil
			}
			reps = append(reps, rep{kind: repEach, known: true, key: e.AsString(), value: e})
		}
		return reps
	}
	in.ev.diag(a.Range.Filename, a.Range.Start.Line, "for_each requires a map or a set of strings, not %s; wrap a list in toset()", ty.FriendlyName())
	return nil
}

// evalKnown evaluates an expression and returns its value without marks when
// it is wholly known and derives from no resource attribute; ok is false
// otherwise (including on evaluation errors).
func (in *instance) evalKnown(expr hcl.Expression, r rep) (cty.Value, bool) {
	v, diags := in.eval(expr, r)
	if diags.HasErrors() {
		return cty.DynamicVal, false
	}
	v, marks := v.UnmarkDeep()
	if len(marks) > 0 || !v.IsWhollyKnown() {
		return cty.DynamicVal, false
	}
	return v, true
}

// eval evaluates an expression in this module instance. The context holds
// only what the expression refers to: variables, locals, module outputs,
// count/each, and placeholders for KMS resources; any other reference (data
// sources, other resources) is unknown.
func (in *instance) eval(expr hcl.Expression, r rep) (cty.Value, hcl.Diagnostics) {
	if v, ok := literalValue(expr); ok {
		return v, nil
	}
	if in.ev.outOfTime(expr) {
		return cty.DynamicVal, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "evaluation budget exhausted"}}
	}
	ctx := &hcl.EvalContext{Variables: make(map[string]cty.Value), Functions: functions()}
	var vars, locals map[string]cty.Value
	var modOutputs map[string]map[string]bool // module name -> outputs referred to; nil map = all
	resNames := make(map[string]map[string]bool)
	for _, tr := range expr.Variables() {
		root := tr.RootName()
		name, hasName := attrStep(tr, 1)
		switch root {
		case "var":
			if v := in.mod.variables[name]; hasName && v != nil {
				if vars == nil {
					vars = make(map[string]cty.Value)
				}
				vars[name] = in.varValue(v)
			}
		case "local":
			if a := in.mod.locals[name]; hasName && a != nil {
				if locals == nil {
					locals = make(map[string]cty.Value)
				}
				locals[name] = in.localValue(a)
			}
		case "count":
			if r.kind == repCount {
				idx := cty.UnknownVal(cty.Number)
				if r.known {
					idx = cty.NumberIntVal(int64(r.index))
				}
				ctx.Variables["count"] = cty.ObjectVal(map[string]cty.Value{"index": idx})
			}
		case "each":
			if r.kind == repEach {
				k, v := cty.UnknownVal(cty.String), cty.DynamicVal
				if r.known {
					k, v = cty.StringVal(r.key), r.value
				}
				ctx.Variables["each"] = cty.ObjectVal(map[string]cty.Value{"key": k, "value": v})
			}
		case "module":
			if !hasName || in.mod.callByName[name] == nil {
				continue
			}
			if modOutputs == nil {
				modOutputs = make(map[string]map[string]bool)
			}
			outs, seen := modOutputs[name]
			if out, ok := outputStep(tr); ok && (!seen || outs != nil) {
				if outs == nil {
					outs = make(map[string]bool)
				}
				outs[out] = true
				modOutputs[name] = outs
			} else {
				modOutputs[name] = nil // the whole module object
			}
		case "path":
			ctx.Variables["path"] = cty.ObjectVal(map[string]cty.Value{
				"module": cty.StringVal(in.mod.dir),
				"root":   cty.StringVal(in.ev.dir),
				"cwd":    cty.UnknownVal(cty.String),
			})
		case "terraform":
			// The workspace is chosen at run time.
			ctx.Variables["terraform"] = cty.ObjectVal(map[string]cty.Value{"workspace": cty.UnknownVal(cty.String)})
		default:
			if keyTypes[root] && hasName {
				if resNames[root] == nil {
					resNames[root] = make(map[string]bool)
				}
				resNames[root][name] = true
			} else {
				ctx.Variables[root] = cty.DynamicVal
			}
		}
	}
	if vars != nil {
		ctx.Variables["var"] = cty.ObjectVal(vars)
	}
	if locals != nil {
		ctx.Variables["local"] = cty.ObjectVal(locals)
	}
	if modOutputs != nil {
		mods := make(map[string]cty.Value, len(modOutputs))
		for name, outs := range modOutputs {
			mods[name] = in.moduleValue(in.mod.callByName[name], outs)
		}
		ctx.Variables["module"] = cty.ObjectVal(mods)
	}
	for typ, names := range resNames {
		objs := make(map[string]cty.Value, len(names))
		for name := range names {
			if res := in.mod.resByAddr[typ+"."+name]; res != nil {
				objs[name] = in.placeholder(res)
			}
		}
		ctx.Variables[typ] = cty.ObjectVal(objs)
	}
	if tooCostly(expr, ctx) {
		r := expr.Range()
		in.ev.diag(r.Filename, r.Start.Line, "nested for expressions here may run more than %d iterations; kmsrotor does not evaluate them and treats the value as unknown", maxForIterations)
		return cty.DynamicVal, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "too costly"}}
	}
	return expr.Value(ctx)
}

// literalValue short-cuts the commonest arguments, a literal (true, 365)
// or a quoted string without interpolation, which need no context.
func literalValue(expr hcl.Expression) (cty.Value, bool) {
	switch e := expr.(type) {
	case *hclsyntax.LiteralValueExpr:
		return e.Val, true
	case *hclsyntax.TemplateExpr:
		if len(e.Parts) == 1 {
			if lit, ok := e.Parts[0].(*hclsyntax.LiteralValueExpr); ok && lit.Val.Type() == cty.String {
				return lit.Val, true
			}
		}
	}
	return cty.NilVal, false
}

// attrStep returns the attribute name at step i of a traversal.
func attrStep(tr hcl.Traversal, i int) (string, bool) {
	if len(tr) <= i {
		return "", false
	}
	if a, ok := tr[i].(hcl.TraverseAttr); ok {
		return a.Name, true
	}
	return "", false
}

// outputStep returns the output named by module.NAME.OUT or module.NAME[i].OUT.
func outputStep(tr hcl.Traversal) (string, bool) {
	if out, ok := attrStep(tr, 2); ok {
		return out, true
	}
	if len(tr) > 2 {
		if _, ok := tr[2].(hcl.TraverseIndex); ok {
			return attrStep(tr, 3)
		}
	}
	return "", false
}

// placeholder stands for a KMS resource's instances when an expression
// refers to them: every attribute is unknown, marked with the instance it
// belongs to.
func (in *instance) placeholder(res *resource) cty.Value {
	e := in.res[res.typ+"."+res.name]
	if e != nil && e.state == 1 {
		return cty.DynamicVal
	}
	reps := in.expandResource(res)
	if len(reps) == 0 {
		if res.count != nil {
			return cty.EmptyTupleVal
		}
		if res.forEach != nil {
			return cty.EmptyObjectVal
		}
		return cty.DynamicVal
	}
	base := in.prefix + res.typ + "." + res.name
	obj := func(r rep) cty.Value {
		addr := base + r.suffix()
		return cty.ObjectVal(map[string]cty.Value{
			"arn":    cty.StringVal(placeholderARN + addr).Mark(refMark{addr: addr, attr: "arn"}),
			"id":     cty.StringVal(placeholderID + addr).Mark(refMark{addr: addr, attr: "id"}),
			"key_id": cty.StringVal(placeholderID + addr).Mark(refMark{addr: addr, attr: "key_id"}),
		})
	}
	switch first := reps[0]; {
	case !first.known && first.kind != repNone:
		return cty.DynamicVal
	case first.kind == repNone:
		return obj(first)
	case first.kind == repCount:
		elems := make([]cty.Value, len(reps))
		for i, r := range reps {
			elems[i] = obj(r)
		}
		return cty.TupleVal(elems)
	}
	elems := make(map[string]cty.Value, len(reps))
	for _, r := range reps {
		elems[r.key] = obj(r)
	}
	return cty.ObjectVal(elems)
}

// moduleValue is module.NAME: the outputs asked for (all when outs is nil),
// per instance of the call.
func (in *instance) moduleValue(c *moduleCall, outs map[string]bool) cty.Value {
	e := in.expandCall(c)
	if !e.ok {
		return cty.DynamicVal
	}
	obj := func(child *instance) cty.Value {
		attrs := make(map[string]cty.Value)
		for name, a := range child.mod.outputs {
			if outs == nil || outs[name] {
				attrs[name] = child.outputValue(a)
			}
		}
		return cty.ObjectVal(attrs)
	}
	if len(e.children) == 0 {
		if c.count != nil {
			return cty.EmptyTupleVal
		}
		return cty.EmptyObjectVal
	}
	switch first := e.children[0].callRep; {
	case !first.known && first.kind != repNone:
		return cty.DynamicVal
	case first.kind == repNone:
		return obj(e.children[0])
	case first.kind == repCount:
		elems := make([]cty.Value, len(e.children))
		for i, ch := range e.children {
			elems[i] = obj(ch)
		}
		return cty.TupleVal(elems)
	}
	elems := make(map[string]cty.Value, len(e.children))
	for _, ch := range e.children {
		elems[ch.callRep.key] = obj(ch)
	}
	return cty.ObjectVal(elems)
}

func (in *instance) outputValue(a *hcl.Attribute) cty.Value {
	return in.memo(&in.outputs, a.Name, func() cty.Value {
		v, diags := in.eval(a.Expr, rep{})
		if diags.HasErrors() {
			return cty.DynamicVal
		}
		return v
	})
}

func (in *instance) localValue(a *hcl.Attribute) cty.Value {
	return in.memo(&in.locals, a.Name, func() cty.Value {
		v, diags := in.eval(a.Expr, rep{})
		if diags.HasErrors() {
			return cty.DynamicVal
		}
		return v
	})
}

// varValue is an input variable's value: in the root, from --var-file,
// *.auto.tfvars, terraform.tfvars or the default; in a called module, from
// the caller's argument or the default. Without either it is unknown.
func (in *instance) varValue(v *variable) cty.Value {
	return in.memo(&in.vars, v.name, func() cty.Value {
		var val cty.Value
		var where hcl.Range
		switch {
		case in.parent == nil && in.ev.rootVars[v.name].set:
			a := in.ev.rootVars[v.name]
			val, where = a.val, a.rng
		case in.parent != nil && in.call.args[v.name] != nil:
			arg := in.call.args[v.name]
			var diags hcl.Diagnostics
			val, diags = in.parent.eval(arg.Expr, in.callRep)
			if diags.HasErrors() {
				return cty.DynamicVal
			}
			where = arg.Range
		case v.def != nil:
			var diags hcl.Diagnostics
			val, diags = v.def.Expr.Value(nil)
			if diags.HasErrors() {
				return cty.DynamicVal
			}
			where = v.def.Range
		default:
			return cty.DynamicVal
		}
		if v.defaults != nil {
			val = v.defaults.Apply(val)
		}
		conv, err := convert.Convert(val, v.ty)
		if err != nil {
			in.ev.diag(where.Filename, where.Start.Line, "variable %q: the value does not match its type %s: %v", v.name, v.ty.FriendlyName(), err)
			return cty.DynamicVal
		}
		return conv
	})
}

// outOfTime reports, once the root's evaluation budget is spent, that no
// more expressions are evaluated. The clock is read every 64 evaluations.
func (ev *rootEval) outOfTime(expr hcl.Expression) bool {
	if ev.expired {
		return true
	}
	ev.evals++
	if ev.evals%64 != 0 || time.Now().Before(ev.deadline) {
		return false
	}
	ev.expired = true
	r := expr.Range()
	ev.diag(r.Filename, r.Start.Line, "evaluating this configuration took longer than %v; kmsrotor stopped here and treats every further value as unknown", evalBudget)
	return true
}

// tooBig reports a value with more than maxValueElems elements or
// maxValueBytes of strings.
func tooBig(v cty.Value) bool {
	v, _ = v.UnmarkDeep()
	elems, bytes := 0, 0
	var walk func(v cty.Value) bool
	walk = func(v cty.Value) bool {
		if !v.IsKnown() || v.IsNull() {
			return false
		}
		ty := v.Type()
		switch {
		case ty == cty.String:
			bytes += len(v.AsString())
			return bytes > maxValueBytes
		case v.CanIterateElements():
			for it := v.ElementIterator(); it.Next(); {
				elems++
				if elems > maxValueElems {
					return true
				}
				if _, e := it.Element(); walk(e) {
					return true
				}
			}
		}
		return false
	}
	return walk(v)
}

func (in *instance) memo(slots *map[string]*slot, name string, fn func() cty.Value) cty.Value {
	s := (*slots)[name]
	if s == nil {
		if *slots == nil {
			*slots = make(map[string]*slot)
		}
		s = &slot{}
		(*slots)[name] = s
	}
	switch s.state {
	case 1:
		return cty.DynamicVal // a reference cycle, which Terraform rejects
	case 2:
		return s.val
	}
	s.state = 1
	s.val = fn()
	if tooBig(s.val) {
		s.val = cty.DynamicVal
	}
	s.state = 2
	return s.val
}
