package awskms

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go/logging"
)

// ClientOptions tune the HTTP client and the retryer shared by every client
// of a scan.
type ClientOptions struct {
	// MaxAttempts is the number of attempts per call, the first included
	// (default DefaultMaxAttempts: a throttle, a 5xx, a reset connection or
	// a timeout is retried with jittered exponential backoff before the
	// call becomes an ERROR).
	MaxAttempts int
	// MaxBackoff caps the delay between attempts (default the SDK's 20s).
	MaxBackoff time.Duration
	// Backoff replaces the SDK's exponential jitter backoff (tests use a
	// tiny one).
	Backoff retry.BackoffDelayer
	// AttemptTimeout bounds one attempt, connection to last byte
	// (default 30s): a request that never answers becomes a timeout.
	AttemptTimeout time.Duration
	// IdleConnsPerHost is how many connections to keep open per endpoint
	// (default 256, enough for the workers of several Regions on one host).
	IdleConnsPerHost int
}

// DefaultMaxAttempts is how often a call is tried before its failure is
// reported. A scan makes a few calls per key, so a 100,000-key scan makes a
// few hundred thousand: with a quarter of attempts failing transiently
// (throttled, 5xx, reset; the emulator's fault test), 15 attempts leave
// about one chance in ten thousand that any call of such a scan fails for
// good, where the SDK's default of 3 would fail hundreds. Errors that are
// not transient (AccessDenied, NotFound) are not retried at all.
const DefaultMaxAttempts = 15

func (o ClientOptions) retryer() func() aws.Retryer {
	attempts := o.MaxAttempts
	if attempts <= 0 {
		attempts = DefaultMaxAttempts
	}
	return func() aws.Retryer {
		return retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = attempts
			if o.MaxBackoff > 0 {
				so.MaxBackoff = o.MaxBackoff
			}
			if o.Backoff != nil {
				so.Backoff = o.Backoff
			}
			// The SDK's retry quota fails retries fast once a few dozen
			// attempts failed, which a pool of workers meeting throttles
			// reaches at once; our pacer already keeps the request rate
			// under AWS's quotas, so retries are bounded by MaxAttempts only.
			so.RateLimiter = ratelimit.None
		})
	}
}

func (o ClientOptions) httpClient() *awshttp.BuildableClient {
	timeout := o.AttemptTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	idle := o.IdleConnsPerHost
	if idle <= 0 {
		idle = 256
	}
	return awshttp.NewBuildableClient().
		WithTimeout(timeout).
		WithTransportOptions(func(t *http.Transport) {
			t.MaxIdleConns = 0 // no limit across hosts; each host keeps idle
			t.MaxIdleConnsPerHost = idle
		})
}

// LoadConfig loads the SDK's default configuration chain: environment,
// shared config and credentials files (profile, when given), SSO, web
// identity, container and instance roles, credential_process; and the
// endpoint overrides AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>, which
// the SDK applies itself. Credentials are not retrieved here: the first call
// does that.
func LoadConfig(ctx context.Context, profile string, o ClientOptions) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(o.retryer()),
		config.WithHTTPClient(o.httpClient()),
		// The SDK logs to stderr by default (e.g. "falling back to IMDSv1"
		// while it looks for credentials); what matters reaches the user as an
		// error or a finding, so its log would only garble the report.
		config.WithLogger(logging.Nop{}),
	}
	if profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load aws configuration: %w", err)
	}
	return cfg, nil
}

// StaticConfig is a configuration built from its arguments only, with
// nothing read from the environment or shared files: every client sends to
// endpoint, signs for region with the given static credentials. The demo
// uses it against the in-process emulator.
func StaticConfig(endpoint, region, accessKeyID, secretAccessKey string, o ClientOptions) aws.Config {
	return aws.Config{
		Region:       region,
		Credentials:  aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(accessKeyID, secretAccessKey, "")),
		BaseEndpoint: aws.String(endpoint),
		HTTPClient:   o.httpClient(),
		Retryer:      o.retryer(),
	}
}
