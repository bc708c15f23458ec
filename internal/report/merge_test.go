package report

import (
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/kmsrotor/kmsrotor/internal/check"
)

// uniqueDoc is manyDoc with each key once (merge keeps one finding per ID).
func uniqueDoc(n int, seed uint64) *Document {
	doc := manyDoc(n, seed)
	seen := map[string]bool{}
	kept := doc.Findings[:0]
	for _, f := range doc.Findings {
		if !seen[f.ID] {
			seen[f.ID] = true
			kept = append(kept, f)
		}
	}
	doc.Findings = kept
	doc.Scan.Calls = map[string]int{"ListKeys": 40, "DescribeKey": 400}
	doc.Errors = []ScanError{{AccountID: doc.Scan.Accounts[0], Region: "us-west-2", Operation: "ListKeys", Code: "AccessDeniedException", Message: "denied"}}
	doc.Finalize()
	return doc
}

func shardOf(account string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(account))
	return int(h.Sum32()%uint32(n)) + 1
}

// shards splits doc by account into n shard documents of one run, as n
// machines would write them: each its accounts, times within the run's,
// a share of the API calls; the Region error in two shards, and one
// finding in two shards (a retried account).
func shards(doc *Document, n int) []*Document {
	out := make([]*Document, n)
	for i := range out {
		s := *doc
		s.Findings, s.Errors = nil, nil
		s.Scan.Shard = &Shard{Index: i + 1, Count: n}
		s.Scan.Accounts = nil
		s.Scan.StartedAt = doc.Scan.StartedAt.Add(time.Duration(i) * time.Millisecond)
		s.Scan.FinishedAt = doc.Scan.FinishedAt.Add(-time.Duration(n-1-i) * time.Millisecond)
		s.Scan.Calls = map[string]int{}
		for op, c := range doc.Scan.Calls {
			s.Scan.Calls[op] = c / n
		}
		out[i] = &s
	}
	for _, a := range doc.Scan.Accounts {
		sh := out[shardOf(a, n)-1]
		sh.Scan.Accounts = append(sh.Scan.Accounts, a)
	}
	for _, f := range doc.Findings {
		sh := out[shardOf(f.AccountID, n)-1]
		sh.Findings = append(sh.Findings, f)
	}
	out[1].Errors = doc.Errors
	out[2].Errors = doc.Errors
	out[3].Findings = append(out[3].Findings, doc.Findings[0])
	for _, s := range out {
		s.Finalize()
	}
	return out
}

func inputsOf(t *testing.T, docs []*Document) []NamedReader {
	t.Helper()
	var in []NamedReader
	for i, d := range docs {
		f := FormatJSON
		if i%2 == 1 {
			f = FormatJSONL
		}
		b := write(t, f, d, Options{})
		in = append(in, NamedReader{Name: fmt.Sprintf("shard-%d.%s", i+1, f), Open: func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(b)), nil
		}})
	}
	return in
}

func TestMergeEqualsUnsharded(t *testing.T) {
	doc := uniqueDoc(400, 9)
	parts := shards(doc, 4)
	for i, p := range parts {
		if len(p.Findings) == 0 {
			t.Fatalf("shard %d has no findings: the test would not test merging", i+1)
		}
	}
	want := write(t, FormatJSON, doc, Options{})
	for _, format := range []Format{FormatJSON, FormatJSONL} {
		var got bytes.Buffer
		sink, _ := NewSink(format, &got, Options{RunSize: 50})
		res, err := Merge(inputsOf(t, parts), sink)
		if err != nil {
			t.Fatalf("Merge: got %v, want nil", err)
		}
		if res.Duplicates != 1 || res.Summary != doc.Summary || res.Complete || len(res.Missing) != 0 || len(res.Incomplete) != 0 {
			t.Errorf("%s: got %+v, want 1 duplicate, summary %+v, incomplete (ERROR findings), nothing missing or flagged", format, res, doc.Summary)
		}
		if format == FormatJSON {
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("merged json differs from the unsharded document:\n%s", firstDiff(got.Bytes(), want))
			}
			continue
		}
		// jsonl: the same findings, by ID, and the same summary line.
		var ids []string
		_, tr, err := Read(&got, func(f *check.Finding) error { ids = append(ids, f.ID); return nil })
		if err != nil || len(ids) != len(doc.Findings) || tr.Summary != doc.Summary {
			t.Errorf("merged jsonl: got %d findings, summary %+v, %v; want %d, %+v, nil", len(ids), tr.Summary, err, len(doc.Findings), doc.Summary)
		}
	}
}

func firstDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range min(len(g), len(w)) {
		if g[i] != w[i] {
			return fmt.Sprintf("line %d: got %q, want %q", i+1, g[i], w[i])
		}
	}
	return fmt.Sprintf("got %d lines, want %d", len(g), len(w))
}

func TestMergeMissingShard(t *testing.T) {
	parts := shards(uniqueDoc(200, 10), 4)
	parts = append(parts[:2], parts[3])
	var got bytes.Buffer
	sink, _ := NewSink(FormatJSON, &got, Options{})
	res, err := Merge(inputsOf(t, parts), sink)
	if err != nil {
		t.Fatal(err)
	}
	if res.Complete || len(res.Missing) != 1 || res.Missing[0] != 3 {
		t.Errorf("got %+v, want incomplete with shard 3 missing", res)
	}
	if !strings.Contains(got.String(), `"code": "shard_missing"`) || !strings.Contains(got.String(), "shard 3/4 of run run-1 is missing") {
		t.Errorf("got a report without an error entry naming shard 3/4")
	}
}

func TestMergeIncompleteShard(t *testing.T) {
	parts := shards(uniqueDoc(200, 11), 4)
	parts[2].Scan.Interrupted = "interrupted by SIGINT"
	in := inputsOf(t, parts)
	// Shard 2 (jsonl) was killed before its summary line.
	b := write(t, FormatJSONL, parts[1], Options{})
	b = b[:bytes.LastIndexByte(b[:len(b)-1], '\n')+1]
	in[1].Open = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	var got bytes.Buffer
	sink, _ := NewSink(FormatJSON, &got, Options{})
	res, err := Merge(in, sink)
	if err != nil {
		t.Fatal(err)
	}
	if res.Complete || len(res.Incomplete) != 2 || res.Incomplete[0] != "shard-2.jsonl" || res.Incomplete[1] != "shard-3.json" {
		t.Errorf("got %+v, want shard-2.jsonl and shard-3.json incomplete", res)
	}
	for _, w := range []string{"shard-2.jsonl: the report ends without its summary line", "shard 3/4 (shard-3.json) is incomplete: it was interrupted: interrupted by SIGINT"} {
		if !strings.Contains(got.String(), w) {
			t.Errorf("got a report without %q", w)
		}
	}
}

// recorder is a Sink that counts its calls.
type recorder struct{ begun, findings, ended int }

func (r *recorder) Begin(Header) error             { r.begun++; return nil }
func (r *recorder) Finding(f *check.Finding) error { r.findings++; return nil }
func (r *recorder) End(Trailer) error              { r.ended++; return nil }

func TestMergeRefusesMixedRuns(t *testing.T) {
	parts := shards(uniqueDoc(100, 12), 4)
	parts[3].Scan.RunID = "run-2"
	var rec recorder
	_, err := Merge(inputsOf(t, parts), &rec)
	var mixed *MixedRunsError
	if !errors.As(err, &mixed) {
		t.Fatalf("got %v, want a MixedRunsError", err)
	}
	if want := "cannot merge reports of different runs: shard-1.json, shard-2.jsonl, shard-3.json (run run-1) and shard-4.jsonl (run run-2); merge only the shards of one run"; err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
	if rec != (recorder{}) {
		t.Errorf("got sink calls %+v, want none: nothing is written", rec)
	}
}

func TestMergeRejectsNonReport(t *testing.T) {
	in := []NamedReader{{Name: "notes.txt", Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("hello\n")), nil }}}
	var rec recorder
	_, err := Merge(in, &rec)
	var bad *InputError
	if !errors.As(err, &bad) || !errors.Is(err, ErrNotReport) || !strings.HasPrefix(err.Error(), "notes.txt: not a kmsrotor report") || rec.begun != 0 {
		t.Errorf("got %v (sink %+v), want an InputError naming notes.txt before the sink begins", err, rec)
	}
}
