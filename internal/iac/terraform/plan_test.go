package terraform

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kmsrotor/kmsrotor/internal/check"
	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

// planKey is what a plan gives for a bare aws_kms_key: tfKey with the plan
// source and the line where the address first appears.
func planKey(file, addr string, line int, opts ...opt) kmskey.Key {
	k := tfKey(file, addr, line, line, opts...)
	k.Source = kmskey.SourceTerraformPlan
	return k
}

func TestLoadPlan(t *testing.T) {
	t.Parallel()
	const legacyARN = "arn:aws:kms:eu-west-1:111122223333:key/mrk-0123456789abcdef0123456789abcdef"
	plan := filepath.Join("testdata", "plan", "plan.json")
	stateDoc := filepath.Join("testdata", "plan", "state.json")
	tests := []struct {
		file string
		keys []expect
	}{
		{plan, []expect{
			// rotation_period_in_days is unknown at create but not configured: AWS's default.
			{planKey(plan, "aws_kms_key.main", 8, desc("main"), rotates(365)), pass, check.ReasonRotationEnabled},
			{planKey(plan, "aws_kms_key.legacy", 32, desc("existing"), primary(), func(k *kmskey.Key) {
				k.ARN, k.KeyID = legacyARN, "mrk-0123456789abcdef0123456789abcdef"
			}), fail, check.ReasonRotationDisabled},
			// No configuration entry: multi_region may be configured, so it is unknown.
			{planKey(plan, "aws_kms_key.slow", 61, rotates(730), unresolved(kmskey.AttrMultiRegion)), fail, check.ReasonPeriodExceedsPolicy},
			{planKey(plan, "aws_kms_key.hmac", 86, spec("HMAC_256", "GENERATE_VERIFY_MAC"), unresolved(kmskey.AttrMultiRegion)), skipped, check.ReasonHMACKey},
			{planKey(plan, "aws_kms_key.primary", 110, primary(), rotates(365)), pass, check.ReasonRotationEnabled},
			// The primary's ARN is unknown until apply: found through the configuration's reference.
			{planKey(plan, "aws_kms_replica_key.replica", 135, replicaOf("aws_kms_key.primary"), rotates(365)), pass, check.ReasonRotationEnabled},
			// The primary's ARN is known: found by it.
			{planKey(plan, "aws_kms_replica_key.legacy_replica", 150, replicaOf("aws_kms_key.legacy"), func(k *kmskey.Key) {
				k.PrimaryARN, k.PrimaryRegion = legacyARN, "eu-west-1"
			}), fail, check.ReasonRotationDisabled},
			{planKey(plan, "aws_kms_key.from_data", 165, rotation(kmskey.Unknown), unresolved(kmskey.AttrRotation)), manual, check.ReasonUnresolvedValue},
			{planKey(plan, "aws_kms_external_key.imported", 188, origin(kmskey.OriginExternal), state(kmskey.StateDisabled), spec(kmskey.SpecSymmetricDefault, ""), unresolved(kmskey.AttrUsage)), skipped, check.ReasonKeyDisabled},
			{planKey(plan, `module.kms[0].aws_kms_key.this["a"]`, 217), fail, check.ReasonRotationDisabled},
		}},
		{stateDoc, []expect{
			{planKey(stateDoc, "aws_kms_key.live", 1, rotates(365), func(k *kmskey.Key) {
				k.ARN, k.KeyID = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", "1234abcd-12ab-34cd-56ef-1234567890ab"
			}), pass, check.ReasonRotationEnabled},
			// The primary is elsewhere: the replica's own recorded rotation
			// status stands, but its period is not recorded on a replica.
			{planKey(stateDoc, "aws_kms_replica_key.far", 1, replicaOf(""), rotation(kmskey.True), unresolved(kmskey.AttrPeriod), func(k *kmskey.Key) {
				k.PrimaryARN, k.PrimaryRegion = "arn:aws:kms:us-west-2:111122223333:key/mrk-ffff", "us-west-2"
			}), manual, check.ReasonUnresolvedValue},
		}},
	}
	for _, tc := range tests {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if !IsPlan(src) {
				t.Fatalf("IsPlan(%s) = false, want true", tc.file)
			}
			checkKeys(t, "LoadPlan("+tc.file+")", LoadPlan(tc.file, src), tc.keys, nil)
		})
	}
}

func TestIsPlan(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want bool
	}{
		{"plan", `{"format_version":"1.2","terraform_version":"1.9.5","planned_values":{}}`, true},
		{"state", "\ufeff\n {\"format_version\":\"1.0\",\"terraform_version\":\"1.9.5\",\"values\":{}}", true},
		{"empty state", `{"format_version":"1.0"}`, true},
		{"CloudFormation JSON", `{"AWSTemplateFormatVersion":"2010-09-09","Resources":{"K":{"Type":"AWS::KMS::Key"}}}`, false},
		{"CloudFormation with a format_version parameter", `{"Parameters":{"format_version":{"Type":"String"}},"Resources":{}}`, false},
		{"tfvars JSON", `{"rotate": true}`, false},
		{"HCL JSON configuration", `{"resource":{"aws_kms_key":{"k":{}}}}`, false},
		{"an array", `[{"format_version":"1.0"}]`, false},
		{"not JSON", `format_version = "1.0"`, false},
		{"truncated", `{"format_version":"1.0","terraform_version":`, false},
		{"format_version not a string", `{"format_version":1,"terraform_version":"1.9.5"}`, false},
		{"empty", ``, false},
	}
	for _, tc := range tests {
		if got := IsPlan([]byte(tc.src)); got != tc.want {
			t.Errorf("IsPlan(%s: %q) = %v, want %v", tc.name, tc.src, got, tc.want)
		}
	}
}

func TestLoadPlanErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		line int
	}{
		{"syntax error on line 3", "{\n\"format_version\": \"1.2\",\n\"planned_values\": {,}\n}", 3},
		{"wrong type", `{"format_version":"1.2","planned_values":{"root_module":{"resources":"nope"}}}`, 1},
	}
	for _, tc := range tests {
		res := LoadPlan("plan.json", []byte(tc.src))
		if len(res.Keys) != 0 || len(res.Diags) != 1 || res.Diags[0].Line != tc.line || res.Diags[0].File != "plan.json" {
			t.Errorf("LoadPlan(%s) = %+v, want no keys and one diagnostic at plan.json:%d", tc.name, res, tc.line)
		}
	}
}
