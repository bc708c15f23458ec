package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

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
			written: []string{"cfn/queue.json", "cfn/stack.yaml", "tf/main.tf", "tf/mod/main.tf", "tf/prod.tfvars"}},
		{name: "fix-diff-period", fixture: "project", args: []string{"cfn", "tf", "cdk.out", "--fix", "--diff", "--rotation-period-days", "180", "-o", "json", "--output-file", "report.json"},
			code: ExitFail, outputFile: "report.json",
			written: []string{"cfn/queue.json", "cfn/stack.yaml", "tf/main.tf", "tf/mod/main.tf"}},
		{name: "fix-parse-error", fixture: "project", args: []string{"broken", "cfn/queue.json", "--fix"}, code: ExitIncomplete,
			written: []string{"cfn/queue.json"}},
		// Values set outside the resource block: locals, variable defaults,
		// tfvars, module calls (local and downloaded modules, one not
		// downloaded), CloudFormation parameters, quoted booleans and
		// numbers, asymmetric and HMAC keys with rotation on.
		{name: "sources", fixture: "sources", args: []string{"."}, code: ExitFail},
		{name: "sources-json", fixture: "sources", args: []string{".", "-o", "json"}, code: ExitFail},
		{name: "sources-fix", fixture: "sources", args: []string{".", "--fix", "--diff", "--rotation-period-days", "180"}, code: ExitOK,
			written: []string{"cfn/stack.yaml", "tf/main.tf", "tf/terraform.tfvars"}},
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
	if !strings.Contains(fixRun.stderr, "kmsrotor: fixed 10 resources in ") {
		t.Errorf("--fix stderr: got %q, want it to say 10 resources were fixed", fixRun.stderr)
	}
	afterDoc, _ := iacDocument(t, dir, args...)

	// The keys whose fix is refused (an expression, a synthesized template)
	// and their replicas keep failing; a key that cannot rotate is
	// skipped once its rotation setting is removed; every other FAIL
	// passes, those set through a parameter or a variable too.
	refused := []string{"CondKey", "aws_kms_key.by_condition", "AppStack/AppKey"}
	status := map[string]check.Status{}
	for _, f := range afterDoc.Findings {
		status[f.File+" "+f.Resource] = f.Status
	}
	for _, f := range beforeDoc.Findings {
		got, ok := status[f.File+" "+f.Resource]
		want := f.Status
		switch {
		case f.Status == check.StatusFail && f.Reason == check.ReasonInvalidValue:
			want = check.StatusSkipped
		case f.Status == check.StatusFail && !slices.Contains(refused, f.Resource):
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
	for _, want := range []string{"cfn/stack.yaml:42 CondKey: EnableKeyRotation is set by an expression (!If)",
		"tf/main.tf:20 aws_kms_key.by_condition: enable_key_rotation is set by an expression (length(local.envs) > 1)",
		"cdk.out/AppStack.template.json:3 AppStack/AppKey: the template is synthesized by the CDK (cdk.out) and overwritten on the next synth: set enableKeyRotation: true on the construct AppStack/AppKey"} {
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
	refusal := "kmsrotor: not fixed: cdk.out/AppStack.template.json:3 AppStack/AppKey: the template is synthesized by the CDK (cdk.out) and overwritten on the next synth: set enableKeyRotation: true on the construct AppStack/AppKey in the CDK app, then cdk synth\n" +
		"kmsrotor: not fixed: cfn/stack.yaml:41 CondKey: EnableKeyRotation is set by an expression (!If)\n" +
		"kmsrotor: not fixed: tf/main.tf:19 aws_kms_key.by_condition: enable_key_rotation is set by an expression (length(local.envs) > 1), not a literal; set it by hand\n"
	if !strings.HasPrefix(diff.stderr, "--- a/cfn/queue.json\n+++ b/cfn/queue.json\n@@ ") ||
		!strings.HasSuffix(diff.stderr, "\n"+refusal) {
		t.Errorf("--diff -o json: the diff and the refusals must go to stderr, got stderr %q", diff.stderr)
	}
	both := runIacMain(t, dir, ".", "--diff", "--fix", "-o", "json")
	// The refusal is reported at the key's line in the fixed file.
	if both.stderr != strings.TrimSuffix(diff.stderr, refusal)+"kmsrotor: fixed 9 resources in cfn/queue.json, cfn/stack.yaml, tf/main.tf, tf/mod/main.tf\n"+
		"kmsrotor: not fixed: cdk.out/AppStack.template.json:3 AppStack/AppKey: the template is synthesized by the CDK (cdk.out) and overwritten on the next synth: set enableKeyRotation: true on the construct AppStack/AppKey in the CDK app, then cdk synth\n"+
		"kmsrotor: not fixed: cfn/stack.yaml:42 CondKey: EnableKeyRotation is set by an expression (!If)\n"+
		"kmsrotor: not fixed: tf/main.tf:20 aws_kms_key.by_condition: enable_key_rotation is set by an expression (length(local.envs) > 1), not a literal; set it by hand\n" {
		t.Errorf("--diff --fix stderr:\ngot:\n%s\nwant the --diff output then the fix summary:\n%s", both.stderr, diff.stderr)
	}
	if len(changed(before, tree(t, dir))) != 4 {
		t.Errorf("--diff --fix changed %v, want 4 files", changed(before, tree(t, dir)))
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
				RelatedLocations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine int `json:"startLine"`
							EndLine   int `json:"endLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"relatedLocations"`
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
	var results, related []loc
	for _, r := range sarif.Runs[0].Results {
		if len(r.Locations) != 1 {
			t.Errorf("result %s has %d locations, want 1", r.RuleID, len(r.Locations))
			continue
		}
		reason := r.RuleID[strings.LastIndex(r.RuleID, "/")+1:]
		p := r.Locations[0].PhysicalLocation
		results = append(results, loc{p.ArtifactLocation.URI, p.Region.StartLine, p.Region.EndLine, reason})
		for _, rl := range r.RelatedLocations {
			p := rl.PhysicalLocation
			related = append(related, loc{p.ArtifactLocation.URI, p.Region.StartLine, p.Region.EndLine, reason})
		}
	}
	for _, f := range doc.Findings {
		if f.Status != check.StatusFail && f.Status != check.StatusManual {
			continue
		}
		want := loc{f.File, f.StartLine, f.EndLine, f.Reason}
		if c := f.CallSite; c != nil {
			// A key made in a module is at its call, the module's
			// resource related.
			if !slices.Contains(related, want) {
				t.Errorf("SARIF related locations %v lack %s %s: %+v", related, f.Status, f.Resource, want)
			}
			want = loc{c.File, c.StartLine, c.StartLine, f.Reason}
		}
		if !slices.Contains(results, want) {
			t.Errorf("SARIF results %v lack %s %s: %+v", results, f.Status, f.Resource, want)
		}
	}
}

// sarifFixes is the part of a SARIF log that says how to fix each result.
type sarifFixes struct {
	Runs []struct {
		Results []struct {
			Level      string            `json:"level"`
			Properties map[string]any    `json:"properties"`
			Related    []json.RawMessage `json:"relatedLocations"`
			Locations  []struct {
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
		{"tf/main.tf", "aws_kms_key.by_var", true},      // fixed at the variable's default
		{"tf/main.tf", "aws_kms_key.counted[1]", false}, // count.index != 1
		{"tf/mod/main.tf", "module.east.aws_kms_key.this", true},
		{"tf/mod/main.tf", "module.west.aws_kms_key.this", true},
		{"cfn/stack.yaml", "AbsentKey", true},
		{"cfn/stack.yaml", "FalseKey", true},
		{"cfn/stack.yaml", "LongKey", true},
		{"cfn/stack.yaml", "ParamKey", true}, // fixed at the parameter's Default
		{"cfn/stack.yaml", "BareKey", true},  // the last line, without a newline
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
	moduleFile := map[string]string{}
	for _, f := range jsonDoc.Findings {
		edits[f.File+" "+f.Resource] = len(f.Remediation.Edits)
		moduleFile[f.Resource] = f.File
	}

	// Replacements by file; a module block instantiated twice has the same
	// fix on both results, applied once.
	reps := map[string][]sarifReplacement{}
	hasFix := map[string]bool{}
	for _, r := range log.Runs[0].Results {
		loc := r.Locations[0]
		key := loc.PhysicalLocation.ArtifactLocation.URI + " " + loc.LogicalLocations[0].FullyQualifiedName
		if res, ok := r.Properties["resource"].(string); ok && len(r.Related) > 0 {
			// A key made in a module: its location is the call.
			key = moduleFile[res] + " " + res
		}
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

// TestIacFixAtSourceRescan fixes the sources fixture (keys made through
// modules, locals, variables, tfvars, parameters and quoted values), then
// sets a 180-day period: judged at 180 days no FAIL is left, a second fix
// changes nothing, downloaded modules are never edited, and every edited
// Terraform file is as terraform fmt writes it.
func TestIacFixAtSourceRescan(t *testing.T) {
	t.Parallel()
	dir := iacFixture(t, "sources")
	before := tree(t, dir)
	if got := runIacMain(t, dir, ".", "--fix"); got.code != ExitFail && got.code != ExitOK {
		t.Fatalf("--fix: exit %d, stderr %s", got.code, got.stderr)
	} else if strings.Contains(got.stdout+got.stderr, dir) {
		t.Errorf("--fix names the absolute directory %s:\n%s%s", dir, got.stdout, got.stderr)
	}
	if got := runIacMain(t, dir, ".", "--fix", "--rotation-period-days", "180"); got.code != ExitOK {
		t.Errorf("--fix --rotation-period-days 180: got exit %d, want %d (no FAIL left)\nstderr: %s", got.code, ExitOK, got.stderr)
	}
	doc, docRun := iacDocument(t, dir, ".", "--max-rotation-days", "180")
	if strings.Contains(docRun.stdout+docRun.stderr, dir) {
		t.Errorf("the report names the absolute directory %s:\n%s%s", dir, docRun.stdout, docRun.stderr)
	}
	for _, f := range doc.Findings {
		if f.Status == check.StatusFail {
			t.Errorf("after the fixes, judged at 180 days: %s %s is FAIL %s: %s", f.File, f.Resource, f.Reason, f.Message)
		}
		if f.Resource == "module.not_installed" && (f.Status != check.StatusManual || !strings.Contains(f.Message, "run terraform init in tf")) {
			t.Errorf("module.not_installed: got %s %q, want MANUAL saying terraform init makes it checkable", f.Status, f.Message)
		}
		if strings.HasPrefix(f.Resource, "module.") && f.Resource != "module.not_installed" && (f.CallSite == nil || f.CallSite.File != "tf/main.tf") {
			t.Errorf("%s: got call site %+v, want its module call in tf/main.tf", f.Resource, f.CallSite)
		}
	}
	fixed := tree(t, dir)
	again := runIacMain(t, dir, ".", "--fix", "--rotation-period-days", "180", "--max-rotation-days", "180")
	if c := changed(fixed, tree(t, dir)); len(c) > 0 || !strings.Contains(again.stderr, "no file changed") {
		t.Errorf("a second --fix changed %v (stderr %q), want nothing", c, again.stderr)
	}
	edited := changed(before, fixed)
	for _, f := range edited {
		if strings.Contains(f, ".terraform/") {
			t.Errorf("--fix edited %s, a module terraform init downloaded", f)
		}
	}
	if want := []string{"cfn/stack.yaml", "tf/main.tf", "tf/terraform.tfvars"}; !slices.Equal(edited, want) {
		t.Errorf("--fix edited %v, want %v", edited, want)
	}
	terraformFmtCheck(t, dir, edited)
}

// terraformFmtCheck runs terraform fmt -check on the Terraform files among
// files (relative to dir). Without terraform on PATH it skips, unless CI is
// set: CI must run it.
func terraformFmtCheck(t *testing.T, dir string, files []string) {
	t.Helper()
	bin, err := exec.LookPath("terraform")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("terraform is not on PATH; CI must run terraform fmt -check: %v", err)
		}
		t.Skipf("terraform is not on PATH: %v", err)
	}
	for _, f := range files {
		if !strings.HasSuffix(f, ".tf") && !strings.HasSuffix(f, ".tfvars") && !strings.HasSuffix(f, ".tofu") {
			continue
		}
		cmd := exec.Command(bin, "fmt", "-check", "-diff", filepath.Join(dir, filepath.FromSlash(f)))
		cmd.Env = append(os.Environ(), "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("terraform fmt -check %s: %v\n%s", f, err, out)
		}
	}
}

// TestIacSARIFValidates: the SARIF of the sources fixture (keys made in
// modules, with fixes at their calls) validates against SARIF 2.1.0.
func TestIacSARIFValidates(t *testing.T) {
	t.Parallel()
	const schemaFile = "../report/testdata/sarif-2.1.0.json" // a copy of shared/schemas/sarif-2.1.0.json
	f, err := os.Open(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	schemaDoc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	const url = "https://example.invalid/sarif-2.1.0.json"
	if err := c.AddResource(url, schemaDoc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		t.Fatal(err)
	}
	for _, fixture := range []string{"sources", "project"} {
		got := runIacMain(t, iacFixture(t, fixture), ".", "-o", "sarif")
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(got.stdout))
		if err != nil {
			t.Fatalf("%s: the SARIF is not JSON: %v", fixture, err)
		}
		if err := sch.Validate(inst); err != nil {
			t.Errorf("%s: the SARIF does not validate against SARIF 2.1.0: %v", fixture, err)
		}
		if !strings.Contains(got.stdout, `"originalUriBaseIds"`) || strings.Contains(got.stdout, `"file://`) {
			t.Errorf("%s: want %%SRCROOT%% declared and no absolute URI", fixture)
		}
	}
}

// actionRun is one run of scripts/action.sh.
type actionRun struct {
	code    int
	stderr  string
	outputs map[string]string // $GITHUB_OUTPUT
	goLog   string            // the go commands the script ran
}

// TestActionScript runs scripts/action.sh, the logic of the GitHub Action
// (action.yml), on fixtures, with a stand-in go command: go install copies
// a kmsrotor built from this tree, so no network is used.
func TestActionScript(t *testing.T) {
	t.Parallel()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skipf("bash is not on PATH: %v", err)
	}
	script, err := filepath.Abs("../../scripts/action.sh")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	built := filepath.Join(tmp, "kmsrotor")
	build := exec.Command("go", "build", "-o", built, "../../cmd/kmsrotor")
	build.Env = append(os.Environ(), "GOPROXY=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	fakeGo := filepath.Join(tmp, "fakego")
	if err := os.MkdirAll(fakeGo, 0o755); err != nil {
		t.Fatal(err)
	}
	const goScript = `#!/bin/sh
echo "$*" >>"$FAKE_GO_LOG"
case "$1" in
env) if [ "$2" = GOBIN ]; then echo "$FAKE_GOBIN"; fi; exit 0 ;;
install) if [ -n "$FAKE_INSTALL_FAIL" ]; then exit 1; fi; mkdir -p "$FAKE_GOBIN" && cp "$FAKE_KMSROTOR" "$FAKE_GOBIN/kmsrotor"; exit 0 ;;
esac
exit 1
`
	if err := os.WriteFile(filepath.Join(fakeGo, "go"), []byte(goScript), 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(t *testing.T, dir string, env ...string) actionRun {
		t.Helper()
		work := t.TempDir()
		out, log := filepath.Join(work, "github_output"), filepath.Join(work, "go.log")
		cmd := exec.Command(bash, script)
		cmd.Dir = dir
		cmd.Env = append([]string{
			"PATH=" + fakeGo + string(os.PathListSeparator) + os.Getenv("PATH"),
			"GITHUB_OUTPUT=" + out, "FAKE_GO_LOG=" + log, "FAKE_GOBIN=" + filepath.Join(work, "bin"), "FAKE_KMSROTOR=" + built,
		}, env...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		r := actionRun{stderr: stderr.String(), outputs: map[string]string{}}
		if ee, ok := err.(*exec.ExitError); ok {
			r.code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(out)
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				r.outputs[k] = v
			}
		}
		g, _ := os.ReadFile(log)
		r.goLog = string(g)
		return r
	}
	const install = "install github.com/kmsrotor/kmsrotor/cmd/kmsrotor@v0.1.0"
	tests := []struct {
		name    string
		fixture string
		env     []string
		code    int
		outputs map[string]string
		stderr  string // a fragment
	}{
		{"a FAIL fails the job after the upload", "sources", []string{"KMSROTOR_VERSION=v0.1.0"}, 0,
			map[string]string{"sarif-file": "kmsrotor.sarif", "exit-code": "3", "fail": "true"}, ""},
		{"fail-on never", "sources", []string{"KMSROTOR_VERSION=v0.1.0", "KMSROTOR_FAIL_ON=never"}, 0,
			map[string]string{"sarif-file": "kmsrotor.sarif", "exit-code": "3", "fail": "false"}, ""},
		{"clean", "clean", []string{"KMSROTOR_VERSION=v0.1.0", "KMSROTOR_SARIF=out/k.sarif"}, 0,
			map[string]string{"sarif-file": "out/k.sarif", "exit-code": "0", "fail": "false"}, ""},
		{"paths and arguments", "sources", []string{"KMSROTOR_VERSION=v0.1.0", "KMSROTOR_PATHS=tf/modules cfn/stack.yaml", "KMSROTOR_ARGS=--max-rotation-days 180"}, 0,
			map[string]string{"sarif-file": "kmsrotor.sarif", "exit-code": "3", "fail": "true"}, ""},
		{"incomplete fails with fail-on incomplete", "project", []string{"KMSROTOR_VERSION=v0.1.0", "KMSROTOR_PATHS=broken", "KMSROTOR_FAIL_ON=incomplete"}, 0,
			map[string]string{"sarif-file": "kmsrotor.sarif", "exit-code": "4", "fail": "true"}, ""},
		{"a usage error leaves nothing to upload", "clean", []string{"KMSROTOR_VERSION=v0.1.0", "KMSROTOR_ARGS=--frobnicate"}, 2,
			map[string]string{"exit-code": "2"}, "kmsrotor iac exited with 2"},
		{"an unpinned version is refused", "clean", []string{"KMSROTOR_VERSION=main"}, 2, map[string]string{}, `version "main" is not a release tag`},
		{"no version", "clean", nil, 2, map[string]string{}, "pin the release"},
		{"a bad fail-on", "clean", []string{"KMSROTOR_VERSION=v0.1.0", "KMSROTOR_FAIL_ON=sometimes"}, 2, map[string]string{}, `fail-on "sometimes"`},
		{"an install that fails", "clean", []string{"KMSROTOR_VERSION=v9.9.9", "FAKE_INSTALL_FAIL=1"}, 2, map[string]string{}, "check that the release exists"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := iacFixture(t, tc.fixture)
			got := run(t, dir, tc.env...)
			if got.code != tc.code || !strings.Contains(got.stderr, tc.stderr) {
				t.Errorf("action.sh: got exit %d, stderr %q; want %d, stderr containing %q", got.code, got.stderr, tc.code, tc.stderr)
			}
			if len(got.outputs) != len(tc.outputs) {
				t.Errorf("action.sh outputs: got %v, want %v", got.outputs, tc.outputs)
			}
			for k, v := range tc.outputs {
				if got.outputs[k] != v {
					t.Errorf("action.sh output %s: got %q, want %q", k, got.outputs[k], v)
				}
			}
			if tc.code == 0 && !strings.Contains(got.goLog, install) {
				t.Errorf("action.sh ran go %q, want %q", got.goLog, install)
			}
			if tc.code == 2 && len(tc.outputs) == 0 && strings.Contains(got.goLog, "install") && !strings.Contains(tc.name, "install") {
				t.Errorf("action.sh installed (%q) despite a bad input", got.goLog)
			}
			if f := got.outputs["sarif-file"]; f != "" {
				var log struct {
					Version string `json:"version"`
					Runs    []struct {
						Results []json.RawMessage `json:"results"`
					} `json:"runs"`
				}
				b, err := os.ReadFile(filepath.Join(dir, f))
				if err != nil || json.Unmarshal(b, &log) != nil || log.Version != "2.1.0" {
					t.Fatalf("the SARIF file %s: %v, version %q", f, err, log.Version)
				}
				if fails := got.outputs["exit-code"] == "3"; fails != (len(log.Runs[0].Results) > 0) {
					t.Errorf("the SARIF file has %d results with exit code %s", len(log.Runs[0].Results), got.outputs["exit-code"])
				}
			}
		})
	}
}

// TestActionAndHooksWiring checks action.yml and .pre-commit-hooks.yaml
// against what the script and the command take: every input reaches the
// script, the SARIF it writes is what is uploaded, and the hooks run iac.
func TestActionAndHooksWiring(t *testing.T) {
	t.Parallel()
	var action struct {
		Inputs map[string]struct {
			Default string `yaml:"default"`
		} `yaml:"inputs"`
		Runs struct {
			Using string `yaml:"using"`
			Steps []struct {
				ID   string            `yaml:"id"`
				If   string            `yaml:"if"`
				Uses string            `yaml:"uses"`
				Run  string            `yaml:"run"`
				Env  map[string]string `yaml:"env"`
				With map[string]string `yaml:"with"`
			} `yaml:"steps"`
		} `yaml:"runs"`
	}
	readYAML(t, "../../action.yml", &action)
	if action.Runs.Using != "composite" {
		t.Errorf("action.yml: runs.using %q, want composite", action.Runs.Using)
	}
	var scan, upload bool
	for _, s := range action.Runs.Steps {
		switch {
		case s.ID == "scan":
			scan = strings.Contains(s.Run, "$GITHUB_ACTION_PATH/scripts/action.sh")
			for _, in := range []string{"version", "paths", "args", "sarif-file", "fail-on"} {
				if !slices.Contains(slices.Collect(maps.Values(s.Env)), "${{ inputs."+in+" }}") {
					t.Errorf("action.yml: input %s does not reach the script (env %v)", in, s.Env)
				}
			}
			if !regexp.MustCompile(`^v\d+\.\d+\.\d+$`).MatchString(action.Inputs["version"].Default) {
				t.Errorf("action.yml: version default %q is not a pinned release", action.Inputs["version"].Default)
			}
		case strings.HasPrefix(s.Uses, "github/codeql-action/upload-sarif@"):
			upload = s.With["sarif_file"] == "${{ steps.scan.outputs.sarif-file }}" && strings.Contains(s.If, "inputs.upload == 'true'")
		}
	}
	if !scan || !upload {
		t.Errorf("action.yml: got a scan step running scripts/action.sh %v, an upload-sarif step of its SARIF %v; want both", scan, upload)
	}

	var hooks []struct {
		ID            string   `yaml:"id"`
		Entry         string   `yaml:"entry"`
		Args          []string `yaml:"args"`
		Language      string   `yaml:"language"`
		Files         string   `yaml:"files"`
		PassFilenames *bool    `yaml:"pass_filenames"`
	}
	readYAML(t, "../../.pre-commit-hooks.yaml", &hooks)
	want := map[string]string{"kmsrotor-iac": "kmsrotor iac", "kmsrotor-iac-fix": "kmsrotor iac --fix"}
	for _, h := range hooks {
		if want[h.ID] != h.Entry || h.Language != "golang" || h.PassFilenames == nil || *h.PassFilenames {
			t.Errorf("hook %s: entry %q, language %s, pass_filenames %v; want %q, golang, false", h.ID, h.Entry, h.Language, h.PassFilenames, want[h.ID])
		}
		files := regexp.MustCompile(h.Files)
		for _, name := range []string{"main.tf", "main.tofu", "prod.tfvars", "stack.yaml", "cdk.out/App.template.json"} {
			if !files.MatchString(name) {
				t.Errorf("hook %s: files %q does not match %s", h.ID, h.Files, name)
			}
		}
		// The hook's command line parses.
		args := append(strings.Fields(strings.TrimPrefix(h.Entry, "kmsrotor ")), h.Args...)
		if got := Main(append(args, "--help"), &Env{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(string) string { return "" }, Now: time.Now, Context: t.Context(), WorkingDir: t.TempDir()}); got != ExitOK {
			t.Errorf("hook %s: kmsrotor %v --help exits %d", h.ID, args, got)
		}
		delete(want, h.ID)
	}
	if len(want) > 0 {
		t.Errorf(".pre-commit-hooks.yaml lacks %v", want)
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
