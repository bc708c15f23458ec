// Package securityhub sends findings to AWS Security Hub in ASFF with
// BatchImportFindings: at most 100 per call (the API's limit), to the
// Security Hub of each finding's own account and Region, paced by the
// client (awskms.Clients paces BatchImportFindings at its quota). Findings
// are buffered per account and Region and sent as each batch fills, so
// memory is bounded by 100 findings per account-Region, not by the estate.
//
// A finding's Id is its stable finding ID, so a key fixed since the last
// run replaces its old FAIL with a PASS that is PASSED and ARCHIVED
// (report.ASFFOf), and Security Hub's view converges on the estate's.
package securityhub

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kmsrotor/kmsrotor/internal/check"
	"github.com/kmsrotor/kmsrotor/internal/report"
)

// BatchLimit is the most findings one BatchImportFindings call takes.
const BatchLimit = 100

// Operation is the name the call is paced and counted under.
const Operation = "BatchImportFindings"

// API is the one Security Hub call made, as awskms.Raw offers it.
type API interface {
	RESTJSON(ctx context.Context, op, method, path string, in, out any) error
}

// ClientFor returns the Security Hub client of an account and Region
// (awskms.Clients.Raw(cfg, "securityhub", "SecurityHub", account, region)).
type ClientFor func(account, region string) (API, error)

// Failure is one finding Security Hub did not import.
type Failure struct {
	ID        string `json:"id"`
	AccountID string `json:"account_id"`
	Region    string `json:"region"`
	KeyARN    string `json:"key_arn"`
	Code      string `json:"code"`
	Message   string `json:"message"`
}

// Result is what an import did.
type Result struct {
	Imported int       `json:"imported"`
	Batches  int       `json:"batches"`
	Failures []Failure `json:"failures"`
}

type batchRequest struct {
	Findings []report.ASFFFinding `json:"Findings"`
}

type batchResponse struct {
	FailedCount    int `json:"FailedCount"`
	SuccessCount   int `json:"SuccessCount"`
	FailedFindings []struct {
		Id           string `json:"Id"`
		ErrorCode    string `json:"ErrorCode"`
		ErrorMessage string `json:"ErrorMessage"`
	} `json:"FailedFindings"`
}

type target struct{ account, region string }

// Sink is a report.Sink that imports each live finding into Security Hub.
// IaC findings (no account) are not sent.
type Sink struct {
	conv    report.ASFFConverter
	ctx     context.Context
	client  ClientFor
	pending map[target][]report.ASFFFinding
	keys    map[string]string // ASFF Id -> key ARN, for the pending batches
	tool    report.Tool
	at      time.Time
	maxDays int
	res     Result
}

// NewSink returns a sink importing into Security Hub through client.
func NewSink(ctx context.Context, client ClientFor) *Sink {
	return &Sink{ctx: ctx, client: client, pending: map[target][]report.ASFFFinding{}, keys: map[string]string{}}
}

// Begin implements report.Sink.
func (s *Sink) Begin(h report.Header) error {
	s.tool, s.maxDays = h.Tool, h.Scan.Policy.MaxRotationDays
	s.at = h.Scan.EvaluatedAt
	if s.at.IsZero() {
		s.at = h.Scan.StartedAt
	}
	return nil
}

// Finding implements report.Sink: it buffers the finding and sends its
// account-Region's batch once it holds BatchLimit findings.
func (s *Sink) Finding(f *check.Finding) error {
	a, ok := s.conv.Convert(f, s.tool, s.at, s.maxDays)
	if !ok {
		return nil
	}
	t := target{f.AccountID, f.Region}
	s.pending[t] = append(s.pending[t], a)
	s.keys[a.Id] = f.KeyARN
	if len(s.pending[t]) >= BatchLimit {
		return s.flush(t)
	}
	return nil
}

// End implements report.Sink: it sends every remaining batch, in account
// and Region order.
func (s *Sink) End(report.Trailer) error {
	ts := make([]target, 0, len(s.pending))
	for t := range s.pending {
		ts = append(ts, t)
	}
	slices.SortFunc(ts, func(a, b target) int {
		return cmp.Or(cmp.Compare(a.account, b.account), cmp.Compare(a.region, b.region))
	})
	var errs []error
	for _, t := range ts {
		if err := s.flush(t); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Result is what the import did; complete after End.
func (s *Sink) Result() Result { return s.res }

// flush sends t's pending findings. A call that fails as a whole marks each
// of its findings failed with the call's error and does not stop the
// other batches; only a cancelled context is returned as an error.
func (s *Sink) flush(t target) error {
	batch := s.pending[t]
	delete(s.pending, t)
	if len(batch) == 0 {
		return nil
	}
	defer func() {
		for _, a := range batch {
			delete(s.keys, a.Id)
		}
	}()
	fail := func(code, msg string) {
		for _, a := range batch {
			s.res.Failures = append(s.res.Failures, Failure{ID: a.Id, AccountID: t.account, Region: t.region, KeyARN: s.keys[a.Id], Code: code, Message: msg})
		}
	}
	client, err := s.client(t.account, t.region)
	if err != nil {
		fail("ClientError", err.Error())
		return nil
	}
	s.res.Batches++
	var out batchResponse
	if err := client.RESTJSON(s.ctx, Operation, "POST", "/findings/import", batchRequest{Findings: batch}, &out); err != nil {
		if s.ctx.Err() != nil {
			fail("Canceled", err.Error())
			return fmt.Errorf("import findings into security hub of %s in %s: %w", t.account, t.region, err)
		}
		code := "Error"
		var coded interface{ ErrorCode() string }
		if errors.As(err, &coded) {
			code = coded.ErrorCode()
		}
		fail(code, err.Error())
		return nil
	}
	failed := map[string]bool{}
	for _, ff := range out.FailedFindings {
		failed[ff.Id] = true
		s.res.Failures = append(s.res.Failures, Failure{ID: ff.Id, AccountID: t.account, Region: t.region, KeyARN: s.keys[ff.Id], Code: ff.ErrorCode, Message: ff.ErrorMessage})
	}
	s.res.Imported += len(batch) - len(failed)
	return nil
}

// Describe says what an import did in one sentence per failure after a
// summary line, for the user's terminal.
func (r Result) Describe() []string {
	out := []string{fmt.Sprintf("security hub: imported %d finding(s) in %d call(s); %d failed", r.Imported, r.Batches, len(r.Failures))}
	for _, f := range r.Failures {
		out = append(out, fmt.Sprintf("security hub: finding %s (%s, %s %s) was not imported: %s: %s",
			f.ID, f.KeyARN, f.AccountID, f.Region, f.Code, strings.TrimSpace(f.Message)))
	}
	return out
}
