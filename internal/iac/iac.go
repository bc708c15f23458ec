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
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/kmsrotor/kmsrotor/internal/check"
	"github.com/kmsrotor/kmsrotor/internal/iac/cloudformation"
	"github.com/kmsrotor/kmsrotor/internal/iac/diag"
	"github.com/kmsrotor/kmsrotor/internal/iac/limit"
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

	// roots are the real paths (symbolic links resolved) under which Run
	// reads and writes: the directories named, the files named, and the
	// directory of a Terraform file named (its module is read whole).
	roots []string
}

// Diagnostic is a problem with an input file; the Terraform and
// CloudFormation packages report the same type.
type Diagnostic = diag.Diagnostic

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
	opts.roots = roots(opts)
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
		changed := fixRound(opts, keys, evaluate(keys, opts.Policy), srcs, current, fixed, refused)
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
				writeErrs = append(writeErrs, Diagnostic{File: file, Code: diag.CodeFixError, Message: err.Error()})
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

	// A fix refused because its file is outside the roots is an error
	// entry too, once per file: the scan did not do what was asked.
	var outsideFiles []string
	for k := range refused {
		if _, out := opts.outside(k.file); out && !slices.Contains(outsideFiles, k.file) {
			outsideFiles = append(outsideFiles, k.file)
		}
	}
	for _, f := range outsideFiles {
		why, _ := opts.outside(f)
		writeErrs = append(writeErrs, Diagnostic{File: f, Code: diag.CodeOutsideRoot, Message: "not fixed: " + why})
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
	slices.SortFunc(files, func(a, b string) int { return strings.Compare(opts.display(a), opts.display(b)) })
	var diff strings.Builder
	for _, f := range files {
		if opts.Diff {
			diff.WriteString(Diff(opts.display(f), originals[f], current[f]))
		}
		if opts.Fix {
			res.Fixed = append(res.Fixed, opts.display(f))
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
	rel := relativizer(opts)
	for i, f := range findings {
		f.Remediation.Edits = edits[i]
		f.File = opts.display(f.File)
		f.ID = f.StableID() // by the file's name as shown, not where it was read
		if i < len(srcs.tfSites) {
			s := srcs.tfSites[i]
			if s.CallName != "" {
				f.CallSite = &check.CallSite{File: opts.display(s.CallFile), StartLine: s.CallLine, Module: s.CallName}
			}
			if s.Note != "" {
				f.Message += " (" + s.Note + ")"
			}
			if s.DeclaredFile != "" {
				f.Message += fmt.Sprintf(" (declared in %s line %d, which is what to fix)", opts.display(s.DeclaredFile), s.DeclaredLine)
			}
		}
		if f.Status == check.StatusFail && keys[i].Source == kmskey.SourceCloudFormation && cloudformation.InCDKOut(keys[i].File) {
			cdkRemediation(&f, opts, keys[i])
		}
		if why, ok := refused[refusalKey{keys[i].File, keys[i].Resource}]; ok {
			f.Message += " (not fixed automatically: " + why + ")"
			res.Refused = append(res.Refused, Refusal{File: f.File, Line: f.StartLine, Resource: f.Resource, Reason: rel(why)})
		}
		f.Message, f.Remediation.Text = rel(f.Message), rel(f.Remediation.Text)
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
		d.File = opts.display(d.File)
		d.Message = rel(d.Message)
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

// relativizer returns a function that rewrites the absolute paths in a
// message as display names them: relative to the directory the run started
// in, or to the parent of the path given that holds them.
func relativizer(opts Options) func(string) string {
	var prefixes []string
	if opts.Dir != "" {
		prefixes = append(prefixes, opts.Dir+string(filepath.Separator))
	}
	for _, p := range opts.Paths {
		if !filepath.IsAbs(p) {
			p = filepath.Join(opts.Dir, p)
		}
		// A path outside the directory: its files are named from its parent.
		if p = filepath.Clean(p); !strings.HasPrefix(p+string(filepath.Separator), opts.Dir+string(filepath.Separator)) {
			prefixes = append(prefixes, filepath.Dir(p)+string(filepath.Separator))
		}
	}
	// The directory itself, ending a path: "terraform init in DIR".
	var self *regexp.Regexp
	if opts.Dir != "" && opts.Dir != string(filepath.Separator) {
		self = regexp.MustCompile(regexp.QuoteMeta(opts.Dir) + `($|[\s"':,;)])`)
	}
	return func(msg string) string {
		for _, p := range prefixes {
			if p != string(filepath.Separator) {
				msg = strings.ReplaceAll(msg, p, "")
			}
		}
		if self != nil && strings.Contains(msg, opts.Dir) {
			msg = self.ReplaceAllString(msg, ".$1")
		}
		return msg
	}
}

// cdkRemediation names the construct properties to set for a key of a
// synthesized template, which is not edited.
func cdkRemediation(f *check.Finding, opts Options, k kmskey.Key) {
	period := 0
	if f.Reason == check.ReasonPeriodExceedsPolicy || (opts.Policy.MaxRotationDays > 0 && opts.Policy.MaxRotationDays < kmskey.DefaultRotationPeriodDays) {
		period = periodFor(opts, k)
	}
	if opts.PeriodDays != 0 {
		period = opts.PeriodDays
	}
	remove := f.Reason == check.ReasonInvalidValue
	text := cloudformation.CDKFix(k.Resource, !remove, period, remove)
	// The text is the fix: there is no template property to set.
	f.Remediation.Text = strings.ToUpper(text[:1]) + text[1:] + "."
	f.Remediation.CloudFormation, f.Remediation.Terraform = "", ""
}

// display names a file for reports: relative to the directory the run
// started in when under it, else relative to the parent of the path given
// that holds it, with forward slashes.
func (opts Options) display(file string) string {
	if file == "" || !filepath.IsAbs(file) {
		return display(opts.Dir, file)
	}
	if d := display(opts.Dir, file); !filepath.IsAbs(filepath.FromSlash(d)) {
		return d
	}
	for _, p := range opts.Paths {
		if !filepath.IsAbs(p) {
			p = filepath.Join(opts.Dir, p)
		}
		if d := display(filepath.Dir(filepath.Clean(p)), file); !filepath.IsAbs(filepath.FromSlash(d)) {
			return d
		}
	}
	return display(opts.Dir, file)
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
		// A path named that is a link to a directory is walked: the
		// trailing separator makes WalkDir follow it.
		root := abs
		if lst, err := os.Lstat(abs); err == nil && lst.Mode()&fs.ModeSymlink != 0 {
			root = abs + string(filepath.Separator)
		}
		err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				in.diags = append(in.diags, Diagnostic{File: path, Code: diag.CodeReadError, Message: err.Error()})
				if d != nil && d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if d.IsDir() {
				if path != root && skipDirs[d.Name()] {
					return fs.SkipDir
				}
				return nil
			}
			if d.Type()&fs.ModeSymlink != 0 && !opts.followLink(path, d, &in) {
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

// roots resolves the paths Run may read and write under (Options.roots).
func roots(opts Options) []string {
	var out []string
	for _, p := range opts.Paths {
		abs := p
		if !filepath.IsAbs(abs) {
			abs = filepath.Join(opts.Dir, p)
		}
		abs = filepath.Clean(abs)
		if st, err := os.Stat(abs); err == nil && !st.IsDir() && isTerraformFile(abs) {
			abs = filepath.Dir(abs)
		}
		out = append(out, realPath(abs))
	}
	return out
}

// realPath is path with every symbolic link resolved, or path itself when
// it does not resolve (it does not exist; reading it fails later).
func realPath(path string) string {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		return real
	}
	return filepath.Clean(path)
}

// within reports whether real lies under one of the roots.
func (o Options) within(real string) bool {
	for _, r := range o.roots {
		if real == r || strings.HasPrefix(real, strings.TrimSuffix(r, string(filepath.Separator))+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// outside says why a fix may not write file: it resolves outside the
// roots, through a symbolic link or because it is a module's file
// elsewhere. It returns "", false for a file under the roots.
func (o Options) outside(file string) (string, bool) {
	real := realPath(file)
	if o.within(real) {
		return "", false
	}
	if lst, err := os.Lstat(file); err == nil && lst.Mode()&fs.ModeSymlink != 0 {
		return fmt.Sprintf("it is a symbolic link to %s, outside the paths scanned, which --fix never writes through; fix %s itself", display(o.Dir, real), display(o.Dir, real)), true
	}
	return "the file is outside the paths scanned, which --fix never writes to; fix it there, or scan a path that includes it", true
}

// followLink decides what the walk does with a symbolic link: one that
// resolves under the roots is not followed, since what it leads to is
// walked where it is (read twice, a key would be reported and fixed
// twice). One that leads out is reported and not read, except a Terraform
// file, which its module's directory listing reads anyway (and which --fix
// refuses to write). A link that does not resolve is left to fail when
// read.
func (o Options) followLink(path string, d fs.DirEntry, in *inputs) bool {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return true
	}
	st, err := os.Stat(real)
	if err != nil {
		return true
	}
	if o.within(real) {
		return false
	}
	scanned := isTerraformFile(path) || slices.Contains(cfnExts, strings.ToLower(filepath.Ext(path)))
	if st.IsDir() {
		scanned = !skipDirs[d.Name()]
	}
	if !scanned || isTerraformFile(path) {
		return !st.IsDir() && scanned
	}
	in.diags = append(in.diags, Diagnostic{File: path, Code: diag.CodeOutsideRoot,
		Message: fmt.Sprintf("a symbolic link to %s, outside the paths scanned: not read; scan %s itself to check it", display(o.Dir, real), display(o.Dir, real))})
	return false
}

func isTerraformFile(path string) bool {
	name := strings.ToLower(filepath.Base(path))
	for _, ext := range []string{".tf", ".tf.json", ".tofu", ".tofu.json"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// sources are the files that define keys, as load read them: the content
// the keys' lines refer to, from which fixEdits computes their edits.
type sources struct {
	tf  map[string]*terraform.Source
	cfn map[string][]byte
	// tfSites are the Terraform keys' sites, by key index (the Terraform
	// keys come first).
	tfSites []terraform.KeySites
	// noEdit are the files never edited, with why: they declare a
	// resource or logical ID twice.
	noEdit map[string]string
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
		sites []terraform.KeySites
	}
	results := make([]fileResult, len(in.files))
	next := make(chan int)
	for range max(1, min(runtime.GOMAXPROCS(0), len(in.files))) {
		wg.Go(func() {
			for i := range next {
				results[i].keys, results[i].diags, results[i].src, results[i].sites = loadFile(in.files[i], in.explicit[in.files[i]])
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
		diags = append(diags, Diagnostic{File: d.File, Line: d.Line, Code: cmp.Or(d.Code, diag.CodeParseError), Message: d.Message})
	}
	srcs := sources{tf: tf.Sources, cfn: map[string][]byte{}, tfSites: tf.Sites}
	if len(srcs.tfSites) != len(keys) {
		srcs.tfSites = make([]terraform.KeySites, len(keys))
	}
	for _, d := range diags {
		if d.Code == diag.CodeParseError && strings.HasPrefix(d.Message, "duplicate ") {
			if srcs.noEdit == nil {
				srcs.noEdit = map[string]string{}
			}
			srcs.noEdit[d.File] = "the file declares a resource twice (line " + strconv.Itoa(d.Line) + "); fix that first"
		}
	}
	for i, r := range results {
		if len(r.sites) == len(r.keys) {
			srcs.tfSites = append(srcs.tfSites, r.sites...)
		} else {
			srcs.tfSites = append(srcs.tfSites, make([]terraform.KeySites, len(r.keys))...)
		}
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
// file's content too. A file over the limits of package limit is an error
// entry, never read further.
func loadFile(path string, explicit bool) ([]kmskey.Key, []Diagnostic, []byte, []terraform.KeySites) {
	src, err := limit.ReadFile(path)
	if err != nil {
		return nil, []Diagnostic{{File: path, Code: diag.CodeReadError, Message: err.Error()}}, nil, nil
	}
	if t := bytes.TrimLeft(src, "\ufeff \t\r\n"); len(t) > 0 && (t[0] == '{' || t[0] == '[') {
		if err := limit.JSON(src); err != nil {
			return nil, []Diagnostic{{File: path, Code: diag.CodeParseError, Message: err.Error()}}, nil, nil
		}
	}
	if strings.EqualFold(filepath.Ext(path), ".json") && terraform.IsPlan(src) {
		r := terraform.LoadPlan(path, src)
		diags := make([]Diagnostic, len(r.Diags))
		for i, d := range r.Diags {
			diags[i] = Diagnostic{File: d.File, Line: d.Line, Code: cmp.Or(d.Code, diag.CodeParseError), Message: d.Message}
		}
		return r.Keys, diags, src, r.Sites
	}
	r := cloudformation.Parse(path, src)
	if !r.Template && !explicit {
		return nil, nil, src, nil
	}
	if !r.Template && len(r.Diags) == 0 {
		return nil, []Diagnostic{{File: path, Code: diag.CodeParseError, Message: "not a CloudFormation template or Terraform plan"}}, src, nil
	}
	return r.Keys, r.Diags, src, nil
}
