package kmsemu

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
)

const (
	cfnOrdersKey = "11111111-aaaa-4bbb-8ccc-000000000001"
	cfnLogsKey   = "11111111-aaaa-4bbb-8ccc-000000000002"
	cfnFreeKey   = "11111111-aaaa-4bbb-8ccc-000000000003"
	cfnMRK       = "mrk-1111aaaa2222bbbb3333cccc4444dddd"
)

// stackEstate is the default account with keys owned by stacks: kms-prod
// owns two keys, a deleted stack once owned a third, replicas owns a
// multi-Region key's replica in eu-west-1, big owns 105 keys, and 150 empty
// stacks fill ListStacks' pages.
func stackEstate() *Estate {
	a := Account{ID: DefaultAccount, Name: "management", Regions: []string{"us-east-1", "eu-west-1"},
		Keys: []KeyDef{
			{ID: cfnOrdersKey, Region: "us-east-1"},
			{ID: cfnLogsKey, Region: "us-east-1"},
			{ID: cfnFreeKey, Region: "us-east-1"},
			{ID: cfnMRK, Region: "us-east-1", MultiRegion: true, ReplicaRegions: []string{"eu-west-1"}},
		},
		Stacks: []Stack{
			{Name: "kms-prod", Region: "us-east-1", Resources: []StackResource{
				{LogicalID: "OrdersKey", KeyID: cfnOrdersKey},
				{LogicalID: "LogsKey", KeyID: cfnLogsKey, Status: "UPDATE_COMPLETE"},
			}},
			{Name: "kms-old", Region: "us-east-1", Status: "DELETE_COMPLETE", Resources: []StackResource{
				{LogicalID: "FreeKey", KeyID: cfnFreeKey, Status: "DELETE_COMPLETE"},
			}},
			{Name: "replicas", Region: "eu-west-1", Resources: []StackResource{{LogicalID: "Replica", KeyID: cfnMRK}}},
		}}
	big := Stack{Name: "big", Region: "us-east-1", Status: "UPDATE_COMPLETE"}
	for i := range 105 {
		id := fmt.Sprintf("22222222-aaaa-4bbb-8ccc-%012d", i)
		a.Keys = append(a.Keys, KeyDef{ID: id, Region: "us-east-1"})
		big.Resources = append(big.Resources, StackResource{LogicalID: fmt.Sprintf("Key%d", i), KeyID: id})
	}
	a.Stacks = append(a.Stacks, big)
	for i := range 150 {
		a.Stacks = append(a.Stacks, Stack{Name: fmt.Sprintf("app-%03d", i), Region: "us-east-1"})
	}
	return &Estate{Accounts: []Account{a}}
}

func TestCloudFormationListStacks(t *testing.T) {
	run := startFrame(t, Options{Estate: stackEstate()})
	ctx := context.Background()
	client := cloudformation.NewFromConfig(defaultConfig(run))

	list := func(filter ...cfntypes.StackStatus) (names []string, pages int) {
		p := cloudformation.NewListStacksPaginator(client, &cloudformation.ListStacksInput{StackStatusFilter: filter})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatalf("ListStacks %v: %v", filter, err)
			}
			pages++
			for _, s := range page.StackSummaries {
				names = append(names, aws.ToString(s.StackName))
				if s.CreationTime == nil || s.StackId == nil || !strings.HasPrefix(aws.ToString(s.StackId),
					"arn:aws:cloudformation:us-east-1:123456789012:stack/"+aws.ToString(s.StackName)+"/") {
					t.Errorf("stack summary %+v lacks CreationTime or a stack ARN", s)
				}
				if (s.StackStatus == cfntypes.StackStatusDeleteComplete) != (s.DeletionTime != nil) {
					t.Errorf("stack %s (%s): DeletionTime %v", aws.ToString(s.StackName), s.StackStatus, s.DeletionTime)
				}
			}
		}
		return names, pages
	}
	all, pages := list()
	if len(all) != 153 || pages != 2 {
		t.Errorf("ListStacks: %d stacks over %d pages, want 153 over 2", len(all), pages)
	}
	live, _ := list(cfntypes.StackStatusCreateComplete, cfntypes.StackStatusUpdateComplete)
	if len(live) != 152 || slices.Contains(live, "kms-old") {
		t.Errorf("ListStacks CREATE_COMPLETE,UPDATE_COMPLETE: %d stacks (kms-old in: %v), want 152 without kms-old",
			len(live), slices.Contains(live, "kms-old"))
	}
	updated, _ := list(cfntypes.StackStatusUpdateComplete)
	if !slices.Equal(updated, []string{"big"}) {
		t.Errorf("ListStacks UPDATE_COMPLETE = %v, want [big]", updated)
	}
	deleted, _ := list(cfntypes.StackStatusDeleteComplete)
	if !slices.Equal(deleted, []string{"kms-old"}) {
		t.Errorf("ListStacks DELETE_COMPLETE = %v, want [kms-old]", deleted)
	}
	// Another Region has its own stacks.
	eu := defaultConfig(run)
	eu.Region = "eu-west-1"
	out, err := cloudformation.NewFromConfig(eu).ListStacks(ctx, &cloudformation.ListStacksInput{})
	if err != nil || len(out.StackSummaries) != 1 || aws.ToString(out.StackSummaries[0].StackName) != "replicas" {
		t.Errorf("ListStacks in eu-west-1 = %+v, %v; want [replicas]", out, err)
	}

	_, err = client.ListStacks(ctx, &cloudformation.ListStacksInput{StackStatusFilter: []cfntypes.StackStatus{"DONE"}})
	if apiCode(err) != "ValidationError" {
		t.Errorf("ListStacks with filter DONE: %v, want ValidationError", err)
	}
	_, err = client.ListStacks(ctx, &cloudformation.ListStacksInput{NextToken: aws.String("made-up")})
	if apiCode(err) != "ValidationError" {
		t.Errorf("ListStacks with a made-up token: %v, want ValidationError", err)
	}
}

func TestCloudFormationStackResources(t *testing.T) {
	run := startFrame(t, Options{Estate: stackEstate()})
	ctx := context.Background()
	client := cloudformation.NewFromConfig(defaultConfig(run))

	out, err := client.ListStackResources(ctx, &cloudformation.ListStackResourcesInput{StackName: aws.String("kms-prod")})
	if err != nil {
		t.Fatalf("ListStackResources kms-prod: %v", err)
	}
	var got []string
	for _, r := range out.StackResourceSummaries {
		got = append(got, fmt.Sprintf("%s=%s %s %s", aws.ToString(r.LogicalResourceId), aws.ToString(r.PhysicalResourceId),
			aws.ToString(r.ResourceType), r.ResourceStatus))
		if r.LastUpdatedTimestamp == nil {
			t.Errorf("resource %s has no LastUpdatedTimestamp", aws.ToString(r.LogicalResourceId))
		}
	}
	want := []string{"OrdersKey=" + cfnOrdersKey + " AWS::KMS::Key CREATE_COMPLETE", "LogsKey=" + cfnLogsKey + " AWS::KMS::Key UPDATE_COMPLETE"}
	if !slices.Equal(got, want) || out.NextToken != nil {
		t.Errorf("ListStackResources kms-prod = %v (NextToken %v), want %v", got, out.NextToken, want)
	}

	// 105 resources take two pages.
	var n, pages int
	p := cloudformation.NewListStackResourcesPaginator(client, &cloudformation.ListStackResourcesInput{StackName: aws.String("big")})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListStackResources big: %v", err)
		}
		pages++
		n += len(page.StackResourceSummaries)
	}
	if n != 105 || pages != 2 {
		t.Errorf("ListStackResources big: %d resources over %d pages, want 105 over 2", n, pages)
	}

	// A deleted stack is found by its ID, not by its name.
	_, err = client.ListStackResources(ctx, &cloudformation.ListStackResourcesInput{StackName: aws.String("kms-old")})
	if apiCode(err) != "ValidationError" || apiMessage(err) != "Stack with id kms-old does not exist" {
		t.Errorf("ListStackResources of a deleted stack by name: %v, want ValidationError Stack with id kms-old does not exist", err)
	}
	stacks, err := client.ListStacks(ctx, &cloudformation.ListStacksInput{StackStatusFilter: []cfntypes.StackStatus{cfntypes.StackStatusDeleteComplete}})
	if err != nil || len(stacks.StackSummaries) != 1 {
		t.Fatalf("ListStacks DELETE_COMPLETE = %+v, %v", stacks, err)
	}
	old, err := client.ListStackResources(ctx, &cloudformation.ListStackResourcesInput{StackName: stacks.StackSummaries[0].StackId})
	if err != nil || len(old.StackResourceSummaries) != 1 || old.StackResourceSummaries[0].ResourceStatus != cfntypes.ResourceStatusDeleteComplete {
		t.Errorf("ListStackResources of the deleted stack by ID = %+v, %v", old, err)
	}
	_, err = client.ListStackResources(ctx, &cloudformation.ListStackResourcesInput{StackName: aws.String("nope")})
	if apiCode(err) != "ValidationError" || apiMessage(err) != "Stack with id nope does not exist" {
		t.Errorf("ListStackResources nope: %v, want ValidationError Stack with id nope does not exist", err)
	}

	// DescribeStackResources by physical ID finds the owning stack.
	d, err := client.DescribeStackResources(ctx, &cloudformation.DescribeStackResourcesInput{PhysicalResourceId: aws.String(cfnLogsKey)})
	if err != nil || len(d.StackResources) != 2 || aws.ToString(d.StackResources[0].StackName) != "kms-prod" {
		t.Fatalf("DescribeStackResources by %s = %+v, %v; want kms-prod's two keys", cfnLogsKey, d, err)
	}
	d, err = client.DescribeStackResources(ctx, &cloudformation.DescribeStackResourcesInput{
		StackName: aws.String("kms-prod"), LogicalResourceId: aws.String("LogsKey")})
	if err != nil || len(d.StackResources) != 1 || aws.ToString(d.StackResources[0].PhysicalResourceId) != cfnLogsKey ||
		d.StackResources[0].Timestamp == nil || aws.ToString(d.StackResources[0].StackId) == "" {
		t.Errorf("DescribeStackResources kms-prod LogsKey = %+v, %v", d, err)
	}
	for _, id := range []string{cfnFreeKey, "44444444-aaaa-4bbb-8ccc-000000000009"} {
		_, err = client.DescribeStackResources(ctx, &cloudformation.DescribeStackResourcesInput{PhysicalResourceId: aws.String(id)})
		if apiCode(err) != "ValidationError" || apiMessage(err) != "Stack for "+id+" does not exist" {
			t.Errorf("DescribeStackResources by unowned %s: %v, want ValidationError Stack for … does not exist", id, err)
		}
	}
	_, err = client.DescribeStackResources(ctx, &cloudformation.DescribeStackResourcesInput{})
	if apiCode(err) != "ValidationError" {
		t.Errorf("DescribeStackResources without StackName or PhysicalResourceId: %v, want ValidationError", err)
	}

	// A replica key is an AWS::KMS::ReplicaKey of the stack in its Region.
	eu := defaultConfig(run)
	eu.Region = "eu-west-1"
	r, err := cloudformation.NewFromConfig(eu).DescribeStackResources(ctx, &cloudformation.DescribeStackResourcesInput{
		PhysicalResourceId: aws.String(cfnMRK)})
	if err != nil || len(r.StackResources) != 1 || aws.ToString(r.StackResources[0].ResourceType) != "AWS::KMS::ReplicaKey" {
		t.Errorf("DescribeStackResources of the replica = %+v, %v; want one AWS::KMS::ReplicaKey", r, err)
	}
}

func TestCloudFormationStateFileKeepsStacks(t *testing.T) {
	state := t.TempDir() + "/state.json"
	run := startFrame(t, Options{Estate: stackEstate(), StateFile: state})
	if err := run.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	again := startFrame(t, Options{StateFile: state})
	eu := defaultConfig(again)
	eu.Region = "eu-west-1"
	out, err := cloudformation.NewFromConfig(eu).ListStackResources(context.Background(),
		&cloudformation.ListStackResourcesInput{StackName: aws.String("replicas")})
	if err != nil || len(out.StackResourceSummaries) != 1 || aws.ToString(out.StackResourceSummaries[0].ResourceType) != "AWS::KMS::ReplicaKey" {
		t.Errorf("after a restart from the state file, ListStackResources replicas = %+v, %v", out, err)
	}
}

func TestCloudFormationQuotaAndErrors(t *testing.T) {
	run := startFrame(t, Options{Estate: stackEstate(), QuotaScale: 0.1})
	ctx := context.Background()
	client := cloudformation.NewFromConfig(defaultConfig(run))
	// At a tenth of 10/s the bucket holds one request.
	if _, err := client.ListStacks(ctx, &cloudformation.ListStacksInput{}); err != nil {
		t.Fatalf("first ListStacks: %v", err)
	}
	_, err := client.ListStacks(ctx, &cloudformation.ListStacksInput{})
	if apiCode(err) != "Throttling" || httpStatus(err) != 400 {
		t.Errorf("second ListStacks at once: %v, want 400 Throttling", err)
	}

	// The raw error body is CloudFormation's ErrorResponse.
	body := url.Values{"Action": {"ListStackResources"}, "Version": {cfnVersion}, "StackName": {"nope"}}.Encode()
	req, _ := http.NewRequest(http.MethodPost, run.URL+"/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	signRequest(t, req, []byte(body), DefaultAccessKeyID, DefaultSecretAccessKey, "", "cloudformation", "us-east-1", time.Now())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := `<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id nope does not exist</Message></Error>`
	if resp.StatusCode != 400 || !strings.HasPrefix(string(raw), want) {
		t.Errorf("raw ListStackResources nope: %d %s, want 400 %s…", resp.StatusCode, raw, want)
	}

	// Wrong credentials get CloudFormation's Query-protocol codes.
	bad := defaultConfig(run)
	bad.Credentials = sdkConfig(run.URL, "nobody", "x", "us-east-1").Credentials
	_, err = cloudformation.NewFromConfig(bad).ListStacks(ctx, &cloudformation.ListStacksInput{})
	if apiCode(err) != "InvalidClientTokenId" || httpStatus(err) != 403 {
		t.Errorf("ListStacks with an unknown key: %v, want 403 InvalidClientTokenId", err)
	}
}

func TestStackEstateErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(a *Account)
		want   string
	}{
		{"unknown key", func(a *Account) { a.Stacks[0].Resources[0].KeyID = "99999999-aaaa-4bbb-8ccc-000000000001" },
			"is not a customer managed key of the account in us-east-1"},
		{"key of another Region", func(a *Account) { a.Stacks[2].Resources[0].KeyID = cfnOrdersKey },
			"is not a customer managed key of the account in eu-west-1"},
		{"AWS managed key", func(a *Account) {
			a.Keys = append(a.Keys, KeyDef{ID: "33333333-aaaa-4bbb-8ccc-000000000001", Region: "us-east-1", Manager: "AWS", Aliases: []string{"alias/aws/s3"}})
			a.Stacks[0].Resources[0].KeyID = "33333333-aaaa-4bbb-8ccc-000000000001"
		}, "is not a customer managed key"},
		{"Region not enabled", func(a *Account) { a.Stacks[0].Region = "us-west-2" }, `region "us-west-2" is not enabled`},
		{"bad name", func(a *Account) { a.Stacks[0].Name = "1stack" }, "must start with a letter"},
		{"bad status", func(a *Account) { a.Stacks[0].Status = "DONE" }, `status "DONE" is not a stack status`},
		{"bad resource status", func(a *Account) { a.Stacks[0].Resources[0].Status = "OK" }, `status "OK" is not a resource status`},
		{"two live stacks of one name", func(a *Account) { a.Stacks[3].Name = "kms-prod" }, "a live stack named kms-prod already exists"},
		{"duplicate logical ID", func(a *Account) { a.Stacks[0].Resources[1].LogicalID = "OrdersKey" }, "logical_id OrdersKey is used twice"},
		{"bad logical ID", func(a *Account) { a.Stacks[0].Resources[1].LogicalID = "Logs-Key" }, "must be 1 to 255 letters and digits"},
		{"key owned twice", func(a *Account) { a.Stacks[3].Resources[0].KeyID = cfnOrdersKey }, "is also owned by stack kms-prod"},
	}
	for _, tt := range tests {
		e := stackEstate()
		tt.change(&e.Accounts[0])
		if err := validateEstate(e); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: validateEstate = %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
	if err := validateEstate(stackEstate()); err != nil {
		t.Errorf("validateEstate(stackEstate()) = %v", err)
	}
	// The deleted stack may name a key a live stack owns now.
	e := stackEstate()
	e.Accounts[0].Stacks[1].Resources[0].KeyID = cfnOrdersKey
	if err := validateEstate(e); err != nil {
		t.Errorf("a deleted stack naming a live stack's key: %v, want valid", err)
	}
}

// TestCloudFormationDenied checks that deny rules reach CloudFormation and
// Security Hub, answered in each service's shape.
func TestCloudFormationDenied(t *testing.T) {
	e := stackEstate()
	e.Deny = []DenyRule{
		{Operation: "ListStacks", Account: DefaultAccount, Region: "us-east-1"},
		{Operation: "BatchImportFindings", Region: "eu-west-1"},
	}
	run := startFrame(t, Options{Estate: e})
	ctx := context.Background()
	_, err := cloudformation.NewFromConfig(defaultConfig(run)).ListStacks(ctx, &cloudformation.ListStacksInput{})
	if apiCode(err) != "AccessDenied" || httpStatus(err) != 403 || !strings.Contains(apiMessage(err), "cloudformation:ListStacks") {
		t.Errorf("denied ListStacks: %v, want 403 AccessDenied naming cloudformation:ListStacks", err)
	}
	eu := defaultConfig(run)
	eu.Region = "eu-west-1"
	if _, err := cloudformation.NewFromConfig(eu).ListStacks(ctx, &cloudformation.ListStacksInput{}); err != nil {
		t.Errorf("ListStacks in eu-west-1: %v, want success", err)
	}
	if _, err := cloudformation.NewFromConfig(defaultConfig(run)).ListStackResources(ctx,
		&cloudformation.ListStackResourcesInput{StackName: aws.String("kms-prod")}); err != nil {
		t.Errorf("ListStackResources in us-east-1: %v, want success (the rule names ListStacks)", err)
	}
	status, body := hubRawIn(t, run, "eu-west-1", "/findings/import", `{"Findings":[]}`)
	if status != 403 || !strings.Contains(body, "AccessDeniedException") {
		t.Errorf("denied BatchImportFindings: %d %s, want 403 AccessDeniedException", status, body)
	}
}
