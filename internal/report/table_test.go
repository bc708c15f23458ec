package report

import (
	"strings"
	"testing"
	"unicode/utf8"
)

var tableCases = []struct {
	name string
	doc  func() *Document
	opts Options
}{
	{"live-plain", liveDoc, Options{}},
	{"live-terminal", liveDoc, Options{Terminal: true}},
	{"live-all-plain", liveDoc, Options{ShowSkipped: true}},
	{"iac-plain", iacDoc, Options{}},
	{"iac-terminal", iacDoc, Options{Terminal: true}},
	{"live-empty-plain", func() *Document { return emptyDoc("aws") }, Options{}},
	{"iac-empty-terminal", func() *Document { return emptyDoc("iac") }, Options{Terminal: true}},
	{"hostile-live-plain", func() *Document { return hostileDoc("aws") }, Options{ShowSkipped: true}},
	{"hostile-iac-terminal", func() *Document { return hostileDoc("iac") }, Options{Terminal: true}},
}

func TestTableGolden(t *testing.T) {
	t.Parallel()
	for _, tc := range tableCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			golden(t, "table/"+tc.name+".txt", write(t, FormatTable, tc.doc(), tc.opts))
		})
	}
}

// TestTableContent checks, apart from the golden files, what a reader must
// find: piped output without escape codes and complete, the fix for each
// FAIL, the replica's primary, error codes and the scan-level errors.
func TestTableContent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		doc     func() *Document
		opts    Options
		want    []string
		notWant []string
	}{
		{"live piped", liveDoc, Options{}, []string{
			"Scanned 1 account (111122223333) × 4 Regions (ap-south-1, eu-west-1, us-east-1, us-west-2) in 1.234s.",
			"Summary: 5 FAIL, 1 ERROR, 1 MANUAL, 1 PASS, 3 SKIPPED, 1 muted (12 keys), and 1 scan error.",
			"0b7d2a3c-1111-4a5b-8c9d-000000000002  alias/legacy",
			"fix: aws kms enable-key-rotation --key-id 0b7d2a3c-1111-4a5b-8c9d-000000000002 --region eu-west-1",
			"fix: aws kms enable-key-rotation --key-id 0b7d2a3c-1111-4a5b-8c9d-000000000003 --rotation-period-in-days 365 --region eu-west-1",
			"replica of " + primary + " (us-east-1)",
			"fix: aws kms enable-key-rotation --key-id " + primary + " --region us-east-1",
			"access_denied (AccessDeniedException)",
			"error: GetKeyRotationStatus failed with AccessDeniedException",
			"1 error: the scan is incomplete.",
			"111122223333 ap-south-1: ListKeys failed with AccessDeniedException: User: arn:aws:iam::111122223333:user/scanner is not authorized to perform: kms:ListKeys",
			"Not listed: 4 PASS or SKIPPED and 1 muted; --show-skipped lists them.",
		}, []string{"\x1b[", "…", "RSA_2048", "alias/aws/s3", "0b7d2a3c-1111-4a5b-8c9d-000000000010"}},
		{"live all", liveDoc, Options{ShowSkipped: true}, []string{
			"alias/aws/s3", "aws_managed_key", "asymmetric_key", "pending_deletion", "FAIL (muted)",
			"0b7d2a3c-1111-4a5b-8c9d-000000000010",
		}, []string{"Not listed"}},
		{"live terminal", liveDoc, Options{Terminal: true}, []string{
			ansiRed + "FAIL" + ansiReset, ansiYellow + "ERROR" + ansiReset, ansiYellow + "MANUAL" + ansiReset,
			"0b7d2a3c…", "mrk-1234abcd…",
			// The fix keeps the full ID to copy.
			"--key-id 0b7d2a3c-1111-4a5b-8c9d-000000000002 --region eu-west-1",
			// Rows whose notes lack the full ID get it.
			"--key-id 0b7d2a3c-1111-4a5b-8c9d-000000000004 --region eu-west-1",
			"key: arn:aws:kms:eu-west-1:111122223333:key/0b7d2a3c-1111-4a5b-8c9d-000000000009",
		}, []string{"key: arn:aws:kms:eu-west-1:111122223333:key/0b7d2a3c-1111-4a5b-8c9d-000000000002"}},
		{"iac piped", iacDoc, Options{}, []string{
			"Scanned 2 paths (infra, templates) in 45ms. Policy: rotation at least every 365 days.",
			"infra/main.tf:1",
			"fix (Terraform): enable_key_rotation = true",
			"fix (Terraform): enable_key_rotation = true\n                     rotation_period_in_days = 365",
			"replica of aws_kms_key.main",
			"fix (Terraform, on aws_kms_key.main): enable_key_rotation = true",
			"fix (CloudFormation): EnableKeyRotation: true",
			"templates/my stack.yml:3",
			"fix (CloudFormation): \"EnableKeyRotation\": true",
			"unresolved_value",
			"templates/broken.yaml:7: parse_error: yaml: line 7: did not find expected key",
		}, []string{"\x1b[", "grace", "--show-skipped", "aws_kms_key.rotating", "MacKey"}},
		{"live empty", func() *Document { return emptyDoc("aws") }, Options{}, []string{
			"No KMS keys found in 1 account (111122223333) × 2 Regions (eu-west-1, us-east-1).",
		}, []string{"Summary", "ACCOUNT", "error"}},
		{"iac empty", func() *Document { return emptyDoc("iac") }, Options{}, []string{
			"No KMS key resources found in 1 path (empty).",
		}, []string{"Summary", "FILE:LINE"}},
	}
	for _, tc := range tests {
		got := string(write(t, FormatTable, tc.doc(), tc.opts))
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: got\n%s\nwant it to contain %q", tc.name, got, w)
			}
		}
		for _, w := range tc.notWant {
			if strings.Contains(got, w) {
				t.Errorf("%s: got\n%s\nwant it not to contain %q", tc.name, got, w)
			}
		}
	}
}

// TestTableAligned checks that every row's STATUS and last column start
// where the header's do, on a terminal (after removing colour) and piped.
func TestTableAligned(t *testing.T) {
	t.Parallel()
	for _, tc := range tableCases {
		out := stripANSI(string(write(t, FormatTable, tc.doc(), tc.opts)))
		lines := strings.Split(out, "\n")
		head := -1
		for i, l := range lines {
			if strings.HasPrefix(l, "ACCOUNT ") || strings.HasPrefix(l, "FILE:LINE ") {
				head = i
				break
			}
		}
		if head < 0 {
			if strings.Contains(tc.name, "empty") {
				continue
			}
			t.Fatalf("%s: got no header row in\n%s", tc.name, out)
		}
		statusCol := runeIndex(lines[head], "STATUS")
		reasonCol := runeIndex(lines[head], "REASON")
		rows := 0
		for _, l := range lines[head+1:] {
			if l == "" {
				break
			}
			if strings.HasPrefix(l, "    ") {
				continue // a note under a row
			}
			rows++
			r := []rune(l)
			if len(r) <= reasonCol || r[statusCol-1] != ' ' || r[statusCol] == ' ' || r[reasonCol-1] != ' ' || r[reasonCol] == ' ' {
				t.Errorf("%s: got row %q, want STATUS at column %d and REASON at %d", tc.name, l, statusCol, reasonCol)
			}
		}
		if rows == 0 {
			t.Errorf("%s: got no rows under the header in\n%s", tc.name, out)
		}
	}
}

func runeIndex(s, sub string) int {
	return utf8.RuneCountInString(s[:strings.Index(s, sub)])
}

func stripANSI(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b {
			for i < len(s) && s[i] != 'm' {
				i++
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func TestShortKeyID(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"0b7d2a3c-1111-4a5b-8c9d-000000000002", "0b7d2a3c…"},
		{"mrk-1234abcd12ab34cd56ef1234567890ab", "mrk-1234abcd…"},
		{"short", "short"},
		{"123456789", "123456789"},
		{"arn:aws:kms:us-east-1:111122223333:key/x", "arn:aws:kms:us-east-1:111122223333:key/x"},
	}
	for _, tc := range tests {
		if got := shortKeyID(tc.in); got != tc.want {
			t.Errorf("shortKeyID(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
}
