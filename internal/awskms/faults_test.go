package awskms

import (
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"

	"github.com/kmsrotor/kmsrotor/internal/kmsemu"
	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

// TestScanUnderFaults checks that transient faults (throttles, 5xx, reset
// connections) change nothing: with the default number of attempts, the
// scan finds exactly the keys and facts of the fault-free scan, seed after
// seed. KMSROTOR_SOAK=1 runs the full size (20 seeds of 5,000 keys), as
// .ci/run does; the default suite runs a smaller one.
func TestScanUnderFaults(t *testing.T) {
	seeds, spec := 2, "accounts=2,regions=1,keys=150"
	if os.Getenv("KMSROTOR_SOAK") != "" {
		seeds, spec = 20, "accounts=2,regions=2,keys=1250"
	}
	estate, err := kmsemu.Generate(spec)
	if err != nil {
		t.Fatal(err)
	}
	// The default attempts, with a short backoff so the test is quick.
	client := ClientOptions{
		Backoff:        retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil }),
		AttemptTimeout: 5 * time.Second,
	}
	scan := func(faults kmsemu.Faults, seed uint64) []string {
		_, opts := start(t, kmsemu.Options{Estate: estate, Faults: faults, Seed: seed}, client)
		opts.Org, opts.AllRegions = true, true
		res, err := Inventory(t.Context(), opts)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Errors) > 0 {
			t.Errorf("seed %d: scan errors %v, want none", seed, res.Errors)
		}
		var facts []string
		for _, k := range res.Keys {
			facts = append(facts, keyFacts(k))
		}
		slices.Sort(facts)
		return facts
	}
	want := scan(kmsemu.Faults{}, 1)
	faults, err := kmsemu.ParseFaults("throttle=0.2,5xx=0.02,reset=0.01")
	if err != nil {
		t.Fatal(err)
	}
	for seed := uint64(1); seed <= uint64(seeds); seed++ {
		got := scan(faults, seed)
		if !slices.Equal(got, want) {
			for i := range min(len(got), len(want)) {
				if got[i] != want[i] {
					t.Fatalf("seed %d: %d keys, want %d; first difference:\n got %s\nwant %s", seed, len(got), len(want), got[i], want[i])
				}
			}
			t.Fatalf("seed %d: %d keys, want %d", seed, len(got), len(want))
		}
	}
}

func keyFacts(k kmskey.Key) string {
	return fmt.Sprintf("%s %s %s %v %d err=%v", k.ARN, k.State, k.Spec, k.Rotation.Enabled, k.Rotation.PeriodDays, k.Err)
}
