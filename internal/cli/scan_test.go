package cli

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kmsrotor/kmsrotor/internal/awskms"
	"github.com/kmsrotor/kmsrotor/internal/check"
	"github.com/kmsrotor/kmsrotor/internal/kmsemu"
	"github.com/kmsrotor/kmsrotor/internal/report"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// scanNow is the frozen time of the emulator and of the CLI in these tests.
var scanNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

const testAccount = "123456789012"

// awsEnv is the environment a test's command sees: the tester's own AWS
// settings never reach it (TestMain clears them from the process too, since
// the SDK falls back to the process environment).
type awsEnv map[string]string

// isolateAWS returns an environment whose shared files are empty temporary
// files and in which instance metadata is off.
func isolateAWS(t *testing.T) awsEnv {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"config", "credentials"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return awsEnv{
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
	}
}

func (e awsEnv) getenv(k string) string { return e[k] }

// countingServer stands in for AWS where no request may arrive.
func countingServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		http.Error(w, "no request expected", http.StatusTeapot)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

type result struct {
	code           int
	stdout, stderr string
}

func runMain(t *testing.T, vars awsEnv, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	env := &Env{
		Stdout:     &out,
		Stderr:     &errb,
		Getenv:     vars.getenv,
		Now:        func() time.Time { return scanNow },
		Context:    t.Context(),
		WorkingDir: t.TempDir(),
	}
	code := Main(args, env)
	return result{code, out.String(), errb.String()}
}

// startEmulator serves estate with a frozen clock and points the SDK's
// default chain at it through the environment, as a user would.
func startEmulator(t *testing.T, estate *kmsemu.Estate) (*kmsemu.Running, awsEnv) {
	t.Helper()
	env := isolateAWS(t)
	clock := kmsemu.NewClock()
	clock.Set(scanNow)
	clock.Freeze()
	emu, err := kmsemu.Start(kmsemu.Options{Estate: estate, Clock: clock}, "127.0.0.1:0")
	if err != nil {
		t.Fatalf("start emulator: %v", err)
	}
	t.Cleanup(func() { emu.Close() })
	env["AWS_ENDPOINT_URL"] = emu.URL
	env["AWS_ACCESS_KEY_ID"] = kmsemu.DefaultAccessKeyID
	env["AWS_SECRET_ACCESS_KEY"] = kmsemu.DefaultSecretAccessKey
	env["AWS_REGION"] = "us-east-1"
	return emu, env
}

func TestScanUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		args      []string
		noRegion  bool
		wantInErr string
	}{
		{"unknown output format", []string{"--output", "xml"}, false, `unknown output format "xml"`},
		{"sarif is not a scan format", []string{"--output", "sarif"}, false, "unknown output format"},
		{"unknown Region", []string{"--region", "moon-1"}, false, `"moon-1" is not a Region name`},
		{"Region in capitals", []string{"--region", "US-EAST-1"}, false, "is not a Region name"},
		{"--regions other than all", []string{"--regions", "us-east-1"}, false, `--regions accepts only "all"`},
		{"--regions all with --region", []string{"--regions", "all", "--region", "us-east-1"}, false, "cannot be used together"},
		{"--demo with --profile", []string{"--demo", "--profile", "prod"}, false, "drop --profile or --demo"},
		{"--org with --role-arn", []string{"--org", "--role-arn", "arn:aws:iam::222222222222:role/Audit"}, false, "--org and --role-arn"},
		{"bad role ARN", []string{"--role-arn", "arn:aws:iam::12:role/x"}, false, "is not a role ARN"},
		{"--role-name without --org", []string{"--role-name", "Audit"}, false, "--role-name applies only with --org, --ou or --accounts"},
		{"--external-id alone", []string{"--external-id", "abc"}, false, "--external-id applies only"},
		{"policy period below AWS's minimum", []string{"--max-rotation-days", "30"}, false, "outside the range AWS allows"},
		{"negative grace", []string{"--rotation-grace-days", "-1"}, false, "negative"},
		{"zero concurrency", []string{"--concurrency", "0"}, false, "--concurrency 0"},
		{"negative quota scale", []string{"--quota-scale", "-1"}, false, "--quota-scale"},
		{"unknown pacing", []string{"--pace", "sometimes"}, false, "use adaptive, always or off"},
		{"argument", []string{"everything"}, false, "unknown command"},
		{"unknown flag", []string{"--nope"}, false, "unknown flag"},
		{"no Region configured", nil, true, "no AWS Region configured: pass --region"},
		{"unknown profile", []string{"--profile", "nosuch"}, false, "nosuch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := isolateAWS(t)
			srv, requests := countingServer(t)
			env["AWS_ENDPOINT_URL"] = srv.URL
			env["AWS_ACCESS_KEY_ID"] = "AKIAEXAMPLE"
			env["AWS_SECRET_ACCESS_KEY"] = "secret"
			if !tt.noRegion {
				env["AWS_REGION"] = "us-east-1"
			}
			got := runMain(t, env, append([]string{"scan"}, tt.args...)...)
			if got.code != ExitUsage || !strings.Contains(got.stderr, tt.wantInErr) || got.stdout != "" {
				t.Errorf("scan %v: got exit %d, stdout %q, stderr %q; want exit %d, no stdout, stderr containing %q",
					tt.args, got.code, got.stdout, got.stderr, ExitUsage, tt.wantInErr)
			}
			if n := requests.Load(); n != 0 {
				t.Errorf("scan %v: got %d requests, want none before validation passes", tt.args, n)
			}
		})
	}
}

func TestScanHelpLoadsNothing(t *testing.T) {
	t.Parallel()
	env := isolateAWS(t)
	srv, requests := countingServer(t)
	env["AWS_ENDPOINT_URL"] = srv.URL
	got := runMain(t, env, "scan", "--help")
	if got.code != ExitOK || !strings.Contains(got.stdout, "--max-rotation-days") || !strings.Contains(got.stdout, "Exit codes:") {
		t.Errorf("scan --help: got exit %d, stdout %q; want 0 and the flags and exit codes", got.code, got.stdout)
	}
	if requests.Load() != 0 {
		t.Errorf("scan --help: got %d requests, want none", requests.Load())
	}
}

func TestScanNoCredentials(t *testing.T) {
	t.Parallel()
	env := isolateAWS(t)
	srv, requests := countingServer(t)
	env["AWS_ENDPOINT_URL"] = srv.URL
	env["AWS_REGION"] = "eu-west-1"
	got := runMain(t, env, "scan")
	lines := strings.Split(strings.TrimRight(got.stderr, "\n"), "\n")
	if got.code != ExitFatal || len(lines) != 1 || !strings.Contains(got.stderr, "no AWS credentials found") ||
		!strings.Contains(got.stderr, "--profile") || !strings.Contains(got.stderr, "--demo") {
		t.Errorf("scan without credentials: got exit %d, stderr %q; want exit %d and one line suggesting --profile or --demo",
			got.code, got.stderr, ExitFatal)
	}
	for _, noise := range []string{"goroutine", "operation error", "IMDS", "panic"} {
		if strings.Contains(got.stderr, noise) {
			t.Errorf("scan without credentials: stderr %q contains %q, want one plain sentence", got.stderr, noise)
		}
	}
	if requests.Load() != 0 {
		t.Errorf("scan without credentials: got %d requests, want none", requests.Load())
	}
}

// TestScanUnreachable checks that an endpoint nobody listens on is one
// plain sentence and exit 1, not the SDK's error chain.
func TestScanUnreachable(t *testing.T) {
	t.Parallel()
	env := isolateAWS(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	env["AWS_ENDPOINT_URL"] = "http://" + addr
	env["AWS_REGION"] = "eu-west-1"
	env["AWS_ACCESS_KEY_ID"] = "test"
	env["AWS_SECRET_ACCESS_KEY"] = "test"
	env["AWS_MAX_ATTEMPTS"] = "1"
	got := runMain(t, env, "scan")
	if got.code != ExitFatal || !strings.Contains(got.stderr, "cannot reach AWS at "+addr) || strings.Contains(got.stderr, "operation error") {
		t.Errorf("scan against a closed port: got exit %d, stderr %q; want exit %d and a sentence naming %s",
			got.code, got.stderr, ExitFatal, addr)
	}
}

// exitEstate is one account with the keys a test asks for in us-east-1.
func exitEstate(keys []kmsemu.KeyDef, deny ...kmsemu.DenyRule) *kmsemu.Estate {
	return &kmsemu.Estate{
		Accounts: []kmsemu.Account{{ID: testAccount, Regions: []string{"us-east-1", "eu-west-1"},
			Credentials: []kmsemu.Credential{{AccessKeyID: kmsemu.DefaultAccessKeyID, SecretAccessKey: kmsemu.DefaultSecretAccessKey}},
			Keys:        keys}},
		Deny: deny,
	}
}

func TestScanExitCodes(t *testing.T) {
	t.Parallel()
	rotating := kmsemu.KeyDef{ID: "11111111-1111-4111-8111-000000000001", Region: "us-east-1", Rotation: kmsemu.RotationDef{Enabled: true}}
	static := kmsemu.KeyDef{ID: "11111111-1111-4111-8111-000000000002", Region: "us-east-1"}
	tests := []struct {
		name   string
		estate *kmsemu.Estate
		args   []string
		env    map[string]string
		want   int
	}{
		{"all rotating", exitEstate([]kmsemu.KeyDef{rotating}), nil, nil, ExitOK},
		{"no keys", exitEstate(nil), nil, nil, ExitOK},
		{"a key not rotating", exitEstate([]kmsemu.KeyDef{rotating, static}), nil, nil, ExitFail},
		{"a key not rotating, skipped while disabled", exitEstate([]kmsemu.KeyDef{rotating, {ID: static.ID, Region: "us-east-1", State: "Disabled"}}), nil, nil, ExitOK},
		{"a disabled key not rotating, disabled keys evaluated", exitEstate([]kmsemu.KeyDef{rotating, {ID: static.ID, Region: "us-east-1", State: "Disabled"}}), []string{"--include-disabled"}, nil, ExitFail},
		{"a key that cannot be described", exitEstate([]kmsemu.KeyDef{rotating, static}, kmsemu.DenyRule{Operation: "DescribeKey", KeyID: static.ID}), nil, nil, ExitIncomplete},
		{"a key whose rotation cannot be read", exitEstate([]kmsemu.KeyDef{rotating, static}, kmsemu.DenyRule{Operation: "GetKeyRotationStatus", KeyID: static.ID}), nil, nil, ExitIncomplete},
		{"a Region that cannot be listed", exitEstate([]kmsemu.KeyDef{rotating}, kmsemu.DenyRule{Operation: "ListKeys", Region: "eu-west-1"}), []string{"--region", "us-east-1", "--region", "eu-west-1"}, nil, ExitIncomplete},
		{"a FAIL outranks an ERROR", exitEstate([]kmsemu.KeyDef{rotating, static}, kmsemu.DenyRule{Operation: "DescribeKey", KeyID: rotating.ID}), nil, nil, ExitFail},
		{"rejected credentials", exitEstate([]kmsemu.KeyDef{rotating}), nil, map[string]string{"AWS_ACCESS_KEY_ID": "AKIAUNKNOWN"}, ExitFatal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, env := startEmulator(t, tt.estate)
			for k, v := range tt.env {
				env[k] = v
			}
			args := append([]string{"scan", "--output", "json"}, tt.args...)
			got := runMain(t, env, args...)
			if got.code != tt.want {
				t.Errorf("%v: got exit %d (stderr %q), want %d\nstdout: %s", args, got.code, got.stderr, tt.want, got.stdout)
			}
		})
	}
}

// goldenEstate has one key of each kind a report shows, in two Regions, one
// of them with a Region-level error.
func goldenEstate() *kmsemu.Estate {
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return &kmsemu.Estate{
		Accounts: []kmsemu.Account{{
			ID: testAccount, Name: "golden", Email: "golden@example.com",
			Regions:     []string{"us-east-1", "eu-west-1", "ap-southeast-2"},
			Credentials: []kmsemu.Credential{{AccessKeyID: kmsemu.DefaultAccessKeyID, SecretAccessKey: kmsemu.DefaultSecretAccessKey}},
			Keys: []kmsemu.KeyDef{
				{ID: "11111111-1111-4111-8111-000000000001", Region: "us-east-1", Created: jan, Rotation: kmsemu.RotationDef{Enabled: true, PeriodDays: 365, EnabledAt: jan}, Aliases: []string{"alias/payments"}},
				{ID: "11111111-1111-4111-8111-000000000002", Region: "us-east-1", Created: jan, Aliases: []string{"alias/legacy"}},
				{ID: "11111111-1111-4111-8111-000000000003", Region: "us-east-1", Created: jan, Rotation: kmsemu.RotationDef{Enabled: true, PeriodDays: 730, EnabledAt: jan}},
				{ID: "11111111-1111-4111-8111-000000000004", Region: "us-east-1", Created: jan, Rotation: kmsemu.RotationDef{Enabled: true, PeriodDays: 365, EnabledAt: jan.AddDate(-1, 0, 0), NextRotation: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)}},
				{ID: "11111111-1111-4111-8111-000000000005", Region: "us-east-1", Created: jan, Origin: "EXTERNAL", State: "Enabled"},
				{ID: "11111111-1111-4111-8111-000000000006", Region: "us-east-1", Created: jan, Spec: "RSA_2048", Usage: "SIGN_VERIFY"},
				{ID: "11111111-1111-4111-8111-000000000007", Region: "us-east-1", Created: jan, Manager: "AWS", Aliases: []string{"alias/aws/s3"}},
				{ID: "11111111-1111-4111-8111-000000000008", Region: "us-east-1", Created: jan, Rotation: kmsemu.RotationDef{Enabled: true, EnabledAt: jan}},
				{ID: "mrk-0000000000000000000000000000aaaa", Region: "us-east-1", Created: jan, MultiRegion: true, ReplicaRegions: []string{"eu-west-1", "ap-southeast-2"}, Aliases: []string{"alias/orders"}},
			},
		}},
		Deny: []kmsemu.DenyRule{
			{Operation: "GetKeyRotationStatus", KeyID: "11111111-1111-4111-8111-000000000008"},
			{Operation: "ListAliases", Region: "ap-southeast-2"},
		},
	}
}

func TestScanGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		file string
	}{
		{"json", []string{"--output", "json"}, "scan.json"},
		{"table", nil, "scan.txt"},
		{"table with skipped", []string{"--show-skipped"}, "scan-show-skipped.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, env := startEmulator(t, goldenEstate())
			args := append([]string{"scan", "--region", "us-east-1", "--region", "eu-west-1", "--region", "ap-southeast-2"}, tt.args...)
			got := runMain(t, env, args...)
			if got.code != ExitFail {
				t.Errorf("%v: got exit %d (stderr %q), want %d", args, got.code, got.stderr, ExitFail)
			}
			golden(t, filepath.Join("testdata", "scan", tt.file), got.stdout)
		})
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test ./internal/cli -run %s -update): %v", t.Name(), err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (refresh with -update if the change is intended):\n got:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestScanJSONDocument(t *testing.T) {
	t.Parallel()
	_, env := startEmulator(t, goldenEstate())
	got := runMain(t, env, "scan", "--output", "json", "--region", "us-east-1", "--region", "eu-west-1", "--region", "ap-southeast-2")
	var doc report.Document
	if err := json.Unmarshal([]byte(got.stdout), &doc); err != nil {
		t.Fatalf("stdout is not a JSON document: %v\n%s", err, got.stdout)
	}
	byID := map[string]check.Finding{}
	for _, f := range doc.Findings {
		byID[f.Region+"/"+f.KeyID] = f
	}
	primary := "arn:aws:kms:us-east-1:" + testAccount + ":key/mrk-0000000000000000000000000000aaaa"
	for _, region := range []string{"eu-west-1", "ap-southeast-2"} {
		f := byID[region+"/mrk-0000000000000000000000000000aaaa"]
		if f.Status != check.StatusFail || f.Key.PrimaryKeyARN != primary || f.Remediation.TargetKeyARN != primary || f.Remediation.TargetRegion != "us-east-1" {
			t.Errorf("replica in %s: got status %s primary %q fix target %q in %q; want FAIL fixed on %s in us-east-1",
				region, f.Status, f.Key.PrimaryKeyARN, f.Remediation.TargetKeyARN, f.Remediation.TargetRegion, primary)
		}
	}
	if f := byID["us-east-1/11111111-1111-4111-8111-000000000008"]; f.Status != check.StatusError || f.Error == nil || f.Error.Operation != "GetKeyRotationStatus" || f.Error.Code != "AccessDeniedException" {
		t.Errorf("denied key: got %s %+v, want ERROR with GetKeyRotationStatus AccessDeniedException", f.Status, f.Error)
	}
	if doc.SchemaVersion != 1 || doc.Scan.Kind != "aws" || doc.Scan.Complete || len(doc.Errors) != 1 ||
		doc.Errors[0].Region != "ap-southeast-2" || doc.Errors[0].Operation != "ListAliases" {
		t.Errorf("document: got schema %d kind %q complete %v errors %+v; want 1, aws, false, one ListAliases error in ap-southeast-2",
			doc.SchemaVersion, doc.Scan.Kind, doc.Scan.Complete, doc.Errors)
	}
	if doc.Scan.Calls["DescribeKey"] != 11 || doc.Scan.Calls["ListKeys"] != 3 {
		t.Errorf("api_calls: got %v, want 11 DescribeKey and 3 ListKeys", doc.Scan.Calls)
	}
}

func TestScanOutputFile(t *testing.T) {
	t.Parallel()
	_, env := startEmulator(t, goldenEstate())
	dir := t.TempDir()
	path := filepath.Join(dir, "report.json")
	if err := os.WriteFile(path, []byte("old report"), 0o644); err != nil {
		t.Fatal(err)
	}
	got := runMain(t, env, "scan", "--output", "json", "--output-file", path, "--region", "us-east-1")
	if got.code != ExitFail || got.stdout != "" {
		t.Fatalf("scan --output-file: got exit %d stdout %q stderr %q, want %d and nothing on stdout", got.code, got.stdout, got.stderr, ExitFail)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc report.Document
	if err := json.Unmarshal(data, &doc); err != nil || len(doc.Findings) != 9 {
		t.Errorf("report file: got %d findings (error %v), want 9\n%s", len(doc.Findings), err, data)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory after the write: got %v, want only report.json (no temporary file left)", names)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("report file mode: got %v (%v), want 0644", st.Mode().Perm(), err)
	}

}

// TestOutputFileChecked: an --output-file that cannot be written is a usage
// error at flag time, before any API call (scan) or any file is rewritten
// (iac --fix).
func TestOutputFileChecked(t *testing.T) {
	t.Parallel()
	env := isolateAWS(t)
	srv, requests := countingServer(t)
	env["AWS_ENDPOINT_URL"] = srv.URL
	env["AWS_ACCESS_KEY_ID"] = "AKIAEXAMPLE"
	env["AWS_SECRET_ACCESS_KEY"] = "secret"
	env["AWS_REGION"] = "us-east-1"
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		want string
	}{
		{"missing directory", filepath.Join(dir, "missing", "r.json"), "does not exist"},
		{"parent is a file", filepath.Join(notDir, "r.json"), "is not a directory"},
		{"a directory", dir, "is a directory"},
	}
	for _, tt := range tests {
		for _, cmd := range [][]string{
			{"scan", "--region", "us-east-1"},
			{"iac", "--fix", "."},
		} {
			t.Run(tt.name+" "+cmd[0], func(t *testing.T) {
				t.Parallel()
				project := iacFixture(t, "project")
				before := tree(t, project)
				var got result
				if cmd[0] == "iac" {
					r := runIacMain(t, project, append(cmd[1:], "--output-file", tt.path)...)
					got = result(r)
				} else {
					got = runMain(t, env, append(cmd, "--output-file", tt.path)...)
				}
				if got.code != ExitUsage || !strings.Contains(got.stderr, "--output-file") || !strings.Contains(got.stderr, tt.want) || got.stdout != "" {
					t.Errorf("%s --output-file %s: got exit %d, stdout %q, stderr %q; want exit %d, stderr naming --output-file and containing %q",
						cmd[0], tt.path, got.code, got.stdout, got.stderr, ExitUsage, tt.want)
				}
				if n := requests.Load(); n != 0 {
					t.Errorf("%s --output-file %s: got %d requests, want none", cmd[0], tt.path, n)
				}
				if c := changed(before, tree(t, project)); len(c) > 0 {
					t.Errorf("%s --output-file %s changed %v, want nothing written", cmd[0], tt.path, c)
				}
			})
		}
	}
}

func TestScanDemo(t *testing.T) {
	t.Parallel()
	env := isolateAWS(t)
	// The user's AWS settings must not reach the demo.
	srv, requests := countingServer(t)
	env["AWS_ENDPOINT_URL"] = srv.URL
	env["AWS_ENDPOINT_URL_KMS"] = srv.URL
	env["AWS_ACCESS_KEY_ID"] = "AKIAREALUSER"
	env["AWS_SECRET_ACCESS_KEY"] = "real-secret"
	env["AWS_REGION"] = "eu-central-1"

	got := runMain(t, env, "scan", "--demo", "--output", "json")
	var doc report.Document
	if err := json.Unmarshal([]byte(got.stdout), &doc); err != nil {
		t.Fatalf("scan --demo --output json: exit %d, stderr %q, stdout not JSON: %v", got.code, got.stderr, err)
	}
	statuses := map[check.Status]int{}
	for _, f := range doc.Findings {
		statuses[f.Status]++
	}
	for _, s := range check.Statuses {
		if statuses[s] == 0 {
			t.Errorf("scan --demo: no %s finding (got %v), want every status", s, statuses)
		}
	}
	if len(doc.Scan.Accounts) < 2 || len(doc.Scan.Regions) < 2 {
		t.Errorf("scan --demo: scanned accounts %v Regions %v, want the organization in several Regions", doc.Scan.Accounts, doc.Scan.Regions)
	}
	if got.code != ExitFail {
		t.Errorf("scan --demo: got exit %d, want %d (the demo has failing keys)", got.code, ExitFail)
	}
	if !strings.Contains(got.stderr, "demo") || !strings.Contains(got.stderr, "no AWS account was used") || strings.Count(got.stderr, "\n") != 1 {
		t.Errorf("scan --demo: stderr %q, want one line saying it scanned the demo estate on a local emulator", got.stderr)
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("scan --demo: %d requests reached AWS_ENDPOINT_URL, want none", n)
	}

	table := runMain(t, env, "scan", "--demo")
	for _, s := range []string{"FAIL", "MANUAL", "ERROR", "enable-key-rotation"} {
		if !strings.Contains(table.stdout, s) {
			t.Errorf("scan --demo table: no %q in\n%s", s, table.stdout)
		}
	}
}

func TestScanFlagsBind(t *testing.T) {
	t.Parallel()
	args := []string{"--profile", "p", "--region", "us-east-1", "--region", "eu-west-1", "--org", "--role-name", "Audit",
		"--external-id", "xyz", "--output", "JSON", "--output-file", "f.json", "--max-rotation-days", "180",
		"--rotation-grace-days", "3", "--include-disabled", "--show-skipped", "--concurrency", "8", "--quota-scale", "2.5"}
	o := &scanOptions{env: &Env{Now: func() time.Time { return scanNow }}}
	cmd := scanCommand(o)
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	if err := o.validate(cmd); err != nil {
		t.Fatalf("validate %v: %v", args, err)
	}
	got := fmt.Sprintf("%q %q %v %v %q %q %q %q %v %v %v %v %v %v", o.Profile, o.Regions, o.Org, o.Demo, o.RoleName, o.ExternalID,
		o.reports.formats, o.OutputFile, o.policy, o.ShowSkipped, o.Concurrency, o.QuotaScale, o.RoleARNs, o.RegionsMode)
	wantPolicy := check.Policy{MaxRotationDays: 180, GraceDays: 3, IncludeDisabled: true, Now: scanNow}
	want := fmt.Sprintf("%q %q %v %v %q %q %q %q %v %v %v %v %v %v", "p", []string{"us-east-1", "eu-west-1"}, true, false, "Audit", "xyz",
		[]report.Format{report.FormatJSON}, "f.json", wantPolicy, true, 8, 2.5, []string(nil), "")
	if got != want {
		t.Errorf("flags %v:\n got %s\nwant %s", args, got, want)
	}

	o = &scanOptions{env: &Env{Now: func() time.Time { return scanNow }}}
	cmd = scanCommand(o)
	if err := cmd.ParseFlags(nil); err != nil {
		t.Fatal(err)
	}
	if err := o.validate(cmd); err != nil {
		t.Fatalf("validate defaults: %v", err)
	}
	if len(o.reports.formats) != 1 || o.reports.formats[0] != report.FormatTable || o.policy != check.DefaultPolicy(scanNow) || o.Concurrency != awskms.DefaultConcurrency || o.QuotaScale != 1 || o.RoleName != "OrganizationAccountAccessRole" {
		t.Errorf("defaults: got format %q policy %+v concurrency %d quota scale %g role %q; want table, %+v, 128, 1, OrganizationAccountAccessRole",
			o.reports.formats, o.policy, o.Concurrency, o.QuotaScale, o.RoleName, check.DefaultPolicy(scanNow))
	}
}
