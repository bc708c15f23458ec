package securityhub

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kmsrotor/kmsrotor/internal/awskms"
	"github.com/kmsrotor/kmsrotor/internal/check"
	"github.com/kmsrotor/kmsrotor/internal/report"
)

var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// hub is a Security Hub stand-in that validates as BatchImportFindings
// does: at most 100 findings a call (else InvalidInputException for the
// call), each finding's required fields and types (else that finding is in
// FailedFindings), and the finding's account and Region must be the
// caller's. It keeps the latest version of each finding by Id.
type hub struct {
	mu       sync.Mutex
	calls    []int // findings per call
	findings map[string]map[string]any
	reject   string // a resource ARN rejected as Security Hub rejects an oversized finding
}

var credScope = regexp.MustCompile(`Credential=AK(\d{12})/\d{8}/([a-z0-9-]+)/securityhub/aws4_request`)

func (h *hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := credScope.FindStringSubmatch(r.Header.Get("Authorization"))
	if r.Method != http.MethodPost || r.URL.Path != "/findings/import" || m == nil {
		http.Error(w, `{"__type":"InvalidInputException","Message":"bad request"}`, http.StatusBadRequest)
		return
	}
	account, region := m[1], m[2]
	body, _ := io.ReadAll(r.Body)
	var in struct{ Findings []map[string]any }
	if err := json.Unmarshal(body, &in); err != nil || len(in.Findings) == 0 {
		http.Error(w, `{"__type":"InvalidInputException","Message":"Findings is required"}`, http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = append(h.calls, len(in.Findings))
	if len(in.Findings) > 100 {
		w.Header().Set("X-Amzn-Errortype", "InvalidInputException")
		http.Error(w, `{"__type":"InvalidInputException","Message":"Findings has more than 100 items"}`, http.StatusBadRequest)
		return
	}
	type failed struct{ Id, ErrorCode, ErrorMessage string }
	var out struct {
		FailedCount, SuccessCount int
		FailedFindings            []failed
	}
	for _, f := range in.Findings {
		id, _ := f["Id"].(string)
		problems := report.ValidateASFF(f)
		if f["AwsAccountId"] != account || f["Region"] != region {
			problems = append(problems, "the finding's account and Region are not the caller's")
		}
		if res, ok := f["Resources"].([]any); ok && len(res) > 0 && res[0].(map[string]any)["Id"] == h.reject {
			problems = append(problems, "finding size exceeded")
		}
		if len(problems) > 0 {
			out.FailedFindings = append(out.FailedFindings, failed{id, "InvalidInput", strings.Join(problems, "; ")})
			continue
		}
		h.findings[id] = f
		out.SuccessCount++
	}
	out.FailedCount = len(out.FailedFindings)
	json.NewEncoder(w).Encode(out)
}

func clearAWSEnv(t *testing.T) {
	for _, v := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECURITYHUB", "AWS_PROFILE", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		t.Setenv(v, "")
	}
}

func clients(url string) ClientFor {
	c := awskms.NewClients(1, false)
	return func(account, region string) (API, error) {
		cfg := awskms.StaticConfig(url, region, "AK"+account, "secret", awskms.ClientOptions{MaxAttempts: 1, AttemptTimeout: 5 * time.Second})
		return c.Raw(cfg, "securityhub", "SecurityHub", account, region), nil
	}
}

func finding(account, region string, n int, status check.Status) check.Finding {
	id := fmt.Sprintf("11111111-2222-4333-8444-%012d", n)
	f := check.Finding{CheckID: check.CheckID, Status: status, Reason: check.ReasonRotationDisabled, Severity: "medium",
		Message: "key " + id + " does not rotate", Source: "aws", AccountID: account, Region: region, KeyID: id,
		KeyARN: "arn:aws:kms:" + region + ":" + account + ":key/" + id, Compliance: check.RotationRule.Compliance,
		Remediation: check.Remediation{Text: "Enable rotation."}}
	if status == check.StatusPass {
		f.Reason, f.Severity = check.ReasonRotationEnabled, "informational"
	}
	return f
}

func run(t *testing.T, url string, fs []check.Finding) Result {
	t.Helper()
	s := NewSink(context.Background(), clients(url))
	doc := &report.Document{Tool: report.Tool{Name: "kmsrotor", Version: "test"},
		Scan: report.Scan{Kind: "aws", StartedAt: now, EvaluatedAt: now, Policy: report.PolicyFacts{MaxRotationDays: 365}}, Findings: fs}
	if err := report.Feed(s, doc); err != nil {
		t.Fatal(err)
	}
	return s.Result()
}

func TestImportBatchesAndFailures(t *testing.T) {
	clearAWSEnv(t)
	h := &hub{findings: map[string]map[string]any{}}
	srv := httptest.NewServer(h)
	defer srv.Close()

	var fs []check.Finding
	for i := range 250 {
		fs = append(fs, finding("123456789012", "eu-west-1", i, check.StatusFail))
	}
	h.reject = fs[7].KeyARN
	res := run(t, srv.URL, fs)
	if fmt.Sprint(h.calls) != "[100 100 50]" || res.Batches != 3 {
		t.Errorf("250 findings: calls %v (%d batches), want [100 100 50]", h.calls, res.Batches)
	}
	if res.Imported != 249 || len(res.Failures) != 1 || res.Failures[0].KeyARN != fs[7].KeyARN || res.Failures[0].Code != "InvalidInput" {
		t.Errorf("got imported %d failures %+v; want 249 and the one rejected finding", res.Imported, res.Failures)
	}
	lines := res.Describe()
	if len(lines) != 2 || !strings.Contains(lines[1], fs[7].KeyARN) {
		t.Errorf("Describe() = %q; want a summary and the rejected finding's key", lines)
	}

	// The key is fixed: the next run sends it PASSED and ARCHIVED under the same Id.
	var failedID string
	for id, f := range h.findings {
		if f["Resources"].([]any)[0].(map[string]any)["Id"] == fs[0].KeyARN {
			failedID = id
		}
	}
	h.calls = nil
	res = run(t, srv.URL, []check.Finding{finding("123456789012", "eu-west-1", 0, check.StatusPass)})
	got := h.findings[failedID]
	if res.Imported != 1 || got["RecordState"] != "ARCHIVED" || got["Compliance"].(map[string]any)["Status"] != "PASSED" {
		t.Errorf("resolved key: imported %d, stored %v / %v; want the same Id ARCHIVED and PASSED", res.Imported, got["RecordState"], got["Compliance"])
	}
	if len(h.findings) != 249 {
		t.Errorf("hub holds %d findings, want 249 (the resolved one replaced, not added)", len(h.findings))
	}
}

func TestImportPerAccountRegion(t *testing.T) {
	clearAWSEnv(t)
	h := &hub{findings: map[string]map[string]any{}}
	srv := httptest.NewServer(h)
	defer srv.Close()
	fs := []check.Finding{
		finding("111111111111", "us-east-1", 1, check.StatusFail),
		finding("222222222222", "eu-west-1", 2, check.StatusFail),
		finding("111111111111", "eu-west-1", 3, check.StatusFail),
		{CheckID: check.CheckID, Status: check.StatusFail, File: "main.tf", StartLine: 1, Resource: "aws_kms_key.a"},
	}
	fs[2].Rotation.PeriodDays = 365
	res := run(t, srv.URL, fs)
	// Each finding went to its own account-Region (the hub rejects any other).
	if res.Imported != 3 || len(res.Failures) != 0 || len(h.calls) != 3 {
		t.Errorf("got imported %d, failures %v, calls %v; want 3 findings in 3 calls, the IaC one not sent", res.Imported, res.Failures, h.calls)
	}
}

func TestImportCallFailure(t *testing.T) {
	clearAWSEnv(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Amzn-Errortype", "InvalidAccessException")
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `{"__type":"InvalidAccessException","Message":"Account 123456789012 is not subscribed to AWS Security Hub"}`)
	}))
	defer srv.Close()
	res := run(t, srv.URL, []check.Finding{finding("123456789012", "eu-west-1", 1, check.StatusFail), finding("123456789012", "eu-west-1", 2, check.StatusFail)})
	if res.Imported != 0 || len(res.Failures) != 2 || res.Failures[0].Code != "InvalidAccessException" {
		t.Errorf("got %+v; want both findings failed with InvalidAccessException", res)
	}
}
