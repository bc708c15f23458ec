package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/kmsrotor/kmsrotor/internal/check"
)

func init() { register(FormatJSON, newJSONSink) }

// jsonSink writes the versioned document of DESIGN.md, indented by two
// spaces with a final newline, in bounded memory: the summary comes before
// the findings, so nothing is written until End; the findings are sorted
// (check.Sort's order) through a spillSorter and streamed out of it, and the
// summary is counted as they arrive. Lists are never null, so a pipeline
// can iterate findings and errors without a null check.
type jsonSink struct {
	w      io.Writer
	h      Header
	sorter *spillSorter
	sum    check.Summary
	// section counts opts.Compliance's framework (compliance_section).
	section *ComplianceCounter
}

func newJSONSink(w io.Writer, opts Options) (Sink, error) {
	s := &jsonSink{w: w, sorter: newSpillSorter(check.Compare, opts)}
	if opts.Compliance != "" {
		c, err := NewComplianceSection(opts.Compliance)
		if err != nil {
			return nil, err
		}
		s.section = c
	}
	return s, nil
}

func (s *jsonSink) Begin(h Header) error { s.h = h; return nil }

func (s *jsonSink) Finding(f *check.Finding) error {
	s.sum.Add(f)
	if s.section != nil {
		s.section.Finding(f)
	}
	if err := s.sorter.Add(f); err != nil {
		s.sorter.Close()
		return err
	}
	return nil
}

// jsonDocument is Document with the findings written apart: the field holds
// a placeholder that writeSpliced replaces with the streamed array.
type jsonDocument struct {
	SchemaVersion int           `json:"schema_version"`
	Tool          Tool          `json:"tool"`
	Scan          Scan          `json:"scan"`
	Summary       check.Summary `json:"summary"`
	Findings      string        `json:"findings"`
	Errors        []ScanError   `json:"errors"`
	// ComplianceSection is the --compliance framework's section.
	ComplianceSection *ComplianceSection `json:"compliance_section,omitempty"`
}

// splicePlaceholder stands for a streamed array in an encoded document.
const splicePlaceholder = "\x00kmsrotor-array\x00"

func (s *jsonSink) End(t Trailer) error {
	defer s.sorter.Close()
	doc := jsonDocument{
		SchemaVersion: orSchema(s.h.SchemaVersion),
		Tool:          s.h.Tool,
		Scan:          t.Scan,
		Summary:       s.sum,
		Findings:      splicePlaceholder,
		Errors:        t.Errors,
	}
	if doc.Errors == nil {
		doc.Errors = []ScanError{}
	}
	doc.Summary.ScanErrors = len(t.Errors)
	doc.Scan.Complete = complete(t, s.sum)
	if s.section != nil {
		sec := s.section.Section()
		doc.ComplianceSection = &sec
	}
	bw := bufio.NewWriterSize(s.w, 64<<10)
	err := writeSpliced(bw, &doc, func(item func(v any) error) error {
		return s.sorter.Each(func(f *check.Finding) error { return item(documentFinding(f)) })
	})
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return fmt.Errorf("write json report: %w", err)
	}
	return nil
}

func orSchema(v int) int {
	if v == 0 {
		return SchemaVersion
	}
	return v
}

// documentFinding is f as the document writes it: aliases never null.
func documentFinding(f *check.Finding) *check.Finding {
	if f.Aliases == nil {
		f.Aliases = []string{}
	}
	return f
}

// writeSpliced writes v indented by two spaces, with the one string field
// that holds splicePlaceholder replaced by a JSON array of the items each
// produces, each indented at its depth, exactly as encoding/json would
// indent the whole value. It holds one item in memory at a time.
func writeSpliced(w io.Writer, v any, each func(item func(v any) error) error) error {
	var head bytes.Buffer
	enc := json.NewEncoder(&head)
	enc.SetIndent("", "  ")
	// Messages quote resources and fixes ("replica of <ARN>", "a && b"); the
	// document is not embedded in HTML, so keep them readable.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	quoted, _ := json.Marshal(splicePlaceholder)
	before, after, ok := bytes.Cut(head.Bytes(), quoted)
	if !ok {
		return fmt.Errorf("internal error: no array placeholder in %T", v)
	}
	// The placeholder's line starts with its depth's indentation.
	line := before[bytes.LastIndexByte(before, '\n')+1:]
	pad := string(line[:len(line)-len(bytes.TrimLeft(line, " "))])
	if _, err := w.Write(before); err != nil {
		return err
	}
	var item bytes.Buffer
	ienc := json.NewEncoder(&item)
	ienc.SetIndent(pad+"  ", "  ")
	ienc.SetEscapeHTML(false)
	n := 0
	err := each(func(v any) error {
		item.Reset()
		sep := ",\n" + pad + "  "
		if n == 0 {
			sep = "[\n" + pad + "  "
		}
		n++
		item.WriteString(sep)
		if err := ienc.Encode(v); err != nil {
			return err
		}
		_, err := w.Write(bytes.TrimSuffix(item.Bytes(), []byte("\n")))
		return err
	})
	if err != nil {
		return err
	}
	closing := "[]"
	if n > 0 {
		closing = "\n" + pad + "]"
	}
	if _, err := io.WriteString(w, closing); err != nil {
		return err
	}
	_, err = w.Write(after)
	return err
}
