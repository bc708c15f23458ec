package cli

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/kmsrotor/kmsrotor/internal/awskms"
	"github.com/kmsrotor/kmsrotor/internal/check"
	"github.com/kmsrotor/kmsrotor/internal/report"
)

// run is what a command learns of its run while findings stream to the
// report: the counts, and the few facts that are not one key's (errors,
// skipped accounts). It never holds findings.
type run struct {
	header  report.Header
	summary check.Summary
	errors  []report.ScanError
	skipped []report.SkippedAccount
}

func newRun(kind string, p check.Policy, started time.Time) *run {
	doc := newDocument(kind, p, started, started)
	return &run{header: report.Header{Tool: doc.Tool, Scan: doc.Scan}}
}

func (r *run) add(f *check.Finding) { r.summary.Add(f) }

func (r *run) addError(e report.ScanError) { r.errors = append(r.errors, e) }

func (r *run) addSkipped(a report.SkippedAccount) { r.skipped = append(r.skipped, a) }

// trailer completes the scan's facts at its end.
func (r *run) trailer(p check.Policy, finished time.Time, res *awskms.Result) report.Trailer {
	scan := r.header.Scan
	scan.FinishedAt = finished.UTC()
	scan.DurationMS = finished.Sub(scan.StartedAt).Milliseconds()
	scan.EvaluatedAt = p.Now.UTC()
	scan.Accounts = res.Accounts
	scan.Regions = res.Regions
	scan.Calls = res.Calls
	slices.SortFunc(r.skipped, func(a, b report.SkippedAccount) int { return cmp.Compare(a.AccountID, b.AccountID) })
	scan.SkippedAccounts = r.skipped
	errs := slices.Clone(r.errors)
	report.SortErrors(errs)
	if errs == nil {
		errs = []report.ScanError{}
	}
	sum := r.summary
	sum.ScanErrors = len(errs)
	scan.Complete = sum.Complete()
	return report.Trailer{Scan: scan, Summary: sum, Errors: errs}
}

// interruptReason says what cut the run short: the signal, when one did.
func interruptReason(ctx context.Context) string {
	var sig *signalError
	if errors.As(context.Cause(ctx), &sig) {
		return "interrupted by " + sig.name
	}
	return "interrupted"
}
