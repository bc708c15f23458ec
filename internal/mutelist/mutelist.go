// Package mutelist reads a Prowler mutelist (YAML) and mutes the findings it
// matches. The shape is Prowler's:
//
//	Mutelist:
//	  Accounts:
//	    "123456789012":          # or "*"
//	      Checks:
//	        "kms_cmk_rotation_enabled":   # a regular expression, or "*"
//	          Regions: ["eu-west-1"]      # regular expressions; "*" for all
//	          Resources: ["alias/legacy-.*"]
//	          Tags: ["env=dev"]           # any one matches (OR)
//	          Exceptions:
//	            Accounts: []
//	            Regions: []
//	            Resources: []
//	            Tags: []
//	          reason: "legacy keys, ticket SEC-123"   # kmsrotor's addition
//	          expires: 2026-12-31                     # kmsrotor's addition
//
// Matching is Prowler's: an account key matches exactly or is "*"; every
// other item is a regular expression searched (not anchored) in the value,
// where a leading "*" means ".*" and "*" alone matches anything. A finding's
// resources are its key ARN, key ID and aliases (and, for IaC, its resource
// address); its tags are written "key=value" and joined with " | ", as
// Prowler does. An entry mutes a finding when its Regions, Resources and
// Tags all match and its Exceptions do not; an exception matches when each
// of its non-empty lists matches. An entry whose expires date has passed
// mutes nothing and is reported by Warnings.
package mutelist

import (
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/kmsrotor/kmsrotor/internal/check"
)

// List is a parsed mutelist.
type List struct {
	file     string
	entries  []*entry
	warnings []string
}

type entry struct {
	line                     int
	account, check           string
	checkRE                  *regexp.Regexp
	regions, resources, tags []*regexp.Regexp
	exceptions               *exception
	reason                   string
	expires                  time.Time // zero: never
	expired                  bool
}

type exception struct {
	accounts, regions, resources, tags []*regexp.Regexp
}

// Load reads and parses the mutelist file at path; now decides which entries
// have expired.
func Load(path string, now time.Time) (*List, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mutelist %s: %w", path, err)
	}
	return Parse(path, data, now)
}

// Parse parses a mutelist; file names it in errors and warnings. An error
// names the file and line and says what is wrong.
func Parse(file string, data []byte, now time.Time) (*List, error) {
	l := &List{file: file}
	var doc node
	if err := unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("mutelist %s: not valid YAML: %s", file, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if doc.Kind == 0 {
		return nil, fmt.Errorf("mutelist %s: the file is empty; it must start with the key Mutelist", file)
	}
	root := &doc
	if root.Kind == documentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	p := parser{file: file}
	top, err := p.mapping(root, "the document", "Mutelist")
	if err != nil {
		return nil, err
	}
	ml, ok := top["Mutelist"]
	if !ok {
		return nil, p.errorf(root, "the document has no Mutelist key; write Mutelist: then Accounts:")
	}
	mm, err := p.mapping(ml.value, "Mutelist", "Accounts")
	if err != nil {
		return nil, err
	}
	accounts, ok := mm["Accounts"]
	if !ok {
		return nil, p.errorf(ml.value, "Mutelist has no Accounts key")
	}
	if err := p.kind(accounts.value, mappingNode, "Accounts", "a mapping of account IDs (or \"*\") to Checks"); err != nil {
		return nil, err
	}
	for i := 0; i+1 < len(accounts.value.Content); i += 2 {
		acctKey, acctVal := accounts.value.Content[i], accounts.value.Content[i+1]
		account := acctKey.Value
		am, err := p.mapping(acctVal, "account "+account, "Checks")
		if err != nil {
			return nil, err
		}
		checks, ok := am["Checks"]
		if !ok {
			return nil, p.errorf(acctVal, "account %s has no Checks key", account)
		}
		if err := p.kind(checks.value, mappingNode, "Checks of account "+account, "a mapping of check names to entries"); err != nil {
			return nil, err
		}
		for j := 0; j+1 < len(checks.value.Content); j += 2 {
			ck, cv := checks.value.Content[j], checks.value.Content[j+1]
			e, err := p.entry(account, ck, cv)
			if err != nil {
				return nil, err
			}
			if !e.expires.IsZero() && !now.Before(e.expires) {
				e.expired = true
				l.warnings = append(l.warnings, fmt.Sprintf("mutelist %s line %d: the entry for account %s, check %s expired on %s and no longer mutes; renew or remove it",
					file, e.line, account, e.check, e.expires.Add(-24*time.Hour).Format(time.DateOnly)))
			}
			l.entries = append(l.entries, e)
		}
	}
	return l, nil
}

// Warnings lists the entries that have expired, one sentence each.
func (l *List) Warnings() []string { return slices.Clone(l.warnings) }

// UsesTags reports whether an entry or exception matches on tags: the scan
// then reads each key's tags (ListResourceTags), which it does not
// otherwise need.
func (l *List) UsesTags() bool {
	for _, e := range l.entries {
		if len(e.tags) > 0 || (e.exceptions != nil && len(e.exceptions.tags) > 0) {
			return true
		}
	}
	return false
}

// Apply sets f.Muted when an unexpired entry matches f, and says whether it
// did and the entry's reason. A muted finding keeps its status.
func (l *List) Apply(f *check.Finding) (reason string, muted bool) {
	if l == nil {
		return "", false
	}
	res := resources(f)
	tags := tagString(f.Tags)
	for _, e := range l.entries {
		if e.expired || (e.account != "*" && e.account != f.AccountID) {
			continue
		}
		if e.checkRE != nil && !e.checkRE.MatchString(strings.ToLower(f.CheckID)) {
			continue
		}
		if !anyMatch(e.regions, f.Region) || !anyResource(e.resources, res) || !anyMatch(e.tags, tags) {
			continue
		}
		if e.exceptions.matches(f.AccountID, f.Region, res, tags) {
			continue
		}
		f.Muted = true
		return e.reason, true
	}
	return "", false
}

func (x *exception) matches(account, region string, res []string, tags string) bool {
	if x == nil || (len(x.accounts) == 0 && len(x.regions) == 0 && len(x.resources) == 0 && len(x.tags) == 0) {
		return false
	}
	return (len(x.accounts) == 0 || anyMatch(x.accounts, account)) &&
		(len(x.regions) == 0 || anyMatch(x.regions, region)) &&
		(len(x.resources) == 0 || anyResource(x.resources, res)) &&
		(len(x.tags) == 0 || anyMatch(x.tags, tags))
}

// anyMatch: an empty list (the field left out) matches everything.
func anyMatch(res []*regexp.Regexp, s string) bool {
	if len(res) == 0 {
		return true
	}
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

func anyResource(res []*regexp.Regexp, values []string) bool {
	if len(res) == 0 {
		return true
	}
	for _, v := range values {
		if anyMatch(res, v) {
			return true
		}
	}
	return false
}

// resources are the names a finding's key goes by.
func resources(f *check.Finding) []string {
	var out []string
	for _, s := range append([]string{f.KeyARN, f.KeyID, f.Resource}, f.Aliases...) {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// tagString writes tags as Prowler matches them: "k=v | k2=v2", sorted.
func tagString(tags map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		parts = append(parts, k+"="+tags[k])
	}
	return strings.Join(parts, " | ")
}

type parser struct{ file string }

type field struct{ key, value *node }

func (p parser) errorf(n *node, format string, args ...any) error {
	return fmt.Errorf("mutelist %s line %d: %s", p.file, n.Line, fmt.Sprintf(format, args...))
}

func (p parser) kind(n *node, k yamlKind, what, want string) error {
	if n.Kind == aliasNode && n.Alias != nil {
		*n = *n.Alias
	}
	if n.Kind != k {
		return p.errorf(n, "%s must be %s", what, want)
	}
	return nil
}

// mapping decodes a mapping node whose keys must be among allowed.
func (p parser) mapping(n *node, what string, allowed ...string) (map[string]field, error) {
	if err := p.kind(n, mappingNode, what, "a mapping with "+strings.Join(allowed, ", ")); err != nil {
		return nil, err
	}
	out := map[string]field{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !slices.Contains(allowed, k.Value) {
			return nil, p.errorf(k, "%s has an unknown key %q; allowed: %s", what, k.Value, strings.Join(allowed, ", "))
		}
		if _, dup := out[k.Value]; dup {
			return nil, p.errorf(k, "%s has %s twice", what, k.Value)
		}
		out[k.Value] = field{k, n.Content[i+1]}
	}
	return out, nil
}

func (p parser) entry(account string, ck, cv *node) (*entry, error) {
	what := fmt.Sprintf("check %s of account %s", ck.Value, account)
	e := &entry{line: ck.Line, account: account, check: ck.Value}
	if ck.Value != "*" {
		re, err := p.regexp(ck, strings.ToLower(ck.Value))
		if err != nil {
			return nil, err
		}
		e.checkRE = re
	}
	fields, err := p.mapping(cv, what, "Regions", "Resources", "Tags", "Exceptions", "reason", "expires")
	if err != nil {
		return nil, err
	}
	for name, dst := range map[string]*[]*regexp.Regexp{"Regions": &e.regions, "Resources": &e.resources, "Tags": &e.tags} {
		if f, ok := fields[name]; ok {
			if *dst, err = p.patterns(f.value, name+" of "+what); err != nil {
				return nil, err
			}
		}
	}
	if f, ok := fields["reason"]; ok {
		if err := p.kind(f.value, scalarNode, "reason of "+what, "a string"); err != nil {
			return nil, err
		}
		e.reason = f.value.Value
	}
	if f, ok := fields["expires"]; ok {
		if err := p.kind(f.value, scalarNode, "expires of "+what, "a date (2026-12-31)"); err != nil {
			return nil, err
		}
		d, err := parseDate(f.value.Value)
		if err != nil {
			return nil, p.errorf(f.value, "expires of %s is %q, not a date; write it as 2026-12-31", what, f.value.Value)
		}
		e.expires = d
	}
	if f, ok := fields["Exceptions"]; ok {
		xf, err := p.mapping(f.value, "Exceptions of "+what, "Accounts", "Regions", "Resources", "Tags")
		if err != nil {
			return nil, err
		}
		x := &exception{}
		for name, dst := range map[string]*[]*regexp.Regexp{"Accounts": &x.accounts, "Regions": &x.regions, "Resources": &x.resources, "Tags": &x.tags} {
			if f, ok := xf[name]; ok {
				if *dst, err = p.patterns(f.value, "Exceptions "+name+" of "+what); err != nil {
					return nil, err
				}
			}
		}
		e.exceptions = x
	}
	return e, nil
}

// parseDate reads an expiry: a date means the end of that day (UTC), so
// "expires: 2026-12-31" still mutes on the 31st.
func parseDate(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.Add(24 * time.Hour), nil
	}
	return time.Parse(time.RFC3339, s)
}

func (p parser) patterns(n *node, what string) ([]*regexp.Regexp, error) {
	if err := p.kind(n, sequenceNode, what, "a list of strings"); err != nil {
		return nil, err
	}
	var out []*regexp.Regexp
	for _, item := range n.Content {
		if item.Kind != scalarNode {
			return nil, p.errorf(item, "%s must hold strings only", what)
		}
		re, err := p.regexp(item, item.Value)
		if err != nil {
			return nil, err
		}
		out = append(out, re)
	}
	return out, nil
}

// regexp compiles one item as Prowler does: "*" alone is anything, a
// leading "*" is ".*".
func (p parser) regexp(n *node, s string) (*regexp.Regexp, error) {
	switch {
	case s == "*":
		s = ".*"
	case strings.HasPrefix(s, "*"):
		s = ".*" + s[1:]
	}
	re, err := regexp.Compile(s)
	if err != nil {
		return nil, p.errorf(n, "%q is not a valid regular expression: %v", n.Value, err)
	}
	return re, nil
}
