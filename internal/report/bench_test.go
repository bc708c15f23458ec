package report

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kmsrotor/kmsrotor/internal/check"
	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

// estate yields n findings of 50 accounts × 4 Regions, one at a time, as a
// scan would: none is kept by the producer.
func estate(n int, fn func(f *check.Finding) error) error {
	policy := check.DefaultPolicy(now)
	regions := []string{"eu-west-1", "us-east-1", "us-west-2", "ap-south-1"}
	for i := range n {
		acct := fmt.Sprintf("%012d", 200000000000+(i*7919)%50)
		region := regions[(i/50)%4]
		id := fmt.Sprintf("%08x-1111-4a5b-8c9d-%012x", (i*2654435761)%(1<<32), i)
		k := kmskey.Key{
			Source: kmskey.SourceAWS, AccountID: acct, Region: region, KeyID: id,
			ARN:     "arn:aws:kms:" + region + ":" + acct + ":key/" + id,
			Manager: kmskey.ManagerCustomer, Spec: kmskey.SpecSymmetricDefault, Usage: kmskey.UsageEncryptDecrypt,
			Origin: kmskey.OriginAWSKMS, State: kmskey.StateEnabled, Aliases: []string{"alias/app-" + id[:8]},
			Rotation: kmskey.Rotation{Enabled: kmskey.True, PeriodDays: 365, NextRotationDate: now.AddDate(0, 1, 0)},
		}
		if i%5 == 0 {
			k.Rotation = kmskey.Rotation{Enabled: kmskey.False}
		}
		f := check.Evaluate(k, policy)
		if err := fn(&f); err != nil {
			return err
		}
	}
	return nil
}

// countingDiscard counts the bytes written and drops them.
type countingDiscard struct{ n int64 }

func (c *countingDiscard) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// heapPeak samples the live heap every millisecond until stop is called,
// and returns the highest value seen.
func heapPeak() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var m runtime.MemStats
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() uint64 { close(done); wg.Wait(); return peak.Load() }
}

// BenchmarkJSONSink200k writes the sorted JSON document of 200,000
// findings, arriving in scan order, not sorted; the time includes
// check.Evaluate making each finding, as in a scan. Besides time and bytes
// allocated it reports the peak live heap (sampled) and its ratio to the
// size of the document: bounded memory means a ratio far below 1, and a
// peak that does not grow with the number of findings (compare -run with
// BenchmarkJSONSink20k). Run it alone: go test ./internal/report -run '^$'
// -bench JSONSink -benchtime 1x.
func BenchmarkJSONSink200k(b *testing.B) { benchJSONSink(b, 200_000) }

// BenchmarkJSONSink20k is the same at a tenth of the size.
func BenchmarkJSONSink20k(b *testing.B) { benchJSONSink(b, 20_000) }

func benchJSONSink(b *testing.B, n int) {
	b.ReportAllocs()
	var peak uint64
	var size int64
	for b.Loop() {
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		stop := heapPeak()
		out := &countingDiscard{}
		sink, err := NewSink(FormatJSON, out, Options{TempDir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		if err := sink.Begin(Header{Tool: Tool{Name: "kmsrotor"}, Scan: Scan{Kind: "aws", Complete: true}}); err != nil {
			b.Fatal(err)
		}
		if err := estate(n, sink.Finding); err != nil {
			b.Fatal(err)
		}
		if err := sink.End(Trailer{Scan: Scan{Kind: "aws", Complete: true}}); err != nil {
			b.Fatal(err)
		}
		p := stop()
		if p > base.HeapInuse {
			peak = max(peak, p-base.HeapInuse)
		}
		size = out.n
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(size)/(1<<20), "document-MiB")
	b.ReportMetric(float64(peak)/float64(size), "heap/document")
}
