package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/kmsrotor/kmsrotor/internal/kmsemu"
)

func fixKeyARN(region, id string) string { return "arn:aws:kms:" + region + ":123456789012:key/" + id }

func TestRotateNowLimitExceededIsOneCall(t *testing.T) {
	t.Parallel()
	w := newFixWorld(t, kmsemu.Options{OnDemandLimit: 1, OnDemandDelay: -1})
	key := fixKeyARN("us-east-1", fixKeyID("01"))
	r := runMain(t, w.env, "rotate-now", "--key", key, "--yes", "--reason", "INC-1")
	if r.code != 0 || !strings.Contains(r.stdout, "started") || !strings.Contains(r.stdout, "INC-1") {
		t.Fatalf("first rotate-now: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	w.emu.ResetRequests()
	r = runMain(t, w.env, "rotate-now", "--key", key, "--yes")
	if r.code != 1 || !strings.Contains(r.stderr, "used all its on-demand rotations") {
		t.Errorf("rotate-now past the limit: exit %d, stderr %q; want exit 1 and the limit explained", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "used: 1 of 25") {
		t.Errorf("rotate-now does not show the rotations used: %q", r.stderr)
	}
	n := 0
	for _, req := range w.emu.Requests() {
		if req.Op == "RotateKeyOnDemand" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("RotateKeyOnDemand sent %d times after LimitExceededException, want 1 (no retry)", n)
	}
}

func TestRotateNowConflict(t *testing.T) {
	t.Parallel()
	w := newFixWorld(t, kmsemu.Options{}) // frozen clock: the first rotation stays in progress
	key := fixKeyARN("us-east-1", fixKeyID("01"))
	if r := runMain(t, w.env, "rotate-now", "--key", key, "--yes"); r.code != 0 {
		t.Fatalf("first rotate-now: exit %d %s", r.code, r.stderr)
	}
	w.emu.ResetRequests()
	r := runMain(t, w.env, "rotate-now", "--key", key, "--yes")
	if r.code != 1 || !strings.Contains(r.stderr, "in progress") {
		t.Errorf("rotate-now during a rotation: exit %d, stderr %q; want exit 1 and the conflict explained", r.code, r.stderr)
	}
}

func TestRotateNowRefuses(t *testing.T) {
	t.Parallel()
	w := newFixWorld(t, kmsemu.Options{})
	for _, tt := range []struct {
		name, key, want string
	}{
		{"asymmetric", fixKeyARN("us-east-1", fixKeyID("09")), "only symmetric encryption keys"},
		{"AWS managed", fixKeyARN("us-east-1", fixKeyID("13")), "AWS managed key"},
		{"disabled", fixKeyARN("us-east-1", fixKeyID("14")), "only for enabled keys"},
		{"custom key store", fixKeyARN("us-east-1", fixKeyID("12")), "custom key store"},
		{"replica", fixKeyARN("eu-west-1", "mrk-00000000000040008000000000000008"), "started on its primary key arn:aws:kms:us-east-1"},
		{"imported, no new material", fixKeyARN("us-east-1", fixKeyID("11")), "import it first"},
		{"not an ARN", "alias/off", "is not a key ARN"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w.emu.ResetRequests()
			r := runMain(t, w.env, "rotate-now", "--key", tt.key, "--yes")
			if r.code != 2 || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("rotate-now %s: exit %d, stderr %q; want exit 2 and %q", tt.key, r.code, r.stderr, tt.want)
			}
			for _, req := range w.emu.Requests() {
				if req.Op == "RotateKeyOnDemand" {
					t.Errorf("rotate-now %s sent RotateKeyOnDemand", tt.key)
				}
			}
		})
	}
	r := runMain(t, w.env, "rotate-now", "--key", fixKeyARN("us-east-1", fixKeyID("11")), "--yes")
	if !strings.Contains(r.stderr, "NEW_KEY_MATERIAL") {
		t.Errorf("rotate-now of an imported key does not explain the import procedure: %q", r.stderr)
	}
}

func TestRotateNowConfirms(t *testing.T) {
	t.Parallel()
	w := newFixWorld(t, kmsemu.Options{})
	key := fixKeyARN("us-east-1", fixKeyID("01"))
	if r := runMain(t, w.env, "rotate-now", "--key", key); r.code != 2 || !strings.Contains(r.stderr, "needs --yes") {
		t.Errorf("rotate-now unattended without --yes: exit %d %q, want 2", r.code, r.stderr)
	}
	var out, errb bytes.Buffer
	env := &Env{Stdin: strings.NewReader("n\n"), StdinTTY: true, Stdout: &out, Stderr: &errb, Getenv: w.env.getenv,
		Now: func() time.Time { return scanNow }, Context: t.Context()}
	if code := Main([]string{"rotate-now", "--key", key}, env); code != 0 || !strings.Contains(errb.String(), "nothing was changed") {
		t.Errorf("rotate-now answered no: exit %d %q", code, errb.String())
	}
	for _, req := range w.emu.Requests() {
		if req.Op == "RotateKeyOnDemand" {
			t.Error("rotate-now answered no sent RotateKeyOnDemand")
		}
	}
}
