// Package report writes findings in every output format from one versioned
// Document. Writers only format: none has a fact the JSON lacks.
package report

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/kmsrotor/kmsrotor/internal/check"
	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

// SchemaVersion is the version of the JSON document.
const SchemaVersion = 1

// Document is everything a report says: the JSON output is exactly this.
type Document struct {
	SchemaVersion int             `json:"schema_version"`
	Tool          Tool            `json:"tool"`
	Scan          Scan            `json:"scan"`
	Summary       check.Summary   `json:"summary"`
	Findings      []check.Finding `json:"findings"`
	Errors        []ScanError     `json:"errors"`
}

// Tool names the program that wrote the document.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	URL     string `json:"url,omitempty"`
}

// Scan says what was scanned, when and under which policy.
type Scan struct {
	// Kind is "aws" for a live scan, "iac" for files.
	Kind       string    `json:"kind"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	DurationMS int64     `json:"duration_ms"`
	// Complete is false when any error entry or ERROR finding exists.
	Complete bool `json:"complete"`
	// EvaluatedAt is the time rotation dates were judged against: AWS's
	// clock for a live scan.
	EvaluatedAt time.Time `json:"evaluated_at"`
	Accounts    []string  `json:"accounts,omitempty"`
	// SkippedAccounts are organization accounts not scanned because they are
	// not ACTIVE (suspended, closed): listed so that no key goes missing unseen.
	SkippedAccounts []SkippedAccount `json:"skipped_accounts,omitempty"`
	Regions         []string         `json:"regions,omitempty"`
	Paths           []string         `json:"paths,omitempty"`
	Policy          PolicyFacts      `json:"policy"`
	Calls           map[string]int   `json:"api_calls,omitempty"`
	// RunID identifies a run; the shards of one run share it, and merge
	// refuses inputs from different runs.
	RunID string `json:"run_id,omitempty"`
	// Shard is this report's part of a sharded run (--shard i/n).
	Shard *Shard `json:"shard,omitempty"`
	// Interrupted says why a run was cut short (a signal); Complete is
	// false then.
	Interrupted string `json:"interrupted,omitempty"`
}

// Shard is one part of a run split across machines: Index in 1..Count.
type Shard struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

// PolicyFacts is the policy the findings were evaluated under.
type PolicyFacts struct {
	MaxRotationDays   int  `json:"max_rotation_days"`
	RotationGraceDays int  `json:"rotation_grace_days"`
	IncludeDisabled   bool `json:"include_disabled"`
}

// SkippedAccount and ScanError are kmskey's: every source reports them.
type (
	SkippedAccount = kmskey.SkippedAccount
	ScanError      = kmskey.ScanError
)

// Format is an output format name.
type Format string

// The formats.
const (
	FormatTable Format = "table"
	FormatJSON  Format = "json"
	FormatJSONL Format = "jsonl"
	FormatSARIF Format = "sarif"
)

// Options adjust the writers.
type Options struct {
	// Terminal: aligned and coloured output; otherwise plain and complete.
	Terminal bool
	// ShowSkipped lists SKIPPED (and PASS) rows in the table.
	ShowSkipped bool
	// NoColor keeps colour out of terminal output (NO_COLOR).
	NoColor bool
	// TempDir is where sorting writers spill sorted runs (os.TempDir when
	// empty); the files are removed at End or on error.
	TempDir string
	// RunSize is how many findings a sorting writer holds in memory
	// (DefaultRunSize when 0).
	RunSize int
	// Compliance is the key of the framework (check.Framework.Key) whose
	// section the HTML, Markdown and JSON reports add; empty for none.
	Compliance string
}

// NewSinkFunc makes the Sink of one format, writing to w.
type NewSinkFunc func(w io.Writer, opts Options) (Sink, error)

// sinks is the one seam between formats and callers: one entry per format.
var sinks = map[Format]NewSinkFunc{}

func register(f Format, fn NewSinkFunc) { sinks[f] = fn }

// Formats lists the registered formats, sorted.
func Formats() []Format {
	out := make([]Format, 0, len(sinks))
	for f := range sinks {
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}

// ParseFormat checks a format name against the allowed ones (all registered
// formats when none is given).
func ParseFormat(s string, allowed ...Format) (Format, error) {
	if len(allowed) == 0 {
		allowed = Formats()
	}
	f := Format(strings.ToLower(strings.TrimSpace(s)))
	if _, ok := sinks[f]; ok && slices.Contains(allowed, f) {
		return f, nil
	}
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = string(a)
	}
	return "", fmt.Errorf("unknown output format %q: use one of %s", s, strings.Join(names, ", "))
}

// NewSink returns the writer of format f on w.
func NewSink(f Format, w io.Writer, opts Options) (Sink, error) {
	fn, ok := sinks[f]
	if !ok {
		return nil, fmt.Errorf("unknown output format %q", f)
	}
	return fn(w, opts)
}

// Write writes a whole Document in format f by feeding it through the
// format's Sink: Begin, each finding, End. It is for batch callers (iac)
// and tests; the Document's Summary is recomputed from its findings.
func Write(w io.Writer, f Format, doc *Document, opts Options) error {
	s, err := NewSink(f, w, opts)
	if err != nil {
		return err
	}
	return Feed(s, doc)
}

// Feed sends doc through s.
func Feed(s Sink, doc *Document) error {
	if err := s.Begin(Header{SchemaVersion: doc.SchemaVersion, Tool: doc.Tool, Scan: doc.Scan}); err != nil {
		return err
	}
	for i := range doc.Findings {
		if err := s.Finding(&doc.Findings[i]); err != nil {
			return err
		}
	}
	return s.End(Trailer{Scan: doc.Scan, Summary: doc.Summary, Errors: doc.Errors})
}

// Finalize sorts the findings, counts them and sets Complete.
func (d *Document) Finalize() {
	if d.SchemaVersion == 0 {
		d.SchemaVersion = SchemaVersion
	}
	if d.Findings == nil {
		d.Findings = []check.Finding{}
	}
	if d.Errors == nil {
		d.Errors = []ScanError{}
	}
	check.Sort(d.Findings)
	SortErrors(d.Errors)
	d.Summary = check.Summarize(d.Findings)
	d.Summary.ScanErrors = len(d.Errors)
	d.Scan.Complete = d.Summary.Complete()
}

// SortErrors orders error entries deterministically: by account, Region,
// file, line, operation and code.
func SortErrors(errs []ScanError) {
	slices.SortStableFunc(errs, func(a, b ScanError) int {
		return cmp.Or(cmp.Compare(a.AccountID, b.AccountID), cmp.Compare(a.Region, b.Region),
			cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Operation, b.Operation), cmp.Compare(a.Code, b.Code), cmp.Compare(a.Message, b.Message))
	})
}
