package awskms

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/kmsrotor/kmsrotor/internal/check"
	"github.com/kmsrotor/kmsrotor/internal/kmsemu"
)

// TestInventoryMatchesLocalKMS builds the same keys through the API on
// kmsemu and on local-kms (an independent KMS emulator) and checks that the
// scan classifies them the same on both, for the classes local-kms has.
//
// local-kms listens on every interface, so the test re-runs itself inside a
// loopback-only network namespace (root and iproute2 needed); without them
// it skips, except under CI=true where it fails.
func TestInventoryMatchesLocalKMS(t *testing.T) {
	const childEnv = "KMSROTOR_AWSKMS_LOCALKMS"
	if path := os.Getenv(childEnv); path != "" {
		localKMSChild(t, path)
		return
	}
	skip := func(format string, a ...any) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf(format+" (CI=true: a failure, not a skip)", a...)
		}
		t.Skipf(format, a...)
	}
	localKMS, err := findLocalKMS()
	if err != nil {
		skip("local-kms not found (%v); install it with go install github.com/nsmithuk/local-kms@v0.0.0-20260228092603-2a5e92d09ab6", err)
	}
	ipBin, err := exec.LookPath("ip")
	if err != nil || os.Geteuid() != 0 {
		skip("local-kms must run in a loopback-only network namespace, which needs root and ip (iproute2)")
	}
	ns := fmt.Sprintf("kmsrotor-awskms-%d", os.Getpid())
	if out, err := exec.Command(ipBin, "netns", "add", ns).CombinedOutput(); err != nil {
		skip("ip netns add %s: %v: %s", ns, err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command(ipBin, "netns", "delete", ns).CombinedOutput(); err != nil {
			t.Errorf("ip netns delete %s: %v: %s", ns, err, out)
		}
	})
	if out, err := exec.Command(ipBin, "netns", "exec", ns, ipBin, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("ip link set lo up in %s: %v: %s", ns, err, out)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	child := exec.CommandContext(ctx, ipBin, "netns", "exec", ns, self,
		"-test.run=^TestInventoryMatchesLocalKMS$", "-test.count=1", "-test.v")
	child.Env = append(os.Environ(), childEnv+"="+localKMS)
	out, err := child.CombinedOutput()
	if err != nil {
		t.Fatalf("the test inside namespace %s failed: %v\n%s", ns, err, out)
	}
	t.Logf("inside namespace %s:\n%s", ns, out)
}

func findLocalKMS() (string, error) {
	if p, err := exec.LookPath("local-kms"); err == nil {
		return p, nil
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOPATH: %w", err)
	}
	for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
		p := filepath.Join(dir, "bin", "local-kms")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("not on PATH nor in $(go env GOPATH)/bin")
}

// localKMSKeys are the keys built on both servers, by alias, with what the
// check must say of each.
var localKMSKeys = []struct {
	alias      string
	create     kms.CreateKeyInput
	rotate     bool
	disable    bool
	delete     bool
	wantStatus check.Status
	wantReason string
}{
	{alias: "alias/rotating", rotate: true, wantStatus: check.StatusPass, wantReason: check.ReasonRotationEnabled},
	{alias: "alias/static", wantStatus: check.StatusFail, wantReason: check.ReasonRotationDisabled},
	{alias: "alias/rsa", create: kms.CreateKeyInput{KeySpec: kmstypes.KeySpecRsa2048, KeyUsage: kmstypes.KeyUsageTypeSignVerify},
		wantStatus: check.StatusSkipped, wantReason: check.ReasonAsymmetricKey},
	{alias: "alias/ecc", create: kms.CreateKeyInput{KeySpec: kmstypes.KeySpecEccNistP256, KeyUsage: kmstypes.KeyUsageTypeSignVerify},
		wantStatus: check.StatusSkipped, wantReason: check.ReasonAsymmetricKey},
	{alias: "alias/hmac", create: kms.CreateKeyInput{KeySpec: kmstypes.KeySpecHmac256, KeyUsage: kmstypes.KeyUsageTypeGenerateVerifyMac},
		wantStatus: check.StatusSkipped, wantReason: check.ReasonHMACKey},
	{alias: "alias/imported", create: kms.CreateKeyInput{Origin: kmstypes.OriginTypeExternal},
		wantStatus: check.StatusSkipped, wantReason: check.ReasonPendingImport},
	{alias: "alias/disabled", disable: true, wantStatus: check.StatusSkipped, wantReason: check.ReasonKeyDisabled},
	{alias: "alias/deleting", rotate: true, delete: true, wantStatus: check.StatusSkipped, wantReason: check.ReasonPendingDeletion},
}

func localKMSChild(t *testing.T, localKMS string) {
	ifaces, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagLoopback == 0 {
			t.Fatalf("interface %s is not loopback: refusing to start local-kms outside a loopback-only namespace", ifc.Name)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(localKMS)
	cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(port), "KMS_ACCOUNT_ID="+acct, "KMS_REGION=us-east-1",
		"KMS_DATA_PATH="+t.TempDir(), "KMS_SEED_PATH="+filepath.Join(t.TempDir(), "none.yaml"))
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start local-kms: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := "127.0.0.1:" + strconv.Itoa(port)
	for {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("local-kms never listened on %s:\n%s", addr, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	// kmsemu serves the KMS of one run and the STS of both: local-kms has
	// no STS.
	emu, err := kmsemu.Start(kmsemu.Options{Estate: &kmsemu.Estate{Accounts: []kmsemu.Account{{
		ID: acct, Regions: []string{"us-east-1"}, Credentials: creds(),
	}}}}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()

	got := map[string]map[string]string{}
	for _, srv := range []struct{ name, kmsURL string }{{"kmsemu", emu.URL}, {"local-kms", "http://" + addr}} {
		// The endpoints come from the environment, as a user would set them.
		env := map[string]string{
			"AWS_ENDPOINT_URL_KMS":        srv.kmsURL,
			"AWS_ENDPOINT_URL_STS":        emu.URL,
			"AWS_ACCESS_KEY_ID":           "test",
			"AWS_SECRET_ACCESS_KEY":       "test",
			"AWS_REGION":                  "us-east-1",
			"AWS_CONFIG_FILE":             os.DevNull,
			"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
			"AWS_EC2_METADATA_DISABLED":   "true",
		}
		cfg, err := LoadConfig(ctx, func(k string) string { return env[k] }, "", fastRetries)
		if err != nil {
			t.Fatal(err)
		}
		buildLocalKMSKeys(ctx, t, srv.name, kms.NewFromConfig(cfg))
		res, err := Inventory(ctx, Options{Config: cfg, Regions: []string{"us-east-1"}, QuotaScale: 1})
		if err != nil {
			t.Fatalf("%s: Inventory: %v", srv.name, err)
		}
		if len(res.Errors) > 0 {
			t.Errorf("%s: scan errors %+v, want none", srv.name, res.Errors)
		}
		got[srv.name] = map[string]string{}
		for _, k := range res.Keys {
			f := check.Evaluate(k, check.DefaultPolicy(time.Now()))
			name := strings.Join(k.Aliases, ",")
			got[srv.name][name] = string(f.Status) + " " + f.Reason
			t.Logf("%s: %s %s: %s %s (%s)", srv.name, k.KeyID, name, f.Status, f.Reason, f.Message)
		}
	}
	for _, k := range localKMSKeys {
		want := string(k.wantStatus) + " " + k.wantReason
		for _, srv := range []string{"kmsemu", "local-kms"} {
			if got[srv][k.alias] != want {
				t.Errorf("%s on %s: got %q, want %q", k.alias, srv, got[srv][k.alias], want)
			}
		}
	}
	for _, srv := range []string{"kmsemu", "local-kms"} {
		if len(got[srv]) != len(localKMSKeys) {
			t.Errorf("%s: got %d keys %v, want %d", srv, len(got[srv]), got[srv], len(localKMSKeys))
		}
	}
}

func buildLocalKMSKeys(ctx context.Context, t *testing.T, server string, c *kms.Client) {
	t.Helper()
	for _, k := range localKMSKeys {
		in := k.create
		out, err := c.CreateKey(ctx, &in)
		if err != nil {
			t.Fatalf("%s: create key for %s: %v", server, k.alias, err)
		}
		id := out.KeyMetadata.KeyId
		steps := []struct {
			do  bool
			run func() error
		}{
			{true, func() error {
				_, err := c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(k.alias), TargetKeyId: id})
				return err
			}},
			{k.rotate, func() error { _, err := c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: id}); return err }},
			{k.disable, func() error { _, err := c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: id}); return err }},
			{k.delete, func() error {
				_, err := c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: id, PendingWindowInDays: aws.Int32(7)})
				return err
			}},
		}
		for i, s := range steps {
			if !s.do {
				continue
			}
			if err := s.run(); err != nil {
				t.Fatalf("%s: set up %s (step %d): %v", server, k.alias, i, err)
			}
		}
	}
}
