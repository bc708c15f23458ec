package archtest

import (
	"maps"
	"slices"
	"testing"

	"github.com/kmsrotor/kmsrotor/internal/kmsemu"
	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

// TestEmulatorFactsAgree checks that the AWS facts the emulator keeps of its
// own agree with kmskey's: Regions, partitions, key specs and rotation
// periods.
func TestEmulatorFactsAgree(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		emu, want []string
	}{
		{"default Regions", kmsemu.DefaultRegions(), kmskey.DefaultRegions},
		{"opt-in Regions", kmsemu.OptInRegions(), kmskey.OptInRegions},
		{"other partitions' Regions", kmsemu.OtherPartitionRegions(), kmskey.OtherPartitionRegions},
	} {
		if !slices.Equal(tt.emu, tt.want) {
			t.Errorf("%s: kmsemu has %v, kmskey %v; want the same", tt.name, tt.emu, tt.want)
		}
	}
	all := slices.Concat(kmskey.DefaultRegions, kmskey.OptInRegions, kmskey.OtherPartitionRegions, []string{"us-gov-central-9", "cn-south-9"})
	for _, r := range all {
		if got, want := kmsemu.PartitionOf(r), kmskey.PartitionOf(r); got != want {
			t.Errorf("partition of %s: kmsemu says %s, kmskey %s", r, got, want)
		}
	}

	emuSpecs := kmsemu.KeySpecClasses()
	if got, want := slices.Sorted(maps.Keys(emuSpecs)), slices.Sorted(slices.Values(kmskey.KeySpecs())); !slices.Equal(got, want) {
		t.Errorf("key specs: kmsemu serves %v, kmskey knows %v; want the same", got, want)
	}
	for spec, class := range emuSpecs {
		if want := kmskey.ClassOf(spec); class != string(want) {
			t.Errorf("class of %s: kmsemu says %s, kmskey %s", spec, class, want)
		}
	}

	lo, def, hi := kmsemu.RotationPeriodDays()
	if lo != kmskey.MinRotationPeriodDays || def != kmskey.DefaultRotationPeriodDays || hi != kmskey.MaxRotationPeriodDays {
		t.Errorf("rotation periods: kmsemu %d–%d default %d, kmskey %d–%d default %d", lo, hi, def,
			kmskey.MinRotationPeriodDays, kmskey.MaxRotationPeriodDays, kmskey.DefaultRotationPeriodDays)
	}
}
