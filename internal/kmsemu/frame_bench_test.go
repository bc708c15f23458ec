package kmsemu

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user and system CPU time so far. On a machine
// shared with other work, CPU time per request is steadier than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds the CPU time per operation since start as "cpu-ns/op".
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// discardWriter is a ResponseWriter that keeps nothing, so that the
// benchmarks measure the frame, not a recorder.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

const benchKeyID = "6513270e-269e-4d37-b2a7-4de452e6b438" // a demo key

// BenchmarkFrameServeDescribeKey is one signed DescribeKey through
// ServeHTTP: routing, SigV4 verification, quotas, faults, deny rules, the
// KMS service and the response. BenchmarkKMSHandleDescribeKey is the KMS
// service alone; the difference is the frame's overhead per request.
func BenchmarkFrameServeDescribeKey(b *testing.B) {
	s, err := New(Options{Estate: DemoEstate()})
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"KeyId":"` + benchKeyID + `"}`)
	signed := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:4566/", bytes.NewReader(body))
	signed.Header.Set("Content-Type", "application/x-amz-json-1.1")
	signed.Header.Set("X-Amz-Target", "TrentService.DescribeKey")
	signRequest(b, signed, body, DefaultAccessKeyID, DefaultSecretAccessKey, "", "kms", "us-east-1", time.Now())
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		r := signed.Clone(context.Background())
		r.Body = io.NopCloser(bytes.NewReader(body))
		clear(w.h)
		s.ServeHTTP(w, r)
	}
	reportCPU(b, start)
	if st := s.Requests()[0].Status; st != 200 {
		b.Fatalf("DescribeKey through ServeHTTP: status %d, want 200", st)
	}
}

func BenchmarkKMSHandleDescribeKey(b *testing.B) {
	s, err := New(Options{Estate: DemoEstate()})
	if err != nil {
		b.Fatal(err)
	}
	c := &call{Service: "kms", Op: "DescribeKey", Account: DefaultAccount, Region: "us-east-1",
		Principal: "arn:aws:iam::123456789012:root", Body: []byte(`{"KeyId":"` + benchKeyID + `"}`)}
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		c.Now = s.clock.Now()
		if _, aerr := s.kms.handle(c); aerr != nil {
			b.Fatal(aerr)
		}
	}
	reportCPU(b, start)
}
