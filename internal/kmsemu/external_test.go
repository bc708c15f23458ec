package kmsemu_test

// Tests in external_*_test.go check the emulator with clients written by
// others: the AWS CLI v1 (Python, botocore: its own SigV4 signer and JSON
// parser) and, in external_diff_test.go, the same scenario run against two
// independent emulators, local-kms and moto.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kmsrotor/kmsrotor/internal/kmsemu"
)

// extSkipOrFail skips the test with a clear message when a tool it needs is
// missing, except in CI (CI=true), where a missing tool is a failure: the CI
// image is supposed to have everything.
func extSkipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true, so this is a failure, not a skip)", msg)
	}
	t.Skip(msg)
}

// extFreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func extFreePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// extWaitPort waits until something accepts connections on addr, or until
// ctx ends or exited is closed (the server process died).
func extWaitPort(ctx context.Context, addr string, exited <-chan struct{}) error {
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			return c.Close()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w", addr, ctx.Err())
		case <-exited:
			return fmt.Errorf("wait for %s: the server exited", addr)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Keys of the AWS CLI estate. Fixed IDs make failure messages readable.
const (
	cliAccount     = kmsemu.DefaultAccount
	cliRegion      = kmsemu.DefaultRegion
	cliSymKey      = "0b5ff3a8-8f4e-4c3e-9a51-6f2d1c0e7a11"
	cliRSAKey      = "5c1d2e3f-4a5b-4c6d-8e7f-901a2b3c4d5e"
	cliDisabledKey = "9e8d7c6b-5a49-4382-b1a0-f9e8d7c6b5a4"
	cliAlias       = "alias/kmsrotor-cli"
)

func cliARN(keyID string) string {
	return "arn:aws:kms:" + cliRegion + ":" + cliAccount + ":key/" + keyID
}

// cliEstate is the estate of TestAWSCLI: one account, one Region, a
// symmetric key, an RSA_2048 SIGN_VERIFY key and a disabled symmetric key.
func cliEstate(now time.Time) *kmsemu.Estate {
	created := now.Add(-400 * 24 * time.Hour)
	return &kmsemu.Estate{
		Accounts: []kmsemu.Account{{
			ID:      cliAccount,
			Name:    "cli",
			Email:   "cli@example.com",
			Regions: []string{cliRegion},
			Keys: []kmsemu.KeyDef{
				{ID: cliSymKey, Region: cliRegion, Description: "cli symmetric", Created: created, Aliases: []string{cliAlias}},
				{ID: cliRSAKey, Region: cliRegion, Description: "cli signing", Spec: "RSA_2048", Usage: "SIGN_VERIFY", Created: created},
				{ID: cliDisabledKey, Region: cliRegion, Description: "cli disabled", State: "Disabled", Created: created},
			},
		}},
	}
}

// awsCLI runs the AWS CLI against an endpoint with an environment that holds
// only what the CLI needs: no profile, no real credentials, nothing of the
// caller's AWS_* variables. extraEnv overrides the defaults (NAME=value).
type awsCLI struct {
	bin      string
	endpoint string
	home     string
}

type cliResult struct {
	args     []string
	stdout   string
	stderr   string
	exitCode int
}

func (r cliResult) String() string {
	return fmt.Sprintf("aws %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(r.args, " "), r.exitCode, r.stdout, r.stderr)
}

func (c awsCLI) run(ctx context.Context, t *testing.T, extraEnv []string, args ...string) cliResult {
	t.Helper()
	full := append(append([]string{}, args...), "--endpoint-url", c.endpoint, "--output", "json")
	cmd := exec.CommandContext(ctx, c.bin, full...)
	env := map[string]string{
		"PATH":                        os.Getenv("PATH"),
		"HOME":                        c.home,
		"AWS_ACCESS_KEY_ID":           kmsemu.DefaultAccessKeyID,
		"AWS_SECRET_ACCESS_KEY":       kmsemu.DefaultSecretAccessKey,
		"AWS_DEFAULT_REGION":          cliRegion,
		"AWS_CONFIG_FILE":             os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
	}
	for _, kv := range extraEnv {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := cliResult{args: full, stdout: stdout.String(), stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		res.exitCode = exitErr.ExitCode()
	default:
		t.Fatalf("run aws %s: %v", strings.Join(full, " "), err)
	}
	return res
}

// cliResolveShim returns the real aws script behind a pyenv shim, which
// otherwise adds a few bash processes to every one of the test's commands.
func cliResolveShim(bin string) string {
	if filepath.Base(filepath.Dir(bin)) != "shims" {
		return bin
	}
	out, err := exec.Command("pyenv", "which", "aws").Output()
	if p := strings.TrimSpace(string(out)); err == nil && filepath.IsAbs(p) {
		return p
	}
	return bin
}

// cliTime reads a timestamp as the AWS CLI prints it: v1's default
// cli_timestamp_format "none" prints the wire value (epoch seconds), the
// "iso8601" format a string.
func cliTime(v any) (time.Time, bool) {
	switch x := v.(type) {
	case float64:
		sec := int64(x)
		return time.Unix(sec, int64((x-float64(sec))*1e9)).UTC(), true
	case string:
		t, err := time.Parse(time.RFC3339Nano, x)
		return t.UTC(), err == nil
	}
	return time.Time{}, false
}

func TestAWSCLI(t *testing.T) {
	// Each aws command gets its environment explicitly (awsCLI.run), and
	// TestMain keeps the tester's out of the emulator's SDK side.
	t.Parallel()
	bin, err := exec.LookPath("aws")
	if err != nil {
		extSkipOrFail(t, "the AWS CLI (aws) is not on PATH; install it (pip install awscli) to check the emulator with a client written by others")
	}
	bin = cliResolveShim(bin)

	// A frozen clock at a whole second of real time: NextRotationDate is then
	// exactly now+period, and SigV4's 15-minute skew check passes whichever
	// clock the frame compares the signing time with.
	now := time.Now().UTC().Truncate(time.Second)
	clock := kmsemu.NewClock()
	clock.Freeze()
	clock.Set(now)

	run, err := kmsemu.Start(kmsemu.Options{Estate: cliEstate(now), Clock: clock}, "127.0.0.1:0")
	if err != nil {
		t.Fatalf("start emulator: %v", err)
	}
	t.Cleanup(func() { run.Close() })

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cli := awsCLI{bin: bin, endpoint: run.URL, home: t.TempDir()}

	// ok runs a command that must succeed and decodes its JSON output (nil
	// for an empty output, as for operations without a response body).
	ok := func(t *testing.T, args ...string) map[string]any {
		t.Helper()
		res := cli.run(ctx, t, nil, args...)
		if res.exitCode != 0 {
			t.Fatalf("%v\nwant exit 0", res)
		}
		if strings.TrimSpace(res.stdout) == "" {
			return nil
		}
		var out map[string]any
		if err := json.Unmarshal([]byte(res.stdout), &out); err != nil {
			t.Fatalf("%v\ndecode stdout: %v", res, err)
		}
		return out
	}

	// The rotation sequence changes the symmetric key's state step by step,
	// so it runs in order; everything else reads state that it does not
	// change and runs alongside it (each aws command is a Python start-up).
	t.Run("all", func(t *testing.T) {
		t.Run("rotation sequence", func(t *testing.T) {
			t.Parallel()
			cliRotationSequence(t, ok, clock, now)
		})
		cliIndependent(t, cli, ctx, ok, now)
	})
}

// cliRotationSequence runs the seed document's commands in its order
// (seed-kms-cmk-rotation.txt), then on-demand rotation, on cliSymKey.
func cliRotationSequence(t *testing.T, ok func(*testing.T, ...string) map[string]any, clock *kmsemu.Clock, now time.Time) {
	status := func(t *testing.T, wantPeriod float64, what string) {
		t.Helper()
		out := ok(t, "kms", "get-key-rotation-status", "--key-id", cliSymKey)
		if got := out["KeyRotationEnabled"]; got != true {
			t.Errorf("%s: get-key-rotation-status %s: KeyRotationEnabled = %v, want true (output %v)", what, cliSymKey, got, out)
		}
		if got := out["RotationPeriodInDays"]; got != wantPeriod {
			t.Errorf("%s: get-key-rotation-status %s: RotationPeriodInDays = %v, want %v", what, cliSymKey, got, wantPeriod)
		}
		next, found := cliTime(out["NextRotationDate"])
		if want := now.AddDate(0, 0, int(wantPeriod)); !found || !next.Equal(want) {
			t.Errorf("%s: get-key-rotation-status %s: NextRotationDate = %v (%v), want %v (enable date + period, kms-api.md §7; on-demand rotation leaves it, §4.6)", what, cliSymKey, out["NextRotationDate"], next, want)
		}
	}
	t.Run("seed/enable-key-rotation 180", func(t *testing.T) {
		if out := ok(t, "kms", "enable-key-rotation", "--key-id", cliSymKey, "--rotation-period-in-days", "180"); out != nil {
			t.Errorf("enable-key-rotation printed %v, want nothing (kms-api.md §1: empty body)", out)
		}
	})
	t.Run("seed/get-key-rotation-status", func(t *testing.T) { status(t, 180, "after enable-key-rotation 180") })
	t.Run("rotate-key-on-demand", func(t *testing.T) {
		out := ok(t, "kms", "rotate-key-on-demand", "--key-id", cliSymKey)
		if got := out["KeyId"]; got != cliARN(cliSymKey) {
			t.Errorf("rotate-key-on-demand %s: KeyId = %v, want the key ARN %s (kms-api.md §4.6)", cliSymKey, got, cliARN(cliSymKey))
		}
		status(t, 180, "after rotate-key-on-demand")
	})
	t.Run("list-key-rotations", func(t *testing.T) {
		// The on-demand rotation runs in the background (§4.6); an hour of
		// emulated time is far more than it needs.
		clock.Advance(time.Hour)
		out := ok(t, "kms", "list-key-rotations", "--key-id", cliSymKey)
		rotations, _ := out["Rotations"].([]any)
		if len(rotations) != 1 {
			t.Fatalf("list-key-rotations %s: %d rotations %v, want 1 (the on-demand one)", cliSymKey, len(rotations), out)
		}
		r, _ := rotations[0].(map[string]any)
		if r["RotationType"] != "ON_DEMAND" || r["KeyId"] == nil {
			t.Errorf("list-key-rotations %s: rotation %v, want RotationType ON_DEMAND and a KeyId (kms-api.md §4.7)", cliSymKey, r)
		}
		if at, found := cliTime(r["RotationDate"]); !found || at.Before(now) || at.After(now.Add(time.Hour)) {
			t.Errorf("list-key-rotations %s: RotationDate = %v, want between %v and an hour later", cliSymKey, r["RotationDate"], now)
		}
	})
}

// cliIndependent runs the commands that only read state, or fail without
// changing it, each in parallel with the others.
func cliIndependent(t *testing.T, cli awsCLI, ctx context.Context, ok func(*testing.T, ...string) map[string]any, now time.Time) {
	t.Run("seed/list-keys", func(t *testing.T) {
		t.Parallel()
		out := ok(t, "kms", "list-keys")
		got := map[string]string{}
		keys, _ := out["Keys"].([]any)
		for _, k := range keys {
			m, _ := k.(map[string]any)
			id, _ := m["KeyId"].(string)
			arn, _ := m["KeyArn"].(string)
			got[id] = arn
		}
		for _, id := range []string{cliSymKey, cliRSAKey, cliDisabledKey} {
			if got[id] != cliARN(id) {
				t.Errorf("list-keys: key %s has ARN %q, want %q (all keys: %v)", id, got[id], cliARN(id), got)
			}
		}
		if len(got) != 3 {
			t.Errorf("list-keys: %d keys %v, want 3", len(got), got)
		}
	})
	// The CLI pages on its own and strips Truncated and NextMarker from what
	// it prints; --no-paginate shows one page as the server sent it, and
	// --page-size 1 makes the CLI follow the emulator's markers.
	t.Run("list-keys one page", func(t *testing.T) {
		t.Parallel()
		out := ok(t, "kms", "list-keys", "--no-paginate", "--limit", "2")
		keys, _ := out["Keys"].([]any)
		marker, _ := out["NextMarker"].(string)
		if len(keys) != 2 || out["Truncated"] != true || marker == "" {
			t.Errorf("list-keys --no-paginate --limit 2: %d keys, Truncated %v, NextMarker %q; want 2 keys, true and a marker (kms-api.md §4.1)", len(keys), out["Truncated"], marker)
		}
	})
	t.Run("list-keys page size 1", func(t *testing.T) {
		t.Parallel()
		out := ok(t, "kms", "list-keys", "--page-size", "1")
		keys, _ := out["Keys"].([]any)
		seen := map[string]int{}
		for _, k := range keys {
			m, _ := k.(map[string]any)
			id, _ := m["KeyId"].(string)
			seen[id]++
		}
		for _, id := range []string{cliSymKey, cliRSAKey, cliDisabledKey} {
			if seen[id] != 1 {
				t.Errorf("list-keys --page-size 1: key %s listed %d times, want once (all: %v)", id, seen[id], seen)
			}
		}
		if len(keys) != 3 {
			t.Errorf("list-keys --page-size 1: %d keys, want 3", len(keys))
		}
	})

	// Failure cases: the error code must reach the CLI (it prints
	// "An error occurred (<Code>) when calling the <Op> operation: <message>").
	failures := []struct {
		name     string
		args     []string
		wantCode string
		wantMsg  string // a substring of the message, "" to skip
		ref      string
	}{
		{"rsa enable-key-rotation", []string{"kms", "enable-key-rotation", "--key-id", cliRSAKey}, "UnsupportedOperationException", "", "kms-api.md §5 row asymmetric"},
		{"rsa rotate-key-on-demand", []string{"kms", "rotate-key-on-demand", "--key-id", cliRSAKey}, "UnsupportedOperationException", "", "kms-api.md §5 row asymmetric"},
		{"disabled enable-key-rotation", []string{"kms", "enable-key-rotation", "--key-id", cliDisabledKey}, "DisabledException", cliARN(cliDisabledKey) + " is disabled.", "kms-api.md §6 footnote 1"},
		// botocore refuses 89 itself (it checks the model's minimum), so only
		// the maximum reaches the emulator. Input validation comes before any
		// key check; the disabled key keeps a wrongly accepted period from
		// racing with the rotation sequence.
		{"period 2561", []string{"kms", "enable-key-rotation", "--key-id", cliDisabledKey, "--rotation-period-in-days", "2561"}, "ValidationException", "", "kms-api.md §4.4 range 90–2560"},
		{"unknown key", []string{"kms", "describe-key", "--key-id", "1234abcd-12ab-34cd-56ef-1234567890ab"}, "NotFoundException", "does not exist", "kms-api.md §2"},
	}
	for _, tc := range failures {
		t.Run("fail/"+tc.name, func(t *testing.T) {
			t.Parallel()
			res := cli.run(ctx, t, nil, tc.args...)
			want := "(" + tc.wantCode + ")"
			if res.exitCode == 0 || !strings.Contains(res.stderr, want) {
				t.Fatalf("%v\nwant a non-zero exit and stderr naming %s (%s)", res, want, tc.ref)
			}
			if tc.wantMsg != "" && !strings.Contains(res.stderr, tc.wantMsg) {
				t.Errorf("%v\nwant the message to contain %q (%s)", res, tc.wantMsg, tc.ref)
			}
		})
	}

	t.Run("describe-key by alias", func(t *testing.T) {
		t.Parallel()
		out := ok(t, "kms", "describe-key", "--key-id", cliAlias)
		md, _ := out["KeyMetadata"].(map[string]any)
		for field, want := range map[string]any{
			"KeyId": cliSymKey, "Arn": cliARN(cliSymKey), "AWSAccountId": cliAccount,
			"KeyState": "Enabled", "Enabled": true, "KeyManager": "CUSTOMER",
			"KeySpec": "SYMMETRIC_DEFAULT", "KeyUsage": "ENCRYPT_DECRYPT", "Origin": "AWS_KMS",
			"MultiRegion": false, "Description": "cli symmetric",
		} {
			if got := md[field]; got != want {
				t.Errorf("describe-key %s: KeyMetadata.%s = %v, want %v (kms-api.md §3)", cliAlias, field, got, want)
			}
		}
		if created, found := cliTime(md["CreationDate"]); !found || !created.Equal(now.Add(-400*24*time.Hour)) {
			t.Errorf("describe-key %s: CreationDate = %v, want %v", cliAlias, md["CreationDate"], now.Add(-400*24*time.Hour))
		}
	})

	t.Run("disabled key keeps its rotation status readable", func(t *testing.T) {
		t.Parallel()
		out := ok(t, "kms", "get-key-rotation-status", "--key-id", cliDisabledKey)
		if out["KeyRotationEnabled"] != false {
			t.Errorf("get-key-rotation-status %s: KeyRotationEnabled = %v, want false (kms-api.md §4.3: disabled keys keep their status)", cliDisabledKey, out["KeyRotationEnabled"])
		}
		for _, absent := range []string{"RotationPeriodInDays", "NextRotationDate"} {
			if v, found := out[absent]; found {
				t.Errorf("get-key-rotation-status %s: %s = %v, want absent while rotation is off (kms-api.md §4.3)", cliDisabledKey, absent, v)
			}
		}
	})

	// botocore signs with its own SigV4 implementation; the emulator must
	// accept it (everything above) and refuse a wrong secret or an unknown
	// access key the way AWS does, with an authentication error.
	authErrors := []string{"(InvalidSignatureException)", "(UnrecognizedClientException)", "(IncompleteSignatureException)"}
	for _, tc := range []struct {
		name string
		env  []string
	}{
		{"wrong secret", []string{"AWS_SECRET_ACCESS_KEY=not-the-secret"}},
		{"unknown access key", []string{"AWS_ACCESS_KEY_ID=AKIAKMSROTORUNKNOWN1"}},
	} {
		t.Run("auth/"+tc.name, func(t *testing.T) {
			t.Parallel()
			res := cli.run(ctx, t, tc.env, "kms", "list-keys")
			found := false
			for _, code := range authErrors {
				found = found || strings.Contains(res.stderr, code)
			}
			if res.exitCode == 0 || !found {
				t.Errorf("%v\nwant a non-zero exit and one of %v", res, authErrors)
			}
		})
	}
}
