package iac

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kmsrotor/kmsrotor/internal/check"
	"github.com/kmsrotor/kmsrotor/internal/iac/diag"
	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

var policy = check.Policy{MaxRotationDays: 365, Now: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)}

func summarize(fs []check.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s:%d %s %s %s %s", f.File, f.StartLine, f.Resource, f.Source, f.Status, f.Reason))
	}
	return out
}

// TestRunWalk checks which files a walk reads and how: cdk.out is read,
// .git, .terraform and node_modules are not, other YAML is ignored, a plan
// JSON is a plan, a .template file is CloudFormation.
func TestRunWalk(t *testing.T) {
	t.Parallel()
	res, err := Run(t.Context(), Options{Paths: []string{"testdata/walk"}, Dir: ".", Policy: policy})
	if err != nil {
		t.Fatal(err)
	}
	got := summarize(res.Findings)
	want := []string{
		"testdata/walk/cdk.out/App.template.json:1 CdkKey cloudformation FAIL rotation_disabled",
		"testdata/walk/cfn/stack.template:1 TemplateKey cloudformation PASS rotation_enabled",
		"testdata/walk/cfn/stack.yaml:2 Key cloudformation FAIL rotation_disabled",
		"testdata/walk/tf/main.tf:1 aws_kms_key.main terraform PASS rotation_enabled",
		"testdata/walk/tf/plan.json:7 aws_kms_key.planned terraform-plan FAIL rotation_disabled",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Run(testdata/walk):\ngot  %q\nwant %q", got, want)
	}
	if len(res.Diags) != 0 {
		t.Errorf("Run(testdata/walk) diagnostics: got %+v, want none", res.Diags)
	}
}

func TestRunPaths(t *testing.T) {
	t.Parallel()
	abs, err := filepath.Abs("testdata/walk/cfn/stack.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		paths     []string
		dir       string
		findings  []string
		diags     []string
		wantError error
	}{
		{name: "explicit non-template file is an error", paths: []string{"cfn/workflow.yml"}, dir: "testdata/walk",
			diags: []string{"cfn/workflow.yml:0 ParseError not a CloudFormation template or Terraform plan"}},
		{name: "explicit .tf file loads its directory", paths: []string{"tf/main.tf"}, dir: "testdata/walk",
			findings: []string{"tf/main.tf:1 aws_kms_key.main terraform PASS rotation_enabled"}},
		{name: "a file named twice is read once", paths: []string{"cfn/stack.yaml", "./cfn/stack.yaml", "cfn"}, dir: "testdata/walk",
			findings: []string{
				"cfn/stack.template:1 TemplateKey cloudformation PASS rotation_enabled",
				"cfn/stack.yaml:2 Key cloudformation FAIL rotation_disabled",
			}},
		{name: "an explicit file inside a skipped directory is read", paths: []string{"node_modules/dep/t.yaml"}, dir: "testdata/walk",
			findings: []string{"node_modules/dep/t.yaml:2 Vendored cloudformation FAIL rotation_disabled"}},
		// No absolute path is printed: a file outside the directory is named
		// relative to the path given.
		{name: "absolute paths outside the directory are relative to the path given", paths: []string{abs}, dir: t.TempDir(),
			findings: []string{"stack.yaml:2 Key cloudformation FAIL rotation_disabled"}},
		{name: "absolute directory outside the directory", paths: []string{filepath.Dir(abs)}, dir: t.TempDir(),
			findings: []string{"cfn/stack.template:1 TemplateKey cloudformation PASS rotation_enabled", "cfn/stack.yaml:2 Key cloudformation FAIL rotation_disabled"}},
		{name: "missing path", paths: []string{"nowhere"}, dir: "testdata/walk", wantError: ErrNoPath},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := Run(t.Context(), Options{Paths: tt.paths, Dir: tt.dir, Policy: policy})
			if !errors.Is(err, tt.wantError) {
				t.Fatalf("Run(%v): got error %v, want %v", tt.paths, err, tt.wantError)
			}
			if got := summarize(res.Findings); !slices.Equal(got, tt.findings) {
				t.Errorf("Run(%v) findings:\ngot  %q\nwant %q", tt.paths, got, tt.findings)
			}
			var diags []string
			for _, d := range res.Diags {
				diags = append(diags, fmt.Sprintf("%s:%d %s %s", d.File, d.Line, d.Code, d.Message))
			}
			if !slices.Equal(diags, tt.diags) {
				t.Errorf("Run(%v) diagnostics:\ngot  %q\nwant %q", tt.paths, diags, tt.diags)
			}
		})
	}
}

func TestPlan(t *testing.T) {
	t.Parallel()
	base := kmskey.Key{Source: kmskey.SourceCloudFormation, File: "t.yaml", StartLine: 1, Resource: "K",
		Manager: kmskey.ManagerCustomer, Spec: kmskey.SpecSymmetricDefault, Origin: kmskey.OriginAWSKMS, State: kmskey.StateEnabled}
	with := func(f func(k *kmskey.Key)) kmskey.Key {
		k := base
		f(&k)
		return k
	}
	off := with(func(k *kmskey.Key) { k.Rotation.Enabled = kmskey.False })
	on := func(days int) kmskey.Key {
		return with(func(k *kmskey.Key) { k.Rotation = kmskey.Rotation{Enabled: kmskey.True, PeriodDays: days} })
	}
	tests := []struct {
		name       string
		key        kmskey.Key
		max        int
		periodDays int
		want       string // "" when not fixed, else "enable period"
	}{
		{"rotation off", off, 365, 0, "true 0"},
		{"rotation off, policy under the default period", off, 180, 0, "true 180"},
		{"rotation off with a long period", with(func(k *kmskey.Key) { k.Rotation = kmskey.Rotation{Enabled: kmskey.False, PeriodDays: 500} }), 365, 0, "true 365"},
		{"period over the policy", on(730), 365, 0, "true 365"},
		{"passing", on(365), 365, 0, ""},
		{"passing, period asked", on(365), 365, 180, "true 180"},
		{"passing with the period asked", on(180), 365, 180, ""},
		// The period asked for is set wherever it differs; the command keeps
		// it within the policy.
		{"passing with a shorter period than asked", on(100), 365, 200, "true 200"},
		{"passing with the default period, a longer one asked", on(365), 0, 400, "true 400"},
		{"rotation off with a shorter stated period than asked", with(func(k *kmskey.Key) { k.Rotation = kmskey.Rotation{Enabled: kmskey.False, PeriodDays: 100} }), 365, 200, "true 200"},
		{"rotation off with a longer stated period than asked", with(func(k *kmskey.Key) { k.Rotation = kmskey.Rotation{Enabled: kmskey.False, PeriodDays: 300} }), 365, 200, "true 200"},
		{"period over the policy, period asked", on(730), 365, 200, "true 200"},
		{"rotation off, period asked", off, 0, 90, "true 90"},
		{"replica", with(func(k *kmskey.Key) { k.Rotation.Enabled = kmskey.False; k.MultiRegionType = kmskey.MultiRegionReplica }), 365, 0, ""},
		{"plan file", with(func(k *kmskey.Key) { k.Rotation.Enabled = kmskey.False; k.Source = kmskey.SourceTerraformPlan }), 365, 0, ""},
		{"HMAC", with(func(k *kmskey.Key) { k.Rotation.Enabled = kmskey.False; k.Spec = "HMAC_256" }), 365, 180, ""},
		{"HMAC with rotation on", with(func(k *kmskey.Key) { k.Rotation.Enabled = kmskey.True; k.Spec = "HMAC_256" }), 365, 180, "remove"},
		{"asymmetric with rotation on", with(func(k *kmskey.Key) { k.Rotation.Enabled = kmskey.True; k.Spec = "RSA_2048" }), 365, 0, "remove"},
		{"imported with rotation on", with(func(k *kmskey.Key) { k.Rotation.Enabled = kmskey.True; k.Origin = kmskey.OriginExternal }), 365, 0, "remove"},
		{"imported", with(func(k *kmskey.Key) { k.Rotation.Enabled = kmskey.False; k.Origin = kmskey.OriginExternal }), 365, 180, ""},
		{"disabled", with(func(k *kmskey.Key) { k.Rotation.Enabled = kmskey.False; k.State = kmskey.StateDisabled }), 365, 180, ""},
		{"unresolved", with(func(k *kmskey.Key) { k.Unresolved = []string{kmskey.AttrRotation} }), 365, 180, ""},
	}
	for _, tt := range tests {
		opts := Options{Policy: check.Policy{MaxRotationDays: tt.max}, PeriodDays: tt.periodDays}
		targets := plan(opts, []kmskey.Key{tt.key}, []check.Finding{check.Evaluate(tt.key, opts.Policy)}, nil)
		got := ""
		if len(targets) == 1 && targets[0].remove {
			got = "remove"
		} else if len(targets) == 1 {
			got = fmt.Sprintf("%v %d", targets[0].enable, targets[0].period)
		} else if len(targets) > 1 {
			got = fmt.Sprintf("%d targets", len(targets))
		}
		if got != tt.want {
			t.Errorf("%s: plan(max %d, period %d): got %q, want %q", tt.name, tt.max, tt.periodDays, got, tt.want)
		}
	}
}

func TestPlanDedupesModuleBlocks(t *testing.T) {
	t.Parallel()
	k := kmskey.Key{Source: kmskey.SourceTerraform, File: "mod/main.tf", StartLine: 3, Manager: kmskey.ManagerCustomer,
		Spec: kmskey.SpecSymmetricDefault, Origin: kmskey.OriginAWSKMS, State: kmskey.StateEnabled, Rotation: kmskey.Rotation{Enabled: kmskey.False}}
	a, b := k, k
	a.Resource, b.Resource = "module.a.aws_kms_key.k", "module.b.aws_kms_key.k"
	keys := []kmskey.Key{a, b}
	targets := plan(Options{Policy: policy}, keys, []check.Finding{check.Evaluate(a, policy), check.Evaluate(b, policy)}, nil)
	if len(targets) != 1 || !slices.Equal(targets[0].resources, []string{a.Resource, b.Resource}) {
		t.Errorf("plan of one module block instantiated twice: got %+v, want one target for both instances", targets)
	}
}

// TestRunFix fixes a copy of testdata/walk: CloudFormation and Terraform
// files change, the plan JSON and the CDK's synthesized template do not
// (the fix names the construct's properties), and a second run changes
// nothing.
func TestRunFix(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "walk")
	if err := os.CopyFS(dir, os.DirFS("testdata/walk")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "cfn/stack.yaml"), 0o640); err != nil {
		t.Fatal(err)
	}
	planBefore, _ := os.ReadFile(filepath.Join(dir, "tf/plan.json"))
	opts := Options{Paths: []string{"."}, Dir: dir, Policy: policy, Fix: true, Diff: true, PeriodDays: 180}
	res, err := Run(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	wantFixed := []string{"cfn/stack.template", "cfn/stack.yaml", "tf/main.tf"}
	if !slices.Equal(res.Fixed, wantFixed) || res.FixedKeys != 3 || len(res.Refused) != 1 ||
		!strings.Contains(res.Refused[0].Reason, "enableKeyRotation: true and rotationPeriod: Duration.days(180) on the construct CdkKey") {
		t.Errorf("Run --fix: fixed %v (%d resources), refused %v; want %v (3), the CDK key refused naming its construct's properties", res.Fixed, res.FixedKeys, res.Refused, wantFixed)
	}
	for _, f := range res.Findings {
		want := check.StatusPass
		if f.Source == string(kmskey.SourceTerraformPlan) || strings.HasPrefix(f.File, "cdk.out/") {
			want = check.StatusFail // a plan is not a source to fix, nor is a synthesized template
		}
		if f.Status != want || (want == check.StatusPass && f.Rotation.PeriodDays != 180) {
			t.Errorf("after --fix: %s %s is %s with period %d; want %s, period 180", f.File, f.Resource, f.Status, f.Rotation.PeriodDays, want)
		}
	}
	for _, f := range wantFixed {
		if !strings.Contains(res.Diff, "--- a/"+f+"\n+++ b/"+f+"\n") {
			t.Errorf("the diff lacks %s:\n%s", f, res.Diff)
		}
	}
	if planAfter, _ := os.ReadFile(filepath.Join(dir, "tf/plan.json")); string(planAfter) != string(planBefore) {
		t.Errorf("--fix changed the plan file")
	}
	if st, err := os.Stat(filepath.Join(dir, "cfn/stack.yaml")); err != nil || st.Mode().Perm() != 0o640 {
		t.Errorf("--fix: mode of the fixed file: got %v, %v; want 0640 kept", st.Mode().Perm(), err)
	}
	if entries, _ := filepath.Glob(filepath.Join(dir, "cfn", ".*kmsrotor*")); len(entries) > 0 {
		t.Errorf("--fix left temporary files: %v", entries)
	}

	again, err := Run(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Fixed) != 0 || again.Diff != "" {
		t.Errorf("a second --fix: fixed %v, diff %q; want nothing", again.Fixed, again.Diff)
	}
}

func TestRunCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Run(ctx, Options{Paths: []string{"testdata/walk"}, Dir: ".", Policy: policy}); !errors.Is(err, context.Canceled) {
		t.Errorf("Run with a cancelled context: got %v, want context.Canceled", err)
	}
}

func TestWriteAtomicFollowsSymlinks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	target := filepath.Join(dir, "real.yaml")
	link := filepath.Join(dir, "link.yaml")
	if err := os.WriteFile(target, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real.yaml", link); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	if err := writeAtomic(link, []byte("new")); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(target)
	st, err := os.Lstat(link)
	if string(got) != "new" || err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("writeAtomic through a link: target holds %q, link mode %v (%v); want \"new\" and the link kept", got, st.Mode(), err)
	}
	if st, _ := os.Stat(target); st.Mode().Perm() != 0o600 {
		t.Errorf("writeAtomic: mode %v, want 0600 kept", st.Mode().Perm())
	}
}

// TestRunFixWriteError: a file that cannot be replaced is an error entry, and
// its key still fails.
func TestRunFixWriteError(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "t.yaml"), []byte("Resources:\n  K:\n    Type: AWS::KMS::Key\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeFile = func(string, []byte) error { return errors.New("disk full") }
	t.Cleanup(func() { writeFile = writeAtomic })
	res, err := Run(t.Context(), Options{Paths: []string{"."}, Dir: dir, Policy: policy, Fix: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Diags) != 1 || res.Diags[0].Code != diag.CodeFixError || res.Diags[0].File != "t.yaml" || res.Diags[0].Message != "disk full" {
		t.Errorf("Run --fix that cannot write: diagnostics %+v, want one FixError for t.yaml", res.Diags)
	}
	if len(res.Refused) != 1 || res.Refused[0].Reason != "the file could not be written" {
		t.Errorf("Run --fix that cannot write: refusals %+v, want K refused", res.Refused)
	}
	if got := summarize(res.Findings); !slices.Equal(got, []string{"t.yaml:2 K cloudformation FAIL rotation_disabled"}) || len(res.Fixed) != 0 || res.FixedKeys != 0 {
		t.Errorf("Run --fix that cannot write: findings %q, fixed %v (%d); want the FAIL kept, nothing fixed", got, res.Fixed, res.FixedKeys)
	}
}
