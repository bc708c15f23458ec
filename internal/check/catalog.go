package check

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

// Rule is one entry of the rule catalog: what the rule checks, why it
// matters, how to fix a failing key in the seed's four forms, and which
// framework requirements it maps to. Every writer (SARIF, the table, the
// JSON document's remediation) and the fix advice read their rule text
// here; none keeps a copy.
type Rule struct {
	// ID is the rule's identifier, as Prowler names the check.
	ID          string
	Title       string
	Description string
	// Risk lists what happens when the rule fails, after the seed document.
	Risk []string
	// Severity is the severity of a FAIL.
	Severity string
	// URL is AWS's documentation of the rule's subject.
	URL string
	// Compliance maps each framework to its requirement IDs. Every finding
	// of the rule points at this one map, so it must never be mutated: a
	// caller that needs to change it copies it first.
	Compliance map[string][]string
}

// Catalog lists every rule, by ID.
var Catalog = map[string]*Rule{
	CheckID: &RotationRule,
}

// RotationRule is kms_cmk_rotation_enabled, the rule of the seed document.
var RotationRule = Rule{
	ID:    CheckID,
	Title: "KMS customer-managed symmetric key has automatic rotation enabled",
	Description: "Customer-managed symmetric encryption KMS keys with AWS_KMS key material should rotate their key material " +
		"automatically, within the policy's period. AWS-managed keys rotate yearly on their own; asymmetric, HMAC, " +
		"imported-material and custom-key-store keys cannot rotate automatically.",
	Risk: []string{
		"Prolonged key exposure: the same cryptographic material is used indefinitely, increasing the risk if it becomes compromised.",
		"Compliance violations: many security frameworks (PCI DSS, HIPAA, SOC 2) require regular key rotation.",
		"Limited cryptographic agility: without rotation, you lose the ability to respond quickly to a potential key compromise.",
		"Data at risk: if a non-rotated key is compromised, all data encrypted with it remains vulnerable until it is rotated by hand.",
	},
	Severity:   "medium",
	URL:        DocURL,
	Compliance: compliance,
}

// DocURL is AWS's page on rotating KMS keys.
const DocURL = "https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html"

// OnDemandDocURL is AWS's page on rotating key material on demand.
const OnDemandDocURL = "https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys-on-demand.html"

// FindingID is the stable identifier of a live finding: the first 16 bytes
// of the SHA-256 of partition, account, Region, key ID and rule ID (joined
// by NUL bytes), in lower-case hex (32 characters). It depends on neither
// the status nor the reason, so a key keeps its ID across runs and shards,
// and merge deduplicates by it.
func FindingID(partition, account, region, keyID, ruleID string) string {
	return hashID(partition, account, region, keyID, ruleID)
}

// IaCFindingID is the stable identifier of a finding in a file: the same
// hash over the file (cleaned, with forward slashes), the resource address
// and the rule ID, prefixed by "iac" so it never equals a live ID. The line
// is left out, so the ID survives edits above the resource.
func IaCFindingID(file, resource, ruleID string) string {
	return hashID("iac", filepath.ToSlash(filepath.Clean(file)), resource, ruleID)
}

// StableID is f's finding ID from its own fields: IaCFindingID for a key
// in a file, else FindingID with the partition of the key's ARN (or of its
// Region when the ARN is unknown) and the key ID (the ARN when the ID is
// unknown). Evaluate sets Finding.ID to it; a reader of a report written
// before finding_id existed computes it the same way.
func (f *Finding) StableID() string {
	if f.File != "" {
		return IaCFindingID(f.File, f.Resource, f.CheckID)
	}
	id := f.KeyID
	if id == "" {
		id = f.KeyARN
	}
	return FindingID(f.Partition(), f.AccountID, f.Region, id, f.CheckID)
}

// Partition is the partition of the finding's key: its ARN's, else its
// Region's (aws for a file's key).
func (f *Finding) Partition() string {
	if p := kmskey.PartitionOfARN(f.KeyARN); p != "" {
		return p
	}
	return kmskey.PartitionOf(f.Region)
}

func hashID(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:16])
}

// Fix is a remediation in the seed's four forms, filled for one key (or
// with placeholders such as <key-id> for a rule's help).
type Fix struct {
	// Console is the console path, one step after another.
	Console string
	CLI     string
	// CloudFormation and Terraform are the resource's lines to set, one
	// property or argument each.
	CloudFormation []string
	Terraform      []string
}

// EnableFix enables automatic rotation on keyID in region (omitted when
// empty), with a rotation period when period > 0. key names the key in the
// console steps ("the key" in a rule's help).
func EnableFix(key, keyID, region string, period int) Fix {
	var console strings.Builder
	if region != "" && !strings.HasPrefix(region, "<") {
		fmt.Fprintf(&console, "In Region %s: ", region)
	}
	fmt.Fprintf(&console, "Key Management Service > Customer managed keys > %s > Key rotation > Edit > check \"Automatically rotate this KMS key\"", key)
	if period > 0 {
		fmt.Fprintf(&console, ", set the rotation period to %d days", period)
	}
	console.WriteString(" > Save")

	cli := "aws kms enable-key-rotation --key-id " + keyID
	if period > 0 {
		cli += fmt.Sprintf(" --rotation-period-in-days %d", period)
	}
	if region != "" {
		cli += " --region " + region
	}
	fx := Fix{Console: console.String(), CLI: cli,
		CloudFormation: []string{"EnableKeyRotation: true"},
		// The provider requires rotation_period_in_days to come with
		// enable_key_rotation, so the flag is always set.
		Terraform: []string{"enable_key_rotation = true"},
	}
	if period > 0 {
		fx.CloudFormation = append(fx.CloudFormation, fmt.Sprintf("RotationPeriodInDays: %d", period))
		fx.Terraform = append(fx.Terraform, fmt.Sprintf("rotation_period_in_days = %d", period))
	}
	return fx
}

// RotateNowFix rotates keyID's material on demand: the fix of an overdue
// key, whose rotation is already enabled (re-enabling it would only restart
// its clock and hide the finding).
func RotateNowFix(key, keyID, region string) Fix {
	var console strings.Builder
	if region != "" && !strings.HasPrefix(region, "<") {
		fmt.Fprintf(&console, "In Region %s: ", region)
	}
	fmt.Fprintf(&console, "Key Management Service > Customer managed keys > %s > Key rotation > Rotate now", key)
	cli := "aws kms rotate-key-on-demand --key-id " + keyID
	if region != "" {
		cli += " --region " + region
	}
	return Fix{Console: console.String(), CLI: cli}
}

// Advice sentences of the remediation (Remediation.Text), one per case.
// remediation() fills them for a key.
const (
	advicePass              = "Nothing to do."
	adviceSkipped           = "Nothing to do: the check does not apply to this key."
	adviceErrorFmt          = "Grant the scanning principal %s on this key (or retry later if throttled), then scan again."
	adviceImported          = "Keys with imported material cannot rotate automatically: import new key material (ImportType NEW_KEY_MATERIAL) and run aws kms rotate-key-on-demand, on a schedule."
	adviceUnresolved        = "Resolve the value by hand; if the key is customer-managed symmetric with AWS_KMS origin, enable rotation."
	adviceIaCReplicaFmt     = "Enable rotation on the primary key %s; this replica shares its rotation."
	adviceIaCEnable         = "Set enable_key_rotation = true (Terraform) or EnableKeyRotation: true (CloudFormation)"
	adviceIaCPeriodFmt      = " with a rotation period of at most %d days"
	adviceOverdue           = "Rotation is enabled but has not happened on time: rotate the key material on demand now, and check its history with aws kms list-key-rotations."
	adviceDisabledKey       = "The key is disabled, and AWS changes rotation only on an enabled key: enable it first (aws kms enable-key) if it is still in use, then enable automatic key rotation."
	adviceLiveReplicaFmt    = "Enable automatic rotation on the primary key %s in %s; its replicas share it."
	adviceShortenFmt        = "Shorten the rotation period to %d days."
	adviceEnablePeriodFmt   = "Enable automatic key rotation every %d days."
	adviceEnable            = "Enable automatic key rotation."
	defaultReadPermissions  = "kms:ListKeys, kms:DescribeKey, kms:GetKeyRotationStatus and kms:ListAliases"
	unknownPrimaryOfReplica = "of this replica"
)

// ReasonRule is the catalog's text for one reason code: the sub-rule SARIF
// reports and the table and every writer describe.
type ReasonRule struct {
	Code string
	// Name is a short PascalCase name (SARIF's rule name).
	Name string
	// Title is one line; Description says what the reason means.
	Title       string
	Description string
	// Help says what to do, as plain text and as Markdown.
	Help         string
	HelpMarkdown string
	Tags         []string
	// Action names the change that fixes the reason, as a fix's title.
	Action string
}

var (
	rotationTags = []string{"security", "aws", "kms", "encryption", "key-rotation"}
	errorTags    = []string{"aws", "kms", "scan-error"}
	skippedTags  = []string{"aws", "kms", "not-applicable"}
)

// Reason returns the catalog entry of a reason code. maxDays is the
// policy's maximum rotation period (365 when 0), which the period rule's
// text and help name. A code the catalog does not know still gets a valid,
// stable entry that points at the finding's message.
func (r *Rule) Reason(code string, maxDays int) ReasonRule {
	period := maxDays
	if period <= 0 {
		period = 365
	}
	e := ReasonRule{Code: code}
	switch code {
	case ReasonRotationEnabled:
		e.Name, e.Title = "KMSKeyRotationEnabled", "KMS key rotates its key material automatically"
		e.Description = "The key rotates its key material automatically within the policy's period."
		e.Help, e.Tags = advicePass, rotationTags
	case ReasonRotationDisabled:
		e.Name, e.Title = "KMSKeyRotationDisabled", "KMS key does not rotate its key material"
		e.Description = "A customer-managed symmetric encryption KMS key with AWS_KMS key material has automatic rotation disabled, " +
			"so the same key material protects new data indefinitely. The CIS AWS Foundations Benchmark, AWS FSBP (KMS.4) and PCI DSS require rotation."
		e.Help, e.HelpMarkdown = enableHelpText(0), enableHelpMarkdown(0)
		e.Tags = rotationTags
	case ReasonPeriodExceedsPolicy:
		e.Name, e.Title = "KMSKeyRotationPeriodTooLong", "KMS key rotation period is longer than the policy allows"
		e.Description = fmt.Sprintf("The key rotates automatically, but its rotation period is longer than the policy's maximum of %d days.", period)
		e.Help, e.HelpMarkdown = enableHelpText(period), enableHelpMarkdown(period)
		e.Tags = rotationTags
	case ReasonRotationOverdue:
		e.Name, e.Title = "KMSKeyRotationOverdue", "KMS key rotation is overdue"
		e.Description = "Automatic rotation is enabled, but the key's next rotation date passed more than the policy's grace period ago."
		e.Help = "Automatic rotation is enabled but the scheduled rotation has not happened within the grace period. " +
			"List the key's rotations with aws kms list-key-rotations --key-id <key-id>, check that the key is enabled, " +
			"and rotate it now with aws kms rotate-key-on-demand --key-id <key-id> if needed."
		e.HelpMarkdown = "Automatic rotation is enabled but the scheduled rotation has not happened within the grace period.\n\n```sh\naws kms list-key-rotations --key-id <key-id> --region <region>\n" +
			RotateNowFix("the key", "<key-id>", "<region>").CLI + "\n```\n\nCheck that the key is enabled before rotating it on demand."
		e.Tags = rotationTags
	case ReasonImportedKeyMaterial:
		e.Name, e.Title = "KMSKeyImportedMaterial", "KMS key with imported key material cannot rotate automatically"
		e.Description = "The key's material is imported (origin EXTERNAL). AWS KMS cannot rotate it automatically; it needs a manual rotation process."
		e.Help = "A key with imported key material (origin EXTERNAL) cannot rotate automatically. " +
			"Rotate it by hand on a schedule: import new key material (ImportKeyMaterial with ImportType NEW_KEY_MATERIAL), " +
			"then run aws kms rotate-key-on-demand --key-id <key-id>. Or move the data to a key with AWS_KMS origin and enable rotation on it."
		e.HelpMarkdown = "A key with imported key material (origin `EXTERNAL`) cannot rotate automatically. Rotate it by hand on a schedule:\n\n1. Import new key material (`ImportKeyMaterial` with `ImportType` `NEW_KEY_MATERIAL`).\n2. Rotate: `aws kms rotate-key-on-demand --key-id <key-id>`.\n\nOr move the data to a key with `AWS_KMS` origin and enable automatic rotation on it."
		e.Tags = rotationTags
	case ReasonUnresolvedValue:
		e.Name, e.Title = "KMSKeyRotationUnresolved", "KMS key rotation cannot be decided from the files"
		e.Description = "A value the check needs cannot be resolved statically, so rotation is neither assumed on nor off."
		e.Help = "A value that decides the check (a variable without a default, a condition, an unresolved reference) cannot be resolved from the files. " +
			"Give the variable a default or pass a .tfvars file with --var-file (CloudFormation: a Parameter Default), or check the deployed key with kmsrotor scan."
		e.Tags = rotationTags
	case ReasonAccessDenied:
		e.Name, e.Title = "KMSKeyAccessDenied", "KMS key could not be read: access denied"
		e.Description = "An AWS API call needed to evaluate the key was denied. The key is reported, never counted as passing or failing."
		e.Help = "An AWS API call needed to evaluate the key was denied, so its rotation is unknown. " +
			"Grant the scanning principal " + defaultReadPermissions + " (the result names the call that failed), then scan again."
		e.Tags = errorTags
	case ReasonThrottled:
		e.Name, e.Title = "KMSKeyThrottled", "KMS key could not be read: throttled"
		e.Description = "AWS KMS throttled the calls needed to evaluate the key. The key is reported, never counted as passing or failing."
		e.Help = "AWS throttled the calls needed to evaluate the key, even after retries, so its rotation is unknown. Scan again later."
		e.Tags = errorTags
	case ReasonAPIError:
		e.Name, e.Title = "KMSKeyAPIError", "KMS key could not be read: API error"
		e.Description = "An AWS API call needed to evaluate the key failed. The key is reported, never counted as passing or failing."
		e.Help = "An AWS API call needed to evaluate the key failed, so its rotation is unknown. The result gives the error code; scan again."
		e.Tags = errorTags
	default:
		if s, ok := skippedReasons[code]; ok {
			e.Name, e.Title, e.Description = s.name, s.title, s.description
			e.Help, e.Tags = adviceSkipped, skippedTags
			break
		}
		e.Name, e.Title = "KMSKeyRotation", "KMS key rotation check: "+code
		e.Description = "The " + r.ID + " check reported " + code + " for this key; see the result message."
		e.Help, e.Tags = e.Description, rotationTags
	}
	switch code {
	case ReasonRotationDisabled:
		e.Action = "Enable automatic key rotation"
	case ReasonPeriodExceedsPolicy:
		e.Action = "Shorten the rotation period"
	default:
		e.Action = "Apply the change kmsrotor iac --fix makes"
	}
	if e.HelpMarkdown == "" {
		e.HelpMarkdown = e.Help
	}
	return e
}

// skippedReasons are the reasons a key is not evaluated.
var skippedReasons = map[string]struct{ name, title, description string }{
	ReasonCustomKeyStore:         {"KMSKeyCustomKeyStore", "KMS key in a custom key store", "The key is in a CloudHSM or external key store; AWS KMS cannot rotate it automatically."},
	ReasonAsymmetricKey:          {"KMSKeyAsymmetric", "Asymmetric KMS key", "Automatic rotation applies only to symmetric encryption keys."},
	ReasonHMACKey:                {"KMSKeyHMAC", "HMAC KMS key", "Automatic rotation applies only to symmetric encryption keys."},
	ReasonAWSManagedKey:          {"KMSKeyAWSManaged", "AWS managed KMS key", "AWS rotates AWS managed keys every year; their rotation cannot be configured."},
	ReasonKeyDisabled:            {"KMSKeyDisabled", "Disabled KMS key", "The key is disabled; rotation is not evaluated unless disabled keys are included."},
	ReasonPendingDeletion:        {"KMSKeyPendingDeletion", "KMS key pending deletion", "The key is scheduled for deletion; rotation is not evaluated."},
	ReasonPendingReplicaDeletion: {"KMSKeyPendingReplicaDeletion", "KMS key pending replica deletion", "The key waits for its replicas to be deleted; rotation is not evaluated."},
	ReasonPendingImport:          {"KMSKeyPendingImport", "KMS key pending import", "The key waits for its imported key material; rotation is not evaluated."},
	ReasonKeyUnavailable:         {"KMSKeyUnavailable", "Unavailable KMS key", "The key's custom key store is disconnected; rotation is not evaluated."},
	ReasonKeyCreating:            {"KMSKeyCreating", "KMS key being created", "The key is being created; rotation is not evaluated."},
	ReasonKeyUpdating:            {"KMSKeyUpdating", "KMS key being updated", "The key is being updated; rotation is not evaluated."},
}

// enableHelpText is the seed document's remediation, in short; period > 0
// adds the policy's rotation period.
func enableHelpText(period int) string {
	fx := EnableFix("the key", "<key-id>", "<region>", period)
	var b strings.Builder
	b.WriteString("Enable automatic rotation of the key material. It applies to customer-managed symmetric encryption keys with AWS_KMS origin; for a multi-Region key, set it on the primary key, whose replicas share it. You need kms:EnableKeyRotation on the key.\n")
	if period > 0 {
		fmt.Fprintf(&b, "Use a rotation period of at most %d days.\n", period)
	}
	fmt.Fprintf(&b, "Console: %s.\n", fx.Console)
	fmt.Fprintf(&b, "CLI: %s\n", fx.CLI)
	fmt.Fprintf(&b, "CloudFormation: in the AWS::KMS::Key Properties, %s, then update the stack.\n", strings.Join(fx.CloudFormation, ", "))
	fmt.Fprintf(&b, "Terraform: in the aws_kms_key resource, %s.\n", strings.Join(fx.Terraform, ", "))
	b.WriteString("Verify: aws kms get-key-rotation-status --key-id <key-id> --region <region> returns \"KeyRotationEnabled\": true.")
	return b.String()
}

func enableHelpMarkdown(period int) string {
	fx := EnableFix("the key", "<key-id>", "<region>", period)
	var b strings.Builder
	b.WriteString("Enable automatic rotation of the key material. It applies to customer-managed symmetric encryption keys with `AWS_KMS` origin; for a multi-Region key, set it on the **primary** key, whose replicas share it. You need `kms:EnableKeyRotation` on the key.\n\n")
	if period > 0 {
		fmt.Fprintf(&b, "Use a rotation period of at most **%d days**.\n\n", period)
	}
	console := strings.ReplaceAll(fx.Console, " > ", " → ")
	console = strings.Replace(console, `check "Automatically rotate this KMS key"`, "check *Automatically rotate this KMS key*", 1)
	fmt.Fprintf(&b, "**Console:** %s.\n\n", console)
	fmt.Fprintf(&b, "**CLI:**\n\n```sh\n%s\n```\n\n", fx.CLI)
	fmt.Fprintf(&b, "**CloudFormation** (`AWS::KMS::Key`, then update the stack):\n\n```yaml\nProperties:\n%s\n```\n\n", indent(fx.CloudFormation, "  "))
	fmt.Fprintf(&b, "**Terraform** (`aws_kms_key`):\n\n```hcl\nresource \"aws_kms_key\" \"example\" {\n%s\n}\n```\n\n", indent(alignHCL(fx.Terraform), "  "))
	b.WriteString("**Verify:** `aws kms get-key-rotation-status --key-id <key-id> --region <region>` returns `\"KeyRotationEnabled\": true`.")
	return b.String()
}

func indent(lines []string, pad string) string {
	out := slices.Clone(lines)
	for i, l := range out {
		out[i] = pad + l
	}
	return strings.Join(out, "\n")
}

// alignHCL aligns the equals signs of consecutive attributes, as terraform
// fmt does, so the example can be pasted as is.
func alignHCL(lines []string) []string {
	width := 0
	for _, l := range lines {
		if k, _, ok := strings.Cut(l, " = "); ok {
			width = max(width, len(k))
		}
	}
	out := slices.Clone(lines)
	for i, l := range out {
		if k, v, ok := strings.Cut(l, " = "); ok {
			out[i] = fmt.Sprintf("%-*s = %s", width, k, v)
		}
	}
	return out
}
