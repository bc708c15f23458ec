package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kmsrotor/kmsrotor/internal/check"
	"github.com/kmsrotor/kmsrotor/internal/kmsemu"
	"github.com/kmsrotor/kmsrotor/internal/report"
)

// These tests drive account selection, shards and interruption end to end:
// cli.Main, the real SDK over HTTP, the emulator.

func generated(t *testing.T, spec string) *kmsemu.Estate {
	t.Helper()
	e, err := kmsemu.Generate(spec)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func accountIDs(e *kmsemu.Estate) []string {
	var ids []string
	for _, a := range e.Accounts {
		ids = append(ids, a.ID)
	}
	return ids
}

func scanDoc(t *testing.T, args ...string) (report.Document, result) {
	t.Helper()
	got := runMain(t, append([]string{"scan", "--quiet", "--output", "json"}, args...)...)
	var doc report.Document
	if err := json.Unmarshal([]byte(got.stdout), &doc); err != nil {
		t.Fatalf("scan %v: exit %d, stderr %q, stdout not a JSON document: %v", args, got.code, got.stderr, err)
	}
	return doc, got
}

func findingARNs(doc report.Document) []string {
	var arns []string
	for _, f := range doc.Findings {
		arns = append(arns, f.KeyARN)
	}
	slices.Sort(arns)
	return arns
}

func TestScanAccountsAndExclusions(t *testing.T) {
	estate := generated(t, "accounts=5,regions=1,keys=2")
	ids := accountIDs(estate)
	startEmulator(t, estate)

	// A list of IDs: each entered through the default role; one excluded.
	doc, got := scanDoc(t, "--accounts", strings.Join(ids[1:], ","), "--exclude-accounts", ids[2])
	want := []string{ids[1], ids[3], ids[4]}
	if !slices.Equal(doc.Scan.Accounts, want) || got.code != ExitFail {
		t.Errorf("--accounts %v --exclude-accounts %s: scanned %v (exit %d), want %v (exit 3)", ids[1:], ids[2], doc.Scan.Accounts, got.code, want)
	}
	if len(doc.Findings) != 2*len(want) {
		t.Errorf("--accounts: %d findings, want %d", len(doc.Findings), 2*len(want))
	}

	// The same from a file, with comments and a role ARN.
	dir := t.TempDir()
	file := filepath.Join(dir, "accounts.txt")
	body := "# production\n" + ids[1] + "\n\narn:aws:iam::" + ids[3] + ":role/OrganizationAccountAccessRole  # by role\n"
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	doc, _ = scanDoc(t, "--accounts", "@"+file)
	if want := []string{ids[1], ids[3]}; !slices.Equal(doc.Scan.Accounts, want) {
		t.Errorf("--accounts @file: scanned %v, want %v", doc.Scan.Accounts, want)
	}
}

func TestScanSelectionUsageErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.txt")
	if err := os.WriteFile(bad, []byte("111111111111\n# fine\nnot-an-account\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.txt")
	if err := os.WriteFile(empty, []byte("# nothing\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--accounts", "@" + bad}, `bad.txt line 3: "not-an-account" is neither a 12-digit account ID nor a role ARN`},
		{[]string{"--accounts", "@" + empty}, "names no account"},
		{[]string{"--accounts", "@" + filepath.Join(dir, "missing.txt")}, "cannot read the file"},
		{[]string{"--accounts", "111111111111,,222222222222"}, "entry 2 is empty"},
		{[]string{"--ou", "ou-nope"}, "is not an organizational unit ID"},
		{[]string{"--org", "--ou", "ou-ab12-cd34ef56"}, "choose one of --org, --ou and --accounts"},
		{[]string{"--exclude-accounts", "12"}, "is not a 12-digit account ID"},
		{[]string{"--shard", "5/4"}, "--shard 5/4: the index must be between 1 and 4"},
		{[]string{"--shard", "two"}, "write it as I/N"},
		{[]string{"--shard-count", "4"}, "set JOB_COMPLETION_INDEX or AWS_BATCH_JOB_ARRAY_INDEX"},
		{[]string{"--profile", "a", "--profiles", "b,c"}, "--profile and --profiles cannot be used together"},
		{[]string{"--role-session-name", "x"}, "--role-session-name"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			isolateAWS(t)
			srv, requests := countingServer(t)
			t.Setenv("AWS_ENDPOINT_URL", srv.URL)
			t.Setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
			t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
			t.Setenv("AWS_REGION", "us-east-1")
			got := runMain(t, append([]string{"scan"}, tt.args...)...)
			if got.code != ExitUsage || !strings.Contains(got.stderr, tt.want) || got.stdout != "" {
				t.Errorf("scan %v: exit %d, stdout %q, stderr %q; want exit 2, no stdout, stderr containing %q", tt.args, got.code, got.stdout, got.stderr, tt.want)
			}
			if strings.Count(strings.TrimSpace(got.stderr), "\n") != 0 {
				t.Errorf("scan %v: stderr %q, want one sentence", tt.args, got.stderr)
			}
			if n := requests.Load(); n != 0 {
				t.Errorf("scan %v: %d requests, want none", tt.args, n)
			}
		})
	}
}

func TestScanShardsCoverTheRunOnce(t *testing.T) {
	estate := generated(t, "accounts=12,regions=2,keys=2")
	startEmulator(t, estate)
	whole, _ := scanDoc(t, "--org", "--regions", "all")
	if len(whole.Findings) != 12*2*2 {
		t.Fatalf("unsharded scan: %d findings, want 48", len(whole.Findings))
	}
	var union []string
	runIDs := map[string]bool{}
	for i := 1; i <= 4; i++ {
		doc, _ := scanDoc(t, "--org", "--regions", "all", "--shard", strings.Join([]string{string(rune('0' + i)), "4"}, "/"))
		if doc.Scan.Shard == nil || doc.Scan.Shard.Index != i || doc.Scan.Shard.Count != 4 {
			t.Errorf("shard %d/4: scan.shard %+v, want index %d of 4", i, doc.Scan.Shard, i)
		}
		runIDs[doc.Scan.RunID] = true
		union = append(union, findingARNs(doc)...)
	}
	slices.Sort(union)
	if !slices.Equal(union, findingARNs(whole)) {
		t.Errorf("four shards found %d keys (%d distinct), want the unsharded scan's %d, each once", len(union), len(slices.Compact(slices.Clone(union))), len(whole.Findings))
	}
	if len(runIDs) != 1 {
		t.Errorf("shards of one command have run IDs %v, want one", runIDs)
	}

	// The index may come from the scheduler: Kubernetes counts from 0.
	t.Setenv("JOB_COMPLETION_INDEX", "3")
	doc, _ := scanDoc(t, "--org", "--regions", "all", "--shard-count", "4")
	if doc.Scan.Shard == nil || doc.Scan.Shard.Index != 4 {
		t.Errorf("JOB_COMPLETION_INDEX=3 --shard-count 4: shard %+v, want 4/4", doc.Scan.Shard)
	}
}

func TestScanDeniedScopesAreErrors(t *testing.T) {
	estate := generated(t, "accounts=20,regions=3,keys=2")
	ids := accountIDs(estate)
	// One member's role cannot be assumed; one Region of another account
	// denies ListKeys; three keys deny GetKeyRotationStatus.
	for i := range estate.Accounts[5].Roles {
		estate.Accounts[5].Roles[i].TrustedAccounts = []string{ids[6]} // not the management account
	}
	estate.Deny = append(estate.Deny, kmsemu.DenyRule{Operation: "ListKeys", Account: ids[7], Region: "us-west-2"})
	var denied []string
	for _, k := range estate.Accounts[9].Keys[:3] {
		estate.Deny = append(estate.Deny, kmsemu.DenyRule{Operation: "GetKeyRotationStatus", Account: ids[9], KeyID: k.ID})
		denied = append(denied, k.ID)
	}
	startEmulator(t, estate)
	doc, got := scanDoc(t, "--org", "--regions", "all")
	var errs []string
	for _, e := range doc.Errors {
		errs = append(errs, e.AccountID+"/"+e.Region+"/"+e.Operation)
	}
	slices.Sort(errs)
	if want := []string{ids[5] + "//AssumeRole", ids[7] + "/us-west-2/ListKeys"}; !slices.Equal(errs, want) {
		t.Errorf("errors %v, want exactly %v", errs, want)
	}
	var errorKeys []string
	for _, f := range doc.Findings {
		if f.Status == check.StatusError {
			errorKeys = append(errorKeys, f.KeyID)
		}
	}
	slices.Sort(errorKeys)
	slices.Sort(denied)
	if !slices.Equal(errorKeys, denied) {
		t.Errorf("ERROR findings for %v, want exactly the denied keys %v", errorKeys, denied)
	}
	// Everything else is scanned: 19 accounts × 3 Regions × 2 keys, less
	// the Region that could not be listed.
	if want := 19*3*2 - 2; len(doc.Findings) != want {
		t.Errorf("%d findings, want %d", len(doc.Findings), want)
	}
	if got.code != ExitFail || doc.Scan.Complete {
		t.Errorf("exit %d, complete %v; want 3 (the estate has FAILs) and incomplete", got.code, doc.Scan.Complete)
	}
}

func TestScanInterrupted(t *testing.T) {
	isolateAWS(t)
	estate := generated(t, "accounts=4,regions=2,keys=200")
	clock := kmsemu.NewClock()
	clock.Set(scanNow)
	clock.Freeze()
	emu, err := kmsemu.Start(kmsemu.Options{Estate: estate, Clock: clock, Latency: 20 * time.Millisecond}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	t.Setenv("AWS_ENDPOINT_URL", emu.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", kmsemu.DefaultAccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", kmsemu.DefaultSecretAccessKey)
	t.Setenv("AWS_REGION", "us-east-1")

	ctx, cancel := context.WithCancelCause(t.Context())
	time.AfterFunc(400*time.Millisecond, func() { cancel(&signalError{name: "SIGINT"}) })
	var out, errb strings.Builder
	env := &Env{Stdout: &out, Stderr: &errb, Getenv: os.Getenv, Now: func() time.Time { return scanNow }, Context: ctx, WorkingDir: t.TempDir()}
	start := time.Now()
	code := Main([]string{"scan", "--org", "--regions", "all", "--output", "json", "--concurrency", "4"}, env)
	took := time.Since(start)
	var doc report.Document
	if err := json.Unmarshal([]byte(out.String()), &doc); err != nil {
		t.Fatalf("interrupted scan: exit %d, stderr %q, stdout not a JSON document: %v", code, errb.String(), err)
	}
	if code != ExitIncomplete || doc.Scan.Complete || doc.Scan.Interrupted != "interrupted by SIGINT" {
		t.Errorf("interrupted scan: exit %d, complete %v, interrupted %q; want 4, false, \"interrupted by SIGINT\"", code, doc.Scan.Complete, doc.Scan.Interrupted)
	}
	if n := len(doc.Findings); n == 0 || n >= 4*2*200 {
		t.Errorf("interrupted scan: %d findings, want some but not all 1600", n)
	}
	for _, f := range doc.Findings {
		if f.Status == check.StatusError {
			t.Errorf("interrupted scan: %s is an ERROR (%s): a call cut short is not a finding", f.KeyID, f.Message)
			break
		}
	}
	if doc.Summary.Total != len(doc.Findings) {
		t.Errorf("summary total %d, findings %d", doc.Summary.Total, len(doc.Findings))
	}
	if took > 400*time.Millisecond+2*time.Second {
		t.Errorf("interrupted scan took %v, want it to stop within 2 s of the signal", took)
	}
	if !strings.Contains(errb.String(), "interrupted by SIGINT") {
		t.Errorf("stderr %q, want it to say the run was interrupted", errb.String())
	}
}

func TestScanProfiles(t *testing.T) {
	estate := generated(t, "accounts=3,regions=1,keys=2")
	ids := accountIDs(estate)
	// The third account has access keys of its own; the first is the
	// default credentials'.
	estate.Accounts[2].Credentials = append(estate.Accounts[2].Credentials, kmsemu.Credential{AccessKeyID: "AKIATHIRD", SecretAccessKey: "third-secret"})
	emu := startEmulator(t, estate)
	dir := t.TempDir()
	config := "[profile first]\nregion = us-east-1\nendpoint_url = " + emu.URL + "\n\n[profile third]\nregion = us-east-1\nendpoint_url = " + emu.URL + "\n"
	creds := "[first]\naws_access_key_id = " + kmsemu.DefaultAccessKeyID + "\naws_secret_access_key = " + kmsemu.DefaultSecretAccessKey +
		"\n\n[third]\naws_access_key_id = AKIATHIRD\naws_secret_access_key = third-secret\n"
	for name, body := range map[string]string{"config": config, "credentials": creds} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	doc, got := scanDoc(t, "--profiles", "first,third")
	if want := []string{ids[0], ids[2]}; !slices.Equal(doc.Scan.Accounts, want) {
		t.Errorf("--profiles first,third: scanned %v (exit %d, stderr %q), want %v", doc.Scan.Accounts, got.code, got.stderr, want)
	}
	got = runMain(t, "scan", "--profiles", "first,nosuch")
	if got.code != ExitFatal && got.code != ExitUsage || !strings.Contains(got.stderr, "nosuch") {
		t.Errorf("--profiles first,nosuch: exit %d, stderr %q; want an error naming the profile", got.code, got.stderr)
	}
}

// TestScanJSONLAgreesWithJSON checks the two machine formats end to end:
// the jsonl lines are the document's findings (in the order they were
// decided), then one summary line that agrees with the document's.
func TestScanJSONLAgreesWithJSON(t *testing.T) {
	startEmulator(t, kmsemu.DemoEstateAt(scanNow))
	doc, _ := scanDoc(t, "--org", "--regions", "all")
	got := runMain(t, "scan", "--quiet", "--org", "--regions", "all", "--output", "jsonl")
	lines := strings.Split(strings.TrimSuffix(got.stdout, "\n"), "\n")
	if len(lines) != len(doc.Findings)+1 {
		t.Fatalf("jsonl: %d lines, want %d findings and a summary line", len(lines), len(doc.Findings))
	}
	byID := map[string]string{}
	for _, f := range doc.Findings {
		b, _ := json.Marshal(f)
		byID[f.ID] = string(b)
	}
	for _, line := range lines[:len(lines)-1] {
		var f check.Finding
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			t.Fatalf("jsonl line %q: %v", line, err)
		}
		b, _ := json.Marshal(f)
		if byID[f.ID] != string(b) {
			t.Errorf("jsonl finding %s:\n got %s\nwant %s", f.ID, b, byID[f.ID])
		}
		delete(byID, f.ID)
	}
	if len(byID) > 0 {
		t.Errorf("jsonl lacks %d findings of the document", len(byID))
	}
	var last struct {
		Summary  *check.Summary `json:"summary"`
		Complete *bool          `json:"complete"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil || last.Summary == nil || last.Complete == nil {
		t.Fatalf("jsonl last line %q: want the summary line (%v)", lines[len(lines)-1], err)
	}
	if *last.Summary != doc.Summary || *last.Complete != doc.Scan.Complete {
		t.Errorf("jsonl summary %+v complete %v, want the document's %+v %v", *last.Summary, *last.Complete, doc.Summary, doc.Scan.Complete)
	}
}
