package kmsemu

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go"
)

// Test helpers shared by the KMS unit tests, the conformance suite and the
// benchmark.

// kmsT0 is the emulated time every KMS test starts at.
var kmsT0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// The accounts of the test estates: the default account (credentials
// test/test) and a second one reached with its own access key.
const (
	kmsOtherAccount = "210987654321"
	kmsOtherKeyID   = "AKIAOTHERACCOUNT0001"
	kmsOtherSecret  = "other-secret"
)

// kmsFrozenClock is a clock standing still at t until a test advances it.
func kmsFrozenClock(t time.Time) *Clock {
	c := NewClock()
	c.Freeze()
	c.Set(t)
	return c
}

// kmsEnv is a running emulator and what a test needs to talk to it.
type kmsEnv struct {
	url   string
	clock *Clock
	srv   *Running
}

// startKMS starts the emulator (the real frame, over HTTP on loopback) with
// the estate at kmsT0.
func startKMS(t testing.TB, estate *Estate, onDemandLimit int) *kmsEnv {
	t.Helper()
	clock := kmsFrozenClock(kmsT0)
	r, err := Start(Options{Estate: estate, Clock: clock, OnDemandLimit: onDemandLimit}, "127.0.0.1:0")
	if err != nil {
		t.Fatalf("start emulator: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return &kmsEnv{url: r.URL, clock: clock, srv: r}
}

// client is a KMS client of the account (the default or kmsOtherAccount) in the
// Region, through the real SDK, with one attempt so error tests are fast.
func (e *kmsEnv) client(account, region string) *kms.Client {
	id, secret := DefaultAccessKeyID, DefaultSecretAccessKey
	if account == kmsOtherAccount {
		id, secret = kmsOtherKeyID, kmsOtherSecret
	}
	return kms.NewFromConfig(aws.Config{
		Region:           region,
		Credentials:      credentials.NewStaticCredentialsProvider(id, secret, ""),
		BaseEndpoint:     aws.String(e.url),
		RetryMaxAttempts: 1,
		HTTPClient:       &http.Client{Timeout: 10 * time.Second},
	})
}

// raw sends a signed awsJson1.1 request with the body as given and returns
// the HTTP status and response body: for exact bodies and statuses.
func (e *kmsEnv) raw(t testing.TB, region, op, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.url+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "TrentService."+op)
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: DefaultAccessKeyID, SecretAccessKey: DefaultSecretAccessKey}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]),
		"kms", region, time.Now()); err != nil { // the SDK signs with wall time, whatever the emulated clock says
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// kmsErrOf returns the AWS error code and message of err ("" for nil).
func kmsErrOf(err error) (string, string) {
	if err == nil {
		return "", ""
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode(), ae.ErrorMessage()
	}
	return "non-API error", err.Error()
}

// kmsFields returns the top-level member names of a JSON object.
func kmsFields(t testing.TB, data []byte) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(bytes.TrimSpace(data), &m); err != nil {
		t.Fatalf("response %s is not a JSON object: %v", data, err)
	}
	return m
}
