package terraform

import (
	"strings"
	"testing"
)

// TestNestingLimit: HCL's parser recurses once per level without a bound,
// and a file nested some 100,000 deep overflowed the stack, which no
// recover() catches: the whole scan died. Each such input is now one
// diagnostic naming the limit.
func TestNestingLimit(t *testing.T) {
	const n = 1_000_000
	for _, tc := range []struct{ name, path, src string }{
		{"HCL list", "fuzz/main.tf", "locals {\n  x = " + strings.Repeat("[", n) + strings.Repeat("]", n) + "\n}\n"},
		{"HCL parentheses", "fuzz/main.tf", "locals {\n  x = " + strings.Repeat("(", n) + "1" + strings.Repeat(")", n) + "\n}\n"},
		{"HCL in a template", "fuzz/main.tf", "locals {\n  x = \"${" + strings.Repeat("[", n) + strings.Repeat("]", n) + "}\"\n}\n"},
		{"HCL-JSON", "fuzz/main.tf.json", `{"locals": {"x": ` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}}`},
		{"HCL-JSON type string", "fuzz/main.tf.json", `{"variable": {"v": {"type": "` + strings.Repeat(`list(`, n) + "string" + strings.Repeat(")", n) + `"}}}`},
		{"HCL-JSON escaped brackets", "fuzz/main.tf.json", `{"locals": {"x": "${` + strings.Repeat(`\u005b`, n) + `}"}}`},
	} {
		res := loadSource(tc.path, []byte(tc.src))
		if len(res.Diags) == 0 || !strings.Contains(res.Diags[0].Message, "nesting is deeper than 256 levels") {
			t.Errorf("%s nested %d deep: diagnostics %+v, want the nesting limit", tc.name, n, res.Diags)
		}
	}
	vars := strings.Repeat("[", n) + strings.Repeat("]", n)
	if diags := parseVarFile("fuzz/x.tfvars", []byte("v = "+vars), map[string]varAssign{}); len(diags) == 0 {
		t.Errorf(".tfvars nested %d deep: no diagnostic, want the nesting limit", n)
	}
}
