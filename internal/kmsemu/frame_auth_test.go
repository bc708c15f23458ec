package kmsemu

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// signRequest signs req as the SDK does.
func signRequest(t testing.TB, req *http.Request, body []byte, akid, secret, token, service, region string, at time.Time) {
	t.Helper()
	sum := sha256.Sum256(body)
	err := v4.NewSigner().SignHTTP(context.Background(),
		aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret, SessionToken: token},
		req, hex.EncodeToString(sum[:]), service, region, at)
	if err != nil {
		t.Fatalf("sign request: %v", err)
	}
}

// kmsRequest is a signed KMS request with the given target and body.
func kmsRequest(t testing.TB, url, target, body, akid, secret, region string, at time.Time) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	if akid != "" {
		signRequest(t, req, []byte(body), akid, secret, "", "kms", region, at)
	}
	return req
}

// TestBadCredentials checks each service's answer to a wrong secret and an
// unknown access key, through the SDK clients.
func TestBadCredentials(t *testing.T) {
	t.Parallel()
	run := startFrame(t, Options{Estate: frameEstate()})
	ctx := context.Background()
	calls := map[string]func(cfg aws.Config) error{
		"kms": func(cfg aws.Config) error {
			_, err := kms.NewFromConfig(cfg).DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/x")})
			return err
		},
		"sts": func(cfg aws.Config) error {
			_, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			return err
		},
		"ec2": func(cfg aws.Config) error {
			_, err := newEC2Client(cfg).DescribeRegions(ctx, &ec2DescribeRegionsInput{})
			return err
		},
		"organizations": func(cfg aws.Config) error {
			_, err := organizations.NewFromConfig(cfg).ListAccounts(ctx, &organizations.ListAccountsInput{})
			return err
		},
	}
	tests := []struct {
		service, case_, akid, secret, region string
		wantCode, wantMsg                    string
	}{
		{"kms", "wrong secret", DefaultAccessKeyID, "wrong", "us-east-1", "InvalidSignatureException", msgBadSignature},
		{"kms", "unknown key", "AKIANOSUCHKEY0000000", "x", "us-east-1", "UnrecognizedClientException", msgInvalidToken},
		{"kms", "Region not enabled", DefaultAccessKeyID, DefaultSecretAccessKey, "ap-south-1", "UnrecognizedClientException", msgInvalidToken},
		{"kms", "estate user, wrong secret", devKeyID, DefaultSecretAccessKey, "us-east-1", "InvalidSignatureException", msgBadSignature},
		{"sts", "wrong secret", DefaultAccessKeyID, "wrong", "us-east-1", "SignatureDoesNotMatch", msgBadSignature},
		{"sts", "unknown key", "AKIANOSUCHKEY0000000", "x", "us-east-1", "InvalidClientTokenId", msgInvalidToken},
		{"ec2", "wrong secret", DefaultAccessKeyID, "wrong", "us-east-1", "AuthFailure", msgEC2Auth},
		{"ec2", "unknown key", "AKIANOSUCHKEY0000000", "x", "us-east-1", "AuthFailure", msgEC2Auth},
		{"organizations", "wrong secret", DefaultAccessKeyID, "wrong", "us-east-1", "InvalidSignatureException", msgBadSignature},
		{"organizations", "unknown key", "AKIANOSUCHKEY0000000", "x", "us-east-1", "UnrecognizedClientException", msgInvalidToken},
	}
	for _, tt := range tests {
		t.Run(tt.service+" "+tt.case_, func(t *testing.T) {
			t.Parallel()
			err := calls[tt.service](sdkConfig(run.URL, tt.akid, tt.secret, tt.region))
			if got := apiCode(err); got != tt.wantCode {
				t.Fatalf("%s as %s/%s in %s: error %v, want %s", tt.service, tt.akid, tt.secret, tt.region, err, tt.wantCode)
			}
			if got := apiMessage(err); got != tt.wantMsg {
				t.Errorf("%s %s: message %q, want %q", tt.service, tt.case_, got, tt.wantMsg)
			}
		})
	}
}

// TestFrameRawErrors checks the frame's answers to requests no SDK would
// send: their status, __type and message.
func TestFrameRawErrors(t *testing.T) {
	t.Parallel()
	run := startFrame(t, Options{Estate: frameEstate()})
	now := time.Now()
	tests := []struct {
		name       string
		req        func() *http.Request
		wantStatus int
		wantType   string
		wantMsg    string
	}{
		{"missing Authorization", func() *http.Request {
			return kmsRequest(t, run.URL, "TrentService.ListKeys", "{}", "", "", "", now)
		}, 400, "MissingAuthenticationTokenException", "Missing Authentication Token"},
		{"malformed Authorization", func() *http.Request {
			r := kmsRequest(t, run.URL, "TrentService.ListKeys", "{}", "", "", "", now)
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/kms")
			return r
		}, 400, "IncompleteSignatureException", "SignedHeaders"},
		{"SigV2-style Authorization", func() *http.Request {
			r := kmsRequest(t, run.URL, "TrentService.ListKeys", "{}", "", "", "", now)
			r.Header.Set("Authorization", "AWS test:c2lnbmF0dXJl")
			return r
		}, 400, "IncompleteSignatureException", "Unsupported AWS 'algorithm'"},
		{"signed for another service", func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, run.URL+"/", strings.NewReader("{}"))
			r.Header.Set("X-Amz-Target", "TrentService.ListKeys")
			signRequest(t, r, []byte("{}"), DefaultAccessKeyID, DefaultSecretAccessKey, "", "sts", "us-east-1", now)
			return r
		}, 400, "InvalidSignatureException", "Credential should be scoped to correct service: 'kms'. "},
		{"signature too old", func() *http.Request {
			return kmsRequest(t, run.URL, "TrentService.ListKeys", "{}", DefaultAccessKeyID, DefaultSecretAccessKey, "us-east-1", now.Add(-20*time.Minute))
		}, 400, "InvalidSignatureException", "Signature expired: "},
		{"body changed after signing", func() *http.Request {
			r := kmsRequest(t, run.URL, "TrentService.ListKeys", `{"Limit":1}`, DefaultAccessKeyID, DefaultSecretAccessKey, "us-east-1", now)
			r.Body = io.NopCloser(strings.NewReader(`{"Limit":2}`))
			return r
		}, 400, "InvalidSignatureException", msgBadSignature},
		{"unknown target prefix", func() *http.Request {
			return kmsRequest(t, run.URL, "DynamoDB_20120810.ListTables", "{}", DefaultAccessKeyID, DefaultSecretAccessKey, "us-east-1", now)
		}, 400, "UnknownOperationException", ""},
		{"neither target nor query", func() *http.Request {
			return kmsRequest(t, run.URL, "", "{}", DefaultAccessKeyID, DefaultSecretAccessKey, "us-east-1", now)
		}, 400, "UnknownOperationException", ""},
		{"body over 1 MiB", func() *http.Request {
			return kmsRequest(t, run.URL, "TrentService.ListKeys", `{"x":"`+strings.Repeat("a", maxBodyBytes)+`"}`, DefaultAccessKeyID, DefaultSecretAccessKey, "us-east-1", now)
		}, 413, "RequestEntityTooLargeException", ""},
		{"unknown Organizations operation", func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, run.URL+"/", strings.NewReader("{}"))
			r.Header.Set("X-Amz-Target", "AWSOrganizationsV20161128.CreateAccount")
			signRequest(t, r, []byte("{}"), DefaultAccessKeyID, DefaultSecretAccessKey, "", "organizations", "us-east-1", now)
			return r
		}, 400, "UnknownOperationException", ""},
		{"Organizations malformed JSON", func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, run.URL+"/", strings.NewReader("{"))
			r.Header.Set("X-Amz-Target", "AWSOrganizationsV20161128.ListAccounts")
			signRequest(t, r, []byte("{"), DefaultAccessKeyID, DefaultSecretAccessKey, "", "organizations", "us-east-1", now)
			return r
		}, 400, "SerializationException", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, err := http.DefaultClient.Do(tt.req())
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			defer resp.Body.Close()
			var body map[string]string
			data, _ := io.ReadAll(resp.Body)
			if err := json.Unmarshal(data, &body); err != nil {
				t.Fatalf("%s: body %q is not JSON: %v", tt.name, data, err)
			}
			msg := body["message"] + body["Message"]
			if resp.StatusCode != tt.wantStatus || body["__type"] != tt.wantType || !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("%s: got %d %s %q, want %d %s containing %q", tt.name, resp.StatusCode, body["__type"], msg, tt.wantStatus, tt.wantType, tt.wantMsg)
			}
			if resp.Header.Get("x-amzn-RequestId") == "" || resp.Header.Get("Content-Type") != "application/x-amz-json-1.1" {
				t.Errorf("%s: headers %v, want x-amzn-RequestId and Content-Type application/x-amz-json-1.1", tt.name, resp.Header)
			}
		})
	}
}

// TestQueryRawErrors checks the XML error shapes of STS and EC2.
func TestQueryRawErrors(t *testing.T) {
	t.Parallel()
	run := startFrame(t, Options{Estate: frameEstate()})
	post := func(form, service string, sign bool) *http.Request {
		r, _ := http.NewRequest(http.MethodPost, run.URL+"/", strings.NewReader(form))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		if sign {
			signRequest(t, r, []byte(form), DefaultAccessKeyID, DefaultSecretAccessKey, "", service, "us-east-1", time.Now())
		}
		return r
	}
	tests := []struct {
		name       string
		req        *http.Request
		wantStatus int
		wantBody   []string
	}{
		{"STS without Authorization", post("Action=GetCallerIdentity&Version=2011-06-15", "", false), 403,
			[]string{`<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>MissingAuthenticationToken</Code>`, "<RequestId>"}},
		{"STS unknown action", post("Action=GetSessionToken&Version=2011-06-15", "sts", true), 400,
			[]string{"<Code>InvalidAction</Code>", "Could not find operation GetSessionToken for version 2011-06-15"}},
		{"EC2 without Authorization", post("Action=DescribeRegions&Version=2016-11-15", "", false), 401,
			[]string{"<Response><Errors><Error><Code>AuthFailure</Code>", "<RequestID>"}},
		{"EC2 unknown action", post("Action=DescribeInstances&Version=2016-11-15", "ec2", true), 400,
			[]string{"<Code>InvalidAction</Code>", "The action DescribeInstances is not valid for this web service."}},
		{"EC2 bad AllRegions", post("Action=DescribeRegions&Version=2016-11-15&AllRegions=maybe", "ec2", true), 400,
			[]string{"<Code>InvalidParameterValue</Code>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, err := http.DefaultClient.Do(tt.req)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			defer resp.Body.Close()
			data, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("%s: status %d, want %d (body %s)", tt.name, resp.StatusCode, tt.wantStatus, data)
			}
			for _, w := range tt.wantBody {
				if !bytes.Contains(data, []byte(w)) {
					t.Errorf("%s: body %s, want it to contain %s", tt.name, data, w)
				}
			}
		})
	}
}

// TestVerifySignatureMatchesSDK signs unusual requests with the SDK's signer
// and checks that the frame computes the same signature, and a different one
// once anything signed changes.
func TestVerifySignatureMatchesSDK(t *testing.T) {
	t.Parallel()
	s := &Server{}
	at := time.Date(2026, 5, 17, 10, 20, 30, 0, time.UTC)
	tests := []struct {
		name    string
		method  string
		url     string
		headers map[string][]string
		body    string
	}{
		{"plain KMS", "POST", "http://127.0.0.1:4566/", map[string][]string{"X-Amz-Target": {"TrentService.ListKeys"}}, "{}"},
		{"empty body", "POST", "http://127.0.0.1:4566/", nil, ""},
		{"query string", "GET", "http://localhost:4566/?b=2&a=1&a=0&Action=Describe%20Regions&x=%2F", nil, ""},
		{"path with spaces", "POST", "http://localhost/some%20path/a+b/~x", nil, "body"},
		{"multi-value and spaced headers", "POST", "http://localhost/", map[string][]string{
			"X-Custom": {"a  b   c", " d "}, "X-Amz-Meta-Z": {"1"}}, "{}"},
		{"unicode body", "POST", "http://localhost/", nil, `{"Description":"clé ✓"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(tt.method, tt.url, strings.NewReader(tt.body))
			for k, vs := range tt.headers {
				for _, v := range vs {
					req.Header.Add(k, v)
				}
			}
			// httptest.NewRequest fills Host and ContentLength as a server's
			// request would have them.
			signRequest(t, req, []byte(tt.body), "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "", "service", "us-east-1", at)
			a, err := parseAuthorization(req.Header.Get("Authorization"))
			if err != nil {
				t.Fatalf("parse %q: %v", req.Header.Get("Authorization"), err)
			}
			amzDate := req.Header.Get("X-Amz-Date")
			if !s.verifySignature(req, &a, amzDate, []byte(tt.body), "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY") {
				t.Errorf("%s: the frame rejects the SDK's signature (canonical request:\n%s)", tt.name, canonicalRequest(req, a.SignedHeaders, payloadHash(req, []byte(tt.body))))
			}
			if s.verifySignature(req, &a, amzDate, []byte(tt.body+"x"), "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY") {
				t.Errorf("%s: the frame accepts a changed body", tt.name)
			}
			if s.verifySignature(req, &a, amzDate, []byte(tt.body), "other") {
				t.Errorf("%s: the frame accepts another secret", tt.name)
			}
			req.Header.Set("X-Amz-Date", at.Add(time.Second).Format(amzDateLayout))
			if s.verifySignature(req, &a, req.Header.Get("X-Amz-Date"), []byte(tt.body), "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY") {
				t.Errorf("%s: the frame accepts a changed X-Amz-Date", tt.name)
			}
		})
	}
}

// TestSigV4TestSuiteVector checks the derivation against the example of
// AWS's SigV4 documentation ("get-vanilla" of the SigV4 test suite).
func TestSigV4TestSuiteVector(t *testing.T) {
	t.Parallel()
	req := httptest.NewRequest("GET", "http://example.amazonaws.com/", nil)
	req.Header.Set("X-Amz-Date", "20150830T123600Z")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "+
		"SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
	a, err := parseAuthorization(req.Header.Get("Authorization"))
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{}
	if !s.verifySignature(req, &a, "20150830T123600Z", nil, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY") {
		t.Errorf("get-vanilla: signature rejected; canonical request:\n%s", canonicalRequest(req, a.SignedHeaders, payloadHash(req, nil)))
	}
}

func TestParseAuthorization(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    authHeader
		wantErr string
	}{
		{in: "AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/kms/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd",
			want: authHeader{AccessKeyID: "AKID", Date: "20260101", Region: "eu-west-1", Service: "kms",
				Scope: "20260101/eu-west-1/kms/aws4_request", SignedHeaders: "host;x-amz-date", Signature: "abcd"}},
		{in: "AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/kms/aws4_request,SignedHeaders=host,Signature=ab",
			want: authHeader{AccessKeyID: "AKID", Date: "20260101", Region: "eu-west-1", Service: "kms",
				Scope: "20260101/eu-west-1/kms/aws4_request", SignedHeaders: "host", Signature: "ab"}},
		{in: "", wantErr: "Unsupported AWS 'algorithm'"},
		{in: "AWS4-ECDSA-P256-SHA256 Credential=a", wantErr: "Unsupported AWS 'algorithm': 'AWS4-ECDSA-P256-SHA256'"},
		{in: "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=ab", wantErr: "requires 'Credential'"},
		{in: "AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/kms/aws4_request, Signature=ab", wantErr: "requires 'SignedHeaders'"},
		{in: "AWS4-HMAC-SHA256 Credential=AKID/2026/eu-west-1/kms/aws4_request, SignedHeaders=host, Signature=ab", wantErr: "scoped to a valid region"},
		{in: "AWS4-HMAC-SHA256 Credential=AKID/20260101/kms/aws4_request, SignedHeaders=host, Signature=ab", wantErr: "scoped to a valid region"},
	}
	for _, tt := range tests {
		got, err := parseAuthorization(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseAuthorization(%q): error %v, want one containing %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseAuthorization(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

// FuzzFrameRequest sends arbitrary targets, headers and bodies through the
// frame: every answer is an AWS-shaped error or success, never a panic.
func FuzzFrameRequest(f *testing.F) {
	f.Add("TrentService.ListKeys", "{}", true)
	f.Add("AWSOrganizationsV20161128.ListAccounts", `{"MaxResults":"x"}`, true)
	f.Add("AWSOrganizationsV20161128.ListAccounts", `{"NextToken":123}`, true)
	f.Add("", "Action=AssumeRole&Version=2011-06-15&RoleArn=%ZZ", true)
	f.Add("", "Action=DescribeRegions&Version=2016-11-15&RegionName.1=&Filter.1.Name=x", true)
	f.Add("TrentService.", "\x00\xff", false)
	f.Add("AWSOrganizationsV20161128.ListAccounts", `{"MaxResults":1e99}`, true)
	s, err := New(Options{Estate: frameEstate()})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, target, body string, sign bool) {
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1/", strings.NewReader(body))
		if target != "" {
			req.Header.Set("X-Amz-Target", target)
		} else {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if sign {
			service := "kms"
			switch {
			case strings.HasPrefix(target, "AWSOrganizations"):
				service = "organizations"
			case strings.Contains(body, "2011-06-15"):
				service = "sts"
			case target == "":
				service = "ec2"
			}
			signRequest(t, req, []byte(body), DefaultAccessKeyID, DefaultSecretAccessKey, "", service, "us-east-1", time.Now())
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code == 0 || rec.Header().Get("x-amzn-RequestId") == "" {
			t.Errorf("target %q body %q: status %d, headers %v; want an AWS response", target, body, rec.Code, rec.Header())
		}
		if rec.Code >= 500 && strings.Contains(rec.Body.String(), "emulator bug") {
			t.Errorf("target %q body %q: %s", target, body, rec.Body.String())
		}
	})
}

func TestValidRegionName(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"us-east-1": true, "eu-central-2": true, "us-gov-west-1": true, "cn-north-1": true, "ap-southeast-12": true,
		"us-isob-east-1": true, "": false, "us-east": false, "us-east-1a": false, "US-EAST-1": false,
		"us--east-1": false, "-us-east-1": false, "useast-1": false, "us-east-123": false, "u-east-1": false,
	} {
		if got := validRegionName(name); got != want {
			t.Errorf("validRegionName(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestQueryRawBodies checks the XML layout of STS and EC2 answers against
// kms-api.md §9, beyond what the SDK's lenient decoders need.
func TestQueryRawBodies(t *testing.T) {
	t.Parallel()
	run := startFrame(t, Options{Estate: frameEstate()})
	tests := []struct {
		form, service string
		want          []string
	}{
		{"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A111111111111%3Arole%2FOrganizationAccountAccessRole&RoleSessionName=s1", "sts", []string{
			`<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><AssumedRoleUser><Arn>arn:aws:sts::111111111111:assumed-role/OrganizationAccountAccessRole/s1</Arn><AssumedRoleId>AROA`,
			`</AssumedRoleId></AssumedRoleUser><Credentials><AccessKeyId>ASIA`, `</SessionToken><Expiration>`,
			`</Expiration></Credentials></AssumeRoleResult><ResponseMetadata><RequestId>`}},
		{"Action=GetCallerIdentity&Version=2011-06-15", "sts", []string{
			`<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:root</Arn><UserId>123456789012</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>`}},
		{"Action=DescribeRegions&Version=2016-11-15&RegionName.1=eu-west-1", "ec2", []string{
			`<?xml version="1.0" encoding="UTF-8"?>`,
			`<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>`,
			`</requestId><regionInfo><item><regionName>eu-west-1</regionName><regionEndpoint>ec2.eu-west-1.amazonaws.com</regionEndpoint><optInStatus>opt-in-not-required</optInStatus></item></regionInfo></DescribeRegionsResponse>`}},
	}
	for _, tt := range tests {
		r, _ := http.NewRequest(http.MethodPost, run.URL+"/", strings.NewReader(tt.form))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		signRequest(t, r, []byte(tt.form), DefaultAccessKeyID, DefaultSecretAccessKey, "", tt.service, "us-east-1", time.Now())
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, w := range tt.want {
			if resp.StatusCode != 200 || !bytes.Contains(data, []byte(w)) {
				t.Errorf("%s %s: %d %s, want 200 containing %s", tt.service, tt.form, resp.StatusCode, data, w)
			}
		}
	}
}
