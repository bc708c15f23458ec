// Package check classifies one KMS key against the rotation policy. It is
// pure: a kmskey.Key and a Policy give one Finding, with no I/O. Live keys and
// IaC keys go through the same rule.
package check

import (
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

// Policy is what the organization requires of rotation.
type Policy struct {
	// MaxRotationDays is the longest acceptable rotation period; 0 means any
	// period AWS allows is acceptable.
	MaxRotationDays int
	// GraceDays is how long past its NextRotationDate a rotation may be
	// before the key is overdue.
	GraceDays int
	// IncludeDisabled evaluates Disabled keys instead of skipping them.
	IncludeDisabled bool
	// Now is the evaluation time, for the overdue rule.
	Now time.Time
}

// The policy when no flag says otherwise: the seed's yearly rotation (AWS's
// default period) and a week of grace.
const (
	DefaultMaxRotationDays = kmskey.DefaultRotationPeriodDays
	DefaultGraceDays       = 7
)

// DefaultPolicy is the policy when no flag says otherwise.
func DefaultPolicy(now time.Time) Policy {
	return Policy{MaxRotationDays: DefaultMaxRotationDays, GraceDays: DefaultGraceDays, Now: now}
}

// Validate reports a policy that cannot be applied.
func (p Policy) Validate() error {
	if p.MaxRotationDays != 0 && !kmskey.ValidRotationPeriod(p.MaxRotationDays) {
		return fmt.Errorf("max rotation days %d is outside the range AWS allows (%d to %d)",
			p.MaxRotationDays, kmskey.MinRotationPeriodDays, kmskey.MaxRotationPeriodDays)
	}
	if p.GraceDays < 0 {
		return fmt.Errorf("rotation grace days %d is negative", p.GraceDays)
	}
	return nil
}

// Evaluate classifies one key. The order matters: an API error comes first
// (it is never a PASS or a FAIL), then who manages the key, then its state,
// then the classes that cannot rotate automatically, then rotation itself.
func Evaluate(k kmskey.Key, p Policy) Finding {
	f := newFinding(k)
	status, reason, msg := classify(k, p)
	f.Status, f.Reason, f.Message = status, reason, msg
	f.Severity = severity(status)
	f.Remediation = remediation(k, f, p)
	f.Compliance = RotationRule.Compliance
	f.ID = f.StableID()
	return f
}

func classify(k kmskey.Key, p Policy) (Status, string, string) {
	name := describe(k)
	if k.Err != nil {
		return StatusError, errorReason(k.Err.Code), fmt.Sprintf("could not read %s: %s failed with %s%s; its rotation is unknown", name, k.Err.Operation, k.Err.Code, suffix(k.Err.Message))
	}
	if k.IsUnresolved(kmskey.AttrManager) {
		return unresolved(name, kmskey.AttrManager)
	}
	if k.Manager == kmskey.ManagerAWS {
		return StatusSkipped, ReasonAWSManagedKey, name + " is an AWS managed key; AWS rotates it every year and its rotation cannot be configured"
	}

	// A key in a known non-Enabled state is skipped whatever its class.
	if !k.IsUnresolved(kmskey.AttrState) {
		if reason, skip := stateSkip(k.State, p); skip {
			return StatusSkipped, reason, fmt.Sprintf("%s is in state %s; rotation is not evaluated", name, k.State)
		}
	}
	// A replica is classified as its primary: rotation is set there, and
	// cannot be while the primary is, say, pending deletion.
	if k.IsReplica() && k.PrimaryState != "" {
		if reason, skip := stateSkip(k.PrimaryState, p); skip {
			return StatusSkipped, reason, fmt.Sprintf("%s is a multi-Region replica whose primary %s is in state %s; rotation is not evaluated", name, primaryName(k), k.PrimaryState)
		}
	}

	// Classes that cannot rotate automatically, decided on known facts only.
	if isCustomKeyStore(k) {
		return StatusSkipped, ReasonCustomKeyStore, fmt.Sprintf("%s is in a custom key store (origin %s); AWS KMS cannot rotate it automatically", name, k.Origin)
	}
	// Rotation turned on for a key that cannot rotate: AWS rejects the
	// deploy (IaC), so it is a FAIL whose fix removes the setting.
	if k.Source != kmskey.SourceAWS && k.Rotation.Enabled == kmskey.True && !k.IsReplica() &&
		((!k.IsUnresolved(kmskey.AttrSpec) && k.Spec != "" && k.Spec != kmskey.SpecSymmetricDefault) ||
			(!k.IsUnresolved(kmskey.AttrOrigin) && k.Origin == kmskey.OriginExternal)) {
		class := "an imported-material key (origin EXTERNAL)"
		if k.Spec != "" && k.Spec != kmskey.SpecSymmetricDefault {
			class = "a " + k.Spec + " key"
		}
		return StatusFail, ReasonInvalidValue, fmt.Sprintf("%s turns automatic rotation on, but it is %s, which cannot rotate automatically; AWS rejects the deploy: remove the rotation setting", name, class)
	}
	if !k.IsUnresolved(kmskey.AttrSpec) && k.Spec != "" && k.Spec != kmskey.SpecSymmetricDefault {
		if kmskey.ClassOf(k.Spec) == kmskey.SpecClassHMAC {
			return StatusSkipped, ReasonHMACKey, fmt.Sprintf("%s is an HMAC key (%s); automatic rotation applies only to symmetric encryption keys", name, k.Spec)
		}
		return StatusSkipped, ReasonAsymmetricKey, fmt.Sprintf("%s is an asymmetric key (%s); automatic rotation applies only to symmetric encryption keys", name, k.Spec)
	}
	if k.IsReplica() && k.IsUnresolved(kmskey.AttrRotation) {
		// What is unknown is the primary, which carries the replica's class
		// and rotation: say so rather than name the first unknown attribute.
		return StatusManual, ReasonUnresolvedValue, fmt.Sprintf("%s: its primary key (%s) is not in the files scanned, so the rotation it shares cannot be determined; check the primary", name, primaryName(k))
	}
	for _, attr := range []string{kmskey.AttrState, kmskey.AttrCustomKeyStore, kmskey.AttrOrigin, kmskey.AttrSpec} {
		if k.IsUnresolved(attr) {
			return unresolved(name, attr)
		}
	}
	if k.Origin == kmskey.OriginExternal {
		return StatusManual, ReasonImportedKeyMaterial, name + " has imported key material (origin EXTERNAL); it cannot rotate automatically: import new key material and rotate on demand, or move to a key with AWS_KMS origin"
	}

	// Rotation proper. A replica carries its primary's shared status.
	if k.IsUnresolved(kmskey.AttrRotation) || k.Rotation.Enabled == kmskey.Unknown {
		if k.Source == kmskey.SourceAWS {
			return StatusManual, ReasonUnresolvedValue, name + ": AWS returned no rotation status for this key; check it with aws kms get-key-rotation-status"
		}
		return unresolved(name, kmskey.AttrRotation)
	}
	if k.Rotation.Enabled == kmskey.False {
		return StatusFail, ReasonRotationDisabled, fmt.Sprintf("%s does not rotate its key material automatically", name) + replicaNote(k)
	}
	if k.IsUnresolved(kmskey.AttrPeriod) {
		return unresolved(name, kmskey.AttrPeriod)
	}
	period := k.Rotation.PeriodDays
	if p.MaxRotationDays > 0 && period > p.MaxRotationDays {
		return StatusFail, ReasonPeriodExceedsPolicy, fmt.Sprintf("%s rotates every %d days, more than the policy's %d", name, period, p.MaxRotationDays) + replicaNote(k)
	}
	if next := k.Rotation.NextRotationDate; !next.IsZero() && !p.Now.IsZero() {
		if p.Now.After(next.Add(days(p.GraceDays))) {
			return StatusFail, ReasonRotationOverdue, fmt.Sprintf("%s was due to rotate on %s and has not (grace %d days)", name, next.UTC().Format(time.DateOnly), p.GraceDays) + replicaNote(k)
		}
	} else if last := k.Rotation.LastRotationDate; !last.IsZero() && !p.Now.IsZero() && period > 0 {
		if p.Now.After(last.Add(days(period + p.GraceDays))) {
			return StatusFail, ReasonRotationOverdue, fmt.Sprintf("%s last rotated on %s, more than %d days plus %d days of grace ago", name, last.UTC().Format(time.DateOnly), period, p.GraceDays) + replicaNote(k)
		}
	}
	if period > 0 {
		return StatusPass, ReasonRotationEnabled, fmt.Sprintf("%s rotates its key material automatically every %d days", name, period)
	}
	return StatusPass, ReasonRotationEnabled, name + " rotates its key material automatically"
}

// stateSkip says whether a key in state is skipped, and with which reason.
func stateSkip(state string, p Policy) (string, bool) {
	switch state {
	case "", kmskey.StateEnabled:
		return "", false
	case kmskey.StateDisabled:
		if p.IncludeDisabled {
			return "", false
		}
		return ReasonKeyDisabled, true
	case kmskey.StatePendingDeletion:
		return ReasonPendingDeletion, true
	case kmskey.StatePendingReplicaDeletion:
		return ReasonPendingReplicaDeletion, true
	case kmskey.StatePendingImport:
		return ReasonPendingImport, true
	case kmskey.StateUnavailable:
		return ReasonKeyUnavailable, true
	case kmskey.StateCreating:
		return ReasonKeyCreating, true
	case kmskey.StateUpdating:
		return ReasonKeyUpdating, true
	}
	return "key_state_" + strings.ToLower(state), true
}

func primaryName(k kmskey.Key) string {
	switch {
	case k.PrimaryARN != "":
		return k.PrimaryARN
	case k.PrimaryResource != "":
		return k.PrimaryResource
	}
	return "its primary key"
}

// isCustomKeyStore decides on known facts only: a known store ID is enough,
// whatever the origin (an XKS key whose xks_key_id is unresolved is still in
// a custom key store).
func isCustomKeyStore(k kmskey.Key) bool {
	if k.CustomKeyStoreID != "" && !k.IsUnresolved(kmskey.AttrCustomKeyStore) {
		return true
	}
	return !k.IsUnresolved(kmskey.AttrOrigin) && (k.Origin == kmskey.OriginAWSCloudHSM || k.Origin == kmskey.OriginExternalKeyStore)
}

func unresolved(name, attr string) (Status, string, string) {
	return StatusManual, ReasonUnresolvedValue, fmt.Sprintf("%s: the value of %s cannot be determined from the files (unresolved or invalid); check it by hand", name, attrLabel(attr))
}

func attrLabel(attr string) string {
	switch attr {
	case kmskey.AttrRotation:
		return "key rotation (enable_key_rotation / EnableKeyRotation)"
	case kmskey.AttrPeriod:
		return "the rotation period (rotation_period_in_days / RotationPeriodInDays)"
	case kmskey.AttrSpec:
		return "the key spec"
	case kmskey.AttrState:
		return "whether the key is enabled"
	case kmskey.AttrOrigin:
		return "the key origin"
	case kmskey.AttrCustomKeyStore:
		return "the custom key store"
	}
	return attr
}

// errorReason maps an AWS error code to a reason code.
func errorReason(code string) string {
	switch code {
	case "AccessDeniedException", "AccessDenied", "UnauthorizedOperation", "UnrecognizedClientException",
		"InvalidSignatureException", "SignatureDoesNotMatch", "ExpiredTokenException", "InvalidClientTokenId":
		return ReasonAccessDenied
	case "ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded", "LimitExceededException":
		return ReasonThrottled
	}
	return ReasonAPIError
}

func replicaNote(k kmskey.Key) string {
	if !k.IsReplica() {
		return ""
	}
	return fmt.Sprintf("; this multi-Region replica shares its primary's rotation, set on %s", primaryName(k))
}

func describe(k kmskey.Key) string {
	switch {
	case k.Resource != "" && k.File != "":
		return k.Resource
	case len(k.Aliases) > 0:
		return fmt.Sprintf("key %s (%s)", k.KeyID, k.Aliases[0])
	case k.KeyID != "":
		return "key " + k.KeyID
	case k.ARN != "":
		return "key " + k.ARN
	}
	return "key"
}

func suffix(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

func days(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

func severity(s Status) string {
	switch s {
	case StatusFail, StatusError:
		return "medium"
	case StatusManual:
		return "low"
	}
	return "informational"
}

func newFinding(k kmskey.Key) Finding {
	f := Finding{
		CheckID:   CheckID,
		Source:    string(k.Source),
		AccountID: k.AccountID,
		Region:    k.Region,
		KeyID:     k.KeyID,
		KeyARN:    k.ARN,
		Aliases:   append([]string{}, k.Aliases...),
		File:      k.File,
		StartLine: k.StartLine,
		EndLine:   k.EndLine,
		Resource:  k.Resource,
		Rotation: RotationFacts{
			Enabled:    k.Rotation.Enabled.Ptr(),
			PeriodDays: k.Rotation.PeriodDays,
		},
		Key: KeyFacts{
			Manager:          k.Manager,
			Spec:             k.Spec,
			Usage:            k.Usage,
			Origin:           k.Origin,
			State:            k.State,
			MultiRegionType:  k.MultiRegionType,
			PrimaryKeyARN:    k.PrimaryARN,
			PrimaryRegion:    k.PrimaryRegion,
			PrimaryResource:  k.PrimaryResource,
			CustomKeyStoreID: k.CustomKeyStoreID,
		},
	}
	if t := k.Rotation.NextRotationDate; !t.IsZero() {
		t = t.UTC()
		f.Rotation.NextRotationDate = &t
	}
	if t := k.Rotation.LastRotationDate; !t.IsZero() {
		t = t.UTC()
		f.Rotation.LastRotationDate = &t
	}
	f.Rotation.LastRotationType = k.Rotation.LastRotationType
	if len(k.Tags) > 0 {
		f.Tags = maps.Clone(k.Tags)
	}
	if k.Err != nil {
		f.Error = &ErrorFacts{Operation: k.Err.Operation, Code: k.Err.Code, Message: k.Err.Message}
	}
	return f
}
