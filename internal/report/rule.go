package report

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/kmsrotor/kmsrotor/internal/check"
)

// rule is what the formats of this file's siblings (OCSF, ASFF, CSV,
// JUnit, Markdown, HTML) say of the rule behind a finding: its title,
// description, risk and the seed's four remediation forms filled in for the
// finding's key.
type rule struct {
	Title       string
	Description string
	Risk        string
	// Console, CLI, CloudFormation and Terraform are empty when there is
	// nothing to fix (PASS, SKIPPED) or the form does not apply.
	Console, CLI, CloudFormation, Terraform string
	// Remediation is the finding's one-sentence fix.
	Remediation string
	URL         string
}

// seedRisk is the seed document's risk of a key that does not rotate.
const seedRisk = "The same key material is used indefinitely, which widens the exposure if it is ever compromised; " +
	"frameworks such as PCI DSS, HIPAA and SOC 2 require regular key rotation; without rotation there is no quick response " +
	"to a suspected compromise, and all data encrypted under the key stays at risk until it is rotated by hand."

// ruleOf reads the rule text of a finding. It is the one place these
// writers read rule text: it is built from the SARIF writer's rule words
// (describeReason) and the finding's Remediation until the rule catalog
// (check.Catalog) lands, when it is pointed there.
func ruleOf(f *check.Finding, maxDays int) rule {
	rt := cachedReason(f.Reason, maxDays)
	r := rule{
		Title:       rt.short,
		Description: rt.full,
		Risk:        seedRisk,
		Remediation: f.Remediation.Text,
		URL:         orDefault(f.Remediation.URL, check.DocURL),
	}
	if f.Status == check.StatusPass || f.Status == check.StatusSkipped {
		r.Title = "KMS customer-managed symmetric key has automatic rotation enabled"
		r.Description = f.Message
		return r
	}
	if f.Status != check.StatusFail {
		return r
	}
	target := orDefault(f.Remediation.TargetKeyARN, orDefault(f.KeyARN, orDefault(f.KeyID, f.Resource)))
	region := orDefault(f.Remediation.TargetRegion, orDefault(f.Region, "<region>"))
	period := 0
	if f.Reason == check.ReasonPeriodExceedsPolicy {
		period = maxDays
	}
	r.Console = fmt.Sprintf("Sign in to the AWS Console in %s > Key Management Service > Customer managed keys > %s > Key rotation > Edit > check \"Automatically rotate this KMS key\"", region, target)
	if period > 0 {
		r.Console += fmt.Sprintf(", set the rotation period to %d days", period)
	}
	r.Console += " > Save."
	r.CLI = f.Remediation.CLI
	if r.CLI == "" && f.File == "" {
		r.CLI = strings.ReplaceAll(strings.ReplaceAll(cliCommand(period), "<key-id>", target), "<region>", region)
	}
	r.CloudFormation = orDefault(f.Remediation.CloudFormation, strings.Join(cfnFix(period), "\n"))
	r.Terraform = orDefault(f.Remediation.Terraform, strings.Join(alignHCL(tfFix(period)), "\n"))
	return r
}

// findingID is the stable ID of a finding: the same key and rule give the
// same ID on every run. To be replaced by check's finding_id when the rule
// catalog lands (same inputs: partition, account, Region, key, rule).
func findingID(f *check.Finding) string {
	key := orDefault(f.KeyID, orDefault(f.KeyARN, f.File+":"+f.Resource))
	h := sha256.Sum256([]byte(strings.Join([]string{partitionOf(f), f.AccountID, f.Region, key, f.CheckID}, "|")))
	return hex.EncodeToString(h[:16])
}

// partitionOf reads the partition from the key ARN; aws when there is none.
func partitionOf(f *check.Finding) string {
	if p, ok := strings.CutPrefix(f.KeyARN, "arn:"); ok {
		if i := strings.IndexByte(p, ':'); i > 0 {
			return p[:i]
		}
	}
	return "aws"
}

// resourceUID names a finding's key: its ARN, else its IaC address.
func resourceUID(f *check.Finding) string {
	switch {
	case f.KeyARN != "":
		return f.KeyARN
	case f.File != "":
		if f.Resource != "" {
			return fmt.Sprintf("%s:%d:%s", f.File, f.StartLine, f.Resource)
		}
		return fmt.Sprintf("%s:%d", f.File, f.StartLine)
	}
	return f.KeyID
}

// dateOrEmpty writes a rotation date as a day, or nothing.
func dateOf(f *check.Finding, next bool) string {
	t := f.Rotation.LastRotationDate
	if next {
		t = f.Rotation.NextRotationDate
	}
	if t == nil {
		return ""
	}
	return t.UTC().Format("2006-01-02")
}

func boolOf(b *bool) string {
	if b == nil {
		return ""
	}
	if *b {
		return "true"
	}
	return "false"
}

type reasonKey struct {
	reason  string
	maxDays int
}

// reasons caches describeReason, which builds every help text of a reason
// each time: a run has a handful of (reason, policy) pairs and many findings.
var reasons sync.Map // reasonKey -> reasonText

func cachedReason(reason string, maxDays int) reasonText {
	k := reasonKey{reason, maxDays}
	if v, ok := reasons.Load(k); ok {
		return v.(reasonText)
	}
	rt := describeReason(reason, maxDays)
	reasons.Store(k, rt)
	return rt
}

// complianceJSON encodes a finding's compliance mapping once for the run:
// the findings of a run share one mapping (the rule catalog's), so the
// encoding of the last one seen is reused while the mapping is equal.
type complianceJSON struct {
	last map[string][]string
	enc  json.RawMessage
	reqs []string
	text string // framework:req|req;… for the CSV
}

func (c *complianceJSON) refresh(m map[string][]string) {
	if c.enc != nil && maps.EqualFunc(c.last, m, slices.Equal) {
		return
	}
	if m == nil {
		m = map[string][]string{}
	}
	c.enc, _ = json.Marshal(m)
	c.last = make(map[string][]string, len(m))
	for k, v := range m {
		c.last[k] = slices.Clone(v)
	}
	c.reqs = asffRequirements(m)
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+":"+strings.Join(m[k], "|"))
	}
	c.text = strings.Join(parts, ";")
}

func (c *complianceJSON) csv(m map[string][]string) string {
	c.refresh(m)
	return c.text
}

func (c *complianceJSON) of(m map[string][]string) json.RawMessage {
	c.refresh(m)
	return c.enc
}

func (c *complianceJSON) requirements(m map[string][]string) []string {
	c.refresh(m)
	return c.reqs
}
