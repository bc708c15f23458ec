package kmsemu

import (
	"context"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// BenchmarkDescribeKeySDK measures DescribeKey per second through the real
// SDK client over HTTP on loopback, quotas off, with parallel callers. The
// issue asks for at least 10,000/s on the 2-core CI machine; client and
// emulator share those cores, so the figure includes the SDK's own cost
// (signing, serialization) as a scanner would see it.
//
//	go test ./internal/kmsemu -run '^$' -bench DescribeKeySDK -benchtime 5s
func BenchmarkDescribeKeySDK(b *testing.B) {
	const keys = 1000
	e := &Estate{Accounts: []Account{{ID: DefaultAccount, Regions: []string{"us-east-1"}}}}
	for i := range keys {
		e.Accounts[0].Keys = append(e.Accounts[0].Keys, KeyDef{Region: "us-east-1",
			Description: "bench key " + strconv.Itoa(i), Aliases: []string{"alias/bench-" + strconv.Itoa(i)},
			Rotation: RotationDef{Enabled: i%2 == 0}})
	}
	// KMSEMU_BENCH_ENDPOINT runs the same benchmark against another KMS
	// emulator (local-kms, in a loopback-only network namespace), for a figure
	// measured the same way: keys are created there with CreateKey first.
	other := os.Getenv("KMSEMU_BENCH_ENDPOINT")
	url := other
	if other == "" {
		r, err := Start(Options{Estate: e, QuotaScale: 0}, "127.0.0.1:0")
		if err != nil {
			b.Fatalf("start emulator: %v", err)
		}
		defer r.Close()
		url = r.URL
	}

	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConns, transport.MaxIdleConnsPerHost = 256, 256
	client := kms.NewFromConfig(aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider(DefaultAccessKeyID, DefaultSecretAccessKey, ""),
		BaseEndpoint:     aws.String(url),
		RetryMaxAttempts: 1,
		HTTPClient:       &http.Client{Transport: transport, Timeout: 10 * time.Second},
	})
	ctx := context.Background()
	if other != "" {
		// The benchmark function runs more than once: create the keys once.
		have, err := client.ListKeys(ctx, &kms.ListKeysInput{Limit: aws.Int32(1000)})
		if err != nil {
			b.Fatalf("list keys on %s: %v", other, err)
		}
		for i := len(have.Keys); i < keys; i++ {
			if _, err := client.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("bench key " + strconv.Itoa(i))}); err != nil {
				b.Fatalf("create key on %s: %v", other, err)
			}
		}
	}
	ids := make([]string, 0, keys)
	p := kms.NewListKeysPaginator(client, &kms.ListKeysInput{Limit: aws.Int32(1000)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			b.Fatalf("list keys: %v", err)
		}
		for _, k := range page.Keys {
			ids = append(ids, *k.KeyId)
		}
	}
	if len(ids) != keys {
		b.Fatalf("listed %d keys, want %d", len(ids), keys)
	}

	var next atomic.Uint64
	b.SetParallelism(8)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := ids[next.Add(1)%keys]
			out, err := client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: &id})
			if err != nil {
				b.Errorf("describe key %s: %v", id, err)
				return
			}
			if *out.KeyMetadata.KeyId != id {
				b.Errorf("describe key %s: got %s", id, *out.KeyMetadata.KeyId)
				return
			}
		}
	})
	b.StopTimer() // the deferred Close is not part of the measure
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
}

// BenchmarkDescribeKeyHandle measures the KMS service alone (handle, no
// HTTP, no SDK), to tell the emulator's share of the SDK figure.
func BenchmarkDescribeKeyHandle(b *testing.B) {
	k := newKMSService(nil, 0)
	e := &Estate{Accounts: []Account{{ID: DefaultAccount, Regions: []string{"us-east-1"}}}}
	for range 1000 {
		e.Accounts[0].Keys = append(e.Accounts[0].Keys, KeyDef{Region: "us-east-1"})
	}
	if err := k.load(e); err != nil {
		b.Fatal(err)
	}
	var bodies [][]byte
	for _, id := range k.stores[regionKey{DefaultAccount, "us-east-1"}].ids {
		bodies = append(bodies, []byte(`{"KeyId":"`+id+`"}`))
	}
	var next atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		now := time.Now()
		for pb.Next() {
			body := bodies[next.Add(1)%uint64(len(bodies))]
			if _, err := k.handle(&call{Op: "DescribeKey", Account: DefaultAccount, Region: "us-east-1", Body: body, Now: now}); err != nil {
				b.Errorf("describe key: %v", err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
}

// BenchmarkListKeys100k loads 100,000 keys (AWS's per-Region quota of
// customer managed keys) and measures one full ListKeys walk at the default
// page size, plus the alias lookup of one key.
func BenchmarkListKeys100k(b *testing.B) {
	const keys = 100_000
	e := &Estate{Accounts: []Account{{ID: DefaultAccount, Regions: []string{"us-east-1"}}}}
	for i := range keys {
		e.Accounts[0].Keys = append(e.Accounts[0].Keys, KeyDef{Region: "us-east-1",
			Aliases: []string{"alias/app-" + strconv.Itoa(i)}})
	}
	k := newKMSService(nil, 0)
	start := time.Now()
	if err := k.load(e); err != nil {
		b.Fatal(err)
	}
	loadTime := time.Since(start)
	c := &call{Op: "ListKeys", Account: DefaultAccount, Region: "us-east-1"}
	b.ResetTimer()
	for b.Loop() {
		n, marker := 0, ""
		for {
			c.Body = []byte(`{}`)
			if marker != "" {
				c.Body = []byte(`{"Marker":"` + marker + `"}`)
			}
			out, err := k.handle(c)
			if err != nil {
				b.Fatal(err)
			}
			page := out.(listKeysOutput)
			n += len(page.Keys)
			if page.NextMarker == nil {
				break
			}
			marker = *page.NextMarker
		}
		if n != keys {
			b.Fatalf("listed %d keys, want %d", n, keys)
		}
		c.Op, c.Body = "ListAliases", []byte(`{"KeyId":"`+page0(k)+`"}`)
		if _, err := k.handle(c); err != nil {
			b.Fatal(err)
		}
		c.Op = "ListKeys"
	}
	b.ReportMetric(loadTime.Seconds(), "load-s")
}

func page0(k *kmsService) string { return k.stores[regionKey{DefaultAccount, "us-east-1"}].ids[0] }
