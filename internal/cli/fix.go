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

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/spf13/cobra"

	"github.com/kmsrotor/kmsrotor/internal/awskms"
	"github.com/kmsrotor/kmsrotor/internal/check"
	"github.com/kmsrotor/kmsrotor/internal/kmskey"
	"github.com/kmsrotor/kmsrotor/internal/remediate"
	"github.com/kmsrotor/kmsrotor/internal/report"
)

// fixOptions are the flags of kmsrotor fix, then what RunE derives from them.
type fixOptions struct {
	selection
	From                string
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

	env *Env
}

func newFixCmd(env *Env) *cobra.Command {
	return fixCommand(&fixOptions{env: env, selection: selection{demoEmulator: demoEmulator}})
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
	o.selection.bind(f, "fix")
	f.StringVar(&o.From, "from", "", "plan from this scan report (json or jsonl) instead of scanning")
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
	if o.From != "" && (len(o.Regions) > 0 || o.RegionsMode != "" || o.Org || len(o.OUs) > 0 || o.AccountsFlag != "" || len(o.RoleARNs) > 0 || len(o.ExcludeAccounts) > 0) {
		return usagef("--region, --regions, --org, --ou, --accounts, --role-arn and --exclude-accounts select what to scan; with --from there is no scan: drop them")
	}
	if err := o.selection.validate(cmd, o.env); err != nil {
		return err
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

// fixSource is where fix's findings come from, and the session that
// reaches their accounts.
type fixSource struct {
	findings []check.Finding
	accounts []string
	session  *awskms.Session
	// open makes the session when reading the findings did not need one.
	open  func() error
	close func()
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

	if src.session == nil {
		if err := src.open(); err != nil {
			return err
		}
	}
	sess := src.session
	kmsIn := func(account, region string) *kms.Client {
		a, err := sess.EnterID(ctx, account)
		if err != nil {
			return sess.KMS(failing(a, err), region)
		}
		return sess.KMS(a, region)
	}
	plan := remediate.NewPlan(src.findings, remediate.PlanOptions{PeriodDays: o.PeriodDays, MaxPeriodDays: o.MaxRotationDays})
	scope := remediate.Scope{
		CloudFormation: func(account, region string) remediate.CloudFormationAPI {
			a, err := sess.EnterID(ctx, account)
			if err != nil {
				a = failing(a, err)
			}
			return sess.Raw(a, "cloudformation", "CloudFormation", region)
		},
		KMS:                 func(account, region string) remediate.TagsAPI { return kmsIn(account, region) },
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
		KMS:     func(account, region string) remediate.KMSAPI { return kmsIn(account, region) },
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

// fixFindings reads --from, or scans what the selection names (the demo
// estate with --demo), and opens the session that reaches the accounts.
// Fix paces every call from the first: its writes have small quotas.
func fixFindings(ctx context.Context, o *fixOptions) (*fixSource, error) {
	src := &fixSource{close: func() {}}
	policy := check.Policy{MaxRotationDays: max(o.MaxRotationDays, o.PeriodDays), GraceDays: 7, Now: o.env.Now()}
	inv, closeDemo, err := o.selection.awsOptions(ctx)
	if err != nil {
		return nil, err
	}
	src.close = closeDemo
	inv.Clients = awskms.NewClients(o.QuotaScale, true)
	fail := func(err error) (*fixSource, error) {
		src.close()
		return nil, err
	}
	if o.From != "" {
		f, err := os.Open(o.path(o.From))
		if err != nil {
			return fail(usagef("--from %s: %v", o.From, errors.Unwrap(err)))
		}
		defer f.Close()
		h, _, err := report.Read(f, func(fd *check.Finding) error {
			if fd.CheckID != check.CheckID {
				return fmt.Errorf("a finding has check_id %q, not %s: not a kmsrotor scan report", fd.CheckID, check.CheckID)
			}
			src.findings = append(src.findings, *fd)
			return nil
		})
		if err == nil && h.Tool.Name != "" && h.Tool.Name != "kmsrotor" {
			err = fmt.Errorf("written by %q, not kmsrotor: not a kmsrotor scan report", h.Tool.Name)
		}
		if err != nil {
			return fail(usagef("--from %s: %v", o.From, err))
		}
		for _, fd := range src.findings {
			if fd.AccountID != "" && !slices.Contains(src.accounts, fd.AccountID) {
				src.accounts = append(src.accounts, fd.AccountID)
			}
		}
		slices.Sort(src.accounts)
		if len(src.accounts) == 0 {
			return fail(usagef("--from %s has no live findings (an iac report?): fix changes keys in AWS; run kmsrotor iac --fix for files", o.From))
		}
		// The report's own accounts, entered as a scan enters them, once
		// the journal has been checked: bad input makes no API call.
		inv.Accounts = src.accounts
		src.open = func() error {
			sess, err := awskms.NewSession(ctx, inv)
			if err != nil {
				return scanFatal(err, &scanOptions{selection: o.selection})
			}
			src.session = sess
			return nil
		}
		return src, nil
	}
	sess, err := awskms.NewSession(ctx, inv)
	if err != nil {
		return fail(scanFatal(err, &scanOptions{selection: o.selection}))
	}
	res, err := sess.Scan(ctx, awskms.Events{
		Key: func(k kmskey.Key) {
			if t := sess.Clients().ServerTime(); !t.IsZero() {
				policy.Now = t
			}
			src.findings = append(src.findings, check.Evaluate(k, policy))
		},
		Error: func(e awskms.ScanError) {
			fmt.Fprintf(o.env.Stderr, "kmsrotor: %s %s: %s failed with %s; keys there are not planned\n", e.AccountID, e.Region, e.Operation, e.Code)
		},
	})
	if err != nil {
		return fail(scanFatal(err, &scanOptions{selection: o.selection}))
	}
	if res.Interrupted {
		return fail(fmt.Errorf("fix cancelled while scanning: %w", context.Cause(ctx)))
	}
	src.accounts, src.session = res.Accounts, sess
	return src, nil
}

// failing is the account with credentials that fail with err: every call
// made there then fails with the reason the account could not be entered,
// key by key, instead of silently acting elsewhere.
func failing(a awskms.Account, err error) awskms.Account {
	return a.WithCredentials(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{}, err
	}))
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
