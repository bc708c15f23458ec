package report

import (
	"fmt"
	"io"
	"testing"

	"github.com/kmsrotor/kmsrotor/internal/check"
	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

// benchDoc is an estate of n live keys over 10 accounts and 4 Regions,
// every fourth not rotating.
func benchDoc(n int) *Document {
	policy := check.DefaultPolicy(now)
	doc := &Document{Tool: Tool{Name: "kmsrotor", Version: "bench"},
		Scan: Scan{Kind: "aws", StartedAt: now, EvaluatedAt: now, Policy: PolicyFacts{MaxRotationDays: 365, RotationGraceDays: 7}}}
	regions := []string{"eu-west-1", "us-east-1", "ap-south-1", "sa-east-1"}
	for i := range n {
		id := fmt.Sprintf("0b7d2a3c-1111-4a5b-8c9d-%012d", i)
		k := liveKey(id, func(k *kmskey.Key) {
			k.AccountID = fmt.Sprintf("1111222233%02d", i%10)
			k.Region = regions[i%4]
			k.Aliases = []string{fmt.Sprintf("alias/app-%d", i)}
			k.Tags = map[string]string{"team": fmt.Sprintf("t%d", i%50)}
			k.Rotation.NextRotationDate = now.AddDate(0, i%24, 0)
			if i%4 == 0 {
				k.Rotation = kmskey.Rotation{Enabled: kmskey.False}
			}
		})
		k.ARN = "arn:aws:kms:" + k.Region + ":" + k.AccountID + ":key/" + id
		doc.Findings = append(doc.Findings, check.Evaluate(k, policy))
	}
	doc.Finalize()
	return doc
}

// BenchmarkSinks60k writes 60,000 findings as the JSON document alone, then
// as the JSON document plus every format of this package's sinks. The
// difference is what --output-dir with every format adds to a scan
// (scripts/bench-report.sh prints it against the scan's own time).
func BenchmarkSinks60k(b *testing.B) {
	doc := benchDoc(60_000)
	b.Run("json", func(b *testing.B) {
		for b.Loop() {
			if err := Write(io.Discard, FormatJSON, doc, Options{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json+every-format", func(b *testing.B) {
		dir := b.TempDir()
		for b.Loop() {
			if err := Write(io.Discard, FormatJSON, doc, Options{}); err != nil {
				b.Fatal(err)
			}
			var sinks []Sink
			for _, f := range SinkFormats() {
				s, _ := NewSink(f, io.Discard, Options{TempDir: dir, Compliance: "CIS-5.0"})
				sinks = append(sinks, s)
			}
			if err := Feed(Tee(sinks...), doc); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSink60kEach writes 60,000 findings in each sink format alone.
func BenchmarkSink60kEach(b *testing.B) {
	doc := benchDoc(60_000)
	for _, f := range SinkFormats() {
		b.Run(string(f), func(b *testing.B) {
			dir := b.TempDir()
			for b.Loop() {
				s, _ := NewSink(f, io.Discard, Options{TempDir: dir, Compliance: "CIS-5.0"})
				if err := Feed(s, doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
