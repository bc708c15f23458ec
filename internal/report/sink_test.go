package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kmsrotor/kmsrotor/internal/check"
	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

func TestJSONLGolden(t *testing.T) {
	for _, tc := range docs {
		t.Run(tc.name, func(t *testing.T) {
			golden(t, "jsonl/"+tc.name+".jsonl", write(t, FormatJSONL, tc.doc(), Options{}))
		})
	}
}

// TestJSONLShape checks each line on its own: a finding object per line,
// then the summary line with summary as its first key.
func TestJSONLShape(t *testing.T) {
	doc := liveDoc()
	lines := strings.Split(strings.TrimSuffix(string(write(t, FormatJSONL, doc, Options{})), "\n"), "\n")
	if len(lines) != len(doc.Findings)+1 {
		t.Fatalf("got %d lines, want %d findings and one summary line", len(lines), len(doc.Findings))
	}
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, `{"summary":{`) {
		t.Errorf("last line: got %.60s…, want it to start with the summary", last)
	}
	var tr jsonlTrailer
	if err := json.Unmarshal([]byte(last), &tr); err != nil {
		t.Fatal(err)
	}
	if tr.Complete || tr.Summary != doc.Summary || len(tr.Errors) != 1 || tr.Scan.Kind != "aws" {
		t.Errorf("summary line: got complete %v, summary %+v, %d errors, kind %q; want false, %+v, 1, aws", tr.Complete, tr.Summary, len(tr.Errors), tr.Scan.Kind, doc.Summary)
	}
	for i, l := range lines[:len(lines)-1] {
		if !strings.HasPrefix(l, `{"check_id":`) || strings.Contains(l, "\n") {
			t.Errorf("line %d: got %.60s…, want one finding object", i+1, l)
		}
	}
}

// findingObjects decodes the findings of a report as generic JSON objects,
// so that the comparison covers every field as written.
func findingObjects(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	if bytes.HasPrefix(b, []byte("{\n")) {
		var doc struct{ Findings []map[string]any }
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		return doc.Findings
	}
	for _, l := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatal(err)
		}
		if _, ok := m["summary"]; !ok {
			out = append(out, m)
		}
	}
	return out
}

// TestJSONLAgreesWithJSON: the jsonl lines and the JSON document hold the
// same findings with the same fields, finding by finding (by finding_id).
func TestJSONLAgreesWithJSON(t *testing.T) {
	for _, tc := range append(docs[:2:2], struct {
		name string
		doc  func() *Document
	}{"many", func() *Document { return manyDoc(300, 1) }}) {
		t.Run(tc.name, func(t *testing.T) {
			doc := tc.doc()
			rand.New(rand.NewPCG(1, 2)).Shuffle(len(doc.Findings), func(i, j int) {
				doc.Findings[i], doc.Findings[j] = doc.Findings[j], doc.Findings[i]
			})
			fromJSON := findingObjects(t, write(t, FormatJSON, doc, Options{}))
			fromJSONL := findingObjects(t, write(t, FormatJSONL, doc, Options{}))
			if len(fromJSON) != len(fromJSONL) || len(fromJSON) != len(doc.Findings) {
				t.Fatalf("got %d findings in json and %d in jsonl, want %d each", len(fromJSON), len(fromJSONL), len(doc.Findings))
			}
			// A key reported twice has one ID and two messages.
			key := func(f map[string]any) string { return f["finding_id"].(string) + " " + f["message"].(string) }
			byID := map[string]map[string]any{}
			for _, f := range fromJSONL {
				byID[key(f)] = f
			}
			if len(byID) != len(fromJSONL) {
				t.Fatalf("got %d distinct findings for %d lines, want them distinct", len(byID), len(fromJSONL))
			}
			for _, f := range fromJSON {
				id := key(f)
				if !reflect.DeepEqual(f, byID[id]) {
					t.Errorf("finding %s: got json %v\nand jsonl %v\nwant them equal", id, f, byID[id])
				}
			}
		})
	}
}

// manyDoc is a live scan of n keys over accounts × Regions with every
// status; seed varies the key IDs. Several keys share an account, Region
// and key ID (a key and its replica), so the sort's ties are exercised.
func manyDoc(n int, seed uint64) *Document {
	r := rand.New(rand.NewPCG(seed, 7))
	policy := check.DefaultPolicy(now)
	regions := []string{"eu-west-1", "us-east-1", "us-west-2", "us-gov-west-1"}
	doc := &Document{
		Tool: Tool{Name: "kmsrotor", Version: "1.2.3"},
		Scan: Scan{Kind: "aws", StartedAt: now, FinishedAt: now.Add(time.Second), DurationMS: 1000,
			Policy: PolicyFacts{MaxRotationDays: 365, RotationGraceDays: 7}, RunID: "run-1"},
	}
	accounts := set{}
	for i := range n {
		acct := fmt.Sprintf("%012d", 100000000000+r.IntN(8))
		region := regions[r.IntN(len(regions))]
		id := fmt.Sprintf("%08x-1111-4a5b-8c9d-%012x", r.IntN(1<<20), i)
		if i%13 == 12 && len(doc.Findings) > 0 {
			// The same key again, as a second source would report it.
			prev := doc.Findings[len(doc.Findings)-1]
			acct, region, id = prev.AccountID, prev.Region, prev.KeyID
		}
		k := kmskey.Key{
			Source: kmskey.SourceAWS, AccountID: acct, Region: region, KeyID: id,
			ARN:     "arn:" + kmskey.PartitionOf(region) + ":kms:" + region + ":" + acct + ":key/" + id,
			Manager: kmskey.ManagerCustomer, Spec: kmskey.SpecSymmetricDefault, Usage: kmskey.UsageEncryptDecrypt,
			Origin: kmskey.OriginAWSKMS, State: kmskey.StateEnabled,
			Rotation: kmskey.Rotation{Enabled: kmskey.True, PeriodDays: 365, NextRotationDate: now.AddDate(0, 1, 0)},
			Aliases:  []string{fmt.Sprintf("alias/k%d", i)},
		}
		switch i % 7 {
		case 1:
			k.Rotation = kmskey.Rotation{Enabled: kmskey.False}
		case 2:
			k.Rotation.PeriodDays = 730
		case 3:
			k.Spec = "RSA_2048"
		case 4:
			k.Err = &kmskey.Error{Operation: "GetKeyRotationStatus", Code: "AccessDeniedException"}
		case 5:
			k.Origin = kmskey.OriginExternal
		}
		f := check.Evaluate(k, policy)
		f.Muted = i%11 == 0
		doc.Findings = append(doc.Findings, f)
		accounts.add(acct)
	}
	doc.Scan.Accounts, doc.Scan.Regions = accounts.sorted(), slices.Sorted(slices.Values(regions))
	doc.Finalize()
	return doc
}

// TestSpillSort writes many findings with runs of 7, so that the sort
// spills dozens of runs and merges them, and checks the output equals the
// in-memory sort's, for every sorting format, and that no temporary file
// is left behind.
func TestSpillSort(t *testing.T) {
	doc := manyDoc(1000, 3)
	shuffled := *doc
	shuffled.Findings = append([]check.Finding(nil), doc.Findings...)
	rand.New(rand.NewPCG(5, 6)).Shuffle(len(shuffled.Findings), func(i, j int) {
		shuffled.Findings[i], shuffled.Findings[j] = shuffled.Findings[j], shuffled.Findings[i]
	})
	for _, f := range []Format{FormatJSON, FormatSARIF, FormatTable} {
		t.Run(string(f), func(t *testing.T) {
			dir := t.TempDir()
			// The reference: the same arrivals sorted in one in-memory run.
			want := write(t, f, &shuffled, Options{RunSize: len(doc.Findings) + 1})
			got := write(t, f, &shuffled, Options{RunSize: 7, TempDir: dir})
			if !bytes.Equal(got, want) {
				t.Errorf("%s with runs of 7: output differs from the in-memory sort (%d and %d bytes)", f, len(got), len(want))
			}
			if left, _ := os.ReadDir(dir); len(left) != 0 {
				t.Errorf("%s: got %d files left in the temporary directory, want none", f, len(left))
			}
		})
	}
	// And the order is check.Sort's, finding by finding.
	var got []string
	s, _ := NewSink(FormatJSON, new(bytes.Buffer), Options{RunSize: 7})
	sorter := s.(*jsonSink).sorter
	for i := range shuffled.Findings {
		if err := sorter.Add(&shuffled.Findings[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := sorter.Each(func(f *check.Finding) error { got = append(got, f.ID+" "+f.Message); return nil }); err != nil {
		t.Fatal(err)
	}
	sorter.Close()
	sorted := append([]check.Finding(nil), shuffled.Findings...)
	check.Sort(sorted)
	ties := 0
	for i, f := range sorted {
		if got[i] != f.ID+" "+f.Message {
			t.Fatalf("finding %d: got %s, want %s (check.Sort's stable order)", i, got[i], f.ID+" "+f.Message)
		}
		if i > 0 && f.ID == sorted[i-1].ID {
			ties++
		}
	}
	if ties == 0 {
		t.Fatal("the test document has no ties, want some to test stability")
	}
}

// TestSpillKeepsSharedCompliance: findings read back from a run point at
// the rule's one compliance map again, rather than each holding a copy.
func TestSpillKeepsSharedCompliance(t *testing.T) {
	doc := manyDoc(50, 4)
	sorter := newSpillSorter(check.Compare, Options{RunSize: 3, TempDir: t.TempDir()})
	defer sorter.Close()
	for i := range doc.Findings {
		sorter.Add(&doc.Findings[i])
	}
	n := 0
	err := sorter.Each(func(f *check.Finding) error {
		n++
		if !sharedCompliance(f) {
			return fmt.Errorf("finding %s: compliance is a copy, want the rule's shared map", f.ID)
		}
		return nil
	})
	if err != nil || n != 50 {
		t.Errorf("got %d findings and %v, want 50 and nil", n, err)
	}
}

// TestTableStreamsOnTerminal: on a terminal a FAIL row is written as soon
// as it arrives, before End; the summary comes last.
func TestTableStreamsOnTerminal(t *testing.T) {
	doc := liveDoc()
	var b bytes.Buffer
	s, _ := NewSink(FormatTable, &b, Options{Terminal: true})
	s.Begin(Header{Tool: doc.Tool, Scan: doc.Scan})
	var fail *check.Finding
	for i := range doc.Findings {
		if doc.Findings[i].Status == check.StatusFail && !doc.Findings[i].Muted {
			fail = &doc.Findings[i]
			break
		}
	}
	s.Finding(fail)
	if !strings.Contains(b.String(), fail.Reason) || !strings.Contains(b.String(), "ACCOUNT") {
		t.Fatalf("after one FAIL: got %q, want its row written already", b.String())
	}
	if strings.Contains(b.String(), "Summary:") {
		t.Errorf("before End: got %q, want no summary yet", b.String())
	}
	pass := check.Evaluate(liveKey("0b7d2a3c-1111-4a5b-8c9d-00000000000f", nil), check.DefaultPolicy(now))
	before := b.Len()
	s.Finding(&pass)
	if b.Len() != before {
		t.Errorf("a PASS without ShowSkipped: got %q written, want nothing", b.String()[before:])
	}
	s.End(Trailer{Scan: doc.Scan})
	if !strings.Contains(b.String(), "Summary: 1 \x1b[31mFAIL") {
		t.Errorf("after End: got %q, want the summary last", b.String())
	}
}

// TestTee: every sink gets every call.
func TestTee(t *testing.T) {
	doc := liveDoc()
	var a, b bytes.Buffer
	ja, _ := NewSink(FormatJSON, &a, Options{})
	jl, _ := NewSink(FormatJSONL, &b, Options{})
	if err := Feed(Tee(ja, jl), doc); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), write(t, FormatJSON, doc, Options{})) || !bytes.Equal(b.Bytes(), write(t, FormatJSONL, doc, Options{})) {
		t.Errorf("Tee(json, jsonl): got outputs that differ from each sink's alone")
	}
}

// TestReadBack: Read gives back every finding and the run's facts, from
// the document (indented or compact) and from jsonl.
func TestReadBack(t *testing.T) {
	doc := liveDoc()
	indented := write(t, FormatJSON, doc, Options{})
	var compact bytes.Buffer
	if err := json.Compact(&compact, indented); err != nil {
		t.Fatal(err)
	}
	inputs := map[string][]byte{"json": indented, "compact json": compact.Bytes(), "jsonl": write(t, FormatJSONL, doc, Options{})}
	for name, in := range inputs {
		var got []check.Finding
		h, tr, err := Read(bytes.NewReader(in), func(f *check.Finding) error { got = append(got, *f); return nil })
		if err != nil {
			t.Fatalf("%s: Read: got %v, want nil", name, err)
		}
		check.Sort(got)
		if !reflect.DeepEqual(got, doc.Findings) {
			t.Errorf("%s: got findings that differ from the document's", name)
		}
		if h.SchemaVersion != SchemaVersion || h.Tool != doc.Tool || tr.Scan.Kind != "aws" || tr.Scan.Complete || len(tr.Errors) != 1 || tr.Summary != doc.Summary {
			t.Errorf("%s: got header %+v and trailer %+v, want the document's", name, h, tr)
		}
		for _, f := range got {
			if !sharedCompliance(&f) {
				t.Errorf("%s: finding %s: compliance not interned", name, f.ID)
				break
			}
		}
	}
}

func TestReadRejects(t *testing.T) {
	jsonl := write(t, FormatJSONL, liveDoc(), Options{})
	cut := jsonl[:bytes.LastIndexByte(jsonl[:len(jsonl)-1], '\n')+1]
	tests := []struct {
		name, in string
		want     error
	}{
		{"empty", "", ErrNotReport},
		{"text", "hello world\n", ErrNotReport},
		{"other json", `{"foo": 1}` + "\n", ErrNotReport},
		{"array", "[1, 2]\n", ErrNotReport},
		{"document without schema", "{\n  \"findings\": []\n}\n", ErrNotReport},
		{"jsonl without summary line", string(cut), ErrTruncated},
		{"jsonl cut mid-line", string(jsonl[:len(cut)+20]), ErrTruncated},
	}
	for _, tt := range tests {
		_, _, err := Read(strings.NewReader(tt.in), func(*check.Finding) error { return nil })
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.want)
		}
	}
	if !strings.Contains(ErrNotReport.Error(), "expected") || strings.Count(ErrNotReport.Error(), ". ") > 0 {
		t.Errorf("got %q, want one sentence naming what was expected", ErrNotReport)
	}
}
