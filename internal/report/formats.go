package report

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/kmsrotor/kmsrotor/internal/check"
)

// The formats written by sinks of their own (one file each: ocsf.go,
// asff.go, csv.go, junit.go, markdown.go, html.go).
const (
	FormatOCSF     Format = "ocsf"
	FormatASFF     Format = "asff"
	FormatCSV      Format = "csv"
	FormatJUnit    Format = "junit"
	FormatMarkdown Format = "markdown"
	FormatHTML     Format = "html"
)

// sinkMakers build each format's sink.
var sinkMakers = map[Format]func(w io.Writer, o Options) Sink{
	FormatOCSF:     func(w io.Writer, _ Options) Sink { return NewOCSF(w) },
	FormatASFF:     func(w io.Writer, _ Options) Sink { return NewASFF(w) },
	FormatCSV:      func(w io.Writer, _ Options) Sink { return NewCSV(w) },
	FormatJUnit:    func(w io.Writer, o Options) Sink { return NewJUnit(w, o) },
	FormatMarkdown: func(w io.Writer, o Options) Sink { return NewMarkdown(w, o) },
	FormatHTML:     func(w io.Writer, o Options) Sink { return NewHTML(w, o) },
}

// SinkFormats lists the formats beyond json, jsonl, table and sarif, sorted.
func SinkFormats() []Format { return slices.Sorted(maps.Keys(sinkMakers)) }

func init() {
	for f, mk := range sinkMakers {
		register(f, func(w io.Writer, o Options) (Sink, error) { return mk(w, o), nil })
	}
}

// aggregate is what the summary formats (HTML, Markdown, JUnit) keep of an
// estate: counts only, bounded by the number of accounts, Regions and
// months, never by the number of keys.
type aggregate struct {
	status    map[check.Status]int
	muted     int
	byAccount map[string]map[check.Status]int
	byRegion  map[string]map[check.Status]int
	// periods counts rotating keys by period in days.
	periods map[int]int
	// nextByMonth counts next rotations by month (2026-07).
	nextByMonth map[string]int
	// requirements counts findings by status for the chosen framework.
	requirements map[string]map[check.Status]int
}

func newAggregate() *aggregate {
	return &aggregate{status: map[check.Status]int{}, byAccount: map[string]map[check.Status]int{},
		byRegion: map[string]map[check.Status]int{}, periods: map[int]int{}, nextByMonth: map[string]int{},
		requirements: map[string]map[check.Status]int{}}
}

func bump(m map[string]map[check.Status]int, k string, s check.Status) {
	if m[k] == nil {
		m[k] = map[check.Status]int{}
	}
	m[k][s]++
}

func (a *aggregate) add(f *check.Finding, framework string) {
	s := f.Status
	if f.Muted {
		a.muted++
	}
	a.status[s]++
	bump(a.byAccount, orDefault(f.AccountID, "(files)"), s)
	bump(a.byRegion, orDefault(f.Region, "(none)"), s)
	if f.Rotation.Enabled != nil && *f.Rotation.Enabled && f.Rotation.PeriodDays > 0 {
		a.periods[f.Rotation.PeriodDays]++
	}
	if n := f.Rotation.NextRotationDate; n != nil {
		a.nextByMonth[n.UTC().Format("2006-01")]++
	}
	if framework != "" {
		for _, req := range f.Compliance[framework] {
			bump(a.requirements, req, s)
		}
	}
}

// ComplianceSection is one framework's part of a report: for each of its
// requirements this check covers, the findings by status. The JSON document
// carries it as "compliance_section" when --compliance names a framework.
type ComplianceSection struct {
	Framework    string              `json:"framework"`
	ID           string              `json:"id"`
	Requirements []RequirementStatus `json:"requirements"`
}

// RequirementStatus counts a requirement's findings by status (a muted
// finding under its status).
type RequirementStatus struct {
	ID      string `json:"id"`
	Pass    int    `json:"pass"`
	Fail    int    `json:"fail"`
	Manual  int    `json:"manual"`
	Error   int    `json:"error"`
	Skipped int    `json:"skipped"`
}

// NewComplianceSection counts findings for framework (a key or Prowler ID
// that check.LookupFramework knows) as they stream through the returned
// sink; Section gives the result after End.
func NewComplianceSection(framework string) (*ComplianceCounter, error) {
	fw, ok := check.LookupFramework(framework)
	if !ok {
		return nil, fmt.Errorf("unknown compliance framework %q: use one of %s", framework, strings.Join(check.CloseFrameworks(framework), ", "))
	}
	return &ComplianceCounter{fw: fw, agg: newAggregate()}, nil
}

// ComplianceCounter is a Sink that counts one framework's requirements.
type ComplianceCounter struct {
	fw  check.Framework
	agg *aggregate
}

func (c *ComplianceCounter) Begin(Header) error { return nil }
func (c *ComplianceCounter) Finding(f *check.Finding) error {
	c.agg.add(f, c.fw.Key)
	return nil
}
func (c *ComplianceCounter) End(Trailer) error { return nil }

// Section is the framework's section of what was counted.
func (c *ComplianceCounter) Section() ComplianceSection { return section(c.fw, c.agg) }

func section(fw check.Framework, a *aggregate) ComplianceSection {
	out := ComplianceSection{Framework: fw.Key, ID: fw.ID, Requirements: []RequirementStatus{}}
	for _, req := range fw.Requirements {
		m := a.requirements[req]
		out.Requirements = append(out.Requirements, RequirementStatus{ID: req, Pass: m[check.StatusPass], Fail: m[check.StatusFail],
			Manual: m[check.StatusManual], Error: m[check.StatusError], Skipped: m[check.StatusSkipped]})
	}
	return out
}

// evaluatedAt is the time a report's findings were judged at: known at
// Begin, so every finding of a run carries the same time.
func evaluatedAt(s Scan) time.Time {
	if !s.EvaluatedAt.IsZero() {
		return s.EvaluatedAt.UTC()
	}
	return s.StartedAt.UTC()
}

// controlFree writes through to w with the C0 control characters other
// than tab, line feed and carriage return, and DEL, replaced by U+FFFD: a
// key description or tag cannot carry a terminal escape sequence into a
// file someone will cat.
type controlFree struct{ w io.Writer }

func (c controlFree) Write(p []byte) (int, error) {
	clean := true
	for _, b := range p {
		if isControl(b) {
			clean = false
			break
		}
	}
	if clean {
		return c.w.Write(p)
	}
	out := make([]byte, 0, len(p)+8)
	for _, b := range p {
		if isControl(b) {
			out = append(out, "\uFFFD"...)
			continue
		}
		out = append(out, b)
	}
	if _, err := c.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

func isControl(b byte) bool { return (b < 0x20 && b != '\t' && b != '\n' && b != '\r') || b == 0x7f }
