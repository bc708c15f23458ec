package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/kmsrotor/kmsrotor/internal/check"
	"github.com/kmsrotor/kmsrotor/internal/report"
)

func parseReportFlags(t *testing.T, dir string, args ...string) (*reportFlags, error) {
	t.Helper()
	r := &reportFlags{now: func() time.Time { return time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) }, workingDir: dir}
	fs := pflag.NewFlagSet("scan", pflag.ContinueOnError)
	r.bind(fs, report.Formats())
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return r, r.validate()
}

func TestReportFlagsValidate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("Mutelist:\n  Accounts:\n    \"1\":\n      Checks:\n        \"*\":\n          Regions: eu-west-1\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "old.yaml"), []byte("Mutelist:\n  Accounts:\n    \"*\":\n      Checks:\n        \"*\":\n          expires: 2026-01-31\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "file"), nil, 0o600)
	ro := filepath.Join(dir, "ro")
	os.Mkdir(ro, 0o500)
	for _, tc := range []struct {
		args []string
		want string // "" for valid
	}{
		{[]string{"--output", "html"}, ""},
		{[]string{"-o", "json,html,csv", "--output-dir", "."}, ""},
		{[]string{"--output", "json,html"}, "add --output-dir"},
		{[]string{"--output", "pdf"}, `unknown output format "pdf"`},
		{[]string{"--output", "csv,csv", "--output-dir", "."}, "lists csv twice"},
		{[]string{"--output", "html", "--output-dir", "missing"}, "--output-dir missing: the directory does not exist"},
		{[]string{"--output", "html", "--output-dir", "file"}, "not a directory"},
		{[]string{"--compliance", "cis_5.0_aws"}, ""},
		{[]string{"--compliance", "cis_9.0_aws"}, "close names: cis_1.4_aws"},
		{[]string{"--mutelist", "bad.yaml"}, "bad.yaml line 6: Regions of check * of account 1 must be a list"},
		{[]string{"--mutelist", "none.yaml"}, "none.yaml"},
		{[]string{"--mutelist", "old.yaml"}, ""},
	} {
		_, err := parseReportFlags(t, dir, tc.args...)
		var ue *usageError
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: got %v, want no error", tc.args, err)
		case tc.want != "" && (err == nil || !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v: got %v, want a usage error containing %q", tc.args, err, tc.want)
		}
	}
	if os.Geteuid() != 0 { // root writes anywhere
		if _, err := parseReportFlags(t, dir, "--output", "html", "--output-dir", "ro"); err == nil || !strings.Contains(err.Error(), "cannot write there") {
			t.Errorf("read-only dir: got %v, want cannot write there", err)
		}
	}
	r, _ := parseReportFlags(t, dir, "--mutelist", "old.yaml")
	if len(r.warnings) != 1 || !strings.Contains(r.warnings[0], "expired on 2026-01-31") {
		t.Errorf("expired entry: warnings %q", r.warnings)
	}
	f := check.Finding{CheckID: check.CheckID, Status: check.StatusFail, AccountID: "1"}
	r.mute(&f)
	if f.Muted {
		t.Errorf("an expired entry muted a finding")
	}
}

func TestReportFlagsOutputDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var names []string
	for _, f := range report.Formats() {
		names = append(names, string(f))
	}
	r, err := parseReportFlags(t, dir, "--output", strings.Join(names, ","), "--output-dir", ".", "--compliance", "CIS-5.0")
	if err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	sink, done, _, err := r.outputs(context.Background(), &stdout, "", report.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	fd := check.Finding{CheckID: check.CheckID, Status: check.StatusFail, Reason: check.ReasonRotationDisabled, Severity: "medium",
		Message: "key k1 does not rotate", Source: "aws", AccountID: "123456789012", Region: "eu-west-1", KeyID: "k1",
		KeyARN: "arn:aws:kms:eu-west-1:123456789012:key/k1", Aliases: []string{}, Compliance: check.RotationRule.Compliance}
	doc := &report.Document{Tool: report.Tool{Name: "kmsrotor"}, Scan: report.Scan{Kind: "aws", StartedAt: now}, Findings: []check.Finding{fd}}
	doc.Finalize()
	if err := report.Feed(sink, doc); err != nil {
		t.Fatal(err)
	}
	if err := done(true); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != len(names) {
		var got []string
		for _, e := range entries {
			got = append(got, e.Name())
		}
		t.Errorf("files %v, want one per format (%v)", got, names)
	}
	for _, f := range report.Formats() {
		b, err := os.ReadFile(filepath.Join(dir, defaultStem+formatExt[f]))
		if err != nil || (f != report.FormatTable && !bytes.Contains(b, []byte("k1"))) {
			t.Errorf("%s: %v, or the finding is missing", f, err)
		}
	}
	var js struct {
		Findings          []check.Finding
		ComplianceSection *report.ComplianceSection `json:"compliance_section"`
	}
	b, _ := os.ReadFile(filepath.Join(dir, defaultStem+".json"))
	if err := json.Unmarshal(b, &js); err != nil || len(js.Findings) != 1 || js.ComplianceSection == nil ||
		js.ComplianceSection.ID != "cis_5.0_aws" || len(js.ComplianceSection.Requirements) != 1 || js.ComplianceSection.Requirements[0].Fail != 1 {
		t.Errorf("json with --compliance CIS-5.0: %v, %+v; want the finding and a section with 3.6 failing once", err, js.ComplianceSection)
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout got %d bytes with --output-dir, want none", stdout.Len())
	}
}
