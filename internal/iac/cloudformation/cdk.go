package cloudformation

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/kmsrotor/kmsrotor/internal/iac/diag"
	"go.yaml.in/yaml/v3"
)

// InCDKOut reports a template in a cdk.out directory: synthesized by the
// AWS CDK and overwritten on the next cdk synth, so never edited; the fix
// goes in the CDK app, on the construct.
func InCDKOut(path string) bool {
	return strings.Contains("/"+filepath.ToSlash(filepath.Dir(path))+"/", "/cdk.out/")
}

// cdkPath is a resource's construct path (Metadata aws:cdk:path) without
// CDK's /Resource suffix, or "".
func cdkPath(body *yaml.Node) string {
	p := deref(lookup(mappingOrNil(deref(lookup(body, "Metadata"))), "aws:cdk:path"))
	if p == nil || p.Kind != yaml.ScalarNode {
		return ""
	}
	return strings.TrimSuffix(p.Value, "/Resource")
}

// CDKFix says what to change in the CDK app for a key of a synthesized
// template: the construct's properties.
func CDKFix(construct string, enable bool, period int, remove bool) string {
	switch {
	case remove:
		return fmt.Sprintf("remove enableKeyRotation and rotationPeriod from the construct %s in the CDK app, then cdk synth", construct)
	case enable && period > 0:
		return fmt.Sprintf("set enableKeyRotation: true and rotationPeriod: Duration.days(%d) on the construct %s in the CDK app, then cdk synth", period, construct)
	case period > 0:
		return fmt.Sprintf("set rotationPeriod: Duration.days(%d) on the construct %s in the CDK app, then cdk synth", period, construct)
	}
	return fmt.Sprintf("set enableKeyRotation: true on the construct %s in the CDK app, then cdk synth", construct)
}

// duplicates reports every logical ID declared twice, naming both lines:
// CloudFormation rejects the template, and no fix is made in it.
func (t *template) duplicates() bool {
	if t.resources == nil {
		return false
	}
	first := map[string]*yaml.Node{}
	dup := false
	for i := 0; i+1 < len(t.resources.Content); i += 2 {
		k := t.resources.Content[i]
		if prev, ok := first[k.Value]; ok {
			t.diag(k, diag.CodeParseError, "duplicate logical ID %s on lines %d and %d; CloudFormation rejects the template, and kmsrotor does not edit it", k.Value, prev.Line, k.Line)
			dup = true
			continue
		}
		first[k.Value] = k
	}
	return dup
}
