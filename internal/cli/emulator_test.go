package cli

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/kmsrotor/kmsrotor/internal/kmsemu"
)

// lockedBuffer is a bytes.Buffer that a running command writes while the
// test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func emulatorEnv(ctx context.Context) (*Env, *lockedBuffer, *lockedBuffer) {
	out, errs := &lockedBuffer{}, &lockedBuffer{}
	return &Env{Stdout: out, Stderr: errs, Context: ctx, Getenv: func(string) string { return "" }}, out, errs
}

func TestEmulatorUsageErrors(t *testing.T) {
	t.Parallel()
	badEstate := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(badEstate, []byte("accounts:\n  - id: \"1\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--demo", "--generate", "keys=1"}, "--estate, --demo and --generate are alternatives"},
		{[]string{"--listen", "4566"}, `--listen "4566": want host:port`},
		{[]string{"--listen", ":4566"}, `--listen ":4566": give the host too`},
		{[]string{"--listen", "127.0.0.1:99999"}, "port must be a number from 0 to 65535"},
		{[]string{"--latency", "-5ms"}, "--latency -5ms: must not be negative"},
		{[]string{"--latency", "fast"}, `invalid argument "fast" for "--latency"`},
		{[]string{"--jitter", "-1s"}, "--jitter -1s: must not be negative"},
		{[]string{"--quotas", "strict"}, `--quotas "strict": want aws, off, or a positive scale`},
		{[]string{"--quotas", "0"}, `--quotas "0"`},
		{[]string{"--faults", "slow=0.1"}, `--faults: fault "slow=0.1": unknown kind "slow", want throttle, 5xx, reset or hang`},
		{[]string{"--faults", "throttle=2"}, `--faults: fault "throttle=2": rate "2" is not a number from 0 to 1`},
		{[]string{"--on-demand-limit", "0"}, "--on-demand-limit 0: must be at least 1"},
		{[]string{"--generate", "accounts=0"}, `--generate: generate spec part "accounts=0": accounts must be a whole number from 1 to 1000`},
		{[]string{"--estate", filepath.Join(t.TempDir(), "missing.yaml")}, "--estate: read estate"},
		{[]string{"--estate", badEstate}, `--estate: estate ` + badEstate + `: invalid estate:`},
		{[]string{"--state-file", "/no/such/dir/state.json"}, "--state-file \"/no/such/dir/state.json\": the directory /no/such/dir does not exist"},
		{[]string{"extra"}, `unknown command "extra"`},
		{[]string{"--seed", "-1"}, `invalid argument "-1" for "--seed"`},
		{[]string{"--shutdown-grace", "-1s"}, "--shutdown-grace -1s: must not be negative"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			env, out, errs := emulatorEnv(context.Background())
			code := Main(append([]string{"emulator", "--listen", "127.0.0.1:0"}, tt.args...), env)
			if code != ExitUsage {
				t.Errorf("kmsrotor emulator %v: exit %d, want %d (stderr %q)", tt.args, code, ExitUsage, errs.String())
			}
			if !strings.Contains(errs.String(), tt.want) {
				t.Errorf("kmsrotor emulator %v: stderr %q, want it to contain %q", tt.args, errs.String(), tt.want)
			}
			if out.String() != "" {
				t.Errorf("kmsrotor emulator %v: stdout %q, want nothing (it must not start)", tt.args, out.String())
			}
		})
	}
}

func TestEmulatorFlagsBind(t *testing.T) {
	t.Parallel()
	o := &emulatorOptions{listen: "127.0.0.1:0", generate: "accounts=2,keys=3", latency: 20 * time.Millisecond,
		jitter: 5 * time.Millisecond, quotas: "0.5", faults: "throttle=0.1,5xx:ListKeys=1", onDemandLimit: 10, seed: 9,
		shutdownGrace: 3 * time.Second}
	cfg, err := o.config()
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.opts
	if got.Latency != 20*time.Millisecond || got.Jitter != 5*time.Millisecond || got.QuotaScale != 0.5 ||
		got.Faults.Throttle[""] != 0.1 || got.Faults.Server["ListKeys"] != 1 || got.OnDemandLimit != 10 || got.Seed != 9 || got.ShutdownGrace != 3*time.Second ||
		got.Estate == nil || len(got.Estate.Accounts) != 2 {
		t.Errorf("config(%+v) = %+v, want every flag in the options", o, got)
	}
	for quotas, want := range map[string]float64{"aws": 1, "off": 0, "2": 2} {
		o := &emulatorOptions{listen: "127.0.0.1:0", quotas: quotas, onDemandLimit: 25}
		cfg, err := o.config()
		if err != nil || cfg.opts.QuotaScale != want {
			t.Errorf("--quotas %s: scale %v, %v; want %v", quotas, cfg.opts.QuotaScale, err, want)
		}
	}
}

var listeningRE = regexp.MustCompile(`listening on (http://127\.0\.0\.1:[0-9]+)`)

// TestEmulatorServesAndStops runs the command in-process: it prints the
// endpoint and credentials, answers the SDK, and stops cleanly (saving its
// state) when its context is cancelled.
func TestEmulatorServesAndStops(t *testing.T) {
	t.Parallel()
	state := filepath.Join(t.TempDir(), "state.json")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env, out, errs := emulatorEnv(ctx)
	done := make(chan int, 1)
	go func() {
		done <- Main([]string{"emulator", "--listen", "127.0.0.1:0", "--demo", "--quotas", "off", "--state-file", state}, env)
	}()

	var url string
	deadline := time.Now().Add(10 * time.Second)
	for url == "" {
		if m := listeningRE.FindStringSubmatch(out.String()); m != nil {
			url = m[1]
			break
		}
		select {
		case code := <-done:
			t.Fatalf("kmsrotor emulator exited %d before listening; stderr %q", code, errs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("kmsrotor emulator printed no endpoint within 10s; stdout %q", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, want := range []string{"export AWS_ENDPOINT_URL=" + url, "export AWS_ACCESS_KEY_ID=test", "export AWS_SECRET_ACCESS_KEY=test",
		"export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1", "aws kms list-keys --endpoint-url " + url, "demo estate: 3 accounts"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("kmsrotor emulator banner %q lacks %q", out.String(), want)
		}
	}
	if strings.Contains(errs.String(), "warning") {
		t.Errorf("kmsrotor emulator on loopback warned: %q", errs.String())
	}

	client := sts.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(kmsemu.DefaultAccessKeyID, kmsemu.DefaultSecretAccessKey, ""),
		BaseEndpoint: aws.String(url),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
		HTTPClient:   &http.Client{Timeout: 5 * time.Second},
	})
	id, err := client.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Account) != kmsemu.DefaultAccount {
		t.Fatalf("GetCallerIdentity against the emulator command: %v, %v; want account %s", id, err, kmsemu.DefaultAccount)
	}

	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Errorf("kmsrotor emulator after cancel: exit %d, want 0; stderr %q", code, errs.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("kmsrotor emulator did not stop within 10s of its context being cancelled")
	}
	if !strings.Contains(errs.String(), "emulator stopped") {
		t.Errorf("stderr after stop = %q, want it to say the emulator stopped", errs.String())
	}
	if conn, err := net.DialTimeout("tcp", strings.TrimPrefix(url, "http://"), time.Second); err == nil {
		conn.Close()
		t.Errorf("%s still accepts connections after the emulator stopped", url)
	}
	if _, err := os.Stat(state); err != nil {
		t.Errorf("state file after stop: %v, want it saved", err)
	}
}

func TestClientEndpoint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url, want    string
		wantLoopback bool
	}{
		{"http://127.0.0.1:4566", "http://127.0.0.1:4566", true},
		{"http://[::1]:4566", "http://[::1]:4566", true},
		{"http://0.0.0.0:4566", "http://127.0.0.1:4566", false},
		{"http://[::]:4566", "http://127.0.0.1:4566", false},
		{"http://192.168.1.5:4566", "http://192.168.1.5:4566", false},
	}
	for _, tt := range tests {
		got, loop := clientEndpoint(tt.url)
		if got != tt.want || loop != tt.wantLoopback {
			t.Errorf("clientEndpoint(%q) = %q, %v; want %q, %v", tt.url, got, loop, tt.want, tt.wantLoopback)
		}
	}
}
