package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kmsrotor/kmsrotor/internal/awskms"
	"github.com/kmsrotor/kmsrotor/internal/check"
	"github.com/kmsrotor/kmsrotor/internal/kmsemu"
	"github.com/kmsrotor/kmsrotor/internal/kmskey"
	"github.com/kmsrotor/kmsrotor/internal/report"
	"github.com/kmsrotor/kmsrotor/internal/securityhub"
	"github.com/kmsrotor/kmsrotor/internal/term"
)

// scanOptions are the flags of kmsrotor scan, then what RunE derives from them.
type scanOptions struct {
	selection
	reports         reportFlags
	OutputFile      string
	MaxRotationDays int
	GraceDays       int
	IncludeDisabled bool
	ShowSkipped     bool
	Concurrency     int
	ParallelRegions int
	MaxInFlight     int
	QuotaScale      float64
	Pace            string
	ShardFlag       string
	ShardCount      int
	RunID           string
	Quiet           bool
	CPUProfile      string

	// Set by validate.
	policy check.Policy
	shard  awskms.Shard
	runID  string

	env *Env
}

// scanFormats are the formats of a scan's report: all but SARIF, which is
// for code scanning of IaC files.
var scanFormats = []report.Format{report.FormatTable, report.FormatJSON, report.FormatJSONL, report.FormatOCSF,
	report.FormatASFF, report.FormatCSV, report.FormatJUnit, report.FormatMarkdown, report.FormatHTML}

// formatList names formats for a message.
func formatList(fs []report.Format) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = string(f)
	}
	return strings.Join(names, ", ")
}

// demoEmulator is the emulator of --demo: the built-in estate.
func demoEmulator() kmsemu.Options { return kmsemu.Options{Estate: kmsemu.DemoEstate()} }

// regionPattern is what a Region name looks like (us-east-1, us-gov-west-1,
// eu-central-2); the Region's existence is AWS's to say.
var regionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)

// roleARNPattern is an IAM role ARN in any partition.
var roleARNPattern = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$`)

// roleNamePattern is IAM's character set for role names (1–64).
var roleNamePattern = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)

func newScanCmd(env *Env) *cobra.Command {
	return scanCommand(&scanOptions{env: env, selection: selection{demoEmulator: demoEmulator}})
}

// scanCommand binds the flags into o, which tests inspect.
func scanCommand(o *scanOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "scan",
		Short: "Check that the KMS keys of AWS accounts rotate their key material",
		Long: `Scan lists every KMS key of the account (or the organization) in the
chosen Regions, reads its rotation status where its class can rotate, and
classifies it: PASS, FAIL (rotation disabled, period above policy, overdue),
MANUAL (imported key material), SKIPPED (with the reason) or ERROR (with the
AWS error code). An API error is never reported as a PASS or a FAIL.

Credentials come from the SDK's default chain: environment, shared config
and credentials files (--profile), SSO, web identity, instance or container
role, credential_process. AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>
are honoured. The scanning principal needs kms:ListKeys, kms:ListAliases,
kms:DescribeKey and kms:GetKeyRotationStatus (plus organizations:ListAccounts
with --org, organizations:ListAccountsForParent and organizations:ListChildren
with --ou, sts:AssumeRole to enter member accounts, ec2:DescribeRegions with
--regions all); 'kmsrotor iam-policy scan' prints the policy.

Accounts: the credentials' own (default; one per profile with --profiles),
the organization's (--org), those under OUs (--ou), or a list (--accounts
IDs or role ARNs, or @FILE), less --exclude-accounts. --shard I/N scans one
of N parts of them, split by a stable hash of the account ID; kmsrotor merge
joins the parts' reports. Keys stream through the check into the report as
they are read; Ctrl-C stops the scan and writes what was decided, marked
incomplete (exit 4); a second Ctrl-C exits at once.

Try it without AWS: kmsrotor scan --demo` + exitCodeHelp,
		Example: `  kmsrotor scan --demo
  kmsrotor scan --profile audit --region eu-west-1 --region us-east-1
  kmsrotor scan --regions all --output json --output-file kms.json
  kmsrotor scan --org --regions all --role-name OrganizationAccountAccessRole
  kmsrotor scan --ou ou-ab12-cd34ef56 --regions all --exclude-accounts 111111111111
  kmsrotor scan --accounts @accounts.txt --role-name Audit --external-id "$EXTERNAL_ID"
  kmsrotor scan --profiles prod,govcloud --regions all
  kmsrotor scan --org --regions all --shard 2/4 --output jsonl --output-file shard-2.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(cmd); err != nil {
				return err
			}
			return runScan(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	o.selection.bind(f, "scan")
	o.reports.bind(f, scanFormats)
	f.StringVar(&o.OutputFile, "output-file", "", "write the report (one format) to this file, atomically, instead of stdout")
	f.IntVar(&o.MaxRotationDays, "max-rotation-days", check.DefaultMaxRotationDays, maxRotationDaysHelp)
	f.IntVar(&o.GraceDays, "rotation-grace-days", check.DefaultGraceDays, "days past the next rotation date before a key is overdue")
	f.BoolVar(&o.IncludeDisabled, "include-disabled", false, "evaluate Disabled keys instead of skipping them")
	f.BoolVar(&o.ShowSkipped, "show-skipped", false, "list PASS and SKIPPED keys in the table too")
	f.IntVar(&o.Concurrency, "concurrency", awskms.DefaultConcurrency, "keys read at once per account and Region")
	f.IntVar(&o.ParallelRegions, "parallel-regions", awskms.DefaultParallelRegions, "account-Regions scanned at once")
	f.IntVar(&o.MaxInFlight, "max-in-flight", awskms.DefaultMaxInFlight, "keys read at once in all account-Regions together")
	f.Float64Var(&o.QuotaScale, "quota-scale", 1, "multiply AWS's default KMS request quotas that pace the scan (raise it for accounts with raised quotas)")
	f.StringVar(&o.Pace, "pace", "adaptive", "pacing at the request quotas: adaptive (from the first throttle of an account, Region and operation), always, or off")
	f.StringVar(&o.ShardFlag, "shard", "", "scan shard I of N (I/N): accounts are split by a stable hash of their ID; default from JOB_COMPLETION_INDEX or AWS_BATCH_JOB_ARRAY_INDEX with --shard-count")
	f.IntVar(&o.ShardCount, "shard-count", 0, "number of shards, with the shard index from JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch array job)")
	f.StringVar(&o.RunID, "run-id", "", "identifier shared by the shards of one run, checked by kmsrotor merge (default: derived from the selection, the policy and the UTC date)")
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "no progress line on stderr")
	f.StringVar(&o.CPUProfile, "cpu-profile", "", "write a Go CPU profile of the scan to this file (for benchmarks)")
	_ = f.MarkHidden("cpu-profile")
	return cmd
}

// validate checks the flags and their combinations before any API call.
func (o *scanOptions) validate(cmd *cobra.Command) error {
	o.reports.now, o.reports.workingDir = o.env.Now, o.env.WorkingDir
	if err := o.reports.validate(); err != nil {
		return err
	}
	for _, f := range o.reports.formats {
		if !slices.Contains(scanFormats, f) {
			return usagef("unknown output format %q for a scan: use %s", f, formatList(scanFormats))
		}
	}
	if o.OutputFile != "" && (o.reports.OutputDir != "" || len(o.reports.formats) > 1) {
		return usagef("--output-file writes one format: drop it, or --output-dir")
	}
	if err := o.selection.validate(cmd, o.env); err != nil {
		return err
	}
	shard, err := parseShard(o.ShardFlag, o.ShardCount, o.env.Getenv)
	if err != nil {
		return err
	}
	o.shard = shard
	o.runID = o.RunID
	if o.runID == "" {
		o.runID = o.defaultRunID()
	}
	if o.Concurrency < 1 || o.Concurrency > 1024 {
		return usagef("--concurrency %d is outside 1 to 1024", o.Concurrency)
	}
	if o.ParallelRegions < 1 || o.ParallelRegions > 1024 {
		return usagef("--parallel-regions %d is outside 1 to 1024", o.ParallelRegions)
	}
	if o.MaxInFlight < 1 || o.MaxInFlight > 8192 {
		return usagef("--max-in-flight %d is outside 1 to 8192", o.MaxInFlight)
	}
	if o.client.IdleConnsPerHost == 0 {
		// Every request in flight may end on one host (an endpoint
		// override, the emulator): keep a connection for each, rather
		// than close and dial again.
		o.client.IdleConnsPerHost = o.MaxInFlight + 2*o.ParallelRegions
	}
	if o.QuotaScale < 0 {
		return usagef("--quota-scale %g is negative", o.QuotaScale)
	}
	switch o.Pace {
	case "adaptive", "always":
	case "off":
		o.QuotaScale = 0
	default:
		return usagef("--pace %q: use adaptive, always or off", o.Pace)
	}
	o.policy = check.Policy{
		MaxRotationDays: o.MaxRotationDays,
		GraceDays:       o.GraceDays,
		IncludeDisabled: o.IncludeDisabled,
		Now:             o.env.Now(),
	}
	if err := o.policy.Validate(); err != nil {
		return usageErr(err)
	}
	if err := checkOutputFile(o.OutputFile, o.env.WorkingDir); err != nil {
		return err
	}
	return nil
}

// checkOutputFile is the flag-time check of --output-file (scan and iac):
// the report is written last, so a directory that does not exist would
// otherwise fail the run after the scan, its API calls, and iac --fix's
// rewrites. The file's directory must exist and be a directory, and the
// file must not be a directory itself. Relative paths start at workingDir.
func checkOutputFile(file, workingDir string) error {
	if file == "" {
		return nil
	}
	path := file
	if !filepath.IsAbs(path) && workingDir != "" {
		path = filepath.Join(workingDir, path)
	}
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	// Named as the user wrote it: no absolute path in messages.
	shown := filepath.Dir(file)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return usagef("--output-file %s: directory %s does not exist; create it first", file, shown)
	case err != nil:
		return usagef("--output-file %s: %v", file, errors.Unwrap(err))
	case !st.IsDir():
		return usagef("--output-file %s: %s is not a directory", file, shown)
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return usagef("--output-file %s is a directory; name a file", file)
	}
	return nil
}

// runScan streams every key of the selected accounts and Regions through
// the check into the report as it is read; its error carries the exit code.
func runScan(ctx context.Context, o *scanOptions) error {
	inv, closeDemo, err := o.selection.awsOptions(ctx)
	if err != nil {
		return err
	}
	defer closeDemo()
	inv.Shard = o.shard
	inv.IncludeDisabled = o.IncludeDisabled
	inv.Concurrency = o.Concurrency
	inv.ParallelRegions = o.ParallelRegions
	inv.MaxInFlight = o.MaxInFlight
	inv.QuotaScale = o.QuotaScale
	inv.PaceAlways = o.Pace == "always"
	inv.Progress = &awskms.Progress{}
	inv.RotationHistory = o.reports.RotationHistory
	inv.Tags = o.reports.mutes != nil && o.reports.mutes.UsesTags()

	if o.CPUProfile != "" {
		stop, err := startCPUProfile(o.CPUProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	// A scan makes a few SDK calls per key, each with short-lived garbage;
	// it is a batch job.
	defer batchGC(o.env)()
	started := o.env.Now()
	sess, err := awskms.NewSession(ctx, inv)
	if err != nil {
		return scanFatal(err, o)
	}
	for _, w := range o.reports.warnings {
		fmt.Fprintf(o.env.Stderr, "kmsrotor: %s\n", term.Inert(w))
	}
	stdoutOpts := report.Options{Terminal: o.env.StdoutTTY, ShowSkipped: o.ShowSkipped, NoColor: noColor(o.env)}
	sink, done, hub, err := o.reports.outputs(ctx, o.env.Stdout, o.OutputFile, stdoutOpts, func(account, region string) (securityhub.API, error) {
		a, err := sess.EnterID(ctx, account)
		if err != nil {
			return nil, err
		}
		return sess.Raw(a, "securityhub", "SecurityHub", region), nil
	})
	if err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed {
			done(false)
		}
	}()

	run := newRun("aws", o.policy, started)
	run.header.Scan.RunID = o.runID
	if o.shard.Count > 0 {
		run.header.Scan.Shard = &report.Shard{Index: o.shard.Index, Count: o.shard.Count}
	}
	// The report begins once the selection is known to be valid (an OU that
	// does not exist is a usage error, with nothing written).
	began := false
	var fatal error
	policy := o.policy
	clients := sess.Clients()
	stop := startProgress(o, inv.Progress, started)
	res, err := sess.Scan(ctx, awskms.Events{
		Key: func(k kmskey.Key) {
			if fatal != nil {
				return
			}
			if !began {
				began = true
				if fatal = sink.Begin(run.header); fatal != nil {
					return
				}
			}
			// Rotation dates are AWS's: judge them by AWS's clock (its Date
			// header) rather than a local one that may be skewed, or an
			// emulator's that a test has moved.
			if t := clients.ServerTime(); !t.IsZero() {
				policy.Now = t
			}
			f := check.Evaluate(k, policy)
			o.reports.mute(&f)
			run.add(&f)
			fatal = sink.Finding(&f)
		},
		Error:   run.addError,
		Skipped: run.addSkipped,
	})
	stop()
	if err != nil {
		return scanFatal(err, o)
	}
	if fatal != nil {
		// End lets each sink remove its temporary files.
		sink.End(run.trailer(policy, o.env.Now(), res))
		return fmt.Errorf("write report: %w", fatal)
	}
	if !began {
		if err := sink.Begin(run.header); err != nil {
			sink.End(run.trailer(policy, o.env.Now(), res))
			return fmt.Errorf("write report: %w", err)
		}
	}
	if !res.ServerTime.IsZero() {
		policy.Now = res.ServerTime
	}
	trailer := run.trailer(policy, o.env.Now(), res)
	if res.Interrupted {
		trailer.Scan.Interrupted = interruptReason(ctx)
		trailer.Scan.Complete = false
	}
	if err := sink.End(trailer); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	committed = true
	if err := done(true); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if hub != nil {
		if err := reportImport(o.env, hub.Result()); err != nil {
			return err
		}
	}
	if o.Demo {
		fmt.Fprintln(o.env.Stderr, "kmsrotor: this was the built-in demo organization, scanned on a local emulator: no AWS account was used.")
	}
	if res.Interrupted {
		fmt.Fprintf(o.env.Stderr, "kmsrotor: %s: the report holds what was decided before, marked incomplete\n", trailer.Scan.Interrupted)
		return &resultError{ExitIncomplete}
	}
	return resultCode(trailer.Summary.Fail, !trailer.Scan.Complete)
}

// scanFatal turns an error that stopped the scan into the message users see.
func scanFatal(err error, o *scanOptions) error {
	var ce *awskms.CredentialsError
	if errors.As(err, &ce) {
		if ce.Rejected {
			return fmt.Errorf("AWS rejected the credentials (%s): check --profile or your AWS_* variables, or run 'kmsrotor scan --demo' to try kmsrotor without AWS", ce.Code)
		}
		where := "no AWS credentials found"
		if p := cmp.Or(ce.Profile, o.Profile); p != "" {
			where = fmt.Sprintf("no usable AWS credentials in profile %q", p)
		}
		return fmt.Errorf("%s: pass --profile NAME or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run 'kmsrotor scan --demo' to try kmsrotor without AWS", where)
	}
	var pe *awskms.ProfileError
	if errors.As(err, &pe) {
		return usagef("--profiles: cannot load profile %q: %v", pe.Profile, pe.Err)
	}
	var se *awskms.SelectionError
	if errors.As(err, &se) {
		return usageErr(se)
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return fmt.Errorf("cannot reach AWS at %s (%v): check the network, a proxy, and AWS_ENDPOINT_URL if you set one", opErr.Addr, opErr.Err)
	}
	return err
}
