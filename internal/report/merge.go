package report

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/kmsrotor/kmsrotor/internal/check"
)

// NamedReader is one input of Merge: its name (a file path, for messages)
// and how to open it. Merge opens each input twice: once to check that the
// inputs belong together, before anything is written, and once to copy the
// findings.
type NamedReader struct {
	Name string
	Open func() (io.ReadCloser, error)
}

// MergeResult is what Merge found.
type MergeResult struct {
	Summary check.Summary
	// Complete is the merged report's completeness: every shard present and
	// complete, no ERROR finding and no error entry.
	Complete bool
	// Duplicates is how many findings were dropped as already seen.
	Duplicates int
	// Missing lists the shard indexes (1-based) of the run that no input
	// holds; Incomplete names the inputs that were not complete.
	Missing    []int
	Incomplete []string
}

// MixedRunsError is returned by Merge, before anything is written, when
// the inputs come from different runs.
type MixedRunsError struct{ Runs map[string][]string }

func (e *MixedRunsError) Error() string {
	var parts []string
	for _, id := range slices.Sorted(maps.Keys(e.Runs)) {
		label := "run " + id
		if id == "" {
			label = "no run ID"
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", strings.Join(e.Runs[id], ", "), label))
	}
	return "cannot merge reports of different runs: " + strings.Join(parts, " and ") + "; merge only the shards of one run"
}

// InputError is an input of Merge that cannot be opened or is not a
// kmsrotor report; Merge returns it before the sink is begun.
type InputError struct {
	Name string
	Err  error
}

func (e *InputError) Error() string { return e.Name + ": " + e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// Merge joins the reports of a run's shards (json or jsonl, mixed) into one
// report written to sink: findings deduplicated by finding_id, the summary
// recomputed by the sink, errors concatenated without repeats, and the scan
// facts combined (accounts, Regions and paths united, the earliest start,
// the latest finish, API calls summed). A shard that is missing (the run
// has Shard.Count shards and no input holds one of them) or incomplete is
// named in an error entry and makes the merged report incomplete (a shard
// incomplete only through its own ERROR findings or error entries needs no
// entry: the merged report carries those). Inputs
// from different runs (another RunID) are refused with a *MixedRunsError
// before the sink is begun, as is an input that is not a report
// (*InputError). Memory holds the set of finding IDs seen (about
// 80 bytes a finding), not the findings.
func Merge(inputs []NamedReader, sink Sink) (MergeResult, error) {
	if len(inputs) == 0 {
		return MergeResult{}, errors.New("merge: no input reports")
	}
	// Pass 1: what each input says of its run.
	type meta struct {
		name      string
		h         Header
		t         Trailer
		truncated bool
	}
	metas := make([]meta, len(inputs))
	runs := map[string][]string{}
	for i, in := range inputs {
		h, t, err := readAll(in, func(*check.Finding) error { return nil })
		m := meta{name: in.Name, h: h, t: t}
		if errors.Is(err, ErrTruncated) {
			m.truncated = true
		} else if err != nil {
			return MergeResult{}, &InputError{Name: in.Name, Err: errors.Unwrap(err)}
		}
		metas[i] = m
		if !m.truncated {
			runs[h.Scan.RunID] = append(runs[h.Scan.RunID], in.Name)
		}
	}
	if len(runs) > 1 {
		return MergeResult{}, &MixedRunsError{Runs: runs}
	}

	var res MergeResult
	var first *meta
	for i := range metas {
		if !metas[i].truncated {
			first = &metas[i]
			break
		}
	}
	var hdr Header
	var scan Scan
	if first != nil {
		hdr = first.h
		scan = first.t.Scan
	}
	scan.Shard = nil
	scan.Interrupted = ""
	scan.Calls = nil
	var (
		accounts, regions, paths = set{}, set{}, set{}
		skipped                  = map[SkippedAccount]bool{}
		interrupted              []string
		shardCount               int
		shards                   = map[int]bool{}
		errs                     []ScanError
		seenErr                  = map[ScanError]bool{}
		allComplete              = true
	)
	addErr := func(e ScanError) {
		if !seenErr[e] {
			seenErr[e] = true
			errs = append(errs, e)
		}
	}
	for _, m := range metas {
		if m.truncated {
			allComplete = false
			res.Incomplete = append(res.Incomplete, m.name)
			addErr(ScanError{Code: "shard_incomplete", Message: m.name + ": the report ends without its summary line (the run did not finish); run that shard again"})
			continue
		}
		s := m.t.Scan
		accounts.add(s.Accounts...)
		regions.add(s.Regions...)
		paths.add(s.Paths...)
		for _, a := range s.SkippedAccounts {
			skipped[a] = true
		}
		if !s.StartedAt.IsZero() && (scan.StartedAt.IsZero() || s.StartedAt.Before(scan.StartedAt)) {
			scan.StartedAt = s.StartedAt
		}
		if s.FinishedAt.After(scan.FinishedAt) {
			scan.FinishedAt = s.FinishedAt
		}
		if !s.EvaluatedAt.IsZero() && (scan.EvaluatedAt.IsZero() || s.EvaluatedAt.Before(scan.EvaluatedAt)) {
			scan.EvaluatedAt = s.EvaluatedAt
		}
		// A shard given twice (a retried machine) counts its calls once.
		if s.Shard == nil || !shards[s.Shard.Index] {
			for op, n := range s.Calls {
				if scan.Calls == nil {
					scan.Calls = map[string]int{}
				}
				scan.Calls[op] += n
			}
		}
		if s.Shard != nil {
			shardCount = max(shardCount, s.Shard.Count)
			shards[s.Shard.Index] = true
		}
		for _, e := range m.t.Errors {
			addErr(e)
		}
		// A shard whose own ERROR findings or error entries explain why it
		// is incomplete needs no entry of its own: the merged report carries
		// them. One interrupted, or incomplete for no reason it states, is
		// named.
		if !s.Complete {
			allComplete = false
		}
		if !s.Complete && (s.Interrupted != "" || (m.t.Summary.Error == 0 && len(m.t.Errors) == 0)) {
			label := m.name
			if s.Shard != nil {
				label = fmt.Sprintf("shard %d/%d (%s)", s.Shard.Index, s.Shard.Count, m.name)
			}
			res.Incomplete = append(res.Incomplete, m.name)
			why := "it is marked incomplete"
			if s.Interrupted != "" {
				why = "it was interrupted: " + s.Interrupted
				interrupted = append(interrupted, label+": "+s.Interrupted)
			}
			addErr(ScanError{Code: "shard_incomplete", Message: label + " is incomplete: " + why})
		}
	}
	for i := 1; i <= shardCount; i++ {
		if !shards[i] {
			res.Missing = append(res.Missing, i)
			addErr(ScanError{Code: "shard_missing", Message: fmt.Sprintf("shard %d/%d of run %s is missing: no input holds it; run it and merge again", i, shardCount, orDefault(scan.RunID, "(no run ID)"))})
		}
	}
	scan.Accounts, scan.Regions, scan.Paths = accounts.sorted(), regions.sorted(), paths.sorted()
	scan.SkippedAccounts = slices.SortedFunc(maps.Keys(skipped), func(a, b SkippedAccount) int {
		return strings.Compare(a.AccountID+a.State, b.AccountID+b.State)
	})
	scan.Interrupted = strings.Join(interrupted, "; ")
	if !scan.StartedAt.IsZero() && !scan.FinishedAt.IsZero() {
		scan.DurationMS = scan.FinishedAt.Sub(scan.StartedAt).Milliseconds()
	}
	hdr.Scan = scan

	// Pass 2: the findings, each ID once.
	if err := sink.Begin(hdr); err != nil {
		return res, err
	}
	seen := make(map[string]struct{})
	for _, in := range inputs {
		_, _, err := readAll(in, func(f *check.Finding) error {
			id := findingID(f)
			if _, dup := seen[id]; dup {
				res.Duplicates++
				return nil
			}
			seen[id] = struct{}{}
			res.Summary.Add(f)
			return sink.Finding(f)
		})
		if err != nil && !errors.Is(err, ErrTruncated) {
			sink.End(Trailer{Scan: scan, Errors: errs})
			return res, err
		}
	}
	res.Summary.ScanErrors = len(errs)
	res.Complete = allComplete && len(errs) == 0 && res.Summary.Error == 0
	scan.Complete = res.Complete
	if err := sink.End(Trailer{Scan: scan, Summary: res.Summary, Errors: errs}); err != nil {
		return res, err
	}
	return res, nil
}

func readAll(in NamedReader, fn func(*check.Finding) error) (Header, Trailer, error) {
	rc, err := in.Open()
	if err != nil {
		return Header{}, Trailer{}, fmt.Errorf("open %s: %w", in.Name, err)
	}
	defer rc.Close()
	h, t, err := Read(rc, fn)
	if err != nil {
		return h, t, fmt.Errorf("read %s: %w", in.Name, err)
	}
	return h, t, nil
}

type set map[string]struct{}

func (s set) add(items ...string) {
	for _, x := range items {
		s[x] = struct{}{}
	}
}

func (s set) sorted() []string {
	if len(s) == 0 {
		return nil
	}
	return slices.Sorted(maps.Keys(s))
}
