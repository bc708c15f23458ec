package check

import (
	"fmt"
	"maps"
	"strings"

	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

// DocURL is AWS's page on rotating KMS keys.
const DocURL = "https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html"

// remediation says how to fix a finding, on the primary for a replica, as the
// seed document writes the fix.
func remediation(k kmskey.Key, f Finding, p Policy) Remediation {
	r := Remediation{URL: DocURL}
	switch f.Status {
	case StatusPass:
		r.Text = "Nothing to do."
		return r
	case StatusSkipped:
		r.Text = "Nothing to do: the check does not apply to this key."
		return r
	case StatusError:
		r.Text = fmt.Sprintf("Grant the scanning principal %s on this key (or retry later if throttled), then scan again.", permissionFor(f.Error))
		return r
	case StatusManual:
		if f.Reason == ReasonImportedKeyMaterial {
			r.Text = "Keys with imported material cannot rotate automatically: import new key material (ImportType NEW_KEY_MATERIAL) and run aws kms rotate-key-on-demand, on a schedule."
			r.URL = "https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys-on-demand.html"
		} else {
			r.Text = "Resolve the value by hand; if the key is customer-managed symmetric with AWS_KMS origin, enable rotation."
		}
		return r
	}

	if f.Reason == ReasonInvalidValue {
		r.Text = "Remove enable_key_rotation and rotation_period_in_days (Terraform) or EnableKeyRotation and RotationPeriodInDays (CloudFormation): this key class cannot rotate automatically."
		r.Terraform = "remove enable_key_rotation and rotation_period_in_days"
		r.CloudFormation = "remove EnableKeyRotation and RotationPeriodInDays"
		return r
	}
	// FAIL: enable rotation, with the policy's period when the current one is too long.
	period := 0
	switch {
	case f.Reason == ReasonPeriodExceedsPolicy:
		period = p.MaxRotationDays
	case f.Reason == ReasonRotationDisabled && p.MaxRotationDays > 0 && p.MaxRotationDays < kmskey.DefaultRotationPeriodDays:
		// Enabling with AWS's default of 365 days would still fail this policy.
		period = p.MaxRotationDays
	}
	if k.File != "" {
		if k.IsReplica() {
			primary := k.PrimaryResource
			if primary == "" {
				primary = "of this replica"
			}
			r.Text = fmt.Sprintf("Enable rotation on the primary key %s; this replica shares its rotation.", primary)
			r.Terraform = "enable_key_rotation = true"
			r.CloudFormation = "EnableKeyRotation: true"
			return r
		}
		r.Text = "Set enable_key_rotation = true (Terraform) or EnableKeyRotation: true (CloudFormation)"
		if period > 0 {
			r.Text += fmt.Sprintf(" with a rotation period of at most %d days", period)
		}
		r.Text += "."
		r.Terraform = "enable_key_rotation = true"
		r.CloudFormation = "EnableKeyRotation: true"
		if period > 0 {
			r.Terraform += fmt.Sprintf("\nrotation_period_in_days = %d", period)
			r.CloudFormation += fmt.Sprintf("\nRotationPeriodInDays: %d", period)
		}
		return r
	}

	target, region, keyID := k.ARN, k.Region, k.KeyID
	if k.IsReplica() && k.PrimaryARN != "" {
		target, region = k.PrimaryARN, k.PrimaryRegion
		keyID = k.PrimaryARN
	}
	if keyID == "" {
		keyID = target
	}
	r.TargetKeyARN, r.TargetRegion = target, region
	var b strings.Builder
	if f.Reason == ReasonRotationOverdue {
		// Re-enabling rotation would only restart its clock and hide the
		// finding; rotating on demand renews the material now.
		fmt.Fprintf(&b, "aws kms rotate-key-on-demand --key-id %s", keyID)
	} else {
		fmt.Fprintf(&b, "aws kms enable-key-rotation --key-id %s", keyID)
		if period > 0 {
			fmt.Fprintf(&b, " --rotation-period-in-days %d", period)
		}
	}
	if region != "" {
		fmt.Fprintf(&b, " --region %s", region)
	}
	r.CLI = b.String()
	switch {
	case f.Reason == ReasonRotationOverdue:
		r.Text = "Rotation is enabled but has not happened on time: rotate the key material on demand now, and check its history with aws kms list-key-rotations."
	case k.State == kmskey.StateDisabled || (k.IsReplica() && k.PrimaryState == kmskey.StateDisabled):
		r.Text = "The key is disabled, and AWS changes rotation only on an enabled key: enable it first (aws kms enable-key) if it is still in use, then enable automatic key rotation."
	case k.IsReplica():
		r.Text = fmt.Sprintf("Enable automatic rotation on the primary key %s in %s; its replicas share it.", target, region)
	case f.Reason == ReasonPeriodExceedsPolicy:
		r.Text = fmt.Sprintf("Shorten the rotation period to %d days.", period)
	case period > 0:
		r.Text = fmt.Sprintf("Enable automatic key rotation every %d days.", period)
	default:
		r.Text = "Enable automatic key rotation."
	}
	return r
}

func permissionFor(e *ErrorFacts) string {
	if e == nil || e.Operation == "" {
		return "kms:ListKeys, kms:DescribeKey, kms:GetKeyRotationStatus and kms:ListAliases"
	}
	return "kms:" + e.Operation
}

var compliance = map[string][]string{
	"CIS-1.4":   {"3.8"},
	"CIS-1.5":   {"3.8"},
	"CIS-2.0":   {"3.8"},
	"CIS-3.0":   {"3.6"},
	"CIS-4.0.1": {"3.6"},
	"CIS-5.0":   {"3.6"},
	"CIS-6.0":   {"4.6"},
	"CIS-7.0":   {"4.6"},
	"AWS-Foundational-Security-Best-Practices": {"KMS.4"},
	"NIST-800-53-Revision-5":                   {"sc_12", "sc_12_2", "sc_12_6", "cm_6_a", "cm_9_b", "sa_9_6"},
	"NIST-800-53-Revision-4":                   {"sc_12"},
	"PCI-4.0":                                  {"3.7.4.5", "3.7.5.2"},
	"HIPAA":                                    {"164_312_a_2_iv"},
	"ISO27001-2022":                            {"A.8.5", "A.8.11", "A.8.24"},
	"SOC2":                                     {"pi_1_5"},
	"FedRAMP-Moderate-Revision-4":              {"sc-12"},
	"FedRAMP-Low-Revision-4":                   {"sc-12"},
	"GDPR":                                     {"article_25", "article_30"},
}

// Compliance returns the frameworks and controls this check maps to (the
// mappings Prowler publishes for kms_cmk_rotation_enabled). Each call returns
// a fresh copy.
func Compliance() map[string][]string {
	out := make(map[string][]string, len(compliance))
	for k, v := range maps.All(compliance) {
		out[k] = append([]string(nil), v...)
	}
	return out
}
