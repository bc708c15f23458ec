package awskms

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"

	"github.com/kmsrotor/kmsrotor/internal/check"
	"github.com/kmsrotor/kmsrotor/internal/kmsemu"
	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

// These tests drive the real SDK over HTTP against the emulator.

// now is the frozen time of the emulator and of the check in these tests.
var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

const (
	acct    = "123456789012"
	mrkOff  = "mrk-0000000000000000000000000000aaaa" // primary, rotation off, replicas in two Regions
	mrkOn   = "mrk-0000000000000000000000000000bbbb" // primary, rotation on, one replica
	keyBase = "11111111-1111-4111-8111-0000000000"
)

func id(n int) string { return fmt.Sprintf("%s%02d", keyBase, n) }

// fastRetries keeps retried failures quick: a fixed 1ms backoff.
var fastRetries = ClientOptions{
	MaxAttempts:    3,
	Backoff:        retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil }),
	AttemptTimeout: 5 * time.Second,
}

func frozenClock() *kmsemu.Clock {
	c := kmsemu.NewClock()
	c.Set(now)
	c.Freeze()
	return c
}

// start serves an emulator and returns it with options that scan it.
func start(t *testing.T, opts kmsemu.Options, client ClientOptions) (*kmsemu.Running, Options) {
	t.Helper()
	if opts.Clock == nil {
		opts.Clock = frozenClock()
	}
	emu, err := kmsemu.Start(opts, "127.0.0.1:0")
	if err != nil {
		t.Fatalf("start emulator: %v", err)
	}
	t.Cleanup(func() { emu.Close() })
	cfg := StaticConfig(emu.URL, "us-east-1", "test", "test", client)
	return emu, Options{Config: cfg, QuotaScale: 1}
}

func creds() []kmsemu.Credential {
	return []kmsemu.Credential{{AccessKeyID: "test", SecretAccessKey: "test"}}
}

// classEstate holds one key of every class and state in one account, plus
// the error cases: one key whose GetKeyRotationStatus is denied, one whose
// DescribeKey is denied, a Region whose ListKeys is denied and a Region
// whose ListAliases is denied.
func classEstate() *kmsemu.Estate {
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	on := kmsemu.RotationDef{Enabled: true, PeriodDays: 365, EnabledAt: jan}
	return &kmsemu.Estate{
		Accounts: []kmsemu.Account{{
			ID: acct, Name: "classes", Email: "classes@example.com",
			Regions:     []string{"us-east-1", "eu-west-1", "ap-southeast-2", "ca-central-1"},
			Credentials: creds(),
			Keys: []kmsemu.KeyDef{
				{ID: id(1), Region: "us-east-1", Rotation: on, Aliases: []string{"alias/pass"}},
				{ID: id(2), Region: "us-east-1", Aliases: []string{"alias/b-second", "alias/a-first"}},
				{ID: id(3), Region: "us-east-1", Rotation: kmsemu.RotationDef{Enabled: true, PeriodDays: 730, EnabledAt: jan}},
				{ID: id(4), Region: "us-east-1", Rotation: kmsemu.RotationDef{Enabled: true, PeriodDays: 365, EnabledAt: jan.AddDate(-1, 0, 0), NextRotation: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)}},
				{ID: id(5), Region: "us-east-1", Origin: "EXTERNAL", State: "Enabled"},
				{ID: id(6), Region: "us-east-1", Origin: "AWS_CLOUDHSM", CustomKeyStoreID: "cks-1111111111111111a", CloudHsmClusterID: "cluster-1a23b4cdefg"},
				{ID: id(7), Region: "us-east-1", Origin: "EXTERNAL_KEY_STORE", CustomKeyStoreID: "cks-2222222222222222b", XksKeyID: "xks-key-1"},
				{ID: id(8), Region: "us-east-1", Spec: "RSA_2048", Usage: "SIGN_VERIFY"},
				{ID: id(9), Region: "us-east-1", Spec: "HMAC_256", Usage: "GENERATE_VERIFY_MAC"},
				{ID: id(10), Region: "us-east-1", Manager: "AWS", Aliases: []string{"alias/aws/s3"}},
				{ID: id(11), Region: "us-east-1", State: "Disabled"},
				{ID: id(12), Region: "us-east-1", State: "PendingDeletion"},
				{ID: id(13), Region: "us-east-1", Origin: "EXTERNAL", State: "PendingImport"},
				{ID: id(14), Region: "us-east-1", Origin: "AWS_CLOUDHSM", CustomKeyStoreID: "cks-1111111111111111a", CloudHsmClusterID: "cluster-1a23b4cdefg", State: "Unavailable"},
				{ID: id(15), Region: "us-east-1", Rotation: on},
				{ID: id(16), Region: "us-east-1", Rotation: on},
				{ID: id(17), Region: "us-east-1", State: "Creating"},
				{ID: id(18), Region: "us-east-1", State: "Updating"},
				{ID: mrkOff, Region: "us-east-1", MultiRegion: true, ReplicaRegions: []string{"eu-west-1", "ap-southeast-2"}, Aliases: []string{"alias/orders"}},
				{ID: mrkOn, Region: "eu-west-1", MultiRegion: true, ReplicaRegions: []string{"ap-southeast-2"}, Rotation: on},
				{ID: id(20), Region: "eu-west-1", Rotation: on, Aliases: []string{"alias/eu-pass"}},
				{ID: id(21), Region: "ca-central-1", Rotation: on},
			},
		}},
		Deny: []kmsemu.DenyRule{
			{Operation: "GetKeyRotationStatus", KeyID: id(15)},
			{Operation: "DescribeKey", KeyID: id(16)},
			{Operation: "ListKeys", Region: "ca-central-1"},
			{Operation: "ListAliases", Region: "eu-west-1"},
		},
	}
}

type want struct {
	status check.Status
	reason string
	// errOp is the failed operation of an ERROR.
	errOp string
}

// classWant is what check says of each key of classEstate, by Region and key ID.
func classWant(includeDisabled bool) map[[2]string]want {
	w := map[[2]string]want{
		{"us-east-1", id(1)}:       {check.StatusPass, check.ReasonRotationEnabled, ""},
		{"us-east-1", id(2)}:       {check.StatusFail, check.ReasonRotationDisabled, ""},
		{"us-east-1", id(3)}:       {check.StatusFail, check.ReasonPeriodExceedsPolicy, ""},
		{"us-east-1", id(4)}:       {check.StatusFail, check.ReasonRotationOverdue, ""},
		{"us-east-1", id(5)}:       {check.StatusManual, check.ReasonImportedKeyMaterial, ""},
		{"us-east-1", id(6)}:       {check.StatusSkipped, check.ReasonCustomKeyStore, ""},
		{"us-east-1", id(7)}:       {check.StatusSkipped, check.ReasonCustomKeyStore, ""},
		{"us-east-1", id(8)}:       {check.StatusSkipped, check.ReasonAsymmetricKey, ""},
		{"us-east-1", id(9)}:       {check.StatusSkipped, check.ReasonHMACKey, ""},
		{"us-east-1", id(10)}:      {check.StatusSkipped, check.ReasonAWSManagedKey, ""},
		{"us-east-1", id(11)}:      {check.StatusSkipped, check.ReasonKeyDisabled, ""},
		{"us-east-1", id(12)}:      {check.StatusSkipped, check.ReasonPendingDeletion, ""},
		{"us-east-1", id(13)}:      {check.StatusSkipped, check.ReasonPendingImport, ""},
		{"us-east-1", id(14)}:      {check.StatusSkipped, check.ReasonKeyUnavailable, ""},
		{"us-east-1", id(15)}:      {check.StatusError, check.ReasonAccessDenied, "GetKeyRotationStatus"},
		{"us-east-1", id(16)}:      {check.StatusError, check.ReasonAccessDenied, "DescribeKey"},
		{"us-east-1", id(17)}:      {check.StatusSkipped, check.ReasonKeyCreating, ""},
		{"us-east-1", id(18)}:      {check.StatusSkipped, check.ReasonKeyUpdating, ""},
		{"us-east-1", mrkOff}:      {check.StatusFail, check.ReasonRotationDisabled, ""},
		{"eu-west-1", mrkOff}:      {check.StatusFail, check.ReasonRotationDisabled, ""},
		{"ap-southeast-2", mrkOff}: {check.StatusFail, check.ReasonRotationDisabled, ""},
		{"eu-west-1", mrkOn}:       {check.StatusPass, check.ReasonRotationEnabled, ""},
		{"ap-southeast-2", mrkOn}:  {check.StatusPass, check.ReasonRotationEnabled, ""},
		{"eu-west-1", id(20)}:      {check.StatusPass, check.ReasonRotationEnabled, ""},
	}
	if includeDisabled {
		w[[2]string{"us-east-1", id(11)}] = want{check.StatusFail, check.ReasonRotationDisabled, ""}
	}
	return w
}

func TestInventoryEveryClass(t *testing.T) {
	t.Parallel()
	for _, includeDisabled := range []bool{false, true} {
		t.Run(fmt.Sprintf("include-disabled=%v", includeDisabled), func(t *testing.T) {
			t.Parallel()
			emu, opts := start(t, kmsemu.Options{Estate: classEstate()}, fastRetries)
			opts.Regions = []string{"us-east-1", "eu-west-1", "ap-southeast-2", "ca-central-1"}
			opts.IncludeDisabled = includeDisabled
			res, err := Inventory(t.Context(), opts)
			if err != nil {
				t.Fatalf("Inventory: got error %v, want none", err)
			}
			policy := check.DefaultPolicy(now)
			policy.IncludeDisabled = includeDisabled

			wants := classWant(includeDisabled)
			seen := map[[2]string]bool{}
			for _, k := range res.Keys {
				loc := [2]string{k.Region, k.KeyID}
				seen[loc] = true
				w, ok := wants[loc]
				if !ok {
					t.Errorf("unexpected key %s in %s: %+v", k.KeyID, k.Region, k)
					continue
				}
				f := check.Evaluate(k, policy)
				if f.Status != w.status || f.Reason != w.reason {
					t.Errorf("key %s in %s: got %s %s (%s), want %s %s", k.KeyID, k.Region, f.Status, f.Reason, f.Message, w.status, w.reason)
				}
				if w.errOp != "" {
					if k.Err == nil || k.Err.Operation != w.errOp || k.Err.Code != "AccessDeniedException" {
						t.Errorf("key %s: got Err %+v, want %s AccessDeniedException", k.KeyID, k.Err, w.errOp)
					}
					if k.ARN != "arn:aws:kms:"+k.Region+":"+acct+":key/"+k.KeyID || k.AccountID != acct {
						t.Errorf("erroring key %s: got account %q ARN %q, want what ListKeys said", k.KeyID, k.AccountID, k.ARN)
					}
				}
			}
			for loc := range wants {
				if !seen[loc] {
					t.Errorf("key %s in %s: missing from the inventory", loc[1], loc[0])
				}
			}

			// ListKeys denied in ca-central-1, ListAliases denied in eu-west-1.
			var gotErrs []string
			for _, e := range res.Errors {
				gotErrs = append(gotErrs, fmt.Sprintf("%s/%s/%s/%s", e.AccountID, e.Region, e.Operation, e.Code))
			}
			wantErrs := []string{acct + "/ca-central-1/ListKeys/AccessDeniedException", acct + "/eu-west-1/ListAliases/AccessDeniedException"}
			if !slices.Equal(gotErrs, wantErrs) {
				t.Errorf("scan errors: got %v, want %v", gotErrs, wantErrs)
			}
			if got, want := res.Regions, []string{"ap-southeast-2", "ca-central-1", "eu-west-1", "us-east-1"}; !slices.Equal(got, want) {
				t.Errorf("Regions: got %v, want %v", got, want)
			}
			if got, want := res.Accounts, []string{acct}; !slices.Equal(got, want) {
				t.Errorf("Accounts: got %v, want %v", got, want)
			}

			// Rotation status is read only where the class needs it: keys
			// 1-4, 15 and 20, the three mrkOff and two mrkOn keys (and 11
			// when disabled keys are evaluated).
			wantRot := 11
			if includeDisabled {
				wantRot++
			}
			calls := emu.Server.Calls()
			if calls["GetKeyRotationStatus"] != wantRot {
				t.Errorf("GetKeyRotationStatus calls: got %d, want %d (calls %v)", calls["GetKeyRotationStatus"], wantRot, calls)
			}
			if got := res.Calls["DescribeKey"]; got != calls["DescribeKey"] || got != len(wants) {
				t.Errorf("DescribeKey calls: counted %d, emulator saw %d, want %d", got, calls["DescribeKey"], len(wants))
			}
		})
	}
}

func TestInventoryFacts(t *testing.T) {
	t.Parallel()
	_, opts := start(t, kmsemu.Options{Estate: classEstate()}, fastRetries)
	opts.Regions = []string{"us-east-1", "eu-west-1", "ap-southeast-2"}
	res, err := Inventory(t.Context(), opts)
	if err != nil {
		t.Fatalf("Inventory: %v", err)
	}
	find := func(region, keyID string) kmskey.Key {
		for _, k := range res.Keys {
			if k.Region == region && k.KeyID == keyID {
				return k
			}
		}
		t.Fatalf("key %s in %s not found", keyID, region)
		return kmskey.Key{}
	}
	primaryARN := "arn:aws:kms:us-east-1:" + acct + ":key/" + mrkOff

	tests := []struct {
		name string
		got  any
		want any
	}{
		{"pass key rotation", find("us-east-1", id(1)).Rotation, kmskey.Rotation{Enabled: kmskey.True, PeriodDays: 365, NextRotationDate: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{"aliases sorted", find("us-east-1", id(2)).Aliases, []string{"alias/a-first", "alias/b-second"}},
		{"disabled rotation has no period", find("us-east-1", id(2)).Rotation, kmskey.Rotation{Enabled: kmskey.False}},
		{"overdue next date", find("us-east-1", id(4)).Rotation.NextRotationDate, time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)},
		{"custom key store ID", find("us-east-1", id(6)).CustomKeyStoreID, "cks-1111111111111111a"},
		{"imported origin", find("us-east-1", id(5)).Origin, "EXTERNAL"},
		{"not read for skipped classes", find("us-east-1", id(8)).Rotation.Enabled, kmskey.Unknown},
		{"aws managed", find("us-east-1", id(10)).Manager, "AWS"},
		{"replica type", find("eu-west-1", mrkOff).MultiRegionType, "REPLICA"},
		{"replica names its primary", [2]string{find("eu-west-1", mrkOff).PrimaryARN, find("eu-west-1", mrkOff).PrimaryRegion}, [2]string{primaryARN, "us-east-1"}},
		{"second replica names its primary", [2]string{find("ap-southeast-2", mrkOff).PrimaryARN, find("ap-southeast-2", mrkOff).PrimaryRegion}, [2]string{primaryARN, "us-east-1"}},
		{"primary type", find("us-east-1", mrkOff).MultiRegionType, "PRIMARY"},
		{"replica shares rotation", find("ap-southeast-2", mrkOn).Rotation.Enabled, kmskey.True},
		{"source", find("us-east-1", id(1)).Source, kmskey.SourceAWS},
		{"ARN", find("us-east-1", id(1)).ARN, "arn:aws:kms:us-east-1:" + acct + ":key/" + id(1)},
	}
	for _, tt := range tests {
		if fmt.Sprint(tt.got) != fmt.Sprint(tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}

	// The replica's finding sends the fix to the primary.
	f := check.Evaluate(find("ap-southeast-2", mrkOff), check.DefaultPolicy(now))
	if f.Remediation.TargetKeyARN != primaryARN || f.Remediation.TargetRegion != "us-east-1" ||
		!strings.Contains(f.Remediation.CLI, "--region us-east-1") {
		t.Errorf("replica remediation: got %+v, want target %s in us-east-1", f.Remediation, primaryARN)
	}
}

func TestInventoryRetriedFailures(t *testing.T) {
	t.Parallel()
	keys := []kmsemu.KeyDef{{ID: id(1), Region: "us-east-1"}, {ID: id(2), Region: "us-east-1"}, {ID: id(3), Region: "us-east-1"}}
	estate := func() *kmsemu.Estate {
		return &kmsemu.Estate{Accounts: []kmsemu.Account{{ID: acct, Regions: []string{"us-east-1"}, Credentials: creds(), Keys: keys}}}
	}
	hangClient := fastRetries
	hangClient.MaxAttempts = 2
	hangClient.AttemptTimeout = 200 * time.Millisecond
	tests := []struct {
		name       string
		faults     kmsemu.Faults
		client     ClientOptions
		wantOp     string
		wantCode   string
		wantReason string
		wantCalls  int // of wantOp, at the emulator
	}{
		{"throttled past retries", kmsemu.Faults{Throttle: map[string]float64{"GetKeyRotationStatus": 1}}, fastRetries,
			"GetKeyRotationStatus", "ThrottlingException", check.ReasonThrottled, 9},
		{"server errors past retries", kmsemu.Faults{Server: map[string]float64{"DescribeKey": 1}}, fastRetries,
			"DescribeKey", "KMSInternalException", check.ReasonAPIError, 9},
		{"no answer", kmsemu.Faults{Hang: map[string]float64{"DescribeKey": 1}}, hangClient,
			"DescribeKey", CodeTimeout, check.ReasonAPIError, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			emu, opts := start(t, kmsemu.Options{Estate: estate(), Faults: tt.faults}, tt.client)
			res, err := Inventory(t.Context(), opts)
			if err != nil {
				t.Fatalf("Inventory: %v", err)
			}
			if len(res.Keys) != len(keys) {
				t.Fatalf("keys: got %d, want %d", len(res.Keys), len(keys))
			}
			for _, k := range res.Keys {
				f := check.Evaluate(k, check.DefaultPolicy(now))
				if k.Err == nil || k.Err.Operation != tt.wantOp || k.Err.Code != tt.wantCode || f.Status != check.StatusError || f.Reason != tt.wantReason {
					t.Errorf("key %s: got Err %+v, finding %s %s; want %s %s, ERROR %s", k.KeyID, k.Err, f.Status, f.Reason, tt.wantOp, tt.wantCode, tt.wantReason)
				}
			}
			if got := res.Calls[tt.wantOp]; got != tt.wantCalls {
				t.Errorf("%s requests counted: got %d, want %d (every attempt of every key)", tt.wantOp, got, tt.wantCalls)
			}
			// The emulator logs an abandoned request once it notices the
			// closed connection, a moment after the client gave up.
			deadline := time.Now().Add(2 * time.Second)
			for emu.Server.Calls()[tt.wantOp] < tt.wantCalls && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if got := emu.Server.Calls()[tt.wantOp]; got != tt.wantCalls {
				t.Errorf("%s requests at the emulator: got %d, want %d (every attempt of every key)", tt.wantOp, got, tt.wantCalls)
			}
		})
	}
}

// orgEstate is an organization: the management account, a member that
// trusts it, a member whose role does not, and a suspended member.
func orgEstate() *kmsemu.Estate {
	trusting := []kmsemu.Role{{Name: DefaultRoleName, TrustedAccounts: []string{"111111111111"}},
		{Name: "Audit", TrustedAccounts: []string{"111111111111"}, ExternalID: "ext-123"}}
	return &kmsemu.Estate{
		Organization: kmsemu.Organization{ID: "o-abcdefghij", ManagementAccount: "111111111111"},
		Accounts: []kmsemu.Account{
			{ID: "111111111111", Name: "management", Email: "m@example.com", Regions: []string{"us-east-1"}, Credentials: creds(),
				Keys: []kmsemu.KeyDef{{ID: id(1), Region: "us-east-1"}}},
			{ID: "222222222222", Name: "member", Email: "a@example.com", Regions: []string{"us-east-1", "eu-west-1"}, Roles: trusting,
				Keys: []kmsemu.KeyDef{{ID: id(2), Region: "us-east-1", Rotation: kmsemu.RotationDef{Enabled: true}}, {ID: id(3), Region: "eu-west-1"}}},
			{ID: "333333333333", Name: "locked", Email: "b@example.com", Regions: []string{"us-east-1"},
				Roles: []kmsemu.Role{{Name: DefaultRoleName, TrustedAccounts: []string{"222222222222"}}},
				Keys:  []kmsemu.KeyDef{{ID: id(4), Region: "us-east-1"}}},
			{ID: "444444444444", Name: "suspended", Email: "c@example.com", State: "SUSPENDED", Regions: []string{"us-east-1"}, Roles: trusting,
				Keys: []kmsemu.KeyDef{{ID: id(5), Region: "us-east-1"}}},
		},
	}
}

func TestInventoryAccounts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		set          func(*Options)
		wantAccounts []string
		wantKeys     []string // account/Region/key
		wantErrs     []string // account/Operation/Code
		wantSkipped  []string // account/State
	}{
		{
			name:         "caller only",
			set:          func(o *Options) { o.Regions = []string{"us-east-1"} },
			wantAccounts: []string{"111111111111"},
			wantKeys:     []string{"111111111111/us-east-1/" + id(1)},
		},
		{
			name: "organization, all Regions",
			set:  func(o *Options) { o.Org = true; o.AllRegions = true },
			// The account whose role cannot be assumed is an error, not a
			// scanned account; the suspended one is listed as skipped.
			wantAccounts: []string{"111111111111", "222222222222"},
			wantKeys: []string{"111111111111/us-east-1/" + id(1), "222222222222/eu-west-1/" + id(3),
				"222222222222/us-east-1/" + id(2)},
			wantErrs:    []string{"333333333333/AssumeRole/AccessDenied"},
			wantSkipped: []string{"444444444444/SUSPENDED"},
		},
		{
			name: "role ARN with its external ID",
			set: func(o *Options) {
				o.RoleARNs = []string{"arn:aws:iam::222222222222:role/Audit"}
				o.ExternalID = "ext-123"
				o.AllRegions = true
			},
			wantAccounts: []string{"222222222222"},
			wantKeys:     []string{"222222222222/eu-west-1/" + id(3), "222222222222/us-east-1/" + id(2)},
		},
		{
			name: "role ARN with a wrong external ID",
			set: func(o *Options) {
				o.RoleARNs = []string{"arn:aws:iam::222222222222:role/Audit"}
				o.ExternalID = "ext-999"
				o.AllRegions = true
			},
			wantAccounts: nil,
			wantErrs:     []string{"222222222222/AssumeRole/AccessDenied"},
		},
		{
			name:         "a Region the account has not enabled",
			set:          func(o *Options) { o.Regions = []string{"us-east-1", "eu-north-1"} },
			wantAccounts: []string{"111111111111"},
			wantKeys:     []string{"111111111111/us-east-1/" + id(1)},
			wantErrs:     []string{"111111111111/ListKeys/UnrecognizedClientException"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, opts := start(t, kmsemu.Options{Estate: orgEstate()}, fastRetries)
			tt.set(&opts)
			res, err := Inventory(t.Context(), opts)
			if err != nil {
				t.Fatalf("Inventory: %v", err)
			}
			var keys, errs []string
			for _, k := range res.Keys {
				keys = append(keys, k.AccountID+"/"+k.Region+"/"+k.KeyID)
			}
			for _, e := range res.Errors {
				errs = append(errs, e.AccountID+"/"+e.Operation+"/"+e.Code)
			}
			slices.Sort(errs)
			var skipped []string
			for _, a := range res.Skipped {
				skipped = append(skipped, a.AccountID+"/"+a.State)
			}
			if !slices.Equal(skipped, tt.wantSkipped) {
				t.Errorf("skipped accounts: got %v, want %v", skipped, tt.wantSkipped)
			}
			if !slices.Equal(res.Accounts, tt.wantAccounts) || !slices.Equal(keys, tt.wantKeys) || !slices.Equal(errs, tt.wantErrs) {
				t.Errorf("got accounts %v keys %v errors %v (%+v)\nwant accounts %v keys %v errors %v",
					res.Accounts, keys, errs, res.Errors, tt.wantAccounts, tt.wantKeys, tt.wantErrs)
			}
			if res.CallerAccount != "111111111111" {
				t.Errorf("CallerAccount: got %q, want 111111111111", res.CallerAccount)
			}
		})
	}
}

// symmetricEstate is n customer symmetric keys with an alias each, every
// other one rotating.
func symmetricEstate(n int) *kmsemu.Estate {
	keys := make([]kmsemu.KeyDef, n)
	for i := range keys {
		keys[i] = kmsemu.KeyDef{
			ID:       fmt.Sprintf("22222222-2222-4222-8222-%012d", i),
			Region:   "us-east-1",
			Rotation: kmsemu.RotationDef{Enabled: i%2 == 0},
			Aliases:  []string{fmt.Sprintf("alias/key-%04d", i)},
		}
	}
	return &kmsemu.Estate{Accounts: []kmsemu.Account{{ID: acct, Regions: []string{"us-east-1"}, Credentials: creds(), Keys: keys}}}
}

func TestInventoryCallBudget(t *testing.T) {
	t.Parallel()
	const n = 1200
	emu, opts := start(t, kmsemu.Options{Estate: symmetricEstate(n)}, fastRetries)
	opts.Regions = []string{"us-east-1"}
	res, err := Inventory(t.Context(), opts)
	if err != nil {
		t.Fatalf("Inventory: %v", err)
	}
	if len(res.Keys) != n || len(res.Errors) != 0 {
		t.Fatalf("got %d keys and errors %v, want %d keys and no error", len(res.Keys), res.Errors, n)
	}
	calls := emu.Server.Calls()
	total := 0
	for _, c := range calls {
		total += c
	}
	if perKey := float64(total) / n; perKey > 2.1 {
		t.Errorf("API calls: got %d for %d keys (%.3f per key), want at most 2.1 per key; %v", total, n, perKey, calls)
	}
	// ListAliases: n aliases plus AWS's 16 predefined ones, 100 a page.
	wantCalls := map[string]int{"GetCallerIdentity": 1, "ListKeys": 2, "ListAliases": 13, "DescribeKey": n, "GetKeyRotationStatus": n}
	if fmt.Sprint(calls) != fmt.Sprint(wantCalls) {
		t.Errorf("calls per operation: got %v, want %v", calls, wantCalls)
	}
	if fmt.Sprint(res.Calls) != fmt.Sprint(calls) {
		t.Errorf("calls counted by the scanner: got %v, want what the emulator saw, %v", res.Calls, calls)
	}
}

// TestInventoryPacing scales AWS's quotas down on both sides: paced from the
// first request at the same quotas as the emulator, the scan provokes no
// throttling; unpaced, it provokes much (and still completes through
// retries); paced adaptively, it provokes a little, then paces.
func TestInventoryPacing(t *testing.T) {
	const n, scale = 150, 0.05 // DescribeKey 100/s, GetKeyRotationStatus 50/s
	for _, tt := range []struct {
		name         string
		clientScale  float64
		always       bool
		minThrottled int
		maxThrottled int
	}{
		{"paced always", scale, true, 0, 0},
		{"unpaced", 0, false, 40, 1 << 30},
		{"adaptive", scale, false, 1, 39},
	} {
		// The three scans run side by side (each has its own emulator and
		// pacer), but alone in the package: the test itself is not parallel.
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client := fastRetries
			client.MaxAttempts = 100
			client.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 20 * time.Millisecond, nil })
			emu, opts := start(t, kmsemu.Options{Estate: symmetricEstate(n), QuotaScale: scale}, client)
			opts.Regions = []string{"us-east-1"}
			opts.QuotaScale = tt.clientScale
			opts.PaceAlways = tt.always
			// Adaptive pacing lets the requests in flight at the first
			// throttle be throttled too: the bounds are for 32 workers.
			opts.Concurrency = 32
			res, err := Inventory(t.Context(), opts)
			if err != nil {
				t.Fatalf("Inventory: %v", err)
			}
			for _, k := range res.Keys {
				if k.Err != nil {
					t.Fatalf("key %s: got error %v, want none", k.KeyID, k.Err)
				}
			}
			throttled := 0
			for _, r := range emu.Server.Requests() {
				if r.ErrorCode == "ThrottlingException" {
					throttled++
				}
			}
			if throttled < tt.minThrottled || throttled > tt.maxThrottled {
				t.Errorf("client quota scale %g (always %v) against emulator quota scale %g: got %d throttled requests, want %d to %d",
					tt.clientScale, tt.always, scale, throttled, tt.minThrottled, tt.maxThrottled)
			}
		})
	}
}

func TestInventoryFatal(t *testing.T) {
	t.Run("cancelled", func(t *testing.T) {
		_, opts := start(t, kmsemu.Options{Estate: symmetricEstate(40), Latency: 50 * time.Millisecond}, fastRetries)
		opts.Regions = []string{"us-east-1"}
		opts.Concurrency = 2
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		res, err := Inventory(ctx, opts)
		if !errors.Is(err, context.DeadlineExceeded) || res != nil {
			t.Errorf("Inventory on a context that ends mid-scan: got (%v, %v), want nil and context.DeadlineExceeded", res, err)
		}
	})
	t.Run("unknown access key", func(t *testing.T) {
		_, opts := start(t, kmsemu.Options{Estate: symmetricEstate(1)}, fastRetries)
		opts.Config = StaticConfig(*opts.Config.BaseEndpoint, "us-east-1", "AKIANOTKNOWN", "x", fastRetries)
		_, err := Inventory(t.Context(), opts)
		var ce *CredentialsError
		if !errors.As(err, &ce) || !ce.Rejected {
			t.Errorf("Inventory with an unknown access key: got %v, want a rejected *CredentialsError", err)
		}
	})
	t.Run("no endpoint", func(t *testing.T) {
		client := fastRetries
		client.MaxAttempts = 1
		opts := Options{Config: StaticConfig("http://127.0.0.1:1", "us-east-1", "test", "test", client)}
		_, err := Inventory(t.Context(), opts)
		var ce *CredentialsError
		if err == nil || errors.As(err, &ce) || !strings.Contains(err.Error(), "get caller identity") {
			t.Errorf("Inventory against a closed port: got %v, want a fatal get caller identity error", err)
		}
	})
}

// TestInventoryRepeatedRegion checks that naming a Region twice scans it once.
func TestInventoryRepeatedRegion(t *testing.T) {
	t.Parallel()
	emu, opts := start(t, kmsemu.Options{Estate: symmetricEstate(3)}, fastRetries)
	opts.Regions = []string{"us-east-1", "us-east-1"}
	res, err := Inventory(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Keys) != 3 || emu.Server.Calls()["ListKeys"] != 1 {
		t.Errorf("--region us-east-1 twice: got %d keys and %d ListKeys calls, want 3 and 1", len(res.Keys), emu.Server.Calls()["ListKeys"])
	}
}

// TestInventoryServerTime checks that the scan reads AWS's clock from its
// Date header: the emulator's clock, moved a year ahead.
func TestInventoryServerTime(t *testing.T) {
	t.Parallel()
	clock := kmsemu.NewClock()
	ahead := time.Now().Add(365 * 24 * time.Hour).UTC().Truncate(time.Second)
	clock.Set(ahead)
	clock.Freeze()
	_, opts := start(t, kmsemu.Options{Estate: symmetricEstate(1), Clock: clock}, fastRetries)
	opts.Regions = []string{"us-east-1"}
	res, err := Inventory(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if !res.ServerTime.Equal(ahead) {
		t.Errorf("server time: got %v, want the emulator's %v", res.ServerTime, ahead)
	}
}

// TestEmitterLinksReplicas checks the replica index: a replica is sent
// after its primary with the primary's state, whichever is read first, and
// a replica whose primary is never read is sent at the end without one.
func TestEmitterLinksReplicas(t *testing.T) {
	t.Parallel()
	primary := "arn:aws:kms:us-east-1:111111111111:key/mrk-1"
	p := kmskey.Key{ARN: primary, MultiRegionType: kmskey.MultiRegionPrimary, State: kmskey.StatePendingReplicaDeletion}
	r1 := kmskey.Key{ARN: "arn:aws:kms:eu-west-1:111111111111:key/mrk-1", MultiRegionType: kmskey.MultiRegionReplica, PrimaryARN: primary, State: kmskey.StateEnabled}
	r2 := kmskey.Key{ARN: "arn:aws:kms:eu-west-1:111111111111:key/mrk-2", MultiRegionType: kmskey.MultiRegionReplica, PrimaryARN: "arn:aws:kms:us-west-2:111111111111:key/mrk-2"}
	for _, order := range [][]kmskey.Key{{p, r1, r2}, {r1, r2, p}, {r2, r1, p}} {
		var got []kmskey.Key
		e := newEmitter(Events{Key: func(k kmskey.Key) { got = append(got, k) }})
		for _, k := range order {
			e.key(k)
		}
		e.flush()
		var arns []string
		for _, k := range got {
			arns = append(arns, k.ARN)
		}
		want := []string{p.ARN, r1.ARN, r2.ARN}
		if !slices.Equal(arns, want) {
			t.Fatalf("order %v: sent %v, want %v (replica after its primary, orphans last)", order, arns, want)
		}
		if got[1].PrimaryState != kmskey.StatePendingReplicaDeletion || got[2].PrimaryState != "" {
			t.Errorf("order %v: primary states %q and %q, want %q and none (primary not scanned)",
				order, got[1].PrimaryState, got[2].PrimaryState, kmskey.StatePendingReplicaDeletion)
		}
	}
}
