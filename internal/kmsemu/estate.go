package kmsemu

import "time"

// Estate describes the emulated world: the organization, its accounts, their
// enabled Regions, credentials, roles and KMS keys. It is what an estate YAML
// file holds; LoadEstate reads one, DemoEstate and Generate build one.
type Estate struct {
	Organization Organization `yaml:"organization" json:"organization"`
	Accounts     []Account    `yaml:"accounts" json:"accounts"`
	// PartitionOrganizations are the organizations of the other partitions
	// (aws-us-gov, aws-cn): each has its management account, and so its
	// members, in one partition. An organization never spans partitions:
	// a GovCloud account is a member of its partition's organization, never
	// of the commercial one (docs/emulator-estate.md).
	PartitionOrganizations []Organization `yaml:"partition_organizations,omitempty" json:"partition_organizations,omitempty"`
	// Deny answers AccessDenied for matching requests.
	Deny []DenyRule `yaml:"deny,omitempty" json:"deny,omitempty"`
}

// Organization is the AWS Organization that Organizations ListAccounts lists.
// An estate without an ID has no organization (AWSOrganizationsNotInUseException).
type Organization struct {
	ID string `yaml:"id" json:"id"`
	// ManagementAccount is the ID of the account that may call ListAccounts.
	// Its partition is the organization's; every account of the estate in
	// that partition is a member.
	ManagementAccount string `yaml:"management_account" json:"management_account"`
	// RootID is the root's ID, r- and 4 to 32 lower-case letters or digits;
	// default: derived from ID.
	RootID string `yaml:"root_id,omitempty" json:"root_id,omitempty"`
	// Units are the organizational units under the root, nested. A member
	// account that no unit lists is in the root.
	Units []OrgUnit `yaml:"units,omitempty" json:"units,omitempty"`
	// EmptyPages makes every Organizations listing answer an empty page with
	// a NextToken first, as AWS may, so that clients that stop at an empty
	// page are caught.
	EmptyPages bool `yaml:"empty_pages,omitempty" json:"empty_pages,omitempty"`
}

// OrgUnit is an organizational unit: the accounts placed in it and its
// child units.
type OrgUnit struct {
	Name string `yaml:"name" json:"name"`
	// ID is ou-, the root ID's suffix, -, and 8 to 32 lower-case letters or
	// digits; default: derived from the root and the unit's path.
	ID       string    `yaml:"id,omitempty" json:"id,omitempty"`
	Accounts []string  `yaml:"accounts,omitempty" json:"accounts,omitempty"`
	Units    []OrgUnit `yaml:"units,omitempty" json:"units,omitempty"`
}

// Account is one AWS account.
type Account struct {
	ID    string `yaml:"id" json:"id"`
	Name  string `yaml:"name" json:"name"`
	Email string `yaml:"email" json:"email"`
	// State is ACTIVE (default), SUSPENDED, PENDING_CLOSURE or CLOSED.
	State string `yaml:"state,omitempty" json:"state,omitempty"`
	// Partition is aws (default), aws-us-gov or aws-cn. The account's
	// Regions, ARNs, STS and Organizations are that partition's, and its
	// credentials are valid only there.
	Partition string `yaml:"partition,omitempty" json:"partition,omitempty"`
	// Regions are the account's enabled Regions; DescribeRegions lists them,
	// and a request signed for another Region fails as AWS does for a Region
	// that is not enabled. Empty means the Regions AWS enables by default in
	// the account's partition (17 in aws, both in aws-us-gov and aws-cn).
	Regions []string `yaml:"regions" json:"regions"`
	// Credentials are long-term access keys of principals in this account.
	Credentials []Credential `yaml:"credentials,omitempty" json:"credentials,omitempty"`
	Roles       []Role       `yaml:"roles,omitempty" json:"roles,omitempty"`
	Keys        []KeyDef     `yaml:"keys,omitempty" json:"keys,omitempty"`
	// Stacks are CloudFormation stacks that own some of the account's keys.
	Stacks []Stack `yaml:"stacks,omitempty" json:"stacks,omitempty"`
	// SecurityHub says where Security Hub is enabled; nil: in every enabled
	// Region of the account.
	SecurityHub *SecurityHubDef `yaml:"securityhub,omitempty" json:"securityhub,omitempty"`
}

// Stack is a CloudFormation stack and the KMS keys it owns.
type Stack struct {
	Name   string `yaml:"name" json:"name"`
	Region string `yaml:"region" json:"region"`
	// Status is the StackStatus, CREATE_COMPLETE by default.
	Status    string          `yaml:"status,omitempty" json:"status,omitempty"`
	Resources []StackResource `yaml:"resources,omitempty" json:"resources,omitempty"`
}

// StackResource is a key the stack owns: an AWS::KMS::Key in the key's own
// Region, an AWS::KMS::ReplicaKey in one of its replica Regions.
type StackResource struct {
	LogicalID string `yaml:"logical_id" json:"logical_id"`
	KeyID     string `yaml:"key_id" json:"key_id"`
	// Status is the ResourceStatus, CREATE_COMPLETE by default.
	Status string `yaml:"status,omitempty" json:"status,omitempty"`
	// Type is AWS::KMS::Key or AWS::KMS::ReplicaKey, found from the keys
	// when the estate is loaded and kept in the state file (which has no
	// keys); never written in an estate.
	Type string `yaml:"-" json:"type,omitempty"`
}

// SecurityHubDef lists the Regions where Security Hub is enabled; an empty
// list: nowhere.
type SecurityHubDef struct {
	Regions []string `yaml:"regions" json:"regions"`
}

// Credential is an access key and its secret, belonging to a principal
// (a user ARN; default arn:aws:iam::<account>:root).
type Credential struct {
	AccessKeyID     string `yaml:"access_key_id" json:"access_key_id"`
	SecretAccessKey string `yaml:"secret_access_key" json:"secret_access_key"`
	Principal       string `yaml:"principal,omitempty" json:"principal,omitempty"`
}

// Role is an IAM role that STS AssumeRole can assume.
type Role struct {
	Name string `yaml:"name" json:"name"`
	// TrustedAccounts may assume the role (any principal of those accounts).
	TrustedAccounts []string `yaml:"trusted_accounts" json:"trusted_accounts"`
	// ExternalID, when set, must match the caller's ExternalId.
	ExternalID string `yaml:"external_id,omitempty" json:"external_id,omitempty"`
}

// KeyDef describes one KMS key and its history. Omitted fields take AWS's
// defaults: a customer managed SYMMETRIC_DEFAULT ENCRYPT_DECRYPT key with
// AWS_KMS origin, Enabled, rotation off.
type KeyDef struct {
	// ID is the key ID; generated (a UUID, or mrk-… for multi-Region) when empty.
	ID          string `yaml:"id,omitempty" json:"id,omitempty"`
	Region      string `yaml:"region" json:"region"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Manager is CUSTOMER (default) or AWS.
	Manager string `yaml:"manager,omitempty" json:"manager,omitempty"`
	Spec    string `yaml:"spec,omitempty" json:"spec,omitempty"`
	Usage   string `yaml:"usage,omitempty" json:"usage,omitempty"`
	// Origin is AWS_KMS (default), EXTERNAL, AWS_CLOUDHSM or EXTERNAL_KEY_STORE.
	Origin            string `yaml:"origin,omitempty" json:"origin,omitempty"`
	CustomKeyStoreID  string `yaml:"custom_key_store_id,omitempty" json:"custom_key_store_id,omitempty"`
	CloudHsmClusterID string `yaml:"cloud_hsm_cluster_id,omitempty" json:"cloud_hsm_cluster_id,omitempty"`
	XksKeyID          string `yaml:"xks_key_id,omitempty" json:"xks_key_id,omitempty"`
	// State is Enabled (default), Disabled, PendingDeletion,
	// PendingReplicaDeletion, PendingImport, Unavailable, Creating or Updating.
	State string `yaml:"state,omitempty" json:"state,omitempty"`
	// DeletionDate applies to PendingDeletion keys (default: 30 days after now).
	DeletionDate time.Time `yaml:"deletion_date,omitempty" json:"deletion_date,omitempty"`
	Created      time.Time `yaml:"created,omitempty" json:"created,omitempty"`

	// MultiRegion makes the key a multi-Region primary; ReplicaRegions lists
	// the Regions of its replicas (same account), which share its rotation.
	MultiRegion    bool     `yaml:"multi_region,omitempty" json:"multi_region,omitempty"`
	ReplicaRegions []string `yaml:"replica_regions,omitempty" json:"replica_regions,omitempty"`
	// ReplicaStates optionally gives a replica's own state, by Region.
	ReplicaStates map[string]string `yaml:"replica_states,omitempty" json:"replica_states,omitempty"`

	Rotation RotationDef `yaml:"rotation,omitempty" json:"rotation,omitempty"`

	// Imported material (Origin EXTERNAL): KEY_MATERIAL_EXPIRES with ValidTo, or
	// KEY_MATERIAL_DOES_NOT_EXPIRE (default).
	ExpirationModel string    `yaml:"expiration_model,omitempty" json:"expiration_model,omitempty"`
	ValidTo         time.Time `yaml:"valid_to,omitempty" json:"valid_to,omitempty"`

	Aliases []string          `yaml:"aliases,omitempty" json:"aliases,omitempty"`
	Tags    map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
	Policy  string            `yaml:"policy,omitempty" json:"policy,omitempty"`
}

// RotationDef is a key's automatic rotation setting and its past rotations.
type RotationDef struct {
	Enabled bool `yaml:"enabled,omitempty" json:"enabled,omitempty"`
	// PeriodDays defaults to 365.
	PeriodDays int `yaml:"period_days,omitempty" json:"period_days,omitempty"`
	// EnabledAt is when rotation was (last) enabled; default the key's creation.
	// NextRotationDate follows from it and the period unless NextRotation is set.
	EnabledAt time.Time `yaml:"enabled_at,omitempty" json:"enabled_at,omitempty"`
	// NextRotation overrides the computed NextRotationDate (for overdue keys).
	NextRotation time.Time `yaml:"next_rotation,omitempty" json:"next_rotation,omitempty"`
	// History lists completed rotations, oldest first.
	History []RotationEvent `yaml:"history,omitempty" json:"history,omitempty"`
}

// RotationEvent is one completed rotation.
type RotationEvent struct {
	Date time.Time `yaml:"date" json:"date"`
	// Type is AUTOMATIC or ON_DEMAND.
	Type string `yaml:"type" json:"type"`
}

// DenyRule makes matching requests fail with AccessDeniedException. Empty
// fields match anything; a rule with every field empty matches every request.
type DenyRule struct {
	Operation string `yaml:"operation,omitempty" json:"operation,omitempty"` // e.g. GetKeyRotationStatus
	Account   string `yaml:"account,omitempty" json:"account,omitempty"`
	Region    string `yaml:"region,omitempty" json:"region,omitempty"`
	KeyID     string `yaml:"key_id,omitempty" json:"key_id,omitempty"`
	// Role matches callers acting through that assumed role name.
	Role string `yaml:"role,omitempty" json:"role,omitempty"`
	// RoleArn matches AssumeRole requests for that role (the one to assume).
	RoleArn string `yaml:"role_arn,omitempty" json:"role_arn,omitempty"`
}
