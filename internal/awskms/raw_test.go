package awskms

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/kmsrotor/kmsrotor/internal/kmsemu"
)

// rawServer answers each request with the next of answers (the last one
// repeats) and records the requests' forms.
type rawAnswer struct {
	status int
	header map[string]string
	body   string
}

func rawServer(t *testing.T, answers ...rawAnswer) (*httptest.Server, *atomic.Int64, chan url.Values) {
	t.Helper()
	var n atomic.Int64
	forms := make(chan url.Values, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		b, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(b))
		if r.Header.Get("Authorization") == "" || !strings.Contains(r.Header.Get("Authorization"), "/ec2/aws4_request") {
			http.Error(w, "unsigned or not signed for ec2: "+r.Header.Get("Authorization"), http.StatusBadRequest)
			return
		}
		select {
		case forms <- form:
		default:
		}
		a := answers[min(i, len(answers)-1)]
		for k, v := range a.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	}))
	t.Cleanup(srv.Close)
	return srv, &n, forms
}

func rawEC2(endpoint string, c *Clients) *Raw {
	cfg := StaticConfig(endpoint, "us-east-1", "test", "test", fastRetries)
	if c == nil {
		return NewRaw(cfg, "ec2", "EC2", "us-east-1")
	}
	return c.Raw(cfg, "ec2", "EC2", acct, "us-east-1")
}

func TestRawParseError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		status    int
		header    map[string]string
		body      string
		wantCode  string
		wantMsg   string
		wantReqID string
	}{
		{"query ErrorResponse", 403, nil,
			`<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized to assume</Message></Error><RequestId>req-1</RequestId></ErrorResponse>`,
			"AccessDenied", "not authorized to assume", "req-1"},
		{"ec2 Response", 400, nil,
			`<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation.</Message></Error></Errors><RequestID>req-2</RequestID></Response>`,
			"UnauthorizedOperation", "You are not authorized to perform this operation.", ""},
		{"json __type with namespace", 400, nil,
			`{"__type":"com.amazonaws.kms#NotFoundException","message":"Key does not exist"}`,
			"NotFoundException", "Key does not exist", ""},
		{"json Message in capitals", 400, nil,
			`{"__type":"AccessDeniedException","Message":"no access"}`,
			"AccessDeniedException", "no access", ""},
		{"rest-json code, error type header wins", 429, map[string]string{"X-Amzn-Errortype": "LimitExceededException:http://internal/", "X-Amzn-Requestid": "req-3"},
			`{"code":"Other","message":"slow down"}`,
			"LimitExceededException", "slow down", "req-3"},
		{"no error body", 502, nil, "<html>Bad Gateway</html>", "HTTP502", "<html>Bad Gateway</html>", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp := &http.Response{StatusCode: tt.status, Header: http.Header{}}
			for k, v := range tt.header {
				resp.Header.Set(k, v)
			}
			got := parseError(resp, []byte(tt.body))
			if got.Code != tt.wantCode || got.Message != tt.wantMsg || got.StatusCode != tt.status || got.RequestID != tt.wantReqID {
				t.Errorf("parseError(%d, %s): got code %q message %q status %d request %q; want %q %q %d %q",
					tt.status, tt.body, got.Code, got.Message, got.StatusCode, got.RequestID, tt.wantCode, tt.wantMsg, tt.status, tt.wantReqID)
			}
			if code, msg := classify(got); code != tt.wantCode || msg != tt.wantMsg {
				t.Errorf("classify(%v): got %q %q, want the AWS code and message %q %q", got, code, msg, tt.wantCode, tt.wantMsg)
			}
		})
	}
}

func TestRawRetries(t *testing.T) {
	t.Parallel()
	ok := rawAnswer{200, nil, `<DescribeRegionsResponse><regionInfo><item><regionName>us-east-1</regionName></item></regionInfo></DescribeRegionsResponse>`}
	throttle := rawAnswer{503, nil, `<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors></Response>`}
	unavailable := rawAnswer{500, nil, `<Response><Errors><Error><Code>InternalError</Code><Message>An internal error has occurred</Message></Error></Errors></Response>`}
	denied := rawAnswer{403, nil, `<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized</Message></Error></Errors></Response>`}
	tests := []struct {
		name         string
		answers      []rawAnswer
		wantRequests int64
		wantCode     string // "" for success
	}{
		{"throttle then answer", []rawAnswer{throttle, ok}, 2, ""},
		{"5xx then answer", []rawAnswer{unavailable, unavailable, ok}, 3, ""},
		{"throttled past the attempts", []rawAnswer{throttle}, int64(fastRetries.MaxAttempts), "RequestLimitExceeded"},
		{"access denied is not retried", []rawAnswer{denied, ok}, 1, "UnauthorizedOperation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, n, _ := rawServer(t, tt.answers...)
			regions, err := describeRegions(t.Context(), rawEC2(srv.URL, nil))
			code := ""
			if err != nil {
				code, _ = classify(err)
			}
			if n.Load() != tt.wantRequests || code != tt.wantCode {
				t.Errorf("answers %v: got %d requests, error %v (code %q), Regions %v; want %d requests and code %q",
					tt.answers, n.Load(), err, code, regions, tt.wantRequests, tt.wantCode)
			}
			if tt.wantCode == "" && !slices.Equal(regions, []string{"us-east-1"}) {
				t.Errorf("answers %v: got Regions %v, want [us-east-1]", tt.answers, regions)
			}
		})
	}
}

func TestRawEndpoint(t *testing.T) {
	t.Parallel()
	env := func(vars map[string]string) envEndpoints { return func(k string) string { return vars[k] } }
	tests := []struct {
		name    string
		sources []any
		base    string
		region  string
		want    string
	}{
		{"service endpoint first", []any{env(map[string]string{"AWS_ENDPOINT_URL_EC2": "http://ec2.local:1/"})}, "http://all.local:2", "us-east-1", "http://ec2.local:1"},
		{"another service's endpoint is not ours", []any{env(map[string]string{"AWS_ENDPOINT_URL_KMS": "http://kms.local:1"})}, "http://all.local:2", "us-east-1", "http://all.local:2"},
		{"base endpoint", nil, "http://all.local:2/", "us-east-1", "http://all.local:2"},
		{"aws partition", nil, "", "eu-west-1", "https://ec2.eu-west-1.amazonaws.com"},
		{"china partition", nil, "", "cn-north-1", "https://ec2.cn-north-1.amazonaws.com.cn"},
		{"GovCloud partition", nil, "", "us-gov-west-1", "https://ec2.us-gov-west-1.amazonaws.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := aws.Config{ConfigSources: tt.sources}
			if tt.base != "" {
				cfg.BaseEndpoint = aws.String(tt.base)
			}
			if got := NewRaw(cfg, "ec2", "EC2", tt.region).Endpoint(t.Context()); got != tt.want {
				t.Errorf("endpoint of ec2 in %s (sources %v, base %q): got %q, want %q", tt.region, tt.sources, tt.base, got, tt.want)
			}
		})
	}
}

// TestRawEndpointFromEnvironment checks that LoadConfig's injected
// AWS_ENDPOINT_URL_EC2 reaches Raw ahead of AWS_ENDPOINT_URL.
func TestRawEndpointFromEnvironment(t *testing.T) {
	t.Parallel()
	vars := map[string]string{
		"AWS_ENDPOINT_URL_EC2": "http://ec2.local:1", "AWS_ENDPOINT_URL": "http://all.local:2", "AWS_REGION": "eu-west-1",
		"AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
	}
	cfg, err := LoadConfig(t.Context(), func(k string) string { return vars[k] }, "", fastRetries)
	if err != nil {
		t.Fatal(err)
	}
	if got := NewRaw(cfg, "ec2", "EC2", cfg.Region).Endpoint(t.Context()); got != "http://ec2.local:1" {
		t.Errorf("EC2 endpoint with %v: got %q, want AWS_ENDPOINT_URL_EC2", vars, got)
	}
	if got := NewRaw(cfg, "cloudformation", "CloudFormation", cfg.Region).Endpoint(t.Context()); got != "http://all.local:2" {
		t.Errorf("CloudFormation endpoint with %v: got %q, want AWS_ENDPOINT_URL", vars, got)
	}
}

// TestRawPacing checks the pacing hook: a throttle engages adaptive pacing
// for that account, Region and operation only, and every attempt is counted.
func TestRawPacing(t *testing.T) {
	t.Parallel()
	ok := rawAnswer{200, nil, `<DescribeRegionsResponse><regionInfo><item><regionName>us-east-1</regionName></item></regionInfo></DescribeRegionsResponse>`}
	throttle := rawAnswer{503, nil, `<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors></Response>`}
	srv, _, _ := rawServer(t, throttle, ok)
	c := NewClients(0.001, false)
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	waitTwice := func(region, op string) error {
		for range 2 {
			if err := c.pace.wait(cancelled, acct, region, op); err != nil {
				return err
			}
		}
		return nil
	}
	if err := waitTwice("us-east-1", "DescribeRegions"); err != nil {
		t.Fatalf("adaptive pacing before any throttle: got %v, want no wait", err)
	}
	if _, err := describeRegions(t.Context(), rawEC2(srv.URL, c)); err != nil {
		t.Fatalf("describeRegions after one throttle: %v", err)
	}
	if got := c.Calls()["DescribeRegions"]; got != 2 {
		t.Errorf("calls counted: got %d DescribeRegions, want 2 (the throttled attempt and its retry)", got)
	}
	if err := waitTwice("us-east-1", "DescribeRegions"); !errors.Is(err, context.Canceled) {
		t.Errorf("after a throttle, a second request at once on a cancelled context: got %v, want it to wait (context.Canceled)", err)
	}
	if err := waitTwice("eu-west-1", "DescribeRegions"); err != nil {
		t.Errorf("another Region after a throttle: got %v, want it still unpaced", err)
	}
}

func TestDescribeRegionsRecorded(t *testing.T) {
	t.Parallel()
	body, err := os.ReadFile(filepath.Join("testdata", "describe-regions.xml"))
	if err != nil {
		t.Fatal(err)
	}
	srv, _, forms := rawServer(t, rawAnswer{200, map[string]string{"Content-Type": "text/xml;charset=UTF-8"}, string(body)})
	got, err := describeRegions(t.Context(), rawEC2(srv.URL, nil))
	want := []string{"af-south-1", "eu-west-1", "us-east-1", "us-west-2"}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("describeRegions of testdata/describe-regions.xml: got %v, %v; want %v", got, err, want)
	}
	form := <-forms
	if form.Get("Action") != "DescribeRegions" || form.Get("Version") != "2016-11-15" || form.Has("AllRegions") {
		t.Errorf("request form %v, want Action=DescribeRegions, Version=2016-11-15 and no AllRegions (enabled Regions only)", form)
	}
}

func TestDescribeRegionsEmulator(t *testing.T) {
	t.Parallel()
	enabled := []string{"us-east-1", "eu-west-1", "af-south-1", "ap-southeast-2"}
	emu, _ := start(t, kmsemu.Options{Estate: &kmsemu.Estate{Accounts: []kmsemu.Account{
		{ID: acct, Regions: enabled, Credentials: creds()},
	}}}, fastRetries)
	got, err := describeRegions(t.Context(), rawEC2(emu.URL, nil))
	want := slices.Sorted(slices.Values(enabled))
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("describeRegions against the emulator: got %v, %v; want the enabled Regions %v", got, err, want)
	}

	// An account without enabled Regions listed has AWS's default ones.
	emu, _ = start(t, kmsemu.Options{}, fastRetries)
	got, err = describeRegions(t.Context(), rawEC2(emu.URL, nil))
	if err != nil || len(got) < 10 || !slices.Contains(got, "us-east-1") || slices.Contains(got, "af-south-1") {
		t.Errorf("describeRegions, default account: got %v, %v; want AWS's default Regions, without opt-in ones", got, err)
	}

	// Wrong credentials are an AWS error with AWS's code.
	bad := NewRaw(StaticConfig(emu.URL, "us-east-1", "AKIAUNKNOWN000000000", "x", fastRetries), "ec2", "EC2", "us-east-1")
	if _, err := describeRegions(t.Context(), bad); err == nil {
		t.Error("describeRegions with unknown credentials: got no error")
	} else if code, _ := classify(err); code != "AuthFailure" {
		t.Errorf("describeRegions with unknown credentials: got code %q (%v), want AuthFailure", code, err)
	}
}
