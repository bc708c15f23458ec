package report

import (
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

// catalogRule is the catalog's rule of a finding; a finding of a rule the
// catalog does not know is described as the rotation rule's.
func catalogRule(f *check.Finding) *check.Rule {
	if r, ok := check.Catalog[f.CheckID]; ok {
		return r
	}
	return &check.RotationRule
}

// ruleOf reads the rule text of a finding from the rule catalog, with the
// seed's four remediation forms filled for the finding's key: the finding's
// own remediation where it has them, the catalog's fix otherwise.
func ruleOf(f *check.Finding, maxDays int) rule {
	cat := catalogRule(f)
	rt := cachedReason(cat, f.Reason, maxDays)
	r := rule{
		Title:       rt.Title,
		Description: rt.Description,
		Risk:        strings.Join(cat.Risk, " "),
		Remediation: f.Remediation.Text,
		URL:         orDefault(f.Remediation.URL, cat.URL),
	}
	if f.Status == check.StatusPass || f.Status == check.StatusSkipped {
		r.Title = cat.Title
		r.Description = f.Message
		return r
	}
	if f.Status != check.StatusFail {
		return r
	}
	target := orDefault(f.Remediation.TargetKeyARN, orDefault(f.KeyARN, orDefault(f.KeyID, f.Resource)))
	region := orDefault(f.Remediation.TargetRegion, f.Region)
	period := 0
	if f.Reason == check.ReasonPeriodExceedsPolicy {
		period = maxDays
	}
	fix := check.EnableFix(target, target, region, period)
	if f.Reason == check.ReasonRotationOverdue {
		fix = check.RotateNowFix(target, target, region)
	}
	r.Console = orDefault(f.Remediation.Console, fix.Console)
	r.CLI = f.Remediation.CLI
	if r.CLI == "" && f.File == "" {
		r.CLI = fix.CLI
	}
	r.CloudFormation = orDefault(f.Remediation.CloudFormation, strings.Join(fix.CloudFormation, "\n"))
	r.Terraform = orDefault(f.Remediation.Terraform, strings.Join(fix.Terraform, "\n"))
	return r
}

// findingID is the finding's stable ID (check's finding_id), computed for
// a finding read from a report that predates it.
func findingID(f *check.Finding) string {
	if f.ID != "" {
		return f.ID
	}
	return f.StableID()
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
	rule    *check.Rule
	reason  string
	maxDays int
}

// reasons caches the catalog's reason entries, whose help texts are built
// on each call: a run has a handful of (reason, policy) pairs and many
// findings.
var reasons sync.Map // reasonKey -> check.ReasonRule

func cachedReason(cat *check.Rule, reason string, maxDays int) check.ReasonRule {
	k := reasonKey{cat, reason, maxDays}
	if v, ok := reasons.Load(k); ok {
		return v.(check.ReasonRule)
	}
	rt := cat.Reason(reason, maxDays)
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
