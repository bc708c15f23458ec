// Package kmskey holds the one normalized model of a KMS key that every source
// (live AWS, Terraform, CloudFormation) produces and the check evaluates.
// It does no I/O.
package kmskey

import (
	"slices"
	"time"
)

// Source says where a Key was read from.
type Source string

// The sources of keys.
const (
	SourceAWS            Source = "aws"
	SourceTerraform      Source = "terraform"
	SourceTerraformPlan  Source = "terraform-plan"
	SourceCloudFormation Source = "cloudformation"
)

// Bool is a three-valued boolean: a fact that a source could not establish is
// Unknown, never false.
type Bool uint8

// The values of Bool. The zero value is Unknown.
const (
	Unknown Bool = iota
	True
	False
)

// BoolOf converts a plain bool.
func BoolOf(b bool) Bool {
	if b {
		return True
	}
	return False
}

// Ptr returns nil for Unknown, for JSON output.
func (b Bool) Ptr() *bool {
	switch b {
	case True:
		v := true
		return &v
	case False:
		v := false
		return &v
	}
	return nil
}

func (b Bool) String() string {
	switch b {
	case True:
		return "true"
	case False:
		return "false"
	}
	return "unknown"
}

// Values of KeyManager, Origin, KeyState, KeySpec and MultiRegionKeyType as AWS spells them.
const (
	ManagerCustomer = "CUSTOMER"
	ManagerAWS      = "AWS"

	OriginAWSKMS           = "AWS_KMS"
	OriginExternal         = "EXTERNAL"
	OriginAWSCloudHSM      = "AWS_CLOUDHSM"
	OriginExternalKeyStore = "EXTERNAL_KEY_STORE"

	StateEnabled                = "Enabled"
	StateDisabled               = "Disabled"
	StatePendingDeletion        = "PendingDeletion"
	StatePendingReplicaDeletion = "PendingReplicaDeletion"
	StatePendingImport          = "PendingImport"
	StateUnavailable            = "Unavailable"
	StateCreating               = "Creating"
	StateUpdating               = "Updating"

	SpecSymmetricDefault = "SYMMETRIC_DEFAULT"
	UsageEncryptDecrypt  = "ENCRYPT_DECRYPT"

	MultiRegionPrimary = "PRIMARY"
	MultiRegionReplica = "REPLICA"
)

// Attribute names used in Key.Unresolved. IaC sources record here each fact
// whose value they could not resolve (a variable without a default, a condition).
const (
	AttrState          = "state"
	AttrManager        = "manager"
	AttrSpec           = "spec"
	AttrUsage          = "usage"
	AttrOrigin         = "origin"
	AttrCustomKeyStore = "custom_key_store"
	AttrMultiRegion    = "multi_region"
	AttrRotation       = "rotation"
	AttrPeriod         = "period"
)

// DefaultRotationPeriodDays is AWS's rotation period when none is given.
const DefaultRotationPeriodDays = 365

// Key is one KMS key as a source saw it.
type Key struct {
	Source Source

	// Identity of a live key.
	AccountID string
	Region    string
	KeyID     string
	ARN       string
	Aliases   []string

	// Identity of an IaC key: the file, the lines of its block and its address
	// (aws_kms_key.main, module.x.aws_kms_key.y[0], Resources.MyKey).
	File      string
	StartLine int
	EndLine   int
	Resource  string

	Description string
	Manager     string
	Spec        string
	Usage       string
	Origin      string
	State       string

	CustomKeyStoreID string

	// MultiRegion is true for multi-Region keys; MultiRegionType is PRIMARY or
	// REPLICA then. A replica names its primary, where rotation is set.
	MultiRegion     bool
	MultiRegionType string
	PrimaryARN      string
	PrimaryRegion   string
	// PrimaryResource is an IaC replica's primary, as a resource address
	// (aws_kms_key.primary) when the reference resolves.
	PrimaryResource string
	// PrimaryState is the primary's KeyState when the source saw the
	// primary too; a replica is classified as its primary.
	PrimaryState string

	Rotation Rotation
	Tags     map[string]string
	Created  time.Time

	// Unresolved lists the Attr* facts a source could not resolve.
	Unresolved []string

	// Err is set when collecting this key's facts failed after retries; such a
	// key is an ERROR, never a PASS or a FAIL.
	Err *Error
}

// Rotation is what GetKeyRotationStatus (or an IaC resource) says of automatic
// rotation, plus what is known of past rotations.
type Rotation struct {
	Enabled Bool
	// PeriodDays is the rotation period; 0 when not known or not applicable.
	PeriodDays int
	// NextRotationDate, LastRotationDate and OnDemandStarted are zero when unknown.
	NextRotationDate time.Time
	LastRotationDate time.Time
	OnDemandStarted  time.Time
	// LastRotationType is how the last completed rotation happened, as
	// ListKeyRotations says: RotationTypeAutomatic or RotationTypeOnDemand;
	// empty when unknown.
	LastRotationType string
}

// The RotationType values of ListKeyRotations.
const (
	RotationTypeAutomatic = "AUTOMATIC"
	RotationTypeOnDemand  = "ON_DEMAND"
)

// Error is a failed API call while collecting a key.
type Error struct {
	Operation string // e.g. DescribeKey
	Code      string // the AWS error code, e.g. AccessDeniedException
	Message   string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return e.Operation + ": " + e.Code
	}
	return e.Operation + ": " + e.Code + ": " + e.Message
}

// IsUnresolved reports whether the attribute could not be resolved.
func (k *Key) IsUnresolved(attr string) bool {
	return slices.Contains(k.Unresolved, attr)
}

// IsReplica reports whether the key is a multi-Region replica.
func (k *Key) IsReplica() bool {
	return k.MultiRegionType == MultiRegionReplica
}

// Name is the best human name for the key: its first alias, else its ID,
// else its resource address.
func (k *Key) Name() string {
	if len(k.Aliases) > 0 {
		return k.Aliases[0]
	}
	if k.KeyID != "" {
		return k.KeyID
	}
	return k.Resource
}
