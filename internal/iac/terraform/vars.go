package terraform

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/kmsrotor/kmsrotor/internal/iac/diag"
	"github.com/kmsrotor/kmsrotor/internal/iac/limit"
)

// varAssign is one input variable's value from a .tfvars file.
type varAssign struct {
	set bool
	val cty.Value
	rng hcl.Range
	// expr is the value as written (nil for a value that did not come from
	// a file), where a fix sets it.
	expr hcl.Expression
}

// varFileValues holds the --var-file values, merged in order.
type varFileValues struct {
	vals map[string]varAssign
}

// loadVarFiles reads the --var-file files once for every root module.
func loadVarFiles(paths []string) (varFileValues, []Diagnostic) {
	vf := varFileValues{vals: make(map[string]varAssign)}
	var diags []Diagnostic
	for _, p := range paths {
		diags = append(diags, readVarFile(p, vf.vals)...)
	}
	return vf, diags
}

// readAutoVars reads a root module's terraform.tfvars and *.auto.tfvars.
func (ev *rootEval) readAutoVars(m *module) map[string]varAssign {
	vals := make(map[string]varAssign)
	for _, p := range m.autoVars {
		ev.res.Diags = append(ev.res.Diags, readVarFile(p, vals)...)
	}
	return vals
}

// readVarFile adds a .tfvars or .tfvars.json file's assignments to vals,
// later assignments replacing earlier ones. Values must be constants, as
// Terraform requires.
func readVarFile(path string, vals map[string]varAssign) []Diagnostic {
	src, err := limit.ReadFile(path)
	if err != nil {
		return []Diagnostic{{File: path, Code: diag.CodeParseError, Message: fmt.Sprintf("read variables file %s: %v", path, err)}}
	}
	return parseVarFile(path, src, vals)
}

func parseVarFile(path string, src []byte, vals map[string]varAssign) []Diagnostic {
	body, diags := parseSource(path, src)
	if diags.HasErrors() {
		return toDiags(diags, path)
	}
	attrs, diags := body.JustAttributes()
	out := toDiags(diags, path)
	for _, a := range sortedAttrs(attrs) {
		v, diags := a.Expr.Value(nil)
		if diags.HasErrors() {
			out = append(out, toDiags(diags, path)...)
			continue
		}
		vals[a.Name] = varAssign{set: true, val: v, rng: a.Range, expr: a.Expr}
	}
	return out
}
