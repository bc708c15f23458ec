// Package awskms collects the live inventory of KMS keys: the accounts a
// caller can reach, their Regions, and one kmskey.Key per key with every fact
// the check needs. It paces itself at AWS's request quotas per account,
// Region and operation, and never loses an API error: a failure on one key
// becomes that key's Err, a failure to list a Region or enter an account
// becomes a ScanError.
package awskms

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// KMSAPI is the part of the KMS client the inventory uses.
//
//   - ListKeys lists every key of the account and Region (AWS managed ones
//     included, in every state) by pages of at most Limit (1–1000); the next
//     page is asked with Marker = NextMarker while Truncated. Errors:
//     DependencyTimeoutException, InvalidMarkerException, KMSInternalException,
//     and the unmodelled AccessDeniedException and ThrottlingException.
//   - ListAliases lists the Region's aliases (Limit 1–100 per page, Marker and
//     Truncated as ListKeys); aliases of AWS managed keys and predefined aliases
//     without a TargetKeyId are included. Errors: as ListKeys, plus
//     InvalidArnException and NotFoundException (only with a KeyId filter).
//   - DescribeKey returns a key's metadata in every key state. Errors:
//     NotFoundException, InvalidArnException, DependencyTimeoutException,
//     KMSInternalException, AccessDeniedException, ThrottlingException.
//   - GetKeyRotationStatus returns automatic rotation (and, when enabled, its
//     period and next date). Errors: as DescribeKey, plus
//     KMSInvalidStateException and UnsupportedOperationException (imported
//     material, custom key stores).
//   - ListKeyRotations (with --rotation-history) lists a key's completed
//     rotations, oldest first, by pages of at most Limit (1–1000) with
//     Marker and Truncated. Errors: as GetKeyRotationStatus.
//   - ListResourceTags (with Tags) lists a customer managed key's tags, by
//     pages of at most Limit (1–50) with Marker and Truncated. Errors: as
//     DescribeKey.
type KMSAPI interface {
	ListResourceTags(ctx context.Context, in *kms.ListResourceTagsInput, optFns ...func(*kms.Options)) (*kms.ListResourceTagsOutput, error)
	ListKeyRotations(ctx context.Context, in *kms.ListKeyRotationsInput, optFns ...func(*kms.Options)) (*kms.ListKeyRotationsOutput, error)
	ListKeys(ctx context.Context, in *kms.ListKeysInput, optFns ...func(*kms.Options)) (*kms.ListKeysOutput, error)
	ListAliases(ctx context.Context, in *kms.ListAliasesInput, optFns ...func(*kms.Options)) (*kms.ListAliasesOutput, error)
	DescribeKey(ctx context.Context, in *kms.DescribeKeyInput, optFns ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
	GetKeyRotationStatus(ctx context.Context, in *kms.GetKeyRotationStatusInput, optFns ...func(*kms.Options)) (*kms.GetKeyRotationStatusOutput, error)
}

// STSAPI is the part of the STS client the inventory uses.
//
//   - GetCallerIdentity names the account of the credentials; it needs no
//     permission, so its failure means the credentials themselves are missing,
//     invalid or expired (InvalidClientTokenId, ExpiredTokenException).
//   - AssumeRole enters a member account. Errors: AccessDenied (the role does
//     not trust the caller, or the ExternalId does not match),
//     RegionDisabledException, ExpiredTokenException, MalformedPolicyDocument.
//     It is not paginated.
type STSAPI interface {
	GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
	AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleOutput, error)
}

// OrganizationsAPI is the part of the Organizations client the inventory uses.
//
//   - ListAccounts lists the organization's accounts by pages of at most
//     MaxResults (1–20); a page may be empty while NextToken is set, so the
//     loop runs until NextToken is nil. Only the management account or a
//     delegated administrator may call it. Errors: AccessDeniedException,
//     AWSOrganizationsNotInUseException, InvalidInputException,
//     ServiceException, TooManyRequestsException.
//   - ListAccountsForParent lists the accounts directly under a root or OU
//     (MaxResults 1–20, NextToken as ListAccounts). ListChildren lists a
//     parent's child OUs (ChildType ORGANIZATIONAL_UNIT) or accounts. Both
//     fail with ParentNotFoundException for an ID the organization lacks.
type OrganizationsAPI interface {
	ListAccountsForParent(ctx context.Context, in *organizations.ListAccountsForParentInput, optFns ...func(*organizations.Options)) (*organizations.ListAccountsForParentOutput, error)
	ListChildren(ctx context.Context, in *organizations.ListChildrenInput, optFns ...func(*organizations.Options)) (*organizations.ListChildrenOutput, error)
	ListAccounts(ctx context.Context, in *organizations.ListAccountsInput, optFns ...func(*organizations.Options)) (*organizations.ListAccountsOutput, error)
}

var (
	_ KMSAPI           = (*kms.Client)(nil)
	_ STSAPI           = (*sts.Client)(nil)
	_ OrganizationsAPI = (*organizations.Client)(nil)
)
