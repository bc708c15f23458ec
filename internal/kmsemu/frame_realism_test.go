package kmsemu

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// frozenQuotas stops the quota buckets' clock, so that no token comes back
// while a test runs, however slow the machine.
func frozenQuotas(run *Running) func(d time.Duration) {
	now := time.Now()
	run.Server.quotas.now = func() time.Time { return now }
	return func(d time.Duration) { now = now.Add(d) }
}

func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func describeKey(cfg aws.Config, keyID string) error {
	_, err := kms.NewFromConfig(cfg).DescribeKey(context.Background(), &kms.DescribeKeyInput{KeyId: aws.String(keyID)})
	return err
}

// assumedConfig acts as OrganizationAccountAccessRole in prod.
func assumedConfig(run *Running, region string) aws.Config {
	base := sdkConfig(run.URL, DefaultAccessKeyID, DefaultSecretAccessKey, region)
	cfg := base.Copy()
	cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(base),
		"arn:aws:iam::111111111111:role/OrganizationAccountAccessRole"))
	return cfg
}

func TestQuotasThrottleAboveScaledRate(t *testing.T) {
	// DescribeKey's quota is 2000 rps; scaled by 0.005 it is 10 rps, and a
	// burst of 10. ListKeys's is 500 × 0.005 = 2.5.
	run := startFrame(t, Options{Estate: frameEstate(), QuotaScale: 0.005})
	advance := frozenQuotas(run)
	cfg := defaultConfig(run)

	for i := range 10 {
		if err := describeKey(cfg, "alias/k"); apiCode(err) == "ThrottlingException" {
			t.Fatalf("DescribeKey %d of a burst of 10 at 10 rps: throttled, want it through", i+1)
		}
	}
	err := describeKey(cfg, "alias/k")
	if apiCode(err) != "ThrottlingException" || apiMessage(err) != msgThrottled || httpStatus(err) != 400 {
		t.Fatalf("DescribeKey 11 of a burst at 10 rps: %v (status %d), want 400 ThrottlingException %q", err, httpStatus(err), msgThrottled)
	}

	// Quotas are per operation, Region and account.
	others := []struct {
		name string
		call func() error
	}{
		{"ListKeys in the same Region", func() error {
			_, err := kms.NewFromConfig(cfg).ListKeys(context.Background(), &kms.ListKeysInput{})
			return err
		}},
		{"DescribeKey in eu-west-1", func() error {
			return describeKey(sdkConfig(run.URL, DefaultAccessKeyID, DefaultSecretAccessKey, "eu-west-1"), "alias/k")
		}},
		{"DescribeKey in another account", func() error { return describeKey(assumedConfig(run, "us-east-1"), "alias/k") }},
		{"STS, which has no KMS quota", func() error {
			_, err := sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
			return err
		}},
	}
	for _, o := range others {
		if err := o.call(); apiCode(err) == "ThrottlingException" {
			t.Errorf("%s after DescribeKey's quota ran out: throttled, want it through", o.name)
		}
	}

	// A tenth of a second at 10 rps brings back one request.
	advance(100 * time.Millisecond)
	if err := describeKey(cfg, "alias/k"); apiCode(err) == "ThrottlingException" {
		t.Errorf("DescribeKey 0.1 s after the bucket emptied at 10 rps: throttled, want it through")
	}
	if err := describeKey(cfg, "alias/k"); apiCode(err) != "ThrottlingException" {
		t.Errorf("second DescribeKey 0.1 s after the bucket emptied at 10 rps: %v, want ThrottlingException", err)
	}
}

func TestQuotaBucket(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	q := newQuotas(1)
	q.now = func() time.Time { return now }
	steps := []struct {
		advance time.Duration
		op      string
		n       float64
		want    bool
	}{
		{0, "RotateKeyOnDemand", 1, true}, // 5 rps, burst 5
		{0, "RotateKeyOnDemand", 1, true},
		{0, "RotateKeyOnDemand", 1, true},
		{0, "RotateKeyOnDemand", 1, true},
		{0, "RotateKeyOnDemand", 1, true},
		{0, "RotateKeyOnDemand", 1, false},
		{199 * time.Millisecond, "RotateKeyOnDemand", 1, false}, // 0.995 tokens
		{time.Millisecond, "RotateKeyOnDemand", 1, true},
		{10 * time.Second, "RotateKeyOnDemand", 5, true}, // refills to the burst, no more
		{0, "RotateKeyOnDemand", 1, false},
		{0, "CreateAlias", 1000, true}, // not in §8: never throttled
		{0, "CreateKey", 2, true},
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		if got := q.take("123456789012", "us-east-1", s.op, s.n); got != s.want {
			t.Errorf("step %d: take(%s, %g) after %s = %v, want %v", i, s.op, s.n, s.advance, got, s.want)
		}
	}
}

func TestFaultsAtRateOne(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		faults     Faults
		wantCode   string
		wantStatus int
		wantErr    string // for faults without an AWS answer
	}{
		{"throttle", Faults{Throttle: map[string]float64{"": 1}}, "ThrottlingException", 400, ""},
		{"5xx", Faults{Server: map[string]float64{"": 1}}, "KMSInternalException", 500, ""},
		{"reset", Faults{Reset: map[string]float64{"": 1}}, "", 0, "connection reset"},
		{"hang", Faults{Hang: map[string]float64{"": 1}}, "", 0, "deadline exceeded"},
		{"throttle on another operation", Faults{Throttle: map[string]float64{"ListKeys": 1}}, "", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			run := startFrame(t, Options{Estate: frameEstate(), Faults: tt.faults})
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			_, err := kms.NewFromConfig(defaultConfig(run)).DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/k")})
			switch {
			case tt.wantErr != "":
				if err == nil || apiCode(err) != "" || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("DescribeKey with fault %s: error %v, want a transport error containing %q", tt.name, err, tt.wantErr)
				}
			case tt.wantCode != "":
				if apiCode(err) != tt.wantCode || httpStatus(err) != tt.wantStatus {
					t.Errorf("DescribeKey with fault %s: error %v (status %d), want %d %s", tt.name, err, httpStatus(err), tt.wantStatus, tt.wantCode)
				}
			default:
				if c := apiCode(err); c == "ThrottlingException" || c == "KMSInternalException" || (err != nil && c == "") {
					t.Errorf("DescribeKey with fault %s: error %v, want the KMS service's answer", tt.name, err)
				}
			}
			// STS is never hit by the faults of every KMS operation.
			if _, err := sts.NewFromConfig(defaultConfig(run)).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}); err != nil {
				t.Errorf("GetCallerIdentity with KMS fault %s: %v, want success", tt.name, err)
			}
		})
	}
}

func TestFaultsOnNamedOperations(t *testing.T) {
	t.Parallel()
	run := startFrame(t, Options{Estate: frameEstate(), Faults: Faults{
		Throttle: map[string]float64{"AssumeRole": 1},
		Server:   map[string]float64{"ListAccounts": 1},
	}})
	cfg := defaultConfig(run)
	_, err := sts.NewFromConfig(cfg).AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::111111111111:role/OrganizationAccountAccessRole"), RoleSessionName: aws.String("s1")})
	if apiCode(err) != "Throttling" || httpStatus(err) != 400 {
		t.Errorf("AssumeRole with throttle:AssumeRole=1: %v, want 400 Throttling", err)
	}
	_, err = organizations.NewFromConfig(cfg).ListAccounts(context.Background(), &organizations.ListAccountsInput{})
	if apiCode(err) != "ServiceException" || httpStatus(err) != 500 {
		t.Errorf("ListAccounts with 5xx:ListAccounts=1: %v, want 500 ServiceException", err)
	}
	if _, err := newEC2Client(cfg).DescribeRegions(context.Background(), &ec2DescribeRegionsInput{}); err != nil {
		t.Errorf("DescribeRegions with faults on other operations: %v, want success", err)
	}
}

// TestFaultsAreSeeded checks that the same seed draws the same faults.
func TestFaultsAreSeeded(t *testing.T) {
	t.Parallel()
	pattern := func(seed uint64) string {
		s, err := New(Options{Estate: frameEstate(), Seed: seed, Faults: Faults{Throttle: map[string]float64{"": 0.5}}})
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for range 40 {
			if s.hit(s.faults.rate(s.faults.throttle, "kms", "DescribeKey")) {
				b.WriteByte('T')
			} else {
				b.WriteByte('.')
			}
		}
		return b.String()
	}
	a, b, c := pattern(7), pattern(7), pattern(8)
	if a != b {
		t.Errorf("throttle draws with seed 7: %s then %s, want the same", a, b)
	}
	if a == c {
		t.Errorf("throttle draws with seeds 7 and 8 are both %s, want them to differ", a)
	}
	if n := strings.Count(a, "T"); n < 8 || n > 32 {
		t.Errorf("throttle at rate 0.5: %d of 40 hit (%s), want about 20", n, a)
	}
}

func TestParseFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec    string
		want    Faults
		wantErr string
	}{
		{spec: "", want: Faults{}},
		{spec: "throttle=0.1,5xx=0.01,reset=0.01,hang=0.001", want: Faults{
			Throttle: map[string]float64{"": 0.1}, Server: map[string]float64{"": 0.01},
			Reset: map[string]float64{"": 0.01}, Hang: map[string]float64{"": 0.001}}},
		{spec: "throttle:DescribeKey=1, throttle=0.5", want: Faults{Throttle: map[string]float64{"DescribeKey": 1, "": 0.5}}},
		{spec: "slow=0.1", wantErr: `unknown kind "slow", want throttle, 5xx, reset or hang`},
		{spec: "throttle=2", wantErr: `rate "2" is not a number from 0 to 1`},
		{spec: "throttle=x", wantErr: `rate "x"`},
		{spec: "throttle", wantErr: "want kind[:Operation]=rate"},
	}
	for _, tt := range tests {
		got, err := ParseFaults(tt.spec)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseFaults(%q): error %v, want one containing %q", tt.spec, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !faultsEqual(got, tt.want) {
			t.Errorf("ParseFaults(%q) = %+v, %v; want %+v", tt.spec, got, err, tt.want)
		}
	}
}

func faultsEqual(a, b Faults) bool {
	eq := func(x, y map[string]float64) bool {
		if len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if w, ok := y[k]; !ok || w != v {
				return false
			}
		}
		return true
	}
	return eq(a.Throttle, b.Throttle) && eq(a.Server, b.Server) && eq(a.Reset, b.Reset) && eq(a.Hang, b.Hang)
}

func TestDenyRules(t *testing.T) {
	t.Parallel()
	const keyID = "1234abcd-12ab-34cd-56ef-1234567890ab"
	e := frameEstate()
	e.Deny = []DenyRule{
		{Operation: "GetKeyRotationStatus", Account: DefaultAccount, KeyID: keyID},
		{Region: "eu-west-1", Account: DefaultAccount},
		{Operation: "ListKeys", Role: "OrganizationAccountAccessRole"},
		{Operation: "DescribeRegions", Account: prodAccount},
		{Operation: "ListAccounts"},
	}
	run := startFrame(t, Options{Estate: e})
	ctx := context.Background()
	mgmt := defaultConfig(run)
	prod := assumedConfig(run, "us-east-1")
	rotationStatus := func(cfg aws.Config, id string) error {
		_, err := kms.NewFromConfig(cfg).GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: aws.String(id)})
		return err
	}
	listKeys := func(cfg aws.Config) error {
		_, err := kms.NewFromConfig(cfg).ListKeys(ctx, &kms.ListKeysInput{})
		return err
	}
	tests := []struct {
		name     string
		call     func() error
		wantCode string // "" = not denied by the frame
		wantMsg  string
	}{
		{"key rule, that key", func() error { return rotationStatus(mgmt, keyID) }, "AccessDeniedException",
			"User: arn:aws:iam::123456789012:root is not authorized to perform: kms:GetKeyRotationStatus on resource: " +
				"arn:aws:kms:us-east-1:123456789012:key/" + keyID + " because no identity-based policy allows the kms:GetKeyRotationStatus action"},
		{"key rule, that key by ARN", func() error {
			return rotationStatus(mgmt, "arn:aws:kms:us-east-1:123456789012:key/"+keyID)
		}, "AccessDeniedException", "on resource: arn:aws:kms:us-east-1:123456789012:key/" + keyID},
		{"key rule, another key", func() error { return rotationStatus(mgmt, "ffffffff-12ab-34cd-56ef-1234567890ab") }, "", ""},
		{"key rule, another operation", func() error { return describeKey(mgmt, keyID) }, "", ""},
		{"Region rule", func() error {
			return listKeys(sdkConfig(run.URL, DefaultAccessKeyID, DefaultSecretAccessKey, "eu-west-1"))
		}, "AccessDeniedException", "kms:ListKeys on resource: * because no identity-based policy allows the kms:ListKeys action"},
		{"Region rule spares STS", func() error {
			_, err := sts.NewFromConfig(sdkConfig(run.URL, DefaultAccessKeyID, DefaultSecretAccessKey, "eu-west-1")).
				GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			return err
		}, "", ""},
		{"role rule, through the role", func() error { return listKeys(prod) }, "AccessDeniedException",
			"User: arn:aws:sts::111111111111:assumed-role/OrganizationAccountAccessRole/"},
		{"role rule, without the role", func() error { return listKeys(mgmt) }, "", ""},
		{"EC2 rule", func() error {
			_, err := newEC2Client(prod).DescribeRegions(ctx, &ec2DescribeRegionsInput{})
			return err
		}, "UnauthorizedOperation", "ec2:DescribeRegions"},
		{"Organizations rule", func() error {
			_, err := organizations.NewFromConfig(mgmt).ListAccounts(ctx, &organizations.ListAccountsInput{})
			return err
		}, "AccessDeniedException", "organizations:ListAccounts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.call()
			code := apiCode(err)
			if tt.wantCode == "" {
				if code == "AccessDeniedException" || code == "UnauthorizedOperation" {
					t.Errorf("%s: %v, want no deny", tt.name, err)
				}
				return
			}
			if code != tt.wantCode || !strings.Contains(apiMessage(err), tt.wantMsg) {
				t.Errorf("%s: %v, want %s containing %q", tt.name, err, tt.wantCode, tt.wantMsg)
			}
		})
	}
}

func TestLatency(t *testing.T) {
	t.Parallel()
	run := startFrame(t, Options{Estate: frameEstate(), Latency: 60 * time.Millisecond, Jitter: 10 * time.Millisecond})
	start := time.Now()
	if _, err := sts.NewFromConfig(defaultConfig(run)).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 60*time.Millisecond {
		t.Errorf("GetCallerIdentity with 60ms latency took %s, want at least 60ms", d)
	}
}

// TestCloseEndsHangs checks that Close does not wait out an injected hang.
func TestCloseEndsHangs(t *testing.T) {
	t.Parallel()
	run, err := Start(Options{Estate: frameEstate(), Faults: Faults{Hang: map[string]float64{"": 1}}}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	answered := make(chan error, 1)
	go func() { answered <- describeKey(defaultConfig(run), "alias/k") }()
	// Give the request time to reach the hang; if it has not, Close ends
	// it all the same and the test still holds.
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	if err := run.Close(); err != nil {
		t.Errorf("Close during a hang: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Close during a hang took %s, want it to end the hang at once", d)
	}
	select {
	case err := <-answered:
		if err == nil {
			t.Errorf("DescribeKey hung by a fault and cut by Close: no error")
		}
	case <-time.After(10 * time.Second):
		t.Errorf("DescribeKey still hangs 10s after Close")
	}
}

// TestOptionsDelays checks that Options reach the KMS service: with negative
// delays an on-demand rotation completes at the next request, through the SDK.
func TestOptionsDelays(t *testing.T) {
	t.Parallel()
	e := &Estate{Accounts: []Account{{ID: DefaultAccount, Regions: []string{"us-east-1"},
		Keys: []KeyDef{{Region: "us-east-1", Aliases: []string{"alias/k"}}}}}}
	run, err := Start(Options{Estate: e, OnDemandDelay: -1, ReplicaDelay: -1}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	client := kms.NewFromConfig(sdkConfig(run.URL, DefaultAccessKeyID, DefaultSecretAccessKey, "us-east-1"))
	d, err := client.DescribeKey(t.Context(), &kms.DescribeKeyInput{KeyId: aws.String("alias/k")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.RotateKeyOnDemand(t.Context(), &kms.RotateKeyOnDemandInput{KeyId: d.KeyMetadata.KeyId}); err != nil {
		t.Fatal(err)
	}
	st, err := client.GetKeyRotationStatus(t.Context(), &kms.GetKeyRotationStatusInput{KeyId: d.KeyMetadata.KeyId})
	if err != nil {
		t.Fatal(err)
	}
	if st.OnDemandRotationStartDate != nil {
		t.Errorf("OnDemandDelay -1: got an on-demand rotation still in progress since %v, want it done", st.OnDemandRotationStartDate)
	}
}
