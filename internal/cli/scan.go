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

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"

	"github.com/kmsrotor/kmsrotor/internal/awskms"
	"github.com/kmsrotor/kmsrotor/internal/check"
	"github.com/kmsrotor/kmsrotor/internal/kmsemu"
	"github.com/kmsrotor/kmsrotor/internal/kmskey"
	"github.com/kmsrotor/kmsrotor/internal/report"
)

// scanOptions are the flags of kmsrotor scan, then what RunE derives from them.
type scanOptions struct {
	Profile         string
	Regions         []string
	RegionsMode     string // --regions: "" or "all"
	Org             bool
	RoleName        string
	RoleARNs        []string
	ExternalID      string
	Output          string
	OutputFile      string
	MaxRotationDays int
	GraceDays       int
	IncludeDisabled bool
	ShowSkipped     bool
	Demo            bool
	Concurrency     int
	QuotaScale      float64
	Pace            string
	OUs             []string
	AccountsFlag    string
	Profiles        []string
	ExcludeAccounts []string
	RoleSessionName string
	ShardFlag       string
	ShardCount      int
	RunID           string
	Quiet           bool
	CPUProfile      string

	// Set by validate.
	format   report.Format
	policy   check.Policy
	accounts []string
	shard    awskms.Shard
	runID    string

	env *Env
	// client tunes retries and timeouts; tests shorten them.
	client awskms.ClientOptions
	// demoEmulator configures the in-process emulator of --demo.
	demoEmulator func() kmsemu.Options
}

// scanFormats are the formats of a scan's report.
var scanFormats = []report.Format{report.FormatTable, report.FormatJSON, report.FormatJSONL}

// regionPattern is what a Region name looks like (us-east-1, us-gov-west-1,
// eu-central-2); the Region's existence is AWS's to say.
var regionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)

// roleARNPattern is an IAM role ARN in any partition.
var roleARNPattern = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$`)

// roleNamePattern is IAM's character set for role names (1–64).
var roleNamePattern = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)

func newScanCmd(env *Env) *cobra.Command {
	return scanCommand(&scanOptions{env: env, demoEmulator: func() kmsemu.Options {
		return kmsemu.Options{Estate: kmsemu.DemoEstate()}
	}})
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
	f.StringVar(&o.Profile, "profile", "", "shared config profile to use")
	f.StringArrayVar(&o.Regions, "region", nil, "Region to scan (repeatable; default the configured Region)")
	f.StringVar(&o.RegionsMode, "regions", "", `"all": every Region enabled for each account (EC2 DescribeRegions)`)
	f.BoolVar(&o.Org, "org", false, "scan every active account of the organization (run from the management account)")
	f.StringVar(&o.RoleName, "role-name", awskms.DefaultRoleName, "role to assume in each member account with --org")
	f.StringArrayVar(&o.RoleARNs, "role-arn", nil, "scan the account of this role, assuming it (repeatable)")
	f.StringVar(&o.ExternalID, "external-id", "", "external ID to pass when assuming roles")
	f.StringVarP(&o.Output, "output", "o", string(report.FormatTable), "output format: table, json or jsonl")
	f.StringVar(&o.OutputFile, "output-file", "", "write the report to this file (atomically) instead of stdout")
	f.IntVar(&o.MaxRotationDays, "max-rotation-days", 365, "longest acceptable rotation period in days (90–2560; 0: any)")
	f.IntVar(&o.GraceDays, "rotation-grace-days", 7, "days past the next rotation date before a key is overdue")
	f.BoolVar(&o.IncludeDisabled, "include-disabled", false, "evaluate Disabled keys instead of skipping them")
	f.BoolVar(&o.ShowSkipped, "show-skipped", false, "list PASS and SKIPPED keys in the table too")
	f.BoolVar(&o.Demo, "demo", false, "scan a built-in demo organization on a local emulator (no AWS account needed)")
	f.IntVar(&o.Concurrency, "concurrency", awskms.DefaultConcurrency, "keys read at once per account and Region")
	f.Float64Var(&o.QuotaScale, "quota-scale", 1, "multiply AWS's default KMS request quotas that pace the scan (raise it for accounts with raised quotas)")
	f.StringVar(&o.Pace, "pace", "adaptive", "pacing at the request quotas: adaptive (from the first throttle of an account, Region and operation), always, or off")
	f.StringSliceVar(&o.OUs, "ou", nil, "scan the active accounts under these organizational units, recursively (ou-…, comma-separated or repeated; run from the management account)")
	f.StringVar(&o.AccountsFlag, "accounts", "", "scan these accounts: comma-separated account IDs (entered through --role-name) or role ARNs, or @FILE with one per line")
	f.StringSliceVar(&o.Profiles, "profiles", nil, "scan from each of these shared-config profiles (comma-separated), each with its own credentials")
	f.StringSliceVar(&o.ExcludeAccounts, "exclude-accounts", nil, "never scan these account IDs (comma-separated)")
	f.StringVar(&o.RoleSessionName, "role-session-name", awskms.DefaultSessionName, "session name of the assumed roles (shows in CloudTrail)")
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
	format, err := report.ParseFormat(o.Output, scanFormats...)
	if err != nil {
		return usageErr(err)
	}
	o.format = format
	for _, r := range o.Regions {
		if !regionPattern.MatchString(r) {
			return usagef("%q is not a Region name (like us-east-1)", r)
		}
		if !kmskey.KnownRegion(r) {
			return usagef("%q is not an AWS Region kmsrotor knows (check the spelling; a Region AWS opened after this release needs a newer kmsrotor)", r)
		}
	}
	switch o.RegionsMode {
	case "":
	case "all":
		if len(o.Regions) > 0 {
			return usagef("--regions all and --region cannot be used together")
		}
	default:
		return usagef("--regions accepts only \"all\", not %q: name single Regions with --region", o.RegionsMode)
	}
	if o.Demo && o.Profile != "" {
		return usagef("--demo scans a built-in estate on a local emulator and uses no profile: drop --profile or --demo")
	}
	if o.Demo && len(o.RoleARNs) > 0 {
		return usagef("--demo scans the demo organization: drop --role-arn or --demo")
	}
	if o.Org && len(o.RoleARNs) > 0 {
		return usagef("--org and --role-arn cannot be used together")
	}
	if err := o.validateSelection(cmd); err != nil {
		return err
	}
	if !roleNamePattern.MatchString(o.RoleName) {
		return usagef("%q is not a role name", o.RoleName)
	}
	for _, arn := range o.RoleARNs {
		if !roleARNPattern.MatchString(arn) {
			return usagef("%q is not a role ARN (like arn:aws:iam::123456789012:role/Audit)", arn)
		}
	}
	if o.ExternalID != "" {
		if !o.Org && len(o.RoleARNs) == 0 && len(o.OUs) == 0 && len(o.accounts) == 0 {
			return usagef("--external-id applies only with --org, --ou, --accounts or --role-arn")
		}
		if n := len(o.ExternalID); n < 2 || n > 1224 {
			return usagef("--external-id must be 2 to 1224 characters long")
		}
	}
	if o.Concurrency < 1 || o.Concurrency > 1024 {
		return usagef("--concurrency %d is outside 1 to 1024", o.Concurrency)
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
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return usagef("--output-file %s: directory %s does not exist; create it first", file, dir)
	case err != nil:
		return usagef("--output-file %s: %v", file, errors.Unwrap(err))
	case !st.IsDir():
		return usagef("--output-file %s: %s is not a directory", file, dir)
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return usagef("--output-file %s is a directory; name a file", file)
	}
	return nil
}

// runScan streams every key of the selected accounts and Regions through
// the check into the report as it is read; its error carries the exit code.
func runScan(ctx context.Context, o *scanOptions) error {
	inv := awskms.Options{
		Regions:         o.Regions,
		AllRegions:      o.RegionsMode == "all",
		Org:             o.Org,
		OUs:             o.OUs,
		Accounts:        o.accounts,
		RoleName:        o.RoleName,
		RoleARNs:        o.RoleARNs,
		RoleSessionName: o.RoleSessionName,
		ExcludeAccounts: o.ExcludeAccounts,
		ExternalID:      o.ExternalID,
		Shard:           o.shard,
		IncludeDisabled: o.IncludeDisabled,
		Concurrency:     o.Concurrency,
		QuotaScale:      o.QuotaScale,
		PaceAlways:      o.Pace == "always",
		Progress:        &awskms.Progress{},
	}
	if o.Demo {
		emu, err := kmsemu.Start(o.demoEmulator(), "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("start the demo emulator: %w", err)
		}
		defer emu.Close()
		// Explicit configuration: nothing of the user's AWS_* variables or
		// files reaches the demo.
		inv.Config = awskms.StaticConfig(emu.URL, kmsemu.DefaultRegion, kmsemu.DefaultAccessKeyID, kmsemu.DefaultSecretAccessKey, o.client)
		if len(inv.OUs) == 0 && len(inv.Accounts) == 0 {
			inv.Org = true
		}
		inv.AllRegions = len(o.Regions) == 0
	} else {
		if len(o.Profiles) > 0 {
			inv.Profiles = o.Profiles
			inv.LoadProfile = func(ctx context.Context, p string) (aws.Config, error) {
				return awskms.LoadConfig(ctx, p, o.client)
			}
		}
		cfg, err := awskms.LoadConfig(ctx, o.Profile, o.client)
		if err != nil {
			return usageErr(err)
		}
		if len(o.Regions) == 0 && !inv.AllRegions {
			if cfg.Region == "" {
				return usagef("no AWS Region configured: pass --region REGION (or --regions all), or set AWS_REGION")
			}
			if !regionPattern.MatchString(cfg.Region) {
				return usagef("the configured Region %q is not a Region name: pass --region REGION or fix AWS_REGION or the profile", cfg.Region)
			}
		}
		inv.Config = cfg
	}

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
	out, err := openReport(o)
	if err != nil {
		return err
	}
	defer out.abort()

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
				if fatal = out.sink.Begin(run.header); fatal != nil {
					return
				}
				began = true
			}
			// Rotation dates are AWS's: judge them by AWS's clock (its Date
			// header) rather than a local one that may be skewed, or an
			// emulator's that a test has moved.
			if t := clients.ServerTime(); !t.IsZero() {
				policy.Now = t
			}
			f := check.Evaluate(k, policy)
			run.add(&f)
			fatal = out.sink.Finding(&f)
		},
		Error:   run.addError,
		Skipped: run.addSkipped,
	})
	stop()
	if err != nil {
		return scanFatal(err, o)
	}
	if fatal != nil {
		return fmt.Errorf("write report: %w", fatal)
	}
	if !began {
		if err := out.sink.Begin(run.header); err != nil {
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
	if err := out.sink.End(trailer); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if err := out.commit(); err != nil {
		return err
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
