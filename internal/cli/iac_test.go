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
