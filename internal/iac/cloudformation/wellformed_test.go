package cloudformation

import (
	"github.com/kmsrotor/kmsrotor/internal/iac/diag"
	"strconv"
	"strings"
	"testing"
)

// TestJSONWellFormed: a template that starts with '{' is JSON, and one that
// is not well-formed JSON is a ParseError at its line, as CloudFormation
// rejects it ("JSON not well-formed"), even where YAML would read it.
func TestJSONWellFormed(t *testing.T) {
	t.Parallel()
	const key = `"AWSTemplateFormatVersion": "2010-09-09", "Resources": {"Key": {"Type": "AWS::KMS::Key", "Properties": %s}}`
	tests := []struct {
		name string
		src  string
		keys int    // keys read when the file parses
		diag string // "line fragment" of the ParseError, "" when it parses
	}{
		{name: "trailing comma in Properties", src: "{\n" + strings.Replace(key, "%s", `{"EnableKeyRotation": true, }`, 1) + "\n}\n",
			diag: `2 trailing comma before '}'`},
		{name: "trailing comma on its own line", src: "{\n  \"Resources\": {\n    \"Key\": {\n      \"Type\": \"AWS::KMS::Key\"\n    },\n  }\n}\n",
			diag: `5 trailing comma before '}'`},
		{name: "trailing comma in a list", src: "{\n" + strings.Replace(key, "%s", `{"Tags": [{"Key": "a", "Value": "b"},]}`, 1) + "\n}\n",
			diag: `2 trailing comma before ']'`},
		{name: "unquoted key, which only YAML reads", src: "{AWSTemplateFormatVersion: 2010-09-09, Resources: {Key: {Type: AWS::KMS::Key}}}\n",
			diag: `1 expected a string key`},
		{name: "trailing comma in a template on one line", src: `{"Resources": {"Key": {"Type": "AWS::KMS::Key", "Properties": {"EnableKeyRotation": true, }}}}`,
			diag: `1 trailing comma before '}'`},
		{name: "well-formed", src: "{\n" + strings.Replace(key, "%s", `{"EnableKeyRotation": true}`, 1) + "\n}\n", keys: 1},
		{name: "YAML flow mapping inside a YAML template", src: "Resources:\n  Key: {Type: AWS::KMS::Key, Properties: {EnableKeyRotation: true, }}\n", keys: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := Parse("t.json", []byte(tc.src))
			if tc.diag == "" {
				if len(r.Diags) != 0 || len(r.Keys) != tc.keys || !r.Template {
					t.Errorf("Parse(%q): got %d keys, template %v, diagnostics %+v; want %d keys of a template, no diagnostic", tc.src, len(r.Keys), r.Template, r.Diags, tc.keys)
				}
				return
			}
			line, frag, _ := strings.Cut(tc.diag, " ")
			if len(r.Diags) != 1 || r.Diags[0].Code != diag.CodeParseError || r.Diags[0].File != "t.json" ||
				strconv.Itoa(r.Diags[0].Line) != line || !strings.Contains(r.Diags[0].Message, frag) || len(r.Keys) != 0 || !r.Template {
				t.Errorf("Parse(%q): got %d keys, template %v, diagnostics %+v; want no key of a template and one ParseError at t.json:%s containing %q",
					tc.src, len(r.Keys), r.Template, r.Diags, line, frag)
			}
		})
	}
}
