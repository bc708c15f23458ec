package awskms

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go"

	"github.com/kmsrotor/kmsrotor/internal/kmsemu"
	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

// countingRotations counts the pages RotationHistory reads and asks for
// small pages, so that pagination is exercised.
type countingRotations struct {
	c     *kms.Client
	pages int
}

func (c *countingRotations) ListKeyRotations(ctx context.Context, in *kms.ListKeyRotationsInput, o ...func(*kms.Options)) (*kms.ListKeyRotationsOutput, error) {
	c.pages++
	cp := *in
	cp.Limit = aws.Int32(2)
	return c.c.ListKeyRotations(ctx, &cp, o...)
}

func TestRotationHistory(t *testing.T) {
	jan := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := kmsemu.NewClock()
	clock.Set(jan.AddDate(0, 0, 1))
	clock.Freeze()
	estate := &kmsemu.Estate{Accounts: []kmsemu.Account{{ID: acct, Regions: []string{"us-east-1"}, Credentials: creds(), Keys: []kmsemu.KeyDef{
		{ID: id(1), Region: "us-east-1", Rotation: kmsemu.RotationDef{Enabled: true, PeriodDays: 90, EnabledAt: jan}},
		{ID: id(2), Region: "us-east-1"},
		{ID: id(3), Region: "us-east-1", Spec: "RSA_2048", Usage: "SIGN_VERIFY"},
	}}}}
	emu, opts := start(t, kmsemu.Options{Estate: estate, Clock: clock, OnDemandDelay: -1}, fastRetries)
	client := &countingRotations{c: NewClients(1, false).KMS(opts.Config, acct, "us-east-1")}
	ctx := context.Background()

	// Nothing has rotated yet.
	last, kind, err := RotationHistory(ctx, client, id(1))
	if err != nil || !last.IsZero() || kind != "" {
		t.Fatalf("before any rotation: got %v %q %v, want zero, empty, nil", last, kind, err)
	}

	// A year later: four automatic rotations, 90 days apart from jan.
	emu.Server.Clock().Advance(365 * 24 * time.Hour)
	client.pages = 0
	last, kind, err = RotationHistory(ctx, client, id(1))
	if err != nil {
		t.Fatal(err)
	}
	if want := jan.AddDate(0, 0, 360); !last.Equal(want) || kind != kmskey.RotationTypeAutomatic {
		t.Errorf("after a year: got %v %q, want %v AUTOMATIC", last, kind, want)
	}
	if client.pages < 2 {
		t.Errorf("read %d pages of 2 rotations for 4 rotations; want pagination", client.pages)
	}

	// An on-demand rotation of the never-rotated key.
	if _, err := client.c.RotateKeyOnDemand(ctx, &kms.RotateKeyOnDemandInput{KeyId: aws.String(id(2))}); err != nil {
		t.Fatal(err)
	}
	emu.Server.Clock().Advance(time.Hour)
	last, kind, err = RotationHistory(ctx, client, id(2))
	if err != nil || last.IsZero() || kind != kmskey.RotationTypeOnDemand {
		t.Errorf("after rotate-on-demand: got %v %q %v, want a date and ON_DEMAND", last, kind, err)
	}

	// An asymmetric key cannot list rotations: the AWS error comes back wrapped.
	_, _, err = RotationHistory(ctx, client, id(3))
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "UnsupportedOperationException" {
		t.Errorf("asymmetric key: got %v, want UnsupportedOperationException", err)
	}
}
