package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/kmsrotor/kmsrotor/internal/kmsemu"
	"github.com/kmsrotor/kmsrotor/internal/remediate"
)

// countRecords counts the journal's records of type typ.
func countRecords(t *testing.T, path, typ string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var r remediate.Record
		if json.Unmarshal(sc.Bytes(), &r) == nil && r.Type == typ {
			n++
		}
	}
	return n
}

func TestFixResumesAfterSIGKILL(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs a child process for seconds")
	}
	const keys = 60
	estate, err := kmsemu.Generate("keys=60,rotating=0")
	if err != nil {
		t.Fatal(err)
	}
	// Twice AWS's quotas on both sides: 60 EnableKeyRotation calls take 2 s
	// at 30/s, time enough to kill the process a third of the way through.
	w := newFixWorld(t, kmsemu.Options{Estate: estate, QuotaScale: 2})
	report := w.report(t)
	journal := filepath.Join(t.TempDir(), "journal.jsonl")
	args := []string{"fix", "--from", report, "--apply", "--yes", "--journal", journal, "--rotation-period-days", "200", "--max-rotation-days", "365", "--quota-scale", "2"}

	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "KMSROTOR_TEST_AS_MAIN=1")
	for k, v := range w.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for countRecords(t, journal, remediate.RecordApplied) < keys/3 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the child never got a third through: %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	done := countRecords(t, journal, remediate.RecordApplied)
	if done >= keys {
		t.Fatalf("the child finished (%d applied) before the kill: nothing to resume", done)
	}

	r := runMain(t, w.env, append(args, "--output", "json")...)
	if r.code != 0 {
		t.Fatalf("resumed run: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	rep := decodeFix(t, r.stdout)
	if rep.Summary.Verified != keys || rep.Summary.Failed != 0 {
		t.Errorf("resumed summary = %+v, want %d VERIFIED", rep.Summary, keys)
	}
	if rep.Summary.Called >= keys {
		t.Errorf("the resumed run called EnableKeyRotation %d times, want fewer than %d (the killed run's are not redone)", rep.Summary.Called, keys)
	}
	// Every key rotates with the period, and EnableKeyRotation succeeded
	// exactly once in all (so once per key: each started without rotation).
	if n := w.calls("EnableKeyRotation", ""); n != keys {
		t.Errorf("EnableKeyRotation succeeded %d times across both runs, want %d (once per key)", n, keys)
	}
	client := w.kms(t, "us-east-1")
	for _, k := range estate.Accounts[0].Keys {
		out, err := client.GetKeyRotationStatus(t.Context(), &kms.GetKeyRotationStatusInput{KeyId: aws.String(k.ID)})
		if err != nil || !out.KeyRotationEnabled || aws.ToInt32(out.RotationPeriodInDays) != 200 {
			t.Errorf("key %s after resume: %+v %v, want rotation every 200 days", k.ID, out, err)
		}
	}
	if !strings.Contains(r.stdout, "earlier run") {
		t.Errorf("the resumed results do not say which keys an earlier run settled")
	}
}
