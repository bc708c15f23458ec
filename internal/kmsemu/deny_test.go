package kmsemu

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// denyEstate is frameEstate with two more accounts that trust the
// management account, five keys in the management account, and the three
// kinds of scoped deny rules a scan must survive: one role that cannot be
// assumed, ListKeys denied in one Region of one account, and
// GetKeyRotationStatus denied for three keys.
func denyEstate() (*Estate, []string) {
	e := frameEstate()
	for _, id := range []string{"888888888888", "999999999999"} {
		e.Accounts = append(e.Accounts, Account{ID: id, Name: "member-" + id, Regions: []string{"us-east-1", "us-west-2"},
			Roles: []Role{{Name: "OrganizationAccountAccessRole", TrustedAccounts: []string{DefaultAccount}}}})
	}
	var keys []string
	for i := range 5 {
		id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i+1)
		keys = append(keys, id)
		e.Accounts[0].Keys = append(e.Accounts[0].Keys, KeyDef{ID: id, Region: "us-east-1"})
	}
	e.Deny = []DenyRule{
		{RoleArn: "arn:aws:iam::888888888888:role/OrganizationAccountAccessRole"},
		{Operation: "ListKeys", Account: "999999999999", Region: "us-west-2"},
		{Operation: "GetKeyRotationStatus", KeyID: keys[0]},
		{Operation: "GetKeyRotationStatus", KeyID: "arn:aws:kms:us-east-1:123456789012:key/" + keys[2]},
		{Operation: "GetKeyRotationStatus", KeyID: keys[4]},
	}
	return e, keys
}

func TestScopedDenyRules(t *testing.T) {
	e, keys := denyEstate()
	run := startFrame(t, Options{Estate: e})
	ctx := context.Background()
	base := defaultConfig(run)
	assume := func(account string) aws.Config {
		cfg := base.Copy()
		cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(base),
			"arn:aws:iam::"+account+":role/OrganizationAccountAccessRole",
			func(o *stscreds.AssumeRoleOptions) { o.RoleSessionName = "scan" }))
		return cfg
	}

	// (a) AssumeRole is denied for exactly one role.
	_, err := sts.NewFromConfig(base).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::888888888888:role/OrganizationAccountAccessRole"), RoleSessionName: aws.String("scan")})
	if apiCode(err) != "AccessDenied" || !strings.Contains(apiMessage(err), "sts:AssumeRole on resource: arn:aws:iam::888888888888:role/OrganizationAccountAccessRole") {
		t.Errorf("AssumeRole of the denied role: %v, want AccessDenied naming the role", err)
	}
	for _, acct := range []string{prodAccount, "999999999999"} {
		if _, err := assume(acct).Credentials.Retrieve(ctx); err != nil {
			t.Errorf("AssumeRole into %s: %v, want success", acct, err)
		}
	}

	// (b) ListKeys is denied in one Region of one account.
	for _, tt := range []struct {
		account, region, want string
	}{
		{"999999999999", "us-west-2", "AccessDeniedException"},
		{"999999999999", "us-east-1", ""},
		{prodAccount, "us-west-2", ""},
	} {
		cfg := assume(tt.account)
		cfg.Region = tt.region
		_, err := kms.NewFromConfig(cfg).ListKeys(ctx, &kms.ListKeysInput{})
		if got := apiCode(err); got != tt.want {
			t.Errorf("ListKeys in %s %s: %v, want %q", tt.account, tt.region, err, tt.want)
		}
		if _, err := kms.NewFromConfig(cfg).ListAliases(ctx, &kms.ListAliasesInput{}); err != nil {
			t.Errorf("ListAliases in %s %s: %v, want success (the rule names ListKeys only)", tt.account, tt.region, err)
		}
	}

	// (c) GetKeyRotationStatus is denied for exactly three keys, whether the
	// rule or the request names them by ID or ARN.
	client := kms.NewFromConfig(base)
	var denied []string
	for _, id := range keys {
		for _, ref := range []string{id, keyARN(DefaultAccount, "us-east-1", id)} {
			_, err := client.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: aws.String(ref)})
			switch apiCode(err) {
			case "AccessDeniedException":
				if ref == id {
					denied = append(denied, id)
				}
			case "":
			default:
				t.Errorf("GetKeyRotationStatus %s: %v", ref, err)
			}
		}
		if _, err := client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)}); err != nil {
			t.Errorf("DescribeKey %s: %v, want success", id, err)
		}
	}
	if want := []string{keys[0], keys[2], keys[4]}; strings.Join(denied, ",") != strings.Join(want, ",") {
		t.Errorf("GetKeyRotationStatus denied for %v, want %v", denied, want)
	}
}

func TestDenyRoleArnValidation(t *testing.T) {
	for _, tt := range []struct {
		rule DenyRule
		want string
	}{
		{DenyRule{RoleArn: "arn:aws:iam::888888888888:user/x"}, "is not a role ARN"},
		{DenyRule{RoleArn: "arn:aws:iam::888888888888:role/x", Operation: "ListKeys"}, "role_arn applies to AssumeRole only"},
	} {
		e, _ := denyEstate()
		e.Deny = []DenyRule{tt.rule}
		if err := validateEstate(e); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("deny %+v: validateEstate = %v, want an error containing %q", tt.rule, err, tt.want)
		}
	}
}
