package awskms

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

// firstCallAttempts bounds the attempts of a run's first call.
const firstCallAttempts = 3

// Session is one run's access to AWS: the base credentials (one
// configuration, or one per profile), the accounts they select, the
// credentials that act in each (roles assumed once and cached), and the
// paced, counted clients. Scan and fix share one Session.
type Session struct {
	o       Options
	clients *Clients
	bases   []base

	mu      sync.Mutex
	entered map[string]*enterOnce // account ID → its entry, made once

	// inflight bounds the keys read at once across every Region.
	inflight chan struct{}
}

// enterOnce is one account's entry: its role assumed once per run.
type enterOnce struct {
	once sync.Once
	a    Account
	err  error
}

// base is one set of starting credentials: the default configuration or a
// profile's, and the account and partition they belong to.
type base struct {
	profile   string
	cfg       aws.Config
	account   string
	partition string
}

// Account is one account to act in, with the credentials that act there.
type Account struct {
	ID        string
	Partition string
	// RoleARN is the role assumed to act in the account; empty when the
	// base credentials belong to it.
	RoleARN string
	// Profile is the shared-config profile of the base credentials, when
	// --profiles named several.
	Profile string
	// Name is the account's name in the organization, when known.
	Name string

	cfg aws.Config
}

// Shard selects part of a run's accounts: Index in 1..Count. The zero Shard
// selects every account.
type Shard struct{ Index, Count int }

// Selects reports whether the shard scans account: a stable hash of its ID,
// so every machine running the same shards agrees without talking.
func (s Shard) Selects(account string) bool {
	if s.Count <= 1 {
		return true
	}
	h := fnv.New32a()
	h.Write([]byte(account))
	return int(h.Sum32()%uint32(s.Count)) == s.Index-1
}

// ProfileError is a --profiles profile whose configuration cannot be loaded.
type ProfileError struct {
	Profile string
	Err     error
}

func (e *ProfileError) Error() string { return fmt.Sprintf("profile %s: %v", e.Profile, e.Err) }
func (e *ProfileError) Unwrap() error { return e.Err }

// SelectionError is a selection that cannot be made: an OU the organization
// does not have, an account list that names nothing. It is the user's input
// to correct, found before any key is read.
type SelectionError struct{ Msg string }

func (e *SelectionError) Error() string { return e.Msg }

// NewSession checks the base credentials (each profile's, with Profiles) and
// names their accounts. Its only errors are fatal: no usable credentials
// (*CredentialsError), a cancelled context, or the caller's identity that
// cannot be read.
func NewSession(ctx context.Context, opts Options) (*Session, error) {
	if opts.RoleName == "" {
		opts.RoleName = DefaultRoleName
	}
	if opts.RoleSessionName == "" {
		opts.RoleSessionName = DefaultSessionName
	}
	s := &Session{o: opts, clients: opts.Clients}
	if s.clients == nil {
		s.clients = NewClients(opts.QuotaScale, opts.PaceAlways)
	}
	cfgs := []base{{cfg: opts.Config}}
	if len(opts.Profiles) > 0 {
		if opts.LoadProfile == nil {
			return nil, errors.New("profiles given but no way to load them")
		}
		cfgs = cfgs[:0]
		for _, p := range opts.Profiles {
			cfg, err := opts.LoadProfile(ctx, p)
			if err != nil {
				return nil, &ProfileError{Profile: p, Err: err}
			}
			cfgs = append(cfgs, base{profile: p, cfg: cfg})
		}
	}
	for _, b := range cfgs {
		if err := s.identify(ctx, &b); err != nil {
			var ce *CredentialsError
			if errors.As(err, &ce) {
				ce.Profile = b.profile
			}
			return nil, err
		}
		s.bases = append(s.bases, b)
	}
	return s, nil
}

// identify resolves a base's credentials and asks STS whose they are.
func (s *Session) identify(ctx context.Context, b *base) error {
	if b.cfg.Credentials == nil {
		return &CredentialsError{Err: errors.New("no credentials provider configured")}
	}
	if _, err := b.cfg.Credentials.Retrieve(ctx); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("scan cancelled: %w", ctx.Err())
		}
		return &CredentialsError{Err: err}
	}
	region := s.homeRegion(b.cfg, kmskey.PartitionOf(b.cfg.Region))
	// The first call of a run: an endpoint that does not answer fails in
	// seconds, not after the attempts a scan's calls get.
	id, err := s.sts(b.cfg, "", region).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}, func(o *sts.Options) {
		o.Retryer = retry.AddWithMaxAttempts(o.Retryer, min(o.Retryer.MaxAttempts(), firstCallAttempts))
	})
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("scan cancelled: %w", ctx.Err())
		}
		if ce := credentialsError(err); ce != nil {
			return ce
		}
		return fmt.Errorf("get caller identity: %w", err)
	}
	b.account = aws.ToString(id.Account)
	b.partition = kmskey.PartitionOfARN(aws.ToString(id.Arn))
	if b.partition == "" {
		b.partition = kmskey.PartitionOf(b.cfg.Region)
	}
	return nil
}

// Clients are the session's paced, counted clients.
func (s *Session) Clients() *Clients { return s.clients }

// Caller is the account of the (first) base credentials.
func (s *Session) Caller() string { return s.bases[0].account }

// Accounts resolves the selection to the accounts to act in, in a stable
// order, before any of them is entered: the base credentials' own accounts;
// with Org every ACTIVE account of the organization, with OUs those under
// the OUs (recursively); with Accounts the listed ones; less
// ExcludeAccounts and the accounts of other shards. Organization accounts
// that are not ACTIVE go to skipped. An organization that cannot be listed
// is a ScanError (the base's own account is still scanned); an OU that does
// not exist is a *SelectionError.
func (s *Session) Accounts(ctx context.Context, scanErr func(ScanError), skipped func(SkippedAccount)) ([]Account, error) {
	var out []Account
	seen := map[string]bool{}
	add := func(a Account) {
		if seen[a.ID] || slices.Contains(s.o.ExcludeAccounts, a.ID) || !s.o.Shard.Selects(a.ID) {
			seen[a.ID] = true
			return
		}
		seen[a.ID] = true
		out = append(out, a)
	}
	for _, b := range s.bases {
		self := Account{ID: b.account, Partition: b.partition, Profile: b.profile, cfg: b.cfg}
		switch {
		case len(s.o.Accounts) > 0 || len(s.o.RoleARNs) > 0:
			for _, ref := range append(slices.Clone(s.o.Accounts), s.o.RoleARNs...) {
				a, err := s.account(b, ref)
				if err != nil {
					return nil, err
				}
				add(a)
			}
		case len(s.o.OUs) > 0:
			ids, err := s.listOUs(ctx, b, skipped)
			if err != nil {
				var sel *SelectionError
				if errors.As(err, &sel) || ctx.Err() != nil {
					return nil, err
				}
				code, msg := classify(err)
				scanErr(ScanError{AccountID: b.account, Operation: operationOf(err, "ListAccountsForParent"), Code: code, Message: msg})
				continue
			}
			for _, m := range ids {
				add(s.member(b, m))
			}
		case s.o.Org:
			add(self)
			members, err := s.listAccounts(ctx, b, skipped)
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				code, msg := classify(err)
				scanErr(ScanError{AccountID: b.account, Operation: "ListAccounts", Code: code, Message: msg})
				continue
			}
			for _, m := range members {
				add(s.member(b, m))
			}
		default:
			add(self)
		}
	}
	return out, nil
}

// member is an organization account entered through RoleName, or with the
// base credentials when it is their own.
func (s *Session) member(b base, m orgAccount) Account {
	if m.id == b.account {
		return Account{ID: b.account, Partition: b.partition, Profile: b.profile, Name: m.name, cfg: b.cfg}
	}
	return Account{ID: m.id, Partition: b.partition, Profile: b.profile, Name: m.name, cfg: b.cfg,
		RoleARN: fmt.Sprintf("arn:%s:iam::%s:role/%s", b.partition, m.id, s.o.RoleName)}
}

// account turns one --accounts entry (an account ID or a role ARN) into an
// Account.
func (s *Session) account(b base, ref string) (Account, error) {
	if strings.HasPrefix(ref, "arn:") {
		id := roleAccount(ref)
		if id == "" {
			return Account{}, &SelectionError{Msg: fmt.Sprintf("%q is not a role ARN (like arn:aws:iam::123456789012:role/Audit)", ref)}
		}
		return Account{ID: id, Partition: kmskey.PartitionOfARN(ref), RoleARN: ref, Profile: b.profile, cfg: b.cfg}, nil
	}
	return s.member(b, orgAccount{id: ref}), nil
}

type orgAccount struct{ id, name string }

func (s *Session) organizations(b base) *organizations.Client {
	region := kmskey.HomeRegion(b.partition)
	return organizations.NewFromConfig(b.cfg, func(o *organizations.Options) {
		o.Region = region
		o.APIOptions = append(o.APIOptions, attemptMiddleware(s.clients.pace, s.clients.calls, b.account, region))
	})
}

// listAccounts returns the organization's ACTIVE accounts.
func (s *Session) listAccounts(ctx context.Context, b base, skipped func(SkippedAccount)) ([]orgAccount, error) {
	var out []orgAccount
	p := organizations.NewListAccountsPaginator(OrganizationsAPI(s.organizations(b)), &organizations.ListAccountsInput{MaxResults: aws.Int32(20)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		out = appendActive(out, page.Accounts, skipped)
	}
	return out, nil
}

// listOUs returns the ACTIVE accounts under the OUs, recursively.
func (s *Session) listOUs(ctx context.Context, b base, skipped func(SkippedAccount)) ([]orgAccount, error) {
	client := OrganizationsAPI(s.organizations(b))
	var out []orgAccount
	queue := slices.Clone(s.o.OUs)
	visited := map[string]bool{}
	for len(queue) > 0 {
		parent := queue[0]
		queue = queue[1:]
		if visited[parent] {
			continue
		}
		visited[parent] = true
		pa := organizations.NewListAccountsForParentPaginator(client, &organizations.ListAccountsForParentInput{ParentId: aws.String(parent), MaxResults: aws.Int32(20)})
		for pa.HasMorePages() {
			page, err := pa.NextPage(ctx)
			if err != nil {
				return nil, ouError(parent, err)
			}
			out = appendActive(out, page.Accounts, skipped)
		}
		pc := organizations.NewListChildrenPaginator(client, &organizations.ListChildrenInput{ParentId: aws.String(parent),
			ChildType: orgtypes.ChildTypeOrganizationalUnit, MaxResults: aws.Int32(20)})
		for pc.HasMorePages() {
			page, err := pc.NextPage(ctx)
			if err != nil {
				return nil, ouError(parent, &opError{op: "ListChildren", err: err})
			}
			for _, c := range page.Children {
				queue = append(queue, aws.ToString(c.Id))
			}
		}
	}
	return out, nil
}

// ouError turns "this OU does not exist" into a SelectionError.
func ouError(parent string, err error) error {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && (apiErr.ErrorCode() == "ParentNotFoundException" || apiErr.ErrorCode() == "ChildNotFoundException") {
		return &SelectionError{Msg: fmt.Sprintf("organizational unit %s does not exist in the organization: check the ID (aws organizations list-organizational-units-for-parent)", parent)}
	}
	return err
}

// opError names the operation of an error for its ScanError.
type opError struct {
	op  string
	err error
}

func (e *opError) Error() string { return e.op + ": " + e.err.Error() }
func (e *opError) Unwrap() error { return e.err }

func operationOf(err error, def string) string {
	var oe *opError
	if errors.As(err, &oe) {
		return oe.op
	}
	return def
}

func appendActive(out []orgAccount, accounts []orgtypes.Account, skipped func(SkippedAccount)) []orgAccount {
	for _, a := range accounts {
		if accountActive(a) {
			out = append(out, orgAccount{id: aws.ToString(a.Id), name: aws.ToString(a.Name)})
			continue
		}
		state := string(a.State)
		if state == "" {
			state = string(a.Status)
		}
		if skipped != nil {
			skipped(SkippedAccount{AccountID: aws.ToString(a.Id), State: state})
		}
	}
	return out
}

// accountActive reads State, falling back to Status, which AWS retires in
// 2026 (kms-api.md §9).
func accountActive(a orgtypes.Account) bool {
	if a.State != "" {
		return a.State == orgtypes.AccountStateActive
	}
	return a.Status == orgtypes.AccountStatusActive
}

// Enter returns the account with credentials that act in it: its role is
// assumed, once per run (the credentials are cached and refreshed by the
// SDK). The error is the AssumeRole failure.
func (s *Session) Enter(ctx context.Context, a Account) (Account, error) {
	if a.RoleARN == "" {
		return a, nil
	}
	s.mu.Lock()
	if s.entered == nil {
		s.entered = map[string]*enterOnce{}
	}
	e := s.entered[a.ID]
	if e == nil {
		e = &enterOnce{}
		s.entered[a.ID] = e
	}
	s.mu.Unlock()
	e.once.Do(func() { e.a, e.err = s.assume(ctx, a) })
	return e.a, e.err
}

// EnterID enters an account named only by its ID (a finding's, for fix):
// with the base credentials when they are its own, else through RoleName.
func (s *Session) EnterID(ctx context.Context, id string) (Account, error) {
	for _, b := range s.bases {
		if b.account == id {
			return s.Enter(ctx, s.member(b, orgAccount{id: id}))
		}
	}
	return s.Enter(ctx, s.member(s.bases[0], orgAccount{id: id}))
}

func (s *Session) assume(ctx context.Context, a Account) (Account, error) {
	stsClient := s.sts(a.cfg, a.ID, s.homeRegion(a.cfg, a.Partition))
	provider := stscreds.NewAssumeRoleProvider(stsClient, a.RoleARN, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = s.o.RoleSessionName
		if s.o.ExternalID != "" {
			o.ExternalID = aws.String(s.o.ExternalID)
		}
	})
	cache := aws.NewCredentialsCache(provider)
	if _, err := cache.Retrieve(ctx); err != nil {
		return a, err
	}
	a.cfg = a.cfg.Copy()
	a.cfg.Credentials = cache
	return a, nil
}

// Regions are the Regions to scan in an entered account: those asked for
// that are in its partition, or with all, the account's enabled Regions
// (DescribeRegions).
func (s *Session) Regions(ctx context.Context, a Account, requested []string, all bool) ([]string, error) {
	if !all {
		var in []string
		for _, r := range requested {
			if kmskey.PartitionOf(r) == a.Partition {
				in = append(in, r)
			}
		}
		if len(in) == 0 {
			return nil, &APIError{Code: "NoRegionInPartition",
				Message: fmt.Sprintf("none of the Regions %s is in the account's partition %s: name a Region of %s", strings.Join(requested, ", "), a.Partition, a.Partition)}
		}
		return in, nil
	}
	region := s.homeRegion(a.cfg, a.Partition)
	return describeRegions(ctx, s.clients.Raw(a.cfg, "ec2", "EC2", a.ID, region))
}

// WithCredentials is the account acting with other credentials.
func (a Account) WithCredentials(p aws.CredentialsProvider) Account {
	a.cfg = a.cfg.Copy()
	a.cfg.Credentials = p
	return a
}

// KMS is a paced KMS client acting in the entered account and region.
func (s *Session) KMS(a Account, region string) *kms.Client {
	return s.clients.KMS(a.cfg, a.ID, region)
}

// Raw is a paced signed client of another service acting in the entered
// account and region.
func (s *Session) Raw(a Account, service, sdkID, region string) *Raw {
	return s.clients.Raw(a.cfg, service, sdkID, a.ID, region)
}

func (s *Session) sts(cfg aws.Config, account, region string) *sts.Client {
	return sts.NewFromConfig(cfg, func(o *sts.Options) {
		o.Region = region
		o.APIOptions = append(o.APIOptions, attemptMiddleware(s.clients.pace, s.clients.calls, account, region))
	})
}

// homeRegion is the Region for calls that are not about one Region's keys:
// the configured one (or the first asked for) when in the partition, else
// the partition's home Region.
func (s *Session) homeRegion(cfg aws.Config, partition string) string {
	for _, r := range append([]string{cfg.Region}, s.o.Regions...) {
		if r != "" && kmskey.PartitionOf(r) == partition {
			return r
		}
	}
	return kmskey.HomeRegion(partition)
}

// roleAccount is the account ID in a role ARN (arn:aws:iam::123456789012:role/x).
func roleAccount(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[4]
}
