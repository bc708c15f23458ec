package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"

	"github.com/spf13/cobra"

	"github.com/kmsrotor/kmsrotor/internal/atomicfile"
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

	// Set by validate.
	format report.Format
	policy check.Policy

	env *Env
	// client tunes retries and timeouts; tests shorten them.
	client awskms.ClientOptions
	// demoEmulator configures the in-process emulator of --demo.
	demoEmulator func() kmsemu.Options
}

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
and sts:AssumeRole with --org, ec2:DescribeRegions with --regions all).

Try it without AWS: kmsrotor scan --demo` + exitCodeHelp,
		Example: `  kmsrotor scan --demo
  kmsrotor scan --profile audit --region eu-west-1 --region us-east-1
  kmsrotor scan --regions all --output json --output-file kms.json
  kmsrotor scan --org --regions all --role-name OrganizationAccountAccessRole`,
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
	f.StringVarP(&o.Output, "output", "o", string(report.FormatTable), "output format: table or json")
	f.StringVar(&o.OutputFile, "output-file", "", "write the report to this file (atomically) instead of stdout")
	f.IntVar(&o.MaxRotationDays, "max-rotation-days", check.DefaultMaxRotationDays, maxRotationDaysHelp)
	f.IntVar(&o.GraceDays, "rotation-grace-days", check.DefaultGraceDays, "days past the next rotation date before a key is overdue")
	f.BoolVar(&o.IncludeDisabled, "include-disabled", false, "evaluate Disabled keys instead of skipping them")
	f.BoolVar(&o.ShowSkipped, "show-skipped", false, "list PASS and SKIPPED keys in the table too")
	f.BoolVar(&o.Demo, "demo", false, "scan a built-in demo organization on a local emulator (no AWS account needed)")
	f.IntVar(&o.Concurrency, "concurrency", awskms.DefaultConcurrency, "keys read at once per account and Region")
	f.Float64Var(&o.QuotaScale, "quota-scale", 1, "multiply AWS's default KMS request quotas that pace the scan (raise it for accounts with raised quotas)")
	f.StringVar(&o.Pace, "pace", "adaptive", "pacing at the request quotas: adaptive (from the first throttle of an account, Region and operation), always, or off")
	return cmd
}

// validate checks the flags and their combinations before any API call.
func (o *scanOptions) validate(cmd *cobra.Command) error {
	format, err := report.ParseFormat(o.Output, report.FormatTable, report.FormatJSON)
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
	if cmd.Flags().Changed("role-name") && !o.Org && !o.Demo {
		return usagef("--role-name applies only with --org")
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
		if !o.Org && len(o.RoleARNs) == 0 {
			return usagef("--external-id applies only with --org or --role-arn")
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

// runScan inventories the accounts and Regions, classifies every key and
// writes the report; its error carries the exit code.
func runScan(ctx context.Context, o *scanOptions) error {
	inv := awskms.Options{
		Regions:         o.Regions,
		AllRegions:      o.RegionsMode == "all",
		Org:             o.Org,
		RoleName:        o.RoleName,
		RoleARNs:        o.RoleARNs,
		ExternalID:      o.ExternalID,
		IncludeDisabled: o.IncludeDisabled,
		Concurrency:     o.Concurrency,
		QuotaScale:      o.QuotaScale,
		PaceAlways:      o.Pace == "always",
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
		inv.Org = true
		inv.AllRegions = len(o.Regions) == 0
	} else {
		cfg, err := awskms.LoadConfig(ctx, o.env.Getenv, o.Profile, o.client)
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

	// 4,000 SDK calls make short-lived garbage; the scan is a batch job
	// (about 25 MB more for 2,000 keys, 10% less time).
	defer batchGC(o.env)()
	started := o.env.Now()
	res, err := awskms.Inventory(ctx, inv)
	if err != nil {
		return scanFatal(err, o)
	}
	finished := o.env.Now()
	// Rotation dates are AWS's: judge them by AWS's clock (its Date header)
	// rather than a local one that may be skewed, or an emulator's that a
	// test has moved.
	if !res.ServerTime.IsZero() {
		o.policy.Now = res.ServerTime
	}

	doc := newDocument("aws", o.policy, started, finished)
	doc.Scan.Accounts = res.Accounts
	doc.Scan.Regions = res.Regions
	doc.Scan.Calls = res.Calls
	for _, a := range res.Skipped {
		doc.Scan.SkippedAccounts = append(doc.Scan.SkippedAccounts, report.SkippedAccount{AccountID: a.AccountID, State: a.State})
	}
	for _, k := range res.Keys {
		doc.Findings = append(doc.Findings, check.Evaluate(k, o.policy))
	}
	for _, e := range res.Errors {
		doc.Errors = append(doc.Errors, report.ScanError{
			AccountID: e.AccountID, Region: e.Region, Operation: e.Operation, Code: e.Code, Message: e.Message,
		})
	}
	doc.Finalize()

	if err := writeReport(o, doc); err != nil {
		return err
	}
	if o.Demo {
		fmt.Fprintln(o.env.Stderr, "kmsrotor: this was the built-in demo organization, scanned on a local emulator: no AWS account was used.")
	}
	return resultCode(doc.Summary.Fail, !doc.Scan.Complete)
}

// scanFatal turns an error that stopped the scan into the message users see.
func scanFatal(err error, o *scanOptions) error {
	var ce *awskms.CredentialsError
	if errors.As(err, &ce) {
		if ce.Rejected {
			return fmt.Errorf("AWS rejected the credentials (%s): check --profile or your AWS_* variables, or run 'kmsrotor scan --demo' to try kmsrotor without AWS", ce.Code)
		}
		where := "no AWS credentials found"
		if o.Profile != "" {
			where = fmt.Sprintf("no usable AWS credentials in profile %q", o.Profile)
		}
		return fmt.Errorf("%s: pass --profile NAME or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run 'kmsrotor scan --demo' to try kmsrotor without AWS", where)
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return fmt.Errorf("cannot reach AWS at %s (%v): check the network, a proxy, and AWS_ENDPOINT_URL if you set one", opErr.Addr, opErr.Err)
	}
	return err
}

// writeReport writes to --output-file atomically (a temporary file renamed
// into place, so a reader never sees half a report), else to stdout.
func writeReport(o *scanOptions, doc *report.Document) error {
	if o.OutputFile == "" {
		return report.Write(o.env.Stdout, o.format, doc, report.Options{Terminal: o.env.StdoutTTY, ShowSkipped: o.ShowSkipped})
	}
	path := o.OutputFile
	if !filepath.IsAbs(path) && o.env.WorkingDir != "" {
		path = filepath.Join(o.env.WorkingDir, path)
	}
	return writeFileAtomic(path, func(w io.Writer) error {
		return report.Write(w, o.format, doc, report.Options{ShowSkipped: o.ShowSkipped})
	})
}

func writeFileAtomic(path string, write func(io.Writer) error) error {
	if err := atomicfile.Write(path, 0o644, write); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}
