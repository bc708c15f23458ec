package report

import (
	"strings"

	"github.com/kmsrotor/kmsrotor/internal/check"
	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

// language is the IaC language of a finding's file; it decides which of the
// remediation's fixes applies.
type language int

const (
	langUnknown language = iota
	langTerraform
	langCloudFormation
)

// languageOf tells Terraform from CloudFormation by the finding's source;
// findings built without one fall back to the resource address (a Terraform
// address always names an aws_kms_* type) and then the file extension.
func languageOf(f check.Finding) language {
	switch kmskey.Source(f.Source) {
	case kmskey.SourceTerraform, kmskey.SourceTerraformPlan:
		return langTerraform
	case kmskey.SourceCloudFormation:
		return langCloudFormation
	}
	switch {
	case strings.Contains(f.Resource, "aws_kms_"):
		return langTerraform
	case f.Resource != "":
		return langCloudFormation
	}
	name := strings.ToLower(f.File)
	switch {
	case strings.HasSuffix(name, ".tf"), strings.HasSuffix(name, ".tf.json"):
		return langTerraform
	case strings.HasSuffix(name, ".yaml"), strings.HasSuffix(name, ".yml"),
		strings.HasSuffix(name, ".template"):
		return langCloudFormation
	}
	return langUnknown
}

func (l language) String() string {
	switch l {
	case langTerraform:
		return "Terraform"
	case langCloudFormation:
		return "CloudFormation"
	}
	return "unknown"
}

// isReplica reports whether the finding is about a multi-Region replica,
// whose rotation is set on its primary.
func isReplica(f check.Finding) bool {
	return f.Key.MultiRegionType == kmskey.MultiRegionReplica
}

// primaryName names a replica's primary: its ARN and Region for a live key,
// its resource address for an IaC key, or "" when unknown.
func primaryName(f check.Finding) string {
	switch {
	case f.Key.PrimaryKeyARN != "" && f.Key.PrimaryRegion != "":
		return f.Key.PrimaryKeyARN + " (" + f.Key.PrimaryRegion + ")"
	case f.Key.PrimaryKeyARN != "":
		return f.Key.PrimaryKeyARN
	}
	return f.Key.PrimaryResource
}

// fix is one way to fix a finding: a label ("CLI", "Terraform", …) and the
// text, which may span lines.
type fix struct {
	Label string
	Text  string
}

// fixesFor returns the fixes of a FAIL finding as the seed writes them: the
// CLI command for a live key (already aimed at the primary for a replica),
// the Terraform or CloudFormation argument for an IaC key, both when the
// language cannot be told. An overdue key already has rotation enabled, so
// its fix is the remediation sentence and an on-demand rotation.
func fixesFor(f check.Finding) []fix {
	if f.Status != check.StatusFail {
		return nil
	}
	r := f.Remediation
	if f.File == "" {
		switch {
		case r.CLI == "":
			return []fix{{Label: "fix", Text: r.Text}}
		case f.Reason == check.ReasonRotationOverdue:
			// Rotation is already on: the sentence says why the command
			// is an on-demand rotation.
			return []fix{{Label: "fix", Text: r.Text}, {Label: "CLI", Text: r.CLI}}
		}
		return []fix{{Label: "CLI", Text: r.CLI}}
	}
	var out []fix
	switch languageOf(f) {
	case langTerraform:
		out = append(out, fix{Label: "Terraform", Text: r.Terraform})
	case langCloudFormation:
		text := r.CloudFormation
		if strings.HasSuffix(strings.ToLower(f.File), ".json") {
			text = cfnJSON(text)
		}
		out = append(out, fix{Label: "CloudFormation", Text: text})
	default:
		out = append(out, fix{Label: "Terraform", Text: r.Terraform}, fix{Label: "CloudFormation", Text: r.CloudFormation})
	}
	kept := out[:0]
	for _, x := range out {
		if x.Text != "" {
			kept = append(kept, x)
		}
	}
	if len(kept) == 0 && r.Text != "" {
		kept = append(kept, fix{Label: "fix", Text: r.Text})
	}
	return kept
}

// cfnJSON writes CloudFormation's YAML properties ("EnableKeyRotation: true")
// as a JSON template spells them ("\"EnableKeyRotation\": true").
func cfnJSON(yaml string) string {
	lines := strings.Split(yaml, "\n")
	for i, l := range lines {
		if k, v, ok := strings.Cut(l, ": "); ok {
			lines[i] = `"` + k + `": ` + v
		}
	}
	return strings.Join(lines, "\n")
}
