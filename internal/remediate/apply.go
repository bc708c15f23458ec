package remediate

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// KMSAPI is the part of the KMS client Apply uses.
//
//   - EnableKeyRotation turns rotation on with RotationPeriodInDays
//     (90–2560), or changes the period of a key that rotates already; only
//     on an enabled symmetric customer managed key with AWS_KMS origin, and
//     for a multi-Region key only on its primary. Errors: NotFoundException,
//     DisabledException, KMSInvalidStateException,
//     UnsupportedOperationException, AccessDeniedException,
//     ThrottlingException (quota 15/s per account and Region), 5xx.
//   - GetKeyRotationStatus reads rotation back (KeyRotationEnabled,
//     RotationPeriodInDays). Errors: as DescribeKey plus
//     KMSInvalidStateException and UnsupportedOperationException.
type KMSAPI interface {
	EnableKeyRotation(ctx context.Context, in *kms.EnableKeyRotationInput, optFns ...func(*kms.Options)) (*kms.EnableKeyRotationOutput, error)
	GetKeyRotationStatus(ctx context.Context, in *kms.GetKeyRotationStatusInput, optFns ...func(*kms.Options)) (*kms.GetKeyRotationStatusOutput, error)
}

var _ KMSAPI = (*kms.Client)(nil)

// Outcomes of a change.
const (
	StatusVerified = "VERIFIED"
	StatusFailed   = "FAILED"
)

// Result is what became of one change.
type Result struct {
	Change
	// Status is VERIFIED or FAILED.
	Status string `json:"status"`
	// Reason says why a change FAILED (or how it was verified).
	Reason string `json:"reason,omitempty"`
	// Called is whether EnableKeyRotation was sent in this run.
	Called bool `json:"called"`
}

// ApplyOptions tune Apply.
type ApplyOptions struct {
	// KMS returns the (paced) client of an account and Region.
	KMS func(account, region string) KMSAPI
	// Journal records every action; nil records nothing.
	Journal JournalWriter
	// Resume is an unfinished earlier run's record; nil for a fresh run.
	Resume *Resume
	// Workers is the number of calls in flight per account-Region (default
	// 8: enough to keep 15/s with 500 ms of latency); the client's pacer
	// holds them to the quota. Parallel is how many account-Regions run at
	// once (default 16).
	Workers, Parallel int
}

// Apply executes the plan's changes, concurrently across account-Regions
// and within each at the client's pace, then reads every changed key back.
// One key's failure does not stop the others. Results are in plan order.
// It returns an error only when the journal cannot be written (then it stops:
// a change that cannot be recorded must not be made) or ctx ends.
func Apply(ctx context.Context, p *Plan, o ApplyOptions) ([]Result, error) {
	if o.Workers <= 0 {
		o.Workers = 8
	}
	if o.Parallel <= 0 {
		o.Parallel = 16
	}
	if o.Resume == nil {
		o.Resume = &Resume{}
	}
	if o.Journal == nil {
		o.Journal = nopJournal{}
	}
	results := make([]Result, len(p.Changes))
	groups := map[AccountRegion][]int{}
	for i, c := range p.Changes {
		results[i] = Result{Change: c}
		ar := AccountRegion{c.AccountID, c.Region}
		groups[ar] = append(groups[ar], i)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, o.Parallel)
	var wg sync.WaitGroup
	for ar, idx := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			client := o.KMS(ar.AccountID, ar.Region)
			work := make(chan int)
			var inner sync.WaitGroup
			for range min(o.Workers, len(idx)) {
				inner.Add(1)
				go func() {
					defer inner.Done()
					for i := range work {
						if err := applyOne(ctx, client, &results[i], o); err != nil {
							cancel(err)
						}
					}
				}()
			}
			for _, i := range idx {
				if ctx.Err() != nil {
					break
				}
				work <- i
			}
			close(work)
			inner.Wait()
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return results, err
	}
	return results, nil
}

// applyOne changes and verifies one key; its error is the journal's only.
func applyOne(ctx context.Context, client KMSAPI, r *Result, o ApplyOptions) error {
	c := r.Change
	rec := Record{KeyARN: c.KeyARN, AccountID: c.AccountID, Region: c.Region, Action: c.Action, PeriodDays: c.PeriodDays}
	if period, ok := o.Resume.Verified[c.KeyARN]; ok && period == c.PeriodDays {
		r.Status, r.Reason = StatusVerified, "verified by an earlier run (journal)"
		return nil
	}
	if o.Resume.Touched[c.KeyARN] {
		// An earlier run may have changed it before it was killed: read
		// first, and do not call again when it is already as intended.
		if ok, _ := rotatesWith(ctx, client, c); ok {
			r.Status, r.Reason = StatusVerified, "already rotating every "+itoa(c.PeriodDays)+" days (changed by an earlier run)"
			return journalVerified(o.Journal, rec, r)
		}
	}
	rec.Type = RecordIntent
	if err := o.Journal.Write(rec); err != nil {
		r.Status, r.Reason = StatusFailed, "not attempted: "+err.Error()
		return err
	}
	_, err := client.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: aws.String(c.KeyARN), RotationPeriodInDays: aws.Int32(int32(c.PeriodDays))})
	r.Called = true
	rec.Type = RecordApplied
	if err != nil {
		code, msg := errorParts(err)
		rec.Status, rec.Reason = code, msg
		r.Status, r.Reason = StatusFailed, fmt.Sprintf("EnableKeyRotation failed: %s: %s", code, msg)
		if jerr := o.Journal.Write(rec); jerr != nil {
			return jerr
		}
		return journalVerified(o.Journal, Record{KeyARN: c.KeyARN, AccountID: c.AccountID, Region: c.Region, Action: c.Action, PeriodDays: c.PeriodDays}, r)
	}
	rec.Status = "OK"
	if err := o.Journal.Write(rec); err != nil {
		return err
	}
	ok, reason := rotatesWith(ctx, client, c)
	if ok {
		r.Status, r.Reason = StatusVerified, ""
	} else {
		r.Status, r.Reason = StatusFailed, reason
	}
	return journalVerified(o.Journal, Record{KeyARN: c.KeyARN, AccountID: c.AccountID, Region: c.Region, Action: c.Action, PeriodDays: c.PeriodDays}, r)
}

func journalVerified(j JournalWriter, rec Record, r *Result) error {
	rec.Type, rec.Status, rec.Reason = RecordVerified, r.Status, r.Reason
	return j.Write(rec)
}

// rotatesWith reads the key's rotation back: true when it is enabled with
// the intended period, else why not.
func rotatesWith(ctx context.Context, client KMSAPI, c Change) (bool, string) {
	out, err := client.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: aws.String(c.KeyARN)})
	if err != nil {
		code, msg := errorParts(err)
		return false, fmt.Sprintf("read back failed: GetKeyRotationStatus: %s: %s", code, msg)
	}
	if !out.KeyRotationEnabled {
		return false, "read back: rotation is not enabled"
	}
	if got := int(aws.ToInt32(out.RotationPeriodInDays)); got != c.PeriodDays {
		return false, fmt.Sprintf("read back: rotation period is %d days, not %d", got, c.PeriodDays)
	}
	return true, ""
}

// nopJournal records nothing.
type nopJournal struct{}

func (nopJournal) Write(Record) error { return nil }
