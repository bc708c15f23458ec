package cli

import (
	"fmt"
	"os"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/kmsrotor/kmsrotor/internal/awskms"
)

// progressEvery is how often the progress line is redrawn.
const progressEvery = 250 * time.Millisecond

// startProgress draws one progress line on stderr while a scan runs, when
// stderr is a terminal and --quiet is not given: accounts and Regions done,
// keys read, keys per second and, once Regions are known, an estimate of the
// time left. It returns the function that stops and erases it.
func startProgress(o *scanOptions, p *awskms.Progress, started time.Time) (stop func()) {
	if o.Quiet || !o.env.StderrTTY || p == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprint(o.env.Stderr, "\r\x1b[K")
				return
			case <-t.C:
				fmt.Fprint(o.env.Stderr, "\r\x1b[K"+progressLine(p, time.Since(started)))
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// progressLine is the progress of a scan after elapsed, in one line. It
// holds only numbers, so no string from AWS can reach the terminal here.
func progressLine(p *awskms.Progress, elapsed time.Duration) string {
	keys := p.Keys.Load()
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(keys) / s
	}
	line := fmt.Sprintf("kmsrotor: accounts %d/%d · Regions %d/%d · %d keys · %.0f keys/s",
		p.AccountsDone.Load(), p.Accounts.Load(), p.RegionsDone.Load(), p.Regions.Load(), keys, rate)
	regions, done := p.Regions.Load(), p.RegionsDone.Load()
	accounts, accountsDone := p.Accounts.Load(), p.AccountsDone.Load()
	// Regions are known account by account: estimate from Regions only once
	// every account has been entered, else from accounts.
	frac := 0.0
	switch {
	case accounts > 0 && accountsDone < accounts:
		frac = float64(accountsDone) / float64(accounts)
	case regions > 0:
		frac = float64(done) / float64(regions)
	}
	if frac > 0.02 && frac < 1 {
		left := time.Duration(float64(elapsed) * (1 - frac) / frac).Round(time.Second)
		line += fmt.Sprintf(" · about %s left", left)
	}
	return line
}

// startCPUProfile writes a CPU profile to path until stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpu-profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpu-profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
