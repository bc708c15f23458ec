package cli

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kmsrotor/kmsrotor/internal/awskms"
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

// validateSelection checks the account-selection flags and resolves
// --accounts, --shard and the run ID.
func (o *scanOptions) validateSelection(cmd *cobra.Command) error {
	for _, ou := range o.OUs {
		if !ouPattern.MatchString(ou) {
			return usagef("--ou %q is not an organizational unit ID (like ou-ab12-cd34ef56) or a root ID (like r-ab12)", ou)
		}
	}
	if o.AccountsFlag != "" {
		accounts, err := parseAccounts(o.AccountsFlag, o.env.WorkingDir)
		if err != nil {
			return err
		}
		o.accounts = accounts
	}
	for _, a := range o.ExcludeAccounts {
		if !accountPattern.MatchString(a) {
			return usagef("--exclude-accounts %q is not a 12-digit account ID", a)
		}
	}
	modes := 0
	for _, on := range []bool{o.Org, len(o.OUs) > 0, len(o.accounts) > 0 || len(o.RoleARNs) > 0} {
		if on {
			modes++
		}
	}
	switch {
	case o.Org && len(o.RoleARNs) > 0:
		return usagef("--org and --role-arn cannot be used together")
	case modes > 1:
		return usagef("choose one of --org, --ou and --accounts (or --role-arn)")
	}
	if len(o.Profiles) > 0 {
		if o.Profile != "" {
			return usagef("--profile and --profiles cannot be used together: name every profile in --profiles")
		}
		if o.Demo {
			return usagef("--demo scans a built-in estate and uses no profile: drop --profiles or --demo")
		}
		for _, p := range o.Profiles {
			if strings.TrimSpace(p) == "" {
				return usagef("--profiles has an empty profile name")
			}
		}
	}
	usesRoleName := o.Org || len(o.OUs) > 0 || slices.ContainsFunc(o.accounts, func(a string) bool { return !strings.HasPrefix(a, "arn:") })
	if cmd.Flags().Changed("role-name") && !usesRoleName && !o.Demo {
		return usagef("--role-name applies only with --org, --ou or --accounts with account IDs")
	}
	if !sessionNamePattern.MatchString(o.RoleSessionName) {
		return usagef("--role-session-name %q must be 2 to 64 letters, digits or +=,.@_-", o.RoleSessionName)
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
	return nil
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
