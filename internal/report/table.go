package report

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kmsrotor/kmsrotor/internal/check"
	"github.com/kmsrotor/kmsrotor/internal/term"
)

func init() { register(FormatTable, newTableSink) }

// ANSI SGR sequences for the status column on a terminal.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
)

// terminalListMax is how many accounts, Regions or paths the header names on
// a terminal before it counts the rest; piped output names them all.
const terminalListMax = 5

// tableSink writes the human report: what was scanned, a summary by
// status, the rows worth acting on with their fix, then the scan-level
// errors, which are never hidden. On a terminal it streams: each FAIL,
// ERROR or MANUAL row is printed as it arrives (PASS and SKIPPED too with
// ShowSkipped), with the status coloured and key IDs shortened (the fix
// line keeps the full ID), in columns of fixed width; what was scanned and
// the summary come last. Piped, the output is plain and complete: the
// header and summary first, then every row, worst first, aligned; the rows
// are sorted through a spillSorter, so memory stays bounded.
type tableSink struct {
	t       tableWriter
	w       io.Writer
	h       Header
	showAll bool
	sum     check.Summary
	started bool

	hiddenMuted, hiddenOK int
	shown                 int
	// Piped: the rows to print at End, and each column's width.
	sorter *spillSorter
	widths []int
}

func newTableSink(w io.Writer, opts Options) (Sink, error) {
	s := &tableSink{t: tableWriter{terminal: opts.Terminal, color: opts.Terminal && !opts.NoColor}, w: w, showAll: opts.ShowSkipped}
	if !opts.Terminal {
		s.sorter = newSpillSorter(func(a, b *check.Finding) int {
			return cmp.Or(statusRank(*a)-statusRank(*b), check.Compare(a, b))
		}, opts)
	}
	return s, nil
}

// Fixed column widths of the streamed table: an account ID, the longest
// Region names, a shortened multi-Region key ID, and room for the rest.
var (
	streamWidthsLive = []int{12, 14, 13, 24, 14, 0}
	streamWidthsIaC  = []int{32, 32, 14, 0}
)

func (s *tableSink) Begin(h Header) error {
	s.h = h
	switch h.Scan.Kind {
	case "iac":
		s.t.iac, s.started = true, true
	case "aws":
		s.started = true
	}
	return nil
}

func (s *tableSink) head() []string {
	if s.t.iac {
		return []string{"FILE:LINE", "RESOURCE", "STATUS", "REASON"}
	}
	return []string{"ACCOUNT", "REGION", "KEY", "ALIAS", "STATUS", "REASON"}
}

func (s *tableSink) Finding(f *check.Finding) error {
	if !s.started {
		// A caller that left the kind empty: a finding that names a file
		// is from a file scan.
		s.t.iac, s.started = f.File != "", true
	}
	s.sum.Add(f)
	switch {
	case s.showAll:
	case f.Muted:
		s.hiddenMuted++
		return nil
	case f.Status == check.StatusPass || f.Status == check.StatusSkipped:
		s.hiddenOK++
		return nil
	}
	s.shown++
	r := s.t.row(*f)
	if s.sorter != nil {
		if s.widths == nil {
			s.widths = columnWidths(s.head(), nil)
		}
		for i, c := range r.cells {
			s.widths[i] = max(s.widths[i], utf8.RuneCountInString(cell(c)))
		}
		if err := s.sorter.Add(f); err != nil {
			s.sorter.Close()
			return err
		}
		return nil
	}
	widths := streamWidthsLive
	if s.t.iac {
		widths = streamWidthsIaC
	}
	if s.shown == 1 {
		s.t.line(s.head(), widths, func(int) string { return ansiBold })
	}
	s.t.printRow(s.head(), fitRow(s.head(), r, widths), widths)
	return s.flush()
}

// fitRow keeps a streamed row in its fixed columns: a cell wider than its
// column is cut, with "…" where it was cut, and shown whole in a note
// under the row, so nothing is lost and the columns stay aligned. A file
// location keeps its end (the file name and line).
func fitRow(head []string, r row, widths []int) row {
	var notes []string
	cells := slices.Clone(r.cells)
	for i, c := range cells {
		w := widths[i]
		c = cell(c)
		n := utf8.RuneCountInString(c)
		if w <= 0 || n <= w {
			continue
		}
		runes := []rune(c)
		if head[i] == "FILE:LINE" {
			cells[i] = "…" + string(runes[n-w+1:])
		} else {
			cells[i] = string(runes[:w-1]) + "…"
		}
		notes = append(notes, strings.ToLower(head[i])+": "+c)
	}
	if notes == nil {
		return r
	}
	r.cells = cells
	r.notes = append(notes, r.notes...)
	return r
}

func (s *tableSink) flush() error {
	if _, err := io.WriteString(s.w, s.t.b.String()); err != nil {
		return fmt.Errorf("write table report: %w", err)
	}
	s.t.b.Reset()
	return nil
}

func (s *tableSink) End(tr Trailer) error {
	if s.sorter != nil {
		defer s.sorter.Close()
	}
	t := &s.t
	scan := tr.Scan
	if s.t.terminal && s.shown > 0 {
		t.printf("\n")
	}
	t.header(scan)
	if s.sum.Total == 0 {
		t.printf("%s\n", t.emptySentence(scan))
	} else {
		t.summary(s.sum, len(tr.Errors))
		if s.shown == 0 {
			t.printf("\nNo FAIL, ERROR or MANUAL findings.\n")
		} else if s.sorter != nil {
			t.printf("\n")
			head := s.head()
			t.line(head, s.widths, func(int) string { return ansiBold })
			err := s.sorter.Each(func(f *check.Finding) error {
				t.printRow(head, t.row(*f), s.widths)
				if t.b.Len() >= 64<<10 {
					return s.flush()
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		t.hidden(s.hiddenOK, s.hiddenMuted)
	}
	t.skippedAccounts(scan.SkippedAccounts)
	t.errors(tr.Errors)
	return s.flush()
}

// cell is the one function every cell and note passes through before it is
// written, so that what a key's name or an AWS message holds cannot act on
// the terminal.
func cell(s string) string { return term.Inert(s) }

type tableWriter struct {
	b        strings.Builder
	terminal bool
	iac      bool
	// color paints with ANSI colours: on a terminal, unless NO_COLOR.
	color bool
}

func (t *tableWriter) printf(format string, a ...any) { fmt.Fprintf(&t.b, format, a...) }

func (t *tableWriter) paint(s, sgr string) string {
	if !t.color || sgr == "" {
		return s
	}
	return sgr + s + ansiReset
}

func statusSGR(s check.Status) string {
	switch s {
	case check.StatusFail:
		return ansiRed
	case check.StatusError, check.StatusManual:
		return ansiYellow
	case check.StatusPass:
		return ansiGreen
	case check.StatusSkipped:
		return ansiDim
	}
	return ""
}

func (t *tableWriter) header(scan Scan) {
	took := (time.Duration(scan.DurationMS) * time.Millisecond).String()
	t.printf("Scanned %s in %s. Policy: %s.\n", t.scope(scan), took, t.policy(scan.Policy))
}

// scope says what was scanned: accounts × Regions, or paths.
func (t *tableWriter) scope(scan Scan) string {
	if t.iac {
		if len(scan.Paths) == 0 {
			return "no paths"
		}
		return t.counted(scan.Paths, "path", "paths")
	}
	var parts []string
	if len(scan.Accounts) > 0 {
		parts = append(parts, t.counted(scan.Accounts, "account", "accounts"))
	}
	if len(scan.Regions) > 0 {
		parts = append(parts, t.counted(scan.Regions, "Region", "Regions"))
	}
	if len(parts) == 0 {
		return "AWS"
	}
	return strings.Join(parts, " × ")
}

func (t *tableWriter) counted(items []string, one, many string) string {
	noun := many
	if len(items) == 1 {
		noun = one
	}
	shown := items
	more := ""
	if t.terminal && len(items) > terminalListMax {
		shown = items[:terminalListMax]
		more = fmt.Sprintf(", … %d more", len(items)-terminalListMax)
	}
	inert := make([]string, len(shown))
	for i, s := range shown {
		inert[i] = cell(s)
	}
	return fmt.Sprintf("%d %s (%s%s)", len(items), noun, strings.Join(inert, ", "), more)
}

func (t *tableWriter) policy(p PolicyFacts) string {
	var parts []string
	if p.MaxRotationDays > 0 {
		parts = append(parts, fmt.Sprintf("rotation at least every %d days", p.MaxRotationDays))
	} else {
		parts = append(parts, "rotation enabled, any period")
	}
	// Files carry no rotation dates, so the grace never applies to them.
	if !t.iac {
		parts = append(parts, fmt.Sprintf("overdue after %d days of grace", p.RotationGraceDays))
	}
	if p.IncludeDisabled {
		parts = append(parts, "disabled keys evaluated")
	}
	return strings.Join(parts, ", ")
}

func (t *tableWriter) emptySentence(scan Scan) string {
	if t.iac {
		return fmt.Sprintf("No KMS key resources found in %s.", t.scope(scan))
	}
	return fmt.Sprintf("No KMS keys found in %s.", t.scope(scan))
}

func (t *tableWriter) summary(s check.Summary, scanErrors int) {
	counts := []struct {
		status check.Status
		n      int
	}{
		{check.StatusFail, s.Fail},
		{check.StatusError, s.Error},
		{check.StatusManual, s.Manual},
		{check.StatusPass, s.Pass},
		{check.StatusSkipped, s.Skipped},
	}
	parts := make([]string, 0, len(counts)+1)
	for _, c := range counts {
		parts = append(parts, fmt.Sprintf("%d %s", c.n, t.paint(string(c.status), statusSGR(c.status))))
	}
	parts = append(parts, fmt.Sprintf("%d muted", s.Muted))
	noun := "keys"
	if s.Total == 1 {
		noun = "key"
	}
	tail := ""
	if n := scanErrors; n > 0 {
		// Scan-level errors are not findings; say so here too, so that the
		// summary never reads as complete when the footer says otherwise.
		tail = fmt.Sprintf(", and %d scan %s", n, plural(n, "error", "errors"))
	}
	t.printf("Summary: %s (%d %s)%s.\n", strings.Join(parts, ", "), s.Total, noun, tail)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// row is one finding in the table: its cells, then the lines under it.
type row struct {
	cells  []string
	status check.Status
	notes  []string
}

// hidden says which rows the table left out.
func (t *tableWriter) hidden(hiddenOK, hiddenMuted int) {
	var hidden []string
	if hiddenOK > 0 {
		hidden = append(hidden, fmt.Sprintf("%d PASS or SKIPPED", hiddenOK))
	}
	if hiddenMuted > 0 {
		hidden = append(hidden, fmt.Sprintf("%d muted", hiddenMuted))
	}
	if len(hidden) > 0 {
		hint := ""
		if !t.iac {
			hint = "; --show-skipped lists them"
		}
		t.printf("\nNot listed: %s%s.\n", strings.Join(hidden, " and "), hint)
	}
}

// statusRank orders rows: FAIL, ERROR, MANUAL, PASS, SKIPPED, then muted.
func statusRank(f check.Finding) int {
	r := slices.Index(check.Statuses, f.Status)
	if r < 0 {
		r = len(check.Statuses)
	}
	if f.Muted {
		r += len(check.Statuses) + 1
	}
	return r
}

func (t *tableWriter) row(f check.Finding) row {
	status := string(f.Status)
	if f.Muted {
		status += " (muted)"
	}
	reason := f.Reason
	if f.Error != nil && f.Error.Code != "" {
		reason += " (" + f.Error.Code + ")"
	}
	r := row{status: f.Status}
	if t.iac {
		loc := f.File
		if f.StartLine > 0 {
			loc = fmt.Sprintf("%s:%d", f.File, f.StartLine)
		}
		r.cells = []string{loc, orDash(f.Resource), status, reason}
	} else {
		alias := "-"
		if len(f.Aliases) > 0 {
			alias = f.Aliases[0]
		}
		key := f.KeyID
		if key == "" {
			key = f.KeyARN
		}
		full := key
		if t.terminal {
			key = shortKeyID(key)
		}
		r.cells = []string{orDash(f.AccountID), orDash(f.Region), orDash(key), alias, status, reason}
		r.notes = t.notes(f)
		// A shortened ID must still be findable in full under its row.
		if key != full && !slices.ContainsFunc(r.notes, func(n string) bool { return strings.Contains(n, full) }) {
			r.notes = append([]string{"key: " + orDefault(f.KeyARN, full)}, r.notes...)
		}
		return r
	}
	r.notes = t.notes(f)
	return r
}

// notes are the lines under a row: what a replica is a replica of, why an
// ERROR or MANUAL row needs attention, and the fix for a FAIL.
func (t *tableWriter) notes(f check.Finding) []string {
	var out []string
	if c := f.CallSite; c != nil {
		out = append(out, fmt.Sprintf("made in %s, called at %s:%d: set its arguments there", c.Module, c.File, c.StartLine))
	}
	if isReplica(f) {
		if p := primaryName(f); p != "" {
			out = append(out, "replica of "+p)
		} else {
			out = append(out, "replica of a primary key that could not be resolved")
		}
	}
	switch f.Status {
	case check.StatusError:
		if e := f.Error; e != nil {
			msg := fmt.Sprintf("error: %s failed with %s", orDash(e.Operation), e.Code)
			if e.Message != "" {
				msg += ": " + e.Message
			}
			out = append(out, msg)
		}
		if f.Remediation.Text != "" {
			out = append(out, "fix: "+f.Remediation.Text)
		}
	case check.StatusManual:
		out = append(out, "note: "+f.Message)
	case check.StatusFail:
		for _, x := range fixesFor(f) {
			label := "fix"
			if f.File != "" {
				where := x.Label
				if isReplica(f) {
					target := f.Key.PrimaryResource
					if target == "" {
						target = "the primary key"
					}
					where += ", on " + target
				}
				label = "fix (" + where + ")"
			}
			if !snippet(x) {
				// One sentence or command, which may quote a key ID or
				// an alias from outside: its newlines are escaped, never
				// a line of the table.
				out = append(out, label+": "+x.Text)
				continue
			}
			out = append(out, hanging(label+": ", x.Text)...)
		}
	}
	return out
}

// snippet reports whether a fix is the check's own Terraform or
// CloudFormation text, whose lines are lines of the file to write.
func snippet(x fix) bool { return x.Label == "Terraform" || x.Label == "CloudFormation" }

// hanging prefixes the first line of a possibly multi-line text and indents
// the others under it.
func hanging(prefix, text string) []string {
	lines := strings.Split(text, "\n")
	pad := strings.Repeat(" ", utf8.RuneCountInString(prefix))
	for i, l := range lines {
		if i == 0 {
			lines[i] = prefix + l
		} else {
			lines[i] = pad + l
		}
	}
	return lines
}

// shortKeyID keeps the distinctive start of a key ID (a UUID, or mrk- and
// 32 hex digits) on a terminal, where the full ID is on the fix line anyway.
func shortKeyID(id string) string {
	keep := 8
	if strings.HasPrefix(id, "mrk-") {
		keep = 12
	}
	if strings.HasPrefix(id, "arn:") || utf8.RuneCountInString(id) <= keep+1 {
		return id
	}
	return id[:keep] + "…"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// columnWidths is each column's widest cell, the header's included.
func columnWidths(head []string, rows []row) []int {
	widths := make([]int, len(head))
	for i, h := range head {
		widths[i] = utf8.RuneCountInString(h)
	}
	for _, r := range rows {
		for i, c := range r.cells {
			widths[i] = max(widths[i], utf8.RuneCountInString(cell(c)))
		}
	}
	return widths
}

// line writes cells with every column padded to its width. It measures
// plain text and colours after padding, so escape codes never skew the
// columns (text/tabwriter would count them as width).
func (t *tableWriter) line(cells []string, widths []int, sgr func(i int) string) {
	var b strings.Builder
	for i, c := range cells {
		c = cell(c)
		b.WriteString(t.paint(c, sgr(i)))
		if i < len(cells)-1 {
			b.WriteString(strings.Repeat(" ", max(widths[i]-utf8.RuneCountInString(c), 0)+2))
		}
	}
	t.printf("%s\n", b.String())
}

// printRow writes one row and the notes under it.
func (t *tableWriter) printRow(head []string, r row, widths []int) {
	statusCol := slices.Index(head, "STATUS")
	t.line(r.cells, widths, func(i int) string {
		if i == statusCol {
			return statusSGR(r.status)
		}
		return ""
	})
	for _, n := range r.notes {
		t.printf("    %s\n", cell(n))
	}
}

// skippedAccounts names the organization accounts that were not scanned,
// so that their keys never go missing unseen.
func (t *tableWriter) skippedAccounts(accounts []SkippedAccount) {
	if len(accounts) == 0 {
		return
	}
	parts := make([]string, len(accounts))
	for i, a := range accounts {
		parts[i] = cell(a.AccountID + " (" + a.State + ")")
	}
	t.printf("\nNot scanned: %d organization %s not ACTIVE: %s.\n", len(accounts),
		plural(len(accounts), "account", "accounts"), strings.Join(parts, ", "))
}

func (t *tableWriter) errors(errs []ScanError) {
	if len(errs) == 0 {
		return
	}
	noun := "errors"
	if len(errs) == 1 {
		noun = "error"
	}
	t.printf("\n%s\n", t.paint(fmt.Sprintf("%d %s: the scan is incomplete.", len(errs), noun), ansiYellow))
	for _, e := range errs {
		t.printf("  %s\n", cell(describeScanError(e)))
	}
}

// describeScanError is one line: where, what failed, and AWS's or the
// parser's own words.
func describeScanError(e ScanError) string {
	var where string
	switch {
	case e.File != "" && e.Line > 0:
		where = fmt.Sprintf("%s:%d", e.File, e.Line)
	case e.File != "":
		where = e.File
	default:
		where = strings.TrimSpace(e.AccountID + " " + e.Region)
	}
	what := e.Code
	if e.Operation != "" {
		what = e.Operation + " failed with " + e.Code
	}
	s := what
	if where != "" {
		s = where + ": " + what
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}
