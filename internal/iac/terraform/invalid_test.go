package terraform

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kmsrotor/kmsrotor/internal/check"
	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

// TestInvalidValues: a value the AWS provider rejects is an InvalidValue
// diagnostic at its line, and the fact it sets is unresolved (MANUAL), as in
// CloudFormation; it is never read as if the apply had succeeded.
func TestInvalidValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		body   string // the arguments of resource "aws_kms_key" "k", or whole blocks when it starts with "resource"
		status check.Status
		reason string
		unres  []string
		period int
		diag   string // "line code fragment", "" for none
	}{
		{name: "period below the range", body: "enable_key_rotation = true\nrotation_period_in_days = 89",
			status: check.StatusManual, reason: check.ReasonUnresolvedValue, unres: []string{kmskey.AttrPeriod},
			diag: "3 InvalidValue rotation_period_in_days = 89 is outside the range the AWS provider accepts (90 to 2560)"},
		{name: "period above the range", body: "enable_key_rotation = true\nrotation_period_in_days = 2561",
			status: check.StatusManual, reason: check.ReasonUnresolvedValue, unres: []string{kmskey.AttrPeriod},
			diag: "3 InvalidValue rotation_period_in_days = 2561 is outside the range"},
		{name: "lowest period", body: "enable_key_rotation = true\nrotation_period_in_days = 90",
			status: check.StatusPass, reason: check.ReasonRotationEnabled, period: 90},
		{name: "highest period", body: "enable_key_rotation = true\nrotation_period_in_days = 2560",
			status: check.StatusFail, reason: check.ReasonPeriodExceedsPolicy, period: 2560},
		{name: "period out of range with rotation off", body: "enable_key_rotation = false\nrotation_period_in_days = 2561",
			status: check.StatusFail, reason: check.ReasonRotationDisabled, unres: []string{kmskey.AttrPeriod},
			diag: "3 InvalidValue rotation_period_in_days = 2561"},
		{name: "period kept while rotation is off", body: "enable_key_rotation = false\nrotation_period_in_days = 100",
			status: check.StatusFail, reason: check.ReasonRotationDisabled, period: 100},
		{name: "lower-case spec", body: "customer_master_key_spec = \"symmetric_default\"\nenable_key_rotation = true",
			status: check.StatusManual, reason: check.ReasonUnresolvedValue, unres: []string{kmskey.AttrSpec}, period: 365,
			diag: `2 InvalidValue customer_master_key_spec = "symmetric_default" is not a value the AWS provider accepts; values are upper case: SYMMETRIC_DEFAULT`},
		{name: "unknown spec", body: "customer_master_key_spec = \"AES_256\"",
			status: check.StatusManual, reason: check.ReasonUnresolvedValue, unres: []string{kmskey.AttrSpec},
			diag: `2 InvalidValue customer_master_key_spec = "AES_256" is not a value`},
		{name: "lower-case usage", body: "key_usage = \"encrypt_decrypt\"\nenable_key_rotation = true",
			status: check.StatusPass, reason: check.ReasonRotationEnabled, unres: []string{kmskey.AttrUsage}, period: 365,
			diag: `2 InvalidValue key_usage = "encrypt_decrypt" is not a value`},
		{name: "not a boolean", body: `enable_key_rotation = "yes"`,
			status: check.StatusManual, reason: check.ReasonUnresolvedValue, unres: []string{kmskey.AttrRotation},
			diag: "2 InvalidValue enable_key_rotation: bool is required"},
		{name: "external key with a lower-case key_spec", body: "resource \"aws_kms_external_key\" \"k\" {\n  key_spec = \"rsa_2048\"\n}",
			status: check.StatusManual, reason: check.ReasonUnresolvedValue, unres: []string{kmskey.AttrSpec},
			diag: `2 InvalidValue key_spec = "rsa_2048" is not a value`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := tc.body
			if !strings.HasPrefix(src, "resource") {
				src = "resource \"aws_kms_key\" \"k\" {\n" + src + "\n}"
			}
			root := writeTree(t, map[string]string{"main.tf": src + "\n"})
			res := LoadDirs([]string{root}, Options{})
			if len(res.Keys) != 1 {
				t.Fatalf("LoadDirs(%q): got %d keys, want 1", src, len(res.Keys))
			}
			k := res.Keys[0]
			f := check.Evaluate(k, policy)
			if f.Status != tc.status || f.Reason != tc.reason || !slices.Equal(k.Unresolved, tc.unres) || k.Rotation.PeriodDays != tc.period {
				t.Errorf("LoadDirs(%q): got %s %s, unresolved %v, period %d; want %s %s, unresolved %v, period %d",
					src, f.Status, f.Reason, k.Unresolved, k.Rotation.PeriodDays, tc.status, tc.reason, tc.unres, tc.period)
			}
			var diags []string
			for _, d := range res.Diags {
				diags = append(diags, fmt.Sprintf("%s:%d %s %s", filepath.Base(d.File), d.Line, d.Code, d.Message))
			}
			switch {
			case tc.diag == "" && len(diags) > 0:
				t.Errorf("LoadDirs(%q) diagnostics: got %q, want none", src, diags)
			case tc.diag != "":
				line, rest, _ := strings.Cut(tc.diag, " ")
				code, frag, _ := strings.Cut(rest, " ")
				if len(diags) != 1 || !strings.HasPrefix(diags[0], "main.tf:"+line+" "+code+" ") || !strings.Contains(diags[0], frag) {
					t.Errorf("LoadDirs(%q) diagnostics: got %q, want one main.tf:%s %s containing %q", src, diags, line, code, frag)
				}
			}
		})
	}
}

// TestUnknownPrimary: a replica whose primary is not in the configuration.
// An aws_kms_replica_external_key has imported material whatever its
// primary; an aws_kms_replica_key's rotation, spec and usage are unknown.
func TestUnknownPrimary(t *testing.T) {
	t.Parallel()
	const arn = `"arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab"`
	tests := []struct {
		name    string
		typ     string
		primary string
		status  check.Status
		reason  string
		unres   []string
	}{
		{"external replica of a literal ARN", typeReplicaExternalKey, arn,
			check.StatusManual, check.ReasonImportedKeyMaterial, nil},
		{"external replica of a variable without default", typeReplicaExternalKey, "var.primary",
			check.StatusManual, check.ReasonImportedKeyMaterial, nil},
		{"replica of a literal ARN", typeReplicaKey, arn,
			check.StatusManual, check.ReasonUnresolvedValue, []string{kmskey.AttrRotation, kmskey.AttrSpec, kmskey.AttrUsage}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := fmt.Sprintf("variable \"primary\" { type = string }\nresource %q \"r\" {\n  primary_key_arn = %s\n}\n", tc.typ, tc.primary)
			res := LoadDirs([]string{writeTree(t, map[string]string{"main.tf": src})}, Options{})
			if len(res.Keys) != 1 || len(res.Diags) != 0 {
				t.Fatalf("LoadDirs(%q): got %d keys and diagnostics %+v, want 1 key and none", src, len(res.Keys), res.Diags)
			}
			k := res.Keys[0]
			f := check.Evaluate(k, policy)
			if f.Status != tc.status || f.Reason != tc.reason || !slices.Equal(k.Unresolved, tc.unres) || !k.IsReplica() {
				t.Errorf("LoadDirs(%q): got %s %s (%s), unresolved %v, replica %v; want %s %s, unresolved %v, a replica",
					src, f.Status, f.Reason, f.Message, k.Unresolved, k.IsReplica(), tc.status, tc.reason, tc.unres)
			}
		})
	}
}
