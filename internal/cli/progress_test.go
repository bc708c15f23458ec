package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/kmsrotor/kmsrotor/internal/awskms"
)

func TestProgressLine(t *testing.T) {
	t.Parallel()
	var p awskms.Progress
	p.Accounts.Store(10)
	p.AccountsDone.Store(10)
	p.Regions.Store(40)
	p.RegionsDone.Store(10)
	p.Keys.Store(5000)
	got := progressLine(&p, 10*time.Second)
	for _, want := range []string{"accounts 10/10", "Regions 10/40", "5000 keys", "500 keys/s", "about 30s left"} {
		if !strings.Contains(got, want) {
			t.Errorf("progress line %q lacks %q", got, want)
		}
	}
	// While accounts are still being entered, the estimate is by account.
	p.AccountsDone.Store(5)
	if got := progressLine(&p, 10*time.Second); !strings.Contains(got, "about 10s left") {
		t.Errorf("half the accounts done after 10s: %q, want about 10s left", got)
	}
	// Nothing known yet: no estimate.
	if got := progressLine(&awskms.Progress{}, time.Second); strings.Contains(got, "left") {
		t.Errorf("empty progress %q gives an estimate", got)
	}
}

// TestProgressOnlyOnATerminal checks that a scan draws its progress line
// only when stderr is a terminal and --quiet is not given.
func TestProgressOnlyOnATerminal(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		tty, quiet bool
		want       bool
	}{{true, false, true}, {true, true, false}, {false, false, false}} {
		var errb strings.Builder
		o := &scanOptions{Quiet: tt.quiet, env: &Env{Stderr: &errb, StderrTTY: tt.tty}}
		stop := startProgress(o, &awskms.Progress{}, time.Now())
		time.Sleep(3 * progressEvery)
		stop()
		if got := strings.Contains(errb.String(), "kmsrotor: accounts"); got != tt.want {
			t.Errorf("tty %v quiet %v: stderr %q, want progress %v", tt.tty, tt.quiet, errb.String(), tt.want)
		}
	}
}
