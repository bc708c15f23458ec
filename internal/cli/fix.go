package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/spf13/cobra"

	"github.com/kmsrotor/kmsrotor/internal/awskms"
	"github.com/kmsrotor/kmsrotor/internal/check"
	"github.com/kmsrotor/kmsrotor/internal/kmsemu"
	"github.com/kmsrotor/kmsrotor/internal/kmskey"
	"github.com/kmsrotor/kmsrotor/internal/remediate"
)

// fixOptions are the flags of kmsrotor fix, then what RunE derives from them.
type fixOptions struct {
	From                string
	Demo                bool
	Profile             string
	Regions             []string
	RegionsMode         string
	Org                 bool
	RoleName            string
	PeriodDays          int
	MaxRotationDays     int
	Apply               bool
	Yes                 bool
	Journal             string
	IncludeStackManaged bool
	ManagedBy           []string
	Tags                []string
	ExcludeTags         []string
	Output              string
	QuotaScale          float64

	// Set by validate.
	managedBy, tags, excludeTags []remediate.Tag

	env          *Env
	client       awskms.ClientOptions
	demoEmulator func() kmsemu.Options
}

func newFixCmd(env *Env) *cobra.Command {
	return fixCommand(&fixOptions{env: env, demoEmulator: func() kmsemu.Options {
		return kmsemu.Options{Estate: kmsemu.DemoEstate()}
	}})
}

func fixCommand(o *fixOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "fix",
		Short: "Enable key rotation where it is off or too slow: planned, drift-safe, resumable, verified",
		Long: `Fix plans the changes a scan calls for and, with --apply, makes them:
EnableKeyRotation with --rotation-period-days on keys that do not rotate,
and a period change on keys that rotate less often than --max-rotation-days.
A replica is fixed on its primary, once, in the primary's Region.

Keys that a CloudFormation stack owns (asked of CloudFormation) or that carry
a --managed-by-tag are left alone: the plan names the stack, the logical ID
and the template change, since changing the key here would be drift that the
next stack update reverts. Ineligible, disabled and muted keys are left alone
with the reason and what to do instead.

Without --apply, fix only prints the plan and changes nothing. With --apply
it asks for confirmation on a terminal (--yes otherwise), calls AWS at the
EnableKeyRotation quota (15/s per account and Region), journals each action
(fsynced, in --journal or the user's state directory) so that a run killed
midway resumes where it stopped, and reads every changed key back: VERIFIED
or FAILED with the reason.

The keys come from a scan report (--from FILE: kmsrotor scan --output json)
or a scan made now with the same flags as kmsrotor scan.

Exit codes:
  0  every changed key VERIFIED (or, without --apply, the plan printed)
  1  fatal error
  2  bad input, before any API call
  3  at least one key FAILED`,
		Example: `  kmsrotor fix --demo
  kmsrotor fix --from kms.json
  kmsrotor fix --from kms.json --apply --rotation-period-days 180
  kmsrotor fix --org --regions all --managed-by-tag managed-by=terraform --apply --yes`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(cmd); err != nil {
				return err
			}
			return runFix(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.From, "from", "", "plan from this scan report (json or jsonl) instead of scanning")
	f.BoolVar(&o.Demo, "demo", false, "fix the built-in demo organization on a local emulator (no AWS account needed)")
	f.StringVar(&o.Profile, "profile", "", "shared config profile to use")
	f.StringArrayVar(&o.Regions, "region", nil, "Region to scan (repeatable; default the configured Region)")
	f.StringVar(&o.RegionsMode, "regions", "", `"all": every Region enabled for each account`)
	f.BoolVar(&o.Org, "org", false, "every active account of the organization")
	f.StringVar(&o.RoleName, "role-name", awskms.DefaultRoleName, "role to assume in each member account")
	f.IntVar(&o.PeriodDays, "rotation-period-days", kmskey.DefaultRotationPeriodDays, "rotation period to set, in days (90–2560)")
	f.IntVar(&o.MaxRotationDays, "max-rotation-days", 0, "change the period of rotating keys above this many days (default: --rotation-period-days)")
	f.BoolVar(&o.Apply, "apply", false, "make the changes (default: print the plan only)")
	f.BoolVar(&o.Yes, "yes", false, "apply without asking (required without a terminal)")
	f.StringVar(&o.Journal, "journal", "", "journal file (default: $XDG_STATE_HOME/kmsrotor/fix-ESTATE.jsonl)")
	f.BoolVar(&o.IncludeStackManaged, "include-stack-managed", false, "change keys that CloudFormation stacks or --managed-by-tag own too")
	f.StringArrayVar(&o.ManagedBy, "managed-by-tag", nil, "KEY=VALUE tag of keys another tool manages, left alone like stack-owned keys (repeatable)")
	f.StringArrayVar(&o.Tags, "tag", nil, "fix only keys with this KEY=VALUE tag (repeatable: any of them)")
	f.StringArrayVar(&o.ExcludeTags, "exclude-tag", nil, "leave keys with this KEY=VALUE tag alone (repeatable)")
	f.StringVarP(&o.Output, "output", "o", "table", "output format: table or json")
	f.Float64Var(&o.QuotaScale, "quota-scale", 1, "multiply AWS's default request quotas (raise it for accounts with raised quotas)")
	return cmd
}

// validate checks the flags before any API call.
func (o *fixOptions) validate(cmd *cobra.Command) error {
	if o.PeriodDays < 90 || o.PeriodDays > 2560 {
		return usagef("--rotation-period-days %d is outside the range AWS allows (90 to 2560)", o.PeriodDays)
	}
	if o.MaxRotationDays != 0 {
		if o.MaxRotationDays < 90 || o.MaxRotationDays > 2560 {
			return usagef("--max-rotation-days %d is outside the range AWS allows (90 to 2560)", o.MaxRotationDays)
		}
		if o.PeriodDays > o.MaxRotationDays {
			return usagef("--rotation-period-days %d is above --max-rotation-days %d: the keys fixed would still rotate too slowly", o.PeriodDays, o.MaxRotationDays)
		}
	}
	if o.Output != "table" && o.Output != "json" {
		return usagef("unknown output format %q: use table or json", o.Output)
	}
	sources := 0
	for _, b := range []bool{o.From != "", o.Demo} {
		if b {
			sources++
		}
	}
	if sources > 1 {
		return usagef("--from and --demo cannot be used together")
	}
	if (o.From != "" || o.Demo) && (len(o.Regions) > 0 || o.RegionsMode != "" || o.Org) {
		return usagef("--region, --regions and --org select what to scan; with --from or --demo there is no scan: drop them")
	}
	if o.Demo && o.Profile != "" {
		return usagef("--demo uses no profile: drop --profile or --demo")
	}
	for _, r := range o.Regions {
		if !regionPattern.MatchString(r) || !kmskey.KnownRegion(r) {
			return usagef("%q is not an AWS Region name (like us-east-1)", r)
		}
	}
	switch o.RegionsMode {
	case "":
	case "all":
		if len(o.Regions) > 0 {
			return usagef("--regions all and --region cannot be used together")
		}
	default:
		return usagef("--regions accepts only \"all\", not %q", o.RegionsMode)
	}
	if !roleNamePattern.MatchString(o.RoleName) {
		return usagef("%q is not a role name", o.RoleName)
	}
	if o.QuotaScale <= 0 {
		return usagef("--quota-scale %g must be above 0: fix always paces its writes", o.QuotaScale)
	}
	var err error
	if o.managedBy, err = parseTags("--managed-by-tag", o.ManagedBy); err != nil {
		return err
	}
	if o.tags, err = parseTags("--tag", o.Tags); err != nil {
		return err
	}
	if o.excludeTags, err = parseTags("--exclude-tag", o.ExcludeTags); err != nil {
		return err
	}
	if (o.Yes || cmd.Flags().Changed("journal")) && !o.Apply {
		return usagef("--yes and --journal apply only with --apply")
	}
	if o.Apply && !o.Yes && !o.env.StdinTTY {
		return usagef("--apply without a terminal to confirm on needs --yes")
	}
	if o.From != "" {
		if _, err := os.Stat(o.path(o.From)); err != nil {
			return usagef("--from %s: %v", o.From, errors.Unwrap(err))
		}
	}
	return nil
}

func parseTags(flag string, in []string) ([]remediate.Tag, error) {
	var out []remediate.Tag
	for _, s := range in {
		t, err := remediate.ParseTag(s)
		if err != nil {
			return nil, usagef("%s: %v", flag, err)
		}
		out = append(out, t)
	}
	return out, nil
}

func (o *fixOptions) path(p string) string {
	if !filepath.IsAbs(p) && o.env.WorkingDir != "" {
		return filepath.Join(o.env.WorkingDir, p)
	}
	return p
}

// fixSource is where fix's findings and credentials come from.
type fixSource struct {
	findings []check.Finding
	accounts []string
	cfg      aws.Config
	caller   string
	close    func()
}

// runFix plans, and with --apply applies and verifies; its error carries
// the exit code.
func runFix(ctx context.Context, o *fixOptions) error {
	src, err := fixFindings(ctx, o)
	if err != nil {
		return err
	}
	defer src.close()
	estate := remediate.EstateID(src.accounts)

	// A journal of another estate is refused before any API call.
	var journal *remediate.Journal
	var resume *remediate.Resume
	if o.Apply {
		path := o.Journal
		if path == "" && o.Demo {
			// Each demo starts from a fresh emulator: a journal kept across
			// runs would resume against an estate that no longer exists.
			dir, err := os.MkdirTemp("", "kmsrotor-demo-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			path = filepath.Join(dir, "journal.jsonl")
		}
		if path == "" {
			if path, err = remediate.DefaultJournalPath(o.env.Getenv, estate); err != nil {
				return usageErr(err)
			}
		} else {
			path = o.path(path)
		}
		journal, resume, err = remediate.OpenJournal(path, estate, src.accounts, o.env.Now)
		if errors.Is(err, remediate.ErrOtherEstate) {
			return usagef("--journal %s is the journal of another estate, not of accounts %s: name another file with --journal", path, strings.Join(src.accounts, ", "))
		}
		if err != nil {
			return usageErr(err)
		}
		defer journal.Close()
	}

	clients := awskms.NewClients(o.QuotaScale, true)
	creds := newAccountConfigs(src.cfg, src.caller, o.RoleName)
	plan := remediate.NewPlan(src.findings, remediate.PlanOptions{PeriodDays: o.PeriodDays, MaxPeriodDays: o.MaxRotationDays})
	scope := remediate.Scope{
		CloudFormation: func(account, region string) remediate.CloudFormationAPI {
			return clients.Raw(creds.get(ctx, account), "cloudformation", "CloudFormation", account, region)
		},
		KMS: func(account, region string) remediate.TagsAPI {
			return clients.KMS(creds.get(ctx, account), account, region)
		},
		IncludeStackManaged: o.IncludeStackManaged,
		ManagedBy:           o.managedBy,
		Select:              o.tags,
		Exclude:             o.excludeTags,
	}
	if err := plan.Restrict(ctx, scope); err != nil {
		return err
	}
	rep := &remediate.Report{Mode: "dry_run", Estate: estate, Plan: plan}
	if !o.Apply {
		if err := writeFix(o, rep); err != nil {
			return err
		}
		if o.Output == "table" {
			fmt.Fprintln(o.env.Stderr, "kmsrotor: dry run, nothing was changed: pass --apply to make these changes.")
		}
		return nil
	}
	rep.Mode, rep.Journal = "apply", journal.Path()
	if o.Output == "table" {
		remediate.WritePlanTable(o.env.Stdout, plan)
	}
	if len(plan.Changes) > 0 && !o.Yes {
		ok, err := confirm(o.env, fmt.Sprintf("Apply %d change(s) in %d account-Region(s)? [y/N] ", len(plan.Changes), len(plan.Targets())))
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintln(o.env.Stderr, "kmsrotor: nothing was changed.")
			return nil
		}
	}
	results, err := remediate.Apply(ctx, plan, remediate.ApplyOptions{
		KMS: func(account, region string) remediate.KMSAPI {
			return clients.KMS(creds.get(ctx, account), account, region)
		},
		Journal: journal,
		Resume:  resume,
	})
	if err != nil {
		return fmt.Errorf("fix stopped: %w (run the same command again to resume from the journal %s)", err, journal.Path())
	}
	tally := remediate.Count(results)
	if err := journal.Write(remediate.Record{Type: remediate.RecordEnd, Status: fmt.Sprintf("%d verified, %d failed", tally.Verified, tally.Failed)}); err != nil {
		return err
	}
	rep.Results, rep.Summary = results, &tally
	if o.Output == "json" {
		if err := remediate.WriteJSON(o.env.Stdout, rep); err != nil {
			return err
		}
	} else if err := remediate.WriteResultsTable(o.env.Stdout, results); err != nil {
		return err
	}
	return resultCode(tally.Failed, false)
}

func writeFix(o *fixOptions, rep *remediate.Report) error {
	if o.Output == "json" {
		return remediate.WriteJSON(o.env.Stdout, rep)
	}
	return remediate.WritePlanTable(o.env.Stdout, rep.Plan)
}

// fixFindings reads --from, or scans (the demo estate with --demo).
func fixFindings(ctx context.Context, o *fixOptions) (*fixSource, error) {
	src := &fixSource{close: func() {}}
	policy := check.Policy{MaxRotationDays: max(o.MaxRotationDays, o.PeriodDays), GraceDays: 7, Now: o.env.Now()}
	if o.From != "" {
		// ReadFindings stands in for report.Read until it lands.
		f, err := os.Open(o.path(o.From))
		if err != nil {
			return nil, usagef("--from %s: %v", o.From, errors.Unwrap(err))
		}
		defer f.Close()
		err = remediate.ReadFindings(f, func(fd *check.Finding) error {
			src.findings = append(src.findings, *fd)
			return nil
		})
		if err != nil {
			return nil, usagef("--from %s is %v", o.From, err)
		}
		for _, fd := range src.findings {
			if !slices.Contains(src.accounts, fd.AccountID) {
				src.accounts = append(src.accounts, fd.AccountID)
			}
		}
		slices.Sort(src.accounts)
		cfg, err := awskms.LoadConfig(ctx, o.Profile, o.client)
		if err != nil {
			return nil, usageErr(err)
		}
		src.cfg = cfg
		return src, nil
	}
	inv := awskms.Options{
		Regions: o.Regions, AllRegions: o.RegionsMode == "all", Org: o.Org, RoleName: o.RoleName,
		QuotaScale: o.QuotaScale,
	}
	if o.Demo {
		emu, err := kmsemu.Start(o.demoEmulator(), "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("start the demo emulator: %w", err)
		}
		src.close = func() { emu.Close() }
		inv.Config = awskms.StaticConfig(emu.URL, kmsemu.DefaultRegion, kmsemu.DefaultAccessKeyID, kmsemu.DefaultSecretAccessKey, o.client)
		inv.Org, inv.AllRegions = true, true
	} else {
		cfg, err := awskms.LoadConfig(ctx, o.Profile, o.client)
		if err != nil {
			return nil, usageErr(err)
		}
		if len(o.Regions) == 0 && !inv.AllRegions && cfg.Region == "" {
			return nil, usagef("no AWS Region configured: pass --region REGION (or --regions all), or set AWS_REGION")
		}
		inv.Config = cfg
	}
	// The lead's streaming session will replace this batch inventory.
	res, err := awskms.Inventory(ctx, inv)
	if err != nil {
		src.close()
		return nil, scanFatal(err, &scanOptions{Profile: o.Profile})
	}
	if !res.ServerTime.IsZero() {
		policy.Now = res.ServerTime
	}
	for _, k := range res.Keys {
		src.findings = append(src.findings, check.Evaluate(k, policy))
	}
	for _, e := range res.Errors {
		fmt.Fprintf(o.env.Stderr, "kmsrotor: %s %s: %s failed with %s; keys there are not planned\n", e.AccountID, e.Region, e.Operation, e.Code)
	}
	src.accounts, src.cfg, src.caller = res.Accounts, inv.Config, res.CallerAccount
	return src, nil
}

// accountConfigs gives the configuration acting in each account: the base
// credentials in the caller's own account, the role --role-name in the
// others (as the scan's --org does).
type accountConfigs struct {
	base     aws.Config
	roleName string
	mu       sync.Mutex
	caller   string
	byAcct   map[string]aws.Config
}

func newAccountConfigs(base aws.Config, caller, roleName string) *accountConfigs {
	return &accountConfigs{base: base, caller: caller, roleName: roleName, byAcct: map[string]aws.Config{}}
}

func (a *accountConfigs) get(ctx context.Context, account string) aws.Config {
	a.mu.Lock()
	defer a.mu.Unlock()
	if cfg, ok := a.byAcct[account]; ok {
		return cfg
	}
	if a.caller == "" {
		out, err := sts.NewFromConfig(a.base).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err == nil {
			a.caller = aws.ToString(out.Account)
		}
	}
	cfg := a.base
	if account != a.caller && a.caller != "" {
		cfg = a.base.Copy()
		region := a.base.Region
		if region == "" {
			region = "us-east-1"
		}
		role := fmt.Sprintf("arn:%s:iam::%s:role/%s", kmskey.PartitionOf(region), account, a.roleName)
		cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(a.base), role, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = awskms.DefaultSessionName
		}))
	}
	a.byAcct[account] = cfg
	return cfg
}

// confirm asks question on stderr and reads the answer from stdin.
func confirm(env *Env, question string) (bool, error) {
	fmt.Fprint(env.Stderr, question)
	in := env.Stdin
	if in == nil {
		in = strings.NewReader("")
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("read the answer: %w", err)
	}
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes", nil
}
