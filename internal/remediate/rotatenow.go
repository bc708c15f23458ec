package remediate

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/kmsrotor/kmsrotor/internal/awskms"
)

// RotateAPI is the part of the KMS client RotateNow uses.
//
//   - DescribeKey reads the key's class and state (any state).
//   - ListKeyRotations lists completed rotations (RotationType AUTOMATIC or
//     ON_DEMAND) and, with IncludeKeyMaterial ALL_KEY_MATERIAL, imported
//     material and its state (PENDING_ROTATION once new material is
//     imported); Limit 1–1000, chained with Marker while Truncated.
//     Errors: NotFoundException, UnsupportedOperationException (keys that
//     cannot rotate), AccessDeniedException, ThrottlingException.
//   - RotateKeyOnDemand starts a rotation (asynchronous). Errors: as
//     DescribeKey plus DisabledException, KMSInvalidStateException,
//     UnsupportedOperationException, ConflictException (a rotation runs or is
//     due within 20 minutes) and LimitExceededException (the key's on-demand
//     rotations are used up), which the SDK would retry as a throttle.
type RotateAPI interface {
	DescribeKey(ctx context.Context, in *kms.DescribeKeyInput, optFns ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
	ListKeyRotations(ctx context.Context, in *kms.ListKeyRotationsInput, optFns ...func(*kms.Options)) (*kms.ListKeyRotationsOutput, error)
	RotateKeyOnDemand(ctx context.Context, in *kms.RotateKeyOnDemandInput, optFns ...func(*kms.Options)) (*kms.RotateKeyOnDemandOutput, error)
}

var _ RotateAPI = (*kms.Client)(nil)

// OnDemandLimit is AWS's limit of on-demand rotations per key: 25 in the
// current SDK model, 10 before 2026 (kms-api.md §4.6); not adjustable.
const OnDemandLimit = 25

// RotationCheck is what RotateNow learnt of a key before rotating it.
type RotationCheck struct {
	KeyARN string
	Region string
	// Refusal says in plain words why AWS would refuse the key; empty when
	// it can rotate on demand.
	Refusal string
	// Imported is set for EXTERNAL keys; PendingMaterial when new material
	// waits in PENDING_ROTATION.
	Imported        bool
	PendingMaterial bool
	// OnDemandUsed counts earlier on-demand rotations; -1 when unknown.
	OnDemandUsed int
}

// Left is the on-demand rotations left, or -1 when unknown.
func (c *RotationCheck) Left() int {
	if c.OnDemandUsed < 0 {
		return -1
	}
	return max(0, OnDemandLimit-c.OnDemandUsed)
}

// CheckRotateNow reads the key and says whether AWS would rotate it on
// demand, and how many on-demand rotations it has used.
func CheckRotateNow(ctx context.Context, c RotateAPI, keyID string) (*RotationCheck, error) {
	out, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(keyID)})
	if err != nil {
		return nil, fmt.Errorf("describe key %s: %w", keyID, err)
	}
	md := out.KeyMetadata
	rc := &RotationCheck{KeyARN: aws.ToString(md.Arn), OnDemandUsed: -1}
	rc.Refusal = refusal(md)
	rc.Imported = md.Origin == kmstypes.OriginTypeExternal
	if rc.Refusal != "" {
		return rc, nil
	}
	in := &kms.ListKeyRotationsInput{KeyId: md.Arn}
	if rc.Imported {
		in.IncludeKeyMaterial = kmstypes.IncludeKeyMaterialAllKeyMaterial
	}
	used := 0
	err = awskms.KeyRotations(ctx, c, in, func(r kmstypes.RotationsListEntry) {
		if r.RotationType == kmstypes.RotationTypeOnDemand {
			used++
		}
		if r.KeyMaterialState == kmstypes.KeyMaterialStatePendingRotation {
			rc.PendingMaterial = true
		}
	})
	if err != nil {
		// The count is a courtesy: without kms:ListKeyRotations the
		// rotation can still be started.
		return rc, nil
	}
	rc.OnDemandUsed = used
	return rc, nil
}

// refusal is AWS's rule for on-demand rotation, in plain words, when md
// breaks it.
func refusal(md *kmstypes.KeyMetadata) string {
	switch {
	case md.KeyManager == kmstypes.KeyManagerTypeAws:
		return "it is an AWS managed key: AWS rotates those itself every year, and nobody can rotate them on demand"
	case md.KeyState != kmstypes.KeyStateEnabled:
		return fmt.Sprintf("it is %s: AWS rotates key material on demand only for enabled keys", md.KeyState)
	case md.KeySpec != kmstypes.KeySpecSymmetricDefault:
		return fmt.Sprintf("it is a %s key: AWS rotates on demand only symmetric encryption keys (SYMMETRIC_DEFAULT), not asymmetric or HMAC keys", md.KeySpec)
	case md.Origin == kmstypes.OriginTypeAwsCloudhsm || md.Origin == kmstypes.OriginTypeExternalKeyStore || aws.ToString(md.CustomKeyStoreId) != "":
		return fmt.Sprintf("it is in a custom key store (origin %s): AWS KMS cannot rotate it; create a new key and move its users to it", md.Origin)
	case md.MultiRegionConfiguration != nil && md.MultiRegionConfiguration.MultiRegionKeyType == kmstypes.MultiRegionKeyTypeReplica:
		primary := ""
		if p := md.MultiRegionConfiguration.PrimaryKey; p != nil {
			primary = fmt.Sprintf(" %s in %s", aws.ToString(p.Arn), aws.ToString(p.Region))
		}
		return "it is a multi-Region replica: on-demand rotation is started on its primary key" + primary + ", and the replicas share it"
	}
	return ""
}

// RotateError is a RotateKeyOnDemand that AWS refused, explained.
type RotateError struct {
	Code        string
	Explanation string
	Err         error
}

func (e *RotateError) Error() string { return e.Explanation }
func (e *RotateError) Unwrap() error { return e.Err }

// RotateNow starts an on-demand rotation of keyARN. LimitExceededException
// is not retried (the SDK's standard retryer treats it as a throttle, and
// the limit does not lift); every other retryable error is, as usual.
func RotateNow(ctx context.Context, c RotateAPI, keyARN string) error {
	_, err := c.RotateKeyOnDemand(ctx, &kms.RotateKeyOnDemandInput{KeyId: aws.String(keyARN)}, func(o *kms.Options) {
		o.Retryer = exceptCode(o.Retryer, "LimitExceededException")
	})
	if err == nil {
		return nil
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return fmt.Errorf("rotate key %s on demand: %w", keyARN, err)
	}
	re := &RotateError{Code: ae.ErrorCode(), Err: err}
	switch ae.ErrorCode() {
	case "LimitExceededException":
		re.Explanation = fmt.Sprintf("AWS refused: the key has used all its on-demand rotations (AWS allows %d per key, and the limit cannot be raised). Automatic rotation still works; to renew the material now, create a new key and move its users to it", OnDemandLimit)
	case "ConflictException":
		re.Explanation = "AWS refused: a rotation of this key is in progress or an automatic one is due within 20 minutes; wait for it to finish (aws kms get-key-rotation-status shows OnDemandRotationStartDate while one runs) and try again"
	case "KMSInvalidStateException":
		re.Explanation = "AWS refused: " + ae.ErrorMessage() + " (for imported key material, import NEW_KEY_MATERIAL first)"
	default:
		re.Explanation = fmt.Sprintf("AWS refused: %s: %s", ae.ErrorCode(), ae.ErrorMessage())
	}
	return re
}

// exceptCode wraps r so that errors with code are never retried.
func exceptCode(r aws.Retryer, code string) aws.Retryer {
	v2, ok := r.(aws.RetryerV2)
	if !ok || r == nil {
		return aws.NopRetryer{}
	}
	return noRetryOn{v2, code}
}

type noRetryOn struct {
	aws.RetryerV2
	code string
}

func (n noRetryOn) IsErrorRetryable(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == n.code {
		return false
	}
	return n.RetryerV2.IsErrorRetryable(err)
}

// KeyARN is the parts of a key ARN: arn:PARTITION:kms:REGION:ACCOUNT:key/ID.
type KeyARN struct{ Partition, Region, Account, KeyID string }

// ParseKeyARN splits a key ARN; ok is false for anything else (an alias,
// a bare key ID, an alias ARN).
func ParseKeyARN(s string) (KeyARN, bool) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "kms" || !strings.HasPrefix(parts[5], "key/") {
		return KeyARN{}, false
	}
	a := KeyARN{Partition: parts[1], Region: parts[3], Account: parts[4], KeyID: strings.TrimPrefix(parts[5], "key/")}
	if !strings.HasPrefix(a.Partition, "aws") || a.Region == "" || len(a.Account) != 12 || a.KeyID == "" {
		return KeyARN{}, false
	}
	return a, true
}
