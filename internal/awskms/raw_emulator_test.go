package awskms

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/kmsrotor/kmsrotor/internal/kmsemu"
)

// These tests check that Raw, kmsrotor's client of CloudFormation and
// Security Hub, reads the emulator's answers of those services, in the
// commercial partition and in GovCloud.

const (
	rawKey    = "11111111-1111-4111-8111-00000000aa01"
	rawGovKey = "11111111-1111-4111-8111-00000000aa02"
	govAcct   = "444444444444"
)

func rawEstate() *kmsemu.Estate {
	return &kmsemu.Estate{Accounts: []kmsemu.Account{
		{ID: acct, Regions: []string{"us-east-1", "eu-west-1"}, Credentials: creds(),
			SecurityHub: &kmsemu.SecurityHubDef{Regions: []string{"us-east-1"}},
			Keys:        []kmsemu.KeyDef{{ID: rawKey, Region: "us-east-1"}},
			Stacks: []kmsemu.Stack{{Name: "kms", Region: "us-east-1",
				Resources: []kmsemu.StackResource{{LogicalID: "AppKey", KeyID: rawKey}}}}},
		{ID: govAcct, Partition: "aws-us-gov",
			Credentials: []kmsemu.Credential{{AccessKeyID: "gov", SecretAccessKey: "gov"}},
			Keys:        []kmsemu.KeyDef{{ID: rawGovKey, Region: "us-gov-west-1"}},
			Stacks: []kmsemu.Stack{{Name: "kms-gov", Region: "us-gov-west-1",
				Resources: []kmsemu.StackResource{{LogicalID: "GovKey", KeyID: rawGovKey}}}}},
	}}
}

type rawStackResources struct {
	Summaries []struct {
		LogicalResourceID  string `xml:"LogicalResourceId"`
		PhysicalResourceID string `xml:"PhysicalResourceId"`
		ResourceType       string `xml:"ResourceType"`
		ResourceStatus     string `xml:"ResourceStatus"`
	} `xml:"ListStackResourcesResult>StackResourceSummaries>member"`
	NextToken string `xml:"ListStackResourcesResult>NextToken"`
}

func TestRawCloudFormationAgainstEmulator(t *testing.T) {
	emu, opts := start(t, kmsemu.Options{Estate: rawEstate()}, fastRetries)
	ctx := context.Background()
	cfn := NewRaw(opts.Config, "cloudformation", "CloudFormation", "us-east-1")
	var out rawStackResources
	if err := cfn.Query(ctx, "ListStackResources", "2010-05-15", url.Values{"StackName": {"kms"}}, &out); err != nil {
		t.Fatalf("ListStackResources: %v", err)
	}
	if len(out.Summaries) != 1 || out.Summaries[0].PhysicalResourceID != rawKey || out.Summaries[0].ResourceType != "AWS::KMS::Key" ||
		out.Summaries[0].LogicalResourceID != "AppKey" || out.Summaries[0].ResourceStatus != "CREATE_COMPLETE" || out.NextToken != "" {
		t.Errorf("ListStackResources kms = %+v", out)
	}
	err := cfn.Query(ctx, "ListStackResources", "2010-05-15", url.Values{"StackName": {"nope"}}, &out)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != "ValidationError" || ae.Message != "Stack with id nope does not exist" || ae.StatusCode != 400 {
		t.Errorf("ListStackResources nope: %v, want APIError 400 ValidationError", err)
	}

	govCfg := StaticConfig(emu.URL, "us-gov-west-1", "gov", "gov", fastRetries)
	gov := NewRaw(govCfg, "cloudformation", "CloudFormation", "us-gov-west-1")
	var stacks struct {
		IDs []string `xml:"ListStacksResult>StackSummaries>member>StackId"`
	}
	if err := gov.Query(ctx, "ListStacks", "2010-05-15", nil, &stacks); err != nil {
		t.Fatalf("GovCloud ListStacks: %v", err)
	}
	if len(stacks.IDs) != 1 || !strings.HasPrefix(stacks.IDs[0], "arn:aws-us-gov:cloudformation:us-gov-west-1:444444444444:stack/kms-gov/") {
		t.Errorf("GovCloud ListStacks = %v, want the kms-gov stack's GovCloud ARN", stacks.IDs)
	}
}

func TestRawSecurityHubAgainstEmulator(t *testing.T) {
	_, opts := start(t, kmsemu.Options{Estate: rawEstate()}, fastRetries)
	ctx := context.Background()
	hub := NewRaw(opts.Config, "securityhub", "SecurityHub", "us-east-1")
	finding := func(id, schema string) map[string]any {
		return map[string]any{
			"SchemaVersion": schema, "Id": id, "GeneratorId": "kmsrotor/rotation_disabled", "AwsAccountId": acct,
			"ProductArn": "arn:aws:securityhub:us-east-1:" + acct + ":product/" + acct + "/default",
			"Types":      []string{"Software and Configuration Checks"}, "CreatedAt": "2026-06-01T12:00:00Z",
			"UpdatedAt": "2026-06-01T12:00:00Z", "Severity": map[string]string{"Label": "MEDIUM"},
			"Title": "KMS key rotation is not enabled", "Description": "Rotation is off.",
			"Resources":  []map[string]string{{"Type": "AwsKmsKey", "Id": "arn:aws:kms:us-east-1:" + acct + ":key/" + rawKey}},
			"Compliance": map[string]string{"Status": "FAILED"},
		}
	}
	var out struct {
		FailedCount, SuccessCount int
		FailedFindings            []struct{ Id, ErrorCode, ErrorMessage string }
	}
	in := map[string]any{"Findings": []any{finding("good", "2018-10-08"), finding("bad", "2020-01-01")}}
	if err := hub.RESTJSON(ctx, "BatchImportFindings", "POST", "/findings/import", in, &out); err != nil {
		t.Fatalf("BatchImportFindings: %v", err)
	}
	if out.SuccessCount != 1 || out.FailedCount != 1 || len(out.FailedFindings) != 1 ||
		out.FailedFindings[0].Id != "bad" || out.FailedFindings[0].ErrorCode != "InvalidInput" {
		t.Errorf("BatchImportFindings = %+v, want one success and bad failed as InvalidInput", out)
	}

	eu := NewRaw(opts.Config, "securityhub", "SecurityHub", "eu-west-1")
	err := eu.RESTJSON(ctx, "BatchImportFindings", "POST", "/findings/import", in, &out)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != "InvalidAccessException" || ae.StatusCode != 401 {
		t.Errorf("BatchImportFindings where Security Hub is off: %v, want APIError 401 InvalidAccessException", err)
	}
}
