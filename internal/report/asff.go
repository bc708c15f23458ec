package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kmsrotor/kmsrotor/internal/check"
)

// ASFF: the AWS Security Finding Format, SchemaVersion 2018-10-08, one
// finding per live key, as a JSON array (what BatchImportFindings takes in
// its Findings list). Every required field is set: SchemaVersion, Id,
// ProductArn, GeneratorId, AwsAccountId, Types, CreatedAt, UpdatedAt,
// Severity, Title, Description and Resources (Type and Id). A finding's Id
// is its stable finding ID, so a key that passes now replaces, in Security
// Hub, the finding it failed with: PASS is sent with Compliance.Status
// PASSED, Workflow RESOLVED and RecordState ARCHIVED. IaC findings have no
// account and are not written.

// ASFFSchemaVersion is the only ASFF schema version.
const ASFFSchemaVersion = "2018-10-08"

// ASFF's limits (BatchImportFindings rejects a finding over them).
const (
	asffTitleMax        = 256
	asffDescriptionMax  = 1024
	asffRecommendMax    = 512
	asffRequirementsMax = 32
	asffProductValueMax = 2048
)

// ASFFFinding is one finding in ASFF.
type ASFFFinding struct {
	SchemaVersion string            `json:"SchemaVersion"`
	Id            string            `json:"Id"`
	ProductArn    string            `json:"ProductArn"`
	ProductName   string            `json:"ProductName,omitempty"`
	CompanyName   string            `json:"CompanyName,omitempty"`
	GeneratorId   string            `json:"GeneratorId"`
	AwsAccountId  string            `json:"AwsAccountId"`
	Region        string            `json:"Region,omitempty"`
	Types         []string          `json:"Types"`
	CreatedAt     string            `json:"CreatedAt"`
	UpdatedAt     string            `json:"UpdatedAt"`
	Severity      ASFFSeverity      `json:"Severity"`
	Title         string            `json:"Title"`
	Description   string            `json:"Description"`
	Remediation   *ASFFRemediation  `json:"Remediation,omitempty"`
	ProductFields map[string]string `json:"ProductFields,omitempty"`
	Resources     []ASFFResource    `json:"Resources"`
	Compliance    *ASFFCompliance   `json:"Compliance,omitempty"`
	Workflow      *ASFFWorkflow     `json:"Workflow,omitempty"`
	RecordState   string            `json:"RecordState,omitempty"`
}

// ASFFSeverity is the finding's severity label.
type ASFFSeverity struct {
	Label    string `json:"Label"`
	Original string `json:"Original,omitempty"`
}

// ASFFRemediation is the recommended fix.
type ASFFRemediation struct {
	Recommendation ASFFRecommendation `json:"Recommendation"`
}

// ASFFRecommendation is a fix's text and URL.
type ASFFRecommendation struct {
	Text string `json:"Text,omitempty"`
	Url  string `json:"Url,omitempty"`
}

// ASFFResource is the key.
type ASFFResource struct {
	Type      string            `json:"Type"`
	Id        string            `json:"Id"`
	Partition string            `json:"Partition,omitempty"`
	Region    string            `json:"Region,omitempty"`
	Tags      map[string]string `json:"Tags,omitempty"`
	Details   *ASFFDetails      `json:"Details,omitempty"`
}

// ASFFDetails holds the AwsKmsKey details.
type ASFFDetails struct {
	AwsKmsKey ASFFKMSKey `json:"AwsKmsKey"`
}

// ASFFKMSKey is ASFF's AwsKmsKeyDetails.
type ASFFKMSKey struct {
	KeyId             string `json:"KeyId,omitempty"`
	KeyManager        string `json:"KeyManager,omitempty"`
	KeyState          string `json:"KeyState,omitempty"`
	Origin            string `json:"Origin,omitempty"`
	KeyRotationStatus *bool  `json:"KeyRotationStatus,omitempty"`
}

// ASFFCompliance is the check's result and the requirements it covers.
type ASFFCompliance struct {
	Status              string   `json:"Status"`
	RelatedRequirements []string `json:"RelatedRequirements,omitempty"`
}

// ASFFWorkflow is the finding's workflow status.
type ASFFWorkflow struct {
	Status string `json:"Status"`
}

// The values of Compliance.Status, RecordState and Workflow.Status used.
const (
	ASFFPassed       = "PASSED"
	ASFFFailed       = "FAILED"
	ASFFWarning      = "WARNING"
	ASFFNotAvailable = "NOT_AVAILABLE"
	ASFFActive       = "ACTIVE"
	ASFFArchived     = "ARCHIVED"
)

// ASFFOf converts a live finding to ASFF; ok is false for an IaC finding,
// which has no account. at is the scan's evaluation time.
func ASFFOf(f *check.Finding, tool Tool, at time.Time, maxDays int) (ASFFFinding, bool) {
	return asffOf(f, tool, at, maxDays, &complianceJSON{})
}

// ASFFConverter converts findings to ASFF, reusing the encoding of the
// compliance mapping that the findings of a run share.
type ASFFConverter struct{ comp complianceJSON }

// Convert is ASFFOf.
func (c *ASFFConverter) Convert(f *check.Finding, tool Tool, at time.Time, maxDays int) (ASFFFinding, bool) {
	return asffOf(f, tool, at, maxDays, &c.comp)
}

func asffOf(f *check.Finding, tool Tool, at time.Time, maxDays int, comp *complianceJSON) (ASFFFinding, bool) {
	if f.AccountID == "" || f.KeyARN == "" {
		return ASFFFinding{}, false
	}
	r := ruleOf(f, maxDays)
	partition := f.Partition()
	ts := at.UTC().Format(time.RFC3339Nano)
	compliance, record, workflow := asffState(f)
	out := ASFFFinding{
		SchemaVersion: ASFFSchemaVersion,
		Id:            "kmsrotor-" + f.CheckID + "-" + findingID(f),
		ProductArn:    fmt.Sprintf("arn:%s:securityhub:%s:%s:product/%s/default", partition, f.Region, f.AccountID, f.AccountID),
		ProductName:   tool.Name,
		CompanyName:   tool.Name,
		GeneratorId:   strings.ToLower(tool.Name) + "-" + f.CheckID,
		AwsAccountId:  f.AccountID,
		Region:        f.Region,
		Types:         []string{"Software and Configuration Checks/Industry and Regulatory Standards/CIS AWS Foundations Benchmark"},
		CreatedAt:     ts,
		UpdatedAt:     ts,
		Severity:      ASFFSeverity{Label: asffSeverity(f.Severity), Original: f.Severity},
		Title:         truncate(r.Title, asffTitleMax),
		Description:   truncate(f.Message, asffDescriptionMax),
		ProductFields: asffProductFields(f, tool, comp),
		Resources: []ASFFResource{{
			Type: "AwsKmsKey", Id: f.KeyARN, Partition: partition, Region: f.Region, Tags: f.Tags,
			Details: &ASFFDetails{AwsKmsKey: ASFFKMSKey{KeyId: f.KeyID, KeyManager: f.Key.Manager, KeyState: f.Key.State,
				Origin: f.Key.Origin, KeyRotationStatus: f.Rotation.Enabled}},
		}},
		Compliance:  &ASFFCompliance{Status: compliance, RelatedRequirements: comp.requirements(f.Compliance)},
		Workflow:    &ASFFWorkflow{Status: workflow},
		RecordState: record,
	}
	if r.Remediation != "" {
		out.Remediation = &ASFFRemediation{Recommendation: ASFFRecommendation{Text: truncate(r.Remediation, asffRecommendMax), Url: r.URL}}
	}
	return out, true
}

// asffState is a status as Security Hub tracks it: PASS and SKIPPED are
// archived (nothing to act on), so a fixed key's finding leaves the
// active view.
func asffState(f *check.Finding) (compliance, record, workflow string) {
	switch f.Status {
	case check.StatusPass:
		compliance, record, workflow = ASFFPassed, ASFFArchived, "RESOLVED"
	case check.StatusFail:
		compliance, record, workflow = ASFFFailed, ASFFActive, "NEW"
	case check.StatusManual:
		compliance, record, workflow = ASFFWarning, ASFFActive, "NEW"
	case check.StatusSkipped:
		compliance, record, workflow = ASFFNotAvailable, ASFFArchived, "RESOLVED"
	default:
		compliance, record, workflow = ASFFNotAvailable, ASFFActive, "NEW"
	}
	if f.Muted {
		workflow = "SUPPRESSED"
	}
	return compliance, record, workflow
}

func asffSeverity(sev string) string {
	switch strings.ToLower(sev) {
	case "low", "medium", "high", "critical":
		return strings.ToUpper(sev)
	}
	return "INFORMATIONAL"
}

// asffRequirements lists "framework requirement" pairs, sorted, at most
// ASFF's 32; ProductFields carries the complete mapping.
func asffRequirements(c map[string][]string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(c)) {
		for _, req := range c[k] {
			out = append(out, k+" "+req)
		}
	}
	if len(out) > asffRequirementsMax {
		out = out[:asffRequirementsMax]
	}
	return out
}

// asffProductFields carries every fact of the JSON finding that ASFF has
// no field for, under kmsrotor/ keys.
func asffProductFields(f *check.Finding, tool Tool, comp *complianceJSON) map[string]string {
	p := map[string]string{
		"kmsrotor/CheckId": f.CheckID,
		"kmsrotor/Status":  string(f.Status),
		"kmsrotor/Reason":  f.Reason,
		"kmsrotor/Source":  f.Source,
		"kmsrotor/Muted":   strconv.FormatBool(f.Muted),
	}
	if tool.Version != "" {
		p["kmsrotor/Version"] = tool.Version
	}
	set := func(k, v string) {
		if v != "" {
			p["kmsrotor/"+k] = truncate(v, asffProductValueMax)
		}
	}
	set("Aliases", strings.Join(f.Aliases, ","))
	set("RotationEnabled", boolOf(f.Rotation.Enabled))
	if f.Rotation.PeriodDays > 0 {
		set("RotationPeriodDays", strconv.Itoa(f.Rotation.PeriodDays))
	}
	set("NextRotationDate", dateOf(f, true))
	set("LastRotationDate", dateOf(f, false))
	set("LastRotationType", f.Rotation.LastRotationType)
	set("KeySpec", f.Key.Spec)
	set("KeyUsage", f.Key.Usage)
	set("MultiRegionType", f.Key.MultiRegionType)
	set("PrimaryKeyArn", f.Key.PrimaryKeyARN)
	set("CustomKeyStoreId", f.Key.CustomKeyStoreID)
	set("RemediationTarget", f.Remediation.TargetKeyARN)
	set("RemediationCli", f.Remediation.CLI)
	if f.Error != nil {
		set("ErrorOperation", f.Error.Operation)
		set("ErrorCode", f.Error.Code)
	}
	if len(f.Compliance) > 0 {
		set("Compliance", string(comp.of(f.Compliance)))
	}
	return p
}

// truncate cuts s to at most n characters, marking the cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

type asffSink struct {
	conv    ASFFConverter
	w       *bufio.Writer
	tool    Tool
	at      time.Time
	maxDays int
	n       int
}

// NewASFF returns the ASFF sink writing a JSON array to w.
func NewASFF(w io.Writer) Sink { return &asffSink{w: bufio.NewWriter(w)} }

func (s *asffSink) Begin(h Header) error {
	s.tool, s.at, s.maxDays = h.Tool, evaluatedAt(h.Scan), h.Scan.Policy.MaxRotationDays
	_, err := s.w.WriteString("[")
	return err
}

func (s *asffSink) Finding(f *check.Finding) error {
	a, ok := s.conv.Convert(f, s.tool, s.at, s.maxDays)
	if !ok {
		return nil
	}
	b, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("write asff report: %w", err)
	}
	if s.n == 0 {
		s.w.WriteString("\n")
	} else {
		s.w.WriteString(",\n")
	}
	s.n++
	_, err = s.w.Write(b)
	return err
}

func (s *asffSink) End(Trailer) error {
	if s.n == 0 {
		s.w.WriteString("]\n")
	} else {
		s.w.WriteString("\n]\n")
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("write asff report: %w", err)
	}
	return nil
}

var (
	asffTimeRE    = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$`)
	asffAccountRE = regexp.MustCompile(`^\d{12}$`)
)

// ValidateASFF checks one decoded ASFF finding the way BatchImportFindings
// does: the required fields, their types, the enumerations and the length
// limits. It returns one sentence per problem, none when the finding is
// valid.
func ValidateASFF(a map[string]any) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	str := func(k string, max int) string {
		v, ok := a[k]
		if !ok {
			bad("%s is required", k)
			return ""
		}
		s, ok := v.(string)
		if !ok || s == "" {
			bad("%s must be a non-empty string", k)
			return ""
		}
		if max > 0 && utf8.RuneCountInString(s) > max {
			bad("%s is longer than %d characters", k, max)
		}
		return s
	}
	if v := str("SchemaVersion", 0); v != "" && v != ASFFSchemaVersion {
		bad("SchemaVersion %q is not %s", v, ASFFSchemaVersion)
	}
	str("Id", 512)
	if v := str("ProductArn", 2048); v != "" && !strings.HasPrefix(v, "arn:") {
		bad("ProductArn %q is not an ARN", v)
	}
	str("GeneratorId", 512)
	if v := str("AwsAccountId", 0); v != "" && !asffAccountRE.MatchString(v) {
		bad("AwsAccountId %q is not 12 digits", v)
	}
	for _, k := range []string{"CreatedAt", "UpdatedAt"} {
		if v := str(k, 0); v != "" && !asffTimeRE.MatchString(v) {
			bad("%s %q is not an RFC 3339 timestamp", k, v)
		}
	}
	str("Title", asffTitleMax)
	str("Description", asffDescriptionMax)
	if types, ok := a["Types"].([]any); !ok || len(types) == 0 || len(types) > 50 {
		bad("Types must be a list of 1 to 50 strings")
	} else {
		for _, t := range types {
			if s, ok := t.(string); !ok || strings.Count(s, "/") > 2 || s == "" {
				bad("Types entry %v is not namespace/category/classifier", t)
			}
		}
	}
	if sev, ok := a["Severity"].(map[string]any); !ok {
		bad("Severity is required")
	} else if l, ok := sev["Label"].(string); !ok || !slices.Contains([]string{"INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"}, l) {
		if _, n := sev["Normalized"].(float64); !n {
			bad("Severity.Label %v is not INFORMATIONAL, LOW, MEDIUM, HIGH or CRITICAL", sev["Label"])
		}
	}
	if res, ok := a["Resources"].([]any); !ok || len(res) == 0 || len(res) > 32 {
		bad("Resources must be a list of 1 to 32 resources")
	} else {
		for i, r := range res {
			m, ok := r.(map[string]any)
			if !ok {
				bad("Resources[%d] is not an object", i)
				continue
			}
			for _, k := range []string{"Type", "Id"} {
				if s, ok := m[k].(string); !ok || s == "" {
					bad("Resources[%d].%s must be a non-empty string", i, k)
				}
			}
		}
	}
	enum := func(path string, v any, allowed ...string) {
		if v == nil {
			return
		}
		if s, ok := v.(string); !ok || !slices.Contains(allowed, s) {
			bad("%s %v is not one of %s", path, v, strings.Join(allowed, ", "))
		}
	}
	if c, ok := a["Compliance"].(map[string]any); ok {
		enum("Compliance.Status", c["Status"], ASFFPassed, ASFFWarning, ASFFFailed, ASFFNotAvailable)
		if rr, ok := c["RelatedRequirements"].([]any); ok && len(rr) > asffRequirementsMax {
			bad("Compliance.RelatedRequirements has %d entries, more than %d", len(rr), asffRequirementsMax)
		}
	}
	enum("RecordState", a["RecordState"], ASFFActive, ASFFArchived)
	if w, ok := a["Workflow"].(map[string]any); ok {
		enum("Workflow.Status", w["Status"], "NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED")
	}
	if p, ok := a["ProductFields"].(map[string]any); ok {
		if len(p) > 50 {
			bad("ProductFields has %d entries, more than 50", len(p))
		}
		for k, v := range p {
			if s, ok := v.(string); !ok || utf8.RuneCountInString(s) > asffProductValueMax || len(k) > 128 {
				bad("ProductFields[%s] is not a string of at most %d characters under a key of at most 128", k, asffProductValueMax)
			}
		}
	}
	if r, ok := a["Remediation"].(map[string]any); ok {
		if rec, ok := r["Recommendation"].(map[string]any); ok {
			if s, _ := rec["Text"].(string); utf8.RuneCountInString(s) > asffRecommendMax {
				bad("Remediation.Recommendation.Text is longer than %d characters", asffRecommendMax)
			}
		}
	}
	return out
}
