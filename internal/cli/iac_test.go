package cli

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kmsrotor/kmsrotor/internal/check"
	"github.com/kmsrotor/kmsrotor/internal/report"
)

// iacNow is the frozen time of the iac tests: reports carry it.
var iacNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

type iacRun struct {
	code           int
	stdout, stderr string
}

// iacFixture copies testdata/iac/<name> into a temporary directory, which
// the command then runs in (and fixes in place).
func iacFixture(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", "iac", name))); err != nil {
		t.Fatal(err)
	}
	return dir
}

func runIacMain(t *testing.T, dir string, args ...string) iacRun {
	t.Helper()
	var out, errb bytes.Buffer
	env := &Env{
		Stdout:     &out,
		Stderr:     &errb,
		Getenv:     func(string) string { return "" },
		Now:        func() time.Time { return iacNow },
		Context:    t.Context(),
		WorkingDir: dir,
	}
	code := Main(append([]string{"iac"}, args...), env)
	return iacRun{code, out.String(), errb.String()}
}

// tree reads every file under dir, by slash path.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		rel, _ := filepath.Rel(dir, path)
		files[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// changed lists the files whose content differs between two trees.
func changed(before, after map[string]string) []string {
	var out []string
	for f, b := range after {
		if before[f] != b {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out
}

func TestIacUsageErrors(t *testing.T) {
	t.Parallel()
	dir := iacFixture(t, "clean")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no path", nil, "requires at least 1 arg"},
		{"missing path", []string{"nowhere"}, "nowhere: no such file or directory"},
		{"bad format", []string{".", "--output", "xml"}, `unknown output format "xml"`},
		{"period without fix", []string{".", "--rotation-period-days", "180"}, "needs --fix or --diff"},
		{"period too short", []string{".", "--fix", "--rotation-period-days", "30"}, "outside the range AWS allows"},
		{"period above policy", []string{".", "--fix", "--rotation-period-days", "400"}, "exceeds --max-rotation-days 365"},
		{"policy out of range", []string{".", "--max-rotation-days", "10"}, "--max-rotation-days"},
		{"missing var file", []string{".", "--var-file", "nope.tfvars"}, "--var-file nope.tfvars"},
		{"unknown flag", []string{".", "--frobnicate"}, "unknown flag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			before := tree(t, dir)
			got := runIacMain(t, dir, tt.args...)
			if got.code != ExitUsage || !strings.Contains(got.stderr, tt.want) || got.stdout != "" {
				t.Errorf("iac %v: got exit %d, stdout %q, stderr %q; want exit 2, no stdout, stderr containing %q", tt.args, got.code, got.stdout, got.stderr, tt.want)
			}
			if c := changed(before, tree(t, dir)); len(c) > 0 {
				t.Errorf("iac %v changed %v", tt.args, c)
			}
		})
	}
}

// TestIacGolden runs the command on the fixture project and compares its
// output, and every file it rewrote, with golden files.
func TestIacGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		fixture string
		args    []string
		code    int
		// written: the files the run must change (each compared with
		// testdata/iac/golden/<name>/<file>); none for a run without --fix.
		written []string
		// outputFile is compared with its golden instead of stdout.
		outputFile string
	}{
		{name: "table", fixture: "project", args: []string{"."}, code: ExitFail},
		{name: "table-var-file", fixture: "project", args: []string{".", "--var-file", "tf/prod.tfvars", "--show-skipped"}, code: ExitFail},
		{name: "json", fixture: "project", args: []string{".", "--output", "json"}, code: ExitFail},
		{name: "diff", fixture: "project", args: []string{".", "--diff"}, code: ExitFail},
		{name: "diff-json", fixture: "project", args: []string{"cfn", "--diff", "-o", "json"}, code: ExitFail},
		{name: "fix", fixture: "project", args: []string{".", "--fix", "--var-file", "tf/prod.tfvars"}, code: ExitFail,
			written: []string{"cdk.out/AppStack.template.json", "cfn/queue.json", "cfn/stack.yaml", "tf/main.tf", "tf/mod/main.tf"}},
		{name: "fix-diff-period", fixture: "project", args: []string{"cfn", "tf", "cdk.out", "--fix", "--diff", "--rotation-period-days", "180", "-o", "json", "--output-file", "report.json"},
			code: ExitFail, outputFile: "report.json",
			written: []string{"cdk.out/AppStack.template.json", "cfn/queue.json", "cfn/stack.yaml", "tf/main.tf", "tf/mod/main.tf"}},
		{name: "fix-parse-error", fixture: "project", args: []string{"broken", "cfn/queue.json", "--fix"}, code: ExitIncomplete,
			written: []string{"cfn/queue.json"}},
		{name: "clean", fixture: "clean", args: []string{"."}, code: ExitOK},
		{name: "clean-fix", fixture: "clean", args: []string{".", "--fix"}, code: ExitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := iacFixture(t, tt.fixture)
			before := tree(t, dir)
			got := runIacMain(t, dir, tt.args...)
			if got.code != tt.code {
				t.Errorf("iac %v: got exit %d, want %d\nstderr: %s", tt.args, got.code, tt.code, got.stderr)
			}
			base := filepath.Join("testdata", "iac", "golden", tt.name)
			golden(t, base+".stdout", got.stdout)
			golden(t, base+".stderr", got.stderr)

			after := tree(t, dir)
			written := changed(before, after)
			if tt.outputFile != "" {
				golden(t, filepath.Join(base, tt.outputFile), after[tt.outputFile])
				written = slices.DeleteFunc(written, func(f string) bool { return f == tt.outputFile })
			}
			if !slices.Equal(written, tt.written) {
				t.Errorf("iac %v wrote %v, want %v", tt.args, written, tt.written)
			}
			for _, f := range written {
				golden(t, filepath.Join(base, f), after[f])
			}
		})
	}
}

// iacDocument runs the command with --output json and decodes the report.
func iacDocument(t *testing.T, dir string, args ...string) (report.Document, iacRun) {
	t.Helper()
	got := runIacMain(t, dir, append(args, "--output", "json")...)
	var doc report.Document
	if err := json.Unmarshal([]byte(got.stdout), &doc); err != nil {
		t.Fatalf("iac %v: stdout is not a JSON document: %v\n%s", args, err, got.stdout)
	}
	return doc, got
}

// TestIacFixRescan fixes the project, re-reads every fixed file and checks
// that each key --fix may change now passes, that the rest is as before, and
// that a second --fix changes nothing.
func TestIacFixRescan(t *testing.T) {
	t.Parallel()
	dir := iacFixture(t, "project")
	args := []string{".", "--var-file", "tf/prod.tfvars"}
	beforeDoc, _ := iacDocument(t, dir, args...)
	_, fixRun := iacDocument(t, dir, append(args, "--fix")...)
	if !strings.Contains(fixRun.stderr, "kmsrotor: fixed 7 resources in ") {
		t.Errorf("--fix stderr: got %q, want it to say 7 resources were fixed", fixRun.stderr)
	}
	afterDoc, _ := iacDocument(t, dir, args...)

	// The keys whose fix is refused (a parameter, a variable) and their
	// replicas keep failing; every other FAIL passes.
	refused := []string{"ParamKey", "aws_kms_key.by_var"}
	status := map[string]check.Status{}
	for _, f := range afterDoc.Findings {
		status[f.File+" "+f.Resource] = f.Status
	}
	for _, f := range beforeDoc.Findings {
		got, ok := status[f.File+" "+f.Resource]
		want := f.Status
		if f.Status == check.StatusFail && !slices.Contains(refused, f.Resource) {
			want = check.StatusPass
		}
		if !ok || got != want {
			t.Errorf("after --fix, %s %s (%s %s before): got %s, want %s", f.File, f.Resource, f.Status, f.Reason, got, want)
		}
	}
	if len(afterDoc.Findings) != len(beforeDoc.Findings) {
		t.Errorf("after --fix: got %d findings, want %d", len(afterDoc.Findings), len(beforeDoc.Findings))
	}
	fixed := tree(t, dir)
	again := runIacMain(t, dir, append(args, "--fix")...)
	if c := changed(fixed, tree(t, dir)); len(c) > 0 {
		t.Errorf("a second --fix changed %v", c)
	}
	if !strings.Contains(again.stderr, "kmsrotor: no file changed") {
		t.Errorf("second --fix stderr: got %q, want it to say no file changed", again.stderr)
	}
	// The lines are those of the fixed files.
	for _, want := range []string{"cfn/stack.yaml:24 ParamKey: EnableKeyRotation is set by an expression (!Ref)", "tf/main.tf:11 aws_kms_key.by_var: enable_key_rotation is set by an expression (var.rotate)"} {
		if !strings.Contains(again.stderr, "not fixed: "+want) {
			t.Errorf("second --fix stderr: got %q, want a refusal naming %q", again.stderr, want)
		}
	}
}

// TestIacDiffWritesNothing: --diff alone prints the change and leaves every
// file as it was; --fix --diff prints the same diff and writes it.
func TestIacDiffWritesNothing(t *testing.T) {
	t.Parallel()
	dir := iacFixture(t, "project")
	before := tree(t, dir)
	diff := runIacMain(t, dir, ".", "--diff", "-o", "json")
	if c := changed(before, tree(t, dir)); len(c) > 0 {
		t.Fatalf("--diff changed %v", c)
	}
	refusal := "kmsrotor: not fixed: cfn/stack.yaml:23 ParamKey: EnableKeyRotation is set by an expression (!Ref)\n"
	if !strings.HasPrefix(diff.stderr, "--- a/cdk.out/AppStack.template.json\n+++ b/cdk.out/AppStack.template.json\n@@ ") ||
		!strings.HasSuffix(diff.stderr, "\n"+refusal) {
		t.Errorf("--diff -o json: the diff and the refusals must go to stderr, got stderr %q", diff.stderr)
	}
	both := runIacMain(t, dir, ".", "--diff", "--fix", "-o", "json")
	// The refusal is reported at the key's line in the fixed file.
	if both.stderr != strings.TrimSuffix(diff.stderr, refusal)+"kmsrotor: fixed 7 resources in cdk.out/AppStack.template.json, cfn/queue.json, cfn/stack.yaml, tf/main.tf, tf/mod/main.tf\n"+
		"kmsrotor: not fixed: cfn/stack.yaml:24 ParamKey: EnableKeyRotation is set by an expression (!Ref)\n" {
		t.Errorf("--diff --fix stderr:\ngot:\n%s\nwant the --diff output then the fix summary:\n%s", both.stderr, diff.stderr)
	}
	if len(changed(before, tree(t, dir))) != 5 {
		t.Errorf("--diff --fix changed %v, want 5 files", changed(before, tree(t, dir)))
	}
}

// TestIacSARIF checks that the SARIF output parses and carries every FAIL
// and MANUAL finding with its file and lines.
func TestIacSARIF(t *testing.T) {
	t.Parallel()
	dir := iacFixture(t, "project")
	doc, _ := iacDocument(t, dir, ".")
	got := runIacMain(t, dir, ".", "--output", "sarif")
	if got.code != ExitFail {
		t.Errorf("iac --output sarif: got exit %d, want 3", got.code)
	}
	var sarif struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name  string `json:"name"`
					Rules []struct {
						ID string `json:"id"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				Level     string `json:"level"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine int `json:"startLine"`
							EndLine   int `json:"endLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(got.stdout), &sarif); err != nil {
		t.Fatalf("iac --output sarif: stdout does not parse: %v\n%s", err, got.stdout)
	}
	if sarif.Version != "2.1.0" || len(sarif.Runs) != 1 || sarif.Runs[0].Tool.Driver.Name != "kmsrotor" || len(sarif.Runs[0].Tool.Driver.Rules) == 0 {
		t.Fatalf("iac --output sarif: got version %q, %d runs; want 2.1.0, one run by kmsrotor with rules", sarif.Version, len(sarif.Runs))
	}
	type loc struct {
		file       string
		start, end int
		reason     string
	}
	var results []loc
	for _, r := range sarif.Runs[0].Results {
		if len(r.Locations) != 1 {
			t.Errorf("result %s has %d locations, want 1", r.RuleID, len(r.Locations))
			continue
		}
		p := r.Locations[0].PhysicalLocation
		results = append(results, loc{p.ArtifactLocation.URI, p.Region.StartLine, p.Region.EndLine, r.RuleID[strings.LastIndex(r.RuleID, "/")+1:]})
	}
	for _, f := range doc.Findings {
		if f.Status != check.StatusFail && f.Status != check.StatusManual {
			continue
		}
		want := loc{f.File, f.StartLine, f.EndLine, f.Reason}
		if !slices.Contains(results, want) {
			t.Errorf("SARIF results %v lack %s %s: %+v", results, f.Status, f.Resource, want)
		}
	}
}

// sarifFixes is the part of a SARIF log that says how to fix each result.
type sarifFixes struct {
	Runs []struct {
		Results []struct {
			Level     string `json:"level"`
			Locations []struct {
				LogicalLocations []struct {
					FullyQualifiedName string `json:"fullyQualifiedName"`
				} `json:"logicalLocations"`
				PhysicalLocation struct {
					ArtifactLocation struct {
						URI string `json:"uri"`
					} `json:"artifactLocation"`
				} `json:"physicalLocation"`
			} `json:"locations"`
			Fixes []struct {
				ArtifactChanges []struct {
					ArtifactLocation struct {
						URI string `json:"uri"`
					} `json:"artifactLocation"`
					Replacements []sarifReplacement `json:"replacements"`
				} `json:"artifactChanges"`
			} `json:"fixes"`
		} `json:"results"`
	} `json:"runs"`
}

type sarifReplacement struct {
	DeletedRegion struct {
		StartLine   int `json:"startLine"`
		StartColumn int `json:"startColumn"`
		EndLine     int `json:"endLine"`
		EndColumn   int `json:"endColumn"`
	} `json:"deletedRegion"`
	InsertedContent struct {
		Text string `json:"text"`
	} `json:"insertedContent"`
}

// applySARIF applies replacements to src as a SARIF consumer does: all are
// in the coordinates of src, so they are applied from the last. Regions
// here use column 1 only: line L column 1 is the start of line L, and the
// line after the last is the end of the file.
func applySARIF(t *testing.T, src string, reps []sarifReplacement) string {
	t.Helper()
	starts := []int{0}
	for i, c := range src {
		if c == '\n' && i+1 < len(src) {
			starts = append(starts, i+1)
		}
	}
	offset := func(line, col int) int {
		if col != 1 {
			t.Fatalf("region column %d, want 1", col)
		}
		if line == len(starts)+1 {
			return len(src)
		}
		if line < 1 || line > len(starts) {
			t.Fatalf("region line %d outside a file of %d lines", line, len(starts))
		}
		return starts[line-1]
	}
	slices.SortFunc(reps, func(a, b sarifReplacement) int { return b.DeletedRegion.StartLine - a.DeletedRegion.StartLine })
	for _, r := range reps {
		d := r.DeletedRegion
		lo, hi := offset(d.StartLine, d.StartColumn), offset(d.EndLine, d.EndColumn)
		src = src[:lo] + r.InsertedContent.Text + src[hi:]
	}
	return src
}

// TestIacSARIFFixesApply applies the SARIF fix of every FAIL as a SARIF
// consumer would, re-scans, and checks that each key with a fix passes,
// that the keys whose value is an expression have none and still fail,
// and that the fixed files are exactly what --fix writes.
func TestIacSARIFFixesApply(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file, resource string
		fix            bool
	}{
		{"tf/main.tf", "aws_kms_key.absent", true},
		{"tf/main.tf", "aws_kms_key.literal_false", true},
		{"tf/main.tf", "aws_kms_key.long_period", true},
		{"tf/main.tf", "aws_kms_key.off_long_period", true},
		{"tf/main.tf", "aws_kms_key.oneline", true},
		{"tf/main.tf", "aws_kms_key.by_var", false},     // var.rotate, resolved false
		{"tf/main.tf", "aws_kms_key.counted[1]", false}, // count.index != 1
		{"tf/mod/main.tf", "module.east.aws_kms_key.this", true},
		{"tf/mod/main.tf", "module.west.aws_kms_key.this", true},
		{"cfn/stack.yaml", "AbsentKey", true},
		{"cfn/stack.yaml", "FalseKey", true},
		{"cfn/stack.yaml", "LongKey", true},
		{"cfn/stack.yaml", "ParamKey", false}, // !Ref
		{"cfn/stack.yaml", "BareKey", true},   // the last line, without a newline
		{"cfn/stack.json", "AbsentKey", true},
		{"cfn/stack.json", "FalseKey", true},
		{"cfn/stack.json", "LongKey", true},
		{"cfn/stack.json", "BareKey", true},
	}
	dir := iacFixture(t, "sarif-fix")
	got := runIacMain(t, dir, ".", "-o", "sarif")
	if got.code != ExitFail {
		t.Fatalf("iac -o sarif: got exit %d, want %d\nstderr: %s", got.code, ExitFail, got.stderr)
	}
	var log sarifFixes
	if err := json.Unmarshal([]byte(got.stdout), &log); err != nil {
		t.Fatalf("iac -o sarif: %v\n%s", err, got.stdout)
	}
	jsonDoc, _ := iacDocument(t, dir, ".")
	edits := map[string]int{}
	for _, f := range jsonDoc.Findings {
		edits[f.File+" "+f.Resource] = len(f.Remediation.Edits)
	}

	// Replacements by file; a module block instantiated twice has the same
	// fix on both results, applied once.
	reps := map[string][]sarifReplacement{}
	hasFix := map[string]bool{}
	for _, r := range log.Runs[0].Results {
		loc := r.Locations[0]
		key := loc.PhysicalLocation.ArtifactLocation.URI + " " + loc.LogicalLocations[0].FullyQualifiedName
		hasFix[key] = len(r.Fixes) > 0
		for _, x := range r.Fixes {
			for _, c := range x.ArtifactChanges {
				for _, p := range c.Replacements {
					if !slices.Contains(reps[c.ArtifactLocation.URI], p) {
						reps[c.ArtifactLocation.URI] = append(reps[c.ArtifactLocation.URI], p)
					}
				}
			}
		}
	}
	for _, tc := range tests {
		key := tc.file + " " + tc.resource
		if hasFix[key] != tc.fix || (edits[key] > 0) != tc.fix {
			t.Errorf("%s: got a SARIF fix %v and %d edits in the JSON report, want a fix and edits %v", key, hasFix[key], edits[key], tc.fix)
		}
	}

	fixedByFix := iacFixture(t, "sarif-fix")
	runIacMain(t, fixedByFix, ".", "--fix")
	want := tree(t, fixedByFix)
	for file, rs := range reps {
		path := filepath.Join(dir, filepath.FromSlash(file))
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		out := applySARIF(t, string(src), rs)
		if out != want[file] {
			t.Errorf("%s after the SARIF fixes:\n%s\nwant what --fix writes:\n%s", file, out, want[file])
		}
		if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	after, run := iacDocument(t, dir, ".")
	if len(after.Errors) != 0 {
		t.Errorf("re-scan after the SARIF fixes: got errors %+v, want none (stderr %s)", after.Errors, run.stderr)
	}
	status := map[string]check.Status{}
	for _, f := range after.Findings {
		status[f.File+" "+f.Resource] = f.Status
	}
	for _, tc := range tests {
		key := tc.file + " " + tc.resource
		want := check.StatusFail
		if tc.fix {
			want = check.StatusPass
		}
		if status[key] != want {
			t.Errorf("re-scan after the SARIF fixes: %s is %s, want %s", key, status[key], want)
		}
	}
}

// TestIacFixPlanFile: --fix and --diff on a Terraform plan say that a plan
// is not rewritten, rather than that there is nothing to change while its
// FAILs remain; a clean project still has nothing to change.
func TestIacFixPlanFile(t *testing.T) {
	t.Parallel()
	const note = "kmsrotor: not fixed: plan.json: a Terraform plan is not rewritten; fix the .tf files it was made from, then plan again\n"
	tests := []struct {
		fixture string
		args    []string
		code    int
		stderr  string
	}{
		{"plan", []string{".", "--fix"}, ExitFail, "kmsrotor: no file changed\n" + note},
		{"plan", []string{".", "--diff", "-o", "json"}, ExitFail, note},
		{"plan", []string{".", "--fix", "--diff", "-o", "json"}, ExitFail, "kmsrotor: no file changed\n" + note},
		{"clean", []string{".", "--diff", "-o", "json"}, ExitOK, "kmsrotor: nothing to change\n"},
	}
	for _, tt := range tests {
		dir := iacFixture(t, tt.fixture)
		got := runIacMain(t, dir, tt.args...)
		if got.code != tt.code || got.stderr != tt.stderr {
			t.Errorf("iac %v on %s: got exit %d, stderr %q; want %d, %q", tt.args, tt.fixture, got.code, got.stderr, tt.code, tt.stderr)
		}
	}
}
