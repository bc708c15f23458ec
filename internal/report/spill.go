package report

import (
	"bufio"
	"container/heap"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"

	"github.com/kmsrotor/kmsrotor/internal/check"
)

// DefaultRunSize is how many findings a sorting writer holds in memory
// before it spills them, sorted, to its temporary file: a few megabytes.
const DefaultRunSize = 5000

// spillSorter sorts any number of findings in bounded memory: it keeps up to
// runSize of them, sorts each full buffer (a run) and appends it as JSON
// lines to one temporary file, then merges the runs (k-way, one finding per
// run in memory) when asked for the findings in order. The order is that of
// a stable sort: findings that compare equal keep their arrival order (runs
// are merged by run number on ties).
type spillSorter struct {
	cmp     func(a, b *check.Finding) int
	runSize int
	dir     string

	buf  []check.Finding
	file *os.File
	w    *bufio.Writer
	runs []spillRun // byte ranges of the runs in file
	size int64
	n    int
	// unlinked: the file's name is already removed.
	unlinked bool
}

type spillRun struct{ off, end int64 }

func newSpillSorter(cmp func(a, b *check.Finding) int, opts Options) *spillSorter {
	size := opts.RunSize
	if size <= 0 {
		size = DefaultRunSize
	}
	return &spillSorter{cmp: cmp, runSize: size, dir: opts.TempDir}
}

// Len is the number of findings added.
func (s *spillSorter) Len() int { return s.n }

// Add keeps a copy of f.
func (s *spillSorter) Add(f *check.Finding) error {
	s.buf = append(s.buf, cloneFinding(f))
	s.n++
	if len(s.buf) >= s.runSize {
		return s.spill()
	}
	return nil
}

// spool keeps a writer's rows, in arrival order, in a temporary file until
// End copies them out after what only the end knows (the HTML report's
// cards and charts, JUnit's counts): memory stays bounded.
type spool struct {
	f *os.File
	*bufio.Writer
}

// newSpool creates the file in dir; wrap, when set, filters what is written.
func newSpool(dir, pattern string, wrap func(io.Writer) io.Writer) (*spool, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	var w io.Writer = f
	if wrap != nil {
		w = wrap(f)
	}
	return &spool{f: f, Writer: bufio.NewWriterSize(w, 64<<10)}, nil
}

// copyTo writes every row kept to w.
func (s *spool) copyTo(w io.Writer) error {
	if err := s.Flush(); err != nil {
		return err
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	_, err := io.Copy(w, s.f)
	return err
}

// close removes the file; a nil spool (its Begin failed) has none.
func (s *spool) close() {
	if s != nil {
		s.f.Close()
		os.Remove(s.f.Name())
	}
}

// spilled is one finding in the temporary file. A finding whose compliance
// is its rule's shared map is written without it and pointed back at the
// map when read: the map is the largest part of a finding.
type spilled struct {
	Shared bool           `json:"s,omitempty"`
	F      *check.Finding `json:"f"`
}

func (s *spillSorter) spill() error {
	if len(s.buf) == 0 {
		return nil
	}
	if s.file == nil {
		f, err := os.CreateTemp(s.dir, "kmsrotor-sort-*.jsonl")
		if err != nil {
			return fmt.Errorf("sort findings: create temporary file (set TMPDIR to a writable directory): %w", err)
		}
		s.file, s.w = f, bufio.NewWriterSize(f, 64<<10)
		// Unlinked at once where the system allows it (not Windows), so
		// that not even a crash leaves the file behind.
		s.unlinked = os.Remove(f.Name()) == nil
	}
	order := s.order()
	start := s.size
	cw := &countWriter{w: s.w}
	enc := json.NewEncoder(cw)
	enc.SetEscapeHTML(false)
	for _, i := range order {
		f := &s.buf[i]
		rec := spilled{F: f}
		if sharedCompliance(f) {
			rec.Shared = true
			saved := f.Compliance
			f.Compliance = nil
			err := enc.Encode(&rec)
			f.Compliance = saved
			if err != nil {
				return fmt.Errorf("sort findings: write temporary file: %w", err)
			}
			continue
		}
		if err := enc.Encode(&rec); err != nil {
			return fmt.Errorf("sort findings: write temporary file: %w", err)
		}
	}
	s.size += cw.n
	s.runs = append(s.runs, spillRun{start, s.size})
	clear(s.buf)
	s.buf = s.buf[:0]
	return nil
}

// order is the buffer's sorted order, as indexes: sorting findings
// themselves would move hundreds of bytes per swap.
func (s *spillSorter) order() []int {
	order := make([]int, len(s.buf))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return s.cmp(&s.buf[a], &s.buf[b]) })
	return order
}

// Each calls fn with every finding in order. It may be called more than
// once; fn's argument is valid only during the call.
func (s *spillSorter) Each(fn func(*check.Finding) error) error {
	if s.file == nil {
		// Everything fits in memory.
		for _, i := range s.order() {
			if err := fn(&s.buf[i]); err != nil {
				return err
			}
		}
		return nil
	}
	if err := s.spill(); err != nil {
		return err
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("sort findings: write temporary file: %w", err)
	}
	h := &runHeap{cmp: s.cmp}
	for i, r := range s.runs {
		rr := &runReader{seq: i, dec: json.NewDecoder(bufio.NewReaderSize(io.NewSectionReader(s.file, r.off, r.end-r.off), 16<<10))}
		ok, err := rr.next()
		if err != nil {
			return err
		}
		if ok {
			h.items = append(h.items, rr)
		}
	}
	heap.Init(h)
	for h.Len() > 0 {
		top := h.items[0]
		if err := fn(&top.cur); err != nil {
			return err
		}
		ok, err := top.next()
		if err != nil {
			return err
		}
		if ok {
			heap.Fix(h, 0)
		} else {
			heap.Pop(h)
		}
	}
	return nil
}

// Close removes the temporary file.
func (s *spillSorter) Close() error {
	s.buf = nil
	if s.file == nil {
		return nil
	}
	name := s.file.Name()
	err := s.file.Close()
	s.file = nil
	if s.unlinked {
		return err
	}
	if rerr := os.Remove(name); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
		err = rerr
	}
	return err
}

type runReader struct {
	seq int
	dec *json.Decoder
	cur check.Finding
}

func (r *runReader) next() (bool, error) {
	var rec spilled
	rec.F = &check.Finding{}
	if err := r.dec.Decode(&rec); err != nil {
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		return false, fmt.Errorf("sort findings: read temporary file: %w", err)
	}
	if rec.Shared {
		rec.F.Compliance = ruleCompliance(rec.F.CheckID)
	}
	r.cur = *rec.F
	return true, nil
}

type runHeap struct {
	cmp   func(a, b *check.Finding) int
	items []*runReader
}

func (h *runHeap) Len() int { return len(h.items) }
func (h *runHeap) Less(i, j int) bool {
	if c := h.cmp(&h.items[i].cur, &h.items[j].cur); c != 0 {
		return c < 0
	}
	return h.items[i].seq < h.items[j].seq
}
func (h *runHeap) Swap(i, j int) { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *runHeap) Push(x any)    { h.items = append(h.items, x.(*runReader)) }
func (h *runHeap) Pop() any {
	x := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return x
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// ruleCompliance is the shared compliance map of a rule, nil for an
// unknown rule.
func ruleCompliance(ruleID string) map[string][]string {
	if r, ok := check.Catalog[ruleID]; ok {
		return r.Compliance
	}
	return nil
}

// sharedCompliance reports whether f's compliance is its rule's shared map
// itself (not an equal copy).
func sharedCompliance(f *check.Finding) bool {
	m := ruleCompliance(f.CheckID)
	return m != nil && f.Compliance != nil &&
		reflect.ValueOf(m).UnsafePointer() == reflect.ValueOf(f.Compliance).UnsafePointer()
}

// internCompliance points a decoded finding's compliance at its rule's
// shared map when they are equal, so that findings read back from a file
// do not each hold a copy.
func internCompliance(f *check.Finding) {
	m := ruleCompliance(f.CheckID)
	if m == nil || len(m) != len(f.Compliance) {
		return
	}
	for k, v := range m {
		if !slices.Equal(v, f.Compliance[k]) {
			return
		}
	}
	f.Compliance = m
}

// cloneFinding copies what a producer might reuse: the slices and the
// pointed-to facts. Strings are immutable and the compliance map is shared.
func cloneFinding(f *check.Finding) check.Finding {
	c := *f
	c.Aliases = slices.Clone(f.Aliases)
	c.Remediation.Edits = slices.Clone(f.Remediation.Edits)
	if f.Rotation.Enabled != nil {
		v := *f.Rotation.Enabled
		c.Rotation.Enabled = &v
	}
	if f.Rotation.NextRotationDate != nil {
		v := *f.Rotation.NextRotationDate
		c.Rotation.NextRotationDate = &v
	}
	if f.Rotation.LastRotationDate != nil {
		v := *f.Rotation.LastRotationDate
		c.Rotation.LastRotationDate = &v
	}
	if f.Error != nil {
		v := *f.Error
		c.Error = &v
	}
	return c
}
