package awskms

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// Clients builds the clients of one run, for any account and Region: every
// request they send is paced at AWS's quota for its account, Region and
// operation (Quotas) and counted. Scan, fix and report share one Clients,
// so that two commands' calls in the same run never add up past a quota.
type Clients struct {
	pace  *pacer
	calls *counter
}

// NewClients returns a Clients pacing at quotaScale × AWS's default quotas
// (0 turns pacing off). With always, pacing starts with the first request;
// otherwise it engages per account, Region and operation on the first
// throttle.
func NewClients(quotaScale float64, always bool) *Clients {
	return &Clients{pace: newPacer(quotaScale, always), calls: &counter{}}
}

// KMS is a KMS client acting with cfg's credentials in account and region.
func (c *Clients) KMS(cfg aws.Config, account, region string) *kms.Client {
	return kms.NewFromConfig(cfg, func(o *kms.Options) {
		o.Region = region
		o.APIOptions = append(o.APIOptions, attemptMiddleware(c.pace, c.calls, account, region))
	})
}

// Raw is a signed client of service (signing name, such as
// "cloudformation"; SDK ID, such as "CloudFormation") acting with cfg's
// credentials in account and region.
func (c *Clients) Raw(cfg aws.Config, service, sdkID, account, region string) *Raw {
	return newRaw(cfg, service, sdkID, region, account, c.pace, c.calls)
}

// Calls counts the requests sent per operation, retries included.
func (c *Clients) Calls() map[string]int { return c.calls.snapshot() }

// ServerTime is AWS's time from the latest Date header seen, or zero.
func (c *Clients) ServerTime() time.Time { return c.calls.latestDate() }
