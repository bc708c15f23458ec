package iac

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kmsrotor/kmsrotor/internal/check"
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
// fixed and to the keys that rotate less often than every N days; a key
// whose period is N or less is never touched, so a stricter period is
// never weakened.
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
		{"TF stricter period kept", "main.tf", tfKey("  enable_key_rotation     = true\n  rotation_period_in_days = 100\n"), 200, false, 100},
		{"TF equal period kept", "main.tf", tfKey("  enable_key_rotation     = true\n  rotation_period_in_days = 200\n"), 200, false, 200},
		{"TF longer period shortened", "main.tf", tfKey("  enable_key_rotation     = true\n  rotation_period_in_days = 300\n"), 200, true, 200},
		{"TF default period shortened", "main.tf", tfKey("  enable_key_rotation = true\n"), 200, true, 200},
		{"TF rotation off gets the period", "main.tf", tfKey("  enable_key_rotation = false\n"), 200, true, 200},
		{"TF rotation off keeps its stricter period", "main.tf", tfKey("  enable_key_rotation     = false\n  rotation_period_in_days = 100\n"), 200, true, 100},
		{"CFN stricter period kept", "t.yaml", cfnKey("      EnableKeyRotation: true\n      RotationPeriodInDays: 100\n"), 200, false, 100},
		{"CFN longer period shortened", "t.yaml", cfnKey("      EnableKeyRotation: true\n      RotationPeriodInDays: 300\n"), 200, true, 200},
		{"CFN rotation off keeps its stricter period", "t.yaml", cfnKey("      EnableKeyRotation: false\n      RotationPeriodInDays: 100\n"), 200, true, 100},
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
			3, 7, check.StatusManual, check.ReasonUnresolvedValue, CodeInvalidValue},
		{"period above the range",
			tf("  enable_key_rotation     = true\n  rotation_period_in_days = 2561\n"), cfn("      EnableKeyRotation: true\n      RotationPeriodInDays: 2561\n"),
			3, 7, check.StatusManual, check.ReasonUnresolvedValue, CodeInvalidValue},
		{"lower-case spec",
			tf("  customer_master_key_spec = \"symmetric_default\"\n  enable_key_rotation      = true\n"), cfn("      KeySpec: symmetric_default\n      EnableKeyRotation: true\n"),
			2, 6, check.StatusManual, check.ReasonUnresolvedValue, CodeInvalidValue},
		{"unknown usage",
			tf("  key_usage           = \"ENCRYPT\"\n  enable_key_rotation = true\n"), cfn("      KeyUsage: ENCRYPT\n      EnableKeyRotation: true\n"),
			2, 6, check.StatusPass, check.ReasonRotationEnabled, CodeInvalidValue},
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
			"aws_kms_key.by_var":     "",
			"aws_kms_replica_key.r":  "",
			"aws_kms_key.slow":       "",
		}},
		{"diff with a period", Options{Diff: true, PeriodDays: 180}, map[string]string{
			"aws_kms_key.off":        "7-7   enable_key_rotation     = true\n  rotation_period_in_days = 180\n",
			"module.a.aws_kms_key.m": `1-1 resource "aws_kms_key" "m" {` + "\n  enable_key_rotation     = true\n  rotation_period_in_days = 180\n}\n",
			"module.b.aws_kms_key.m": `1-1 resource "aws_kms_key" "m" {` + "\n  enable_key_rotation     = true\n  rotation_period_in_days = 180\n}\n",
			"aws_kms_key.by_var":     "",
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
					if e.File != f.File {
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
