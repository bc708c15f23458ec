package awskms

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

func TestBucketReserve(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name   string
		rate   float64
		burst  float64
		takes  int           // tokens taken at t0 before the measured one
		at     time.Duration // when the measured token is taken
		wantIn [2]time.Duration
	}{
		{"full bucket serves at once", 10, 10, 0, 0, [2]time.Duration{0, 0}},
		{"last token of the burst", 10, 10, 9, 0, [2]time.Duration{0, 0}},
		{"first token past the burst waits one interval", 10, 10, 10, 0, [2]time.Duration{99 * time.Millisecond, 101 * time.Millisecond}},
		{"debt accumulates in arrival order", 10, 10, 14, 0, [2]time.Duration{499 * time.Millisecond, 501 * time.Millisecond}},
		{"refill pays the debt", 10, 10, 10, 100 * time.Millisecond, [2]time.Duration{0, 0}},
		{"refill is capped at the burst", 10, 2, 0, time.Hour, [2]time.Duration{0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newBucket(tt.rate, tt.burst, t0)
			for range tt.takes {
				b.reserve(t0)
			}
			got := b.reserve(t0.Add(tt.at))
			if got < tt.wantIn[0] || got > tt.wantIn[1] {
				t.Errorf("rate %g burst %g after %d takes, reserve at +%s: got wait %s, want within %s..%s",
					tt.rate, tt.burst, tt.takes, tt.at, got, tt.wantIn[0], tt.wantIn[1])
			}
		})
	}
}

func TestBucketCapsAfterIdle(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1_700_000_000, 0)
	b := newBucket(10, 2, t0)
	later := t0.Add(time.Hour)
	var waits []time.Duration
	for range 3 {
		waits = append(waits, b.reserve(later))
	}
	if waits[0] != 0 || waits[1] != 0 || waits[2] <= 0 {
		t.Errorf("burst 2 after an idle hour, three takes: got waits %v, want 0, 0, then a positive wait", waits)
	}
}

func TestPacerWaitCancelled(t *testing.T) {
	t.Parallel()
	p := newPacer(0.002, true) // DescribeKey at 4 per second, burst 2
	ctx, cancel := context.WithCancel(t.Context())
	for range 2 {
		if err := p.wait(ctx, "1", "us-east-1", "DescribeKey"); err != nil {
			t.Fatalf("wait within the burst: got %v, want nil", err)
		}
	}
	cancel()
	if err := p.wait(ctx, "1", "us-east-1", "DescribeKey"); !errors.Is(err, context.Canceled) {
		t.Errorf("wait past the burst on a cancelled context: got %v, want context.Canceled", err)
	}
	// Other operations, accounts and Regions have their own buckets.
	for _, k := range []bucketKey{{"1", "us-east-1", "ListKeys"}, {"2", "us-east-1", "DescribeKey"}, {"1", "eu-west-1", "DescribeKey"}, {"1", "us-east-1", "AssumeRole"}} {
		if err := p.wait(ctx, k.account, k.region, k.op); err != nil {
			t.Errorf("wait %+v: got %v, want nil (its own bucket, or not paced)", k, err)
		}
	}
}

func TestPacerOff(t *testing.T) {
	t.Parallel()
	p := newPacer(0, false)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for range 5000 {
		if err := p.wait(ctx, "1", "us-east-1", "GetKeyRotationStatus"); err != nil {
			t.Fatalf("wait with pacing off: got %v, want nil", err)
		}
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		err      error
		wantCode string
		wantMsg  string
	}{
		{"modelled error", fmt.Errorf("operation error KMS: DescribeKey: %w", &kmstypes.NotFoundException{Message: aws.String("Key 'x' does not exist")}), "NotFoundException", "Key 'x' does not exist"},
		{"unmodelled error", &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not allowed"}, "AccessDeniedException", "not allowed"},
		{"throttle after retries", fmt.Errorf("exceeded maximum number of attempts, 8: %w", &smithy.GenericAPIError{Code: "ThrottlingException", Message: "slow down"}), "ThrottlingException", "slow down"},
		{"client timeout", &url.Error{Op: "Post", URL: "http://127.0.0.1:1/", Err: timeoutErr{}}, CodeTimeout, "i/o timeout"},
		{"deadline", fmt.Errorf("send: %w", context.DeadlineExceeded), CodeTimeout, "context deadline exceeded"},
		{"connection refused", &url.Error{Op: "Post", URL: "http://127.0.0.1:1/", Err: &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}}, CodeRequestError, "dial tcp: connect: connection refused"},
		{"anything else", errors.New("unexpected EOF"), CodeRequestError, "unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, msg := classify(tt.err)
			if code != tt.wantCode || msg != tt.wantMsg {
				t.Errorf("classify(%v): got (%q, %q), want (%q, %q)", tt.err, code, msg, tt.wantCode, tt.wantMsg)
			}
		})
	}
}

func TestCredentialsError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		err          error
		wantNil      bool
		wantRejected bool
	}{
		{"no credentials", &v4.SigningError{Err: errors.New("failed to retrieve credentials: no EC2 IMDS role found")}, false, false},
		{"rejected key", &smithy.GenericAPIError{Code: "InvalidClientTokenId", Message: "bad"}, false, true},
		{"expired", &smithy.GenericAPIError{Code: "ExpiredToken", Message: "old"}, false, true},
		{"server error", &smithy.GenericAPIError{Code: "InternalFailure"}, true, false},
		{"transport", errors.New("connection refused"), true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ce := credentialsError(tt.err)
			if (ce == nil) != tt.wantNil || (ce != nil && ce.Rejected != tt.wantRejected) {
				t.Errorf("credentialsError(%v): got %+v, want nil=%v rejected=%v", tt.err, ce, tt.wantNil, tt.wantRejected)
			}
		})
	}
}

func TestNeedsRotationStatus(t *testing.T) {
	t.Parallel()
	sym := kmskey.Key{Manager: "CUSTOMER", Spec: "SYMMETRIC_DEFAULT", Origin: "AWS_KMS", State: "Enabled"}
	with := func(f func(*kmskey.Key)) kmskey.Key { k := sym; f(&k); return k }
	tests := []struct {
		name            string
		key             kmskey.Key
		includeDisabled bool
		want            bool
	}{
		{"customer symmetric enabled", sym, false, true},
		{"replica", with(func(k *kmskey.Key) { k.MultiRegionType = "REPLICA" }), false, true},
		{"disabled", with(func(k *kmskey.Key) { k.State = "Disabled" }), false, false},
		{"disabled, included", with(func(k *kmskey.Key) { k.State = "Disabled" }), true, true},
		{"pending deletion, disabled included", with(func(k *kmskey.Key) { k.State = "PendingDeletion" }), true, false},
		{"aws managed", with(func(k *kmskey.Key) { k.Manager = "AWS" }), false, false},
		{"rsa", with(func(k *kmskey.Key) { k.Spec = "RSA_2048" }), false, false},
		{"hmac", with(func(k *kmskey.Key) { k.Spec = "HMAC_256" }), false, false},
		{"imported", with(func(k *kmskey.Key) { k.Origin = "EXTERNAL" }), false, false},
		{"origin not sent (local-kms seed)", with(func(k *kmskey.Key) { k.Origin = "" }), false, true},
		{"cloudhsm", with(func(k *kmskey.Key) { k.Origin = "AWS_CLOUDHSM"; k.CustomKeyStoreID = "cks-1" }), false, false},
		{"xks", with(func(k *kmskey.Key) { k.Origin = "EXTERNAL_KEY_STORE"; k.CustomKeyStoreID = "cks-2" }), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := needsRotationStatus(tt.key, tt.includeDisabled); got != tt.want {
				t.Errorf("needsRotationStatus(%+v, includeDisabled=%v): got %v, want %v", tt.key, tt.includeDisabled, got, tt.want)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	t.Parallel()
	next := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	started := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		out  kms.GetKeyRotationStatusOutput
		want kmskey.Rotation
	}{
		{"disabled: AWS sends no period", kms.GetKeyRotationStatusOutput{KeyRotationEnabled: false},
			kmskey.Rotation{Enabled: kmskey.False}},
		{"enabled with period and date", kms.GetKeyRotationStatusOutput{KeyRotationEnabled: true, RotationPeriodInDays: aws.Int32(180), NextRotationDate: &next},
			kmskey.Rotation{Enabled: kmskey.True, PeriodDays: 180, NextRotationDate: next}},
		{"enabled without period (local-kms): AWS default", kms.GetKeyRotationStatusOutput{KeyRotationEnabled: true},
			kmskey.Rotation{Enabled: kmskey.True, PeriodDays: 365}},
		{"on-demand rotation in progress", kms.GetKeyRotationStatusOutput{KeyRotationEnabled: true, RotationPeriodInDays: aws.Int32(365), NextRotationDate: &next, OnDemandRotationStartDate: &started},
			kmskey.Rotation{Enabled: kmskey.True, PeriodDays: 365, NextRotationDate: next, OnDemandStarted: started}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := rotation(&tt.out); got != tt.want {
				t.Errorf("rotation(%+v): got %+v, want %+v", tt.out, got, tt.want)
			}
		})
	}
}

func TestFillMetadataReplica(t *testing.T) {
	t.Parallel()
	created := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	md := &kmstypes.KeyMetadata{
		KeyId:        aws.String("mrk-1234abcd12ab34cd56ef1234567890ab"),
		Arn:          aws.String("arn:aws:kms:eu-west-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab"),
		AWSAccountId: aws.String("123456789012"),
		CreationDate: &created,
		Description:  aws.String("orders"),
		KeyManager:   kmstypes.KeyManagerTypeCustomer,
		KeySpec:      kmstypes.KeySpecSymmetricDefault,
		KeyUsage:     kmstypes.KeyUsageTypeEncryptDecrypt,
		Origin:       kmstypes.OriginTypeAwsKms,
		KeyState:     kmstypes.KeyStateEnabled,
		MultiRegion:  aws.Bool(true),
		MultiRegionConfiguration: &kmstypes.MultiRegionConfiguration{
			MultiRegionKeyType: kmstypes.MultiRegionKeyTypeReplica,
			PrimaryKey: &kmstypes.MultiRegionKey{
				Arn:    aws.String("arn:aws:kms:us-east-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab"),
				Region: aws.String("us-east-1"),
			},
		},
	}
	var k kmskey.Key
	fillMetadata(&k, md)
	want := kmskey.Key{
		AccountID: "123456789012", KeyID: *md.KeyId, ARN: *md.Arn, Description: "orders",
		Manager: "CUSTOMER", Spec: "SYMMETRIC_DEFAULT", Usage: "ENCRYPT_DECRYPT", Origin: "AWS_KMS", State: "Enabled",
		MultiRegion: true, MultiRegionType: "REPLICA", PrimaryARN: *md.MultiRegionConfiguration.PrimaryKey.Arn, PrimaryRegion: "us-east-1",
		Created: created,
	}
	if fmt.Sprintf("%+v", k) != fmt.Sprintf("%+v", want) {
		t.Errorf("fillMetadata(replica):\n got %+v\nwant %+v", k, want)
	}
}
