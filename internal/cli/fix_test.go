package cli

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/kmsrotor/kmsrotor/internal/awskms"
	"github.com/kmsrotor/kmsrotor/internal/kmsemu"
	"github.com/kmsrotor/kmsrotor/internal/remediate"
	"github.com/kmsrotor/kmsrotor/internal/remediate/remediatetest"
)

const fixKeyPrefix = "00000000-0000-4000-8000-0000000000"

func fixKeyID(n string) string { return fixKeyPrefix + n }

// fixWorld is the emulator serving testdata/fix/estate.yaml, with the
// CloudFormation stand-in on the same endpoint: stack "app" owns keys 04
// and 05.
type fixWorld struct {
	emu *kmsemu.Server
	cfn *remediatetest.CloudFormation
	url string
	env awsEnv
}

func newFixWorld(t *testing.T, opts kmsemu.Options) *fixWorld {
	t.Helper()
	env := isolateAWS(t)
	if opts.Estate == nil {
		e, err := kmsemu.LoadEstate(filepath.Join("testdata", "fix", "estate.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		opts.Estate = e
	}
	if opts.Clock == nil {
		clock := kmsemu.NewClock()
		clock.Set(scanNow)
		clock.Freeze()
		opts.Clock = clock
	}
	emu, err := kmsemu.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	cfn := &remediatetest.CloudFormation{Stacks: []remediatetest.Stack{{Name: "app", Region: "us-east-1", Resources: []remediatetest.Resource{
		{LogicalID: "Bucket", PhysicalID: "app-bucket", Type: "AWS::S3::Bucket"},
		{LogicalID: "DataKey", PhysicalID: fixKeyID("04"), Type: "AWS::KMS::Key"},
		{LogicalID: "LogKey", PhysicalID: fixKeyID("05"), Type: "AWS::KMS::Key"},
	}}, {Name: "empty", Region: "us-east-1"}}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if remediatetest.IsRequest(r) {
			cfn.ServeHTTP(w, r)
			return
		}
		emu.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	env["AWS_ENDPOINT_URL"] = srv.URL
	env["AWS_ACCESS_KEY_ID"] = kmsemu.DefaultAccessKeyID
	env["AWS_SECRET_ACCESS_KEY"] = kmsemu.DefaultSecretAccessKey
	env["AWS_REGION"] = "us-east-1"
	env["XDG_STATE_HOME"] = t.TempDir()
	return &fixWorld{emu: emu, cfn: cfn, url: srv.URL, env: env}
}

// report scans the world into a JSON report, with the finding of
// alias/muted muted, and returns its path.
func (w *fixWorld) report(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "scan.json")
	if r := runScanFast(t, w.env, "--regions", "all", "--output", "json", "--output-file", path); r.code != 3 {
		t.Fatalf("scan: exit %d, want 3\n%s", r.code, r.stderr)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, f := range doc["findings"].([]any) {
		f := f.(map[string]any)
		if f["key_id"] == fixKeyID("07") {
			f["muted"] = true
		}
	}
	b, _ = json.Marshal(doc)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	w.emu.ResetRequests()
	return path
}

func (w *fixWorld) calls(op, region string) int {
	n := 0
	for _, r := range w.emu.Requests() {
		if r.Op == op && (region == "" || r.Region == region) && r.Status == 200 {
			n++
		}
	}
	return n
}

func (w *fixWorld) kms(t *testing.T, region string) *kms.Client {
	cfg := awskms.StaticConfig(w.url, region, kmsemu.DefaultAccessKeyID, kmsemu.DefaultSecretAccessKey, awskms.ClientOptions{})
	return kms.NewFromConfig(cfg)
}

func (w *fixWorld) rotation(t *testing.T, region, id string) (bool, int) {
	t.Helper()
	out, err := w.kms(t, region).GetKeyRotationStatus(t.Context(), &kms.GetKeyRotationStatusInput{KeyId: aws.String(id)})
	if err != nil {
		t.Fatalf("GetKeyRotationStatus %s: %v", id, err)
	}
	return out.KeyRotationEnabled, int(aws.ToInt32(out.RotationPeriodInDays))
}

// fastBackoff retries at once: tests that inject throttles wait for no
// backoff (the attempts are still counted and bounded).
var fastBackoff = awskms.ClientOptions{Backoff: retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) {
	return time.Millisecond, nil
})}

// runScanFast runs kmsrotor scan with a tiny retry backoff.
func runScanFast(t *testing.T, vars awsEnv, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	env := &Env{Stdout: &out, Stderr: &errb, Getenv: vars.getenv, Now: func() time.Time { return scanNow },
		Context: t.Context(), WorkingDir: t.TempDir()}
	cmd := scanCommand(&scanOptions{env: env, selection: selection{demoEmulator: demoEmulator, client: fastBackoff}})
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	code := exitCode(cmd.ExecuteContext(t.Context()), &errb)
	return result{code, out.String(), errb.String()}
}

// runFixFast runs kmsrotor fix with a tiny retry backoff.
func runFixFast(t *testing.T, vars awsEnv, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	env := &Env{Stdout: &out, Stderr: &errb, Getenv: vars.getenv, Now: func() time.Time { return scanNow },
		Context: t.Context(), WorkingDir: t.TempDir()}
	o := &fixOptions{env: env, selection: selection{demoEmulator: demoEmulator, client: fastBackoff}}
	cmd := fixCommand(o)
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	code := exitCode(cmd.ExecuteContext(t.Context()), &errb)
	return result{code, out.String(), errb.String()}
}

func decodeFix(t *testing.T, s string) *remediate.Report {
	t.Helper()
	var rep remediate.Report
	if err := json.Unmarshal([]byte(s), &rep); err != nil {
		t.Fatalf("decode fix output: %v\n%s", err, s)
	}
	return &rep
}

// readOnly reports whether an operation only reads.
func readOnly(op string) bool {
	for _, p := range []string{"Get", "List", "Describe"} {
		if strings.HasPrefix(op, p) {
			return true
		}
	}
	return false
}

func TestFixPlanDryRun(t *testing.T) {
	t.Parallel()
	w := newFixWorld(t, kmsemu.Options{})
	report := w.report(t)
	r := runMain(t, w.env, "fix", "--from", report, "--managed-by-tag", "managed-by=terraform", "--output", "json")
	if r.code != 0 {
		t.Fatalf("fix dry run: exit %d\n%s", r.code, r.stderr)
	}
	rep := decodeFix(t, r.stdout)
	var changes []string
	for _, c := range rep.Plan.Changes {
		changes = append(changes, c.Region+" "+c.KeyID+" "+string(c.Action)+" "+strings.Join(c.Replicas, ","))
	}
	wantChanges := []string{
		"eu-west-1 " + fixKeyID("16") + " enable_rotation ",
		"us-east-1 " + fixKeyID("01") + " enable_rotation ",
		"us-east-1 " + fixKeyID("02") + " change_period ",
		"us-east-1 mrk-00000000000040008000000000000008 enable_rotation arn:aws:kms:eu-west-1:123456789012:key/mrk-00000000000040008000000000000008",
	}
	if !slices.Equal(changes, wantChanges) {
		t.Errorf("changes:\n got %q\nwant %q", changes, wantChanges)
	}
	var left []string
	for _, l := range rep.Plan.LeftAlone {
		s := strings.TrimPrefix(l.KeyID, fixKeyPrefix) + " " + l.Why
		if l.Stack != "" {
			s += " " + l.Stack + "/" + l.LogicalID + " " + l.Template
		}
		if l.Tag != "" {
			s += " " + l.Tag
		}
		left = append(left, s)
	}
	wantLeft := []string{
		"04 stack_owned app/DataKey EnableKeyRotation: true, RotationPeriodInDays: 365",
		"05 stack_owned app/LogKey EnableKeyRotation: true, RotationPeriodInDays: 365",
		"06 managed_by_tag managed-by=terraform",
		"07 muted",
		"09 ineligible",
		"10 ineligible",
		"11 imported_key_material",
		"12 ineligible",
		"13 ineligible",
		"14 key_disabled",
		"15 ineligible",
	}
	if !slices.Equal(left, wantLeft) {
		t.Errorf("left alone:\n got %q\nwant %q", left, wantLeft)
	}
	if rep.Plan.Compliant != 1 {
		t.Errorf("compliant = %d, want 1 (key 03)", rep.Plan.Compliant)
	}
	for _, req := range w.emu.Requests() {
		if !readOnly(req.Op) {
			t.Errorf("dry run sent %s (%s): want read-only calls only", req.Op, req.Region)
		}
	}
	if w.cfn.Calls()["ListStacks"] == 0 {
		t.Errorf("CloudFormation calls = %v: ownership was not asked", w.cfn.Calls())
	}

	table := runMain(t, w.env, "fix", "--from", report)
	for _, s := range []string{"stack app, resource DataKey", "kmsrotor iac --fix", "dry run, nothing was changed"} {
		if !strings.Contains(table.stdout+table.stderr, s) {
			t.Errorf("plan table: no %q in\n%s%s", s, table.stdout, table.stderr)
		}
	}
}

func TestFixApplyVerify(t *testing.T) {
	t.Parallel()
	w := newFixWorld(t, kmsemu.Options{})
	report := w.report(t)
	journal := filepath.Join(t.TempDir(), "j.jsonl")
	r := runMain(t, w.env, "fix", "--from", report, "--apply", "--yes", "--journal", journal, "--output", "json", "--rotation-period-days", "180", "--max-rotation-days", "365")
	if r.code != 0 {
		t.Fatalf("fix --apply: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	rep := decodeFix(t, r.stdout)
	// Without --managed-by-tag, key 06 is changed too.
	if rep.Summary == nil || rep.Summary.Verified != 5 || rep.Summary.Failed != 0 {
		t.Errorf("summary = %+v, want 5 VERIFIED", rep.Summary)
	}
	if n, eu := w.calls("EnableKeyRotation", ""), w.calls("EnableKeyRotation", "eu-west-1"); n != 5 || eu != 1 {
		t.Errorf("EnableKeyRotation calls = %d (%d in eu-west-1), want 5 (1 in eu-west-1: the replica is fixed on its primary)", n, eu)
	}
	for _, k := range []struct {
		region, id string
		on         bool
		period     int
	}{
		{"us-east-1", fixKeyID("01"), true, 180},
		{"us-east-1", fixKeyID("02"), true, 180},                         // period change
		{"us-east-1", fixKeyID("03"), true, 180},                         // compliant, untouched
		{"eu-west-1", "mrk-00000000000040008000000000000008", true, 180}, // the replica shares its primary's
		{"us-east-1", fixKeyID("04"), false, 0},                          // stack-owned
		{"us-east-1", fixKeyID("07"), false, 0},                          // muted
		{"us-east-1", fixKeyID("06"), true, 180},                         // managed-by, not asked to respect it
		{"eu-west-1", fixKeyID("16"), true, 180},
	} {
		if on, period := w.rotation(t, k.region, k.id); on != k.on || period != k.period {
			t.Errorf("%s: rotation %v every %d days, want %v every %d", k.id, on, period, k.on, k.period)
		}
	}
	// Run again: the journal's run ended, so a fresh plan from the old report
	// is applied again (AWS's answer is the same), and all verify.
	if r := runMain(t, w.env, "fix", "--from", report, "--apply", "--yes", "--journal", journal, "--rotation-period-days", "180", "--max-rotation-days", "365"); r.code != 0 {
		t.Errorf("second run: exit %d\n%s", r.code, r.stderr)
	}
}

func TestFixThrottledEveryKeyVerified(t *testing.T) {
	t.Parallel()
	w := newFixWorld(t, kmsemu.Options{Faults: kmsemu.Faults{Throttle: map[string]float64{
		"EnableKeyRotation": 0.5, "GetKeyRotationStatus": 0.4}}})
	report := w.report(t)
	r := runFixFast(t, w.env, "--from", report, "--apply", "--yes", "--include-stack-managed", "--output", "json",
		"--journal", filepath.Join(t.TempDir(), "j"))
	if r.code != 0 {
		t.Fatalf("fix under throttling: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	rep := decodeFix(t, r.stdout)
	if rep.Summary.Verified != 7 || rep.Summary.Failed != 0 {
		t.Errorf("summary = %+v, want 7 VERIFIED (4 + 2 stack-owned + 1 managed-by without the tag flag)", rep.Summary)
	}
	throttled := 0
	for _, req := range w.emu.Requests() {
		if req.ErrorCode == "ThrottlingException" {
			throttled++
		}
	}
	if throttled == 0 {
		t.Error("no request was throttled: the fault did not apply")
	}
}

func TestFixUsageErrors(t *testing.T) {
	t.Parallel()
	w := newFixWorld(t, kmsemu.Options{})
	report := w.report(t)
	notReport := filepath.Join(t.TempDir(), "x.json")
	os.WriteFile(notReport, []byte(`{"hello":"world"}`), 0o644)
	write := func(body string) string {
		p := filepath.Join(t.TempDir(), "r.json")
		os.WriteFile(p, []byte(body), 0o644)
		return p
	}
	prowler := write(`{"schema_version":1,"tool":{"name":"prowler"},"findings":[]}`)
	iacReport := write(`{"schema_version":1,"tool":{"name":"kmsrotor"},"findings":[{"check_id":"kms_cmk_rotation_enabled","source":"terraform","file":"main.tf"}]}`)
	otherCheck := write(`{"schema_version":1,"tool":{"name":"kmsrotor"},"findings":[{"check_id":"s3_bucket_public","account_id":"123456789012"}]}`)
	other := filepath.Join(t.TempDir(), "other.jsonl")
	os.WriteFile(other, []byte(`{"type":"begin","estate":"0123456789abcdef","accounts":["999999999999"]}`+"\n"), 0o644)
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"period too short", []string{"--from", report, "--rotation-period-days", "30"}, "outside the range AWS allows (90 to 2560)"},
		{"period too long", []string{"--from", report, "--rotation-period-days", "3000"}, "outside the range"},
		{"period above max", []string{"--from", report, "--rotation-period-days", "400", "--max-rotation-days", "365"}, "above --max-rotation-days"},
		{"not a report", []string{"--from", notReport}, "not a kmsrotor report"},
		{"no such file", []string{"--from", "nope.json"}, "--from nope.json"},
		{"empty", []string{"--from", write("")}, "not a kmsrotor report"},
		{"an array", []string{"--from", write("[]")}, "not a kmsrotor report"},
		{"another tool's", []string{"--from", prowler}, `written by "prowler"`},
		{"an iac report", []string{"--from", iacReport}, "has no live findings"},
		{"another check's", []string{"--from", otherCheck}, `check_id "s3_bucket_public"`},
		{"apply unattended", []string{"--from", report, "--apply"}, "needs --yes"},
		{"yes without apply", []string{"--from", report, "--yes"}, "only with --apply"},
		{"bad tag", []string{"--from", report, "--tag", "novalue"}, "want KEY=VALUE"},
		{"journal of another estate", []string{"--from", report, "--apply", "--yes", "--journal", other}, "journal of another estate"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w.emu.ResetRequests()
			r := runMain(t, w.env, append([]string{"fix"}, tt.args...)...)
			if r.code != 2 || !strings.Contains(r.stderr, tt.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
				t.Errorf("fix %v: exit %d, stderr %q; want exit 2 and one line with %q", tt.args, r.code, r.stderr, tt.want)
			}
			if n := len(w.emu.Requests()) + w.cfn.Calls()["ListStacks"]; n != 0 {
				t.Errorf("fix %v: %d API calls, want none", tt.args, n)
			}
		})
	}
}

func TestIAMPolicy(t *testing.T) {
	t.Parallel()
	for mode, want := range map[string][]string{
		"scan":       {"kms:GetKeyRotationStatus", "kms:ListKeys", "sts:AssumeRole", "ec2:DescribeRegions"},
		"fix":        {"kms:EnableKeyRotation", "cloudformation:ListStacks", "cloudformation:ListStackResources", "cloudformation:DescribeStackResources"},
		"rotate-now": {"kms:RotateKeyOnDemand", "kms:DescribeKey", "kms:ListKeyRotations"},
	} {
		r := runMain(t, nil, "iam-policy", mode)
		var doc struct {
			Version   string
			Statement []struct {
				Effect, Resource string
				Action           []string
			}
		}
		if err := json.Unmarshal([]byte(r.stdout), &doc); r.code != 0 || err != nil || len(doc.Statement) != 1 {
			t.Fatalf("iam-policy %s: exit %d, %v\n%s", mode, r.code, err, r.stdout)
		}
		for _, a := range want {
			if !slices.Contains(doc.Statement[0].Action, a) {
				t.Errorf("iam-policy %s: no %s in %v", mode, a, doc.Statement[0].Action)
			}
		}
		if mode != "fix" && slices.Contains(doc.Statement[0].Action, "kms:EnableKeyRotation") {
			t.Errorf("iam-policy %s grants kms:EnableKeyRotation", mode)
		}
	}
	if r := runMain(t, nil, "iam-policy", "admin"); r.code != 2 {
		t.Errorf("iam-policy admin: exit %d, want 2", r.code)
	}
}

func TestFixTagsAndUncheckedOwnership(t *testing.T) {
	t.Parallel()
	w := newFixWorld(t, kmsemu.Options{})
	report := w.report(t)
	changed := func(args ...string) []string {
		t.Helper()
		r := runMain(t, w.env, append([]string{"fix", "--from", report, "--output", "json"}, args...)...)
		if r.code != 0 {
			t.Fatalf("fix %v: exit %d\n%s", args, r.code, r.stderr)
		}
		var ids []string
		for _, c := range decodeFix(t, r.stdout).Plan.Changes {
			ids = append(ids, strings.TrimPrefix(c.KeyID, fixKeyPrefix))
		}
		return ids
	}
	if got := changed("--tag", "managed-by=terraform"); !slices.Equal(got, []string{"06"}) {
		t.Errorf("--tag managed-by=terraform changes %q, want only 06", got)
	}
	if got := changed("--exclude-tag", "managed-by=terraform"); slices.Contains(got, "06") || len(got) != 4 {
		t.Errorf("--exclude-tag managed-by=terraform changes %q, want the 4 others", got)
	}
	w.cfn.Deny = map[string]bool{"123456789012": true}
	r := runMain(t, w.env, "fix", "--from", report, "--output", "json")
	rep := decodeFix(t, r.stdout)
	if len(rep.Plan.Changes) != 0 || len(rep.Plan.Unchecked) != 2 {
		t.Errorf("CloudFormation denied: %d changes, %d unchecked account-Regions; want 0 and 2", len(rep.Plan.Changes), len(rep.Plan.Unchecked))
	}
	if got := changed("--include-stack-managed"); len(got) != 7 {
		t.Errorf("CloudFormation denied, --include-stack-managed: changes %q, want all 7", got)
	}
}

func TestFixConfirmsOnTerminal(t *testing.T) {
	t.Parallel()
	w := newFixWorld(t, kmsemu.Options{})
	report := w.report(t)
	for _, tt := range []struct {
		answer string
		calls  int
	}{{"n\n", 0}, {"yes\n", 5}} {
		var out, errb bytes.Buffer
		env := &Env{Stdin: strings.NewReader(tt.answer), StdinTTY: true, Stdout: &out, Stderr: &errb, Getenv: w.env.getenv,
			Now: func() time.Time { return scanNow }, Context: t.Context()}
		code := Main([]string{"fix", "--from", report, "--apply", "--journal", filepath.Join(t.TempDir(), "j")}, env)
		if code != 0 || !strings.Contains(errb.String(), "Apply 5 change(s)") {
			t.Errorf("answer %q: exit %d, stderr %q", tt.answer, code, errb.String())
		}
		if n := w.calls("EnableKeyRotation", ""); n != tt.calls {
			t.Errorf("answer %q: %d EnableKeyRotation calls, want %d", tt.answer, n, tt.calls)
		}
	}
}

func TestFixDemo(t *testing.T) {
	t.Parallel()
	env := isolateAWS(t)
	env["XDG_STATE_HOME"] = t.TempDir()
	r := runMain(t, env, "fix", "--demo")
	if r.code != 0 || !strings.Contains(r.stdout, "Plan:") || !strings.Contains(r.stdout, "CloudFormation stack security-baseline owns this key") {
		t.Errorf("fix --demo: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = runMain(t, env, "fix", "--demo", "--include-stack-managed", "--apply", "--yes", "--output", "json")
	if r.code != 0 {
		t.Fatalf("fix --demo --apply: exit %d\n%s", r.code, r.stderr)
	}
	if rep := decodeFix(t, r.stdout); rep.Summary.Verified == 0 || rep.Summary.Failed != 0 {
		t.Errorf("fix --demo --apply: %+v, want every change VERIFIED", rep.Summary)
	}
}
