package kmsemu

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// adminDo sends an admin request and decodes the JSON answer.
func adminDo(t *testing.T, method, url, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(data) > 0 {
		if err := json.Unmarshal(data, &out); err != nil {
			t.Fatalf("%s %s: body %q is not JSON: %v", method, url, data, err)
		}
	}
	return resp.StatusCode, out
}

func TestAdminClock(t *testing.T) {
	t.Parallel()
	clock := NewClock()
	clock.Freeze()
	run := startFrame(t, Options{Estate: frameEstate(), Clock: clock})
	url := run.URL + "/_kmsemu/clock"
	set := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	steps := []struct {
		method, body string
		wantStatus   int
		wantNow      time.Time // zero: do not check
		wantErr      string
	}{
		{"POST", `{"set":"2027-03-01T12:00:00Z"}`, 200, set, ""},
		{"GET", "", 200, set, ""},
		{"POST", `{"advance":"72h"}`, 200, set.Add(72 * time.Hour), ""},
		{"POST", `{"advance":"30d"}`, 200, set.Add(72*time.Hour + 30*24*time.Hour), ""},
		{"POST", `{"advance":"-1h"}`, 400, time.Time{}, "positive duration"},
		{"POST", `{"advance":"soon"}`, 400, time.Time{}, "positive duration"},
		{"POST", `{"set":"yesterday"}`, 400, time.Time{}, "RFC 3339"},
		{"POST", `{"set":"2027-03-01T12:00:00Z","advance":"1h"}`, 400, time.Time{}, "not both"},
		{"POST", `{"jump":"1h"}`, 400, time.Time{}, "unknown field"},
		{"POST", `{}`, 400, time.Time{}, "want"},
		{"PUT", `{}`, 405, time.Time{}, "GET or POST"},
		{"GET", "", 200, set.Add(72*time.Hour + 30*24*time.Hour), ""},
	}
	for i, s := range steps {
		status, out := adminDo(t, s.method, url, s.body)
		if status != s.wantStatus {
			t.Errorf("step %d: %s clock %s: status %d (%v), want %d", i, s.method, s.body, status, out, s.wantStatus)
			continue
		}
		if !s.wantNow.IsZero() {
			got, err := time.Parse(time.RFC3339, out["now"].(string))
			if err != nil || !got.Equal(s.wantNow) {
				t.Errorf("step %d: %s clock %s: now %v, want %v", i, s.method, s.body, out["now"], s.wantNow)
			}
		}
		if s.wantErr != "" && !strings.Contains(out["error"].(string), s.wantErr) {
			t.Errorf("step %d: %s clock %s: error %q, want it to contain %q", i, s.method, s.body, out["error"], s.wantErr)
		}
	}
	if got := run.Server.Clock().Now(); !got.Equal(set.Add(72*time.Hour + 30*24*time.Hour)) {
		t.Errorf("Server.Clock().Now() = %v after the admin calls, want %v", got, set.Add(102*24*time.Hour))
	}
	if status, _ := adminDo(t, "GET", run.URL+"/_kmsemu/nothing", ""); status != 404 {
		t.Errorf("GET /_kmsemu/nothing: status %d, want 404", status)
	}
}

func TestRequestLog(t *testing.T) {
	t.Parallel()
	run := startFrame(t, Options{Estate: frameEstate()})
	ctx := context.Background()
	if _, err := sts.NewFromConfig(defaultConfig(run)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
	if _, err := newEC2Client(sdkConfig(run.URL, DefaultAccessKeyID, "wrong", "eu-west-1")).DescribeRegions(ctx, &ec2DescribeRegionsInput{}); err == nil {
		t.Fatal("DescribeRegions with a wrong secret succeeded")
	}
	if _, err := sts.NewFromConfig(defaultConfig(run)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}

	reqs := run.Server.Requests()
	want := []Request{
		{Service: "sts", Op: "GetCallerIdentity", Account: DefaultAccount, Region: "us-east-1", Status: 200},
		{Service: "ec2", Op: "DescribeRegions", Region: "eu-west-1", Status: 401, ErrorCode: "AuthFailure"},
		{Service: "sts", Op: "GetCallerIdentity", Account: DefaultAccount, Region: "us-east-1", Status: 200},
	}
	if len(reqs) != len(want) {
		t.Fatalf("Requests() = %+v, want %d entries", reqs, len(want))
	}
	for i := range want {
		got := reqs[i]
		if got.Time.IsZero() {
			t.Errorf("Requests()[%d] has no time", i)
		}
		got.Time = time.Time{}
		if got != want[i] {
			t.Errorf("Requests()[%d] = %+v, want %+v", i, got, want[i])
		}
	}
	if calls := run.Server.Calls(); calls["GetCallerIdentity"] != 2 || calls["DescribeRegions"] != 1 || len(calls) != 2 {
		t.Errorf("Calls() = %v, want GetCallerIdentity 2, DescribeRegions 1", calls)
	}

	status, out := adminDo(t, "GET", run.URL+"/_kmsemu/requests", "")
	if status != 200 || len(out["requests"].([]any)) != 3 || out["calls"].(map[string]any)["GetCallerIdentity"] != float64(2) {
		t.Errorf("GET /_kmsemu/requests = %d %v, want 200 with 3 requests and 2 GetCallerIdentity calls", status, out)
	}
	first := out["requests"].([]any)[1].(map[string]any)
	if first["service"] != "ec2" || first["op"] != "DescribeRegions" || first["error_code"] != "AuthFailure" || first["status"] != float64(401) {
		t.Errorf("GET /_kmsemu/requests: second entry %v, want ec2 DescribeRegions 401 AuthFailure", first)
	}
	if status, _ := adminDo(t, "DELETE", run.URL+"/_kmsemu/requests", ""); status != http.StatusNoContent {
		t.Errorf("DELETE /_kmsemu/requests: status %d, want 204", status)
	}
	if reqs, calls := run.Server.Requests(), run.Server.Calls(); len(reqs) != 0 || len(calls) != 0 {
		t.Errorf("after DELETE /_kmsemu/requests: %d requests, calls %v; want none", len(reqs), calls)
	}
}

func TestRequestLogRing(t *testing.T) {
	t.Parallel()
	l := newRequestLog(3)
	for i, op := range []string{"A", "B", "C", "D", "E"} {
		l.add(Request{Op: op, Status: i})
	}
	s := &Server{log: l}
	var ops []string
	for _, r := range s.Requests() {
		ops = append(ops, r.Op)
	}
	if strings.Join(ops, "") != "CDE" {
		t.Errorf("a log of 3 after A..E holds %v, want C D E", ops)
	}
	if c := s.Calls(); c["A"] != 1 || c["E"] != 1 || len(c) != 5 {
		t.Errorf("Calls() = %v, want every operation counted once", c)
	}
}
