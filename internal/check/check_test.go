package check

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

var now = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// sym is a customer managed symmetric AWS_KMS key, Enabled, rotating yearly
// and due in the future: the PASS baseline each row changes.
func sym() kmskey.Key {
	return kmskey.Key{
		Source:    kmskey.SourceAWS,
		AccountID: "123456789012",
		Region:    "us-east-1",
		KeyID:     "1234abcd-12ab-34cd-56ef-1234567890ab",
		ARN:       "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		Manager:   kmskey.ManagerCustomer,
		Spec:      kmskey.SpecSymmetricDefault,
		Usage:     kmskey.UsageEncryptDecrypt,
		Origin:    kmskey.OriginAWSKMS,
		State:     kmskey.StateEnabled,
		Rotation: kmskey.Rotation{
			Enabled:          kmskey.True,
			PeriodDays:       365,
			NextRotationDate: now.Add(100 * 24 * time.Hour),
		},
	}
}

func with(f func(k *kmskey.Key)) kmskey.Key {
	k := sym()
	f(&k)
	return k
}

func TestEvaluate(t *testing.T) {
	t.Parallel()
	policy := DefaultPolicy(now)
	tests := []struct {
		name   string
		key    kmskey.Key
		policy *Policy
		status Status
		reason string
	}{
		{"rotating within policy", sym(), nil, StatusPass, ReasonRotationEnabled},
		{"rotating, period 90", with(func(k *kmskey.Key) { k.Rotation.PeriodDays = 90 }), nil, StatusPass, ReasonRotationEnabled},
		{"rotation off", with(func(k *kmskey.Key) { k.Rotation = kmskey.Rotation{Enabled: kmskey.False} }), nil, StatusFail, ReasonRotationDisabled},
		{"period over policy", with(func(k *kmskey.Key) { k.Rotation.PeriodDays = 730 }), nil, StatusFail, ReasonPeriodExceedsPolicy},
		{"period 730 with no maximum", with(func(k *kmskey.Key) { k.Rotation.PeriodDays = 730 }), &Policy{Now: now, GraceDays: 7}, StatusPass, ReasonRotationEnabled},
		{"period over a 180-day policy", sym(), &Policy{MaxRotationDays: 180, Now: now}, StatusFail, ReasonPeriodExceedsPolicy},
		{"next rotation past grace", with(func(k *kmskey.Key) { k.Rotation.NextRotationDate = now.Add(-8 * 24 * time.Hour) }), nil, StatusFail, ReasonRotationOverdue},
		{"next rotation within grace", with(func(k *kmskey.Key) { k.Rotation.NextRotationDate = now.Add(-6 * 24 * time.Hour) }), nil, StatusPass, ReasonRotationEnabled},
		{"last rotation older than period plus grace", with(func(k *kmskey.Key) {
			k.Rotation.NextRotationDate = time.Time{}
			k.Rotation.LastRotationDate = now.Add(-400 * 24 * time.Hour)
		}), nil, StatusFail, ReasonRotationOverdue},
		{"last rotation recent", with(func(k *kmskey.Key) {
			k.Rotation.NextRotationDate = time.Time{}
			k.Rotation.LastRotationDate = now.Add(-300 * 24 * time.Hour)
		}), nil, StatusPass, ReasonRotationEnabled},
		{"imported material", with(func(k *kmskey.Key) { k.Origin = kmskey.OriginExternal; k.Rotation = kmskey.Rotation{} }), nil, StatusManual, ReasonImportedKeyMaterial},
		{"cloudhsm store", with(func(k *kmskey.Key) {
			k.Origin = kmskey.OriginAWSCloudHSM
			k.CustomKeyStoreID = "cks-1"
			k.Rotation = kmskey.Rotation{}
		}), nil, StatusSkipped, ReasonCustomKeyStore},
		{"external key store", with(func(k *kmskey.Key) { k.Origin = kmskey.OriginExternalKeyStore; k.Rotation = kmskey.Rotation{} }), nil, StatusSkipped, ReasonCustomKeyStore},
		{"RSA encrypt", with(func(k *kmskey.Key) { k.Spec = "RSA_2048"; k.Rotation = kmskey.Rotation{Enabled: kmskey.False} }), nil, StatusSkipped, ReasonAsymmetricKey},
		{"ECC sign", with(func(k *kmskey.Key) { k.Spec = "ECC_NIST_P256"; k.Usage = "SIGN_VERIFY" }), nil, StatusSkipped, ReasonAsymmetricKey},
		{"ML-DSA", with(func(k *kmskey.Key) { k.Spec = "ML_DSA_65"; k.Usage = "SIGN_VERIFY" }), nil, StatusSkipped, ReasonAsymmetricKey},
		{"SM2", with(func(k *kmskey.Key) { k.Spec = "SM2" }), nil, StatusSkipped, ReasonAsymmetricKey},
		{"HMAC", with(func(k *kmskey.Key) { k.Spec = "HMAC_256"; k.Usage = "GENERATE_VERIFY_MAC" }), nil, StatusSkipped, ReasonHMACKey},
		{"AWS managed", with(func(k *kmskey.Key) { k.Manager = kmskey.ManagerAWS }), nil, StatusSkipped, ReasonAWSManagedKey},
		{"disabled", with(func(k *kmskey.Key) { k.State = kmskey.StateDisabled; k.Rotation.Enabled = kmskey.False }), nil, StatusSkipped, ReasonKeyDisabled},
		{"disabled, included, not rotating", with(func(k *kmskey.Key) {
			k.State = kmskey.StateDisabled
			k.Rotation = kmskey.Rotation{Enabled: kmskey.False}
		}), &Policy{MaxRotationDays: 365, IncludeDisabled: true, Now: now}, StatusFail, ReasonRotationDisabled},
		{"disabled, included, rotating", with(func(k *kmskey.Key) { k.State = kmskey.StateDisabled }), &Policy{MaxRotationDays: 365, IncludeDisabled: true, Now: now}, StatusPass, ReasonRotationEnabled},
		{"pending deletion", with(func(k *kmskey.Key) {
			k.State = kmskey.StatePendingDeletion
			k.Rotation = kmskey.Rotation{Enabled: kmskey.False}
		}), nil, StatusSkipped, ReasonPendingDeletion},
		{"pending replica deletion", with(func(k *kmskey.Key) { k.State = kmskey.StatePendingReplicaDeletion }), nil, StatusSkipped, ReasonPendingReplicaDeletion},
		{"pending import", with(func(k *kmskey.Key) { k.State = kmskey.StatePendingImport; k.Origin = kmskey.OriginExternal }), nil, StatusSkipped, ReasonPendingImport},
		{"unavailable", with(func(k *kmskey.Key) { k.State = kmskey.StateUnavailable; k.Origin = kmskey.OriginAWSCloudHSM }), nil, StatusSkipped, ReasonKeyUnavailable},
		{"creating", with(func(k *kmskey.Key) { k.State = kmskey.StateCreating }), nil, StatusSkipped, ReasonKeyCreating},
		{"updating", with(func(k *kmskey.Key) { k.State = kmskey.StateUpdating }), nil, StatusSkipped, ReasonKeyUpdating},
		{"replica not rotating", with(func(k *kmskey.Key) {
			k.MultiRegion, k.MultiRegionType = true, kmskey.MultiRegionReplica
			k.PrimaryARN, k.PrimaryRegion = "arn:aws:kms:eu-west-1:123456789012:key/mrk-1", "eu-west-1"
			k.Rotation = kmskey.Rotation{Enabled: kmskey.False}
		}), nil, StatusFail, ReasonRotationDisabled},
		{"replica of a primary pending replica deletion", with(func(k *kmskey.Key) {
			k.MultiRegion, k.MultiRegionType = true, kmskey.MultiRegionReplica
			k.PrimaryARN, k.PrimaryRegion, k.PrimaryState = "arn:aws:kms:eu-west-1:123456789012:key/mrk-1", "eu-west-1", kmskey.StatePendingReplicaDeletion
			k.Rotation = kmskey.Rotation{Enabled: kmskey.False}
		}), nil, StatusSkipped, ReasonPendingReplicaDeletion},
		{"replica of a disabled primary", with(func(k *kmskey.Key) {
			k.MultiRegion, k.MultiRegionType = true, kmskey.MultiRegionReplica
			k.PrimaryARN, k.PrimaryRegion, k.PrimaryState = "arn:aws:kms:eu-west-1:123456789012:key/mrk-1", "eu-west-1", kmskey.StateDisabled
		}), nil, StatusSkipped, ReasonKeyDisabled},
		{"replica of an enabled primary", with(func(k *kmskey.Key) {
			k.MultiRegion, k.MultiRegionType = true, kmskey.MultiRegionReplica
			k.PrimaryARN, k.PrimaryRegion, k.PrimaryState = "arn:aws:kms:eu-west-1:123456789012:key/mrk-1", "eu-west-1", kmskey.StateEnabled
			k.Rotation = kmskey.Rotation{Enabled: kmskey.False}
		}), nil, StatusFail, ReasonRotationDisabled},
		{"replica rotating", with(func(k *kmskey.Key) {
			k.MultiRegion, k.MultiRegionType = true, kmskey.MultiRegionReplica
			k.PrimaryARN, k.PrimaryRegion = "arn:aws:kms:eu-west-1:123456789012:key/mrk-1", "eu-west-1"
		}), nil, StatusPass, ReasonRotationEnabled},
		{"access denied", with(func(k *kmskey.Key) {
			k.Err = &kmskey.Error{Operation: "GetKeyRotationStatus", Code: "AccessDeniedException"}
			k.Rotation = kmskey.Rotation{}
		}), nil, StatusError, ReasonAccessDenied},
		{"throttled", with(func(k *kmskey.Key) { k.Err = &kmskey.Error{Operation: "DescribeKey", Code: "ThrottlingException"} }), nil, StatusError, ReasonThrottled},
		{"server error", with(func(k *kmskey.Key) { k.Err = &kmskey.Error{Operation: "DescribeKey", Code: "KMSInternalException"} }), nil, StatusError, ReasonAPIError},
		{"error on an AWS managed key is still an error", with(func(k *kmskey.Key) {
			k.Manager = kmskey.ManagerAWS
			k.Err = &kmskey.Error{Operation: "GetKeyRotationStatus", Code: "AccessDeniedException"}
		}), nil, StatusError, ReasonAccessDenied},
		{"rotation unknown without error", with(func(k *kmskey.Key) { k.Rotation = kmskey.Rotation{} }), nil, StatusManual, ReasonUnresolvedValue},
		{"IaC rotation unresolved", with(func(k *kmskey.Key) { k.Unresolved = []string{kmskey.AttrRotation} }), nil, StatusManual, ReasonUnresolvedValue},
		{"IaC period unresolved", with(func(k *kmskey.Key) { k.Unresolved = []string{kmskey.AttrPeriod} }), nil, StatusManual, ReasonUnresolvedValue},
		{"IaC period unresolved but rotation off", with(func(k *kmskey.Key) {
			k.Rotation.Enabled = kmskey.False
			k.Unresolved = []string{kmskey.AttrPeriod}
		}), nil, StatusFail, ReasonRotationDisabled},
		{"IaC spec unresolved", with(func(k *kmskey.Key) { k.Unresolved = []string{kmskey.AttrSpec} }), nil, StatusManual, ReasonUnresolvedValue},
		{"IaC rotation unresolved on RSA", with(func(k *kmskey.Key) { k.Spec = "RSA_4096"; k.Unresolved = []string{kmskey.AttrRotation} }), nil, StatusSkipped, ReasonAsymmetricKey},
		{"IaC state unresolved on HMAC", with(func(k *kmskey.Key) { k.Spec = "HMAC_512"; k.Unresolved = []string{kmskey.AttrState} }), nil, StatusSkipped, ReasonHMACKey},
		{"IaC state unresolved on symmetric", with(func(k *kmskey.Key) { k.Unresolved = []string{kmskey.AttrState} }), nil, StatusManual, ReasonUnresolvedValue},
		{"IaC store known, origin unresolved", with(func(k *kmskey.Key) { k.CustomKeyStoreID = "cks-1234"; k.Unresolved = []string{kmskey.AttrOrigin} }), nil, StatusSkipped, ReasonCustomKeyStore},
		{"IaC store unresolved", with(func(k *kmskey.Key) {
			k.CustomKeyStoreID = "var.store"
			k.Unresolved = []string{kmskey.AttrCustomKeyStore}
		}), nil, StatusManual, ReasonUnresolvedValue},
		{"IaC replica of an unknown primary", with(func(k *kmskey.Key) {
			k.MultiRegion, k.MultiRegionType = true, kmskey.MultiRegionReplica
			k.PrimaryARN = "arn:aws:kms:us-east-1:111122223333:key/mrk-1"
			k.Unresolved = []string{kmskey.AttrRotation, kmskey.AttrSpec, kmskey.AttrUsage}
		}), nil, StatusManual, ReasonUnresolvedValue},
		{"IaC origin unresolved", with(func(k *kmskey.Key) { k.Unresolved = []string{kmskey.AttrOrigin} }), nil, StatusManual, ReasonUnresolvedValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := policy
			if tt.policy != nil {
				p = *tt.policy
			}
			f := Evaluate(tt.key, p)
			if f.Status != tt.status || f.Reason != tt.reason {
				t.Errorf("Evaluate(%s) = %s %s (%q), want %s %s", tt.name, f.Status, f.Reason, f.Message, tt.status, tt.reason)
			}
			if f.CheckID != CheckID || f.Message == "" || f.Severity == "" || len(f.Compliance) == 0 {
				t.Errorf("Evaluate(%s): incomplete finding %+v", tt.name, f)
			}
		})
	}
}

func TestReplicaRemediationTargetsPrimary(t *testing.T) {
	t.Parallel()
	k := with(func(k *kmskey.Key) {
		k.Region = "us-west-2"
		k.KeyID = "mrk-1234abcd12ab34cd56ef1234567890ab"
		k.ARN = "arn:aws:kms:us-west-2:123456789012:key/" + k.KeyID
		k.MultiRegion, k.MultiRegionType = true, kmskey.MultiRegionReplica
		k.PrimaryARN, k.PrimaryRegion = "arn:aws:kms:eu-west-1:123456789012:key/"+k.KeyID, "eu-west-1"
		k.Rotation = kmskey.Rotation{Enabled: kmskey.False}
	})
	f := Evaluate(k, DefaultPolicy(now))
	r := f.Remediation
	if r.TargetKeyARN != k.PrimaryARN || r.TargetRegion != "eu-west-1" {
		t.Errorf("replica remediation target = %s in %s, want %s in eu-west-1", r.TargetKeyARN, r.TargetRegion, k.PrimaryARN)
	}
	want := "aws kms enable-key-rotation --key-id " + k.PrimaryARN + " --region eu-west-1"
	if r.CLI != want {
		t.Errorf("replica CLI = %q, want %q", r.CLI, want)
	}
	if !strings.Contains(f.Message, k.PrimaryARN) {
		t.Errorf("replica message %q does not name the primary %s", f.Message, k.PrimaryARN)
	}
	if f.Key.PrimaryKeyARN != k.PrimaryARN || f.Key.MultiRegionType != "REPLICA" {
		t.Errorf("replica key facts = %+v", f.Key)
	}
}

func TestRemediationCLI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		key  kmskey.Key
		want string
	}{
		{"rotation off", with(func(k *kmskey.Key) { k.Rotation = kmskey.Rotation{Enabled: kmskey.False} }),
			"aws kms enable-key-rotation --key-id 1234abcd-12ab-34cd-56ef-1234567890ab --region us-east-1"},
		{"period too long", with(func(k *kmskey.Key) { k.Rotation.PeriodDays = 730 }),
			"aws kms enable-key-rotation --key-id 1234abcd-12ab-34cd-56ef-1234567890ab --rotation-period-in-days 365 --region us-east-1"},
		{"pass", sym(), ""},
		{"overdue", with(func(k *kmskey.Key) { k.Rotation.NextRotationDate = now.Add(-30 * 24 * time.Hour) }),
			"aws kms rotate-key-on-demand --key-id 1234abcd-12ab-34cd-56ef-1234567890ab --region us-east-1"},
	}
	for _, tt := range tests {
		f := Evaluate(tt.key, DefaultPolicy(now))
		if f.Remediation.CLI != tt.want {
			t.Errorf("%s: CLI = %q, want %q", tt.name, f.Remediation.CLI, tt.want)
		}
	}
	// A policy stricter than AWS's default period: enabling rotation must
	// also set the period, or the key would still fail.
	strict := Policy{MaxRotationDays: 180, Now: now}
	off := with(func(k *kmskey.Key) { k.Rotation = kmskey.Rotation{Enabled: kmskey.False} })
	f := Evaluate(off, strict)
	if want := "aws kms enable-key-rotation --key-id 1234abcd-12ab-34cd-56ef-1234567890ab --rotation-period-in-days 180 --region us-east-1"; f.Remediation.CLI != want {
		t.Errorf("strict policy: CLI = %q, want %q", f.Remediation.CLI, want)
	}
	off.Source, off.File, off.Resource = kmskey.SourceTerraform, "main.tf", "aws_kms_key.k"
	f = Evaluate(off, strict)
	if want := "enable_key_rotation = true\nrotation_period_in_days = 180"; f.Remediation.Terraform != want {
		t.Errorf("strict policy: Terraform = %q, want %q", f.Remediation.Terraform, want)
	}
}

func TestIaCRemediation(t *testing.T) {
	t.Parallel()
	k := kmskey.Key{
		Source: kmskey.SourceTerraform, File: "main.tf", StartLine: 3, EndLine: 6, Resource: "aws_kms_key.main",
		Manager: kmskey.ManagerCustomer, Spec: kmskey.SpecSymmetricDefault, Origin: kmskey.OriginAWSKMS, State: kmskey.StateEnabled,
		Rotation: kmskey.Rotation{Enabled: kmskey.False},
	}
	f := Evaluate(k, DefaultPolicy(now))
	if f.Status != StatusFail || f.Remediation.Terraform != "enable_key_rotation = true" || f.Remediation.CLI != "" {
		t.Errorf("IaC FAIL remediation = %+v (status %s), want terraform fix and no CLI", f.Remediation, f.Status)
	}
	if f.File != "main.tf" || f.StartLine != 3 || f.EndLine != 6 || f.Resource != "aws_kms_key.main" || f.KeyARN != "" {
		t.Errorf("IaC finding identity = %s:%d-%d %s arn %q", f.File, f.StartLine, f.EndLine, f.Resource, f.KeyARN)
	}
}

func TestPolicyValidate(t *testing.T) {
	t.Parallel()
	for _, p := range []Policy{{MaxRotationDays: 89}, {MaxRotationDays: 2561}, {GraceDays: -1}} {
		if p.Validate() == nil {
			t.Errorf("Validate(%+v) = nil, want an error", p)
		}
	}
	for _, p := range []Policy{{}, {MaxRotationDays: 90}, {MaxRotationDays: 2560, GraceDays: 30}} {
		if err := p.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v, want nil", p, err)
		}
	}
}

func TestSortAndSummarize(t *testing.T) {
	t.Parallel()
	fs := []Finding{
		{AccountID: "2", Region: "us-east-1", KeyID: "b", Status: StatusPass},
		{AccountID: "1", Region: "us-west-2", KeyID: "a", Status: StatusFail, Muted: true},
		{AccountID: "1", Region: "us-east-1", KeyID: "c", Status: StatusFail},
		{AccountID: "1", Region: "us-east-1", KeyID: "a", Status: StatusError},
	}
	Sort(fs)
	var got []string
	for _, f := range fs {
		got = append(got, f.AccountID+"/"+f.Region+"/"+f.KeyID)
	}
	want := "1/us-east-1/a 1/us-east-1/c 1/us-west-2/a 2/us-east-1/b"
	if strings.Join(got, " ") != want {
		t.Errorf("Sort = %v, want %s", got, want)
	}
	s := Summarize(fs)
	if s != (Summary{Total: 4, Pass: 1, Fail: 1, Error: 1, Muted: 1}) {
		t.Errorf("Summarize = %+v", s)
	}
}

// TestFindingJSONHasEveryField checks the contract of DESIGN.md: the
// rotation and key objects carry every field, null when unknown.
func TestFindingJSONHasEveryField(t *testing.T) {
	t.Parallel()
	f := Evaluate(with(func(k *kmskey.Key) { k.Rotation = kmskey.Rotation{Enabled: kmskey.False} }), DefaultPolicy(now))
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]map[string]any
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	got = map[string]map[string]any{}
	for _, obj := range []string{"rotation", "key"} {
		m := map[string]any{}
		if err := json.Unmarshal(raw[obj], &m); err != nil {
			t.Fatalf("%s: %v", obj, err)
		}
		got[obj] = m
	}
	for obj, fields := range map[string][]string{
		"rotation": {"enabled", "period_days", "next_rotation_date", "last_rotation_date"},
		"key":      {"manager", "spec", "usage", "origin", "state", "multi_region_type", "primary_key_arn", "custom_key_store_id"},
	} {
		for _, name := range fields {
			if _, ok := got[obj][name]; !ok {
				t.Errorf("finding JSON %s has no %q: %s", obj, name, raw[obj])
			}
		}
	}
	if got["rotation"]["period_days"] != nil || got["key"]["multi_region_type"] != nil || got["key"]["spec"] != "SYMMETRIC_DEFAULT" {
		t.Errorf("finding JSON: got rotation %v key %v, want null period and multi_region_type, spec SYMMETRIC_DEFAULT", got["rotation"], got["key"])
	}
	for _, name := range []string{"status", "reason", "message", "severity", "check_id", "account_id", "region", "key_id", "key_arn", "aliases", "remediation", "compliance", "muted"} {
		if _, ok := raw[name]; !ok {
			t.Errorf("finding JSON has no %q", name)
		}
	}
}
