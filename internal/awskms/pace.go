package awskms

import (
	"context"
	"maps"
	"net/http"
	"sync"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"golang.org/x/time/rate"
)

// Quotas are AWS KMS's default request quotas, in requests per second per
// account and Region (kms-api.md §8; each operation's quota is independent
// of the others), plus those of the other services a run calls.
var Quotas = map[string]float64{
	// KMS, read.
	"ListKeys":             500,
	"ListAliases":          500,
	"DescribeKey":          2000,
	"GetKeyRotationStatus": 1000,
	"ListKeyRotations":     100,
	"ListResourceTags":     2000,
	"GetKeyPolicy":         1000,
	// KMS, write.
	"EnableKeyRotation":   15,
	"DisableKeyRotation":  5,
	"RotateKeyOnDemand":   5,
	"CreateKey":           5,
	"ScheduleKeyDeletion": 15,
	"CancelKeyDeletion":   5,
	"DisableKey":          5,
	"EnableKey":           5,
	"ReplicateKey":        5,
	"TagResource":         10,
	"UntagResource":       5,
	"PutKeyPolicy":        15,
	"UpdatePrimaryRegion": 5,
	// STS, Organizations, EC2, CloudFormation, Security Hub: AWS publishes
	// no per-operation rate for most of these; these are conservative.
	"GetCallerIdentity":                50,
	"AssumeRole":                       50,
	"ListAccounts":                     5,
	"ListRoots":                        5,
	"ListChildren":                     5,
	"ListAccountsForParent":            5,
	"ListOrganizationalUnitsForParent": 5,
	"DescribeRegions":                  20,
	"ListStacks":                       5,
	"ListStackResources":               5,
	"DescribeStackResources":           5,
	"BatchImportFindings":              10,
}

// unknownQuota paces an operation Quotas does not list: the most
// conservative quota of any KMS operation, never unpaced.
const unknownQuota = 5

// bucket is a token bucket (golang.org/x/time/rate): it refills at rate
// tokens per second up to burst. A caller takes a token at once, going into
// debt if none is left, and waits until the debt would have been refilled;
// so callers are served in arrival order and the long-run rate never
// exceeds rate.
type bucket struct{ lim *rate.Limiter }

func newBucket(r, burst float64, now time.Time) *bucket {
	lim := rate.NewLimiter(rate.Limit(r), max(1, int(burst)))
	// Start full at now (a limiter is full until its first use).
	lim.SetBurstAt(now, max(1, int(burst)))
	return &bucket{lim: lim}
}

// reserve takes one token at now and returns how long to wait before using
// it, with the reservation to cancel if it is not used.
func (b *bucket) reserve(now time.Time) time.Duration {
	d, _ := b.take(now)
	return d
}

func (b *bucket) take(now time.Time) (time.Duration, *rate.Reservation) {
	r := b.lim.ReserveN(now, 1)
	return r.DelayFrom(now), r
}

func (b *bucket) wait(ctx context.Context) error {
	now := time.Now()
	d, r := b.take(now)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		// Give back the token that was reserved but not used.
		r.CancelAt(time.Now())
		return ctx.Err()
	}
}

// pacer holds one bucket per account, Region and operation.
//
// Adaptive pacing (the default) lets an account, Region and operation run
// unpaced until AWS first throttles it, and paces it at the quota from then
// on: a scan that stays under the quotas (as real AWS latency keeps a worker
// pool of 32 far below them) pays nothing, and one that meets throttling
// stops provoking it after the first retry. PaceAlways paces from the first
// request, for accounts whose quotas other workloads already use.
type pacer struct {
	// scale multiplies Quotas; 0 turns pacing off.
	scale   float64
	always  bool
	mu      sync.Mutex
	buckets map[bucketKey]*bucket
	// engaged holds the keys that have been throttled (adaptive mode).
	engaged map[bucketKey]bool
}

type bucketKey struct{ account, region, op string }

func newPacer(scale float64, always bool) *pacer {
	return &pacer{scale: scale, always: always, buckets: map[bucketKey]*bucket{}, engaged: map[bucketKey]bool{}}
}

// wait blocks until the operation may be sent in the account and Region.
// An operation without a known quota is paced at unknownQuota.
func (p *pacer) wait(ctx context.Context, account, region, op string) error {
	if p == nil || p.scale <= 0 {
		return nil
	}
	q, ok := Quotas[op]
	if !ok {
		q = unknownQuota
	}
	k := bucketKey{account, region, op}
	p.mu.Lock()
	if !p.always && !p.engaged[k] {
		p.mu.Unlock()
		return nil
	}
	b := p.buckets[k]
	if b == nil {
		// AWS states its quotas per second and documents no burst
		// (kms-api.md §8); we assume its bucket holds at most one second's
		// worth, and keep ours to half of that. Ours then never runs ahead of
		// AWS's by more than half a second of quota, which absorbs requests
		// that network and scheduling jitter bunch together on arrival.
		r := q * p.scale
		burst := max(1, r/2)
		if !p.always {
			// Engaged by a throttle: AWS's bucket is empty now, so start ours empty.
			burst = 1
		}
		b = newBucket(r, burst, time.Now())
		p.buckets[k] = b
	}
	p.mu.Unlock()
	return b.wait(ctx)
}

// throttled records that AWS throttled the operation in the account and
// Region, which engages adaptive pacing for it.
func (p *pacer) throttled(account, region, op string) {
	if p == nil || p.scale <= 0 || p.always {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.engaged[bucketKey{account, region, op}] = true
}

// counter counts the requests sent, per operation, retries included: what
// AWS sees and bills against the quotas.
type counter struct {
	mu sync.Mutex
	m  map[string]int
	// date is the latest Date header of a response: AWS's clock.
	date time.Time
}

// sawDate records the Date header of a response.
func (c *counter) sawDate(h string) {
	t, err := http.ParseTime(h)
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.date) {
		c.date = t
	}
}

// latestDate is the latest Date header seen, or zero.
func (c *counter) latestDate() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.date
}

func (c *counter) add(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]int{}
	}
	c.m[op]++
}

// snapshot returns a copy of the counts.
func (c *counter) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.m)
}

// attemptMiddleware paces and counts every attempt of every operation of a
// client bound to one account and Region. It sits after the retry loop so
// that a retry waits for a token too.
func attemptMiddleware(p *pacer, c *counter, account, region string) func(*middleware.Stack) error {
	mw := middleware.FinalizeMiddlewareFunc("kmsrotorPaceAndCount",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			op := middleware.GetOperationName(ctx)
			if err := p.wait(ctx, account, region, op); err != nil {
				return middleware.FinalizeOutput{}, middleware.Metadata{}, err
			}
			c.add(op)
			out, md, err := next.HandleFinalize(ctx, in)
			if err != nil && isThrottle(err) {
				p.throttled(account, region, op)
			}
			if resp, ok := awsmiddleware.GetRawResponse(md).(*smithyhttp.Response); ok && resp != nil {
				if d := resp.Header.Get("Date"); d != "" {
					c.sawDate(d)
				}
			}
			return out, md, err
		})
	return func(st *middleware.Stack) error {
		if _, ok := st.Finalize.Get("Retry"); ok {
			return st.Finalize.Insert(mw, "Retry", middleware.After)
		}
		return st.Finalize.Add(mw, middleware.After)
	}
}
