package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kmsrotor/kmsrotor/internal/check"
)

// CSV: one row per finding under a stable header (csvHeader: columns are
// only ever added at the end). Lists are joined with ";" (aliases, tags as
// key=value, compliance as framework:req|req). A cell that a spreadsheet
// would read as a formula (starting with =, +, -, @, tab or carriage
// return) is prefixed with a single quote, as OWASP recommends against CSV
// injection. Other control characters (a terminal escape in a tag) are
// replaced by U+FFFD. Rows are written as findings arrive.

var csvHeader = []string{
	"finding_id", "check_id", "status", "muted", "reason", "severity", "source",
	"account_id", "region", "key_id", "key_arn", "aliases", "tags",
	"file", "start_line", "end_line", "resource",
	"rotation_enabled", "rotation_period_days", "next_rotation_date", "last_rotation_date", "last_rotation_type",
	"key_manager", "key_spec", "key_usage", "key_origin", "key_state", "multi_region_type",
	"primary_key_arn", "primary_region", "primary_resource", "custom_key_store_id",
	"error_operation", "error_code", "error_message",
	"message", "remediation", "remediation_target_key_arn", "remediation_target_region", "remediation_cli",
	"remediation_terraform", "remediation_cloudformation", "remediation_url", "compliance",
}

type csvSink struct {
	w    *csv.Writer
	comp complianceJSON
}

// NewCSV returns the CSV sink writing to w.
func NewCSV(w io.Writer) Sink { return &csvSink{w: csv.NewWriter(controlFree{w})} }

func (s *csvSink) Begin(Header) error { return s.w.Write(csvHeader) }

func (s *csvSink) Finding(f *check.Finding) error {
	row := csvRow(f, s.comp.csv(f.Compliance))
	for i, c := range row {
		row[i] = csvCell(c)
	}
	return s.w.Write(row)
}

func (s *csvSink) End(Trailer) error {
	s.w.Flush()
	if err := s.w.Error(); err != nil {
		return fmt.Errorf("write csv report: %w", err)
	}
	return nil
}

// csvCell neutralizes a cell a spreadsheet would run as a formula.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func csvRow(f *check.Finding, compliance string) []string {
	itoa := func(n int) string {
		if n == 0 {
			return ""
		}
		return strconv.Itoa(n)
	}
	when := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	var tags []string
	for _, k := range slices.Sorted(maps.Keys(f.Tags)) {
		tags = append(tags, k+"="+f.Tags[k])
	}
	var eop, ecode, emsg string
	if f.Error != nil {
		eop, ecode, emsg = f.Error.Operation, f.Error.Code, f.Error.Message
	}
	k, r := f.Key, f.Remediation
	return []string{
		findingID(f), f.CheckID, string(f.Status), strconv.FormatBool(f.Muted), f.Reason, f.Severity, f.Source,
		f.AccountID, f.Region, f.KeyID, f.KeyARN, strings.Join(f.Aliases, ";"), strings.Join(tags, ";"),
		f.File, itoa(f.StartLine), itoa(f.EndLine), f.Resource,
		boolOf(f.Rotation.Enabled), itoa(f.Rotation.PeriodDays), when(f.Rotation.NextRotationDate), when(f.Rotation.LastRotationDate), f.Rotation.LastRotationType,
		k.Manager, k.Spec, k.Usage, k.Origin, k.State, k.MultiRegionType,
		k.PrimaryKeyARN, k.PrimaryRegion, k.PrimaryResource, k.CustomKeyStoreID,
		eop, ecode, emsg,
		f.Message, r.Text, r.TargetKeyARN, r.TargetRegion, r.CLI, r.Terraform, r.CloudFormation, r.URL, compliance,
	}
}
