package report

import (
	"bufio"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/kmsrotor/kmsrotor/internal/check"
)

// JUnit XML: one testsuite for the check, one testcase per key (classname
// account.Region or the file, name the key). FAIL is a failure, ERROR an
// error; MANUAL, SKIPPED and muted findings are skipped with their reason;
// PASS passes. The testsuite's counts come first in the file but are known
// only at the end, so test cases are spilled to a temporary file and copied
// after the header: memory stays bounded.

type junitCase struct {
	XMLName   xml.Name      `xml:"testcase"`
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

type junitSink struct {
	out     io.Writer
	opts    Options
	rows    *spool
	head    Header
	tests   int
	failed  int
	errored int
	skipped int
}

// NewJUnit returns the JUnit sink writing to w.
func NewJUnit(w io.Writer, o Options) Sink { return &junitSink{out: w, opts: o} }

func (s *junitSink) Begin(h Header) error {
	rows, err := newSpool(s.opts.TempDir, "kmsrotor-junit-*", nil)
	if err != nil {
		return fmt.Errorf("write junit report: %w", err)
	}
	s.rows, s.head = rows, h
	return nil
}

func (s *junitSink) Finding(f *check.Finding) error {
	c := junitCase{Name: junitName(f), Classname: junitClass(f), Time: "0", SystemOut: junitFacts(f)}
	switch {
	case f.Muted:
		c.Skipped = &junitSkipped{Message: fmt.Sprintf("muted %s (%s): %s", f.Status, f.Reason, f.Message)}
		s.skipped++
	case f.Status == check.StatusFail:
		c.Failure = &junitProblem{Message: f.Message, Type: f.Reason, Text: junitDetail(f)}
		s.failed++
	case f.Status == check.StatusError:
		c.Error = &junitProblem{Message: f.Message, Type: f.Reason, Text: junitDetail(f)}
		s.errored++
	case f.Status == check.StatusManual || f.Status == check.StatusSkipped:
		c.Skipped = &junitSkipped{Message: fmt.Sprintf("%s (%s): %s", f.Status, f.Reason, f.Message)}
		s.skipped++
	}
	s.tests++
	return c.write(s.rows.Writer)
}

// write writes the test case as xml.MarshalIndent(c, "    ", "  ") does,
// by hand: reflection would cost more than the rest of the writer.
func (c junitCase) write(w *bufio.Writer) error {
	text := func(s string) { xml.EscapeText(w, []byte(s)) }
	attr := func(name, v string) {
		w.WriteString(" " + name + `="`)
		text(v)
		w.WriteString(`"`)
	}
	w.WriteString("    <testcase")
	attr("name", c.Name)
	attr("classname", c.Classname)
	attr("time", c.Time)
	w.WriteString(">")
	problem := func(tag string, p *junitProblem) {
		w.WriteString("\n      <" + tag)
		attr("message", p.Message)
		attr("type", p.Type)
		w.WriteString(">")
		text(p.Text)
		w.WriteString("</" + tag + ">")
	}
	if c.Failure != nil {
		problem("failure", c.Failure)
	}
	if c.Error != nil {
		problem("error", c.Error)
	}
	if c.Skipped != nil {
		w.WriteString("\n      <skipped")
		attr("message", c.Skipped.Message)
		w.WriteString("></skipped>")
	}
	if c.SystemOut != "" {
		w.WriteString("\n      <system-out>")
		text(c.SystemOut)
		w.WriteString("</system-out>")
	}
	_, err := w.WriteString("\n    </testcase>\n")
	return err
}

// junitFacts is the finding in a few lines, for the test case's output.
func junitFacts(f *check.Finding) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %s\n", f.Status, f.Reason, f.Message)
	fmt.Fprintf(&b, "finding_id=%s key_id=%s rotation_enabled=%s period_days=%d next_rotation=%s last_rotation=%s last_rotation_type=%s muted=%v\n",
		findingID(f), f.KeyID, boolOf(f.Rotation.Enabled), f.Rotation.PeriodDays, dateOf(f, true), dateOf(f, false), f.Rotation.LastRotationType, f.Muted)
	for _, k := range slices.Sorted(maps.Keys(f.Tags)) {
		fmt.Fprintf(&b, "tag %s=%s\n", k, f.Tags[k])
	}
	return b.String()
}

func junitName(f *check.Finding) string {
	name := resourceUID(f)
	if len(f.Aliases) > 0 {
		name += " (" + strings.Join(f.Aliases, ", ") + ")"
	}
	return name
}

func junitClass(f *check.Finding) string {
	if f.File != "" {
		return f.CheckID + "." + f.File
	}
	return f.CheckID + "." + f.AccountID + "." + f.Region
}

func junitDetail(f *check.Finding) string {
	var b strings.Builder
	fmt.Fprintf(&b, "status: %s\nreason: %s\n", f.Status, f.Reason)
	if f.Remediation.Text != "" {
		fmt.Fprintf(&b, "remediation: %s\n", f.Remediation.Text)
	}
	if f.Remediation.CLI != "" {
		fmt.Fprintf(&b, "cli: %s\n", f.Remediation.CLI)
	}
	if f.Error != nil {
		fmt.Fprintf(&b, "error: %s %s %s\n", f.Error.Operation, f.Error.Code, f.Error.Message)
	}
	return b.String()
}

func (s *junitSink) End(t Trailer) error {
	defer s.rows.close()
	if s.rows == nil {
		return errors.New("write junit report: the report was not begun")
	}
	w := bufio.NewWriter(s.out)
	attr := func(v string) string {
		var b strings.Builder
		xml.EscapeText(&b, []byte(v))
		return strings.ReplaceAll(b.String(), `"`, "&#34;")
	}
	tests, errs := s.tests+len(t.Errors), s.errored+len(t.Errors)
	secs := fmt.Sprintf("%.3f", float64(t.Scan.DurationMS)/1000)
	fmt.Fprintf(w, "%s<testsuites name=\"%s\" tests=\"%d\" failures=\"%d\" errors=\"%d\" skipped=\"%d\" time=\"%s\">\n",
		xml.Header, attr(s.head.Tool.Name), tests, s.failed, errs, s.skipped, secs)
	fmt.Fprintf(w, "  <testsuite name=\"%s\" tests=\"%d\" failures=\"%d\" errors=\"%d\" skipped=\"%d\" time=\"%s\" timestamp=\"%s\">\n",
		check.CheckID, tests, s.failed, errs, s.skipped, secs, evaluatedAt(t.Scan).Format("2006-01-02T15:04:05"))
	for _, e := range t.Errors {
		// A scan error (a Region not listed) is an error of its own test case.
		c := junitCase{Name: "scan " + orDefault(e.AccountID, e.File) + " " + e.Region, Classname: check.CheckID + ".scan", Time: "0",
			Error: &junitProblem{Message: describeScanError(e), Type: e.Code}}
		c.write(w)
	}
	if err := s.rows.copyTo(w); err != nil {
		return fmt.Errorf("write junit report: %w", err)
	}
	w.WriteString("  </testsuite>\n</testsuites>\n")
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write junit report: %w", err)
	}
	return nil
}
