package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/kmsrotor/kmsrotor/internal/check"
)

// ErrNotReport is the error Read wraps when its input is not a kmsrotor
// report.
var ErrNotReport = errors.New("not a kmsrotor report: expected the JSON document of --output json (an object with schema_version and findings) or the JSON lines of --output jsonl (findings, then a summary line)")

// ErrTruncated is the error Read wraps when a jsonl report ends without its
// summary line: the run that wrote it was killed before End.
var ErrTruncated = errors.New("jsonl report ends without its summary line: the run that wrote it did not finish")

// peekLimit is how much of a first line Read looks at to tell a jsonl
// report from a JSON document written on one line.
const peekLimit = 1 << 20

// Read reads a report written by kmsrotor, in either format (detected: the
// JSON document, indented or compact, or jsonl), calling fn with each
// finding in the order of the file, then returns what the report says of
// its run. It streams: one finding is in memory at a time, whatever the
// size of the report (a JSON document on one line longer than a megabyte
// is read as a stream too). fn's argument is valid only during the call;
// its compliance is the rule's shared map when equal to it. An error from
// fn stops Read and is returned as is.
func Read(r io.Reader, fn func(*check.Finding) error) (Header, Trailer, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	first, err := peekLine(br)
	if err != nil {
		return Header{}, Trailer{}, err
	}
	if json.Valid(first) {
		var keys map[string]json.RawMessage
		if err := json.Unmarshal(first, &keys); err != nil {
			return Header{}, Trailer{}, ErrNotReport
		}
		if _, isDoc := keys["findings"]; !isDoc {
			return readJSONL(br, fn)
		}
	}
	return readDocument(br, fn)
}

// peekLine returns the first non-blank line of br without consuming it, or
// nil when it is longer than peekLimit.
func peekLine(br *bufio.Reader) ([]byte, error) {
	for n := 512; ; n *= 2 {
		b, err := br.Peek(n)
		trimmed := bytes.TrimLeft(b, " \t\r\n")
		if i := bytes.IndexByte(trimmed, '\n'); i >= 0 {
			return trimmed[:i], nil
		}
		if err != nil {
			if len(bytes.TrimSpace(b)) == 0 {
				return nil, fmt.Errorf("empty input: %w", ErrNotReport)
			}
			return trimmed, nil // the whole input is one line
		}
		if n >= peekLimit {
			return nil, nil
		}
	}
}

func readJSONL(br *bufio.Reader, fn func(*check.Finding) error) (Header, Trailer, error) {
	dec := json.NewDecoder(br)
	line := 0
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return Header{}, Trailer{}, ErrTruncated
			}
			return Header{}, Trailer{}, fmt.Errorf("line %d: %w (%v)", line+1, ErrNotReport, err)
		}
		line++
		if isTrailerLine(raw) {
			var t jsonlTrailer
			if err := json.Unmarshal(raw, &t); err != nil {
				return Header{}, Trailer{}, fmt.Errorf("line %d: summary line: %w (%v)", line, ErrNotReport, err)
			}
			if _, err := dec.Token(); !errors.Is(err, io.EOF) {
				return Header{}, Trailer{}, fmt.Errorf("line %d: the summary line is not the last: %w", line, ErrNotReport)
			}
			t.Scan.Complete = t.Complete
			return Header{SchemaVersion: t.SchemaVersion, Tool: t.Tool, Scan: t.Scan},
				Trailer{Scan: t.Scan, Summary: t.Summary, Errors: t.Errors}, nil
		}
		var f check.Finding
		if err := json.Unmarshal(raw, &f); err != nil || f.CheckID == "" {
			return Header{}, Trailer{}, fmt.Errorf("line %d: %w", line, ErrNotReport)
		}
		internCompliance(&f)
		if err := fn(&f); err != nil {
			return Header{}, Trailer{}, err
		}
	}
}

// isTrailerLine tells the summary line by its first key.
func isTrailerLine(raw []byte) bool {
	return bytes.HasPrefix(bytes.TrimLeft(raw, " \t"), []byte(`{"summary"`))
}

func readDocument(br *bufio.Reader, fn func(*check.Finding) error) (Header, Trailer, error) {
	dec := json.NewDecoder(br)
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return Header{}, Trailer{}, ErrNotReport
	}
	var (
		h                     Header
		t                     Trailer
		sawSchema, sawFinding bool
		scan                  Scan
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return Header{}, Trailer{}, fmt.Errorf("%w (%v)", ErrNotReport, err)
		}
		key, _ := tok.(string)
		switch key {
		case "schema_version":
			err = dec.Decode(&h.SchemaVersion)
			sawSchema = err == nil
		case "tool":
			err = dec.Decode(&h.Tool)
		case "scan":
			err = dec.Decode(&scan)
		case "summary":
			err = dec.Decode(&t.Summary)
		case "errors":
			err = dec.Decode(&t.Errors)
		case "findings":
			sawFinding = true
			err = readFindings(dec, fn)
		default:
			var skip json.RawMessage
			err = dec.Decode(&skip)
		}
		if err != nil {
			var fnErr *callbackError
			if errors.As(err, &fnErr) {
				return Header{}, Trailer{}, fnErr.err
			}
			return Header{}, Trailer{}, fmt.Errorf("%s: %w (%v)", orDefault(key, "document"), ErrNotReport, err)
		}
	}
	if !sawSchema || !sawFinding {
		return Header{}, Trailer{}, ErrNotReport
	}
	if h.SchemaVersion > SchemaVersion {
		return Header{}, Trailer{}, fmt.Errorf("report has schema version %d, newer than this kmsrotor's %d: upgrade kmsrotor", h.SchemaVersion, SchemaVersion)
	}
	h.Scan, t.Scan = scan, scan
	return h, t, nil
}

// callbackError carries fn's error through readFindings unchanged.
type callbackError struct{ err error }

func (e *callbackError) Error() string { return e.err.Error() }

func readFindings(dec *json.Decoder, fn func(*check.Finding) error) error {
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return errors.New("findings is not an array")
	}
	for dec.More() {
		var f check.Finding
		if err := dec.Decode(&f); err != nil {
			return err
		}
		internCompliance(&f)
		if err := fn(&f); err != nil {
			return &callbackError{err}
		}
	}
	_, err := dec.Token() // ]
	return err
}
