package kmsemu

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// Accounts of frameEstate.
const (
	prodAccount = "111111111111"
	devAccount  = "222222222222"
	devKeyID    = "AKIADEV0000000000001"
	devSecret   = "dev-secret"
	devUser     = "arn:aws:iam::222222222222:user/ci"
)

// frameEstate is a small organization: the management account (default
// credentials) in two Regions, a prod member with two roles, and a dev member
// with its own IAM user and AWS's default Regions.
func frameEstate() *Estate {
	return &Estate{
		Organization: Organization{ID: "o-frametest01", ManagementAccount: DefaultAccount},
		Accounts: []Account{
			{ID: DefaultAccount, Name: "management", Email: "mgmt@example.com", Regions: []string{"us-east-1", "eu-west-1"}},
			{ID: prodAccount, Name: "prod", Email: "prod@example.com", Regions: []string{"us-east-1", "us-west-2", "af-south-1"},
				Roles: []Role{
					{Name: "OrganizationAccountAccessRole", TrustedAccounts: []string{DefaultAccount}},
					{Name: "audit", TrustedAccounts: []string{DefaultAccount, devAccount}, ExternalID: "ext-123"},
				}},
			{ID: devAccount, Name: "dev", Email: "dev@example.com", State: "SUSPENDED",
				Credentials: []Credential{{AccessKeyID: devKeyID, SecretAccessKey: devSecret, Principal: devUser}}},
		},
	}
}

// startFrame serves opts on a loopback port for the test's lifetime.
func startFrame(t *testing.T, opts Options) *Running {
	t.Helper()
	run, err := Start(opts, "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := run.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return run
}

// sdkConfig is an SDK configuration for the emulator, without retries so
// that every error shows as it was answered.
func sdkConfig(url, akid, secret, region string) aws.Config {
	return aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider(akid, secret, ""),
		BaseEndpoint: aws.String(url),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
		HTTPClient:   &http.Client{Timeout: 10 * time.Second},
	}
}

func defaultConfig(run *Running) aws.Config {
	return sdkConfig(run.URL, DefaultAccessKeyID, DefaultSecretAccessKey, "us-east-1")
}

// apiCode is the AWS error code of err, or "" for a success or a non-API error.
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func apiMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return ""
}

func TestGetCallerIdentity(t *testing.T) {
	t.Parallel()
	run := startFrame(t, Options{Estate: frameEstate()})
	tests := []struct {
		name, akid, secret           string
		wantAccount, wantArn, wantID string
	}{
		{"default credentials", DefaultAccessKeyID, DefaultSecretAccessKey, DefaultAccount, "arn:aws:iam::123456789012:root", DefaultAccount},
		{"estate IAM user", devKeyID, devSecret, devAccount, devUser, "AIDA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client := sts.NewFromConfig(sdkConfig(run.URL, tt.akid, tt.secret, "us-east-1"))
			out, err := client.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
			if err != nil {
				t.Fatalf("GetCallerIdentity as %s: %v", tt.akid, err)
			}
			if got := aws.ToString(out.Account); got != tt.wantAccount {
				t.Errorf("GetCallerIdentity as %s: Account = %q, want %q", tt.akid, got, tt.wantAccount)
			}
			if got := aws.ToString(out.Arn); got != tt.wantArn {
				t.Errorf("GetCallerIdentity as %s: Arn = %q, want %q", tt.akid, got, tt.wantArn)
			}
			if got := aws.ToString(out.UserId); !strings.HasPrefix(got, tt.wantID) {
				t.Errorf("GetCallerIdentity as %s: UserId = %q, want prefix %q", tt.akid, got, tt.wantID)
			}
		})
	}
}

func TestAssumeRoleActsInRoleAccount(t *testing.T) {
	t.Parallel()
	run := startFrame(t, Options{Estate: frameEstate()})
	base := defaultConfig(run)
	cfg := base.Copy()
	cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(base),
		"arn:aws:iam::111111111111:role/OrganizationAccountAccessRole",
		func(o *stscreds.AssumeRoleOptions) { o.RoleSessionName = "kmsrotor-scan" }))

	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatalf("AssumeRole into %s: %v", prodAccount, err)
	}
	if !strings.HasPrefix(creds.AccessKeyID, "ASIA") || len(creds.AccessKeyID) != 20 || creds.SessionToken == "" ||
		creds.SecretAccessKey == "" || !creds.CanExpire || creds.Expires.Before(time.Now().Add(14*time.Minute)) {
		t.Errorf("AssumeRole credentials = %+v, want ASIA… key, secret, session token, expiry in 15 minutes (stscreds default)", creds)
	}

	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity with assumed-role credentials: %v", err)
	}
	wantArn := "arn:aws:sts::111111111111:assumed-role/OrganizationAccountAccessRole/kmsrotor-scan"
	if aws.ToString(out.Account) != prodAccount || aws.ToString(out.Arn) != wantArn {
		t.Errorf("GetCallerIdentity after AssumeRole = %s %s, want %s %s", aws.ToString(out.Account), aws.ToString(out.Arn), prodAccount, wantArn)
	}
	if id := aws.ToString(out.UserId); !strings.HasPrefix(id, "AROA") || !strings.HasSuffix(id, ":kmsrotor-scan") {
		t.Errorf("GetCallerIdentity after AssumeRole: UserId = %q, want AROA…:kmsrotor-scan", id)
	}

	// The temporary credentials work on the other services too, in the
	// role's account: DescribeRegions lists prod's Regions.
	regions, err := newEC2Client(cfg).DescribeRegions(context.Background(), &ec2DescribeRegionsInput{})
	if err != nil {
		t.Fatalf("DescribeRegions with assumed-role credentials: %v", err)
	}
	var names []string
	for _, r := range regions.Regions {
		names = append(names, r.RegionName)
	}
	if want := []string{"af-south-1", "us-east-1", "us-west-2"}; !slices.Equal(names, want) {
		t.Errorf("DescribeRegions as prod role = %v, want %v", names, want)
	}

	// Without the session token, or with another one, the key is unknown.
	for _, token := range []string{"", "not-the-token"} {
		bad := sdkConfig(run.URL, creds.AccessKeyID, creds.SecretAccessKey, "us-east-1")
		bad.Credentials = credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, token)
		_, err := sts.NewFromConfig(bad).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
		if got := apiCode(err); got != "InvalidClientTokenId" {
			t.Errorf("GetCallerIdentity with session token %q: error %v, want InvalidClientTokenId", token, err)
		}
	}
}

func TestAssumeRoleDenied(t *testing.T) {
	t.Parallel()
	run := startFrame(t, Options{Estate: frameEstate()})
	tests := []struct {
		name       string
		akid, sec  string
		roleArn    string
		externalID string
		wantCode   string
		wantMsg    string
	}{
		{"untrusted account", devKeyID, devSecret, "arn:aws:iam::111111111111:role/OrganizationAccountAccessRole", "",
			"AccessDenied", "User: " + devUser + " is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111111111111:role/OrganizationAccountAccessRole"},
		{"wrong external ID", DefaultAccessKeyID, DefaultSecretAccessKey, "arn:aws:iam::111111111111:role/audit", "wrong-id", "AccessDenied", "sts:AssumeRole"},
		{"missing external ID", DefaultAccessKeyID, DefaultSecretAccessKey, "arn:aws:iam::111111111111:role/audit", "", "AccessDenied", "sts:AssumeRole"},
		{"unknown role", DefaultAccessKeyID, DefaultSecretAccessKey, "arn:aws:iam::111111111111:role/NoSuchRole", "", "AccessDenied", "sts:AssumeRole"},
		{"account not in estate", DefaultAccessKeyID, DefaultSecretAccessKey, "arn:aws:iam::999999999999:role/OrganizationAccountAccessRole", "", "AccessDenied", "sts:AssumeRole"},
		{"role ARN malformed", DefaultAccessKeyID, DefaultSecretAccessKey, "arn:aws:iam::1111:role/x/y/z/zzzz", "", "AccessDenied", "sts:AssumeRole"},
		{"right external ID", devKeyID, devSecret, "arn:aws:iam::111111111111:role/audit", "ext-123", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client := sts.NewFromConfig(sdkConfig(run.URL, tt.akid, tt.sec, "us-east-1"))
			in := &sts.AssumeRoleInput{RoleArn: aws.String(tt.roleArn), RoleSessionName: aws.String("s1")}
			if tt.externalID != "" {
				in.ExternalId = aws.String(tt.externalID)
			}
			_, err := client.AssumeRole(context.Background(), in)
			if got := apiCode(err); got != tt.wantCode {
				t.Fatalf("AssumeRole %s as %s: error %v, want code %q", tt.roleArn, tt.akid, err, tt.wantCode)
			}
			if got := apiMessage(err); !strings.Contains(got, tt.wantMsg) {
				t.Errorf("AssumeRole %s: message %q, want it to contain %q", tt.roleArn, got, tt.wantMsg)
			}
		})
	}
}

func TestAssumeRoleValidation(t *testing.T) {
	t.Parallel()
	run := startFrame(t, Options{Estate: frameEstate()})
	client := sts.NewFromConfig(defaultConfig(run))
	role := "arn:aws:iam::111111111111:role/OrganizationAccountAccessRole"
	tests := []struct {
		name     string
		in       sts.AssumeRoleInput
		wantMsgs string
	}{
		{"session name too short", sts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String("x")}, "'roleSessionName' failed to satisfy constraint"},
		{"session name bad character", sts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String("a b")}, "regular expression"},
		{"duration too short", sts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String("ok"), DurationSeconds: aws.Int32(899)}, "greater than or equal to 900"},
		{"duration too long", sts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String("ok"), DurationSeconds: aws.Int32(43201)}, "less than or equal to 43200"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := client.AssumeRole(context.Background(), &tt.in)
			if apiCode(err) != "ValidationError" || !strings.Contains(apiMessage(err), tt.wantMsgs) {
				t.Errorf("AssumeRole %s: error %v, want ValidationError mentioning %q", tt.name, err, tt.wantMsgs)
			}
		})
	}
}

func TestListAccountsPaging(t *testing.T) {
	t.Parallel()
	run := startFrame(t, Options{Estate: frameEstate()})
	client := organizations.NewFromConfig(defaultConfig(run))
	var ids, states, statuses []string
	pages := 0
	p := organizations.NewListAccountsPaginator(client, &organizations.ListAccountsInput{MaxResults: aws.Int32(1)})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("ListAccounts page %d: %v", pages+1, err)
		}
		pages++
		if len(out.Accounts) > 1 {
			t.Errorf("ListAccounts MaxResults 1: page %d has %d accounts", pages, len(out.Accounts))
		}
		for _, a := range out.Accounts {
			ids = append(ids, aws.ToString(a.Id))
			states = append(states, string(a.State))
			statuses = append(statuses, string(a.Status))
			if want := "arn:aws:organizations::123456789012:account/o-frametest01/" + aws.ToString(a.Id); aws.ToString(a.Arn) != want {
				t.Errorf("ListAccounts: Arn = %q, want %q", aws.ToString(a.Arn), want)
			}
			if a.JoinedTimestamp == nil || a.Email == nil || a.Name == nil || a.JoinedMethod == "" {
				t.Errorf("ListAccounts: account %s lacks Email, Name, JoinedMethod or JoinedTimestamp: %+v", aws.ToString(a.Id), a)
			}
		}
	}
	if want := []string{DefaultAccount, prodAccount, devAccount}; !slices.Equal(ids, want) {
		t.Errorf("ListAccounts MaxResults 1 over %d pages = %v, want %v", pages, ids, want)
	}
	if want := []string{"ACTIVE", "ACTIVE", "SUSPENDED"}; !slices.Equal(states, want) || !slices.Equal(statuses, want) {
		t.Errorf("ListAccounts State = %v, Status = %v, want both %v", states, statuses, want)
	}
	if pages != 3 {
		t.Errorf("ListAccounts MaxResults 1: %d pages, want 3", pages)
	}

	all, err := client.ListAccounts(context.Background(), &organizations.ListAccountsInput{})
	if err != nil || len(all.Accounts) != 3 || all.NextToken != nil {
		t.Errorf("ListAccounts without MaxResults = %v accounts, NextToken %v, err %v; want 3, nil, nil", len(all.Accounts), all.NextToken, err)
	}

	bad := []struct {
		name string
		in   organizations.ListAccountsInput
	}{
		{"made-up token", organizations.ListAccountsInput{NextToken: aws.String("bm90LWEtdG9rZW4")}},
		{"MaxResults 21", organizations.ListAccountsInput{MaxResults: aws.Int32(21)}},
		{"MaxResults 0", organizations.ListAccountsInput{MaxResults: aws.Int32(0)}},
	}
	for _, tt := range bad {
		_, err := client.ListAccounts(context.Background(), &tt.in)
		if got := apiCode(err); got != "InvalidInputException" {
			t.Errorf("ListAccounts with %s: error %v, want InvalidInputException", tt.name, err)
		}
	}
}

func TestListAccountsCallers(t *testing.T) {
	t.Parallel()
	noOrg := frameEstate()
	noOrg.Organization = Organization{}
	tests := []struct {
		name     string
		estate   *Estate
		akid     string
		secret   string
		wantCode string
	}{
		{"member account", frameEstate(), devKeyID, devSecret, "AccessDeniedException"},
		{"no organization", noOrg, DefaultAccessKeyID, DefaultSecretAccessKey, "AWSOrganizationsNotInUseException"},
		{"management account", frameEstate(), DefaultAccessKeyID, DefaultSecretAccessKey, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			run := startFrame(t, Options{Estate: tt.estate})
			client := organizations.NewFromConfig(sdkConfig(run.URL, tt.akid, tt.secret, "us-east-1"))
			_, err := client.ListAccounts(context.Background(), &organizations.ListAccountsInput{})
			if got := apiCode(err); got != tt.wantCode {
				t.Errorf("ListAccounts as %s (%s): error %v, want code %q", tt.akid, tt.name, err, tt.wantCode)
			}
		})
	}
}

func TestDescribeOrganization(t *testing.T) {
	t.Parallel()
	run := startFrame(t, Options{Estate: frameEstate()})
	// A member may describe its organization.
	out, err := organizations.NewFromConfig(sdkConfig(run.URL, devKeyID, devSecret, "us-east-1")).
		DescribeOrganization(context.Background(), &organizations.DescribeOrganizationInput{})
	if err != nil {
		t.Fatalf("DescribeOrganization as member: %v", err)
	}
	if got := aws.ToString(out.Organization.Id); got != "o-frametest01" {
		t.Errorf("DescribeOrganization: Id = %q, want o-frametest01", got)
	}
	if got := aws.ToString(out.Organization.MasterAccountId); got != DefaultAccount {
		t.Errorf("DescribeOrganization: MasterAccountId = %q, want %s", got, DefaultAccount)
	}
}

func TestDescribeRegions(t *testing.T) {
	t.Parallel()
	run := startFrame(t, Options{Estate: frameEstate()})
	tests := []struct {
		name       string
		akid, sec  string
		region     string
		in         ec2DescribeRegionsInput
		want       []string // name=status
		wantCode   string
		wantLenMin int
	}{
		{name: "enabled only", akid: DefaultAccessKeyID, sec: DefaultSecretAccessKey, region: "eu-west-1",
			want: []string{"eu-west-1=opt-in-not-required", "us-east-1=opt-in-not-required"}},
		{name: "default Regions when none listed", akid: devKeyID, sec: devSecret, region: "sa-east-1", wantLenMin: len(defaultRegions)},
		{name: "filter by name", akid: DefaultAccessKeyID, sec: DefaultSecretAccessKey, region: "us-east-1",
			in:   ec2DescribeRegionsInput{RegionNames: []string{"us-east-1"}},
			want: []string{"us-east-1=opt-in-not-required"}},
		{name: "not enabled Region", akid: DefaultAccessKeyID, sec: DefaultSecretAccessKey, region: "us-west-2", wantCode: "AuthFailure"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client := newEC2Client(sdkConfig(run.URL, tt.akid, tt.sec, tt.region))
			out, err := client.DescribeRegions(context.Background(), &tt.in)
			if got := apiCode(err); got != tt.wantCode {
				t.Fatalf("DescribeRegions in %s: error %v, want code %q", tt.region, err, tt.wantCode)
			}
			if err != nil {
				return
			}
			var got []string
			for _, r := range out.Regions {
				got = append(got, r.RegionName+"="+r.OptInStatus)
				if want := "ec2." + r.RegionName + ".amazonaws.com"; r.Endpoint != want {
					t.Errorf("DescribeRegions: endpoint %q, want %q", r.Endpoint, want)
				}
			}
			if tt.want != nil && !slices.Equal(got, tt.want) {
				t.Errorf("DescribeRegions %s = %v, want %v", tt.name, got, tt.want)
			}
			if len(got) < tt.wantLenMin {
				t.Errorf("DescribeRegions %s: %d Regions, want at least %d", tt.name, len(got), tt.wantLenMin)
			}
		})
	}
}

func TestDescribeRegionsAllRegions(t *testing.T) {
	t.Parallel()
	run := startFrame(t, Options{Estate: frameEstate()})
	// Prod has af-south-1 (an opt-in Region) enabled.
	cfg := sdkConfig(run.URL, DefaultAccessKeyID, DefaultSecretAccessKey, "us-east-1")
	cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg),
		"arn:aws:iam::111111111111:role/OrganizationAccountAccessRole"))
	out, err := newEC2Client(cfg).DescribeRegions(context.Background(), &ec2DescribeRegionsInput{AllRegions: true})
	if err != nil {
		t.Fatalf("DescribeRegions AllRegions: %v", err)
	}
	status := map[string]string{}
	for _, r := range out.Regions {
		status[r.RegionName] = r.OptInStatus
	}
	if len(status) != len(defaultRegions)+len(optInRegions) {
		t.Errorf("DescribeRegions AllRegions: %d Regions, want %d", len(status), len(defaultRegions)+len(optInRegions))
	}
	for region, want := range map[string]string{
		"us-east-1":  "opt-in-not-required", // enabled
		"eu-west-1":  "not-opted-in",        // a default Region the estate does not enable for prod
		"af-south-1": "opted-in",
		"me-south-1": "not-opted-in",
	} {
		if got := status[region]; got != want {
			t.Errorf("DescribeRegions AllRegions: %s is %q, want %q", region, got, want)
		}
	}

	filtered, err := newEC2Client(cfg).DescribeRegions(context.Background(), &ec2DescribeRegionsInput{
		AllRegions: true,
		Filters:    []ec2Filter{{Name: "opt-in-status", Values: []string{"opted-in"}}},
	})
	if err != nil || len(filtered.Regions) != 1 || filtered.Regions[0].RegionName != "af-south-1" {
		t.Errorf("DescribeRegions opt-in-status=opted-in = %v, %v; want only af-south-1", filtered, err)
	}
}

// TestKMSRoutes checks that KMS requests reach the KMS service once the
// frame has accepted them: whatever the service answers, it is not one of
// the frame's own errors.
func TestKMSRoutes(t *testing.T) {
	t.Parallel()
	run := startFrame(t, Options{Estate: frameEstate()})
	client := kms.NewFromConfig(defaultConfig(run))
	_, err := client.ListKeys(context.Background(), &kms.ListKeysInput{})
	switch apiCode(err) {
	case "UnrecognizedClientException", "InvalidSignatureException", "MissingAuthenticationTokenException",
		"IncompleteSignatureException", "AccessDeniedException", "ThrottlingException":
		t.Errorf("ListKeys with the default credentials: frame error %v, want the KMS service's answer", err)
	}
	if got := run.Server.Calls()["ListKeys"]; got != 1 {
		t.Errorf("Calls()[ListKeys] = %d after one ListKeys, want 1", got)
	}
}
