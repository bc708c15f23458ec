package report

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kmsrotor/kmsrotor/internal/check"
	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

func init() { register(FormatSARIF, writeSARIF) }

// SARIF constants. The schema URI is the one GitHub code scanning and the
// SARIF viewers recognise.
const (
	sarifVersion = "2.1.0"
	sarifSchema  = "https://json.schemastore.org/sarif-2.1.0.json"
	srcRoot      = "%SRCROOT%"
	// fingerprintKey names the partial fingerprint: file (or key ARN),
	// resource and reason, not the line, so an alert survives edits above it.
	fingerprintKey = "kmsrotorFindingHash/v1"
	defaultToolURI = "https://github.com/kmsrotor/kmsrotor"
)

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool        sarifTool         `json:"tool"`
	Invocations []sarifInvocation `json:"invocations"`
	Results     []sarifResult     `json:"results"`
	ColumnKind  string            `json:"columnKind,omitempty"`
	Properties  map[string]any    `json:"properties,omitempty"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string             `json:"id"`
	Name                 string             `json:"name"`
	ShortDescription     sarifText          `json:"shortDescription"`
	FullDescription      sarifText          `json:"fullDescription"`
	Help                 sarifMultiText     `json:"help"`
	HelpURI              string             `json:"helpUri"`
	DefaultConfiguration sarifConfiguration `json:"defaultConfiguration"`
	Properties           sarifRuleProps     `json:"properties"`
}

type sarifRuleProps struct {
	Tags             []string `json:"tags"`
	SecuritySeverity string   `json:"security-severity"`
	Precision        string   `json:"precision"`
}

type sarifConfiguration struct {
	Level string `json:"level"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifMultiText struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown,omitempty"`
}

type sarifInvocation struct {
	ExecutionSuccessful        bool                `json:"executionSuccessful"`
	StartTimeUTC               string              `json:"startTimeUtc,omitempty"`
	EndTimeUTC                 string              `json:"endTimeUtc,omitempty"`
	ToolExecutionNotifications []sarifNotification `json:"toolExecutionNotifications,omitempty"`
}

type sarifNotification struct {
	Level      string          `json:"level"`
	Message    sarifText       `json:"message"`
	Descriptor *sarifRef       `json:"descriptor,omitempty"`
	Locations  []sarifLocation `json:"locations,omitempty"`
	Properties map[string]any  `json:"properties,omitempty"`
}

type sarifRef struct {
	ID string `json:"id"`
}

type sarifResult struct {
	RuleID              string             `json:"ruleId"`
	RuleIndex           int                `json:"ruleIndex"`
	Level               string             `json:"level"`
	Message             sarifText          `json:"message"`
	Locations           []sarifLocation    `json:"locations"`
	PartialFingerprints map[string]string  `json:"partialFingerprints"`
	Suppressions        []sarifSuppression `json:"suppressions,omitempty"`
	Fixes               []sarifFix         `json:"fixes,omitempty"`
	Properties          map[string]any     `json:"properties,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation *sarifPhysical `json:"physicalLocation,omitempty"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId,omitempty"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
	EndLine     int `json:"endLine,omitempty"`
	EndColumn   int `json:"endColumn,omitempty"`
}

type sarifLogical struct {
	Name               string `json:"name,omitempty"`
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

type sarifSuppression struct {
	Kind          string `json:"kind"`
	Justification string `json:"justification,omitempty"`
}

type sarifFix struct {
	Description     sarifText             `json:"description"`
	ArtifactChanges []sarifArtifactChange `json:"artifactChanges"`
}

type sarifArtifactChange struct {
	ArtifactLocation sarifArtifact      `json:"artifactLocation"`
	Replacements     []sarifReplacement `json:"replacements"`
}

type sarifReplacement struct {
	DeletedRegion   sarifRegion `json:"deletedRegion"`
	InsertedContent sarifText   `json:"insertedContent"`
}

// writeSARIF writes one SARIF 2.1.0 run. FAIL findings are results of level
// error; MANUAL and ERROR are warnings. PASS and SKIPPED keys are left out:
// code-scanning consumers (GitHub, the SARIF viewers) show every result as an
// alert line, and a kind "pass" row per compliant key would bury the few that
// need work in large repositories, while the JSON report keeps them all; the
// run's properties still count them. Scan-level errors (an unparsable file, a
// Region that could not be listed) are error notifications of the invocation,
// which then did not execute successfully.
func writeSARIF(w io.Writer, doc *Document, _ Options) error {
	b := sarifBuilder{doc: doc, ruleIndex: map[string]int{}}
	for _, f := range doc.Findings {
		if f.Status == check.StatusPass || f.Status == check.StatusSkipped {
			continue
		}
		b.results = append(b.results, b.result(f))
	}

	uri := doc.Tool.URL
	if uri == "" {
		uri = defaultToolURI
	}
	name := doc.Tool.Name
	if name == "" {
		name = "kmsrotor"
	}
	inv := sarifInvocation{ExecutionSuccessful: len(doc.Errors) == 0}
	if !doc.Scan.StartedAt.IsZero() {
		inv.StartTimeUTC = doc.Scan.StartedAt.UTC().Format(time.RFC3339Nano)
	}
	if !doc.Scan.FinishedAt.IsZero() {
		inv.EndTimeUTC = doc.Scan.FinishedAt.UTC().Format(time.RFC3339Nano)
	}
	for _, e := range doc.Errors {
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, notification(e))
	}

	if b.rules == nil {
		b.rules = []sarifRule{}
	}
	if b.results == nil {
		b.results = []sarifResult{}
	}
	log := sarifLog{
		Schema:  sarifSchema,
		Version: sarifVersion,
		Runs: []sarifRun{{
			Tool: sarifTool{Driver: sarifDriver{
				Name:           name,
				Version:        doc.Tool.Version,
				InformationURI: uri,
				Rules:          b.rules,
			}},
			Invocations: []sarifInvocation{inv},
			Results:     b.results,
			// Fix regions use column 1 only, which is the same in every
			// column kind; say which one anyway, as GitHub expects.
			ColumnKind: "utf16CodeUnits",
			Properties: map[string]any{
				"kind":           doc.Scan.Kind,
				"schema_version": doc.SchemaVersion,
				"summary":        doc.Summary,
				"complete":       doc.Scan.Complete,
			},
		}},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&log); err != nil {
		return fmt.Errorf("write sarif report: %w", err)
	}
	return nil
}

type sarifBuilder struct {
	doc       *Document
	rules     []sarifRule
	ruleIndex map[string]int
	results   []sarifResult
}

// ruleID is stable: the check ID and the reason code, both part of the JSON
// contract and never renamed.
func ruleID(reason string) string { return check.CheckID + "/" + reason }

// rule returns the index of the rule for a finding's reason, adding the rule
// the first time the reason appears. Findings are sorted, so rule order is
// deterministic.
func (b *sarifBuilder) rule(f check.Finding) int {
	id := ruleID(f.Reason)
	if i, ok := b.ruleIndex[id]; ok {
		return i
	}
	d := describeReason(f.Reason, b.doc.Scan.Policy.MaxRotationDays)
	b.rules = append(b.rules, sarifRule{
		ID:                   id,
		Name:                 d.name,
		ShortDescription:     sarifText{Text: d.short},
		FullDescription:      sarifText{Text: d.full},
		Help:                 sarifMultiText{Text: d.helpText, Markdown: d.helpMarkdown},
		HelpURI:              check.DocURL,
		DefaultConfiguration: sarifConfiguration{Level: sarifLevel(f.Status)},
		Properties: sarifRuleProps{
			Tags:             d.tags,
			SecuritySeverity: securitySeverity(f.Severity),
			// The rule reads declared or API-reported facts, never guesses.
			Precision: "very-high",
		},
	})
	b.ruleIndex[id] = len(b.rules) - 1
	return len(b.rules) - 1
}

func sarifLevel(s check.Status) string {
	if s == check.StatusFail {
		return "error"
	}
	return "warning"
}

// securitySeverity maps a finding's severity to the CVSS-like score GitHub
// code scanning buckets: below 4 low, 4 to 6.9 medium, 7 to 8.9 high.
func securitySeverity(sev string) string {
	switch sev {
	case "critical":
		return "9.5"
	case "high":
		return "7.5"
	case "medium":
		return "5.0"
	case "low":
		return "3.0"
	}
	return "0.0"
}

func (b *sarifBuilder) result(f check.Finding) sarifResult {
	r := sarifResult{
		RuleID:              ruleID(f.Reason),
		RuleIndex:           b.rule(f),
		Level:               sarifLevel(f.Status),
		Message:             sarifText{Text: resultMessage(f)},
		PartialFingerprints: map[string]string{fingerprintKey: fingerprint(f)},
		Properties: map[string]any{
			"status":   f.Status,
			"reason":   f.Reason,
			"severity": f.Severity,
		},
	}
	loc := sarifLocation{}
	if f.File != "" {
		loc.PhysicalLocation = &sarifPhysical{ArtifactLocation: artifact(f.File), Region: lineRegion(f.StartLine, f.EndLine)}
		if f.Resource != "" {
			loc.LogicalLocations = []sarifLogical{{Name: lastSegment(f.Resource), FullyQualifiedName: f.Resource, Kind: "resource"}}
		}
	} else {
		name := f.KeyARN
		if name == "" {
			name = f.KeyID
		}
		loc.LogicalLocations = []sarifLogical{{Name: f.KeyID, FullyQualifiedName: name, Kind: "resource"}}
		for k, v := range map[string]string{"account_id": f.AccountID, "region": f.Region, "key_arn": f.KeyARN} {
			if v != "" {
				r.Properties[k] = v
			}
		}
		if len(f.Aliases) > 0 {
			r.Properties["aliases"] = f.Aliases
		}
	}
	r.Locations = []sarifLocation{loc}
	if f.Error != nil {
		r.Properties["error_operation"] = f.Error.Operation
		r.Properties["error_code"] = f.Error.Code
	}
	if isReplica(f) {
		if p := primaryName(f); p != "" {
			r.Properties["primary"] = p
		}
	}
	if f.Muted {
		// A mutelist lives outside the scanned files: an external suppression.
		r.Suppressions = []sarifSuppression{{Kind: "external", Justification: "muted by the kmsrotor mutelist"}}
	}
	if x, ok := sarifFixOf(f); ok {
		r.Fixes = []sarifFix{x}
	}
	return r
}

// resultMessage is the finding's message plus what to do, in the finding's
// own language for IaC.
func resultMessage(f check.Finding) string {
	msg := strings.TrimSuffix(f.Message, ".") + "."
	if f.Status != check.StatusFail {
		if t := f.Remediation.Text; t != "" && f.Status == check.StatusError {
			msg += " " + t
		}
		return msg
	}
	var parts []string
	for _, x := range fixesFor(f) {
		text := strings.ReplaceAll(x.Text, "\n", " and ")
		if f.File == "" {
			if x.Label == "CLI" {
				text = "Run: " + text
			}
			parts = append(parts, strings.TrimSuffix(text, "."))
			continue
		}
		on := ""
		if isReplica(f) {
			on = " on " + orDefault(f.Key.PrimaryResource, "the primary key")
		}
		parts = append(parts, fmt.Sprintf("%s fix%s: %s", x.Label, on, text))
	}
	if len(parts) == 0 {
		return msg
	}
	return msg + " " + strings.Join(parts, "; ") + "."
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// fingerprint hashes what identifies a finding across runs: the file and
// resource (or the key ARN) and the reason, not the line.
func fingerprint(f check.Finding) string {
	where := f.File
	if where != "" {
		where = filepath.ToSlash(filepath.Clean(where))
	} else {
		where = f.KeyARN
	}
	if where == "" {
		where = f.AccountID + "/" + f.Region + "/" + f.KeyID
	}
	h := sha256.Sum256([]byte(where + "\x00" + f.Resource + "\x00" + f.Reason))
	return hex.EncodeToString(h[:16])
}

// artifact makes a file path a SARIF artifact location: relative paths are
// relative to %SRCROOT% (the directory the scan ran in), absolute ones are
// file URIs, which SARIF allows without a base.
func artifact(file string) sarifArtifact {
	p := filepath.ToSlash(filepath.Clean(file))
	if filepath.IsAbs(file) || path.IsAbs(p) {
		u := url.URL{Scheme: "file", Path: p}
		return sarifArtifact{URI: u.String()}
	}
	u := url.URL{Path: p}
	return sarifArtifact{URI: u.EscapedPath(), URIBaseID: srcRoot}
}

func lineRegion(start, end int) *sarifRegion {
	if start <= 0 {
		return nil
	}
	r := &sarifRegion{StartLine: start}
	if end >= start {
		r.EndLine = end
	}
	return r
}

// lastSegment is the short name of an address: main of aws_kms_key.main,
// k["a.b"] of module.m.aws_kms_key.k["a.b"] (a dot inside an index is not a
// separator); a CloudFormation logical ID is its own short name.
func lastSegment(addr string) string {
	depth, cut := 0, -1
	for i, c := range addr {
		switch c {
		case '[':
			depth++
		case ']':
			depth--
		case '.':
			if depth == 0 {
				cut = i
			}
		}
	}
	if cut >= 0 && cut < len(addr)-1 {
		return addr[cut+1:]
	}
	return addr
}

// sarifFixOf is the SARIF fix of a finding: exactly the edits kmsrotor iac
// --fix makes for it (Remediation.Edits), none when it makes none (a
// refused or ineligible fix, a live key). The writer never guesses an edit
// from the finding's lines: it cannot see the file, and a blind insertion
// can duplicate an argument or break a template.
//
// Each edit replaces whole lines StartLine..EndLine, newlines included, so
// its deleted region runs from column 1 of StartLine to column 1 of the
// line after EndLine; an insertion (EndLine = StartLine-1) is the empty
// region at column 1 of StartLine, SARIF's insertion point. Column 1 is the
// same in every column kind. The line after the last line of a file is its
// end.
func sarifFixOf(f check.Finding) (sarifFix, bool) {
	if len(f.Remediation.Edits) == 0 {
		return sarifFix{}, false
	}
	var changes []sarifArtifactChange
	byFile := map[string]int{}
	for _, e := range f.Remediation.Edits {
		i, ok := byFile[e.File]
		if !ok {
			i = len(changes)
			byFile[e.File] = i
			changes = append(changes, sarifArtifactChange{ArtifactLocation: artifact(e.File)})
		}
		changes[i].Replacements = append(changes[i].Replacements, sarifReplacement{
			DeletedRegion:   sarifRegion{StartLine: e.StartLine, StartColumn: 1, EndLine: e.EndLine + 1, EndColumn: 1},
			InsertedContent: sarifText{Text: e.Text},
		})
	}
	return sarifFix{Description: sarifText{Text: fixDescription(f)}, ArtifactChanges: changes}, true
}

// fixDescription says what a fix does, in the finding's language.
func fixDescription(f check.Finding) string {
	what := "Apply the change kmsrotor iac --fix makes"
	switch f.Reason {
	case check.ReasonRotationDisabled:
		what = "Enable automatic key rotation"
	case check.ReasonPeriodExceedsPolicy:
		what = "Shorten the rotation period"
	}
	return fmt.Sprintf("%s on %s (the change kmsrotor iac --fix makes).", what, orDefault(f.Resource, f.File))
}

// notification turns a scan-level error into an error notification located
// at the file (and line) or, for a live scan, at the account and Region.
func notification(e ScanError) sarifNotification {
	n := sarifNotification{
		Level:      "error",
		Message:    sarifText{Text: describeScanError(e)},
		Descriptor: &sarifRef{ID: orDefault(e.Code, "error")},
		Properties: map[string]any{},
	}
	switch {
	case e.File != "":
		n.Locations = []sarifLocation{{PhysicalLocation: &sarifPhysical{ArtifactLocation: artifact(e.File), Region: lineRegion(e.Line, e.Line)}}}
	case e.AccountID != "" || e.Region != "":
		fq := strings.Trim(e.AccountID+"/"+e.Region, "/")
		n.Locations = []sarifLocation{{LogicalLocations: []sarifLogical{{Name: orDefault(e.Region, e.AccountID), FullyQualifiedName: fq, Kind: "namespace"}}}}
	}
	for k, v := range map[string]string{"account_id": e.AccountID, "region": e.Region, "operation": e.Operation, "code": e.Code} {
		if v != "" {
			n.Properties[k] = v
		}
	}
	if len(n.Properties) == 0 {
		n.Properties = nil
	}
	return n
}

// reasonText is the rule metadata of one reason code.
type reasonText struct {
	name, short, full      string
	helpText, helpMarkdown string
	tags                   []string
}

var (
	rotationTags = []string{"security", "aws", "kms", "encryption", "key-rotation"}
	errorTags    = []string{"aws", "kms", "scan-error"}
)

// describeReason writes the rule of a reason code, with the seed document's
// remediation (console, CLI, CloudFormation, Terraform) where it applies.
// maxDays is the policy's maximum rotation period.
func describeReason(reason string, maxDays int) reasonText {
	period := maxDays
	if period <= 0 {
		period = kmskey.DefaultRotationPeriodDays
	}
	switch reason {
	case check.ReasonRotationDisabled:
		return reasonText{
			name:  "KMSKeyRotationDisabled",
			short: "KMS key does not rotate its key material",
			full: "A customer-managed symmetric encryption KMS key with AWS_KMS key material has automatic rotation disabled, " +
				"so the same key material protects new data indefinitely. The CIS AWS Foundations Benchmark, AWS FSBP (KMS.4) and PCI DSS require rotation.",
			helpText:     enableHelpText(0),
			helpMarkdown: enableHelpMarkdown(0),
			tags:         rotationTags,
		}
	case check.ReasonPeriodExceedsPolicy:
		return reasonText{
			name:         "KMSKeyRotationPeriodTooLong",
			short:        "KMS key rotation period is longer than the policy allows",
			full:         fmt.Sprintf("The key rotates automatically, but its rotation period is longer than the policy's maximum of %d days.", period),
			helpText:     enableHelpText(period),
			helpMarkdown: enableHelpMarkdown(period),
			tags:         rotationTags,
		}
	case check.ReasonRotationOverdue:
		const text = "Automatic rotation is enabled but the scheduled rotation has not happened within the grace period. " +
			"List the key's rotations with aws kms list-key-rotations --key-id <key-id>, check that the key is enabled, " +
			"and rotate it now with aws kms rotate-key-on-demand --key-id <key-id> if needed."
		return reasonText{
			name:         "KMSKeyRotationOverdue",
			short:        "KMS key rotation is overdue",
			full:         "Automatic rotation is enabled, but the key's next rotation date passed more than the policy's grace period ago.",
			helpText:     text,
			helpMarkdown: "Automatic rotation is enabled but the scheduled rotation has not happened within the grace period.\n\n```sh\naws kms list-key-rotations --key-id <key-id> --region <region>\naws kms rotate-key-on-demand --key-id <key-id> --region <region>\n```\n\nCheck that the key is enabled before rotating it on demand.",
			tags:         rotationTags,
		}
	case check.ReasonImportedKeyMaterial:
		const text = "A key with imported key material (origin EXTERNAL) cannot rotate automatically. " +
			"Rotate it by hand on a schedule: import new key material (ImportKeyMaterial with ImportType NEW_KEY_MATERIAL), " +
			"then run aws kms rotate-key-on-demand --key-id <key-id>. Or move the data to a key with AWS_KMS origin and enable rotation on it."
		return reasonText{
			name:         "KMSKeyImportedMaterial",
			short:        "KMS key with imported key material cannot rotate automatically",
			full:         "The key's material is imported (origin EXTERNAL). AWS KMS cannot rotate it automatically; it needs a manual rotation process.",
			helpText:     text,
			helpMarkdown: "A key with imported key material (origin `EXTERNAL`) cannot rotate automatically. Rotate it by hand on a schedule:\n\n1. Import new key material (`ImportKeyMaterial` with `ImportType` `NEW_KEY_MATERIAL`).\n2. Rotate: `aws kms rotate-key-on-demand --key-id <key-id>`.\n\nOr move the data to a key with `AWS_KMS` origin and enable automatic rotation on it.",
			tags:         rotationTags,
		}
	case check.ReasonUnresolvedValue:
		const text = "A value that decides the check (a variable without a default, a condition, an unresolved reference) cannot be resolved from the files. " +
			"Give the variable a default or pass a .tfvars file with --var-file (CloudFormation: a Parameter Default), or check the deployed key with kmsrotor scan."
		return reasonText{
			name:         "KMSKeyRotationUnresolved",
			short:        "KMS key rotation cannot be decided from the files",
			full:         "A value the check needs cannot be resolved statically, so rotation is neither assumed on nor off.",
			helpText:     text,
			helpMarkdown: text,
			tags:         rotationTags,
		}
	case check.ReasonAccessDenied:
		const text = "An AWS API call needed to evaluate the key was denied, so its rotation is unknown. " +
			"Grant the scanning principal kms:ListKeys, kms:DescribeKey, kms:GetKeyRotationStatus and kms:ListAliases (the result names the call that failed), then scan again."
		return reasonText{
			name: "KMSKeyAccessDenied", short: "KMS key could not be read: access denied",
			full:     "An AWS API call needed to evaluate the key was denied. The key is reported, never counted as passing or failing.",
			helpText: text, helpMarkdown: text, tags: errorTags,
		}
	case check.ReasonThrottled:
		const text = "AWS throttled the calls needed to evaluate the key, even after retries, so its rotation is unknown. Scan again later."
		return reasonText{
			name: "KMSKeyThrottled", short: "KMS key could not be read: throttled",
			full:     "AWS KMS throttled the calls needed to evaluate the key. The key is reported, never counted as passing or failing.",
			helpText: text, helpMarkdown: text, tags: errorTags,
		}
	case check.ReasonAPIError:
		const text = "An AWS API call needed to evaluate the key failed, so its rotation is unknown. The result gives the error code; scan again."
		return reasonText{
			name: "KMSKeyAPIError", short: "KMS key could not be read: API error",
			full:     "An AWS API call needed to evaluate the key failed. The key is reported, never counted as passing or failing.",
			helpText: text, helpMarkdown: text, tags: errorTags,
		}
	}
	// A reason this writer has no words for still gets a valid, stable rule.
	text := "The kms_cmk_rotation_enabled check reported " + reason + " for this key; see the result message."
	return reasonText{
		name: "KMSKeyRotation", short: "KMS key rotation check: " + reason, full: text,
		helpText: text, helpMarkdown: text, tags: rotationTags,
	}
}

// enableHelpText is the seed document's remediation, in short; period > 0
// adds the policy's rotation period.
func enableHelpText(period int) string {
	var b strings.Builder
	b.WriteString("Enable automatic rotation of the key material. It applies to customer-managed symmetric encryption keys with AWS_KMS origin; for a multi-Region key, set it on the primary key, whose replicas share it. You need kms:EnableKeyRotation on the key.\n")
	if period > 0 {
		fmt.Fprintf(&b, "Use a rotation period of at most %d days.\n", period)
	}
	b.WriteString("Console: Key Management Service > Customer managed keys > the key > Key rotation > Edit > check \"Automatically rotate this KMS key\"")
	if period > 0 {
		fmt.Fprintf(&b, ", set the rotation period to %d days", period)
	}
	b.WriteString(" > Save.\n")
	fmt.Fprintf(&b, "CLI: %s\n", cliCommand(period))
	fmt.Fprintf(&b, "CloudFormation: in the AWS::KMS::Key Properties, %s, then update the stack.\n", strings.Join(cfnFix(period), ", "))
	fmt.Fprintf(&b, "Terraform: in the aws_kms_key resource, %s.\n", strings.Join(tfFix(period), ", "))
	b.WriteString("Verify: aws kms get-key-rotation-status --key-id <key-id> --region <region> returns \"KeyRotationEnabled\": true.")
	return b.String()
}

func enableHelpMarkdown(period int) string {
	var b strings.Builder
	b.WriteString("Enable automatic rotation of the key material. It applies to customer-managed symmetric encryption keys with `AWS_KMS` origin; for a multi-Region key, set it on the **primary** key, whose replicas share it. You need `kms:EnableKeyRotation` on the key.\n\n")
	if period > 0 {
		fmt.Fprintf(&b, "Use a rotation period of at most **%d days**.\n\n", period)
	}
	b.WriteString("**Console:** Key Management Service → Customer managed keys → the key → Key rotation → Edit → check *Automatically rotate this KMS key*")
	if period > 0 {
		fmt.Fprintf(&b, ", set the rotation period to %d days", period)
	}
	b.WriteString(" → Save.\n\n")
	fmt.Fprintf(&b, "**CLI:**\n\n```sh\n%s\n```\n\n", cliCommand(period))
	fmt.Fprintf(&b, "**CloudFormation** (`AWS::KMS::Key`, then update the stack):\n\n```yaml\nProperties:\n%s\n```\n\n", indent(cfnFix(period), "  "))
	fmt.Fprintf(&b, "**Terraform** (`aws_kms_key`):\n\n```hcl\nresource \"aws_kms_key\" \"example\" {\n%s\n}\n```\n\n", indent(alignHCL(tfFix(period)), "  "))
	b.WriteString("**Verify:** `aws kms get-key-rotation-status --key-id <key-id> --region <region>` returns `\"KeyRotationEnabled\": true`.")
	return b.String()
}

func cliCommand(period int) string {
	if period > 0 {
		return fmt.Sprintf("aws kms enable-key-rotation --key-id <key-id> --rotation-period-in-days %d --region <region>", period)
	}
	return "aws kms enable-key-rotation --key-id <key-id> --region <region>"
}

func cfnFix(period int) []string {
	out := []string{"EnableKeyRotation: true"}
	if period > 0 {
		out = append(out, fmt.Sprintf("RotationPeriodInDays: %d", period))
	}
	return out
}

// tfFix sets the period with the flag: the provider requires
// rotation_period_in_days to come with enable_key_rotation.
func tfFix(period int) []string {
	out := []string{"enable_key_rotation = true"}
	if period > 0 {
		out = append(out, fmt.Sprintf("rotation_period_in_days = %d", period))
	}
	return out
}

func indent(lines []string, pad string) string {
	out := slices.Clone(lines)
	for i, l := range out {
		out[i] = pad + l
	}
	return strings.Join(out, "\n")
}

// alignHCL aligns the equals signs of consecutive attributes, as terraform
// fmt does, so the example can be pasted as is.
func alignHCL(lines []string) []string {
	width := 0
	for _, l := range lines {
		if k, _, ok := strings.Cut(l, " = "); ok {
			width = max(width, len(k))
		}
	}
	out := slices.Clone(lines)
	for i, l := range out {
		if k, v, ok := strings.Cut(l, " = "); ok {
			out[i] = fmt.Sprintf("%-*s = %s", width, k, v)
		}
	}
	return out
}
