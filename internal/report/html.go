package report

import (
	"bufio"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/kmsrotor/kmsrotor/internal/check"
)

// HTML: one self-contained file that works offline — no CDN, no request of
// any kind. Its Content-Security-Policy is default-src 'none' with the one
// inline style and the one inline script allowed by their SHA-256 hashes
// (no 'unsafe-inline' at all: the page uses no style attributes), so even
// markup that escaped the template could neither run nor load anything.
// Every string is written through html/template, which escapes it for its
// context. Charts are inline SVG drawn here from counts; the findings table
// is sortable and filterable by a small inline script (and by the URL
// fragment: #q=text&status=FAIL&sort=3&dir=desc). Rows are rendered as
// findings arrive and spilled to a temporary file; only counts stay in
// memory.

var (
	//go:embed templates/report.html.tmpl
	htmlTemplate string
	//go:embed templates/report.css
	htmlCSS string
	//go:embed templates/report.js
	htmlJS string

	htmlPage = template.Must(template.New("report").Parse(htmlTemplate))
	// htmlCSP allows exactly the inline style and script of the page.
	htmlCSP = "default-src 'none'; style-src '" + cspHash(htmlCSS) + "'; script-src '" + cspHash(htmlJS) +
		"'; img-src 'none'; base-uri 'none'; form-action 'none'"
)

func cspHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return "sha256-" + base64.StdEncoding.EncodeToString(h[:])
}

type htmlSink struct {
	out   io.Writer
	opts  Options
	head  Header
	agg   *aggregate
	rows  *spool
	fw    check.Framework
	hasFW bool
	n     int
}

// NewHTML returns the HTML sink writing to w.
func NewHTML(w io.Writer, o Options) Sink {
	s := &htmlSink{out: w, opts: o, agg: newAggregate()}
	s.fw, s.hasFW = check.LookupFramework(o.Compliance)
	return s
}

func (s *htmlSink) Begin(h Header) error {
	rows, err := newSpool(s.opts.TempDir, "kmsrotor-html-*", func(w io.Writer) io.Writer { return controlFree{w} })
	if err != nil {
		return fmt.Errorf("write html report: %w", err)
	}
	s.head, s.rows = h, rows
	return nil
}

type htmlRow struct {
	F          *check.Finding
	ID, Key    string
	Tags       []string
	Period     string
	Next, Last string
	Fix        bool
	R          rule
}

func (s *htmlSink) Finding(f *check.Finding) error {
	s.agg.add(f, s.fw.Key)
	s.n++
	row := s.row(f)
	if err := row.write(s.rows.Writer); err != nil {
		return fmt.Errorf("write html report: %w", err)
	}
	return nil
}

// row is what the table shows of f.
func (s *htmlSink) row(f *check.Finding) htmlRow {
	row := htmlRow{F: f, ID: findingID(f), Key: resourceUID(f), Next: dateOf(f, true), Last: dateOf(f, false),
		Fix: f.Status != check.StatusPass && f.Status != check.StatusSkipped}
	if row.Fix {
		row.R = ruleOf(f, s.head.Scan.Policy.MaxRotationDays)
	}
	if f.Rotation.PeriodDays > 0 {
		row.Period = strconv.Itoa(f.Rotation.PeriodDays)
	}
	for _, k := range slices.Sorted(maps.Keys(f.Tags)) {
		row.Tags = append(row.Tags, k+"="+f.Tags[k])
	}
	return row
}

// htmlText escapes a string for HTML text and quoted attribute values
// exactly as html/template does in those contexts (its htmlEscaper).
var htmlText = strings.NewReplacer("\x00", "\uFFFD", `"`, "&#34;", "&", "&amp;", "'", "&#39;", "+", "&#43;", "<", "&lt;", ">", "&gt;")

// write writes the row. It is written by hand rather than by the page's
// html/template because a template costs more than all the other formats
// together over 60,000 rows; every value is in element text or a
// double-quoted attribute, where htmlText is html/template's own escaping
// (TestHTMLRowMatchesTemplate keeps the two the same), and the one URL
// is written only when it is an https URL.
func (r htmlRow) write(w *bufio.Writer) error {
	f := r.F
	t := func(s string) { htmlText.WriteString(w, s) }
	w.WriteString(`<tr data-status="`)
	t(string(f.Status))
	w.WriteString(`" data-id="`)
	t(r.ID)
	w.WriteString(`"`)
	if f.Muted {
		w.WriteString(` class="muted"`)
	}
	w.WriteString(`><td class="status">`)
	t(string(f.Status))
	if f.Muted {
		w.WriteString(" (muted)")
	}
	w.WriteString(`</td><td class="mono">`)
	t(f.AccountID)
	w.WriteString(`</td><td>`)
	t(f.Region)
	w.WriteString(`</td><td class="mono">`)
	t(r.Key)
	w.WriteString(`</td><td>`)
	for _, a := range f.Aliases {
		w.WriteString(`<span class="mono">`)
		t(a)
		w.WriteString(`</span><br>`)
	}
	for _, tag := range r.Tags {
		w.WriteString(`<span class="tag">`)
		t(tag)
		w.WriteString(`</span>`)
	}
	for _, v := range []string{r.Period, r.Next} {
		w.WriteString(`</td><td data-v="`)
		t(v)
		w.WriteString(`">`)
		t(v)
	}
	w.WriteString(`</td><td data-v="`)
	t(r.Last)
	w.WriteString(`">`)
	t(r.Last)
	if lt := f.Rotation.LastRotationType; lt != "" {
		w.WriteString(" (")
		t(lt)
		w.WriteString(")")
	}
	w.WriteString(`</td><td>`)
	t(f.Reason)
	w.WriteString(`</td><td>`)
	t(f.Message)
	if r.Fix {
		w.WriteString(`<details><summary>risk and remediation</summary><p><b>`)
		t(r.R.Title)
		w.WriteString(`.</b> `)
		t(r.R.Description)
		w.WriteString(`</p><p><b>Risk:</b> `)
		t(r.R.Risk)
		w.WriteString(`</p><p>`)
		t(r.R.Remediation)
		w.WriteString(`</p>`)
		if r.R.Console != "" {
			w.WriteString(`<p><b>Console:</b> `)
			t(r.R.Console)
			w.WriteString(`</p>`)
		}
		for _, form := range []struct{ head, text string }{
			{`<p><b>CLI:</b></p><pre>`, r.R.CLI},
			{`<p><b>CloudFormation</b> (AWS::KMS::Key Properties):</p><pre>`, r.R.CloudFormation},
			{`<p><b>Terraform</b> (aws_kms_key):</p><pre>`, r.R.Terraform},
		} {
			if form.text != "" {
				w.WriteString(form.head)
				t(form.text)
				w.WriteString(`</pre>`)
			}
		}
		if strings.HasPrefix(r.R.URL, "https://") {
			w.WriteString(`<p><a href="`)
			t(r.R.URL)
			w.WriteString(`" rel="noreferrer">`)
			t(r.R.URL)
			w.WriteString(`</a></p>`)
		}
		w.WriteString(`</details>`)
	}
	_, err := w.WriteString("</td></tr>\n")
	return err
}

type htmlCard struct {
	Label, Class string
	N            int
}

type htmlChart struct {
	Title         string
	Width, Height int
	Bars          []htmlBar
}

type htmlBar struct {
	Label                      string
	LabelX, TextY, EndX, Total int
	Segs                       []htmlSeg
}

type htmlSeg struct {
	Class      string
	X, Y, W, H int
	Tip        string
}

type htmlTop struct {
	CSP, Title, Scope, At string
	MaxDays, Grace        int
	Complete              bool
	CSS                   template.CSS
	Cards                 []htmlCard
	Section               *ComplianceSection
	Statuses              []check.Status
	Charts                []htmlChart
	Errors                []string
	Total                 int
}

// Chart geometry, in pixels.
const (
	chartLabelW  = 150
	chartBarW    = 320
	chartRowH    = 18
	chartMaxRows = 25
)

// statusChart draws one stacked bar per key of m (an account, a Region),
// the largest first, at most chartMaxRows (the rest summed in one bar).
func statusChart(title string, m map[string]map[check.Status]int) htmlChart {
	type item struct {
		label  string
		counts map[check.Status]int
		total  int
	}
	var items []item
	for k, c := range m {
		t := 0
		for _, n := range c {
			t += n
		}
		items = append(items, item{k, c, t})
	}
	slices.SortFunc(items, func(a, b item) int {
		if a.total != b.total {
			return b.total - a.total
		}
		return strings.Compare(a.label, b.label)
	})
	if len(items) > chartMaxRows {
		rest := item{label: fmt.Sprintf("%d others", len(items)-chartMaxRows+1), counts: map[check.Status]int{}}
		for _, it := range items[chartMaxRows-1:] {
			for s, n := range it.counts {
				rest.counts[s] += n
			}
			rest.total += it.total
		}
		items = append(items[:chartMaxRows-1], rest)
	}
	maxTotal := 1
	for _, it := range items {
		maxTotal = max(maxTotal, it.total)
	}
	c := htmlChart{Title: title, Width: chartLabelW + chartBarW + 60, Height: len(items)*chartRowH + 4}
	for i, it := range items {
		y := i*chartRowH + 2
		bar := htmlBar{Label: it.label, LabelX: chartLabelW - 6, TextY: y + 12, Total: it.total}
		x := chartLabelW
		for _, s := range check.Statuses {
			n := it.counts[s]
			if n == 0 {
				continue
			}
			w := max(1, n*chartBarW/maxTotal)
			bar.Segs = append(bar.Segs, htmlSeg{Class: string(s), X: x, Y: y, W: w, H: chartRowH - 4, Tip: fmt.Sprintf("%s %s: %d", it.label, s, n)})
			x += w
		}
		bar.EndX = x + 4
		c.Bars = append(c.Bars, bar)
	}
	return c
}

// countChart draws one bar per label, in the order given.
func countChart(title string, labels []string, counts []int, unit string) htmlChart {
	maxN := 1
	for _, n := range counts {
		maxN = max(maxN, n)
	}
	c := htmlChart{Title: title, Width: chartLabelW + chartBarW + 60, Height: len(labels)*chartRowH + 4}
	for i, l := range labels {
		y := i*chartRowH + 2
		w := max(1, counts[i]*chartBarW/maxN)
		c.Bars = append(c.Bars, htmlBar{Label: l, LabelX: chartLabelW - 6, TextY: y + 12, EndX: chartLabelW + w + 4, Total: counts[i],
			Segs: []htmlSeg{{Class: "bar", X: chartLabelW, Y: y, W: w, H: chartRowH - 4, Tip: fmt.Sprintf("%s: %d %s", l, counts[i], unit)}}})
	}
	return c
}

func (s *htmlSink) charts() []htmlChart {
	a := s.agg
	out := []htmlChart{statusChart("Status by account", a.byAccount), statusChart("Status by Region", a.byRegion)}
	var pl []string
	var pc []int
	for _, p := range slices.Sorted(maps.Keys(a.periods)) {
		pl, pc = append(pl, fmt.Sprintf("%d days", p)), append(pc, a.periods[p])
	}
	out = append(out, countChart("Rotation periods of rotating keys", pl, pc, "keys"))
	months := slices.Sorted(maps.Keys(a.nextByMonth))
	if len(months) > chartMaxRows*2 {
		months = months[:chartMaxRows*2]
	}
	var mc []int
	for _, m := range months {
		mc = append(mc, a.nextByMonth[m])
	}
	out = append(out, countChart("Next rotations by month", months, mc, "keys"))
	return out
}

func (s *htmlSink) End(t Trailer) error {
	defer s.rows.close()
	if s.rows == nil {
		return errors.New("write html report: the report was not begun")
	}
	sum := t.Summary
	top := htmlTop{
		CSP: htmlCSP, Title: "KMS key rotation report", At: evaluatedAt(t.Scan).Format("2006-01-02 15:04 UTC"),
		MaxDays: t.Scan.Policy.MaxRotationDays, Grace: t.Scan.Policy.RotationGraceDays, Complete: t.Scan.Complete,
		CSS: template.CSS(htmlCSS), Statuses: check.Statuses, Charts: s.charts(), Total: s.n,
		Cards: []htmlCard{
			{"keys", "", sum.Total}, {"FAIL", "FAIL", sum.Fail}, {"ERROR", "ERROR", sum.Error}, {"MANUAL", "MANUAL", sum.Manual},
			{"PASS", "PASS", sum.Pass}, {"SKIPPED", "SKIPPED", sum.Skipped}, {"muted", "", sum.Muted}, {"scan errors", "", len(t.Errors)},
		},
	}
	if len(t.Scan.Paths) > 0 {
		top.Scope = fmt.Sprintf("%d path(s): %s", len(t.Scan.Paths), strings.Join(t.Scan.Paths, ", "))
	} else {
		top.Scope = fmt.Sprintf("%d account(s), %d Region(s)", len(t.Scan.Accounts), len(t.Scan.Regions))
	}
	if s.hasFW {
		sec := section(s.fw, s.agg)
		top.Section = &sec
	}
	for _, e := range t.Errors {
		top.Errors = append(top.Errors, describeScanError(e))
	}
	w := bufio.NewWriterSize(controlFree{s.out}, 64<<10)
	if err := htmlPage.ExecuteTemplate(w, "top", top); err != nil {
		return fmt.Errorf("write html report: %w", err)
	}
	if err := s.rows.copyTo(w); err != nil {
		return fmt.Errorf("write html report: %w", err)
	}
	tool := strings.TrimSpace(s.head.Tool.Name + " " + s.head.Tool.Version)
	if err := htmlPage.ExecuteTemplate(w, "bottom", struct {
		Tool string
		JS   template.JS
	}{tool, template.JS(htmlJS)}); err != nil {
		return fmt.Errorf("write html report: %w", err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write html report: %w", err)
	}
	return nil
}
