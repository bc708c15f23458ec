package cloudformation

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kmsrotor/kmsrotor/internal/check"
	"github.com/kmsrotor/kmsrotor/internal/iac/diag"
	"github.com/kmsrotor/kmsrotor/internal/iac/limit"
	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

// want is one expected finding of the corpus.
type want struct {
	resource   string
	start, end int
	status     check.Status
	reason     string
}

func (w want) String() string {
	return fmt.Sprintf("%s %d-%d %s %s", w.resource, w.start, w.end, w.status, w.reason)
}

// wantDiag is one expected diagnostic: its line, code and a part of its message.
type wantDiag struct {
	line int
	code string
	text string
}

var (
	pass    = check.StatusPass
	fail    = check.StatusFail
	manual  = check.StatusManual
	skipped = check.StatusSkipped
)

// corpus lists, for every file of testdata/corpus, the exact findings under
// the default policy (365 days). The comments name the peer that gets the
// key wrong (reference/peers.md).
var corpus = []struct {
	file     string
	template bool
	findings []want
	diags    []wantDiag
}{
	{file: "classes.yaml", template: true, findings: []want{
		{"RotatingKey", 16, 20, pass, check.ReasonRotationEnabled},
		{"NoRotationKey", 23, 26, fail, check.ReasonRotationDisabled},
		{"FalseKey", 28, 31, fail, check.ReasonRotationDisabled},
		{"StringTrueKey", 33, 36, pass, check.ReasonRotationEnabled},
		{"Period180Key", 38, 42, pass, check.ReasonRotationEnabled},
		{"Period730Key", 44, 48, fail, check.ReasonPeriodExceedsPolicy}, // nobody checks the period
		{"PeriodParamKey", 50, 54, manual, check.ReasonUnresolvedValue},
		{"RotateParamKey", 56, 59, pass, check.ReasonRotationEnabled},
		{"RotateNoDefaultKey", 61, 64, manual, check.ReasonUnresolvedValue},
		{"RSAKey", 67, 71, skipped, check.ReasonAsymmetricKey},            // Trivy FP (ENCRYPT_DECRYPT), cfn_nag FP
		{"HMACKey", 74, 78, skipped, check.ReasonHMACKey},                 // Checkov FP, Trivy FP
		{"ExternalKey", 81, 84, manual, check.ReasonImportedKeyMaterial},  // Checkov and KICS FP
		{"EnabledOmittedKey", 87, 90, fail, check.ReasonRotationDisabled}, // KICS FN
		{"PendingWindowKey", 93, 104, fail, check.ReasonRotationDisabled}, // KICS FN
		{"DisabledKey", 106, 109, skipped, check.ReasonKeyDisabled},       // Checkov, Trivy: not distinguished
		{"NoPropertiesKey", 111, 112, fail, check.ReasonRotationDisabled},
		{"LastKey", 120, 126, pass, check.ReasonRotationEnabled},
	}},
	{file: "classes.json", template: true, findings: []want{
		{"RotatingKey", 8, 14, pass, check.ReasonRotationEnabled},
		{"NoRotationKey", 15, 21, fail, check.ReasonRotationDisabled}, // KICS FN (PendingWindowInDays)
		{"FalseStringKey", 22, 25, fail, check.ReasonRotationDisabled},
		{"PeriodParamKey", 26, 32, manual, check.ReasonUnresolvedValue},
		{"LongPeriodKey", 33, 39, fail, check.ReasonPeriodExceedsPolicy},
		{"EccKey", 40, 43, skipped, check.ReasonAsymmetricKey},
		{"HmacKey", 44, 47, skipped, check.ReasonHMACKey},
		{"ImportedKey", 48, 51, manual, check.ReasonImportedKeyMaterial},
		{"DisabledKey", 52, 55, skipped, check.ReasonKeyDisabled},
		{"Primary", 56, 59, pass, check.ReasonRotationEnabled},
		{"Replica", 60, 66, pass, check.ReasonRotationEnabled},
		{"BareKey", 67, 67, fail, check.ReasonRotationDisabled},
	}},
	{file: "tabs.json", template: true, findings: []want{
		{"TabKey", 3, 8, fail, check.ReasonRotationDisabled},
	}},
	{file: "escaped.json", template: true, findings: []want{
		{"EscapedKey", 5, 11, fail, check.ReasonRotationDisabled},
	}},
	{file: "multiregion.yaml", template: true, findings: []want{
		{"Primary", 4, 7, fail, check.ReasonRotationDisabled},
		{"Replica", 8, 12, fail, check.ReasonRotationDisabled}, // as its primary
		{"RotatingPrimary", 13, 18, pass, check.ReasonRotationEnabled},
		{"RotatingReplica", 19, 24, pass, check.ReasonRotationEnabled},
		{"ForeignReplica", 25, 29, manual, check.ReasonUnresolvedValue},
		{"ImportedReplica", 30, 35, skipped, check.ReasonKeyDisabled},
	}},
	{file: "conditions.yaml", template: true, findings: []want{
		{"ProdKey", 21, 25, pass, check.ReasonRotationEnabled},
		// DevKey: IsDev is false with Env's default, so it is never created.
		{"RegionalKey", 32, 35, fail, check.ReasonRotationDisabled},
		// NeverKey: And(false, unknown) is false.
		{"AlwaysKey", 39, 43, pass, check.ReasonRotationEnabled},
		{"UnknownIfKey", 44, 47, manual, check.ReasonUnresolvedValue},
		{"LoopKey", 48, 51, manual, check.ReasonUnresolvedValue},
		{"MappedPeriodKey", 52, 56, pass, check.ReasonRotationEnabled},
		{"NoValueKey", 57, 61, pass, check.ReasonRotationEnabled},
		{"LongFormKey", 62, 69, fail, check.ReasonRotationDisabled},
	}},
	{file: "conditions.json", template: true, findings: []want{
		{"ProdKey", 12, 19, pass, check.ReasonRotationEnabled},
		// DevKey: IsDev is false.
		{"EUKey", 24, 29, manual, check.ReasonUnresolvedValue},
	}},
	{file: "sam.yaml", template: true, findings: []want{
		{"DataKey", 10, 13, fail, check.ReasonRotationDisabled},
		{"RotatedKey", 14, 17, pass, check.ReasonRotationEnabled},
	}},
	{file: "cdk.template.json", template: true, findings: []want{
		{"RotatedKeyE8C3B1A2", 3, 42, pass, check.ReasonRotationEnabled},
		{"PlainKey7B1A2C3D", 43, 56, fail, check.ReasonRotationDisabled},
	}},
	{file: "invalid-values.yaml", template: true, findings: []want{
		{"ShortPeriodKey", 3, 7, manual, check.ReasonUnresolvedValue},
		{"BadSpecKey", 8, 11, manual, check.ReasonUnresolvedValue},
		{"YesKey", 12, 15, manual, check.ReasonUnresolvedValue},
	}, diags: []wantDiag{
		{7, diag.CodeInvalidValue, `RotationPeriodInDays "30" is outside the range AWS accepts (90 to 2560 days)`},
		{11, diag.CodeInvalidValue, `KeySpec "AES_256" is not a value AWS accepts`},
		{15, diag.CodeInvalidValue, `EnableKeyRotation "yes" is not a boolean`},
	}},
	{file: "broken.yaml", template: true, diags: []wantDiag{{6, diag.CodeParseError, "did not find expected ',' or ']'"}}},
	{file: "broken.json", template: true, diags: []wantDiag{{6, diag.CodeParseError, "expected ',' or '}'"}}},
	{file: "helm-like.yaml", template: false, diags: []wantDiag{{1, diag.CodeParseError, "does not parse"}}},
	{file: "not-a-template.yaml", template: false},
	{file: "package.json", template: false},
}

func TestCorpus(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/corpus/*")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, c := range corpus {
		listed[c.file] = true
	}
	for _, f := range files {
		if !listed[filepath.Base(f)] {
			t.Errorf("testdata/corpus/%s has no expected findings in the corpus table", filepath.Base(f))
		}
	}
	policy := check.DefaultPolicy(time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC))
	for _, c := range corpus {
		t.Run(c.file, func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(filepath.Join("testdata/corpus", c.file))
			if err != nil {
				t.Fatal(err)
			}
			r := Parse(c.file, src)
			if r.Template != c.template {
				t.Errorf("Parse(%s).Template = %v, want %v", c.file, r.Template, c.template)
			}
			var got []want
			for _, k := range r.Keys {
				if k.File != c.file || k.Source != kmskey.SourceCloudFormation || k.Manager != kmskey.ManagerCustomer {
					t.Errorf("%s: key %s has file %q, source %q, manager %q; want %q, cloudformation, CUSTOMER", c.file, k.Resource, k.File, k.Source, k.Manager, c.file)
				}
				f := check.Evaluate(k, policy)
				got = append(got, want{f.Resource, f.StartLine, f.EndLine, f.Status, f.Reason})
			}
			if !slices.Equal(got, c.findings) {
				t.Errorf("Parse(%s) findings:\ngot  %v\nwant %v", c.file, got, c.findings)
			}
			if len(r.Diags) != len(c.diags) {
				t.Fatalf("Parse(%s) diagnostics: got %+v, want %+v", c.file, r.Diags, c.diags)
			}
			for i, d := range r.Diags {
				w := c.diags[i]
				if d.File != c.file || d.Line != w.line || d.Code != w.code || !strings.Contains(d.Message, w.text) {
					t.Errorf("Parse(%s) diagnostic %d: got %+v, want line %d, code %s, message containing %q", c.file, i, d, w.line, w.code, w.text)
				}
			}
		})
	}
}

// TestKeyFacts checks the facts behind some findings: the peers' mistakes
// are in these fields.
func TestKeyFacts(t *testing.T) {
	t.Parallel()
	keys := map[string]kmskey.Key{}
	for _, file := range []string{"classes.yaml", "multiregion.yaml", "conditions.yaml", "classes.json", "conditions.json"} {
		src, err := os.ReadFile(filepath.Join("testdata/corpus", file))
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range Parse(file, src).Keys {
			keys[file+"/"+k.Resource] = k
		}
	}
	tests := []struct {
		key   string
		check func(k kmskey.Key) bool
		want  string
	}{
		{"classes.yaml/RotatingKey", func(k kmskey.Key) bool {
			return k.Rotation.Enabled == kmskey.True && k.Rotation.PeriodDays == 365 && k.Spec == kmskey.SpecSymmetricDefault &&
				k.Usage == kmskey.UsageEncryptDecrypt && k.Origin == kmskey.OriginAWSKMS && k.State == kmskey.StateEnabled &&
				!k.MultiRegion && len(k.Unresolved) == 0 && k.Description == "rotates yearly"
		}, "rotation on, 365 days, CloudFormation's defaults for the rest"},
		{"classes.yaml/NoRotationKey", func(k kmskey.Key) bool {
			return k.Rotation.Enabled == kmskey.False && k.Rotation.PeriodDays == 0
		}, "rotation off (the default), no period"},
		{"classes.yaml/PeriodParamKey", func(k kmskey.Key) bool {
			return k.Rotation.Enabled == kmskey.True && slices.Equal(k.Unresolved, []string{kmskey.AttrPeriod})
		}, "period unresolved (parameter without Default)"},
		{"classes.yaml/RotateNoDefaultKey", func(k kmskey.Key) bool {
			return k.Rotation.Enabled == kmskey.Unknown && slices.Equal(k.Unresolved, []string{kmskey.AttrRotation})
		}, "rotation unresolved"},
		{"classes.yaml/ExternalKey", func(k kmskey.Key) bool { return k.Origin == kmskey.OriginExternal }, "origin EXTERNAL"},
		{"classes.yaml/HMACKey", func(k kmskey.Key) bool {
			return k.Spec == "HMAC_256" && k.Usage == "GENERATE_VERIFY_MAC"
		}, "HMAC_256, GENERATE_VERIFY_MAC"},
		{"classes.yaml/DisabledKey", func(k kmskey.Key) bool { return k.State == kmskey.StateDisabled }, "state Disabled"},
		{"classes.yaml/PendingWindowKey", func(k kmskey.Key) bool { return k.State == kmskey.StateEnabled }, "PendingWindowInDays is not a state"},
		{"multiregion.yaml/Primary", func(k kmskey.Key) bool {
			return k.MultiRegion && k.MultiRegionType == kmskey.MultiRegionPrimary
		}, "multi-Region primary"},
		{"multiregion.yaml/Replica", func(k kmskey.Key) bool {
			return k.MultiRegionType == kmskey.MultiRegionReplica && k.PrimaryResource == "Primary" && k.Rotation.Enabled == kmskey.False
		}, "replica of Primary, sharing its rotation (off)"},
		{"multiregion.yaml/RotatingReplica", func(k kmskey.Key) bool {
			return k.PrimaryResource == "RotatingPrimary" && k.Rotation.Enabled == kmskey.True && k.Rotation.PeriodDays == 90
		}, "replica of RotatingPrimary (Fn::GetAtt list form), rotating every 90 days"},
		{"multiregion.yaml/ForeignReplica", func(k kmskey.Key) bool {
			return k.PrimaryARN == "arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab" &&
				k.PrimaryRegion == "us-east-1" && k.PrimaryResource == "" && k.IsUnresolved(kmskey.AttrRotation)
		}, "primary named by ARN, rotation unresolved"},
		{"conditions.yaml/MappedPeriodKey", func(k kmskey.Key) bool { return k.Rotation.PeriodDays == 90 }, "period 90 from Mappings"},
		{"conditions.yaml/NoValueKey", func(k kmskey.Key) bool { return k.Rotation.PeriodDays == 365 }, "AWS::NoValue: default period"},
		{"classes.json/Replica", func(k kmskey.Key) bool { return k.PrimaryResource == "Primary" }, "replica of Primary"},
		{"conditions.json/ProdKey", func(k kmskey.Key) bool {
			return k.Rotation.Enabled == kmskey.True && k.Rotation.PeriodDays == 180
		}, "rotation from Fn::If on a true condition, period 180 from a parameter default"},
		{"conditions.json/EUKey", func(k kmskey.Key) bool {
			return k.Rotation.Enabled == kmskey.Unknown && slices.Equal(k.Unresolved, []string{kmskey.AttrRotation})
		}, "rotation unresolved: Fn::If on the Region"},
	}
	for _, tt := range tests {
		k, ok := keys[tt.key]
		if !ok {
			t.Errorf("%s: no such key", tt.key)
			continue
		}
		if !tt.check(k) {
			t.Errorf("%s: got %+v, want %s", tt.key, k, tt.want)
		}
	}
}

func TestIsTemplate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src  string
		want bool
	}{
		{"AWSTemplateFormatVersion: '2010-09-09'\n", true},
		{"Resources:\n  X:\n    Type: AWS::SNS::Topic\n", true},
		{"Resources:\n  X:\n    Type: Custom::Thing\n", true},
		{`{"Resources": {"X": {"Type": "AWS::KMS::Key"}}}`, true},
		{"Resources:\n  X:\n    Type: Other\n", false},
		{"Resources: [1, 2]\n", false},
		{"name: app\n", false},
		{"- a\n- b\n", false},
		{"Resources: [\n", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := IsTemplate([]byte(tt.src)); got != tt.want {
			t.Errorf("IsTemplate(%q) = %v, want %v", tt.src, got, tt.want)
		}
	}
}

// TestValues resolves property values through the intrinsic functions the
// template alone decides.
func TestValues(t *testing.T) {
	t.Parallel()
	head := `AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Days: {Type: Number, Default: 180}
  Flag: {Type: String, Default: "true"}
  Open: {Type: String}
  Names: {Type: CommaDelimitedList, Default: "a,b,c"}
  Bootstrap: {Type: "AWS::SSM::Parameter::Value<String>", Default: /cdk/version}
Mappings:
  M: {k: {on: "true", days: 400}}
Conditions:
  Yes: !Equals [!Ref Flag, "true"]
  No: !Not [!Condition Yes]
  Unknown: !Equals [!Ref Open, x]
  OrTrue: !Or [!Condition Unknown, !Condition Yes]
  OrUnknown: !Or [!Condition Unknown, !Condition No]
  AndUnknown: !And [!Condition Unknown, !Condition Yes]
Resources:
  K:
    Type: AWS::KMS::Key
    Properties:
      EnableKeyRotation: true
      RotationPeriodInDays: `
	tests := []struct {
		expr       string
		wantPeriod int
		unresolved bool
	}{
		{"365", 365, false},
		{`"200"`, 200, false},
		{"!Ref Days", 180, false},
		{"{Ref: Days}", 180, false},
		{"!Ref Open", 0, true},
		{"!Ref AWS::Region", 0, true},
		{"!Ref Bootstrap", 0, true},
		{"!Ref AWS::NoValue", 365, false},
		{"!If [Yes, 91, 92]", 91, false},
		{"!If [No, 91, 92]", 92, false},
		{"!If [Unknown, 91, 92]", 0, true},
		{"!If [OrTrue, 93, 92]", 93, false},
		{"!If [OrUnknown, 93, 92]", 0, true},
		{"!If [AndUnknown, 93, 92]", 0, true},
		{"!If [Missing, 93, 92]", 0, true},
		{"!FindInMap [M, k, days]", 400, false},
		{"!FindInMap [M, k, nope]", 0, true},
		{"!Select [1, [100, 250]]", 250, false},
		{`!Select [0, !Split [",", "120,130"]]`, 120, false},
		{`!Join ["", ["1", "5", "0"]]`, 150, false},
		{`!Sub "${Days}"`, 180, false},
		{`!Sub ["${X}0", {X: 12}]`, 120, false},
		{`!Sub "${AWS::Region}"`, 0, true},
		{"!GetAtt Other.Days", 0, true},
		{"!ImportValue days", 0, true},
		{"{Fn::If: [Yes, {Ref: Days}, 92]}", 180, false},
	}
	for _, tt := range tests {
		r := Parse("t.yaml", []byte(head+tt.expr+"\n"))
		if len(r.Keys) != 1 {
			t.Errorf("RotationPeriodInDays: %s: got %d keys, diagnostics %v; want 1", tt.expr, len(r.Keys), r.Diags)
			continue
		}
		k := r.Keys[0]
		if k.IsUnresolved(kmskey.AttrPeriod) != tt.unresolved || k.Rotation.PeriodDays != tt.wantPeriod {
			t.Errorf("RotationPeriodInDays: %s: got period %d, unresolved %v; want %d, %v", tt.expr, k.Rotation.PeriodDays, k.Unresolved, tt.wantPeriod, tt.unresolved)
		}
	}
}

// TestDuplicateKeys: a template naming a key twice is a parse error on the
// second, in YAML and JSON: the check would read one while --fix edits the
// other (found by FuzzApplyFixes).
func TestDuplicateKeys(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		line      int
	}{
		{"JSON logical ID", `{"Resources":{"y":{"Type":"AWS::KMS::Key"},` + "\n" + `"y":{"Type":"AWS::KMS::Key"}}}`, 2},
		{"YAML property", "Resources:\n  K:\n    Type: AWS::KMS::Key\n    Properties:\n      EnableKeyRotation: true\n      EnableKeyRotation: false\n", 6},
	} {
		r := Parse("t", []byte(tc.src))
		if len(r.Diags) != 1 || r.Diags[0].Line != tc.line || !strings.Contains(r.Diags[0].Message, "duplicate ") || !strings.Contains(r.Diags[0].Message, fmt.Sprintf("and %d", tc.line)) || len(r.Keys) != 0 {
			t.Errorf("Parse(%s) = keys %v, diagnostics %+v; want one ParseError on line %d", tc.name, r.Keys, r.Diags, tc.line)
		}
	}
	// A YAML merge key may repeat: it is not a key of the template.
	if r := Parse("t", []byte("Resources:\n  K:\n    <<: {Type: AWS::KMS::Key}\n    <<: {Properties: {}}\n")); len(r.Diags) != 0 {
		t.Errorf("Parse(merge keys twice) diagnostics %+v, want none", r.Diags)
	}
}

// TestJSONNestingLimit: valid JSON nested past limit.Depth is a parse error
// that says so, not a stack or memory problem.
func TestJSONNestingLimit(t *testing.T) {
	n := limit.Depth + 1
	src := `{"Resources": {"K": {"Type": "AWS::KMS::Key", "Properties": {"Description": ` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}}}}`
	r := Parse("t.json", []byte(src))
	if len(r.Diags) != 1 || !strings.Contains(r.Diags[0].Message, "nesting deeper than 256") {
		t.Errorf("Parse(JSON nested %d deep) diagnostics %+v, want the nesting limit", n, r.Diags)
	}
}
