package report

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/kmsrotor/kmsrotor/internal/check"
)

// Markdown: a summary fit for a pull-request comment — the counts, the
// chosen framework's section, and a table of the FAIL and ERROR findings
// (unmuted), at most markdownRows of them so the comment stays under
// GitHub's size limit and memory stays bounded; the rest are counted.
// Every string from AWS or the files is escaped so that it renders as text:
// no HTML, no links, no table breaks.

const markdownRows = 100

type mdRow struct{ status, where, key, reason, message, fix string }

type markdownSink struct {
	out   io.Writer
	opts  Options
	head  Header
	agg   *aggregate
	rows  []mdRow
	more  int
	fw    check.Framework
	hasFW bool
}

// NewMarkdown returns the Markdown sink writing to w.
func NewMarkdown(w io.Writer, o Options) Sink {
	s := &markdownSink{out: w, opts: o, agg: newAggregate()}
	s.fw, s.hasFW = check.LookupFramework(o.Compliance)
	return s
}

func (s *markdownSink) Begin(h Header) error { s.head = h; return nil }

func (s *markdownSink) Finding(f *check.Finding) error {
	s.agg.add(f, s.fw.Key)
	if f.Muted || (f.Status != check.StatusFail && f.Status != check.StatusError) {
		return nil
	}
	if len(s.rows) >= markdownRows {
		s.more++
		return nil
	}
	where := f.AccountID + " " + f.Region
	if f.File != "" {
		where = fmt.Sprintf("%s:%d", f.File, f.StartLine)
	}
	key := resourceUID(f)
	if len(f.Aliases) > 0 {
		key += " (" + strings.Join(f.Aliases, ", ") + ")"
	}
	fix := f.Remediation.CLI
	if fix == "" {
		fix = orDefault(f.Remediation.Terraform, f.Remediation.Text)
	}
	s.rows = append(s.rows, mdRow{string(f.Status), where, key, f.Reason, f.Message, fix})
	return nil
}

// mdText escapes text for a Markdown table cell: HTML is written as
// entities, Markdown's punctuation is backslash-escaped, line breaks are
// spaces.
func mdText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '\n', '\r', '\t':
			b.WriteByte(' ')
		case '\\', '`', '*', '_', '[', ']', '(', ')', '#', '!', '|', '~', '{', '}':
			b.WriteByte('\\')
			b.WriteRune(r)
		case ':':
			// Breaks autolinks (https://, javascript:).
			b.WriteString("&#58;")
		default:
			if r < 0x20 || r == 0x7f {
				continue
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}

// mdCode writes s as inline code, with a fence longer than any run of
// backticks in it.
func mdCode(s string) string {
	s = strings.NewReplacer("\n", " ", "\r", " ", "|", "\\|").Replace(s)
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	return fence + " " + s + " " + fence
}

func (s *markdownSink) End(t Trailer) error {
	w := bufio.NewWriter(s.out)
	sum := t.Summary
	icon := "✅"
	switch {
	case sum.Fail > 0:
		icon = "❌"
	case sum.Error > 0 || !t.Scan.Complete:
		icon = "⚠️"
	}
	fmt.Fprintf(w, "## %s KMS key rotation (%s)\n\n", icon, check.CheckID)
	fmt.Fprintf(w, "| FAIL | ERROR | MANUAL | PASS | SKIPPED | muted | total |\n|---:|---:|---:|---:|---:|---:|---:|\n")
	fmt.Fprintf(w, "| %d | %d | %d | %d | %d | %d | %d |\n\n", sum.Fail, sum.Error, sum.Manual, sum.Pass, sum.Skipped, sum.Muted, sum.Total)
	if len(t.Scan.Accounts) > 0 || len(t.Scan.Regions) > 0 {
		fmt.Fprintf(w, "Scanned %d account(s) in %d Region(s)", len(t.Scan.Accounts), len(t.Scan.Regions))
	} else {
		fmt.Fprintf(w, "Scanned %d path(s)", len(t.Scan.Paths))
	}
	fmt.Fprintf(w, " at %s; policy: rotation at most every %d days, %d days of grace.", evaluatedAt(t.Scan).Format("2006-01-02 15:04 UTC"),
		t.Scan.Policy.MaxRotationDays, t.Scan.Policy.RotationGraceDays)
	if !t.Scan.Complete {
		w.WriteString(" **The scan is incomplete:** some keys or Regions could not be read.")
	}
	w.WriteString("\n\n")
	if s.hasFW {
		sec := section(s.fw, s.agg)
		fmt.Fprintf(w, "### Compliance: %s (`%s`)\n\n| requirement | FAIL | ERROR | MANUAL | PASS | SKIPPED |\n|---|---:|---:|---:|---:|---:|\n", mdText(sec.Framework), sec.ID)
		for _, r := range sec.Requirements {
			fmt.Fprintf(w, "| %s | %d | %d | %d | %d | %d |\n", mdText(r.ID), r.Fail, r.Error, r.Manual, r.Pass, r.Skipped)
		}
		w.WriteString("\n")
	}
	if len(s.rows) > 0 {
		w.WriteString("### Findings to act on\n\n| status | where | key | reason | message | fix |\n|---|---|---|---|---|---|\n")
		for _, r := range s.rows {
			fix := ""
			if r.fix != "" {
				fix = mdCode(r.fix)
			}
			fmt.Fprintf(w, "| **%s** | %s | %s | %s | %s | %s |\n", r.status, mdText(r.where), mdText(r.key), mdText(r.reason), mdText(r.message), fix)
		}
		if s.more > 0 {
			fmt.Fprintf(w, "\n…and %d more; see the full report.\n", s.more)
		}
		w.WriteString("\n")
	}
	if len(t.Errors) > 0 {
		fmt.Fprintf(w, "### Scan errors\n\n")
		for _, e := range t.Errors {
			fmt.Fprintf(w, "- %s\n", mdText(describeScanError(e)))
		}
		w.WriteString("\n")
	}
	if len(s.agg.byAccount) > 1 {
		w.WriteString("<details><summary>By account</summary>\n\n| account | FAIL | ERROR | MANUAL | PASS | SKIPPED |\n|---|---:|---:|---:|---:|---:|\n")
		for _, a := range slices.Sorted(maps.Keys(s.agg.byAccount)) {
			m := s.agg.byAccount[a]
			fmt.Fprintf(w, "| %s | %d | %d | %d | %d | %d |\n", mdText(a), m[check.StatusFail], m[check.StatusError], m[check.StatusManual], m[check.StatusPass], m[check.StatusSkipped])
		}
		w.WriteString("\n</details>\n")
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write markdown report: %w", err)
	}
	return nil
}
