package kmsemu

import (
	_ "embed"
	"fmt"
	"time"
)

// demoYAML is the demo estate; its comments say which key shows what.
//
//go:embed demo.yaml
var demoYAML []byte

// demoAsOf is the day demo.yaml's dates are written for.
var demoAsOf = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// DemoEstate is the built-in demo: 3 accounts × 3 Regions with every key class.
// Its dates are moved to read as of today (see DemoEstateAt).
func DemoEstate() *Estate { return DemoEstateAt(time.Now()) }

// DemoEstateAt is the demo estate with every date moved by the same whole
// number of days, so that it reads on now's day as demo.yaml reads on
// 2026-11-01: rotating keys are within their period, the overdue key is
// overdue and the key pending deletion is not yet deleted. Tests that set
// the emulator clock pass the same time here.
func DemoEstateAt(now time.Time) *Estate {
	e, err := parseEstate(demoYAML)
	if err != nil {
		// demo.yaml is compiled in and tested; this cannot happen in a build
		// that passed its tests.
		panic(fmt.Sprintf("kmsemu: the embedded demo estate is invalid: %v", err))
	}
	days := int(now.UTC().Truncate(24*time.Hour).Sub(demoAsOf) / (24 * time.Hour))
	shiftEstate(e, time.Duration(days)*24*time.Hour)
	return e
}

// shiftEstate moves every date of the estate's keys by d.
func shiftEstate(e *Estate, d time.Duration) {
	move := func(t *time.Time) {
		if !t.IsZero() {
			*t = t.Add(d)
		}
	}
	for i := range e.Accounts {
		for j := range e.Accounts[i].Keys {
			k := &e.Accounts[i].Keys[j]
			move(&k.Created)
			move(&k.DeletionDate)
			move(&k.ValidTo)
			move(&k.Rotation.EnabledAt)
			move(&k.Rotation.NextRotation)
			for h := range k.Rotation.History {
				move(&k.Rotation.History[h].Date)
			}
		}
	}
}
