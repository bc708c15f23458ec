package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"

	"github.com/kmsrotor/kmsrotor/internal/check"
)

func init() { register(FormatJSONL, newJSONLSink) }

// jsonlSink writes one finding per line as it arrives, in the JSON
// document's finding shape, then at End one summary line:
//
//	{"summary":{...},"complete":bool,"scan":{...},"errors":[...],"schema_version":1,"tool":{...}}
//
// It holds nothing but the running summary. Each line is flushed as it is
// written, so a reader (tail -f, a pipe) sees each finding as it is decided
// and a run cut short leaves whole lines only.
type jsonlSink struct {
	w   *bufio.Writer
	enc *json.Encoder
	h   Header
	sum check.Summary
}

func newJSONLSink(w io.Writer, _ Options) (Sink, error) {
	bw := bufio.NewWriterSize(w, 16<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	return &jsonlSink{w: bw, enc: enc}, nil
}

func (s *jsonlSink) Begin(h Header) error { s.h = h; return nil }

func (s *jsonlSink) Finding(f *check.Finding) error {
	s.sum.Add(f)
	out := f
	if f.Aliases == nil {
		c := *f
		c.Aliases = []string{}
		out = &c
	}
	if err := s.enc.Encode(out); err != nil {
		return fmt.Errorf("write jsonl report: %w", err)
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("write jsonl report: %w", err)
	}
	return nil
}

// jsonlTrailer is the last line of a jsonl report; summary comes first, so
// that a reader can tell it from a finding by its first key.
type jsonlTrailer struct {
	Summary       check.Summary `json:"summary"`
	Complete      bool          `json:"complete"`
	Scan          Scan          `json:"scan"`
	Errors        []ScanError   `json:"errors"`
	SchemaVersion int           `json:"schema_version"`
	Tool          Tool          `json:"tool"`
}

func (s *jsonlSink) End(t Trailer) error {
	line := jsonlTrailer{Summary: s.sum, Scan: t.Scan, Errors: t.Errors, SchemaVersion: orSchema(s.h.SchemaVersion), Tool: s.h.Tool}
	line.Summary.ScanErrors = len(t.Errors)
	line.Complete = complete(t, s.sum)
	line.Scan.Complete = line.Complete
	if line.Errors == nil {
		line.Errors = []ScanError{}
	}
	if err := s.enc.Encode(&line); err != nil {
		return fmt.Errorf("write jsonl report: %w", err)
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("write jsonl report: %w", err)
	}
	return nil
}
