package awskms

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// ListKeyRotationsAPI is the one KMS call the rotation history needs.
// ListKeyRotations pages with Marker / NextMarker (Truncated) and lists
// completed rotations oldest first. Its errors: NotFoundException,
// UnsupportedOperationException (asymmetric, HMAC and custom-key-store
// keys), AccessDeniedException, throttling; a client made by Clients.KMS
// paces it at its quota.
type ListKeyRotationsAPI interface {
	ListKeyRotations(ctx context.Context, in *kms.ListKeyRotationsInput, optFns ...func(*kms.Options)) (*kms.ListKeyRotationsOutput, error)
}

var _ ListKeyRotationsAPI = (*kms.Client)(nil)

// RotationHistory returns the date and type (kmskey.RotationTypeAutomatic or
// kmskey.RotationTypeOnDemand) of the key's latest completed rotation,
// reading every page of ListKeyRotations. A key that never rotated gives a
// zero time and an empty kind.
func RotationHistory(ctx context.Context, client ListKeyRotationsAPI, keyID string) (last time.Time, kind string, err error) {
	err = KeyRotations(ctx, client, &kms.ListKeyRotationsInput{KeyId: aws.String(keyID)}, func(r kmstypes.RotationsListEntry) {
		// Oldest first, but take the latest date whatever the order:
		// entries without a date (pending material) are skipped.
		if r.RotationDate == nil || r.RotationType == "" {
			return
		}
		if d := r.RotationDate.UTC(); !d.Before(last) {
			last, kind = d, string(r.RotationType)
		}
	})
	if err != nil {
		return time.Time{}, "", fmt.Errorf("list key rotations of %s: %w", keyID, err)
	}
	return last, kind, nil
}

// KeyRotations calls fn with each of a key's rotations, reading every page
// of ListKeyRotations (in's Limit is set to the largest page when unset).
func KeyRotations(ctx context.Context, client ListKeyRotationsAPI, in *kms.ListKeyRotationsInput, fn func(kmstypes.RotationsListEntry)) error {
	if in.Limit == nil {
		in.Limit = aws.Int32(1000)
	}
	for {
		out, err := client.ListKeyRotations(ctx, in)
		if err != nil {
			return err
		}
		for _, r := range out.Rotations {
			fn(r)
		}
		if !out.Truncated || out.NextMarker == nil || *out.NextMarker == "" {
			return nil
		}
		in.Marker = out.NextMarker
	}
}
