package check

import (
	"cmp"
	"encoding/json"
	"slices"
	"time"
)

// Status is the outcome of the check for one key.
type Status string

// The statuses, from worst to best for exit-code purposes.
const (
	StatusFail    Status = "FAIL"
	StatusError   Status = "ERROR"
	StatusManual  Status = "MANUAL"
	StatusPass    Status = "PASS"
	StatusSkipped Status = "SKIPPED"
)

// Statuses lists every status in report order.
var Statuses = []Status{StatusFail, StatusError, StatusManual, StatusPass, StatusSkipped}

// Reason codes. They are part of the JSON contract: never rename one.
const (
	ReasonRotationEnabled        = "rotation_enabled"
	ReasonRotationDisabled       = "rotation_disabled"
	ReasonPeriodExceedsPolicy    = "rotation_period_exceeds_policy"
	ReasonRotationOverdue        = "rotation_overdue"
	ReasonImportedKeyMaterial    = "imported_key_material"
	ReasonCustomKeyStore         = "custom_key_store"
	ReasonAsymmetricKey          = "asymmetric_key"
	ReasonHMACKey                = "hmac_key"
	ReasonAWSManagedKey          = "aws_managed_key"
	ReasonKeyDisabled            = "key_disabled"
	ReasonPendingDeletion        = "pending_deletion"
	ReasonPendingReplicaDeletion = "pending_replica_deletion"
	ReasonPendingImport          = "pending_import"
	ReasonKeyUnavailable         = "key_unavailable"
	ReasonKeyCreating            = "key_creating"
	ReasonKeyUpdating            = "key_updating"
	ReasonUnresolvedValue        = "unresolved_value"
	ReasonAccessDenied           = "access_denied"
	ReasonThrottled              = "throttled"
	ReasonAPIError               = "api_error"

	// ReasonInvalidValue: IaC turns rotation on for a key that cannot
	// rotate (asymmetric, HMAC, imported material); AWS rejects the deploy.
	ReasonInvalidValue = "invalid_value"
)

// CheckID is the identifier of the one check this tool implements, as Prowler names it.
const CheckID = "kms_cmk_rotation_enabled"

// Finding is the result of the check for one key. Its JSON form is the
// finding object of the versioned document (DESIGN.md); every other output
// format is written from these fields only.
type Finding struct {
	CheckID string `json:"check_id"`
	// ID is the finding's stable identifier (FindingID, IaCFindingID): the
	// same key under the same rule has the same ID in every run and shard.
	ID       string `json:"finding_id"`
	Status   Status `json:"status"`
	Reason   string `json:"reason"`
	Message  string `json:"message"`
	Severity string `json:"severity"`
	// Source is where the key was read: aws, terraform, terraform-plan or cloudformation.
	Source string `json:"source"`

	AccountID string   `json:"account_id,omitempty"`
	Region    string   `json:"region,omitempty"`
	KeyID     string   `json:"key_id,omitempty"`
	KeyARN    string   `json:"key_arn,omitempty"`
	Aliases   []string `json:"aliases"`
	// Tags are the key's tags (live) or its resource's tags (IaC), for
	// the mutelist; omitted when the key has none.
	Tags map[string]string `json:"tags,omitempty"`

	File      string `json:"file,omitempty"`
	StartLine int    `json:"start_line,omitempty"`
	EndLine   int    `json:"end_line,omitempty"`
	Resource  string `json:"resource,omitempty"`
	// CallSite is, for an IaC key made in a module, the root module's
	// call of that module: where the user sets the module's arguments.
	CallSite *CallSite `json:"call_site,omitempty"`

	Rotation RotationFacts `json:"rotation"`
	Key      KeyFacts      `json:"key"`

	// Error is set on ERROR findings: the failed operation and AWS error code.
	Error *ErrorFacts `json:"error,omitempty"`

	Remediation Remediation `json:"remediation"`
	// Compliance is the rule's framework mappings (Rule.Compliance). Every
	// finding of a rule shares that one map: never mutate it.
	Compliance map[string][]string `json:"compliance"`
	Muted      bool                `json:"muted"`
}

// CallSite is a module call: its file, first line and address (module.kms).
type CallSite struct {
	File      string `json:"file"`
	StartLine int    `json:"start_line"`
	Module    string `json:"module"`
}

// RotationFacts is the rotation part of a finding. Every field is always
// present in JSON; one that is unknown or does not apply is null.
type RotationFacts struct {
	Enabled          *bool      `json:"enabled"`
	PeriodDays       int        `json:"period_days"`
	NextRotationDate *time.Time `json:"next_rotation_date"`
	LastRotationDate *time.Time `json:"last_rotation_date"`
	// LastRotationType is AUTOMATIC or ON_DEMAND when the rotation history
	// was read (--rotation-history); omitted otherwise.
	LastRotationType string `json:"last_rotation_type,omitempty"`
}

// MarshalJSON writes a period of 0 (unknown or not applicable) as null.
func (r RotationFacts) MarshalJSON() ([]byte, error) {
	type plain RotationFacts
	var out struct {
		plain
		PeriodDays *int `json:"period_days"`
	}
	out.plain = plain(r)
	if r.PeriodDays != 0 {
		out.PeriodDays = &r.PeriodDays
	}
	return json.Marshal(out)
}

// KeyFacts is the key part of a finding. Every field is always present in
// JSON; one that is unknown or does not apply is null.
type KeyFacts struct {
	Manager          string `json:"manager"`
	Spec             string `json:"spec"`
	Usage            string `json:"usage"`
	Origin           string `json:"origin"`
	State            string `json:"state"`
	MultiRegionType  string `json:"multi_region_type"`
	PrimaryKeyARN    string `json:"primary_key_arn"`
	PrimaryRegion    string `json:"primary_region"`
	PrimaryResource  string `json:"primary_resource"`
	CustomKeyStoreID string `json:"custom_key_store_id"`
}

// MarshalJSON writes empty fields as null.
func (k KeyFacts) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Manager          *string `json:"manager"`
		Spec             *string `json:"spec"`
		Usage            *string `json:"usage"`
		Origin           *string `json:"origin"`
		State            *string `json:"state"`
		MultiRegionType  *string `json:"multi_region_type"`
		PrimaryKeyARN    *string `json:"primary_key_arn"`
		PrimaryRegion    *string `json:"primary_region"`
		PrimaryResource  *string `json:"primary_resource"`
		CustomKeyStoreID *string `json:"custom_key_store_id"`
	}{nullable(k.Manager), nullable(k.Spec), nullable(k.Usage), nullable(k.Origin), nullable(k.State),
		nullable(k.MultiRegionType), nullable(k.PrimaryKeyARN), nullable(k.PrimaryRegion),
		nullable(k.PrimaryResource), nullable(k.CustomKeyStoreID)})
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// ErrorFacts names the API call that failed.
type ErrorFacts struct {
	Operation string `json:"operation"`
	Code      string `json:"code"`
	Message   string `json:"message,omitempty"`
}

// Remediation says where and how to fix a finding. For a multi-Region
// replica the target is its primary.
type Remediation struct {
	// TargetKeyARN and TargetRegion name the key on which to act (the primary
	// for a replica). Empty when nothing is to be done.
	TargetKeyARN string `json:"target_key_arn,omitempty"`
	TargetRegion string `json:"target_region,omitempty"`
	// Text is one sentence for humans.
	Text string `json:"text"`
	// CLI is the command the seed document gives, filled in for this key.
	CLI string `json:"cli,omitempty"`
	// Console is the console path to the same fix, for a live key.
	Console string `json:"console,omitempty"`
	// Terraform and CloudFormation are the IaC fixes.
	Terraform      string `json:"terraform,omitempty"`
	CloudFormation string `json:"cloudformation,omitempty"`
	URL            string `json:"url,omitempty"`
	// Edits are the exact changes kmsrotor iac --fix would make for this
	// finding; empty when it would make none (ineligible, refused, or live).
	Edits []Edit `json:"edits,omitempty"`
}

// Edit replaces lines StartLine..EndLine (1-based, inclusive) of File with
// Text. EndLine = StartLine-1 inserts Text before StartLine. Text holds whole
// lines, each ending in a newline.
type Edit struct {
	File      string `json:"file"`
	StartLine int    `json:"start_line"`
	EndLine   int    `json:"end_line"`
	Text      string `json:"text"`
}

// Sort orders findings deterministically: live findings by account, Region
// and key; IaC findings by file and line.
func Sort(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int { return Compare(&a, &b) })
}

// Compare is Sort's order: a negative number when a sorts before b, zero
// when they tie (a stable sort then keeps their arrival order).
func Compare(a, b *Finding) int {
	return cmp.Or(
		cmp.Compare(a.AccountID, b.AccountID),
		cmp.Compare(a.Region, b.Region),
		cmp.Compare(a.File, b.File),
		cmp.Compare(a.StartLine, b.StartLine),
		cmp.Compare(a.KeyID, b.KeyID),
		cmp.Compare(a.KeyARN, b.KeyARN),
		cmp.Compare(a.Resource, b.Resource),
	)
}

// Summary counts findings by status; muted FAILs are counted apart.
type Summary struct {
	Total   int `json:"total"`
	Pass    int `json:"pass"`
	Fail    int `json:"fail"`
	Manual  int `json:"manual"`
	Skipped int `json:"skipped"`
	Error   int `json:"error"`
	Muted   int `json:"muted"`
	// ScanErrors counts the errors that are not one key's (a Region that
	// could not be listed, a file that does not parse); Summarize leaves it
	// to the caller.
	ScanErrors int `json:"scan_errors"`
}

// Summarize counts the findings.
func Summarize(fs []Finding) Summary {
	var s Summary
	for i := range fs {
		s.Add(&fs[i])
	}
	return s
}

// Complete reports whether a run with this summary read everything: no
// ERROR finding and no error entry (ScanErrors).
func (s Summary) Complete() bool { return s.Error == 0 && s.ScanErrors == 0 }

// Add counts one more finding: a streaming writer keeps a Summary and adds
// each finding as it arrives.
func (s *Summary) Add(f *Finding) {
	s.Total++
	if f.Muted {
		s.Muted++
		return
	}
	switch f.Status {
	case StatusPass:
		s.Pass++
	case StatusFail:
		s.Fail++
	case StatusManual:
		s.Manual++
	case StatusSkipped:
		s.Skipped++
	case StatusError:
		s.Error++
	}
}
