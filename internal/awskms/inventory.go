package awskms

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

// Defaults of Options.
const (
	DefaultConcurrency     = 128
	DefaultParallelRegions = 32
	DefaultMaxInFlight     = 256
	DefaultRoleName        = "OrganizationAccountAccessRole"
	DefaultSessionName     = "kmsrotor"
	// parallelAccounts is how many accounts are entered (role assumed,
	// Regions listed) at once.
	parallelAccounts = 8
)

// Options say what to inventory and how fast.
type Options struct {
	// Config holds the base credentials, the default Region, endpoints, the
	// HTTP client and the retryer (LoadConfig or StaticConfig).
	Config aws.Config
	// Profiles, when set, replace Config by one base configuration per
	// shared-config profile, loaded with LoadProfile.
	Profiles    []string
	LoadProfile func(ctx context.Context, profile string) (aws.Config, error)

	// Regions to scan; empty means Config.Region. AllRegions scans each
	// account's enabled Regions (EC2 DescribeRegions) instead.
	Regions    []string
	AllRegions bool

	// Org scans every ACTIVE account of the caller's organization: the
	// caller's own with the base credentials, each member through the role
	// RoleName. OUs scans the ACTIVE accounts under those organizational
	// units (recursively) instead. Accounts scans the listed accounts (IDs,
	// entered through RoleName, or role ARNs, assumed); RoleARNs is the
	// same as role ARNs in Accounts. ExcludeAccounts are never scanned.
	// ExternalID is passed to every AssumeRole, with RoleSessionName
	// (default "kmsrotor").
	Org             bool
	OUs             []string
	Accounts        []string
	RoleARNs        []string
	ExcludeAccounts []string
	RoleName        string
	RoleSessionName string
	ExternalID      string
	// Shard scans only the accounts of one shard of the run.
	Shard Shard

	// IncludeDisabled reads the rotation status of Disabled keys too (the
	// check evaluates them then).
	IncludeDisabled bool
	// RotationHistory reads ListKeyRotations for every key whose rotation
	// status is read, for its last rotation's date and type.
	RotationHistory bool
	// Tags reads every customer managed key's tags (ListResourceTags), for
	// a mutelist that matches on them.
	Tags bool

	// Concurrency is the number of keys read at once per account and Region
	// (default 128); ParallelRegions the number of account and Region pairs
	// scanned at once (default 32); MaxInFlight the number of keys read at
	// once in all (default 256). A large Region gets many workers, and many
	// small ones share the same budget: the client's CPU, not idle workers,
	// bounds a scan.
	Concurrency     int
	ParallelRegions int
	MaxInFlight     int

	// QuotaScale multiplies AWS's default request quotas (Quotas) that pace
	// the calls per account, Region and operation: 1 for accounts with the
	// default quotas, more for raised ones; 0 turns pacing off.
	QuotaScale float64
	// PaceAlways paces every request from the first; by default pacing
	// engages per account, Region and operation on the first throttle.
	PaceAlways bool
	// Clients, when set, are the run's clients (shared with other commands
	// of the run); QuotaScale and PaceAlways are theirs then.
	Clients *Clients

	// Progress, when set, is kept up to date as the scan goes.
	Progress *Progress
}

// Progress counts a scan's work as it goes; its fields are read with Load.
type Progress struct {
	Accounts, AccountsDone atomic.Int64
	Regions, RegionsDone   atomic.Int64
	Keys                   atomic.Int64
}

// Events receive what a scan finds, as it finds it. Key, Error and Skipped
// are never called concurrently, so they may write to one sink.
type Events struct {
	// Key receives each key once its facts are read (or failed to be read).
	// A multi-Region replica comes after its primary when both are scanned,
	// with the primary's state.
	Key func(kmskey.Key)
	// Error receives each failure that is not one key's.
	Error func(ScanError)
	// Skipped receives each organization account not scanned (not ACTIVE).
	Skipped func(SkippedAccount)
}

// Result is what is known once a scan ends.
type Result struct {
	// CallerAccount is the account of the base credentials.
	CallerAccount string
	// Accounts and Regions are those actually scanned, sorted: an account
	// whose role could not be assumed is an error instead.
	Accounts []string
	Regions  []string
	// Calls counts the requests sent per operation, retries included.
	Calls map[string]int
	// ServerTime is AWS's time, from the Date header of its responses; zero
	// when no response carried one.
	ServerTime time.Time
	// Interrupted is true when the context ended the scan before its end:
	// the keys sent so far are all that was read.
	Interrupted bool
}

// Scan reads every key of the accounts and Regions opts name and sends each
// to ev as soon as it is read, so that memory is bounded by the concurrency,
// not by the estate. Its error is fatal: no usable credentials
// (*CredentialsError), a selection that cannot be made (*SelectionError),
// or the caller's identity that cannot be read; when the context is
// cancelled the Result says Interrupted and the error is nil. Failures in
// one account, Region or key go to ev.
func Scan(ctx context.Context, opts Options, ev Events) (*Result, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	sess, err := NewSession(ctx, opts)
	if err != nil {
		return nil, err
	}
	return sess.Scan(ctx, ev)
}

func (o Options) withDefaults() (Options, error) {
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.ParallelRegions <= 0 {
		o.ParallelRegions = DefaultParallelRegions
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	if !o.AllRegions && len(o.Regions) == 0 && o.Config.Region == "" && len(o.Profiles) == 0 {
		return o, errors.New("no region to scan: name regions or configure one")
	}
	o.Regions = slices.Compact(slices.Sorted(slices.Values(o.Regions)))
	if o.Progress == nil {
		o.Progress = &Progress{}
	}
	return o, nil
}

// Scan runs the session's scan (see the package-level Scan).
func (s *Session) Scan(ctx context.Context, ev Events) (*Result, error) {
	o, err := s.o.withDefaults()
	if err != nil {
		return nil, err
	}
	s.o = o
	s.inflight = make(chan struct{}, o.MaxInFlight)
	out := newEmitter(ev)
	accounts, err := s.Accounts(ctx, out.error, out.skipped)
	if err != nil {
		if ctx.Err() != nil {
			return s.result(out, true), nil
		}
		return nil, err
	}
	o.Progress.Accounts.Store(int64(len(accounts)))

	var wg sync.WaitGroup
	regionSlots := make(chan struct{}, o.ParallelRegions)
	accountSlots := make(chan struct{}, parallelAccounts)
	for _, a := range accounts {
		wg.Go(func() {
			defer o.Progress.AccountsDone.Add(1)
			select {
			case accountSlots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			a, regions, ok := s.enter(ctx, a, out)
			<-accountSlots
			if !ok {
				return
			}
			out.entered(a.ID)
			o.Progress.Regions.Add(int64(len(regions)))
			var rwg sync.WaitGroup
			for _, r := range regions {
				rwg.Go(func() {
					defer o.Progress.RegionsDone.Add(1)
					select {
					case regionSlots <- struct{}{}:
					case <-ctx.Done():
						return
					}
					defer func() { <-regionSlots }()
					s.scanRegion(ctx, a, r, out)
				})
			}
			rwg.Wait()
		})
	}
	wg.Wait()
	return s.result(out, ctx.Err() != nil), nil
}

func (s *Session) result(out *emitter, interrupted bool) *Result {
	out.flush()
	res := &Result{CallerAccount: s.Caller(), Calls: s.clients.Calls(), ServerTime: s.clients.ServerTime(), Interrupted: interrupted}
	res.Accounts, res.Regions = out.scanned()
	return res
}

// enter assumes the account's role, if any, and resolves its Regions. It
// sends an account-level error and returns false when either fails.
func (s *Session) enter(ctx context.Context, a Account, out *emitter) (Account, []string, bool) {
	a, err := s.Enter(ctx, a)
	if err != nil {
		if ctx.Err() == nil {
			code, msg := classify(err)
			out.error(ScanError{AccountID: a.ID, Operation: "AssumeRole", Code: code,
				Message: fmt.Sprintf("assume role %s: %s", a.RoleARN, msg)})
		}
		return a, nil, false
	}
	regions := s.o.Regions
	if len(regions) == 0 && !s.o.AllRegions {
		regions = []string{a.cfg.Region}
	}
	regions, err = s.Regions(ctx, a, regions, s.o.AllRegions)
	if err != nil {
		if ctx.Err() == nil {
			code, msg := classify(err)
			op := "DescribeRegions"
			if !s.o.AllRegions {
				op = ""
			}
			out.error(ScanError{AccountID: a.ID, Operation: op, Code: code, Message: msg})
		}
		return a, nil, false
	}
	return a, regions, true
}

// emitter serialises what the scan's goroutines find into Events, and holds
// the one index the scan needs across keys: each primary's state, so that a
// replica is sent after its primary with that state. Replicas whose primary
// has not been read yet wait in pending; nothing else is kept.
type emitter struct {
	mu      sync.Mutex
	ev      Events
	primary map[string]string // primary ARN → its KeyState
	pending map[string][]kmskey.Key
	account map[string]bool
	region  map[string]bool
}

func newEmitter(ev Events) *emitter {
	return &emitter{ev: ev, primary: map[string]string{}, pending: map[string][]kmskey.Key{},
		account: map[string]bool{}, region: map[string]bool{}}
}

func (e *emitter) key(k kmskey.Key) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case k.IsReplica() && k.PrimaryARN != "":
		state, seen := e.primary[k.PrimaryARN]
		if !seen {
			e.pending[k.PrimaryARN] = append(e.pending[k.PrimaryARN], k)
			return
		}
		k.PrimaryState = state
		e.send(k)
	case k.MultiRegionType == kmskey.MultiRegionPrimary:
		// A primary that could not be described has no state to give.
		state := ""
		if k.Err == nil {
			state = k.State
		}
		e.primary[k.ARN] = state
		e.send(k)
		for _, r := range e.pending[k.ARN] {
			r.PrimaryState = state
			e.send(r)
		}
		delete(e.pending, k.ARN)
	default:
		e.send(k)
	}
}

func (e *emitter) send(k kmskey.Key) {
	if e.ev.Key != nil {
		e.ev.Key(k)
	}
}

// flush sends the replicas whose primary was not scanned, in a stable order.
func (e *emitter) flush() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, arn := range slices.Sorted(mapKeys(e.pending)) {
		for _, r := range e.pending[arn] {
			e.send(r)
		}
	}
	clear(e.pending)
}

func (e *emitter) error(se ScanError) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ev.Error != nil {
		e.ev.Error(se)
	}
}

func (e *emitter) skipped(sa SkippedAccount) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ev.Skipped != nil {
		e.ev.Skipped(sa)
	}
}

func (e *emitter) entered(account string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.account[account] = true
}

func (e *emitter) regionScanned(region string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.region[region] = true
}

func (e *emitter) scanned() (accounts, regions []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Sorted(mapKeys(e.account)), slices.Sorted(mapKeys(e.region))
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// Inventory is Scan with every key, error and skipped account collected, and
// keys sorted by account, Region and key ID: for callers that need the
// whole estate at once (tests, small estates). A cancelled context is an
// error here.
func Inventory(ctx context.Context, opts Options) (*Collected, error) {
	c := &Collected{}
	res, err := Scan(ctx, opts, Events{
		Key:     func(k kmskey.Key) { c.Keys = append(c.Keys, k) },
		Error:   func(e ScanError) { c.Errors = append(c.Errors, e) },
		Skipped: func(a SkippedAccount) { c.Skipped = append(c.Skipped, a) },
	})
	if err != nil {
		return nil, err
	}
	if res.Interrupted {
		return nil, fmt.Errorf("scan cancelled: %w", ctx.Err())
	}
	c.Result = *res
	slices.SortFunc(c.Keys, func(a, b kmskey.Key) int {
		return cmp.Or(cmp.Compare(a.AccountID, b.AccountID), cmp.Compare(a.Region, b.Region), cmp.Compare(a.KeyID, b.KeyID))
	})
	slices.SortFunc(c.Errors, func(a, b ScanError) int {
		return cmp.Or(cmp.Compare(a.AccountID, b.AccountID), cmp.Compare(a.Region, b.Region),
			cmp.Compare(a.Operation, b.Operation), cmp.Compare(a.Code, b.Code))
	})
	return c, nil
}

// Collected is an inventory held whole.
type Collected struct {
	Result
	Keys    []kmskey.Key
	Errors  []ScanError
	Skipped []SkippedAccount
}
