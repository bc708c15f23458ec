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
//
// A caller calls End even after a failed Begin or Finding (with what it
// has), so that a sink can remove its temporary files.
type Sink interface {
	Begin(h Header) error
	Finding(f *check.Finding) error
	End(t Trailer) error
}

// Header is what is known of a run before its first finding.
type Header struct {
	// SchemaVersion is the document's version (SchemaVersion when 0); Read
	// fills it from the report it reads.
	SchemaVersion int
	Tool          Tool
	// Scan holds what is known at the start: Kind, StartedAt, Policy,
	// RunID and Shard; the Trailer's Scan is the complete one.
	Scan Scan
}

// Trailer is what is known once the run has ended.
type Trailer struct {
	// Scan is complete: FinishedAt, DurationMS, Accounts, Regions, Calls,
	// Complete, and Interrupted's reason when the run was cut short.
	Scan Scan
	// Summary is the caller's count; the writers count the findings they
	// received themselves (check.Summary.Add) and write that, with
	// ScanErrors = len(Errors).
	Summary check.Summary
	Errors  []ScanError
}

// Tee is a Sink that passes every call to each of sinks, in order, and
// stops at the first error.
func Tee(sinks ...Sink) Sink { return tee(sinks) }

type tee []Sink

func (t tee) Begin(h Header) error {
	for _, s := range t {
		if err := s.Begin(h); err != nil {
			return err
		}
	}
	return nil
}

func (t tee) Finding(f *check.Finding) error {
	for _, s := range t {
		if err := s.Finding(f); err != nil {
			return err
		}
	}
	return nil
}

func (t tee) End(tr Trailer) error {
	var first error
	for _, s := range t {
		// Every sink gets its End, so each can remove its temporary files.
		if err := s.End(tr); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// complete is what a writer says of a run's completeness: the caller's
// Complete, and never true with an ERROR finding or an error entry.
func complete(t Trailer, s check.Summary) bool {
	s.ScanErrors = len(t.Errors)
	return t.Scan.Complete && s.Complete()
}
