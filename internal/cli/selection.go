package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kmsrotor/kmsrotor/internal/awskms"
	"github.com/kmsrotor/kmsrotor/internal/kmsemu"
	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

var (
	// ouPattern is an organizational unit or root ID (Organizations API).
	ouPattern = regexp.MustCompile(`^(ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}|r-[0-9a-z]{4,32})$`)
	// accountPattern is an AWS account ID.
	accountPattern = regexp.MustCompile(`^\d{12}$`)
	// sessionNamePattern is STS's RoleSessionName (2–64).
	sessionNamePattern = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	shardPattern       = regexp.MustCompile(`^(\d+)/(\d+)$`)
)

// maxAccountsFile bounds an --accounts @FILE: a million accounts would be
// a few tens of megabytes.
const maxAccountsFile = 64 << 20

// selection is what a command acts on, shared by scan and fix: the base
// credentials (a profile, several, or the demo), the accounts (the
// credentials' own, the organization's, OUs', or a list, less exclusions),
// the roles that enter them, and the Regions.
type selection struct {
	Profile         string
	Profiles        []string
	Regions         []string
	RegionsMode     string // --regions: "" or "all"
	Org             bool
	OUs             []string
	AccountsFlag    string
	ExcludeAccounts []string
	RoleName        string
	RoleARNs        []string
	RoleSessionName string
	ExternalID      string
	Demo            bool

	// Set by validate.
	accounts []string

	// client tunes retries and timeouts; tests shorten them.
	client awskms.ClientOptions
	// demoEmulator configures the in-process emulator of --demo.
	demoEmulator func() kmsemu.Options
	env          *Env
}

// bind registers the selection flags; verb ("scan", "fix") words their help.
func (s *selection) bind(f *pflag.FlagSet, verb string) {
	f.StringVar(&s.Profile, "profile", "", "shared config profile to use")
	f.StringSliceVar(&s.Profiles, "profiles", nil, verb+" from each of these shared-config profiles (comma-separated), each with its own credentials")
	f.StringArrayVar(&s.Regions, "region", nil, "Region to "+verb+" (repeatable; default the configured Region)")
	f.StringVar(&s.RegionsMode, "regions", "", `"all": every Region enabled for each account (EC2 DescribeRegions)`)
	f.BoolVar(&s.Org, "org", false, verb+" every active account of the organization (run from the management account)")
	f.StringSliceVar(&s.OUs, "ou", nil, verb+" the active accounts under these organizational units, recursively (ou-…, comma-separated or repeated; run from the management account)")
	f.StringVar(&s.AccountsFlag, "accounts", "", verb+" these accounts: comma-separated account IDs (entered through --role-name) or role ARNs, or @FILE with one per line")
	f.StringSliceVar(&s.ExcludeAccounts, "exclude-accounts", nil, "never "+verb+" these account IDs (comma-separated)")
	f.StringVar(&s.RoleName, "role-name", awskms.DefaultRoleName, "role to assume in each member account with --org, --ou or --accounts")
	f.StringArrayVar(&s.RoleARNs, "role-arn", nil, verb+" the account of this role, assuming it (repeatable)")
	f.StringVar(&s.RoleSessionName, "role-session-name", awskms.DefaultSessionName, "session name of the assumed roles (shows in CloudTrail)")
	f.StringVar(&s.ExternalID, "external-id", "", "external ID to pass when assuming roles")
	f.BoolVar(&s.Demo, "demo", false, verb+" a built-in demo organization on a local emulator (no AWS account needed)")
}

// validate checks the selection flags before any API call and resolves
// --accounts.
func (s *selection) validate(cmd *cobra.Command, env *Env) error {
	s.env = env
	for _, r := range s.Regions {
		if !regionPattern.MatchString(r) {
			return usagef("%q is not a Region name (like us-east-1)", r)
		}
		if !kmskey.KnownRegion(r) {
			return usagef("%q is not an AWS Region kmsrotor knows (check the spelling; a Region AWS opened after this release needs a newer kmsrotor)", r)
		}
	}
	switch s.RegionsMode {
	case "":
	case "all":
		if len(s.Regions) > 0 {
			return usagef("--regions all and --region cannot be used together")
		}
	default:
		return usagef("--regions accepts only \"all\", not %q: name single Regions with --region", s.RegionsMode)
	}
	if s.Demo && s.Profile != "" {
		return usagef("--demo scans a built-in estate on a local emulator and uses no profile: drop --profile or --demo")
	}
	if s.Demo && len(s.RoleARNs) > 0 {
		return usagef("--demo scans the demo organization: drop --role-arn or --demo")
	}
	for _, ou := range s.OUs {
		if !ouPattern.MatchString(ou) {
			return usagef("--ou %q is not an organizational unit ID (like ou-ab12-cd34ef56) or a root ID (like r-ab12)", ou)
		}
	}
	if s.AccountsFlag != "" {
		accounts, err := parseAccounts(s.AccountsFlag, env.WorkingDir)
		if err != nil {
			return err
		}
		s.accounts = accounts
	}
	for _, a := range s.ExcludeAccounts {
		if !accountPattern.MatchString(a) {
			return usagef("--exclude-accounts %q is not a 12-digit account ID", a)
		}
	}
	modes := 0
	for _, on := range []bool{s.Org, len(s.OUs) > 0, len(s.accounts) > 0 || len(s.RoleARNs) > 0} {
		if on {
			modes++
		}
	}
	switch {
	case s.Org && len(s.RoleARNs) > 0:
		return usagef("--org and --role-arn cannot be used together")
	case modes > 1:
		return usagef("choose one of --org, --ou and --accounts (or --role-arn)")
	}
	if len(s.Profiles) > 0 {
		if s.Profile != "" {
			return usagef("--profile and --profiles cannot be used together: name every profile in --profiles")
		}
		if s.Demo {
			return usagef("--demo scans a built-in estate and uses no profile: drop --profiles or --demo")
		}
		for _, p := range s.Profiles {
			if strings.TrimSpace(p) == "" {
				return usagef("--profiles has an empty profile name")
			}
		}
	}
	usesRoleName := s.Org || len(s.OUs) > 0 || slices.ContainsFunc(s.accounts, func(a string) bool { return !strings.HasPrefix(a, "arn:") })
	if cmd.Flags().Changed("role-name") && !usesRoleName && !s.Demo {
		return usagef("--role-name applies only with --org, --ou or --accounts with account IDs")
	}
	if !roleNamePattern.MatchString(s.RoleName) {
		return usagef("%q is not a role name", s.RoleName)
	}
	for _, arn := range s.RoleARNs {
		if !roleARNPattern.MatchString(arn) {
			return usagef("%q is not a role ARN (like arn:aws:iam::123456789012:role/Audit)", arn)
		}
	}
	if !sessionNamePattern.MatchString(s.RoleSessionName) {
		return usagef("--role-session-name %q must be 2 to 64 letters, digits or +=,.@_-", s.RoleSessionName)
	}
	if s.ExternalID != "" {
		if !s.Org && len(s.RoleARNs) == 0 && len(s.OUs) == 0 && len(s.accounts) == 0 {
			return usagef("--external-id applies only with --org, --ou, --accounts or --role-arn")
		}
		if n := len(s.ExternalID); n < 2 || n > 1224 {
			return usagef("--external-id must be 2 to 1224 characters long")
		}
	}
	return nil
}

// awsOptions turns the selection into the session's options: the demo's
// emulator started (close stops it), or the user's configuration loaded.
func (s *selection) awsOptions(ctx context.Context) (opts awskms.Options, close func(), err error) {
	opts = awskms.Options{
		Regions:         s.Regions,
		AllRegions:      s.RegionsMode == "all",
		Org:             s.Org,
		OUs:             s.OUs,
		Accounts:        s.accounts,
		RoleName:        s.RoleName,
		RoleARNs:        s.RoleARNs,
		RoleSessionName: s.RoleSessionName,
		ExcludeAccounts: s.ExcludeAccounts,
		ExternalID:      s.ExternalID,
	}
	close = func() {}
	if s.Demo {
		emu, err := kmsemu.Start(s.demoEmulator(), "127.0.0.1:0")
		if err != nil {
			return opts, close, fmt.Errorf("start the demo emulator: %w", err)
		}
		// Explicit configuration: nothing of the user's AWS_* variables or
		// files reaches the demo.
		opts.Config = awskms.StaticConfig(emu.URL, kmsemu.DefaultRegion, kmsemu.DefaultAccessKeyID, kmsemu.DefaultSecretAccessKey, s.client)
		if len(opts.OUs) == 0 && len(opts.Accounts) == 0 {
			opts.Org = true
		}
		opts.AllRegions = len(s.Regions) == 0
		return opts, func() { emu.Close() }, nil
	}
	if len(s.Profiles) > 0 {
		opts.Profiles = s.Profiles
		opts.LoadProfile = func(ctx context.Context, p string) (aws.Config, error) {
			return awskms.LoadConfig(ctx, s.env.Getenv, p, s.client)
		}
	}
	cfg, err := awskms.LoadConfig(ctx, s.env.Getenv, s.Profile, s.client)
	if err != nil {
		return opts, close, usageErr(err)
	}
	if len(s.Regions) == 0 && !opts.AllRegions && len(s.Profiles) == 0 {
		if cfg.Region == "" {
			return opts, close, usagef("no AWS Region configured: pass --region REGION (or --regions all), or set AWS_REGION")
		}
		if !regionPattern.MatchString(cfg.Region) {
			return opts, close, usagef("the configured Region %q is not a Region name: pass --region REGION or fix AWS_REGION or the profile", cfg.Region)
		}
	}
	opts.Config = cfg
	return opts, close, nil
}

// parseAccounts reads --accounts: a comma-separated list, or @FILE with one
// account ID or role ARN per line (blank lines and # comments ignored).
func parseAccounts(flag, workingDir string) ([]string, error) {
	type entry struct {
		where string
		value string
	}
	var entries []entry
	if name, ok := strings.CutPrefix(flag, "@"); ok {
		path := name
		if !filepath.IsAbs(path) && workingDir != "" {
			path = filepath.Join(workingDir, path)
		}
		st, err := os.Stat(path)
		if err != nil {
			return nil, usagef("--accounts @%s: cannot read the file: %v", name, unwrapPath(err))
		}
		if st.Size() > maxAccountsFile {
			return nil, usagef("--accounts @%s: the file is larger than %d MiB; split the run with --shard", name, maxAccountsFile>>20)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, usagef("--accounts @%s: cannot read the file: %v", name, unwrapPath(err))
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if i := strings.IndexByte(line, '#'); i >= 0 {
				line = strings.TrimSpace(line[:i])
			}
			if line != "" {
				entries = append(entries, entry{fmt.Sprintf("--accounts @%s line %d", name, n), line})
			}
		}
		if err := sc.Err(); err != nil {
			return nil, usagef("--accounts @%s: %v", name, err)
		}
		if len(entries) == 0 {
			return nil, usagef("--accounts @%s names no account: write one account ID or role ARN per line", name)
		}
	} else {
		for i, v := range strings.Split(flag, ",") {
			v = strings.TrimSpace(v)
			if v == "" {
				return nil, usagef("--accounts entry %d is empty: separate account IDs or role ARNs with single commas", i+1)
			}
			entries = append(entries, entry{"--accounts", v})
		}
	}
	var out []string
	for _, e := range entries {
		if !accountPattern.MatchString(e.value) && !roleARNPattern.MatchString(e.value) {
			return nil, usagef("%s: %q is neither a 12-digit account ID nor a role ARN (like arn:aws:iam::123456789012:role/Audit)", e.where, printable(e.value))
		}
		out = append(out, e.value)
	}
	return out, nil
}

// printable shortens a bad value for an error message.
func printable(s string) string {
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return s
}

func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// parseShard reads --shard I/N, or --shard-count N with the index from the
// scheduler's environment: JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or
// AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch array job), both counted from 0.
func parseShard(flag string, count int, getenv func(string) string) (awskms.Shard, error) {
	if flag != "" {
		m := shardPattern.FindStringSubmatch(flag)
		if m == nil {
			return awskms.Shard{}, usagef("--shard %q: write it as I/N, like 2/4 for the second of four shards", flag)
		}
		i, _ := strconv.Atoi(m[1])
		n, _ := strconv.Atoi(m[2])
		if n < 1 || i < 1 || i > n {
			return awskms.Shard{}, usagef("--shard %s: the index must be between 1 and %d", flag, max(n, 1))
		}
		if count != 0 && count != n {
			return awskms.Shard{}, usagef("--shard %s and --shard-count %d disagree: give one of them", flag, count)
		}
		return awskms.Shard{Index: i, Count: n}, nil
	}
	if count == 0 {
		return awskms.Shard{}, nil
	}
	if count < 1 {
		return awskms.Shard{}, usagef("--shard-count %d must be at least 1", count)
	}
	for _, v := range []string{"JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX"} {
		s := getenv(v)
		if s == "" {
			continue
		}
		i, err := strconv.Atoi(s)
		if err != nil || i < 0 || i >= count {
			return awskms.Shard{}, usagef("%s=%q is not a shard index from 0 to %d (--shard-count %d)", v, s, count-1, count)
		}
		return awskms.Shard{Index: i + 1, Count: count}, nil
	}
	return awskms.Shard{}, usagef("--shard-count %d needs the shard's index: set JOB_COMPLETION_INDEX or AWS_BATCH_JOB_ARRAY_INDEX, or pass --shard I/%d", count, count)
}

// defaultRunID identifies a run by what it scans and how it judges, and the
// UTC day: shards started from the same command on the same day agree
// without talking, and kmsrotor merge refuses a shard of another run.
func (o *scanOptions) defaultRunID() string {
	h := sha256.New()
	fmt.Fprintf(h, "profile=%s profiles=%v regions=%v mode=%s org=%v ou=%v accounts=%v roles=%v exclude=%v role=%s demo=%v shards=%d policy=%d/%d/%v day=%s",
		o.Profile, o.Profiles, o.Regions, o.RegionsMode, o.Org, o.OUs, o.accounts, o.RoleARNs, o.ExcludeAccounts, o.RoleName,
		o.Demo, o.shard.Count, o.MaxRotationDays, o.GraceDays, o.IncludeDisabled, o.env.Now().UTC().Format("2006-01-02"))
	return hex.EncodeToString(h.Sum(nil))[:16]
}
