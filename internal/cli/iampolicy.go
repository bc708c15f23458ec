package cli

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/spf13/cobra"
)

// iamModes are the actions each command needs, least privilege: scan reads,
// fix adds the one write and the CloudFormation reads of its drift check,
// rotate-now reads the key and rotates it.
var iamModes = map[string][]string{
	"scan": scanActions,
	"fix": append(slices.Clone(scanActions),
		"kms:EnableKeyRotation",
		"cloudformation:ListStacks", "cloudformation:ListStackResources", "cloudformation:DescribeStackResources"),
	"rotate-now": {"kms:DescribeKey", "kms:ListKeyRotations", "kms:RotateKeyOnDemand"},
	// scan --security-hub: the scan's reads and the import.
	"security-hub": append(slices.Clone(scanActions), "securityhub:BatchImportFindings"),
}

var scanActions = []string{
	"kms:ListKeys", "kms:ListAliases", "kms:DescribeKey", "kms:GetKeyRotationStatus",
	"kms:ListResourceTags", "kms:ListKeyRotations",
	"organizations:ListAccounts", "organizations:ListRoots", "organizations:ListChildren",
	"organizations:ListAccountsForParent", "organizations:ListOrganizationalUnitsForParent",
	"sts:AssumeRole", "sts:GetCallerIdentity", "ec2:DescribeRegions",
}

func newIAMPolicyCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:       "iam-policy scan|security-hub|fix|rotate-now",
		Short:     "Print the least-privilege IAM policy a kmsrotor command needs",
		Long:      "iam-policy prints, as an IAM policy document (JSON), the actions the named command calls and nothing more. Attach it to the principal that runs kmsrotor (and, with --org, the same KMS and CloudFormation actions to the role assumed in each member account).",
		Example:   "  kmsrotor iam-policy fix > kmsrotor-fix.json\n  aws iam create-policy --policy-name kmsrotor-fix --policy-document file://kmsrotor-fix.json",
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"scan", "security-hub", "fix", "rotate-now"},
		RunE: func(cmd *cobra.Command, args []string) error {
			actions, ok := iamModes[args[0]]
			if !ok {
				return usagef("iam-policy: unknown command %q: use scan, security-hub (scan --security-hub), fix or rotate-now", args[0])
			}
			actions = slices.Sorted(slices.Values(actions))
			doc := map[string]any{
				"Version": "2012-10-17",
				"Statement": []map[string]any{{
					"Sid":      "Kmsrotor" + sidOf(args[0]),
					"Effect":   "Allow",
					"Action":   actions,
					"Resource": "*",
				}},
			}
			b, err := json.MarshalIndent(doc, "", "  ")
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(env.Stdout, string(b))
			return err
		},
	}
}

func sidOf(mode string) string {
	switch mode {
	case "rotate-now":
		return "RotateNow"
	case "fix":
		return "Fix"
	}
	return "Scan"
}
