package iac

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kmsrotor/kmsrotor/internal/check"
	"github.com/kmsrotor/kmsrotor/internal/iac/diag"
)

// writeFiles writes files (slash path -> content) under a new temporary
// directory and returns it.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestRunPeriodDays: --rotation-period-days N applies to the keys being
// fixed and to every rotating key whose period differs from N (the command
// keeps N within the policy); a key at N is never touched.
func TestRunPeriodDays(t *testing.T) {
	t.Parallel()
	tfKey := func(args string) string { return "resource \"aws_kms_key\" \"k\" {\n" + args + "}\n" }
	cfnKey := func(props string) string {
		return "Resources:\n  K:\n    Type: AWS::KMS::Key\n    Properties:\n      Description: k\n" + props
	}
	tests := []struct {
		name    string
		file    string
		src     string
		days    int
		changed bool
		period  int // after the fix
	}{
		{"TF shorter period set to N", "main.tf", tfKey("  enable_key_rotation     = true\n  rotation_period_in_days = 100\n"), 200, true, 200},
		{"TF equal period kept", "main.tf", tfKey("  enable_key_rotation     = true\n  rotation_period_in_days = 200\n"), 200, false, 200},
		{"TF longer period shortened", "main.tf", tfKey("  enable_key_rotation     = true\n  rotation_period_in_days = 300\n"), 200, true, 200},
		{"TF default period shortened", "main.tf", tfKey("  enable_key_rotation = true\n"), 200, true, 200},
		{"TF rotation off gets the period", "main.tf", tfKey("  enable_key_rotation = false\n"), 200, true, 200},
		{"TF rotation off gets N", "main.tf", tfKey("  enable_key_rotation     = false\n  rotation_period_in_days = 100\n"), 200, true, 200},
		{"TF quoted period set to N", "main.tf", tfKey("  enable_key_rotation     = \"true\"\n  rotation_period_in_days = \"365\"\n"), 180, true, 180},
		{"TF quoted false turned on", "main.tf", tfKey("  enable_key_rotation = \"false\"\n"), 180, true, 180},
		{"CFN shorter period set to N", "t.yaml", cfnKey("      EnableKeyRotation: true\n      RotationPeriodInDays: 100\n"), 200, true, 200},
		{"CFN quoted period set to N", "t.yaml", cfnKey("      EnableKeyRotation: \"true\"\n      RotationPeriodInDays: \"365\"\n"), 180, true, 180},
		{"CFN longer period shortened", "t.yaml", cfnKey("      EnableKeyRotation: true\n      RotationPeriodInDays: 300\n"), 200, true, 200},
		{"CFN rotation off gets N", "t.yaml", cfnKey("      EnableKeyRotation: false\n      RotationPeriodInDays: 100\n"), 200, true, 200},
		{"CFN rotation off gets the period", "t.yaml", cfnKey(""), 200, true, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := writeFiles(t, map[string]string{tc.file: tc.src})
			res, err := Run(t.Context(), Options{Paths: []string{"."}, Dir: dir, Policy: policy, Fix: true, PeriodDays: tc.days})
			if err != nil {
				t.Fatal(err)
			}
			after, _ := os.ReadFile(filepath.Join(dir, tc.file))
			if changed := string(after) != tc.src; changed != tc.changed {
				t.Errorf("--fix --rotation-period-days %d on\n%s: got changed %v (now\n%s), want %v", tc.days, tc.src, changed, after, tc.changed)
			}
			if len(res.Findings) != 1 || res.Findings[0].Status != check.StatusPass || res.Findings[0].Rotation.PeriodDays != tc.period {
				t.Errorf("--fix --rotation-period-days %d on\n%s: got findings %s, want one PASS every %d days", tc.days, tc.src, summarize(res.Findings), tc.period)
			}
		})
	}
}

// TestInvalidValuesBothLanguages: Terraform and CloudFormation treat a value
// AWS or the provider would reject the same way: an InvalidValue error entry
// with its file and line, and the fact it sets unresolved.
func TestInvalidValuesBothLanguages(t *testing.T) {
	t.Parallel()
	tf := func(args string) string {
		return "resource \"aws_kms_key\" \"k\" {\n" + args + "}\n"
	}
	cfn := func(props string) string {
		return "AWSTemplateFormatVersion: \"2010-09-09\"\nResources:\n  K:\n    Type: AWS::KMS::Key\n    Properties:\n" + props
	}
	tests := []struct {
		name     string
		tf, cfn  string
		tfLine   int // of the error entry
		cfnLine  int
		status   check.Status
		reason   string
		wantCode string
	}{
		{"period below the range",
			tf("  enable_key_rotation     = true\n  rotation_period_in_days = 89\n"), cfn("      EnableKeyRotation: true\n      RotationPeriodInDays: 89\n"),
			3, 7, check.StatusManual, check.ReasonUnresolvedValue, diag.CodeInvalidValue},
		{"period above the range",
			tf("  enable_key_rotation     = true\n  rotation_period_in_days = 2561\n"), cfn("      EnableKeyRotation: true\n      RotationPeriodInDays: 2561\n"),
			3, 7, check.StatusManual, check.ReasonUnresolvedValue, diag.CodeInvalidValue},
		{"lower-case spec",
			tf("  customer_master_key_spec = \"symmetric_default\"\n  enable_key_rotation      = true\n"), cfn("      KeySpec: symmetric_default\n      EnableKeyRotation: true\n"),
			2, 6, check.StatusManual, check.ReasonUnresolvedValue, diag.CodeInvalidValue},
		{"unknown usage",
			tf("  key_usage           = \"ENCRYPT\"\n  enable_key_rotation = true\n"), cfn("      KeyUsage: ENCRYPT\n      EnableKeyRotation: true\n"),
			2, 6, check.StatusPass, check.ReasonRotationEnabled, diag.CodeInvalidValue},
	}
	for _, tc := range tests {
		for _, lang := range []struct {
			file, src string
			line      int
		}{{"main.tf", tc.tf, tc.tfLine}, {"t.yaml", tc.cfn, tc.cfnLine}} {
			t.Run(tc.name+" "+lang.file, func(t *testing.T) {
				t.Parallel()
				dir := writeFiles(t, map[string]string{lang.file: lang.src})
				res, err := Run(t.Context(), Options{Paths: []string{"."}, Dir: dir, Policy: policy})
				if err != nil {
					t.Fatal(err)
				}
				var diags []string
				for _, d := range res.Diags {
					diags = append(diags, fmt.Sprintf("%s:%d %s", d.File, d.Line, d.Code))
				}
				want := fmt.Sprintf("%s:%d %s", lang.file, lang.line, tc.wantCode)
				if len(res.Findings) != 1 || res.Findings[0].Status != tc.status || res.Findings[0].Reason != tc.reason || !slices.Equal(diags, []string{want}) {
					t.Errorf("Run on\n%s: got findings %s and errors %q, want one %s %s and the error %q", lang.src, summarize(res.Findings), diags, tc.status, tc.reason, want)
				}
			})
		}
	}
}

// TestRunEdits: the edits of each FAIL finding are the --fix change of its
// block alone, in the lines of the file as read; a refused or ineligible
// fix has none, nor has a PASS key that --rotation-period-days would change.
func TestRunEdits(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{
		"main.tf": `variable "rotate" {
  type    = bool
  default = false
}

resource "aws_kms_key" "off" {
  enable_key_rotation = false
}

resource "aws_kms_key" "by_var" {
  enable_key_rotation = var.rotate
}

resource "aws_kms_key" "slow" {
  enable_key_rotation = true
}

resource "aws_kms_replica_key" "r" {
  primary_key_arn = aws_kms_key.off.arn
}

module "a" {
  source = "./mod"
}

module "b" {
  source = "./mod"
}
`,
		"mod/main.tf": "resource \"aws_kms_key\" \"m\" {}\n",
	})
	tests := []struct {
		name  string
		opts  Options
		edits map[string]string // resource -> "start-end text"
	}{
		{"scan", Options{}, map[string]string{
			"aws_kms_key.off":        "7-7   enable_key_rotation = true\n",
			"module.a.aws_kms_key.m": `1-1 resource "aws_kms_key" "m" {` + "\n  enable_key_rotation = true\n}\n",
			"module.b.aws_kms_key.m": `1-1 resource "aws_kms_key" "m" {` + "\n  enable_key_rotation = true\n}\n",
			// Fixed where its value is set: the variable's default.
			"aws_kms_key.by_var":    "3-3   default = true\n",
			"aws_kms_replica_key.r": "",
			"aws_kms_key.slow":      "",
		}},
		{"diff with a period", Options{Diff: true, PeriodDays: 180}, map[string]string{
			"aws_kms_key.off":        "7-7   enable_key_rotation     = true\n  rotation_period_in_days = 180\n",
			"module.a.aws_kms_key.m": `1-1 resource "aws_kms_key" "m" {` + "\n  enable_key_rotation     = true\n  rotation_period_in_days = 180\n}\n",
			"module.b.aws_kms_key.m": `1-1 resource "aws_kms_key" "m" {` + "\n  enable_key_rotation     = true\n  rotation_period_in_days = 180\n}\n",
			"aws_kms_key.by_var":     "3-3   default = true\n|11-11   enable_key_rotation     = var.rotate\n  rotation_period_in_days = 180\n",
			"aws_kms_replica_key.r":  "",
			"aws_kms_key.slow":       "", // PASS: --fix changes it, but only FAILs carry edits
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := tc.opts
			opts.Paths, opts.Dir, opts.Policy = []string{"."}, dir, policy
			res, err := Run(t.Context(), opts)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, f := range res.Findings {
				var parts []string
				for _, e := range f.Remediation.Edits {
					if e.File != f.File && e.File != "main.tf" {
						t.Errorf("%s: edit of file %q, want %q", f.Resource, e.File, f.File)
					}
					parts = append(parts, fmt.Sprintf("%d-%d %s", e.StartLine, e.EndLine, e.Text))
				}
				got[f.Resource] = strings.Join(parts, "|")
			}
			for r, want := range tc.edits {
				if got[r] != want {
					t.Errorf("%s: edits of %s: got %q, want %q", tc.name, r, got[r], want)
				}
			}
		})
	}
}

// TestRunJSONNotWellFormed: a JSON template CloudFormation rejects is a
// ParseError entry with its file and line, and gives no key.
func TestRunJSONNotWellFormed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src string
		want      string
	}{
		{"trailing comma", "{\n  \"Resources\": {\n    \"K\": {\n      \"Type\": \"AWS::KMS::Key\",\n      \"Properties\": {\"EnableKeyRotation\": true, }\n    }\n  }\n}\n",
			"t.json:5 ParseError"},
		{"well-formed", "{\n  \"Resources\": {\n    \"K\": {\n      \"Type\": \"AWS::KMS::Key\",\n      \"Properties\": {\"EnableKeyRotation\": true}\n    }\n  }\n}\n",
			""},
	}
	for _, tc := range tests {
		dir := writeFiles(t, map[string]string{"t.json": tc.src})
		res, err := Run(t.Context(), Options{Paths: []string{"."}, Dir: dir, Policy: policy})
		if err != nil {
			t.Fatal(err)
		}
		var got string
		for _, d := range res.Diags {
			got += fmt.Sprintf("%s:%d %s", d.File, d.Line, d.Code)
		}
		wantKeys := 0
		if tc.want == "" {
			wantKeys = 1
		}
		if got != tc.want || len(res.Findings) != wantKeys {
			t.Errorf("%s: Run on\n%s: got errors %q and %d findings, want %q and %d", tc.name, tc.src, got, len(res.Findings), tc.want, wantKeys)
		}
	}
}

// TestRunSharedSource: a value that also sets something other than
// rotation is not edited; the finding says so and names the line to change.
func TestRunSharedSource(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"main.tf": `locals {
  flag = false
}

resource "aws_kms_key" "k" {
  enable_key_rotation = local.flag
}

resource "aws_kms_key" "other" {
  enable_key_rotation = true
  multi_region        = local.flag
}

locals {
  rotate = false
}

resource "aws_kms_key" "symmetric" {
  enable_key_rotation = local.rotate
}

# Turning local.rotate on would turn rotation on here, which AWS rejects.
resource "aws_kms_key" "signing" {
  customer_master_key_spec = "RSA_2048"
  key_usage                = "SIGN_VERIFY"
  enable_key_rotation      = local.rotate
}
`,
		"t.yaml": `Parameters:
  Flag:
    Type: String
    Default: "false"
  Rotate:
    Type: String
    Default: "false"
Resources:
  K:
    Type: AWS::KMS::Key
    Properties:
      EnableKeyRotation: !Ref Flag
      MultiRegion: !Ref Flag
  Sym:
    Type: AWS::KMS::Key
    Properties:
      EnableKeyRotation: !Ref Rotate
  Mac:
    Type: AWS::KMS::Key
    Properties:
      KeySpec: HMAC_256
      KeyUsage: GENERATE_VERIFY_MAC
      EnableKeyRotation: !Ref Rotate
`,
	})
	before, _ := os.ReadFile(filepath.Join(dir, "main.tf"))
	res, err := Run(t.Context(), Options{Paths: []string{"."}, Dir: dir, Policy: policy, Fix: true})
	if err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "main.tf")); string(after) != string(before) {
		t.Errorf("--fix edited a local shared with another argument:\n%s", after)
	}
	want := map[string]string{
		"aws_kms_key.k":         "local.flag is also used for other values than rotation (2 uses, 1 for rotation), and editing main.tf line 2 would change them too",
		"aws_kms_key.symmetric": "local.rotate (set on main.tf line 15) also sets aws_kms_key.signing (main.tf line 23), which this fix would change too",
		"K":                     "parameter Flag, which is also used elsewhere (2 uses, 1 for rotation), so its Default (line 4) is not changed; set EnableKeyRotation to true on line 12",
		// Turning Rotate on would turn rotation on for the HMAC key too.
		"Sym": "parameter Rotate, which is also used elsewhere (2 uses, 1 for rotation), so its Default (line 7) is not changed",
	}
	for _, f := range res.Findings {
		w, ok := want[f.Resource]
		if !ok {
			continue
		}
		if f.Status != check.StatusFail || !strings.Contains(f.Message, w) {
			t.Errorf("%s: got %s %q, want FAIL saying %q", f.Resource, f.Status, f.Message, w)
		}
		delete(want, f.Resource)
	}
	if len(want) > 0 {
		t.Errorf("no finding for %v", want)
	}
}

// TestRunOpenTofu: .tofu and .tofu.json files are configuration, and a
// .tofu file replaces the .tf file of the same name, as OpenTofu reads
// them; --fix rewrites the .tofu file.
func TestRunOpenTofu(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"main.tf":            "resource \"aws_kms_key\" \"k\" {\n  enable_key_rotation = true\n}\n",
		"main.tofu":          "resource \"aws_kms_key\" \"k\" {\n  enable_key_rotation = false\n}\n",
		"extra.tofu.json":    `{"resource": {"aws_kms_key": {"j": {"enable_key_rotation": true}}}}`,
		"only/keys.tofu":     "resource \"aws_kms_key\" \"t\" {}\n",
		"only/README.md":     "not configuration\n",
		"shadow/a.tf.json":   `{"resource": {"aws_kms_key": {"a": {"enable_key_rotation": false}}}}`,
		"shadow/a.tofu.json": `{"resource": {"aws_kms_key": {"a": {"enable_key_rotation": true}}}}`,
	})
	res, err := Run(t.Context(), Options{Paths: []string{"."}, Dir: dir, Policy: policy})
	if err != nil {
		t.Fatal(err)
	}
	got := summarize(res.Findings)
	want := []string{
		"extra.tofu.json:1 aws_kms_key.j terraform PASS rotation_enabled",
		"main.tofu:1 aws_kms_key.k terraform FAIL rotation_disabled",
		"only/keys.tofu:1 aws_kms_key.t terraform FAIL rotation_disabled",
		"shadow/a.tofu.json:1 aws_kms_key.a terraform PASS rotation_enabled",
	}
	if !slices.Equal(got, want) || len(res.Diags) != 0 {
		t.Errorf("Run on OpenTofu files: got %q, diags %+v; want %q and no diags", got, res.Diags, want)
	}
	res, err = Run(t.Context(), Options{Paths: []string{"."}, Dir: dir, Policy: policy, Fix: true})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Fixed, []string{"main.tofu", "only/keys.tofu"}) {
		t.Errorf("--fix on OpenTofu files: fixed %v, want main.tofu and only/keys.tofu", res.Fixed)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "main.tf")); !strings.Contains(string(b), "enable_key_rotation = true") {
		t.Errorf("--fix changed main.tf, which main.tofu replaces:\n%s", b)
	}
}

// TestRunPlanDeclared: a plan's finding carries its address and, when the
// plan's configuration can be found on disk (beside the plan, or in the
// local module the configuration names), the line that declares it.
func TestRunPlanDeclared(t *testing.T) {
	plan := `{"format_version": "1.2",
 "planned_values": {"root_module": {
  "resources": [{"address": "aws_kms_key.k", "mode": "managed", "type": "aws_kms_key", "name": "k", "values": {"enable_key_rotation": false}}],
  "child_modules": [{"address": "module.m", "resources": [{"address": "module.m.aws_kms_key.inner", "mode": "managed", "type": "aws_kms_key", "name": "inner", "values": {"enable_key_rotation": false}}]}]}},
 "configuration": {"root_module": {
  "resources": [{"address": "aws_kms_key.k"}],
  "module_calls": {"m": {"source": "./mod", "module": {"resources": [{"address": "aws_kms_key.inner"}]}}}}}}
`
	dir := writeFiles(t, map[string]string{
		"plan/plan.json":    plan,
		"plan/main.tf":      "# keys\n\nresource \"aws_kms_key\" \"k\" {\n}\n",
		"plan/mod/keys.tf":  "resource \"aws_kms_key\" \"inner\" {}\n",
		"plan/mod/other.tf": "resource \"aws_kms_key\" \"innerx\" {}\n",
	})
	res, err := Run(t.Context(), Options{Paths: []string{"plan/plan.json"}, Dir: dir, Policy: policy})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"aws_kms_key.k":              "(declared in plan/main.tf line 3, which is what to fix)",
		"module.m.aws_kms_key.inner": "(declared in plan/mod/keys.tf line 1, which is what to fix)",
	}
	for _, f := range res.Findings {
		if w, ok := want[f.Resource]; ok && f.File == "plan/plan.json" && strings.Contains(f.Message, w) {
			delete(want, f.Resource)
		}
	}
	if len(want) > 0 {
		t.Errorf("plan findings %+v lack %v", summarize(res.Findings), want)
	}
}

// TestRunDuplicates: a resource or logical ID declared twice is an error
// naming both lines, and --fix leaves that file alone.
func TestRunDuplicates(t *testing.T) {
	files := map[string]string{
		"main.tf": "resource \"aws_kms_key\" \"k\" {}\n\nresource \"aws_kms_key\" \"k\" {\n  description = \"again\"\n}\n",
		"t.yaml":  "Resources:\n  K:\n    Type: AWS::KMS::Key\n  K:\n    Type: AWS::KMS::Key\n    Properties:\n      Description: again\n",
	}
	dir := writeFiles(t, files)
	res, err := Run(t.Context(), Options{Paths: []string{"."}, Dir: dir, Policy: policy, Fix: true})
	if err != nil {
		t.Fatal(err)
	}
	for name, src := range files {
		if b, _ := os.ReadFile(filepath.Join(dir, name)); string(b) != src {
			t.Errorf("--fix edited %s, which declares a resource twice:\n%s", name, b)
		}
	}
	want := map[string]string{
		"main.tf": "duplicate resource aws_kms_key.k; it is first declared at main.tf:1",
		"t.yaml":  "duplicate logical ID K on lines 2 and 4",
	}
	for _, d := range res.Diags {
		if w, ok := want[d.File]; ok && d.Code == diag.CodeParseError && strings.Contains(d.Message, w) {
			delete(want, d.File)
		}
	}
	if len(want) > 0 {
		t.Errorf("diags %+v lack %v", res.Diags, want)
	}
}

// TestRunNotDownloadedInRoot: a registry module not yet downloaded, called
// from the scanned directory itself, says to run terraform init there,
// without its absolute path, and the call's literal is fixed.
func TestRunNotDownloadedInRoot(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"main.tf": "module \"kms\" {\n  source              = \"terraform-aws-modules/kms/aws\"\n  enable_key_rotation = false\n}\n",
	})
	res, err := Run(t.Context(), Options{Paths: []string{"."}, Dir: dir, Policy: policy})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 1 {
		t.Fatalf("got findings %q, want one for module.kms", summarize(res.Findings))
	}
	f := res.Findings[0]
	want := `module source "terraform-aws-modules/kms/aws" is not on disk: run terraform init in . to download it`
	if f.Resource != "module.kms" || f.Status != check.StatusFail || !strings.Contains(f.Message, want) || strings.Contains(f.Message, dir) {
		t.Errorf("got %s %s %q, want FAIL module.kms saying %q", f.Resource, f.Status, f.Message, want)
	}
	if len(f.Remediation.Edits) != 1 || f.Remediation.Edits[0].Text != "  enable_key_rotation = true\n" {
		t.Errorf("edits: got %+v, want enable_key_rotation = true at the call", f.Remediation.Edits)
	}
}
