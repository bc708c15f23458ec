package report

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kmsrotor/kmsrotor/internal/check"
	"github.com/kmsrotor/kmsrotor/internal/term"
)

func init() { register(FormatTable, writeTable) }

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

// writeTable writes the human report: a header saying what was scanned, a
// summary by status, the rows worth acting on with their fix, then the
// scan-level errors, which are never hidden. On a terminal the status is
// coloured and key IDs shortened (the fix line keeps the full ID); piped,
// the output is plain and complete. Both are aligned. Every string that
// came from outside (AWS, a file, a path) goes through term.Inert, so that
// none can move the cursor, retitle the terminal or start a row of its own.
func writeTable(w io.Writer, doc *Document, opts Options) error {
	t := tableWriter{terminal: opts.Terminal, iac: isIaC(doc)}
	t.header(doc)
	if len(doc.Findings) == 0 {
		t.printf("%s\n", t.emptySentence(doc))
	} else {
		t.summary(doc)
		t.rows(doc, opts.ShowSkipped)
	}
	t.skippedAccounts(doc.Scan.SkippedAccounts)
	t.errors(doc.Errors)
	if _, err := io.WriteString(w, t.b.String()); err != nil {
		return fmt.Errorf("write table report: %w", err)
	}
	return nil
}

// isIaC tells a file scan from a live one: by the scan kind, or, when a
// caller left it empty, by whether the findings name files.
func isIaC(doc *Document) bool {
	switch doc.Scan.Kind {
	case "iac":
		return true
	case "aws":
		return false
	}
	return len(doc.Findings) > 0 && doc.Findings[0].File != ""
}

type tableWriter struct {
	b        strings.Builder
	terminal bool
	iac      bool
}

func (t *tableWriter) printf(format string, a ...any) { fmt.Fprintf(&t.b, format, a...) }

func (t *tableWriter) paint(s, sgr string) string {
	if !t.terminal || sgr == "" {
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

func (t *tableWriter) header(doc *Document) {
	took := (time.Duration(doc.Scan.DurationMS) * time.Millisecond).String()
	t.printf("Scanned %s in %s. Policy: %s.\n", t.scope(doc), took, t.policy(doc.Scan.Policy))
}

// scope says what was scanned: accounts × Regions, or paths.
func (t *tableWriter) scope(doc *Document) string {
	if t.iac {
		if len(doc.Scan.Paths) == 0 {
			return "no paths"
		}
		return t.counted(doc.Scan.Paths, "path", "paths")
	}
	var parts []string
	if len(doc.Scan.Accounts) > 0 {
		parts = append(parts, t.counted(doc.Scan.Accounts, "account", "accounts"))
	}
	if len(doc.Scan.Regions) > 0 {
		parts = append(parts, t.counted(doc.Scan.Regions, "Region", "Regions"))
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
		inert[i] = term.Inert(s)
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

func (t *tableWriter) emptySentence(doc *Document) string {
	if t.iac {
		return fmt.Sprintf("No KMS key resources found in %s.", t.scope(doc))
	}
	return fmt.Sprintf("No KMS keys found in %s.", t.scope(doc))
}

func (t *tableWriter) summary(doc *Document) {
	s := doc.Summary
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
	if n := len(doc.Errors); n > 0 {
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

func (t *tableWriter) rows(doc *Document, showAll bool) {
	var shown []check.Finding
	hiddenMuted, hiddenOK := 0, 0
	for _, f := range doc.Findings {
		switch {
		case showAll:
			shown = append(shown, f)
		case f.Muted:
			hiddenMuted++
		case f.Status == check.StatusPass || f.Status == check.StatusSkipped:
			hiddenOK++
		default:
			shown = append(shown, f)
		}
	}
	// Worst first, in the document's deterministic order within a status.
	slices.SortStableFunc(shown, func(a, b check.Finding) int {
		return statusRank(a) - statusRank(b)
	})

	if len(shown) == 0 {
		t.printf("\nNo FAIL, ERROR or MANUAL findings.\n")
	} else {
		head := []string{"ACCOUNT", "REGION", "KEY", "ALIAS", "STATUS", "REASON"}
		if t.iac {
			head = []string{"FILE:LINE", "RESOURCE", "STATUS", "REASON"}
		}
		rows := make([]row, 0, len(shown))
		for _, f := range shown {
			rows = append(rows, t.row(f))
		}
		t.printf("\n")
		t.align(head, rows)
	}

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
		r.cells = inertCells(loc, orDash(f.Resource), status, reason)
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
		r.cells = inertCells(orDash(f.AccountID), orDash(f.Region), orDash(key), alias, status, reason)
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

// inertCells escapes a row's cells before align measures them.
func inertCells(cells ...string) []string {
	for i, c := range cells {
		cells[i] = term.Inert(c)
	}
	return cells
}

// notes are the lines under a row: what a replica is a replica of, why an
// ERROR or MANUAL row needs attention, and the fix for a FAIL.
func (t *tableWriter) notes(f check.Finding) []string {
	var out []string
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
// the others under it. The lines are escaped when printed, each on its own.
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

// align writes the header and rows with every column padded to its widest
// cell. It measures plain text and colours after padding, so escape codes
// never skew the columns (text/tabwriter would count them as width).
func (t *tableWriter) align(head []string, rows []row) {
	widths := make([]int, len(head))
	for i, h := range head {
		widths[i] = utf8.RuneCountInString(h)
	}
	for _, r := range rows {
		for i, c := range r.cells {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	statusCol := slices.Index(head, "STATUS")
	line := func(cells []string, sgr func(i int) string) {
		var b strings.Builder
		for i, c := range cells {
			b.WriteString(t.paint(c, sgr(i)))
			if i < len(cells)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)+2))
			}
		}
		t.printf("%s\n", b.String())
	}
	line(head, func(int) string { return ansiBold })
	for _, r := range rows {
		line(r.cells, func(i int) string {
			if i == statusCol {
				return statusSGR(r.status)
			}
			return ""
		})
		for _, n := range r.notes {
			t.printf("    %s\n", term.Inert(n))
		}
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
		parts[i] = term.Inert(a.AccountID + " (" + a.State + ")")
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
		t.printf("  %s\n", term.Inert(describeScanError(e)))
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
