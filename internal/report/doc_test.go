package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kmsrotor/kmsrotor/internal/check"
	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// now is the fixed evaluation time of every test document.
var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

const (
	account = "111122223333"
	primary = "arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab"
)

func arn(region, id string) string {
	return "arn:aws:kms:" + region + ":" + account + ":key/" + id
}

// liveKey is a customer symmetric key with AWS_KMS material, Enabled, in
// eu-west-1, that the cases below change.
func liveKey(id string, mod func(k *kmskey.Key)) kmskey.Key {
	k := kmskey.Key{
		Source:    kmskey.SourceAWS,
		AccountID: account,
		Region:    "eu-west-1",
		KeyID:     id,
		ARN:       arn("eu-west-1", id),
		Manager:   kmskey.ManagerCustomer,
		Spec:      kmskey.SpecSymmetricDefault,
		Usage:     kmskey.UsageEncryptDecrypt,
		Origin:    kmskey.OriginAWSKMS,
		State:     kmskey.StateEnabled,
		Rotation:  kmskey.Rotation{Enabled: kmskey.True, PeriodDays: 365, NextRotationDate: now.AddDate(0, 3, 0)},
	}
	if mod != nil {
		mod(&k)
	}
	if k.ARN != "" && k.Region != "eu-west-1" {
		k.ARN = arn(k.Region, k.KeyID)
	}
	return k
}

// liveDoc is a live scan with every status, a replica, a muted FAIL and a
// Region that could not be listed.
func liveDoc() *Document {
	policy := check.DefaultPolicy(now)
	keys := []kmskey.Key{
		liveKey("0b7d2a3c-1111-4a5b-8c9d-000000000001", func(k *kmskey.Key) { k.Aliases = []string{"alias/payments"} }),
		liveKey("0b7d2a3c-1111-4a5b-8c9d-000000000002", func(k *kmskey.Key) {
			k.Aliases = []string{"alias/legacy", "alias/old"}
			k.Rotation = kmskey.Rotation{Enabled: kmskey.False}
		}),
		liveKey("0b7d2a3c-1111-4a5b-8c9d-000000000003", func(k *kmskey.Key) {
			k.Rotation.PeriodDays = 730
		}),
		liveKey("0b7d2a3c-1111-4a5b-8c9d-000000000004", func(k *kmskey.Key) {
			k.Rotation.NextRotationDate = now.AddDate(0, 0, -30)
			k.Rotation.LastRotationDate = now.AddDate(-1, 0, -30)
		}),
		liveKey("0b7d2a3c-1111-4a5b-8c9d-000000000005", func(k *kmskey.Key) {
			k.Origin = kmskey.OriginExternal
			k.Rotation = kmskey.Rotation{}
		}),
		liveKey("0b7d2a3c-1111-4a5b-8c9d-000000000006", func(k *kmskey.Key) {
			k.Spec = "RSA_2048"
			k.Rotation = kmskey.Rotation{}
		}),
		liveKey("0b7d2a3c-1111-4a5b-8c9d-000000000007", func(k *kmskey.Key) {
			k.Manager = kmskey.ManagerAWS
			k.Aliases = []string{"alias/aws/s3"}
		}),
		liveKey("0b7d2a3c-1111-4a5b-8c9d-000000000008", func(k *kmskey.Key) {
			k.State = kmskey.StatePendingDeletion
		}),
		liveKey("0b7d2a3c-1111-4a5b-8c9d-000000000009", func(k *kmskey.Key) {
			k.Rotation = kmskey.Rotation{}
			k.Err = &kmskey.Error{Operation: "GetKeyRotationStatus", Code: "AccessDeniedException",
				Message: "User: arn:aws:iam::111122223333:user/scanner is not authorized to perform: kms:GetKeyRotationStatus"}
		}),
		liveKey("mrk-1234abcd12ab34cd56ef1234567890ab", func(k *kmskey.Key) {
			k.Region = "us-east-1"
			k.MultiRegion, k.MultiRegionType = true, kmskey.MultiRegionPrimary
			k.Aliases = []string{"alias/global"}
			k.Rotation = kmskey.Rotation{Enabled: kmskey.False}
		}),
		liveKey("mrk-1234abcd12ab34cd56ef1234567890ab", func(k *kmskey.Key) {
			k.Region = "us-west-2"
			k.MultiRegion, k.MultiRegionType = true, kmskey.MultiRegionReplica
			k.PrimaryARN, k.PrimaryRegion = primary, "us-east-1"
			k.Aliases = []string{"alias/global"}
			k.Rotation = kmskey.Rotation{Enabled: kmskey.False}
		}),
		liveKey("0b7d2a3c-1111-4a5b-8c9d-000000000010", func(k *kmskey.Key) {
			k.Region = "us-east-1"
			k.Rotation = kmskey.Rotation{Enabled: kmskey.False}
		}),
	}
	findings := make([]check.Finding, len(keys))
	for i, k := range keys {
		findings[i] = check.Evaluate(k, policy)
	}
	findings[len(findings)-1].Muted = true
	doc := &Document{
		Tool: Tool{Name: "kmsrotor", Version: "1.2.3", URL: "https://github.com/kmsrotor/kmsrotor"},
		Scan: Scan{
			Kind:       "aws",
			StartedAt:  now,
			FinishedAt: now.Add(1234 * time.Millisecond),
			DurationMS: 1234,
			Accounts:   []string{account},
			Regions:    []string{"ap-south-1", "eu-west-1", "us-east-1", "us-west-2"},
			Policy:     PolicyFacts{MaxRotationDays: 365, RotationGraceDays: 7},
			Calls:      map[string]int{"ListKeys": 4, "DescribeKey": 12, "GetKeyRotationStatus": 9, "ListAliases": 3},
		},
		Findings: findings,
		Errors: []ScanError{{
			AccountID: account, Region: "ap-south-1", Operation: "ListKeys", Code: "AccessDeniedException",
			Message: "User: arn:aws:iam::111122223333:user/scanner is not authorized to perform: kms:ListKeys",
		}},
	}
	doc.Finalize()
	return doc
}

// iacKey is a Terraform aws_kms_key without rotation, which the cases change.
func iacKey(file string, start, end int, resource string, mod func(k *kmskey.Key)) kmskey.Key {
	k := kmskey.Key{
		Source:    kmskey.SourceTerraform,
		File:      file,
		StartLine: start,
		EndLine:   end,
		Resource:  resource,
		Manager:   kmskey.ManagerCustomer,
		Spec:      kmskey.SpecSymmetricDefault,
		Usage:     kmskey.UsageEncryptDecrypt,
		Origin:    kmskey.OriginAWSKMS,
		State:     kmskey.StateEnabled,
		Rotation:  kmskey.Rotation{Enabled: kmskey.False},
	}
	if mod != nil {
		mod(&k)
	}
	return k
}

func cfn(k *kmskey.Key) { k.Source = kmskey.SourceCloudFormation }

// iacDoc is a file scan over Terraform and CloudFormation with every IaC
// status, a replica, and a file that does not parse.
func iacDoc() *Document {
	policy := check.DefaultPolicy(time.Time{})
	keys := []kmskey.Key{
		iacKey("infra/main.tf", 1, 4, "aws_kms_key.main", nil),
		iacKey("infra/main.tf", 6, 10, "aws_kms_key.rotating", func(k *kmskey.Key) {
			k.Rotation = kmskey.Rotation{Enabled: kmskey.True, PeriodDays: 365}
		}),
		iacKey("infra/main.tf", 12, 16, "aws_kms_key.long", func(k *kmskey.Key) {
			k.Rotation = kmskey.Rotation{Enabled: kmskey.True, PeriodDays: 730}
		}),
		iacKey("infra/main.tf", 18, 21, "aws_kms_replica_key.replica", func(k *kmskey.Key) {
			k.MultiRegion, k.MultiRegionType, k.PrimaryResource = true, kmskey.MultiRegionReplica, "aws_kms_key.main"
		}),
		iacKey("infra/main.tf", 23, 26, "aws_kms_external_key.imported", func(k *kmskey.Key) {
			k.Origin = kmskey.OriginExternal
			k.Rotation = kmskey.Rotation{}
		}),
		iacKey("infra/main.tf", 28, 32, "aws_kms_key.signing", func(k *kmskey.Key) {
			k.Spec, k.Usage = "RSA_3072", "SIGN_VERIFY"
		}),
		iacKey("infra/modules/key/main.tf", 3, 7, "module.app.aws_kms_key.this[0]", func(k *kmskey.Key) {
			k.Rotation = kmskey.Rotation{}
			k.Unresolved = []string{kmskey.AttrRotation}
		}),
		iacKey("infra/single.tf", 1, 1, "aws_kms_key.inline", nil),
		iacKey("templates/app.yaml", 5, 9, "AppKey", cfn),
		iacKey("templates/app.yaml", 11, 16, "MacKey", func(k *kmskey.Key) {
			cfn(k)
			k.Spec, k.Usage = "HMAC_256", "GENERATE_VERIFY_MAC"
		}),
		iacKey("templates/cdk.template.json", 4, 20, "AppKey5A0B1C2D", cfn),
		iacKey("templates/my stack.yml", 3, 8, "StackKey", cfn),
	}
	findings := make([]check.Finding, len(keys))
	for i, k := range keys {
		findings[i] = check.Evaluate(k, policy)
	}
	doc := &Document{
		Tool: Tool{Name: "kmsrotor", Version: "1.2.3", URL: "https://github.com/kmsrotor/kmsrotor"},
		Scan: Scan{
			Kind:       "iac",
			StartedAt:  now,
			FinishedAt: now.Add(45 * time.Millisecond),
			DurationMS: 45,
			Paths:      []string{"infra", "templates"},
			Policy:     PolicyFacts{MaxRotationDays: 365, RotationGraceDays: 7},
		},
		Findings: findings,
		Errors: []ScanError{{
			File: "templates/broken.yaml", Line: 7, Code: "parse_error",
			Message: "yaml: line 7: did not find expected key",
		}},
	}
	doc.Finalize()
	return doc
}

func emptyDoc(kind string) *Document {
	doc := &Document{
		Tool: Tool{Name: "kmsrotor", Version: "1.2.3"},
		Scan: Scan{
			Kind:       kind,
			StartedAt:  now,
			FinishedAt: now.Add(10 * time.Millisecond),
			DurationMS: 10,
			Policy:     PolicyFacts{MaxRotationDays: 365, RotationGraceDays: 7},
		},
	}
	if kind == "iac" {
		doc.Scan.Paths = []string{"empty"}
	} else {
		doc.Scan.Accounts = []string{account}
		doc.Scan.Regions = []string{"eu-west-1", "us-east-1"}
	}
	doc.Finalize()
	return doc
}

// docs are the documents every writer is tested on.
var docs = []struct {
	name string
	doc  func() *Document
}{
	{"live", liveDoc},
	{"iac", iacDoc},
	{"live-empty", func() *Document { return emptyDoc("aws") }},
	{"iac-empty", func() *Document { return emptyDoc("iac") }},
}

func write(t *testing.T, f Format, doc *Document, opts Options) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, f, doc, opts); err != nil {
		t.Fatalf("Write(%s): got error %v, want nil", f, err)
	}
	return b.Bytes()
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test ./internal/report -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: output differs from the golden file (run with -update after checking)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestFormatsRegistered(t *testing.T) {
	t.Parallel()
	for _, f := range []Format{FormatJSON, FormatSARIF, FormatTable} {
		got, err := ParseFormat(string(f))
		if err != nil || got != f {
			t.Errorf("ParseFormat(%q): got %q, %v; want %q, nil", f, got, err, f)
		}
	}
}
