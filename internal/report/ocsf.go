package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/kmsrotor/kmsrotor/internal/check"
)

// OCSF: a JSON array of OCSF 1.4.0 Detection Findings (class_uid 2004,
// category 2 Findings, activity 1 Create, type_uid 200401), field by field
// in the shape Prowler writes (its json-ocsf output), so tools that read
// Prowler's OCSF read ours. What OCSF has no field for (the rotation and key
// facts) is in resources[0].data.metadata, as Prowler puts its resource
// there. Each finding is written as it arrives, one per line (compact: the
// array is as large as the estate, and indenting it doubles the cost).

const ocsfVersion = "1.4.0"

type ocsfFinding struct {
	Message      string          `json:"message"`
	Metadata     ocsfMetadata    `json:"metadata"`
	SeverityID   int             `json:"severity_id"`
	Severity     string          `json:"severity"`
	Status       string          `json:"status"`
	StatusCode   string          `json:"status_code"`
	StatusDetail string          `json:"status_detail"`
	StatusID     int             `json:"status_id"`
	Unmapped     ocsfUnmapped    `json:"unmapped"`
	ActivityName string          `json:"activity_name"`
	ActivityID   int             `json:"activity_id"`
	FindingInfo  ocsfFindingInfo `json:"finding_info"`
	Resources    []ocsfResource  `json:"resources"`
	CategoryName string          `json:"category_name"`
	CategoryUID  int             `json:"category_uid"`
	ClassName    string          `json:"class_name"`
	ClassUID     int             `json:"class_uid"`
	Cloud        ocsfCloud       `json:"cloud"`
	Remediation  ocsfRemediation `json:"remediation"`
	RiskDetails  string          `json:"risk_details"`
	Time         int64           `json:"time"`
	TimeDT       string          `json:"time_dt"`
	TypeUID      int             `json:"type_uid"`
	TypeName     string          `json:"type_name"`
}

type ocsfMetadata struct {
	EventCode string      `json:"event_code"`
	Product   ocsfProduct `json:"product"`
	Profiles  []string    `json:"profiles"`
	TenantUID string      `json:"tenant_uid"`
	Version   string      `json:"version"`
}

type ocsfProduct struct {
	Name       string `json:"name"`
	UID        string `json:"uid"`
	VendorName string `json:"vendor_name"`
	Version    string `json:"version"`
}

type ocsfUnmapped struct {
	RelatedURL     string          `json:"related_url"`
	Categories     []string        `json:"categories"`
	DependsOn      []string        `json:"depends_on"`
	RelatedTo      []string        `json:"related_to"`
	AdditionalURLs []string        `json:"additional_urls"`
	Notes          string          `json:"notes"`
	Compliance     json.RawMessage `json:"compliance"`
}

type ocsfFindingInfo struct {
	CreatedTime   int64    `json:"created_time"`
	CreatedTimeDT string   `json:"created_time_dt"`
	Desc          string   `json:"desc"`
	ProductUID    string   `json:"product_uid"`
	Title         string   `json:"title"`
	Types         []string `json:"types"`
	UID           string   `json:"uid"`
}

type ocsfResource struct {
	CloudPartition string    `json:"cloud_partition"`
	Region         string    `json:"region"`
	Data           ocsfData  `json:"data"`
	Group          ocsfGroup `json:"group"`
	Labels         []string  `json:"labels"`
	Name           string    `json:"name"`
	Type           string    `json:"type"`
	UID            string    `json:"uid"`
}

type ocsfData struct {
	Details  string       `json:"details"`
	Metadata ocsfKeyFacts `json:"metadata"`
}

// ocsfKeyFacts is the key as the finding knows it: every fact of the JSON
// finding that OCSF has no field for.
type ocsfKeyFacts struct {
	ARN       string            `json:"arn"`
	KeyID     string            `json:"key_id"`
	Aliases   []string          `json:"aliases"`
	Tags      map[string]string `json:"tags"`
	Source    string            `json:"source"`
	Reason    string            `json:"reason"`
	Muted     bool              `json:"muted"`
	File      string            `json:"file,omitempty"`
	StartLine int               `json:"start_line,omitempty"`
	EndLine   int               `json:"end_line,omitempty"`
	Resource  string            `json:"resource,omitempty"`
	Rotation  ocsfRotation      `json:"rotation"`
	Key       ocsfKey           `json:"key"`
	Error     *check.ErrorFacts `json:"error,omitempty"`
	Remediate check.Remediation `json:"remediation"`
}

// ocsfRotation and ocsfKey are the JSON finding's rotation and key
// objects, field for field (null when unknown), without their custom
// marshalers, which cost more than the rest of the finding.
type ocsfRotation struct {
	Enabled          *bool      `json:"enabled"`
	PeriodDays       *int       `json:"period_days"`
	NextRotationDate *time.Time `json:"next_rotation_date"`
	LastRotationDate *time.Time `json:"last_rotation_date"`
	LastRotationType string     `json:"last_rotation_type,omitempty"`
}

type ocsfKey struct {
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
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func ocsfRotationOf(r check.RotationFacts) ocsfRotation {
	out := ocsfRotation{Enabled: r.Enabled, NextRotationDate: r.NextRotationDate, LastRotationDate: r.LastRotationDate, LastRotationType: r.LastRotationType}
	if r.PeriodDays != 0 {
		p := r.PeriodDays
		out.PeriodDays = &p
	}
	return out
}

func ocsfKeyOf(k check.KeyFacts) ocsfKey {
	return ocsfKey{nullable(k.Manager), nullable(k.Spec), nullable(k.Usage), nullable(k.Origin), nullable(k.State),
		nullable(k.MultiRegionType), nullable(k.PrimaryKeyARN), nullable(k.PrimaryRegion), nullable(k.PrimaryResource), nullable(k.CustomKeyStoreID)}
}

type ocsfGroup struct {
	Name string `json:"name"`
}

type ocsfCloud struct {
	Account  ocsfAccount `json:"account"`
	Org      ocsfOrg     `json:"org"`
	Provider string      `json:"provider"`
	Region   string      `json:"region"`
}

type ocsfAccount struct {
	Name   string   `json:"name"`
	Type   string   `json:"type"`
	TypeID int      `json:"type_id"`
	UID    string   `json:"uid"`
	Labels []string `json:"labels"`
}

type ocsfOrg struct {
	Name string `json:"name"`
	UID  string `json:"uid"`
}

type ocsfRemediation struct {
	Desc       string   `json:"desc"`
	References []string `json:"references"`
}

// ocsfSeverity maps kmsrotor's severities to OCSF's severity_id and name.
func ocsfSeverity(sev string) (int, string) {
	switch strings.ToLower(sev) {
	case "informational":
		return 1, "Informational"
	case "low":
		return 2, "Low"
	case "medium":
		return 3, "Medium"
	case "high":
		return 4, "High"
	case "critical":
		return 5, "Critical"
	}
	return 0, "Unknown"
}

type ocsfSink struct {
	w       *bufio.Writer
	out     io.Writer
	tool    Tool
	at      time.Time
	maxDays int
	n       int
	comp    complianceJSON
}

// NewOCSF returns the OCSF sink writing to w.
func NewOCSF(w io.Writer) Sink { return &ocsfSink{out: w, w: bufio.NewWriter(w)} }

func (s *ocsfSink) Begin(h Header) error {
	s.tool, s.at, s.maxDays = h.Tool, evaluatedAt(h.Scan), h.Scan.Policy.MaxRotationDays
	_, err := s.w.WriteString("[")
	return err
}

func (s *ocsfSink) Finding(f *check.Finding) error {
	o := ocsfOf(f, s.tool, s.at, s.maxDays)
	o.Unmapped.Compliance = s.comp.of(f.Compliance)
	b, err := json.Marshal(o)
	if err != nil {
		return fmt.Errorf("write ocsf report: %w", err)
	}
	sep := ",\n"
	if s.n == 0 {
		sep = "\n"
	}
	s.n++
	s.w.WriteString(sep)
	_, err = s.w.Write(b)
	return err
}

func (s *ocsfSink) End(Trailer) error {
	end := "\n]\n"
	if s.n == 0 {
		end = "]\n"
	}
	s.w.WriteString(end)
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("write ocsf report: %w", err)
	}
	return nil
}

func ocsfOf(f *check.Finding, tool Tool, at time.Time, maxDays int) ocsfFinding {
	r := ruleOf(f, maxDays)
	sevID, sev := ocsfSeverity(f.Severity)
	status, statusID := "New", 1
	if f.Muted {
		status, statusID = "Suppressed", 3
	}
	dt := at.Format("2006-01-02T15:04:05.000000")
	labels := []string{}
	for _, k := range slices.Sorted(maps.Keys(f.Tags)) {
		labels = append(labels, k+":"+f.Tags[k])
	}
	refs := []string{}
	if r.CLI != "" {
		refs = append(refs, r.CLI)
	}
	refs = append(refs, r.URL)
	name := f.KeyID
	if len(f.Aliases) > 0 {
		name = f.Aliases[0]
	}
	if name == "" {
		name = f.Resource
	}
	aliases := f.Aliases
	if aliases == nil {
		aliases = []string{}
	}
	tags := f.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	return ocsfFinding{
		Message: f.Message,
		Metadata: ocsfMetadata{
			EventCode: f.CheckID,
			Product:   ocsfProduct{Name: tool.Name, UID: strings.ToLower(tool.Name), VendorName: tool.Name, Version: tool.Version},
			Profiles:  []string{"cloud", "datetime"},
			Version:   ocsfVersion,
		},
		SeverityID: sevID, Severity: sev,
		Status: status, StatusCode: string(f.Status), StatusDetail: f.Message, StatusID: statusID,
		Unmapped: ocsfUnmapped{
			RelatedURL: r.URL, Categories: []string{"encryption"}, DependsOn: []string{}, RelatedTo: []string{},
			AdditionalURLs: []string{}, Notes: "",
		},
		ActivityName: "Create", ActivityID: 1,
		FindingInfo: ocsfFindingInfo{
			CreatedTime: at.Unix(), CreatedTimeDT: dt, Desc: r.Description, ProductUID: strings.ToLower(tool.Name),
			Title: r.Title, Types: []string{"Software and Configuration Checks/Industry and Regulatory Standards/CIS AWS Foundations Benchmark"},
			UID: findingID(f),
		},
		Resources: []ocsfResource{{
			CloudPartition: f.Partition(), Region: f.Region,
			Data: ocsfData{Metadata: ocsfKeyFacts{
				ARN: f.KeyARN, KeyID: f.KeyID, Aliases: aliases, Tags: tags, Source: f.Source, Reason: f.Reason, Muted: f.Muted,
				File: f.File, StartLine: f.StartLine, EndLine: f.EndLine, Resource: f.Resource,
				Rotation: ocsfRotationOf(f.Rotation), Key: ocsfKeyOf(f.Key), Error: f.Error, Remediate: f.Remediation,
			}},
			Group:  ocsfGroup{Name: "kms"},
			Labels: labels, Name: name, Type: "AwsKmsKey", UID: resourceUID(f),
		}},
		CategoryName: "Findings", CategoryUID: 2,
		ClassName: "Detection Finding", ClassUID: 2004,
		Cloud: ocsfCloud{
			Account:  ocsfAccount{Type: "AWS Account", TypeID: 10, UID: f.AccountID, Labels: []string{}},
			Provider: "aws", Region: f.Region,
		},
		Remediation: ocsfRemediation{Desc: r.Remediation, References: refs},
		RiskDetails: r.Risk,
		Time:        at.Unix(), TimeDT: dt,
		TypeUID: 200401, TypeName: "Detection Finding: Create",
	}
}
