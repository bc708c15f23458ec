// Package iac runs the rotation check over infrastructure-as-code files:
// it walks the given paths, picks each file's format by its content
// (Terraform configuration by directory, Terraform plan JSON, CloudFormation
// YAML or JSON), evaluates every key with the same check as the live scan,
// and fixes the files in place when asked.
package iac

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/kmsrotor/kmsrotor/internal/check"
	"github.com/kmsrotor/kmsrotor/internal/iac/cloudformation"
	"github.com/kmsrotor/kmsrotor/internal/iac/terraform"
	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

// Options is one run over files.
type Options struct {
	// Paths are files or directories, as the user wrote them.
	Paths []string
	// Dir is the directory relative Paths start from, and the one reported
	// file names are relative to when they lie under it.
	Dir string
	// VarFiles are Terraform .tfvars files applied to every root module.
	VarFiles []string
	// Policy is the check's policy.
	Policy check.Policy
	// Fix rewrites files to turn rotation on; Diff computes the unified diff
	// of what Fix changes (and, without Fix, writes nothing).
	Fix, Diff bool
	// PeriodDays, when not 0, is the rotation period (--rotation-period-days)
	// of the keys a fix turns rotation on for, and of the keys that rotate
	// less often; a key whose period is PeriodDays or less keeps it.
	PeriodDays int
}

// Diagnostic codes. Both languages use ParseError for syntax (and
// configurations their tool rejects) and InvalidValue for values AWS or the
// provider would reject.
const (
	CodeParseError   = "ParseError"
	CodeInvalidValue = "InvalidValue"
	CodeReadError    = "ReadError"
	CodeFixError     = "FixError"
)

// Diagnostic is a problem with an input file.
type Diagnostic struct {
	File    string
	Line    int
	Code    string
	Message string
}

// Result is the outcome of Run.
type Result struct {
	// Findings are one per key, after the fixes when Fix is set.
	Findings []check.Finding
	Diags    []Diagnostic
	// Diff is the unified diff of the changes, when Diff is set.
	Diff string
	// Fixed lists the files written, FixedKeys counts the resources changed
	// (a module block instantiated twice counts once), and Refused counts
	// the fixes that could not be applied.
	Fixed     []string
	FixedKeys int
	Refused   []Refusal
	// PlanFiles lists, when Fix or Diff is set, the Terraform plan files
	// with FAIL findings: a plan is never rewritten (its configuration is
	// what to fix), so those FAILs stay.
	PlanFiles []string
}

// Refusal is a fix that could not be applied, with the reason.
type Refusal struct {
	File     string
	Line     int
	Resource string
	Reason   string
}

// ErrNoPath wraps a PATH that does not exist.
var ErrNoPath = errors.New("no such file or directory")

// Run scans opts.Paths, and fixes them when asked.
func Run(ctx context.Context, opts Options) (Result, error) {
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return Result{}, fmt.Errorf("resolve %s: %w", opts.Dir, err)
	}
	opts.Dir = dir
	in, err := collect(opts)
	if err != nil {
		return Result{}, err
	}
	keys, diags, srcs := load(ctx, in, opts.VarFiles)
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	if !opts.Fix && !opts.Diff {
		return finish(opts, keys, diags, srcs, nil), nil
	}

	// Fix in rounds: the files are read again after each, in case a fix
	// reveals another (a block shared by instances whose findings differ).
	// Without Fix nothing is written, so there is one round, which is also
	// the round the findings' edits describe.
	originals := map[string][]byte{}
	current := map[string][]byte{}
	refused := map[refusalKey]string{}
	fixed := map[refusalKey]bool{}
	var writeErrs []Diagnostic
	for round := 0; round < 3; round++ {
		changed := fixRound(opts, keys, evaluate(keys, opts.Policy), current, fixed, refused)
		for file, c := range changed {
			if _, ok := originals[file]; !ok {
				originals[file] = c.before
			}
			current[file] = c.after
		}
		if !opts.Fix || len(changed) == 0 {
			break
		}
		for file, c := range changed {
			if err := writeFile(file, c.after); err != nil {
				writeErrs = append(writeErrs, Diagnostic{File: file, Code: CodeFixError, Message: err.Error()})
				delete(current, file)
				for _, r := range c.resources {
					delete(fixed, refusalKey{file, r})
					refused[refusalKey{file, r}] = "the file could not be written"
				}
			}
		}
		keys, diags, srcs = load(ctx, in, opts.VarFiles)
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
	}

	res := finish(opts, keys, append(diags, writeErrs...), srcs, refused)
	res.FixedKeys = len(fixed)
	for _, f := range res.Findings {
		if f.Status == check.StatusFail && f.Source == string(kmskey.SourceTerraformPlan) && !slices.Contains(res.PlanFiles, f.File) {
			res.PlanFiles = append(res.PlanFiles, f.File)
		}
	}
	files := make([]string, 0, len(current))
	for f := range current {
		if !bytes.Equal(originals[f], current[f]) {
			files = append(files, f)
		}
	}
	slices.SortFunc(files, func(a, b string) int { return strings.Compare(display(opts.Dir, a), display(opts.Dir, b)) })
	var diff strings.Builder
	for _, f := range files {
		if opts.Diff {
			diff.WriteString(Diff(display(opts.Dir, f), originals[f], current[f]))
		}
		if opts.Fix {
			res.Fixed = append(res.Fixed, display(opts.Dir, f))
		}
	}
	res.Diff = diff.String()
	return res, nil
}

func evaluate(keys []kmskey.Key, p check.Policy) []check.Finding {
	out := make([]check.Finding, len(keys))
	for i, k := range keys {
		out[i] = check.Evaluate(k, p)
	}
	return out
}

// finish evaluates the keys, names files relative to opts.Dir, gives each
// FAIL finding the edits --fix would make for it, and notes on each finding
// whose fix was refused why.
func finish(opts Options, keys []kmskey.Key, diags []Diagnostic, srcs sources, refused map[refusalKey]string) Result {
	var res Result
	findings := evaluate(keys, opts.Policy)
	edits := fixEdits(opts, keys, findings, srcs, refused)
	for i, f := range findings {
		f.Remediation.Edits = edits[i]
		f.File = display(opts.Dir, f.File)
		f.ID = f.StableID() // by the file's name as shown, not where it was read
		if why, ok := refused[refusalKey{keys[i].File, keys[i].Resource}]; ok {
			f.Message += " (not fixed automatically: " + why + ")"
			res.Refused = append(res.Refused, Refusal{File: f.File, Line: f.StartLine, Resource: f.Resource, Reason: why})
		}
		res.Findings = append(res.Findings, f)
	}
	check.Sort(res.Findings)
	slices.SortFunc(res.Refused, func(a, b Refusal) int {
		if c := strings.Compare(a.File, b.File); c != 0 {
			return c
		}
		return a.Line - b.Line
	})
	for _, d := range diags {
		d.File = display(opts.Dir, d.File)
		res.Diags = append(res.Diags, d)
	}
	slices.SortStableFunc(res.Diags, func(a, b Diagnostic) int {
		if c := strings.Compare(a.File, b.File); c != 0 {
			return c
		}
		return a.Line - b.Line
	})
	return res
}

// display names a file for reports: relative to dir when under it, with
// forward slashes.
func display(dir, file string) string {
	if file == "" {
		return ""
	}
	if dir != "" && filepath.IsAbs(file) {
		if rel, err := filepath.Rel(dir, file); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			file = rel
		}
	}
	return filepath.ToSlash(file)
}

// inputs are the files and directories a run reads, by absolute path.
type inputs struct {
	tfDirs []string
	files  []string
	// explicit files were named on the command line: their parse errors are
	// reported even when they do not read like templates.
	explicit map[string]bool
	diags    []Diagnostic
}

// skipDirs are never entered: VCS data, Terraform's downloaded modules and
// providers (local modules are followed from their callers), JavaScript
// dependencies and Terragrunt's copies of the configuration. cdk.out is
// scanned: its templates are the synthesized CloudFormation.
var skipDirs = map[string]bool{".git": true, ".hg": true, ".svn": true, ".terraform": true, "node_modules": true, ".terragrunt-cache": true}

// cfnExts are the extensions of files that may hold a CloudFormation
// template; .json may also be a Terraform plan.
var cfnExts = []string{".json", ".yaml", ".yml", ".template"}

func collect(opts Options) (inputs, error) {
	in := inputs{explicit: map[string]bool{}}
	tfDirs := map[string]bool{}
	files := map[string]bool{}
	for _, p := range opts.Paths {
		abs := p
		if !filepath.IsAbs(abs) {
			abs = filepath.Join(opts.Dir, p)
		}
		abs = filepath.Clean(abs)
		st, err := os.Stat(abs)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return inputs{}, fmt.Errorf("%s: %w", p, ErrNoPath)
			}
			return inputs{}, fmt.Errorf("read %s: %w", p, err)
		}
		if !st.IsDir() {
			if isTerraformFile(abs) {
				tfDirs[filepath.Dir(abs)] = true
			} else {
				files[abs] = true
				in.explicit[abs] = true
			}
			continue
		}
		err = filepath.WalkDir(abs, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				in.diags = append(in.diags, Diagnostic{File: path, Code: CodeReadError, Message: err.Error()})
				if d != nil && d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if d.IsDir() {
				if path != abs && skipDirs[d.Name()] {
					return fs.SkipDir
				}
				return nil
			}
			switch {
			case isTerraformFile(path):
				tfDirs[filepath.Dir(path)] = true
			case slices.Contains(cfnExts, strings.ToLower(filepath.Ext(path))):
				files[path] = true
			}
			return nil
		})
		if err != nil {
			return inputs{}, fmt.Errorf("walk %s: %w", p, err)
		}
	}
	for d := range tfDirs {
		in.tfDirs = append(in.tfDirs, d)
	}
	for f := range files {
		in.files = append(in.files, f)
	}
	slices.Sort(in.tfDirs)
	slices.Sort(in.files)
	return in, nil
}

func isTerraformFile(path string) bool {
	name := strings.ToLower(filepath.Base(path))
	return strings.HasSuffix(name, ".tf") || strings.HasSuffix(name, ".tf.json")
}

// sources are the files that define keys, as load read them: the content
// the keys' lines refer to, from which fixEdits computes their edits.
type sources struct {
	tf  map[string]*terraform.Source
	cfn map[string][]byte
}

// load reads every input: Terraform directories in one LoadDirs (which
// tells root modules from called ones), the other files in parallel.
func load(ctx context.Context, in inputs, varFiles []string) ([]kmskey.Key, []Diagnostic, sources) {
	var wg sync.WaitGroup
	var tf terraform.Result
	if len(in.tfDirs) > 0 {
		wg.Go(func() { tf = terraform.LoadDirs(in.tfDirs, terraform.Options{VarFiles: varFiles}) })
	}

	type fileResult struct {
		keys  []kmskey.Key
		diags []Diagnostic
		src   []byte
	}
	results := make([]fileResult, len(in.files))
	next := make(chan int)
	for range max(1, min(runtime.GOMAXPROCS(0), len(in.files))) {
		wg.Go(func() {
			for i := range next {
				results[i].keys, results[i].diags, results[i].src = loadFile(in.files[i], in.explicit[in.files[i]])
			}
		})
	}
feed:
	for i := range in.files {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()

	keys := tf.Keys
	diags := slices.Clone(in.diags)
	for _, d := range tf.Diags {
		diags = append(diags, Diagnostic{File: d.File, Line: d.Line, Code: cmp.Or(d.Code, CodeParseError), Message: d.Message})
	}
	srcs := sources{tf: tf.Sources, cfn: map[string][]byte{}}
	for i, r := range results {
		keys = append(keys, r.keys...)
		diags = append(diags, r.diags...)
		if len(r.keys) > 0 && r.keys[0].Source == kmskey.SourceCloudFormation {
			srcs.cfn[in.files[i]] = r.src
		}
	}
	return keys, diags, srcs
}

// loadFile reads one JSON, YAML or template file: a Terraform plan, a
// CloudFormation template, or something else, ignored. It returns the
// file's content too.
func loadFile(path string, explicit bool) ([]kmskey.Key, []Diagnostic, []byte) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, []Diagnostic{{File: path, Code: CodeReadError, Message: err.Error()}}, nil
	}
	if strings.EqualFold(filepath.Ext(path), ".json") && terraform.IsPlan(src) {
		r := terraform.LoadPlan(path, src)
		diags := make([]Diagnostic, len(r.Diags))
		for i, d := range r.Diags {
			diags[i] = Diagnostic{File: d.File, Line: d.Line, Code: cmp.Or(d.Code, CodeParseError), Message: d.Message}
		}
		return r.Keys, diags, src
	}
	r := cloudformation.Parse(path, src)
	if !r.Template && !explicit {
		return nil, nil, src
	}
	if !r.Template && len(r.Diags) == 0 {
		return nil, []Diagnostic{{File: path, Code: CodeParseError, Message: "not a CloudFormation template or Terraform plan"}}, src
	}
	diags := make([]Diagnostic, len(r.Diags))
	for i, d := range r.Diags {
		diags[i] = Diagnostic{File: d.File, Line: d.Line, Code: d.Code, Message: d.Message}
	}
	return r.Keys, diags, src
}
