package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/kmsrotor/kmsrotor/internal/check"
)

// sarifSchemaFile is a copy of ../shared/schemas/sarif-2.1.0.json, so the
// test needs nothing outside the repository.
const sarifSchemaFile = "testdata/sarif-2.1.0.json"

func compileSARIFSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(sarifSchemaFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("read %s: %v", sarifSchemaFile, err)
	}
	c := jsonschema.NewCompiler()
	// Check uri-reference and date-time values too, not only structure.
	c.AssertFormat()
	const url = "https://example.invalid/sarif-2.1.0.json"
	if err := c.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		t.Fatalf("compile %s: %v", sarifSchemaFile, err)
	}
	return sch
}

func TestSARIFValidates(t *testing.T) {
	sch := compileSARIFSchema(t)
	for _, tc := range append(slices.Clone(docs), struct {
		name string
		doc  func() *Document
	}{"iac-edits", editsDoc}) {
		out := write(t, FormatSARIF, tc.doc(), Options{})
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("%s: got invalid JSON: %v", tc.name, err)
		}
		if err := sch.Validate(inst); err != nil {
			t.Errorf("%s: got a log that does not validate against SARIF 2.1.0: %v\n%s", tc.name, err, out)
		}
	}
}

// TestSARIFSchemaRejects makes sure the validation above can fail.
func TestSARIFSchemaRejects(t *testing.T) {
	sch := compileSARIFSchema(t)
	for _, bad := range []string{
		`{"version":"2.1.0","runs":[{"tool":{"driver":{}}}]}`,
		`{"version":"2.0.0","runs":[]}`,
		`{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[{"message":{"text":"m"},"level":"fatal"}]}]}`,
	} {
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(bad))
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(inst); err == nil {
			t.Errorf("validate %s: got nil, want an error", bad)
		}
	}
}

func TestSARIFGolden(t *testing.T) {
	for _, tc := range append(slices.Clone(docs), struct {
		name string
		doc  func() *Document
	}{"iac-edits", editsDoc}) {
		t.Run(tc.name, func(t *testing.T) {
			golden(t, "sarif/"+tc.name+".sarif", write(t, FormatSARIF, tc.doc(), Options{}))
		})
	}
}

func decodeSARIF(t *testing.T, doc *Document) sarifLog {
	t.Helper()
	var log sarifLog
	dec := json.NewDecoder(bytes.NewReader(write(t, FormatSARIF, doc, Options{})))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&log); err != nil {
		t.Fatalf("decode sarif: %v", err)
	}
	return log
}

// TestSARIFIaCResults lists the exact result expected for each IaC finding
// that is not PASS or SKIPPED, in document order. These findings carry no
// Remediation.Edits, so no result has a fix: the writer never guesses one
// from the finding's lines.
func TestSARIFIaCResults(t *testing.T) {
	type want struct {
		rule, level, uri string
		start, end       int
		resource         string
		fixes            int
	}
	wants := []want{
		{"rotation_disabled", "error", "infra/main.tf", 1, 4, "aws_kms_key.main", 0},
		{"rotation_period_exceeds_policy", "error", "infra/main.tf", 12, 16, "aws_kms_key.long", 0},
		{"rotation_disabled", "error", "infra/main.tf", 18, 21, "aws_kms_replica_key.replica", 0},
		{"imported_key_material", "warning", "infra/main.tf", 23, 26, "aws_kms_external_key.imported", 0},
		{"unresolved_value", "warning", "infra/modules/key/main.tf", 3, 7, "module.app.aws_kms_key.this[0]", 0},
		{"rotation_disabled", "error", "infra/single.tf", 1, 1, "aws_kms_key.inline", 0},
		{"rotation_disabled", "error", "templates/app.yaml", 5, 9, "AppKey", 0},
		{"rotation_disabled", "error", "templates/cdk.template.json", 4, 20, "AppKey5A0B1C2D", 0},
		{"rotation_disabled", "error", "templates/my%20stack.yml", 3, 8, "StackKey", 0},
	}
	log := decodeSARIF(t, iacDoc())
	if len(log.Runs) != 1 {
		t.Fatalf("got %d runs, want 1", len(log.Runs))
	}
	run := log.Runs[0]
	if len(run.Results) != len(wants) {
		t.Fatalf("got %d results, want %d (PASS and SKIPPED left out)", len(run.Results), len(wants))
	}
	for i, w := range wants {
		r := run.Results[i]
		loc := r.Locations[0]
		var got want
		got.rule, got.level = r.RuleID, r.Level
		if p := loc.PhysicalLocation; p != nil {
			got.uri = p.ArtifactLocation.URI
			if p.ArtifactLocation.URIBaseID != srcRoot {
				t.Errorf("result %d: got uriBaseId %q, want %q", i, p.ArtifactLocation.URIBaseID, srcRoot)
			}
			if p.Region != nil {
				got.start, got.end = p.Region.StartLine, p.Region.EndLine
			}
		}
		if len(loc.LogicalLocations) == 1 {
			got.resource = loc.LogicalLocations[0].FullyQualifiedName
		}
		got.fixes = len(r.Fixes)
		w.rule = check.CheckID + "/" + w.rule
		if got != w {
			t.Errorf("result %d: got %+v, want %+v", i, got, w)
		}
		if rule := run.Tool.Driver.Rules[r.RuleIndex]; rule.ID != r.RuleID {
			t.Errorf("result %d: got ruleIndex %d naming %s, want the rule %s", i, r.RuleIndex, rule.ID, r.RuleID)
		}
		if r.PartialFingerprints[fingerprintKey] == "" {
			t.Errorf("result %d: got no %s fingerprint", i, fingerprintKey)
		}
	}

	inv := run.Invocations[0]
	if inv.ExecutionSuccessful {
		t.Errorf("invocation: got executionSuccessful true with a file that does not parse, want false")
	}
	if n := inv.ToolExecutionNotifications; len(n) != 1 || n[0].Level != "error" ||
		n[0].Locations[0].PhysicalLocation.ArtifactLocation.URI != "templates/broken.yaml" ||
		n[0].Locations[0].PhysicalLocation.Region.StartLine != 7 {
		t.Errorf("invocation: got notifications %+v, want one error at templates/broken.yaml line 7", n)
	}
}

// editsDoc is iacDoc with the edits kmsrotor iac computes on some FAIL
// findings: a replacement, an insertion, a change of two places, and a
// module block's edit shared by two instances.
func editsDoc() *Document {
	doc := iacDoc()
	edits := map[string][]check.Edit{
		"aws_kms_key.main": {{File: "infra/main.tf", StartLine: 3, EndLine: 3, Text: "  enable_key_rotation = true\n"}},
		"aws_kms_key.long": {{File: "infra/main.tf", StartLine: 14, EndLine: 15, Text: "  enable_key_rotation     = true\n  rotation_period_in_days = 365\n"}},
		"AppKey": {
			{File: "templates/app.yaml", StartLine: 7, EndLine: 6, Text: "      EnableKeyRotation: true\n"},
			{File: "templates/app.yaml", StartLine: 9, EndLine: 9, Text: "      Description: app\n"},
		},
		"StackKey": {{File: "templates/my stack.yml", StartLine: 5, EndLine: 4, Text: "    Properties:\n      EnableKeyRotation: true\n"}},
	}
	for i, f := range doc.Findings {
		doc.Findings[i].Remediation.Edits = edits[f.Resource]
	}
	return doc
}

// TestSARIFFixesFromEdits: each result's fix is exactly its finding's
// Remediation.Edits, as whole-line replacements (an insertion is the empty
// region at column 1 of its line), and a FAIL without edits has no fix.
func TestSARIFFixesFromEdits(t *testing.T) {
	type repl struct {
		uri                                  string
		startLine, startCol, endLine, endCol int
		text                                 string
	}
	tests := []struct {
		resource string
		want     []repl // nil: no fix
	}{
		{"aws_kms_key.main", []repl{{"infra/main.tf", 3, 1, 4, 1, "  enable_key_rotation = true\n"}}},
		{"aws_kms_key.long", []repl{{"infra/main.tf", 14, 1, 16, 1, "  enable_key_rotation     = true\n  rotation_period_in_days = 365\n"}}},
		{"AppKey", []repl{
			{"templates/app.yaml", 7, 1, 7, 1, "      EnableKeyRotation: true\n"},
			{"templates/app.yaml", 9, 1, 10, 1, "      Description: app\n"},
		}},
		{"StackKey", []repl{{"templates/my%20stack.yml", 5, 1, 5, 1, "    Properties:\n      EnableKeyRotation: true\n"}}},
		{"aws_kms_key.inline", nil},
		{"aws_kms_replica_key.replica", nil},
		{"AppKey5A0B1C2D", nil},
	}
	run := decodeSARIF(t, editsDoc()).Runs[0]
	byResource := map[string]sarifResult{}
	for _, r := range run.Results {
		byResource[r.Locations[0].LogicalLocations[0].FullyQualifiedName] = r
	}
	for _, tc := range tests {
		r, ok := byResource[tc.resource]
		if !ok {
			t.Errorf("%s: got no result, want one", tc.resource)
			continue
		}
		var got []repl
		for _, x := range r.Fixes {
			if !strings.Contains(x.Description.Text, tc.resource) {
				t.Errorf("%s: got fix description %q, want it to name the resource", tc.resource, x.Description.Text)
			}
			for _, c := range x.ArtifactChanges {
				if c.ArtifactLocation.URIBaseID != srcRoot {
					t.Errorf("%s: got artifact %+v, want it relative to %s", tc.resource, c.ArtifactLocation, srcRoot)
				}
				for _, p := range c.Replacements {
					d := p.DeletedRegion
					got = append(got, repl{c.ArtifactLocation.URI, d.StartLine, d.StartColumn, d.EndLine, d.EndColumn, p.InsertedContent.Text})
				}
			}
		}
		if len(r.Fixes) > 1 || !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %d fixes with replacements %+v, want one fix with %+v (none when nil)", tc.resource, len(r.Fixes), got, tc.want)
		}
	}
}

func TestSARIFRules(t *testing.T) {
	for _, tc := range docs {
		run := decodeSARIF(t, tc.doc()).Runs[0]
		reasons := map[string]bool{}
		for _, r := range run.Results {
			reasons[r.RuleID] = true
		}
		ids := map[string]bool{}
		for _, rule := range run.Tool.Driver.Rules {
			if ids[rule.ID] {
				t.Errorf("%s: got rule %s twice, want each once", tc.name, rule.ID)
			}
			ids[rule.ID] = true
			if !reasons[rule.ID] {
				t.Errorf("%s: got rule %s that no result uses, want only rules that appear", tc.name, rule.ID)
			}
			if rule.ShortDescription.Text == "" || rule.FullDescription.Text == "" || rule.Help.Text == "" ||
				rule.Help.Markdown == "" || rule.HelpURI != check.DocURL || rule.Properties.SecuritySeverity == "" ||
				len(rule.Properties.Tags) == 0 || rule.DefaultConfiguration.Level == "" {
				t.Errorf("%s: got rule %+v, want every metadata field filled", tc.name, rule)
			}
		}
		if len(ids) != len(reasons) {
			t.Errorf("%s: got %d rules for %d reasons in results, want one each", tc.name, len(ids), len(reasons))
		}
	}

	// The seed's remediation, in each language, is in the help of a rotation rule.
	d := check.RotationRule.Reason(check.ReasonRotationDisabled, 365)
	for _, w := range []string{"aws kms enable-key-rotation --key-id <key-id> --region <region>", "EnableKeyRotation: true",
		"enable_key_rotation = true", "Automatically rotate this KMS key", "primary"} {
		if !strings.Contains(d.Help, w) || !strings.Contains(d.HelpMarkdown, w) {
			t.Errorf("help of rotation_disabled: got text\n%s\nand markdown\n%s\nwant both to contain %q", d.Help, d.HelpMarkdown, w)
		}
	}
	d = check.RotationRule.Reason(check.ReasonPeriodExceedsPolicy, 180)
	for _, w := range []string{"--rotation-period-in-days 180", "RotationPeriodInDays: 180", "rotation_period_in_days = 180", "enable_key_rotation"} {
		if !strings.Contains(d.Help, w) || !strings.Contains(d.HelpMarkdown, w) {
			t.Errorf("help of rotation_period_exceeds_policy at 180 days: got\n%s\nwant it to contain %q", d.Help, w)
		}
	}
}

func TestSARIFLive(t *testing.T) {
	run := decodeSARIF(t, liveDoc()).Runs[0]
	byStatus := map[string]int{}
	for _, r := range run.Results {
		byStatus[r.Properties["status"].(string)]++
		loc := r.Locations[0]
		if loc.PhysicalLocation != nil || len(loc.LogicalLocations) != 1 || !strings.HasPrefix(loc.LogicalLocations[0].FullyQualifiedName, "arn:aws:kms:") {
			t.Errorf("live result %s: got location %+v, want only a logical location with the key ARN", r.Message.Text, loc)
		}
		if len(r.Fixes) != 0 {
			t.Errorf("live result %s: got fixes, want none (no file to change)", r.Message.Text)
		}
	}
	// 6 FAIL (one muted), 1 ERROR, 1 MANUAL; 1 PASS and 3 SKIPPED left out.
	want := map[string]int{"FAIL": 6, "ERROR": 1, "MANUAL": 1}
	for s, n := range want {
		if byStatus[s] != n {
			t.Errorf("live results: got %v, want %v", byStatus, want)
			break
		}
	}
	if len(byStatus) != len(want) {
		t.Errorf("live results: got statuses %v, want only %v", byStatus, want)
	}
	muted := 0
	for _, r := range run.Results {
		if len(r.Suppressions) == 1 && r.Suppressions[0].Kind == "external" {
			muted++
		}
	}
	if muted != 1 {
		t.Errorf("live results: got %d suppressed, want the 1 muted FAIL", muted)
	}
	var replica string
	for _, r := range run.Results {
		if p, ok := r.Properties["primary"]; ok {
			replica = r.Message.Text + " | " + p.(string)
		}
	}
	if !strings.Contains(replica, primary+" (us-east-1)") || !strings.Contains(replica, "--region us-east-1") {
		t.Errorf("replica result: got %q, want it to name the primary %s (us-east-1) and fix it there", replica, primary)
	}
	for _, r := range run.Results {
		overdue := r.RuleID == ruleID(check.ReasonRotationOverdue)
		if overdue && (strings.Contains(r.Message.Text, "enable-key-rotation") || !strings.Contains(r.Message.Text, "Run: aws kms rotate-key-on-demand")) {
			t.Errorf("overdue result: got message %q, want the on-demand rotation command and no enable-key-rotation command", r.Message.Text)
		}
	}
	n := run.Invocations[0].ToolExecutionNotifications
	if len(n) != 1 || n[0].Locations[0].LogicalLocations[0].FullyQualifiedName != account+"/ap-south-1" {
		t.Errorf("live notifications: got %+v, want one for %s/ap-south-1", n, account)
	}
}

// TestFingerprint checks that the fingerprint follows the file, resource and
// reason, and not the lines.
func TestFingerprint(t *testing.T) {
	base := check.Finding{File: "infra/main.tf", StartLine: 3, EndLine: 9, Resource: "aws_kms_key.a", Reason: check.ReasonRotationDisabled}
	mod := func(f func(*check.Finding)) check.Finding { c := base; f(&c); return c }
	tests := []struct {
		name string
		f    check.Finding
		same bool
	}{
		{"lines moved", mod(func(f *check.Finding) { f.StartLine, f.EndLine = 30, 36 }), true},
		{"./ prefix", mod(func(f *check.Finding) { f.File = "./infra/main.tf" }), true},
		{"other file", mod(func(f *check.Finding) { f.File = "infra/other.tf" }), false},
		{"other resource", mod(func(f *check.Finding) { f.Resource = "aws_kms_key.b" }), false},
		{"other reason", mod(func(f *check.Finding) { f.Reason = check.ReasonPeriodExceedsPolicy }), false},
	}
	for _, tc := range tests {
		if got := fingerprint(tc.f) == fingerprint(base); got != tc.same {
			t.Errorf("%s: got same fingerprint %v, want %v", tc.name, got, tc.same)
		}
	}
}

func TestArtifact(t *testing.T) {
	abs, _ := filepath.Abs("x/main.tf")
	tests := []struct {
		in        string
		uri, base string
	}{
		{"infra/main.tf", "infra/main.tf", srcRoot},
		{"./infra/main.tf", "infra/main.tf", srcRoot},
		{"my stack/a#b.yaml", "my%20stack/a%23b.yaml", srcRoot},
		{abs, "file://" + filepath.ToSlash(abs), ""},
	}
	for _, tc := range tests {
		got := artifact(tc.in)
		if got.URI != tc.uri || got.URIBaseID != tc.base {
			t.Errorf("artifact(%q): got %+v, want uri %q base %q", tc.in, got, tc.uri, tc.base)
		}
	}
}

func TestLanguageOf(t *testing.T) {
	tests := []struct {
		file, resource string
		want           language
	}{
		{"main.tf", "aws_kms_key.a", langTerraform},
		{"plan.json", "module.m.aws_kms_key.a[0]", langTerraform},
		{"stack.json", "Resources.Key", langCloudFormation},
		{"t.yaml", "Key", langCloudFormation},
		{"cdk.out/App.template.json", "AppKey5A0B1C2D", langCloudFormation},
		{"main.tf", "", langTerraform},
		{"t.yml", "", langCloudFormation},
		{"x.json", "", langUnknown},
	}
	for _, tc := range tests {
		if got := languageOf(check.Finding{File: tc.file, Resource: tc.resource}); got != tc.want {
			t.Errorf("languageOf(%q, %q): got %v, want %v", tc.file, tc.resource, got, tc.want)
		}
	}
}

func TestLastSegment(t *testing.T) {
	tests := []struct{ in, want string }{
		{"aws_kms_key.main", "main"},
		{"module.app.aws_kms_key.this[0]", "this[0]"},
		{`aws_kms_key.k["a.b"]`, `k["a.b"]`},
		{"AppKey", "AppKey"},
	}
	for _, tc := range tests {
		if got := lastSegment(tc.in); got != tc.want {
			t.Errorf("lastSegment(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
}
