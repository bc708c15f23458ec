package check

import (
	"fmt"
	"strings"

	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

// remediation says how to fix a finding, on the primary for a replica, in
// the rule catalog's words (catalog.go) filled in for this key.
func remediation(k kmskey.Key, f Finding, p Policy) Remediation {
	r := Remediation{URL: RotationRule.URL}
	switch f.Status {
	case StatusPass:
		r.Text = advicePass
		return r
	case StatusSkipped:
		r.Text = adviceSkipped
		return r
	case StatusError:
		r.Text = fmt.Sprintf(adviceErrorFmt, permissionFor(f.Error))
		return r
	case StatusManual:
		if f.Reason == ReasonImportedKeyMaterial {
			r.Text = adviceImported
			r.URL = OnDemandDocURL
		} else {
			r.Text = adviceUnresolved
		}
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
				primary = unknownPrimaryOfReplica
			}
			// The replica's own lines are not where rotation is set: the
			// primary takes the flag, with no period of this replica's.
			fx := EnableFix(primary, "", "", 0)
			r.Text = fmt.Sprintf(adviceIaCReplicaFmt, primary)
			r.Terraform = strings.Join(fx.Terraform, "\n")
			r.CloudFormation = strings.Join(fx.CloudFormation, "\n")
			return r
		}
		fx := EnableFix(k.Resource, "", "", period)
		r.Text = adviceIaCEnable
		if period > 0 {
			r.Text += fmt.Sprintf(adviceIaCPeriodFmt, period)
		}
		r.Text += "."
		r.Terraform = strings.Join(fx.Terraform, "\n")
		r.CloudFormation = strings.Join(fx.CloudFormation, "\n")
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
	var fx Fix
	if f.Reason == ReasonRotationOverdue {
		fx = RotateNowFix("key "+keyID, keyID, region)
	} else {
		fx = EnableFix("key "+keyID, keyID, region, period)
	}
	r.CLI, r.Console = fx.CLI, fx.Console
	switch {
	case f.Reason == ReasonRotationOverdue:
		r.Text = adviceOverdue
	case k.State == kmskey.StateDisabled || (k.IsReplica() && k.PrimaryState == kmskey.StateDisabled):
		r.Text = adviceDisabledKey
	case k.IsReplica():
		r.Text = fmt.Sprintf(adviceLiveReplicaFmt, target, region)
	case f.Reason == ReasonPeriodExceedsPolicy:
		r.Text = fmt.Sprintf(adviceShortenFmt, period)
	case period > 0:
		r.Text = fmt.Sprintf(adviceEnablePeriodFmt, period)
	default:
		r.Text = adviceEnable
	}
	return r
}

func permissionFor(e *ErrorFacts) string {
	if e == nil || e.Operation == "" {
		return defaultReadPermissions
	}
	return "kms:" + e.Operation
}
