package cli

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/kmsrotor/kmsrotor/internal/awskms"
	"github.com/kmsrotor/kmsrotor/internal/check"
	"github.com/kmsrotor/kmsrotor/internal/kmsemu"
	"github.com/kmsrotor/kmsrotor/internal/report"
)

// These tests drive the report flags of scan end to end: the emulator,
// cli.Main, every format, Security Hub, the mutelist.

func TestScanEveryFormatToADirectory(t *testing.T) {
	t.Parallel()
	_, env := startEmulator(t, kmsemu.DemoEstateAt(scanNow))
	dir := t.TempDir()
	formats := formatList(scanFormats)
	got := runMain(t, env, "scan", "--quiet", "--org", "--regions", "all", "--output", strings.ReplaceAll(formats, " ", ""),
		"--output-dir", dir, "--compliance", "cis_5.0_aws")
	if got.code != ExitFail || got.stdout != "" {
		t.Fatalf("scan --output-dir: exit %d, stdout %q, stderr %q; want exit 3 and nothing on stdout", got.code, got.stdout, got.stderr)
	}
	b, err := os.ReadFile(filepath.Join(dir, defaultStem+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		report.Document
		Section *report.ComplianceSection `json:"compliance_section"`
	}
	if err := json.Unmarshal(b, &doc); err != nil || len(doc.Findings) == 0 || doc.Section == nil {
		t.Fatalf("json document: %v, %d findings, section %v", err, len(doc.Findings), doc.Section)
	}
	for _, f := range scanFormats {
		b, err := os.ReadFile(filepath.Join(dir, defaultStem+formatExt[f]))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		// Every format names the failing keys.
		for _, fd := range doc.Findings {
			if fd.Status == check.StatusFail && f != report.FormatTable && !strings.Contains(string(b), fd.KeyID) {
				t.Errorf("%s report lacks FAIL key %s", f, fd.KeyID)
			}
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != len(scanFormats) {
		t.Errorf("%d files in the output directory, want one per format (%d), no temporary file left", len(entries), len(scanFormats))
	}
	if got := runMain(t, env, "scan", "--output", "html,json"); got.code != ExitUsage || !strings.Contains(got.stderr, "--output-dir") {
		t.Errorf("two formats without --output-dir: exit %d, %q; want 2 naming --output-dir", got.code, got.stderr)
	}
	if got := runMain(t, env, "scan", "--output", "sarif"); got.code != ExitUsage {
		t.Errorf("--output sarif on a scan: exit %d, want 2", got.code)
	}
}

func TestScanSecurityHubConverges(t *testing.T) {
	t.Parallel()
	estate := generated(t, "accounts=1,regions=1,keys=3,rotating=0")
	emu, env := startEmulator(t, estate)
	got := runMain(t, env, "scan", "--quiet", "--security-hub", "--output", "json")
	if got.code != ExitFail || !strings.Contains(got.stderr, "Security Hub: 3 findings imported in 1 calls.") {
		t.Fatalf("first import: exit %d, stderr %q", got.code, got.stderr)
	}
	active := 0
	for _, f := range emu.Server.Findings("", "") {
		if f.RecordState == "ACTIVE" && f.ComplianceStatus == "FAILED" {
			active++
		}
	}
	if active != 3 {
		t.Fatalf("after the first import: %d ACTIVE FAILED findings, want 3: %+v", active, emu.Server.Findings("", ""))
	}
	// One key is fixed; the next run archives its finding as PASSED.
	cfg := awskms.StaticConfig(emu.URL, "us-east-1", kmsemu.DefaultAccessKeyID, kmsemu.DefaultSecretAccessKey, awskms.ClientOptions{})
	fixed := estate.Accounts[0].Keys[0].ID
	if _, err := kms.NewFromConfig(cfg).EnableKeyRotation(t.Context(), &kms.EnableKeyRotationInput{KeyId: aws.String(fixed)}); err != nil {
		t.Fatal(err)
	}
	if got := runMain(t, env, "scan", "--quiet", "--security-hub", "--output", "json"); got.code != ExitFail {
		t.Fatalf("second import: exit %d, stderr %q", got.code, got.stderr)
	}
	findings := emu.Server.Findings("", "")
	if len(findings) != 3 {
		t.Fatalf("after the second import: %d findings, want the same 3 updated in place", len(findings))
	}
	for _, f := range findings {
		wantState, wantStatus := "ACTIVE", "FAILED"
		if strings.Contains(string(f.Finding), fixed) {
			wantState, wantStatus = "ARCHIVED", "PASSED"
		}
		if f.RecordState != wantState || f.ComplianceStatus != wantStatus {
			t.Errorf("finding %s: %s %s, want %s %s", f.ID, f.RecordState, f.ComplianceStatus, wantState, wantStatus)
		}
	}
}

func TestScanMutelist(t *testing.T) {
	t.Parallel()
	estate := generated(t, "accounts=1,regions=1,keys=2,rotating=0")
	_, env := startEmulator(t, estate)
	dir := t.TempDir()
	list := filepath.Join(dir, "mutelist.yaml")
	body := "Mutelist:\n  Accounts:\n    \"*\":\n      Checks:\n        kms_cmk_rotation_enabled:\n          Regions: [\"*\"]\n          Resources: [\"*\"]\n          reason: accepted until the migration\n"
	if err := os.WriteFile(list, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	doc, got := scanDoc(t, env, "--mutelist", list)
	if got.code != ExitOK || doc.Summary.Muted != 2 || doc.Summary.Fail != 0 {
		t.Errorf("every FAIL muted: exit %d, summary %+v; want exit 0 and 2 muted", got.code, doc.Summary)
	}
	for _, f := range doc.Findings {
		if !f.Muted || f.Status != check.StatusFail {
			t.Errorf("%s: muted %v status %s, want muted and still FAIL", f.KeyID, f.Muted, f.Status)
		}
	}
	// By tag: the scan reads tags only for a mutelist that matches on them.
	tagged := generated(t, "accounts=1,regions=1,keys=2,rotating=0")
	tagged.Accounts[0].Keys[0].Tags = map[string]string{"env": "dev"}
	emu2, env2 := startEmulator(t, tagged)
	byTag := filepath.Join(dir, "tags.yaml")
	body = "Mutelist:\n  Accounts:\n    \"*\":\n      Checks:\n        \"*\":\n          Regions: [\"*\"]\n          Resources: [\"*\"]\n          Tags: [\"env=dev\"]\n"
	if err := os.WriteFile(byTag, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	doc, got = scanDoc(t, env2, "--mutelist", byTag)
	for _, f := range doc.Findings {
		want := f.KeyID == tagged.Accounts[0].Keys[0].ID
		if f.Muted != want {
			t.Errorf("mutelist by tag env=dev: %s muted %v, want %v (tags %v)", f.KeyID, f.Muted, want, f.Tags)
		}
	}
	if got.code != ExitFail || emu2.Server.Calls()["ListResourceTags"] == 0 {
		t.Errorf("mutelist by tag: exit %d, %d ListResourceTags calls; want 3 (one FAIL left) and the tags read", got.code, emu2.Server.Calls()["ListResourceTags"])
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("Mutelist:\n  Accounts: [oops\n"), 0o600)
	if got := runMain(t, env, "scan", "--mutelist", bad); got.code != ExitUsage || !strings.Contains(got.stderr, "bad.yaml") {
		t.Errorf("bad mutelist: exit %d, stderr %q; want 2 naming the file", got.code, got.stderr)
	}
}

func TestScanRotationHistory(t *testing.T) {
	t.Parallel()
	estate := generated(t, "accounts=1,regions=1,keys=2,rotating=1")
	emu, env := startEmulator(t, estate)
	cfg := awskms.StaticConfig(emu.URL, "us-east-1", kmsemu.DefaultAccessKeyID, kmsemu.DefaultSecretAccessKey, awskms.ClientOptions{})
	key := estate.Accounts[0].Keys[0].ID
	if _, err := kms.NewFromConfig(cfg).RotateKeyOnDemand(t.Context(), &kms.RotateKeyOnDemandInput{KeyId: aws.String(key)}); err != nil {
		t.Fatal(err)
	}
	// The rotation completes once time passes on the emulator's clock.
	resp, err := http.Post(emu.URL+"/_kmsemu/clock", "application/json", strings.NewReader(`{"advance":"24h"}`))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("advance the clock: %v %v", err, resp)
	}
	resp.Body.Close()
	doc, got := scanDoc(t, env, "--rotation-history")
	var saw bool
	for _, f := range doc.Findings {
		if f.KeyID == key {
			saw = true
			if f.Rotation.LastRotationType != "ON_DEMAND" || f.Rotation.LastRotationDate == nil {
				t.Errorf("--rotation-history: key rotated on demand has last rotation %v %q, want its date and ON_DEMAND (stderr %s)", f.Rotation.LastRotationDate, f.Rotation.LastRotationType, got.stderr)
			}
		}
	}
	if !saw {
		t.Fatalf("no finding for %s", key)
	}
	if emu.Server.Calls()["ListKeyRotations"] == 0 {
		t.Errorf("--rotation-history made no ListKeyRotations call")
	}
}
