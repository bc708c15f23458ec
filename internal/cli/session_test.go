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

func scanDoc(t *testing.T, env awsEnv, args ...string) (report.Document, result) {
	t.Helper()
	got := runMain(t, env, append([]string{"scan", "--quiet", "--output", "json"}, args...)...)
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
	t.Parallel()
	estate := generated(t, "accounts=5,regions=1,keys=2")
	ids := accountIDs(estate)
	_, env := startEmulator(t, estate)

	// A list of IDs: each entered through the default role; one excluded.
	doc, got := scanDoc(t, env, "--accounts", strings.Join(ids[1:], ","), "--exclude-accounts", ids[2])
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
	doc, _ = scanDoc(t, env, "--accounts", "@"+file)
	if want := []string{ids[1], ids[3]}; !slices.Equal(doc.Scan.Accounts, want) {
		t.Errorf("--accounts @file: scanned %v, want %v", doc.Scan.Accounts, want)
	}
}

func TestScanSelectionUsageErrors(t *testing.T) {
	t.Parallel()
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
			env := isolateAWS(t)
			srv, requests := countingServer(t)
			env["AWS_ENDPOINT_URL"] = srv.URL
			env["AWS_ACCESS_KEY_ID"] = "AKIAEXAMPLE"
			env["AWS_SECRET_ACCESS_KEY"] = "secret"
			env["AWS_REGION"] = "us-east-1"
			got := runMain(t, env, append([]string{"scan"}, tt.args...)...)
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
	t.Parallel()
	estate := generated(t, "accounts=12,regions=2,keys=2")
	_, env := startEmulator(t, estate)
	whole, _ := scanDoc(t, env, "--org", "--regions", "all")
	if len(whole.Findings) != 12*2*2 {
		t.Fatalf("unsharded scan: %d findings, want 48", len(whole.Findings))
	}
	var union []string
	runIDs := map[string]bool{}
	for i := 1; i <= 4; i++ {
		doc, _ := scanDoc(t, env, "--org", "--regions", "all", "--shard", strings.Join([]string{string(rune('0' + i)), "4"}, "/"))
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
	env["JOB_COMPLETION_INDEX"] = "3"
	doc, _ := scanDoc(t, env, "--org", "--regions", "all", "--shard-count", "4")
	if doc.Scan.Shard == nil || doc.Scan.Shard.Index != 4 {
		t.Errorf("JOB_COMPLETION_INDEX=3 --shard-count 4: shard %+v, want 4/4", doc.Scan.Shard)
	}
}

func TestScanDeniedScopesAreErrors(t *testing.T) {
	t.Parallel()
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
	_, env := startEmulator(t, estate)
	doc, got := scanDoc(t, env, "--org", "--regions", "all")
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
	t.Parallel()
	vars := isolateAWS(t)
	estate := generated(t, "accounts=4,regions=2,keys=200")
	clock := kmsemu.NewClock()
	clock.Set(scanNow)
	clock.Freeze()
	emu, err := kmsemu.Start(kmsemu.Options{Estate: estate, Clock: clock, Latency: 20 * time.Millisecond}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	vars["AWS_ENDPOINT_URL"] = emu.URL
	vars["AWS_ACCESS_KEY_ID"] = kmsemu.DefaultAccessKeyID
	vars["AWS_SECRET_ACCESS_KEY"] = kmsemu.DefaultSecretAccessKey
	vars["AWS_REGION"] = "us-east-1"

	ctx, cancel := context.WithCancelCause(t.Context())
	time.AfterFunc(400*time.Millisecond, func() { cancel(&signalError{name: "SIGINT"}) })
	var out, errb strings.Builder
	env := &Env{Stdout: &out, Stderr: &errb, Getenv: vars.getenv, Now: func() time.Time { return scanNow }, Context: ctx, WorkingDir: t.TempDir()}
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
	t.Parallel()
	estate := generated(t, "accounts=3,regions=1,keys=2")
	ids := accountIDs(estate)
	// The third account has access keys of its own; the first is the
	// default credentials'.
	estate.Accounts[2].Credentials = append(estate.Accounts[2].Credentials, kmsemu.Credential{AccessKeyID: "AKIATHIRD", SecretAccessKey: "third-secret"})
	emu, env := startEmulator(t, estate)
	dir := t.TempDir()
	config := "[profile first]\nregion = us-east-1\nendpoint_url = " + emu.URL + "\n\n[profile third]\nregion = us-east-1\nendpoint_url = " + emu.URL + "\n"
	creds := "[first]\naws_access_key_id = " + kmsemu.DefaultAccessKeyID + "\naws_secret_access_key = " + kmsemu.DefaultSecretAccessKey +
		"\n\n[third]\naws_access_key_id = AKIATHIRD\naws_secret_access_key = third-secret\n"
	for name, body := range map[string]string{"config": config, "credentials": creds} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env["AWS_CONFIG_FILE"] = filepath.Join(dir, "config")
	env["AWS_SHARED_CREDENTIALS_FILE"] = filepath.Join(dir, "credentials")
	delete(env, "AWS_ACCESS_KEY_ID")
	delete(env, "AWS_SECRET_ACCESS_KEY")
	delete(env, "AWS_ENDPOINT_URL")
	doc, got := scanDoc(t, env, "--profiles", "first,third")
	if want := []string{ids[0], ids[2]}; !slices.Equal(doc.Scan.Accounts, want) {
		t.Errorf("--profiles first,third: scanned %v (exit %d, stderr %q), want %v", doc.Scan.Accounts, got.code, got.stderr, want)
	}
	got = runMain(t, env, "scan", "--profiles", "first,nosuch")
	if got.code != ExitFatal && got.code != ExitUsage || !strings.Contains(got.stderr, "nosuch") {
		t.Errorf("--profiles first,nosuch: exit %d, stderr %q; want an error naming the profile", got.code, got.stderr)
	}
}

// TestScanJSONLAgreesWithJSON checks the two machine formats end to end:
// the jsonl lines are the document's findings (in the order they were
// decided), then one summary line that agrees with the document's.
func TestScanJSONLAgreesWithJSON(t *testing.T) {
	t.Parallel()
	_, env := startEmulator(t, kmsemu.DemoEstateAt(scanNow))
	doc, _ := scanDoc(t, env, "--org", "--regions", "all")
	got := runMain(t, env, "scan", "--quiet", "--org", "--regions", "all", "--output", "jsonl")
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

// orgEstate is an organization with an OU tree and a GovCloud organization
// of its own (testdata/scan/org-estate.yaml).
func orgEstate(t *testing.T) *kmsemu.Estate {
	t.Helper()
	e, err := kmsemu.LoadEstate(filepath.Join("testdata", "scan", "org-estate.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestScanOrganizationalUnits(t *testing.T) {
	t.Parallel()
	emu, env := startEmulator(t, orgEstate(t))
	// Workloads holds Prod (111111111111) one level down: recursive.
	doc, got := scanDoc(t, env, "--ou", "ou-svc1-workload", "--regions", "all")
	if want := []string{"111111111111"}; !slices.Equal(doc.Scan.Accounts, want) {
		t.Errorf("--ou ou-svc1-workload: scanned %v (exit %d, %s), want %v", doc.Scan.Accounts, got.code, got.stderr, want)
	}
	// The org less an excluded account; the role of 222222222222 is denied,
	// so an --org scan without the exclusion has exactly that error.
	doc, _ = scanDoc(t, env, "--org", "--regions", "all", "--exclude-accounts", "222222222222")
	if want := []string{"111111111111", "123456789012"}; !slices.Equal(doc.Scan.Accounts, want) {
		t.Errorf("--org --exclude-accounts 222222222222: scanned %v, want %v", doc.Scan.Accounts, want)
	}
	for _, e := range doc.Errors {
		if e.AccountID == "222222222222" {
			t.Errorf("an excluded account has an error entry: %+v", e)
		}
	}
	// An OU the organization lacks: one sentence, exit 2, nothing written,
	// no key read.
	emu.Server.ResetRequests()
	got = runMain(t, env, "scan", "--ou", "ou-svc1-nosuch123", "--regions", "all", "--output", "json")
	if got.code != ExitUsage || got.stdout != "" || !strings.Contains(got.stderr, "ou-svc1-nosuch123 does not exist") {
		t.Errorf("unknown OU: exit %d, stdout %q, stderr %q; want exit 2, nothing written, the OU named", got.code, got.stdout, got.stderr)
	}
	for _, r := range emu.Server.Requests() {
		if r.Service == "kms" {
			t.Errorf("unknown OU: a KMS request (%s) was sent", r.Op)
			break
		}
	}
}

func TestScanGovCloudProfile(t *testing.T) {
	t.Parallel()
	emu, env := startEmulator(t, orgEstate(t))
	dir := t.TempDir()
	config := "[profile commercial]\nregion = us-east-1\nendpoint_url = " + emu.URL + "\n\n[profile gov]\nregion = us-gov-west-1\nendpoint_url = " + emu.URL + "\n"
	creds := "[commercial]\naws_access_key_id = " + kmsemu.DefaultAccessKeyID + "\naws_secret_access_key = " + kmsemu.DefaultSecretAccessKey +
		"\n\n[gov]\naws_access_key_id = AKIAGOVEXAMPLE000001\naws_secret_access_key = gov-secret\n"
	for name, body := range map[string]string{"config": config, "credentials": creds} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env["AWS_CONFIG_FILE"] = filepath.Join(dir, "config")
	env["AWS_SHARED_CREDENTIALS_FILE"] = filepath.Join(dir, "credentials")
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL", "AWS_REGION"} {
		delete(env, k)
	}
	doc, got := scanDoc(t, env, "--profiles", "commercial,gov", "--org", "--regions", "all")
	for _, a := range []string{"123456789012", "111111111111", "444444444444", "333333333333"} {
		if !slices.Contains(doc.Scan.Accounts, a) {
			t.Errorf("--profiles commercial,gov --org: scanned %v (exit %d, %s), want %s among them", doc.Scan.Accounts, got.code, got.stderr, a)
		}
	}
	var gov *check.Finding
	for i, f := range doc.Findings {
		if f.AccountID == "333333333333" {
			gov = &doc.Findings[i]
		}
	}
	if gov == nil || !strings.HasPrefix(gov.KeyARN, "arn:aws-us-gov:kms:us-gov-west-1:333333333333:key/") || gov.Region != "us-gov-west-1" {
		t.Fatalf("GovCloud key: %+v, want its aws-us-gov ARN in us-gov-west-1", gov)
	}
	// The GovCloud member was entered through its own partition's role and
	// STS, and its Organizations in us-gov-west-1.
	var sawGovOrg, sawGovSTS bool
	for _, r := range emu.Server.Requests() {
		if r.Service == "organizations" && r.Region == "us-gov-west-1" {
			sawGovOrg = true
		}
		if r.Op == "AssumeRole" && r.Account == "444444444444" && r.Region == "us-gov-west-1" {
			sawGovSTS = true
		}
	}
	if !sawGovOrg || !sawGovSTS {
		t.Errorf("GovCloud Organizations call seen %v, AssumeRole through us-gov-west-1 seen %v; want both", sawGovOrg, sawGovSTS)
	}
	if gov.ID == "" || gov.ID == check.FindingID("aws", gov.AccountID, gov.Region, gov.KeyID, gov.CheckID) {
		t.Errorf("GovCloud finding ID %q: want one computed with partition aws-us-gov", gov.ID)
	}
}
