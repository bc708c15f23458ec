package report

import (
	"github.com/kmsrotor/kmsrotor/internal/check"
)

// Sink receives a run's findings one at a time, as they are decided: Begin
// once, Finding for each key, End once with what is only known at the end.
// A writer that must sort or count (the JSON document, the table's summary)
// keeps what it needs in bounded memory; none holds the estate.
//
// Finding's argument is only valid during the call: a sink that keeps a
// finding copies it. Findings share their Compliance map (the rule
// catalog's); a sink never modifies it.
type Sink interface {
	Begin(h Header) error
	Finding(f *check.Finding) error
	End(t Trailer) error
}

// Header is what is known of a run before its first finding.
type Header struct {
	Tool Tool
	// Scan holds what is known at the start: Kind, StartedAt, Policy,
	// RunID and Shard; the Trailer's Scan is the complete one.
	Scan Scan
}

// Trailer is what is known once the run has ended.
type Trailer struct {
	// Scan is complete: FinishedAt, DurationMS, Accounts, Regions, Calls,
	// Complete, and Incomplete's reason when the run was cut short.
	Scan    Scan
	Summary check.Summary
	Errors  []ScanError
}
