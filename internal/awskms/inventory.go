package awskms

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

// Defaults of Options.
const (
	DefaultConcurrency     = 32
	DefaultParallelRegions = 16
	DefaultRoleName        = "OrganizationAccountAccessRole"
	DefaultSessionName     = "kmsrotor"
	// bootstrapRegion serves the calls that need some Region when none is
	// configured (STS, EC2 DescribeRegions) and Organizations, whose only
	// endpoint in the aws partition is in us-east-1 (kms-api.md §9).
	bootstrapRegion = "us-east-1"
)

// Options say what to inventory and how fast.
type Options struct {
	// Config holds the base credentials, the default Region, endpoints, the
	// HTTP client and the retryer (LoadConfig or StaticConfig).
	Config aws.Config

	// Regions to scan; empty means Config.Region. AllRegions scans each
	// account's enabled Regions (EC2 DescribeRegions) instead.
	Regions    []string
	AllRegions bool

	// Org scans every ACTIVE account of the caller's organization: the
	// caller's own with the base credentials, each member through the role
	// RoleName. RoleARNs scans the accounts of those roles instead of the
	// caller's. ExternalID is passed to every AssumeRole.
	Org        bool
	RoleName   string
	RoleARNs   []string
	ExternalID string

	// IncludeDisabled reads the rotation status of Disabled keys too (the
	// check evaluates them then).
	IncludeDisabled bool

	// Concurrency is the number of keys described at once per account and
	// Region (default 32); ParallelRegions the number of account and Region
	// pairs scanned at once (default 16).
	Concurrency     int
	ParallelRegions int

	// QuotaScale multiplies AWS's default request quotas (Quotas) that pace
	// the calls per account, Region and operation: 1 for accounts with the
	// default quotas, more for raised ones; 0 turns pacing off.
	QuotaScale float64
	// PaceAlways paces every request from the first; by default pacing
	// engages per account, Region and operation on the first throttle.
	PaceAlways bool
}

// Result is the inventory: every key found, and every failure that is not
// one key's. Keys are sorted by account, Region and key ID.
type Result struct {
	// CallerAccount is the account of the base credentials.
	CallerAccount string
	Accounts      []string
	Regions       []string
	Keys          []kmskey.Key
	Errors        []ScanError
	// Calls counts the requests sent per operation, retries included.
	Calls map[string]int
	// Skipped lists organization accounts not scanned (not ACTIVE).
	Skipped []SkippedAccount
	// ServerTime is AWS's time, from the Date header of its responses; zero
	// when no response carried one.
	ServerTime time.Time
}

// target is one account to scan, with credentials that act in it.
type target struct {
	account string
	// roleARN is the role to assume; empty for the base credentials.
	roleARN string
	cfg     aws.Config
}

type scanner struct {
	o      Options
	pace   *pacer
	calls  counter
	mu     sync.Mutex
	keys   []kmskey.Key
	errs   []ScanError
	region map[string]bool
	// entered holds the accounts whose keys were listed (role assumed).
	entered map[string]bool
	// skipped lists organization accounts not scanned because not ACTIVE.
	skipped []SkippedAccount
}

// SkippedAccount is an organization account that was not scanned, and why.
type SkippedAccount struct {
	AccountID string
	State     string
}

// Inventory lists the keys of every account and Region that opts name. The
// only errors it returns are fatal: no usable credentials (*CredentialsError),
// a cancelled context, or the caller's identity that cannot be read. Failures
// in one account, Region or key are in the Result.
func Inventory(ctx context.Context, opts Options) (*Result, error) {
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.ParallelRegions <= 0 {
		opts.ParallelRegions = DefaultParallelRegions
	}
	if opts.RoleName == "" {
		opts.RoleName = DefaultRoleName
	}
	if !opts.AllRegions && len(opts.Regions) == 0 && opts.Config.Region == "" {
		return nil, errors.New("no region to scan: name regions or configure one")
	}
	opts.Regions = slices.Compact(slices.Sorted(slices.Values(opts.Regions)))
	s := &scanner{o: opts, pace: newPacer(opts.QuotaScale, opts.PaceAlways), region: map[string]bool{}, entered: map[string]bool{}}

	// Resolve the credentials first: the default chain's failure then has a
	// type of its own, not the text of the first call's error.
	if opts.Config.Credentials == nil {
		return nil, &CredentialsError{Err: errors.New("no credentials provider configured")}
	}
	if _, err := opts.Config.Credentials.Retrieve(ctx); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("scan cancelled: %w", ctx.Err())
		}
		return nil, &CredentialsError{Err: err}
	}

	id, err := s.stsClient(opts.Config, "").GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("scan cancelled: %w", ctx.Err())
		}
		if ce := credentialsError(err); ce != nil {
			return nil, ce
		}
		return nil, fmt.Errorf("get caller identity: %w", err)
	}
	caller := aws.ToString(id.Account)

	targets := s.targets(ctx, caller)
	var wg sync.WaitGroup
	regionSlots := make(chan struct{}, opts.ParallelRegions)
	accountSlots := make(chan struct{}, 8)
	for _, t := range targets {
		wg.Go(func() {
			accountSlots <- struct{}{}
			t, regions, ok := s.enter(ctx, t)
			<-accountSlots
			if !ok {
				return
			}
			s.mu.Lock()
			s.entered[t.account] = true
			s.mu.Unlock()
			var rwg sync.WaitGroup
			for _, r := range regions {
				rwg.Go(func() {
					select {
					case regionSlots <- struct{}{}:
					case <-ctx.Done():
						return
					}
					defer func() { <-regionSlots }()
					s.scanRegion(ctx, t, r)
				})
			}
			rwg.Wait()
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("scan cancelled: %w", ctx.Err())
	}

	linkReplicas(s.keys)
	res := &Result{CallerAccount: caller, Keys: s.keys, Errors: s.errs, Calls: s.calls.snapshot(),
		Skipped: s.skipped, ServerTime: s.serverTime()}
	// Accounts are those actually scanned: one whose role could not be
	// assumed is in Errors instead.
	for a := range s.entered {
		res.Accounts = append(res.Accounts, a)
	}
	slices.Sort(res.Accounts)
	res.Accounts = slices.Compact(res.Accounts)
	for r := range s.region {
		res.Regions = append(res.Regions, r)
	}
	slices.Sort(res.Regions)
	slices.SortFunc(res.Keys, func(a, b kmskey.Key) int {
		return cmp.Or(cmp.Compare(a.AccountID, b.AccountID), cmp.Compare(a.Region, b.Region), cmp.Compare(a.KeyID, b.KeyID))
	})
	slices.SortFunc(res.Errors, func(a, b ScanError) int {
		return cmp.Or(cmp.Compare(a.AccountID, b.AccountID), cmp.Compare(a.Region, b.Region),
			cmp.Compare(a.Operation, b.Operation), cmp.Compare(a.Code, b.Code))
	})
	return res, nil
}

// targets lists the accounts to scan: the caller's; the organization's
// active accounts with --org; the roles' accounts with --role-arn.
func (s *scanner) targets(ctx context.Context, caller string) []target {
	base := s.o.Config
	switch {
	case len(s.o.RoleARNs) > 0:
		var ts []target
		for _, arn := range s.o.RoleARNs {
			ts = append(ts, target{account: roleAccount(arn), roleARN: arn, cfg: base})
		}
		return ts
	case s.o.Org:
		ts := []target{{account: caller, cfg: base}}
		members, err := s.listAccounts(ctx, caller)
		if err != nil {
			code, msg := classify(err)
			s.addError(ScanError{AccountID: caller, Operation: "ListAccounts", Code: code, Message: msg})
			return ts
		}
		for _, a := range members {
			if a == caller {
				continue
			}
			arn := fmt.Sprintf("arn:%s:iam::%s:role/%s", partition(base.Region), a, s.o.RoleName)
			ts = append(ts, target{account: a, roleARN: arn, cfg: base})
		}
		return ts
	}
	return []target{{account: caller, cfg: base}}
}

// listAccounts returns the IDs of the organization's ACTIVE accounts.
func (s *scanner) listAccounts(ctx context.Context, caller string) ([]string, error) {
	client := organizations.NewFromConfig(s.o.Config, func(o *organizations.Options) {
		o.Region = bootstrapRegion
		o.APIOptions = append(o.APIOptions, attemptMiddleware(s.pace, &s.calls, caller, bootstrapRegion))
	})
	var ids []string
	p := organizations.NewListAccountsPaginator(OrganizationsAPI(client), &organizations.ListAccountsInput{MaxResults: aws.Int32(20)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, a := range page.Accounts {
			if accountActive(a) {
				ids = append(ids, aws.ToString(a.Id))
				continue
			}
			state := string(a.State)
			if state == "" {
				state = string(a.Status)
			}
			s.mu.Lock()
			s.skipped = append(s.skipped, SkippedAccount{AccountID: aws.ToString(a.Id), State: state})
			s.mu.Unlock()
		}
	}
	return ids, nil
}

// accountActive reads State, falling back to Status, which AWS retires in
// 2026 (kms-api.md §9).
func accountActive(a orgtypes.Account) bool {
	if a.State != "" {
		return a.State == orgtypes.AccountStateActive
	}
	return a.Status == orgtypes.AccountStatusActive
}

// enter assumes the target's role, if any, and resolves its Regions. It
// records an account-level error and returns false when either fails.
func (s *scanner) enter(ctx context.Context, t target) (target, []string, bool) {
	if t.roleARN != "" {
		stsClient := s.stsClient(s.o.Config, t.account)
		provider := stscreds.NewAssumeRoleProvider(stsClient, t.roleARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = DefaultSessionName
			if s.o.ExternalID != "" {
				o.ExternalID = aws.String(s.o.ExternalID)
			}
		})
		cache := aws.NewCredentialsCache(provider)
		if _, err := cache.Retrieve(ctx); err != nil {
			if ctx.Err() == nil {
				code, msg := classify(err)
				s.addError(ScanError{AccountID: t.account, Operation: "AssumeRole", Code: code,
					Message: fmt.Sprintf("assume role %s: %s", t.roleARN, msg)})
			}
			return t, nil, false
		}
		t.cfg = t.cfg.Copy()
		t.cfg.Credentials = cache
	}

	if !s.o.AllRegions {
		regions := s.o.Regions
		if len(regions) == 0 {
			regions = []string{s.o.Config.Region}
		}
		return t, regions, true
	}
	regions, err := describeRegions(ctx, newRaw(t.cfg, "ec2", "EC2", s.homeRegion(), t.account, s.pace, &s.calls))
	if err != nil {
		if ctx.Err() == nil {
			code, msg := classify(err)
			s.addError(ScanError{AccountID: t.account, Operation: "DescribeRegions", Code: code, Message: msg})
		}
		return t, nil, false
	}
	return t, regions, true
}

// homeRegion is the Region for calls that are not about one Region's keys.
func (s *scanner) homeRegion() string {
	switch {
	case s.o.Config.Region != "":
		return s.o.Config.Region
	case len(s.o.Regions) > 0:
		return s.o.Regions[0]
	}
	return bootstrapRegion
}

func (s *scanner) stsClient(cfg aws.Config, account string) *sts.Client {
	region := s.homeRegion()
	return sts.NewFromConfig(cfg, func(o *sts.Options) {
		o.Region = region
		o.APIOptions = append(o.APIOptions, attemptMiddleware(s.pace, &s.calls, account, region))
	})
}

func (s *scanner) kmsClient(t target, region string) *kms.Client {
	return kms.NewFromConfig(t.cfg, func(o *kms.Options) {
		o.Region = region
		o.APIOptions = append(o.APIOptions, attemptMiddleware(s.pace, &s.calls, t.account, region))
	})
}

func (s *scanner) addError(e ScanError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs = append(s.errs, e)
}

func (s *scanner) addKeys(region string, ks []kmskey.Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.region[region] = true
	s.keys = append(s.keys, ks...)
}

// roleAccount is the account ID in a role ARN (arn:aws:iam::123456789012:role/x).
func roleAccount(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[4]
}

// partition guesses the ARN partition from a Region name.
func partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

// serverTime is the latest time AWS reported in a Date header.
func (s *scanner) serverTime() time.Time { return s.calls.latestDate() }

// linkReplicas gives each multi-Region replica the state of its primary when
// the primary was scanned too: a replica is classified as its primary.
func linkReplicas(keys []kmskey.Key) {
	state := make(map[string]string)
	for _, k := range keys {
		if k.MultiRegionType == kmskey.MultiRegionPrimary && k.Err == nil {
			state[k.ARN] = k.State
		}
	}
	for i := range keys {
		if keys[i].IsReplica() {
			keys[i].PrimaryState = state[keys[i].PrimaryARN]
		}
	}
}
