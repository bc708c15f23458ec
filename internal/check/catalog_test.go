package check

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

// reasonCodes are every Reason* constant of check.go.
var reasonCodes = []string{
	ReasonRotationEnabled, ReasonRotationDisabled, ReasonPeriodExceedsPolicy, ReasonRotationOverdue,
	ReasonImportedKeyMaterial, ReasonCustomKeyStore, ReasonAsymmetricKey, ReasonHMACKey, ReasonAWSManagedKey,
	ReasonKeyDisabled, ReasonPendingDeletion, ReasonPendingReplicaDeletion, ReasonPendingImport,
	ReasonKeyUnavailable, ReasonKeyCreating, ReasonKeyUpdating, ReasonUnresolvedValue, ReasonAccessDenied,
	ReasonThrottled, ReasonAPIError,
}

func TestCatalogHasEveryReason(t *testing.T) {
	rule := Catalog[CheckID]
	if rule == nil || rule.ID != CheckID || rule.Title == "" || rule.Description == "" || len(rule.Risk) != 4 || rule.Severity == "" || len(rule.Compliance) == 0 {
		t.Fatalf("Catalog[%q]: got %+v, want every field filled", CheckID, rule)
	}
	names := map[string]string{}
	for _, code := range reasonCodes {
		e := rule.Reason(code, 365)
		if e.Name == "" || e.Name == "KMSKeyRotation" || e.Title == "" || e.Description == "" || e.Help == "" || e.HelpMarkdown == "" || len(e.Tags) == 0 || e.Action == "" {
			t.Errorf("Reason(%q): got %+v, want its own entry with every field filled", code, e)
		}
		if other, dup := names[e.Name]; dup {
			t.Errorf("Reason(%q): got name %s, also %q's", code, e.Name, other)
		}
		names[e.Name] = code
	}
	if e := rule.Reason("some_new_reason", 0); e.Name != "KMSKeyRotation" || !strings.Contains(e.Description, "some_new_reason") {
		t.Errorf("an unknown reason: got %+v, want the fallback entry naming it", e)
	}
}

// TestFixForms: the seed's four forms, filled for a key.
func TestFixForms(t *testing.T) {
	fx := EnableFix("key k1", "k1", "eu-west-1", 180)
	want := Fix{
		Console:        `In Region eu-west-1: Key Management Service > Customer managed keys > key k1 > Key rotation > Edit > check "Automatically rotate this KMS key", set the rotation period to 180 days > Save`,
		CLI:            "aws kms enable-key-rotation --key-id k1 --rotation-period-in-days 180 --region eu-west-1",
		CloudFormation: []string{"EnableKeyRotation: true", "RotationPeriodInDays: 180"},
		Terraform:      []string{"enable_key_rotation = true", "rotation_period_in_days = 180"},
	}
	if !reflect.DeepEqual(fx, want) {
		t.Errorf("EnableFix: got %+v, want %+v", fx, want)
	}
	if got := RotateNowFix("key k1", "k1", "").CLI; got != "aws kms rotate-key-on-demand --key-id k1" {
		t.Errorf("RotateNowFix without a Region: got %q", got)
	}
	f := Evaluate(kmskey.Key{Source: kmskey.SourceAWS, AccountID: "111122223333", Region: "eu-west-1", KeyID: "k1",
		ARN: "arn:aws:kms:eu-west-1:111122223333:key/k1", Manager: kmskey.ManagerCustomer, Spec: kmskey.SpecSymmetricDefault,
		Origin: kmskey.OriginAWSKMS, State: kmskey.StateEnabled, Rotation: kmskey.Rotation{Enabled: kmskey.False}}, DefaultPolicy(time.Now()))
	if !strings.HasPrefix(f.Remediation.Console, "In Region eu-west-1: ") || !strings.Contains(f.Remediation.Console, "> key k1 >") {
		t.Errorf("live FAIL: got console %q, want the steps for key k1 in eu-west-1", f.Remediation.Console)
	}
}

func TestFindingID(t *testing.T) {
	id := FindingID("aws", "111122223333", "eu-west-1", "k1", CheckID)
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id) {
		t.Fatalf("FindingID: got %q, want 32 hex digits", id)
	}
	// The ID is a contract: a report's IDs must match the next run's. The
	// value is printf '%s\0%s\0%s\0%s\0%s' aws 111122223333 eu-west-1 k1
	// kms_cmk_rotation_enabled | sha256sum, cut to 32 digits.
	if id != "f3d58ac2902c60585eb5e84cbf0c1049" {
		t.Errorf("FindingID: got %s, want the value of earlier runs", id)
	}
	for _, other := range []string{
		FindingID("aws-us-gov", "111122223333", "eu-west-1", "k1", CheckID),
		FindingID("aws", "111122223334", "eu-west-1", "k1", CheckID),
		FindingID("aws", "111122223333", "eu-west-2", "k1", CheckID),
		FindingID("aws", "111122223333", "eu-west-1", "k2", CheckID),
		FindingID("aws", "111122223333", "eu-west-1", "k1", "other_rule"),
		IaCFindingID("infra/main.tf", "aws_kms_key.k1", CheckID),
	} {
		if other == id {
			t.Errorf("got the same ID %s for a different key or rule", id)
		}
	}
	if IaCFindingID("infra/./main.tf", "aws_kms_key.a", CheckID) != IaCFindingID("infra/main.tf", "aws_kms_key.a", CheckID) {
		t.Error("IaCFindingID: got different IDs for the same file spelled two ways")
	}
}

// TestEvaluateIDAndSharedCompliance: Evaluate sets the stable ID (the
// partition from the ARN, or from the Region) whatever the status, and
// every finding points at the rule's one compliance map.
func TestEvaluateIDAndSharedCompliance(t *testing.T) {
	p := DefaultPolicy(time.Now())
	k := kmskey.Key{Source: kmskey.SourceAWS, AccountID: "111122223333", Region: "us-gov-west-1", KeyID: "k1",
		ARN: "arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/k1", Manager: kmskey.ManagerCustomer,
		Spec: kmskey.SpecSymmetricDefault, Origin: kmskey.OriginAWSKMS, State: kmskey.StateEnabled,
		Rotation: kmskey.Rotation{Enabled: kmskey.False}}
	fail := Evaluate(k, p)
	k.Rotation = kmskey.Rotation{Enabled: kmskey.True, PeriodDays: 365}
	pass := Evaluate(k, p)
	k.ARN = ""
	noARN := Evaluate(k, p)
	want := FindingID("aws-us-gov", "111122223333", "us-gov-west-1", "k1", CheckID)
	if fail.ID != want || pass.ID != want || noARN.ID != want {
		t.Errorf("got IDs %s, %s, %s; want %s for the key whatever its status and ARN", fail.ID, pass.ID, noARN.ID, want)
	}
	if reflect.ValueOf(fail.Compliance).UnsafePointer() != reflect.ValueOf(RotationRule.Compliance).UnsafePointer() ||
		reflect.ValueOf(pass.Compliance).UnsafePointer() != reflect.ValueOf(RotationRule.Compliance).UnsafePointer() {
		t.Error("Evaluate: got a compliance map of the finding's own, want the rule's shared map")
	}
	iac := Evaluate(kmskey.Key{Source: kmskey.SourceTerraform, File: "main.tf", StartLine: 3, Resource: "aws_kms_key.a"}, p)
	if iac.ID != IaCFindingID("main.tf", "aws_kms_key.a", CheckID) {
		t.Errorf("IaC finding: got ID %s, want IaCFindingID of its file and resource", iac.ID)
	}
}
