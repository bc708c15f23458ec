package report

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kmsrotor/kmsrotor/internal/check"
)

func init() { register(FormatSARIF, newSARIFSink) }

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
	// OriginalURIBaseIDs says what %SRCROOT%, the base of every relative
	// URI, stands for; its absolute path is left out, as it is of the report.
	OriginalURIBaseIDs map[string]sarifBase `json:"originalUriBaseIds,omitempty"`
	Properties         map[string]any       `json:"properties,omitempty"`
}

type sarifBase struct {
	Description sarifText `json:"description"`
}

// sarifLogOut and sarifRunOut are sarifLog and sarifRun as the sink writes
// them: Results holds the placeholder of the streamed array.
type sarifLogOut struct {
	Schema  string        `json:"$schema"`
	Version string        `json:"version"`
	Runs    []sarifRunOut `json:"runs"`
}

type sarifRunOut struct {
	Tool               sarifTool            `json:"tool"`
	Invocations        []sarifInvocation    `json:"invocations"`
	Results            string               `json:"results"`
	ColumnKind         string               `json:"columnKind,omitempty"`
	OriginalURIBaseIDs map[string]sarifBase `json:"originalUriBaseIds,omitempty"`
	Properties         map[string]any       `json:"properties,omitempty"`
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
	RelatedLocations    []sarifLocation    `json:"relatedLocations,omitempty"`
	PartialFingerprints map[string]string  `json:"partialFingerprints"`
	Suppressions        []sarifSuppression `json:"suppressions,omitempty"`
	Fixes               []sarifFix         `json:"fixes,omitempty"`
	Properties          map[string]any     `json:"properties,omitempty"`
}

type sarifLocation struct {
	ID               *int           `json:"id,omitempty"`
	Message          *sarifText     `json:"message,omitempty"`
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

// sarifSink writes one SARIF 2.1.0 run. FAIL findings are results of level
// error; MANUAL and ERROR are warnings. PASS and SKIPPED keys are left out:
// code-scanning consumers (GitHub, the SARIF viewers) show every result as an
// alert line, and a kind "pass" row per compliant key would bury the few that
// need work in large repositories, while the JSON report keeps them all; the
// run's properties still count them. Scan-level errors (an unparsable file, a
// Region that could not be listed) are error notifications of the invocation,
// which then did not execute successfully.
//
// The results are sorted in check.Sort's order through a spillSorter; End
// reads them twice, once for the rules (in order of first appearance) and
// once to stream the results.
type sarifSink struct {
	w      io.Writer
	h      Header
	sorter *spillSorter
	sum    check.Summary
	// named is whether a finding names a file (an IaC run).
	named bool
}

func newSARIFSink(w io.Writer, opts Options) (Sink, error) {
	return &sarifSink{w: w, sorter: newSpillSorter(check.Compare, opts)}, nil
}

func (s *sarifSink) Begin(h Header) error { s.h = h; return nil }

func (s *sarifSink) Finding(f *check.Finding) error {
	s.sum.Add(f)
	s.named = s.named || f.File != ""
	if f.Status == check.StatusPass || f.Status == check.StatusSkipped {
		return nil
	}
	if err := s.sorter.Add(f); err != nil {
		s.sorter.Close()
		return err
	}
	return nil
}

func (s *sarifSink) End(t Trailer) error {
	defer s.sorter.Close()
	b := sarifBuilder{maxDays: t.Scan.Policy.MaxRotationDays, ruleIndex: map[string]int{}}
	if err := s.sorter.Each(func(f *check.Finding) error { b.rule(*f); return nil }); err != nil {
		return err
	}
	sum := s.sum
	sum.ScanErrors = len(t.Errors)

	uri := s.h.Tool.URL
	if uri == "" {
		uri = defaultToolURI
	}
	name := s.h.Tool.Name
	if name == "" {
		name = "kmsrotor"
	}
	inv := sarifInvocation{ExecutionSuccessful: len(t.Errors) == 0}
	if !t.Scan.StartedAt.IsZero() {
		inv.StartTimeUTC = t.Scan.StartedAt.UTC().Format(time.RFC3339Nano)
	}
	if !t.Scan.FinishedAt.IsZero() {
		inv.EndTimeUTC = t.Scan.FinishedAt.UTC().Format(time.RFC3339Nano)
	}
	for _, e := range t.Errors {
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, notification(e))
	}

	if b.rules == nil {
		b.rules = []sarifRule{}
	}
	log := sarifLogOut{
		Schema:  sarifSchema,
		Version: sarifVersion,
		Runs: []sarifRunOut{{
			Tool: sarifTool{Driver: sarifDriver{
				Name:           name,
				Version:        s.h.Tool.Version,
				InformationURI: uri,
				Rules:          b.rules,
			}},
			Invocations: []sarifInvocation{inv},
			Results:     splicePlaceholder,
			// Fix regions use column 1 only, which is the same in every
			// column kind; say which one anyway, as GitHub expects.
			ColumnKind:         "utf16CodeUnits",
			OriginalURIBaseIDs: baseIDs(s.named, t.Errors),
			Properties: map[string]any{
				"kind":           t.Scan.Kind,
				"schema_version": orSchema(s.h.SchemaVersion),
				"summary":        sum,
				"complete":       complete(t, s.sum),
			},
		}},
	}
	bw := bufio.NewWriterSize(s.w, 64<<10)
	err := writeSpliced(bw, &log, func(item func(v any) error) error {
		return s.sorter.Each(func(f *check.Finding) error {
			r := b.result(*f)
			return item(&r)
		})
	})
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return fmt.Errorf("write sarif report: %w", err)
	}
	return nil
}

// baseIDs declares %SRCROOT% when a file is named: IaC findings and errors.
func baseIDs(named bool, errs []ScanError) map[string]sarifBase {
	if !named && !slices.ContainsFunc(errs, func(e ScanError) bool { return e.File != "" }) {
		return nil
	}
	return map[string]sarifBase{srcRoot: {Description: sarifText{
		Text: "The directory kmsrotor ran in (the repository root in CI); every relative URI is relative to it."}}}
}

type sarifBuilder struct {
	maxDays   int
	rules     []sarifRule
	ruleIndex map[string]int
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
	d := catalogRule(&f).Reason(f.Reason, b.maxDays)
	b.rules = append(b.rules, sarifRule{
		ID:                   id,
		Name:                 d.Name,
		ShortDescription:     sarifText{Text: d.Title},
		FullDescription:      sarifText{Text: d.Description},
		Help:                 sarifMultiText{Text: d.Help, Markdown: d.HelpMarkdown},
		HelpURI:              catalogRule(&f).URL,
		DefaultConfiguration: sarifConfiguration{Level: sarifLevel(f.Status)},
		Properties: sarifRuleProps{
			Tags:             d.Tags,
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
	if c := f.CallSite; c != nil && c.File != "" {
		// A key made in a module: the call is what the user edits, so it
		// is the primary location; the module's resource is related.
		call := sarifLocation{
			PhysicalLocation: &sarifPhysical{ArtifactLocation: artifact(c.File), Region: lineRegion(c.StartLine, c.StartLine)},
			LogicalLocations: []sarifLogical{{Name: lastSegment(c.Module), FullyQualifiedName: c.Module, Kind: "module"}},
		}
		id := 1
		loc.ID = &id
		loc.Message = &sarifText{Text: "The key's resource in the module " + c.Module + "."}
		r.Locations = []sarifLocation{call}
		r.RelatedLocations = []sarifLocation{loc}
		r.Properties["resource"] = f.Resource
	}
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
	what := catalogRule(&f).Reason(f.Reason, 0).Action
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
