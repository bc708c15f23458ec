package report

import (
	"strings"
	"testing"
	"time"

	"github.com/kmsrotor/kmsrotor/internal/check"
	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

// hostile is what a malicious endpoint or file puts in a string: a window
// title, a screen clear, a carriage return and a newline that starts a
// forged PASS row, a raw C1 CSI byte and a right-to-left override.
const hostile = "x\x1b]0;pwned\x07\x1b[2J\rgone\n999999999999  us-east-1  forged  -  PASS  rotation_enabled\x9b2J\u202e"

// forged is how the forged row would start a line of the table.
const forged = "999999999999  us-east-1  forged"

func hostileDoc(kind string) *Document {
	policy := check.DefaultPolicy(now)
	var keys []kmskey.Key
	if kind == "aws" {
		keys = []kmskey.Key{
			liveKey("k1"+hostile, func(k *kmskey.Key) {
				k.AccountID, k.Region = "1111"+hostile, "eu-west-1"+hostile
				k.Aliases = []string{"alias/" + hostile}
				k.Rotation = kmskey.Rotation{Enabled: kmskey.False}
			}),
			liveKey("k2", func(k *kmskey.Key) {
				k.Rotation = kmskey.Rotation{}
				k.Err = &kmskey.Error{Operation: "GetKeyRotationStatus" + hostile, Code: "AccessDenied" + hostile, Message: hostile}
			}),
			liveKey("k3", func(k *kmskey.Key) {
				k.MultiRegion, k.MultiRegionType = true, kmskey.MultiRegionReplica
				k.PrimaryARN, k.PrimaryRegion = "arn:"+hostile, "us-east-1"+hostile
				k.Rotation = kmskey.Rotation{Enabled: kmskey.False}
			}),
			liveKey("k4", func(k *kmskey.Key) {
				k.Origin = kmskey.OriginExternal
				k.Rotation = kmskey.Rotation{}
				k.Description = hostile
			}),
		}
	} else {
		keys = []kmskey.Key{
			iacKey("infra/"+hostile+".tf", 1, 3, "aws_kms_key."+hostile, nil),
			iacKey("infra/b.tf", 1, 3, "aws_kms_key.replica", func(k *kmskey.Key) {
				k.MultiRegion, k.MultiRegionType = true, kmskey.MultiRegionReplica
				k.PrimaryResource = "aws_kms_key." + hostile
			}),
		}
	}
	findings := make([]check.Finding, len(keys))
	for i, k := range keys {
		findings[i] = check.Evaluate(k, policy)
	}
	doc := &Document{
		Tool: Tool{Name: "kmsrotor", Version: "1.2.3"},
		Scan: Scan{Kind: kind, StartedAt: now, FinishedAt: now.Add(time.Second), DurationMS: 1000,
			Accounts: []string{"1111" + hostile}, Regions: []string{"eu-west-1" + hostile}, Paths: []string{"infra/" + hostile},
			Policy:          PolicyFacts{MaxRotationDays: 365, RotationGraceDays: 7},
			SkippedAccounts: []SkippedAccount{{AccountID: "2222" + hostile, State: "SUSPENDED" + hostile}}},
		Findings: findings,
		Errors: []ScanError{
			{AccountID: "1111" + hostile, Region: "ap-south-1" + hostile, Operation: "ListKeys" + hostile, Code: "AccessDenied" + hostile, Message: hostile},
			{File: "infra/" + hostile + ".yaml", Line: 7, Code: "ParseError", Message: hostile},
		},
	}
	doc.Finalize()
	return doc
}

// TestTableHostileStrings: strings from AWS and files carry terminal
// controls and a newline that starts a forged row; the table shows them
// escaped, and its only control bytes are its own newlines (and, on a
// terminal, its own colours).
func TestTableHostileStrings(t *testing.T) {
	for _, kind := range []string{"aws", "iac"} {
		for _, terminal := range []bool{false, true} {
			out := string(write(t, FormatTable, hostileDoc(kind), Options{Terminal: terminal, ShowSkipped: true}))
			what := kind + map[bool]string{true: " on a terminal", false: " piped"}[terminal]
			checkInertOutput(t, what, out)
			if !strings.Contains(out, `\x1b]0;pwned\x07\x1b[2J\rgone\n999999999999`) {
				t.Errorf("%s: the hostile string is not shown escaped:\n%s", what, out)
			}
		}
	}
}

// checkInertOutput fails when out holds a control byte other than a
// newline and the table's own SGR colours, or a line the forged row starts.
func checkInertOutput(t *testing.T, what, out string) {
	t.Helper()
	plain := out
	for _, sgr := range []string{ansiReset, ansiBold, ansiDim, ansiRed, ansiGreen, ansiYellow} {
		plain = strings.ReplaceAll(plain, sgr, "")
	}
	for i := 0; i < len(plain); i++ {
		if c := plain[i]; (c < 0x20 && c != '\n') || c == 0x7f || c == 0x9b {
			t.Fatalf("%s: raw control byte %#x at %d in:\n%q", what, c, i, plain)
		}
	}
	if strings.ContainsRune(plain, '\u202e') || strings.ContainsRune(plain, '\u009b') {
		t.Fatalf("%s: raw C1 or bidi override in:\n%q", what, plain)
	}
	for _, line := range strings.Split(plain, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), forged) {
			t.Fatalf("%s: the forged row appears as a line of its own:\n%s", what, plain)
		}
	}
}
