// Package terraform reads KMS keys out of Terraform configuration (.tf and
// .tf.json, with variables, locals, count, for_each and local modules) and out
// of `terraform show -json` plan or state documents, as kmskey.Keys with file
// and line. It also rewrites .tf files to turn rotation on (ApplyFixes).
//
// A value that cannot be known statically (a variable without a default, a
// data source, another resource's attribute) is never guessed: the Key names
// it in Unresolved and the check reports it as MANUAL unresolved_value.
package terraform

import (
	"cmp"
	"path/filepath"
	"slices"

	"github.com/kmsrotor/kmsrotor/internal/iac/diag"
	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

// Options tunes LoadDirs.
type Options struct {
	// VarFiles are --var-file arguments: .tfvars or .tfvars.json files applied
	// to every root module, in order, later files winning.
	VarFiles []string
}

// Diagnostic is a problem with the input: a file that does not parse, a
// value the AWS provider would reject, a module that cannot be found.
type Diagnostic = diag.Diagnostic

// Result is what a load found: the keys, and the problems met on the way.
type Result struct {
	Keys  []kmskey.Key
	Diags []Diagnostic
	// Sources are the files that declare the keys, by path, as read (set by
	// LoadDirs, for native .tf files): a fix can be applied to them with
	// Source.Apply without reading or parsing them again.
	Sources map[string]*Source
	// Sites are, for each key (by index in Keys), where its rotation values
	// are set and the module call that makes it.
	Sites []KeySites
}

// LoadDirs evaluates the Terraform configuration in the given directories
// (each one that holds *.tf or *.tf.json files, found by the walker).
// Directories that another given directory calls as a local module
// (source = "./x" / "../x") are evaluated through their callers, with the
// callers' arguments, and not again on their own.
//
// Files are read and parsed in parallel; each module directory is parsed once
// however many times it is called. Keys are sorted by file, line and address.
func LoadDirs(dirs []string, opts Options) Result {
	l := newLoader()
	varFile, diags := loadVarFiles(opts.VarFiles)

	given := make([]string, 0, len(dirs))
	seen := make(map[string]bool, len(dirs))
	for _, d := range dirs {
		d = filepath.Clean(d)
		if !seen[d] {
			seen[d] = true
			given = append(given, d)
		}
	}
	l.load(given)
	roots := l.roots(given)

	results := make([]Result, len(roots))
	parallel(len(roots), func(i int) {
		results[i] = l.evalRoot(roots[i], varFile)
	})

	var res Result
	for _, d := range append(slices.Clone(given), l.extra...) {
		res.Diags = append(res.Diags, l.mods[d].diags...)
		for path, s := range l.mods[d].sources {
			if res.Sources == nil {
				res.Sources = make(map[string]*Source)
			}
			res.Sources[path] = s
		}
	}
	res.Diags = append(res.Diags, diags...)
	n := 0
	for _, r := range results {
		n += len(r.Keys)
	}
	res.Keys = make([]kmskey.Key, 0, n)
	res.Sites = make([]KeySites, 0, n)
	for _, r := range results {
		res.Keys = append(res.Keys, r.Keys...)
		res.Sites = append(res.Sites, r.Sites...)
		res.Diags = append(res.Diags, r.Diags...)
	}
	sortResult(&res)
	return res
}

// sortResult orders keys by file, line and address, and diagnostics by file,
// line and message without duplicates (a module called twice reports the
// same problem twice).
func sortResult(r *Result) {
	byKey := func(a, b kmskey.Key) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.StartLine, b.StartLine), cmp.Compare(a.Resource, b.Resource))
	}
	if len(r.Sites) == len(r.Keys) {
		order := make([]int, len(r.Keys))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(i, j int) int { return byKey(r.Keys[i], r.Keys[j]) })
		keys, sites := make([]kmskey.Key, len(order)), make([]KeySites, len(order))
		for i, o := range order {
			keys[i], sites[i] = r.Keys[o], r.Sites[o]
		}
		r.Keys, r.Sites = keys, sites
	} else {
		slices.SortStableFunc(r.Keys, byKey)
	}
	slices.SortFunc(r.Diags, func(a, b Diagnostic) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Message, b.Message))
	})
	r.Diags = slices.Compact(r.Diags)
}
