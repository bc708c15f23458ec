// Package remediate turns scan findings into a plan of rotation changes,
// finds which keys CloudFormation stacks own (so that kmsrotor never creates
// drift a stack update would revert), applies the plan at AWS's
// EnableKeyRotation quota with a journal that survives a kill, reads every
// changed key back, and starts on-demand rotations.
package remediate

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/kmsrotor/kmsrotor/internal/check"
	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

// Action is what a plan does to a key.
type Action string

// The actions of a plan.
const (
	// ActionEnable turns automatic rotation on with the plan's period.
	ActionEnable Action = "enable_rotation"
	// ActionPeriod changes the period of a key that already rotates.
	ActionPeriod Action = "change_period"
)

// Why a key is left alone. They are part of the JSON plan: never rename one.
const (
	SkipIneligible     = "ineligible"
	SkipDisabled       = "key_disabled"
	SkipMuted          = "muted"
	SkipStackOwned     = "stack_owned"
	SkipManagedByTag   = "managed_by_tag"
	SkipOwnerUnknown   = "ownership_unchecked"
	SkipNotRead        = "not_read"
	SkipOverdue        = "rotation_overdue"
	SkipImported       = "imported_key_material"
	SkipExcludedByTag  = "excluded_by_tag"
	SkipNotSelected    = "not_selected_by_tag"
	SkipTagsUnreadable = "tags_unreadable"
)

// PlanOptions say what the plan aims for.
type PlanOptions struct {
	// PeriodDays is the rotation period to set (90–2560).
	PeriodDays int
	// MaxPeriodDays is the longest period left as it is on a rotating key;
	// longer ones are changed to PeriodDays. 0 means PeriodDays.
	MaxPeriodDays int
}

// Change is one key to change: the primary for a replica, in its own Region.
type Change struct {
	Action    Action `json:"action"`
	AccountID string `json:"account_id"`
	Region    string `json:"region"`
	KeyID     string `json:"key_id"`
	KeyARN    string `json:"key_arn"`
	Name      string `json:"name"`
	// FromPeriodDays is the current period of a key that rotates already.
	FromPeriodDays int `json:"from_period_days,omitempty"`
	PeriodDays     int `json:"period_days"`
	// Replicas are the findings' replica ARNs this change fixes too.
	Replicas []string `json:"replicas,omitempty"`
}

// LeftAlone is a key the plan does not change, and why.
type LeftAlone struct {
	AccountID string `json:"account_id"`
	Region    string `json:"region"`
	KeyID     string `json:"key_id"`
	KeyARN    string `json:"key_arn"`
	Name      string `json:"name"`
	// Why is one of the Skip* codes; Reason the finding's reason code.
	Why    string `json:"why"`
	Reason string `json:"reason,omitempty"`
	// Advice says what to do instead, in one or two sentences.
	Advice string `json:"advice"`
	// Stack and LogicalID name the CloudFormation resource that owns the key;
	// Template is the change to make in its template.
	Stack     string `json:"stack,omitempty"`
	LogicalID string `json:"logical_id,omitempty"`
	Template  string `json:"template_change,omitempty"`
	// Tag is the managed-by tag that matched (K=V).
	Tag string `json:"tag,omitempty"`
}

// Unchecked is an account and Region where stack ownership could not be
// asked of CloudFormation.
type Unchecked struct {
	AccountID string `json:"account_id"`
	Region    string `json:"region"`
	Code      string `json:"code"`
	Message   string `json:"message"`
}

// Plan is what fix will do. Changes and LeftAlone are sorted by account,
// Region and key.
type Plan struct {
	PeriodDays    int         `json:"rotation_period_days"`
	MaxPeriodDays int         `json:"max_rotation_days"`
	Changes       []Change    `json:"changes"`
	LeftAlone     []LeftAlone `json:"left_alone"`
	Unchecked     []Unchecked `json:"ownership_unchecked,omitempty"`
	// Compliant counts keys that already rotate within MaxPeriodDays.
	Compliant int `json:"compliant"`
}

// NewPlan classifies findings of a live scan. A replica resolves to its
// primary, and each primary is changed once, in its own Region.
func NewPlan(findings []check.Finding, o PlanOptions) *Plan {
	maxDays := o.MaxPeriodDays
	if maxDays == 0 {
		maxDays = o.PeriodDays
	}
	p := &Plan{PeriodDays: o.PeriodDays, MaxPeriodDays: maxDays}
	byTarget := map[string]int{}
	for i := range findings {
		f := &findings[i]
		if f.Muted {
			p.leave(f, SkipMuted, "The finding is muted: unmute it to let fix change this key.")
			continue
		}
		change, why, advice := decide(f, o.PeriodDays, maxDays)
		switch {
		case change != nil:
			if j, ok := byTarget[change.KeyARN]; ok {
				c := &p.Changes[j]
				replicas := append(c.Replicas, change.Replicas...)
				if len(change.Replicas) == 0 {
					// The primary's own finding names it best (its alias).
					*c = *change
				}
				c.Replicas = replicas
				continue
			}
			byTarget[change.KeyARN] = len(p.Changes)
			p.Changes = append(p.Changes, *change)
		case why == "":
			p.Compliant++
		default:
			p.leave(f, why, advice)
		}
	}
	p.sort()
	return p
}

// decide returns the change a finding calls for, or why there is none
// (why "" and no change: nothing to do).
func decide(f *check.Finding, period, maxDays int) (*Change, string, string) {
	name := findingName(f)
	switch f.Status {
	case check.StatusError:
		return nil, SkipNotRead, fmt.Sprintf("The scan could not read this key (%s): fix the access and scan again.", errorCode(f))
	case check.StatusManual:
		if f.Reason == check.ReasonImportedKeyMaterial {
			return nil, SkipImported, ImportedMaterialAdvice
		}
		return nil, SkipIneligible, f.Remediation.Text
	case check.StatusSkipped:
		if f.Reason == check.ReasonKeyDisabled {
			return nil, SkipDisabled, "The key is disabled and AWS changes rotation only on enabled keys: when you enable it again, enable rotation too (kmsrotor fix after a new scan)."
		}
		return nil, SkipIneligible, f.Message
	}
	if f.Reason == check.ReasonRotationOverdue {
		return nil, SkipOverdue, "Rotation is on but has not happened on time; re-enabling it would only restart its clock: rotate now with kmsrotor rotate-now --key " + f.KeyARN + "."
	}
	enabled := f.Rotation.Enabled != nil && *f.Rotation.Enabled
	if enabled && (f.Rotation.PeriodDays == 0 || f.Rotation.PeriodDays <= maxDays) {
		return nil, "", ""
	}
	if f.Status != check.StatusFail && !enabled {
		return nil, "", ""
	}
	c := &Change{Action: ActionEnable, AccountID: f.AccountID, Region: f.Region, KeyID: f.KeyID, KeyARN: f.KeyARN, Name: name, PeriodDays: period}
	if enabled {
		c.Action, c.FromPeriodDays = ActionPeriod, f.Rotation.PeriodDays
	}
	if f.Key.MultiRegionType == kmskey.MultiRegionReplica {
		target, region := f.Remediation.TargetKeyARN, f.Remediation.TargetRegion
		if target == "" {
			target, region = f.Key.PrimaryKeyARN, f.Key.PrimaryRegion
		}
		if target == "" {
			return nil, SkipIneligible, "This replica's primary key is unknown: scan the primary's Region and fix the primary."
		}
		c.Replicas = []string{f.KeyARN}
		c.KeyARN, c.Region, c.KeyID = target, region, keyIDOf(target)
		c.Name = keyIDOf(target)
	}
	return c, "", ""
}

// ImportedMaterialAdvice is the procedure for keys with imported material,
// which AWS cannot rotate automatically.
const ImportedMaterialAdvice = "AWS cannot rotate imported key material automatically. To rotate it: " +
	"get an import token and wrapping key (aws kms get-parameters-for-import), wrap new key material, " +
	"import it with aws kms import-key-material --import-type NEW_KEY_MATERIAL (for a multi-Region key: " +
	"into the primary, then the same bytes as EXISTING_KEY_MATERIAL into every replica), and then run " +
	"kmsrotor rotate-now --key ARN on the primary."

func (p *Plan) leave(f *check.Finding, why, advice string) {
	p.LeftAlone = append(p.LeftAlone, LeftAlone{
		AccountID: f.AccountID, Region: f.Region, KeyID: f.KeyID, KeyARN: f.KeyARN,
		Name: findingName(f), Why: why, Reason: f.Reason, Advice: advice,
	})
}

func (p *Plan) sort() {
	slices.SortFunc(p.Changes, func(a, b Change) int {
		return cmp.Or(cmp.Compare(a.AccountID, b.AccountID), cmp.Compare(a.Region, b.Region), cmp.Compare(a.KeyARN, b.KeyARN))
	})
	slices.SortStableFunc(p.LeftAlone, func(a, b LeftAlone) int {
		return cmp.Or(cmp.Compare(a.AccountID, b.AccountID), cmp.Compare(a.Region, b.Region), cmp.Compare(a.KeyARN, b.KeyARN))
	})
	slices.SortFunc(p.Unchecked, func(a, b Unchecked) int {
		return cmp.Or(cmp.Compare(a.AccountID, b.AccountID), cmp.Compare(a.Region, b.Region))
	})
	for i := range p.Changes {
		slices.Sort(p.Changes[i].Replicas)
		p.Changes[i].Replicas = slices.Compact(p.Changes[i].Replicas)
	}
}

// AccountRegion is one account and Region of a plan.
type AccountRegion struct{ AccountID, Region string }

// Targets lists the account-Regions the plan changes keys in, sorted.
func (p *Plan) Targets() []AccountRegion {
	var out []AccountRegion
	for _, c := range p.Changes {
		ar := AccountRegion{c.AccountID, c.Region}
		if !slices.Contains(out, ar) {
			out = append(out, ar)
		}
	}
	slices.SortFunc(out, func(a, b AccountRegion) int {
		return cmp.Or(cmp.Compare(a.AccountID, b.AccountID), cmp.Compare(a.Region, b.Region))
	})
	return out
}

// drop moves the changes for which keep is false to LeftAlone with what
// leave returns.
func (p *Plan) drop(keep func(c Change) (bool, LeftAlone)) {
	out := p.Changes[:0]
	for _, c := range p.Changes {
		ok, la := keep(c)
		if ok {
			out = append(out, c)
			continue
		}
		la.AccountID, la.Region, la.KeyID, la.KeyARN, la.Name = c.AccountID, c.Region, c.KeyID, c.KeyARN, c.Name
		p.LeftAlone = append(p.LeftAlone, la)
	}
	p.Changes = out
	p.sort()
}

// TemplateChange is the CloudFormation edit that gives a key rotation with
// period days.
func TemplateChange(period int) string {
	return fmt.Sprintf("EnableKeyRotation: true, RotationPeriodInDays: %d", period)
}

func findingName(f *check.Finding) string {
	if len(f.Aliases) > 0 {
		return f.Aliases[0]
	}
	if f.KeyID != "" {
		return f.KeyID
	}
	return f.KeyARN
}

func errorCode(f *check.Finding) string {
	if f.Error == nil {
		return "unknown error"
	}
	return f.Error.Operation + ": " + f.Error.Code
}

// keyIDOf is the key ID of a key ARN (arn:aws:kms:r:a:key/ID).
func keyIDOf(arn string) string {
	if i := strings.LastIndex(arn, ":key/"); i >= 0 {
		return arn[i+len(":key/"):]
	}
	return arn
}
