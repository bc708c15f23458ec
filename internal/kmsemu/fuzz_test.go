package kmsemu_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/kmsrotor/kmsrotor/internal/kmsemu"
)

// fuzzOps are the operation names a fuzzed request is sent to: every KMS
// operation the emulator serves, plus names it must refuse cleanly. Append
// only: the corpus in testdata/fuzz/FuzzKMSRequest names operations by index.
var fuzzOps = []string{
	"CreateKey", "DescribeKey", "ListKeys", "GetKeyRotationStatus", "EnableKeyRotation",
	"DisableKeyRotation", "RotateKeyOnDemand", "ListKeyRotations", "ListAliases", "CreateAlias",
	"DeleteAlias", "ListResourceTags", "TagResource", "UntagResource", "GetKeyPolicy",
	"ScheduleKeyDeletion", "CancelKeyDeletion", "DisableKey", "EnableKey", "ReplicateKey",
	"GetParametersForImport", "ImportKeyMaterial",
	// Not operations: an unknown name, the wrong case, nothing at all.
	"NoSuchOperation", "describeKey", "",
}

// Keys of the fuzz estate; seeds name them so that the fuzzer starts from
// requests that reach deep into each operation.
const (
	fuzzSymKey      = "f0000000-0000-4000-8000-000000000001"
	fuzzRSAKey      = "f0000000-0000-4000-8000-000000000002"
	fuzzExternalKey = "f0000000-0000-4000-8000-000000000003"
	fuzzMRKKey      = "mrk-f0000000000040008000000000000004"
	fuzzHMACKey     = "f0000000-0000-4000-8000-000000000005"
)

func fuzzEstate() *kmsemu.Estate {
	r := kmsemu.DefaultRegion
	return &kmsemu.Estate{Accounts: []kmsemu.Account{{
		ID: kmsemu.DefaultAccount, Name: "fuzz", Email: "fuzz@example.com",
		Regions: []string{r, "eu-west-1"},
		Keys: []kmsemu.KeyDef{
			{ID: fuzzSymKey, Region: r, Aliases: []string{"alias/fuzz"}, Tags: map[string]string{"team": "fuzz"},
				Rotation: kmsemu.RotationDef{Enabled: true, PeriodDays: 180}},
			{ID: fuzzRSAKey, Region: r, Spec: "RSA_2048", Usage: "SIGN_VERIFY"},
			{ID: fuzzExternalKey, Region: r, Origin: "EXTERNAL"},
			{ID: fuzzMRKKey, Region: r, MultiRegion: true, ReplicaRegions: []string{"eu-west-1"}},
			{ID: fuzzHMACKey, Region: r, Spec: "HMAC_256", Usage: "GENERATE_VERIFY_MAC"},
		},
	}}}
}

// fuzzServer hands out a Server, replaced by a fresh one every so many
// requests so that fuzzed CreateKey calls cannot pile up keys without bound.
type fuzzServer struct {
	mu    sync.Mutex
	srv   *kmsemu.Server
	calls int
}

func (f *fuzzServer) get(t testing.TB) *kmsemu.Server {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.srv == nil || f.calls >= 2000 {
		srv, err := kmsemu.New(kmsemu.Options{Estate: fuzzEstate()})
		if err != nil {
			t.Fatalf("kmsemu.New: %v", err)
		}
		if f.srv != nil {
			f.srv.Close()
		}
		f.srv, f.calls = srv, 0
	}
	f.calls++
	return f.srv
}

// fuzzRequest builds a KMS request for op with body; signed requests carry
// a correct SigV4 signature of the default credentials.
func fuzzRequest(t testing.TB, op string, body io.Reader, payloadHash string, length int64, signed bool) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "http://kms.us-east-1.amazonaws.com/", body)
	req.ContentLength = length
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "TrentService."+op)
	if signed {
		creds := aws.Credentials{AccessKeyID: kmsemu.DefaultAccessKeyID, SecretAccessKey: kmsemu.DefaultSecretAccessKey}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, payloadHash, "kms", kmsemu.DefaultRegion, time.Now()); err != nil {
			t.Fatalf("sign %s request: %v", op, err)
		}
	}
	return req
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// checkAWSResponse fails unless rec holds what an AWS client can read: a 200
// with a JSON body (or an empty one, for operations without output), or a
// 4xx with an awsJson1.1 error body. A 5xx is a bug here: the fuzz server
// injects no faults, and the frame answers a recovered panic with a 500.
func checkAWSResponse(t *testing.T, what string, rec *httptest.ResponseRecorder) {
	t.Helper()
	body := rec.Body.Bytes()
	if ct := rec.Header().Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		t.Errorf("%s: Content-Type %q, want application/x-amz-json-1.1", what, ct)
	}
	if rec.Code == http.StatusOK {
		if len(body) > 0 && !json.Valid(body) {
			t.Errorf("%s: 200 with a body that is not JSON: %.300q", what, body)
		}
		return
	}
	if rec.Code < 400 || rec.Code >= 500 {
		t.Fatalf("%s: HTTP %d %.500s, want 200 or a 4xx AWS error (5xx means an emulator bug)", what, rec.Code, body)
	}
	var e map[string]any
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("%s: HTTP %d with a body that is not a JSON object (%v): %.300q", what, rec.Code, err, body)
	}
	code, _ := e["__type"].(string)
	if code == "" {
		t.Errorf("%s: HTTP %d error body %.300s has no __type", what, rec.Code, body)
	}
	if m, found := e["message"]; found {
		if _, isString := m.(string); !isString {
			t.Errorf("%s: HTTP %d error body %.300s: message is %T, want a string", what, rec.Code, body, m)
		}
	}
	if _, found := e["Message"]; found {
		t.Errorf("%s: HTTP %d error body %.300s: KMS errors carry a lowercase message (kms-api.md §1)", what, rec.Code, body)
	}
}

// FuzzKMSRequest sends arbitrary bodies to the KMS operations through the
// whole handler, signed and unsigned: the emulator must never panic and must
// always answer in a shape an AWS client can read.
func FuzzKMSRequest(f *testing.F) {
	seeds := []struct {
		op   string
		body string
	}{
		{"DescribeKey", `{"KeyId":"` + fuzzSymKey + `"}`},
		{"DescribeKey", `{"KeyId":"alias/fuzz"}`},
		{"DescribeKey", `{"KeyId":"arn:aws:kms:us-east-1:123456789012:alias/fuzz"}`},
		{"DescribeKey", `{"KeyId":"arn:aws:kms:eu-west-1:123456789012:key/` + fuzzMRKKey + `"}`},
		{"GetKeyRotationStatus", `{"KeyId":"` + fuzzExternalKey + `"}`},
		{"EnableKeyRotation", `{"KeyId":"` + fuzzSymKey + `","RotationPeriodInDays":90}`},
		{"EnableKeyRotation", `{"KeyId":"` + fuzzRSAKey + `","RotationPeriodInDays":2561}`},
		{"RotateKeyOnDemand", `{"KeyId":"` + fuzzHMACKey + `"}`},
		{"ListKeyRotations", `{"KeyId":"` + fuzzSymKey + `","IncludeKeyMaterial":"ALL_KEY_MATERIAL","Limit":1}`},
		{"ListKeys", `{"Limit":1,"Marker":"not-a-marker"}`},
		{"ListAliases", `{"KeyId":"` + fuzzSymKey + `","Limit":100}`},
		{"CreateKey", `{"KeySpec":"HMAC_256"}`},
		{"CreateKey", `{"KeySpec":"RSA_2048","KeyUsage":"SIGN_VERIFY","MultiRegion":true,"Tags":[{"TagKey":"a","TagValue":"b"}]}`},
		{"CreateAlias", `{"AliasName":"alias/x","TargetKeyId":"` + fuzzSymKey + `"}`},
		{"TagResource", `{"KeyId":"` + fuzzSymKey + `","Tags":[{"TagKey":"aws:x","TagValue":"y"}]}`},
		{"ScheduleKeyDeletion", `{"KeyId":"` + fuzzMRKKey + `","PendingWindowInDays":7}`},
		{"ReplicateKey", `{"KeyId":"` + fuzzMRKKey + `","ReplicaRegion":"eu-west-1"}`},
		{"GetParametersForImport", `{"KeyId":"` + fuzzExternalKey + `","WrappingAlgorithm":"RSAES_OAEP_SHA_256","WrappingKeySpec":"RSA_2048"}`},
		{"ImportKeyMaterial", `{"KeyId":"` + fuzzExternalKey + `","ImportToken":"AAAA","EncryptedKeyMaterial":"AAAA"}`},
		// Wrong types, wrong shapes, broken JSON.
		{"DescribeKey", `{"KeyId":123}`},
		{"DescribeKey", `{"KeyId":["a"]}`},
		{"DescribeKey", `{"KeyId":{"a":1}}`},
		{"DescribeKey", `{"KeyId":null}`},
		{"ListKeys", `{"Limit":"5"}`},
		{"ListKeys", `{"Limit":1e400}`},
		{"ListKeys", `{"Limit":-1}`},
		{"ListKeys", `{"Limit":2147483648}`},
		{"EnableKeyRotation", `{"KeyId":"` + fuzzSymKey + `","RotationPeriodInDays":180.5}`},
		{"CreateKey", `{"Tags":{"TagKey":"a"}}`},
		{"CreateKey", `{"MultiRegion":"yes"}`},
		{"ListKeys", `[]`},
		{"ListKeys", `null`},
		{"ListKeys", `"x"`},
		{"ListKeys", ``},
		{"ListKeys", `{`},
		{"ListKeys", `{}{}`},
		{"DescribeKey", `{"KeyId":"\u0000"}`},
		{"DescribeKey", "{\"KeyId\":\"\xff\xfe\"}"},
		{"DescribeKey", `{"KeyId":"a","KeyId":"b"}`},
		{"DescribeKey", strings.Repeat("[", 20000) + strings.Repeat("]", 20000)},
		{"DescribeKey", `{"KeyId":"` + strings.Repeat("a", 2049) + `"}`},
	}
	for _, s := range seeds {
		for i, op := range fuzzOps {
			if op == s.op {
				f.Add(uint8(i), []byte(s.body), true)
				f.Add(uint8(i), []byte(s.body), false)
			}
		}
	}
	// Every operation with an empty object, signed.
	for i := range fuzzOps {
		f.Add(uint8(i), []byte(`{}`), true)
	}

	servers := &fuzzServer{}
	// The harness must reach the operations: a correctly signed, valid
	// request succeeds. Otherwise every input would stop at authentication.
	for _, tc := range []struct{ op, body string }{
		{"DescribeKey", `{"KeyId":"` + fuzzSymKey + `"}`},
		{"GetKeyRotationStatus", `{"KeyId":"` + fuzzSymKey + `"}`},
		{"ListKeys", `{}`},
	} {
		rec := httptest.NewRecorder()
		servers.get(f).ServeHTTP(rec, fuzzRequest(f, tc.op, strings.NewReader(tc.body), sha256Hex([]byte(tc.body)), int64(len(tc.body)), true))
		if rec.Code != http.StatusOK {
			f.Fatalf("signed %s %s: HTTP %d %s, want 200: the fuzz harness does not reach the operations", tc.op, tc.body, rec.Code, rec.Body)
		}
	}
	f.Fuzz(func(t *testing.T, opIndex uint8, body []byte, signed bool) {
		op := fuzzOps[int(opIndex)%len(fuzzOps)]
		srv := servers.get(t)
		req := fuzzRequest(t, op, bytes.NewReader(body), sha256Hex(body), int64(len(body)), signed)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		what := "TrentService." + op + " signed=" + map[bool]string{true: "yes", false: "no"}[signed]
		if utf8.Valid(body) && len(body) < 200 {
			what += " body " + string(body)
		} else {
			what += " body of " + strconv.Itoa(len(body)) + " bytes"
		}
		checkAWSResponse(t, what, rec)
		if !signed && rec.Code == http.StatusOK {
			t.Errorf("%s: an unsigned request succeeded, want MissingAuthenticationTokenException", what)
		}
	})
}

// endlessReader yields the same byte forever and counts what was read.
type endlessReader struct {
	read int64
	max  int64
}

func (r *endlessReader) Read(p []byte) (int, error) {
	if r.read >= r.max {
		return 0, io.EOF
	}
	n := int64(len(p))
	if n > r.max-r.read {
		n = r.max - r.read
	}
	for i := range p[:n] {
		p[i] = ' '
	}
	r.read += n
	return int(n), nil
}

// TestKMSRequestHugeBody sends bodies over the 1 MiB limit: the answer is
// an AWS-shaped error, and the handler reads only a bounded prefix of the
// body, whatever its size.
func TestKMSRequestHugeBody(t *testing.T) {
	t.Parallel()
	srv, err := kmsemu.New(kmsemu.Options{Estate: fuzzEstate()})
	if err != nil {
		t.Fatalf("kmsemu.New: %v", err)
	}
	defer srv.Close()
	const readBound = 2 << 20 // the limit plus room for a read buffer
	for _, tc := range []struct {
		name   string
		size   int64
		signed bool
	}{
		{"1 MiB + 1, signed", 1<<20 + 1, true},
		{"8 MiB, signed", 8 << 20, true},
		{"1 GiB, unsigned", 1 << 30, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// A signed request hashes its body; the signer needs the hash up
			// front, so compute it on a copy of the same stream.
			hash := "UNSIGNED-PAYLOAD"
			if tc.signed {
				h := sha256.New()
				io.Copy(h, &endlessReader{max: tc.size})
				hash = hex.EncodeToString(h.Sum(nil))
			}
			body := &endlessReader{max: tc.size}
			req := fuzzRequest(t, "DescribeKey", body, hash, tc.size, tc.signed)
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			what := "DescribeKey with a body of " + strconv.FormatInt(tc.size, 10) + " bytes"
			checkAWSResponse(t, what, rec)
			if rec.Code == http.StatusOK {
				t.Errorf("%s: HTTP 200, want an error", what)
			}
			if body.read > readBound {
				t.Errorf("%s: the handler read %d bytes, want at most %d (the body must be bounded)", what, body.read, readBound)
			}
		})
	}
}

// queryServices are the Query-protocol services a fuzzed request is signed
// for. Append only: the corpus in testdata/fuzz/FuzzQueryRequest names them
// by index.
var queryServices = []string{"sts", "ec2", "kms", "organizations"}

// FuzzQueryRequest sends arbitrary form bodies (STS's and EC2's Query
// protocol) through the whole handler, signed for a service or not: the
// emulator must never panic, never answer 5xx, and always answer in the
// protocol's shape (XML for STS and EC2, awsJson1.1 when it cannot tell).
func FuzzQueryRequest(f *testing.F) {
	for _, s := range []string{
		"Action=GetCallerIdentity&Version=2011-06-15",
		"Action=AssumeRole&Version=2011-06-15&RoleArn=arn:aws:iam::123456789012:role/R&RoleSessionName=s",
		"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2FR&RoleSessionName=s&DurationSeconds=99999999999999999999",
		"Action=DescribeRegions&Version=2016-11-15",
		"Action=DescribeRegions&Version=2016-11-15&AllRegions=true&RegionName.1=us-east-1&Filter.1.Name=opt-in-status&Filter.1.Value.1=opted-in",
		"Action=DescribeRegions&Version=2016-11-15&RegionName.99999999999=x",
		"Action=&Version=",
		"Action=GetCallerIdentity&Action=AssumeRole&Version=2011-06-15",
		"%zz=%",
		"Action=GetCallerIdentity;Version=2011-06-15",
		"",
		strings.Repeat("a=b&", 5000),
	} {
		for i := range queryServices {
			f.Add(uint8(i), []byte(s), true)
		}
		f.Add(uint8(0), []byte(s), false)
	}
	servers := &fuzzServer{}
	// The harness must reach the services: a signed GetCallerIdentity works.
	{
		body := "Action=GetCallerIdentity&Version=2011-06-15"
		rec := httptest.NewRecorder()
		servers.get(f).ServeHTTP(rec, queryRequest(f, "sts", []byte(body), true))
		if rec.Code != http.StatusOK {
			f.Fatalf("signed GetCallerIdentity: HTTP %d %s, want 200: the fuzz harness does not reach STS", rec.Code, rec.Body)
		}
	}
	f.Fuzz(func(t *testing.T, service uint8, body []byte, signed bool) {
		svc := queryServices[int(service)%len(queryServices)]
		rec := httptest.NewRecorder()
		servers.get(t).ServeHTTP(rec, queryRequest(t, svc, body, signed))
		what := fmt.Sprintf("query request signed=%v for %s, body %.200q", signed, svc, body)
		if rec.Code >= 500 {
			t.Fatalf("%s: HTTP %d %.500s, want 200 or a 4xx AWS error (5xx means an emulator bug)", what, rec.Code, rec.Body)
		}
		switch ct := rec.Header().Get("Content-Type"); ct {
		case "text/xml", "application/xml", "text/xml; charset=utf-8":
			if err := xml.Unmarshal(rec.Body.Bytes(), new(struct{})); err != nil {
				t.Errorf("%s: HTTP %d with XML that does not parse (%v): %.300q", what, rec.Code, err, rec.Body)
			}
		case "application/x-amz-json-1.1":
			checkAWSResponse(t, what, rec)
		default:
			t.Errorf("%s: HTTP %d with Content-Type %q, want XML or awsJson1.1", what, rec.Code, ct)
		}
		if !signed && rec.Code == http.StatusOK {
			t.Errorf("%s: an unsigned request succeeded", what)
		}
	})
}

// queryRequest builds a Query-protocol POST, signed for service when asked.
func queryRequest(t testing.TB, service string, body []byte, signed bool) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "http://"+service+".us-east-1.amazonaws.com/", bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if signed {
		creds := aws.Credentials{AccessKeyID: kmsemu.DefaultAccessKeyID, SecretAccessKey: kmsemu.DefaultSecretAccessKey}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, sha256Hex(body), service, kmsemu.DefaultRegion, time.Now()); err != nil {
			t.Fatalf("sign %s request: %v", service, err)
		}
	}
	return req
}

// FuzzSigV4Header sends a DescribeKey request whose Authorization and
// X-Amz-Date headers are arbitrary: the emulator must never panic, always
// answer an AWS error, and never accept a header that is not the
// signature of the request.
func FuzzSigV4Header(f *testing.F) {
	body := []byte(`{"KeyId":"` + fuzzSymKey + `"}`)
	valid := fuzzRequest(f, "DescribeKey", bytes.NewReader(body), sha256Hex(body), int64(len(body)), true)
	auth, date := valid.Header.Get("Authorization"), valid.Header.Get("X-Amz-Date")
	for _, s := range []struct{ auth, date string }{
		{auth, date},
		{strings.Replace(auth, "Signature=", "Signature=0", 1), date},
		{strings.Replace(auth, "/us-east-1/", "//", 1), date},
		{strings.Replace(auth, "aws4_request", "aws4_reques", 1), date},
		{strings.Replace(auth, "SignedHeaders=", "SignedHeaders=;;;", 1), date},
		{"AWS4-HMAC-SHA256", date},
		{"AWS4-HMAC-SHA256 Credential=,SignedHeaders=,Signature=", date},
		{"AWS4-HMAC-SHA256 Credential=" + kmsemu.DefaultAccessKeyID + "/20250101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=zz", "20250101T000000Z"},
		{"AWS4-HMAC-SHA256 Credential=a/b/c/d/e/f/g", "x"},
		{"Bearer x", date},
		{" ", ""},
		{auth, "99999999T999999Z"},
		{auth, ""},
	} {
		f.Add(s.auth, s.date)
	}
	servers := &fuzzServer{}
	f.Fuzz(func(t *testing.T, authHeader, amzDate string) {
		req := fuzzRequest(t, "DescribeKey", bytes.NewReader(body), sha256Hex(body), int64(len(body)), false)
		req.Header.Set("Authorization", authHeader)
		req.Header.Set("X-Amz-Date", amzDate)
		rec := httptest.NewRecorder()
		servers.get(t).ServeHTTP(rec, req)
		what := fmt.Sprintf("DescribeKey with Authorization %.300q, X-Amz-Date %q", authHeader, amzDate)
		checkAWSResponse(t, what, rec)
		if rec.Code == http.StatusOK && (authHeader != auth || amzDate != date) && !sameSignature(authHeader, auth) {
			t.Errorf("%s: HTTP 200, want an authentication error (only the request's own signature may pass)", what)
		}
	})
}

// sameSignature reports whether two Authorization headers carry the same
// credential scope, signed headers and signature, whatever their spacing.
func sameSignature(a, b string) bool {
	norm := func(h string) string { return strings.Join(strings.Fields(strings.ReplaceAll(h, ",", " ")), " ") }
	return norm(a) == norm(b)
}

// FuzzLoadEstate loads arbitrary estate files: LoadEstate never panics, and
// an estate it accepts is one New accepts too (both validate the same way).
func FuzzLoadEstate(f *testing.F) {
	for _, s := range []string{
		"accounts:\n  - id: \"123456789012\"\n    regions: [us-east-1]\n    keys:\n      - {region: us-east-1, aliases: [alias/a], tags: {team: x}, rotation: {enabled: true, period_days: 180}}\n",
		"organization: {id: o-abcdefghij, management_account: \"123456789012\"}\naccounts:\n  - {id: \"123456789012\", regions: [us-east-1], roles: [{name: R, trusted_accounts: [\"123456789012\"]}]}\ndeny:\n  - {operation: ListKeys, account: \"123456789012\"}\n",
		"accounts:\n  - id: \"123456789012\"\n    regions: [us-east-1, eu-west-1]\n    keys:\n      - {id: mrk-0123456789abcdef0123456789abcdef, region: us-east-1, multi_region: true, replica_regions: [eu-west-1]}\n",
		"accounts:\n  - id: \"123456789012\"\n    regions: [us-east-1]\n    keys:\n      - region: us-east-1\n        rotation:\n          enabled: true\n          history: [{date: 2025-01-01T00:00:00Z, type: AUTOMATIC}]\n",
		"x: &a [1, *a]\n",
		"accounts: &a\n  - id: \"123456789012\"\n    regions: *a\n",
		"a: &a [x]\nb: &b [*a, *a, *a]\naccounts:\n  - {id: \"123456789012\", regions: *b}\n",
		"accounts:\n  - id: \"123456789012\"\n    regions: [us-east-1]\n    keys:\n      - {region: us-east-1, tags: " + strings.Repeat("{a: ", 300) + "b" + strings.Repeat("}", 300) + "}\n",
		"---\n---\n", "", "\xff\xfe", "accounts: {id: 1}\n",
	} {
		f.Add([]byte(s))
	}
	// One file per fuzzing process, rewritten for each input: a directory
	// per input would cost more than loading it.
	path := filepath.Join(f.TempDir(), "estate.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		e, err := kmsemu.LoadEstate(path)
		if err != nil {
			return
		}
		srv, err := kmsemu.New(kmsemu.Options{Estate: e})
		if err != nil {
			t.Fatalf("LoadEstate accepted %.300q, New rejects it: %v", data, err)
		}
		srv.Close()
	})
}
