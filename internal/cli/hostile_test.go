package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kmsrotor/kmsrotor/internal/kmsemu"
)

// hostile is what a malicious or broken endpoint puts in a string: a window
// title (OSC … BEL), a screen clear, a carriage return, and a newline that
// starts a forged PASS row under the real FAIL; then a raw C1 CSI byte and
// a right-to-left override.
const hostile = "\x1b]0;pwned\x07\x1b[2J\rgone\n123456789012  us-east-1  forged-key  alias/fake  PASS  rotation_enabled\x9b2J\u202e"

// forgedRow is how the forged row would start a line of its own.
const forgedRow = "123456789012  us-east-1  forged-key"

// hostileProxy stands between the scanner and the emulator and puts hostile
// strings into every field the table prints: alias names (ListAliases), an
// error message and code for one key (GetKeyRotationStatus), a Region's
// listing error (ListKeys in eu-west-1), and the key IDs and ARNs of
// DescribeKey, whose follow-up calls then fail with a message quoting them.
func hostileProxy(t *testing.T, target string, deniedKey string) *httptest.Server {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.ModifyResponse = func(resp *http.Response) error {
		req := resp.Request
		op := strings.TrimPrefix(req.Header.Get("X-Amz-Target"), "TrentService.")
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		reqBody, _ := req.GetBody()
		var in map[string]any
		if reqBody != nil {
			json.NewDecoder(reqBody).Decode(&in)
		}
		fail := func(code, msg string) {
			resp.StatusCode = http.StatusBadRequest
			// The code travels in the body only: a header cannot carry controls.
			resp.Header.Del("X-Amzn-Errortype")
			body, _ = json.Marshal(map[string]string{"__type": code, "message": msg})
		}
		var out map[string]any
		if op != "" && resp.StatusCode == http.StatusOK && json.Unmarshal(body, &out) == nil {
			switch {
			case op == "ListKeys" && strings.Contains(req.Header.Get("Authorization"), "/eu-west-1/"):
				fail("AccessDeniedException", "User: arn:aws:iam::123456789012:user/x"+hostile)
			case op == "ListAliases":
				for _, a := range out["Aliases"].([]any) {
					a := a.(map[string]any)
					a["AliasName"] = a["AliasName"].(string) + hostile
				}
				body, _ = json.Marshal(out)
			case op == "GetKeyRotationStatus" && in["KeyId"] == deniedKey:
				fail("AccessDeniedException"+hostile, "not authorized"+hostile)
			}
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Keep the request body for ModifyResponse.
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestScanHostileStrings runs kmsrotor scan against an endpoint that
// returns terminal controls and a forged row in every field the table
// prints: stdout and stderr hold no raw control byte but the table's own
// newlines (and its colours on a terminal), and the forged row is not a
// line of its own.
func TestScanHostileStrings(t *testing.T) {
	t.Parallel()
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const failing, denied = "22222222-2222-4222-8222-000000000001", "22222222-2222-4222-8222-000000000002"
	estate := &kmsemu.Estate{Accounts: []kmsemu.Account{{
		ID: testAccount, Name: "hostile", Email: "hostile@example.com", Regions: []string{"us-east-1", "eu-west-1"},
		Credentials: []kmsemu.Credential{{AccessKeyID: kmsemu.DefaultAccessKeyID, SecretAccessKey: kmsemu.DefaultSecretAccessKey}},
		Keys: []kmsemu.KeyDef{
			{ID: failing, Region: "us-east-1", Created: jan, Aliases: []string{"alias/payments"}, Description: hostile},
			{ID: denied, Region: "us-east-1", Created: jan, Aliases: []string{"alias/denied"}, Rotation: kmsemu.RotationDef{Enabled: true, EnabledAt: jan}},
		},
	}}}
	emu, vars := startEmulator(t, estate)
	proxy := hostileProxy(t, emu.URL, denied)
	vars["AWS_ENDPOINT_URL"] = proxy.URL

	for _, tty := range []bool{false, true} {
		var out, errb bytes.Buffer
		env := &Env{Stdout: &out, Stderr: &errb, Getenv: vars.getenv, Now: func() time.Time { return scanNow },
			Context: t.Context(), WorkingDir: t.TempDir(), StdoutTTY: tty}
		code := Main([]string{"scan", "--region", "us-east-1", "--region", "eu-west-1", "--show-skipped"}, env)
		what := "scan piped"
		if tty {
			what = "scan on a terminal"
		}
		if code != ExitFail {
			t.Errorf("%s: exit %d, want %d (a FAIL)\nstdout:\n%s\nstderr:\n%s", what, code, ExitFail, out.String(), errb.String())
		}
		// The hostile strings did reach the table, escaped.
		for _, want := range []string{`alias/payments\x1b]0;pwned\x07\x1b[2J\rgone\n123456789012`, `not authorized\x1b]0;pwned`,
			`user/x\x1b]0;pwned\x07`} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("%s: stdout lacks %q:\n%s", what, want, out.String())
			}
		}
		checkNoControls(t, what+" stdout", out.String(), tty)
		checkNoControls(t, what+" stderr", errb.String(), false)
	}
}

// sgr are the colours the table writes on a terminal.
var sgr = []string{"\x1b[0m", "\x1b[1m", "\x1b[2m", "\x1b[31m", "\x1b[32m", "\x1b[33m"}

func checkNoControls(t *testing.T, what, s string, terminal bool) {
	t.Helper()
	plain := s
	if terminal {
		for _, c := range sgr {
			plain = strings.ReplaceAll(plain, c, "")
		}
	}
	for i := 0; i < len(plain); i++ {
		if c := plain[i]; (c < 0x20 && c != '\n') || c == 0x7f || c == 0x9b {
			t.Fatalf("%s: raw control byte %#x at %d:\n%q", what, c, i, plain)
		}
	}
	if strings.ContainsAny(plain, "\u202e\u009b") {
		t.Fatalf("%s: a raw C1 or bidi override:\n%q", what, plain)
	}
	for _, line := range strings.Split(plain, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), forgedRow) {
			t.Fatalf("%s: the forged row is a line of its own:\n%s", what, plain)
		}
	}
}

// TestIacHostileStrings: file names, logical IDs, parse errors and file
// content with terminal controls reach the table, the --diff output and the
// --fix summary escaped.
func TestIacHostileStrings(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := map[string]string{
		// A logical ID with controls (YAML's \e and \a escapes), in a file
		// whose name has them too; a comment line the diff shows as context.
		"stack\x1b]0;t\x07.yaml": "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  \"Key\\e]0;pwned\\a\\e[2J\\rgone\\n123456789012  us-east-1  forged-key\":\n    Type: AWS::KMS::Key\n    Properties:\n      EnableKeyRotation: false\n",
		// Terraform with controls in a comment, which --diff shows.
		"main\x1b[2J.tf": "# \x1b]0;pwned\x07\x1b[2J\x9b\u202e comment\nresource \"aws_kms_key\" \"k\" {\n  enable_key_rotation = false\n}\n",
		// A template that does not parse: the parser quotes the line.
		"broken.yaml": "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  K:\n    Type: AWS::KMS::Key\n  \x1b[2J: [\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{".", "--diff"}, {".", "--fix"}} {
		r := runIacMain(t, dir, args...)
		what := strings.Join(args, " ")
		if r.code != ExitIncomplete && r.code != ExitFail {
			t.Errorf("%s: exit %d, want %d or %d\nstdout:\n%s\nstderr:\n%s", what, r.code, ExitFail, ExitIncomplete, r.stdout, r.stderr)
		}
		if !strings.Contains(r.stdout+r.stderr, `stack\x1b]0;t\x07.yaml`) {
			t.Errorf("%s: the file name is not shown escaped:\nstdout:\n%s\nstderr:\n%s", what, r.stdout, r.stderr)
		}
		checkNoControls(t, what+" stdout", r.stdout, false)
		checkNoControls(t, what+" stderr", r.stderr, false)
	}
}
