package remediate

import (
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/kmsrotor/kmsrotor/internal/awskms"
	"github.com/kmsrotor/kmsrotor/internal/check"
	"github.com/kmsrotor/kmsrotor/internal/remediate/remediatetest"
)

const acct = "123456789012"

func arn(region, id string) string { return "arn:aws:kms:" + region + ":" + acct + ":key/" + id }

func boolp(b bool) *bool { return &b }

func finding(id string, status check.Status, reason string, mod ...func(*check.Finding)) check.Finding {
	f := check.Finding{CheckID: check.CheckID, Source: "aws", Status: status, Reason: reason,
		AccountID: acct, Region: "us-east-1", KeyID: id, KeyARN: arn("us-east-1", id)}
	for _, m := range mod {
		m(&f)
	}
	return f
}

func TestNewPlan(t *testing.T) {
	off := func(f *check.Finding) { f.Rotation.Enabled = boolp(false) }
	on := func(days int) func(*check.Finding) {
		return func(f *check.Finding) { f.Rotation.Enabled, f.Rotation.PeriodDays = boolp(true), days }
	}
	replica := func(region string) func(*check.Finding) {
		return func(f *check.Finding) {
			f.Region, f.KeyARN = region, arn(region, f.KeyID)
			f.Key.MultiRegionType = "REPLICA"
			f.Remediation.TargetKeyARN, f.Remediation.TargetRegion = arn("us-east-1", f.KeyID), "us-east-1"
		}
	}
	fs := []check.Finding{
		finding("off", check.StatusFail, check.ReasonRotationDisabled, off),
		finding("slow", check.StatusFail, check.ReasonPeriodExceedsPolicy, on(730)),
		finding("passslow", check.StatusPass, check.ReasonRotationEnabled, on(400)), // PASS under a laxer scan policy
		finding("ok", check.StatusPass, check.ReasonRotationEnabled, on(180)),
		finding("mrk-1", check.StatusFail, check.ReasonRotationDisabled, off, replica("eu-west-1")),
		finding("mrk-1", check.StatusFail, check.ReasonRotationDisabled, off, replica("ap-south-1")),
		finding("mrk-1", check.StatusFail, check.ReasonRotationDisabled, off),
		finding("rsa", check.StatusSkipped, check.ReasonAsymmetricKey),
		finding("dis", check.StatusSkipped, check.ReasonKeyDisabled),
		finding("muted", check.StatusFail, check.ReasonRotationDisabled, off, func(f *check.Finding) { f.Muted = true }),
		finding("ext", check.StatusManual, check.ReasonImportedKeyMaterial),
		finding("late", check.StatusFail, check.ReasonRotationOverdue, on(365)),
		finding("err", check.StatusError, check.ReasonAccessDenied, func(f *check.Finding) {
			f.Error = &check.ErrorFacts{Operation: "GetKeyRotationStatus", Code: "AccessDeniedException"}
		}),
	}
	p := NewPlan(fs, PlanOptions{PeriodDays: 365})
	var got []string
	for _, c := range p.Changes {
		got = append(got, c.KeyID+" "+string(c.Action)+" "+c.Region+" "+strings.Join(c.Replicas, ","))
	}
	want := []string{
		"mrk-1 enable_rotation us-east-1 " + arn("ap-south-1", "mrk-1") + "," + arn("eu-west-1", "mrk-1"),
		"off enable_rotation us-east-1 ",
		"passslow change_period us-east-1 ",
		"slow change_period us-east-1 ",
	}
	if !slices.Equal(got, want) {
		t.Errorf("changes:\n got %q\nwant %q", got, want)
	}
	var left []string
	for _, l := range p.LeftAlone {
		left = append(left, l.KeyID+" "+l.Why)
	}
	wantLeft := []string{"dis key_disabled", "err not_read", "ext imported_key_material", "late rotation_overdue", "muted muted", "rsa ineligible"}
	if !slices.Equal(left, wantLeft) {
		t.Errorf("left alone:\n got %q\nwant %q", left, wantLeft)
	}
	if p.Compliant != 1 {
		t.Errorf("compliant = %d, want 1", p.Compliant)
	}
}

func rawClient(t *testing.T, cfn *remediatetest.CloudFormation) *awskms.Raw {
	t.Helper()
	srv := httptest.NewServer(cfn)
	t.Cleanup(srv.Close)
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")}
	return awskms.NewRaw(cfg, "cloudformation", "CloudFormation", "us-east-1")
}

func TestStackOwners(t *testing.T) {
	stacks := []remediatetest.Stack{
		{Name: "app", Region: "us-east-1", Resources: []remediatetest.Resource{
			{LogicalID: "Queue", PhysicalID: "q", Type: "AWS::SQS::Queue"},
			{LogicalID: "DataKey", PhysicalID: "k1", Type: "AWS::KMS::Key"},
			{LogicalID: "LogKey", PhysicalID: "k2", Type: "AWS::KMS::Key"},
		}},
		{Name: "gone", Region: "us-east-1", Status: "DELETE_COMPLETE", Resources: []remediatetest.Resource{
			{LogicalID: "OldKey", PhysicalID: "k3", Type: "AWS::KMS::Key"}}},
		{Name: "other", Region: "us-east-1"},
		{Name: "west", Region: "eu-west-1", Resources: []remediatetest.Resource{
			{LogicalID: "K", PhysicalID: "k4", Type: "AWS::KMS::Key"}}},
	}
	want := map[string]StackResource{"k1": {"app", "DataKey"}, "k2": {"app", "LogKey"}}
	for _, tt := range []struct {
		name string
		keys []string
		// per-key lookups when the keys are fewer than the stacks
		wantAction string
	}{
		{"per stack", []string{"k1", "k2", "k3", "k4", "k5"}, "ListStackResources"},
		{"per key", []string{"k1"}, "DescribeStackResources"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := &remediatetest.CloudFormation{Stacks: stacks}
			got, err := StackOwners(t.Context(), rawClient(t, c), tt.keys)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range tt.keys {
				if w, ok := want[k]; ok != (got[k] != StackResource{}) || got[k] != w {
					t.Errorf("owner of %s = %+v, want %+v", k, got[k], w)
				}
			}
			if len(got) != len(tt.keys) && len(got) > len(want) {
				t.Errorf("owners = %v, want at most %v", got, want)
			}
			if c.Calls()[tt.wantAction] == 0 || c.Calls()["ListStacks"] != 3 {
				t.Errorf("calls = %v, want %s and 3 pages of ListStacks", c.Calls(), tt.wantAction)
			}
		})
	}
	t.Run("access denied", func(t *testing.T) {
		c := &remediatetest.CloudFormation{Deny: map[string]bool{acct: true}}
		_, err := StackOwners(t.Context(), rawClient(t, c), []string{"k1"})
		if code, _ := errorParts(err); code != "AccessDenied" {
			t.Errorf("error = %v (code %s), want AccessDenied", err, code)
		}
	})
}

func TestRestrictUnchecked(t *testing.T) {
	p := NewPlan([]check.Finding{finding("off", check.StatusFail, check.ReasonRotationDisabled, func(f *check.Finding) { f.Rotation.Enabled = boolp(false) })}, PlanOptions{PeriodDays: 365})
	denied := &remediatetest.CloudFormation{Deny: map[string]bool{acct: true}}
	raw := rawClient(t, denied)
	scope := Scope{CloudFormation: func(string, string) CloudFormationAPI { return raw }}
	if err := p.Restrict(t.Context(), scope); err != nil {
		t.Fatal(err)
	}
	if len(p.Changes) != 0 || len(p.LeftAlone) != 1 || p.LeftAlone[0].Why != SkipOwnerUnknown || len(p.Unchecked) != 1 {
		t.Errorf("plan after AccessDenied = %+v, want the key left alone as %s and the Region unchecked", p, SkipOwnerUnknown)
	}
}

func TestJournal(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "j.jsonl")
	now := func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }
	j, res, err := OpenJournal(path, "e1", []string{acct}, now)
	if err != nil || len(res.Verified)+len(res.Touched) != 0 {
		t.Fatalf("open new journal: %v %+v", err, res)
	}
	j.Write(Record{Type: RecordIntent, KeyARN: "a"})
	j.Write(Record{Type: RecordIntent, KeyARN: "b"})
	j.Write(Record{Type: RecordVerified, KeyARN: "b", Status: StatusVerified, PeriodDays: 180})
	j.Close()
	// A kill mid-write leaves a torn last line.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"type":"intent","key_ar`)
	f.Close()

	j, res, err = OpenJournal(path, "e1", []string{acct}, now)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if !res.Touched["a"] || res.Verified["b"] != 180 || res.Touched["b"] {
		t.Errorf("resume = %+v, want a touched and b verified at 180", res)
	}
	j.Write(Record{Type: RecordEnd})
	j.Close()
	_, res, err = OpenJournal(path, "e1", []string{acct}, now)
	if err != nil || len(res.Verified)+len(res.Touched) != 0 {
		t.Errorf("after an ended run: %v %+v, want nothing to resume", err, res)
	}
	if _, _, err := OpenJournal(path, "e2", []string{"999999999999"}, now); !errors.Is(err, ErrOtherEstate) {
		t.Errorf("other estate: err = %v, want ErrOtherEstate", err)
	}
}

func TestReadFindingsRefuses(t *testing.T) {
	for _, in := range []string{``, `[]`, `{"hello":1}`, `{"schema_version":1,"tool":{"name":"prowler"},"findings":[]}`,
		`{"schema_version":1,"tool":{"name":"kmsrotor"},"findings":[{"check_id":"kms_cmk_rotation_enabled","source":"terraform","file":"main.tf"}]}`} {
		err := ReadFindings(strings.NewReader(in), func(*check.Finding) error { return nil })
		if !errors.Is(err, ErrNotReport) {
			t.Errorf("ReadFindings(%q) = %v, want ErrNotReport", in, err)
		}
	}
	jsonl := `{"check_id":"kms_cmk_rotation_enabled","source":"aws","key_arn":"` + arn("us-east-1", "k") + `","status":"FAIL"}` + "\n" + `{"summary":{},"complete":true}` + "\n"
	n := 0
	if err := ReadFindings(strings.NewReader(jsonl), func(*check.Finding) error { n++; return nil }); err != nil || n != 1 {
		t.Errorf("jsonl: %v, %d findings, want 1", err, n)
	}
}
