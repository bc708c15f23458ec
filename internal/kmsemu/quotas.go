package kmsemu

import (
	"encoding/json"
	"sync"
	"time"
)

// kmsQuotas are AWS's request quotas in requests per second, per account and
// Region, for the KMS operations of kms-api.md §8. Each quota is independent
// of the others. Operations the table does not list are not throttled.
var kmsQuotas = map[string]float64{
	"ListKeys":             500,
	"DescribeKey":          2000,
	"GetKeyRotationStatus": 1000,
	"ListKeyRotations":     100,
	"ListAliases":          500,
	"ListResourceTags":     2000,
	"ReplicateKey":         5,
	"TagResource":          10,
	"UntagResource":        5,
	"UpdatePrimaryRegion":  5,
	"EnableKeyRotation":    15,
	"DisableKeyRotation":   5,
	"RotateKeyOnDemand":    5,
	"CreateKey":            5,
	"ScheduleKeyDeletion":  15,
	"DisableKey":           5,
	"GetKeyPolicy":         1000,
	"CancelKeyDeletion":    5,
	"EnableKey":            5,
	"PutKeyPolicy":         15,
}

// serviceQuotas are the quotas of the CloudFormation and Security Hub
// operations, per account and Region, answered with each service's throttle.
// Security Hub documents BatchImportFindings at 10/s (burst 30) and
// GetFindings at 3/s (burst 6); the emulator's bursts are one second's worth.
// UNCONFIRMED: CloudFormation publishes no per-operation rate; 10/s is taken.
var serviceQuotas = map[string]map[string]float64{
	"cloudformation": {"ListStacks": 10, "ListStackResources": 10, "DescribeStackResources": 10},
	"securityhub":    {"BatchImportFindings": 10, "GetFindings": 3},
}

const msgThrottled = "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls."

// quotas holds one token bucket per account, Region and operation. Buckets
// fill in real time: quotas pace clients, whatever the emulated clock says.
type quotas struct {
	scale   float64
	mu      sync.Mutex
	buckets map[quotaKey]*bucket
	now     func() time.Time
}

type quotaKey struct{ account, region, op string }

// bucket is a token bucket holding at most one second's worth of requests,
// the burst AWS allows.
type bucket struct {
	tokens float64
	last   time.Time
}

func newQuotas(scale float64) *quotas {
	return &quotas{scale: scale, buckets: map[quotaKey]*bucket{}, now: time.Now}
}

// take removes n tokens from the operation's bucket; false means throttled.
// An operation without a quota is never throttled.
func (q *quotas) take(account, region, op string, n float64) bool {
	return q.takeAt(kmsQuotas, account, region, op, n)
}

func (q *quotas) takeAt(table map[string]float64, account, region, op string, n float64) bool {
	rps, ok := table[op]
	if !ok {
		return true
	}
	rate := rps * q.scale
	now := q.now()
	k := quotaKey{account, region, op}
	q.mu.Lock()
	defer q.mu.Unlock()
	b := q.buckets[k]
	if b == nil {
		b = &bucket{tokens: max(rate, 1), last: now}
		q.buckets[k] = b
	}
	burst := max(rate, 1)
	b.tokens = min(burst, b.tokens+now.Sub(b.last).Seconds()*rate)
	b.last = now
	n = min(n, burst) // a request costing more than the burst must still pass some time
	if b.tokens < n {
		return false
	}
	b.tokens -= n
	return true
}

// quotaCheck throttles a KMS request that exceeds its quota. ReplicateKey
// also spends two CreateKey requests in the replica Region (kms-api.md §8).
func (s *Server) quotaCheck(ri *reqInfo, body []byte) *apiError {
	if s.quotas == nil {
		return nil
	}
	if table := serviceQuotas[ri.service]; table != nil {
		if !s.quotas.takeAt(table, ri.account, ri.region, ri.op, 1) {
			return throttleError(ri.service)
		}
		return nil
	}
	if ri.service != "kms" {
		return nil
	}
	throttled := &apiError{Status: 400, Code: "ThrottlingException", Message: msgThrottled}
	if !s.quotas.take(ri.account, ri.region, ri.op, 1) {
		return throttled
	}
	if ri.op == "ReplicateKey" {
		var in struct{ ReplicaRegion string }
		if json.Unmarshal(body, &in) == nil && in.ReplicaRegion != "" &&
			!s.quotas.take(ri.account, in.ReplicaRegion, "CreateKey", 2) {
			return throttled
		}
	}
	return nil
}
