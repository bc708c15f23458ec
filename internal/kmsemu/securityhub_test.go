package kmsemu

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// hubFinding is a valid ASFF finding of the account in region.
func hubFinding(id, account, region string) shtypes.AwsSecurityFinding {
	now := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC).Format(time.RFC3339)
	return shtypes.AwsSecurityFinding{
		SchemaVersion: aws.String(asffSchemaVersion),
		Id:            aws.String(id),
		ProductArn:    aws.String(productArn(account, region)),
		GeneratorId:   aws.String("kmsrotor/rotation_disabled"),
		AwsAccountId:  aws.String(account),
		Types:         []string{"Software and Configuration Checks/Industry and Regulatory Standards/CIS AWS Foundations Benchmark"},
		CreatedAt:     aws.String(now),
		UpdatedAt:     aws.String(now),
		Severity:      &shtypes.Severity{Label: shtypes.SeverityLabelMedium},
		Title:         aws.String("KMS key rotation is not enabled"),
		Description:   aws.String("Automatic rotation of key material is off."),
		Resources: []shtypes.Resource{{Type: aws.String("AwsKmsKey"),
			Id: aws.String("arn:aws:kms:" + region + ":" + account + ":key/" + id)}},
		Compliance: &shtypes.Compliance{Status: shtypes.ComplianceStatusFailed},
	}
}

// hubClient is a Security Hub SDK client for cfg.
//
// The SDK (aws-sdk-go-v2 1.48 on Go 1.26) fails now and then, about once in
// a hundred calls, to read an answer of tens of kilobytes: "deserialization
// failed, … read tcp …: use of closed network connection" on the client's
// side of the connection. It does so against a plain httptest server too,
// and for KMS ListKeys of 1,000 keys, so it is no fault of the emulator;
// plain reads of the same answers never fail (TestSecurityHubFullPage). The
// listings here are read over plain HTTP, and the SDK reads GetFindings'
// shape from one-finding answers only.
func hubClient(cfg aws.Config) *securityhub.Client {
	return securityhub.NewFromConfig(cfg)
}

func hubEstate() *Estate {
	e := frameEstate()
	// prod has Security Hub in us-east-1 only; dev nowhere.
	e.Accounts[1].SecurityHub = &SecurityHubDef{Regions: []string{"us-east-1"}}
	e.Accounts[2].SecurityHub = &SecurityHubDef{}
	return e
}

func TestSecurityHubImportAndGet(t *testing.T) {
	run := startFrame(t, Options{Estate: hubEstate()})
	ctx := context.Background()
	client := hubClient(defaultConfig(run))

	// 250 findings in three batches of at most 100.
	var all []shtypes.AwsSecurityFinding
	for i := range 250 {
		all = append(all, hubFinding(fmt.Sprintf("kmsrotor-%03d", i), DefaultAccount, "us-east-1"))
	}
	for start := 0; start < len(all); start += maxImportFindings {
		batch := all[start:min(start+maxImportFindings, len(all))]
		out, err := client.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: batch})
		if err != nil {
			t.Fatalf("BatchImportFindings of %d: %v", len(batch), err)
		}
		if aws.ToInt32(out.SuccessCount) != int32(len(batch)) || aws.ToInt32(out.FailedCount) != 0 || len(out.FailedFindings) != 0 {
			t.Errorf("BatchImportFindings of %d: success %d, failed %d %+v", len(batch), aws.ToInt32(out.SuccessCount),
				aws.ToInt32(out.FailedCount), out.FailedFindings)
		}
	}
	over := append(all[:100:100], hubFinding("one-too-many", DefaultAccount, "us-east-1"))
	_, err := client.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: over})
	if apiCode(err) != "InvalidInputException" || httpStatus(err) != 400 {
		t.Errorf("BatchImportFindings of 101: %v, want 400 InvalidInputException", err)
	}

	// A resolved key's finding is imported again, archived and passed: an
	// upsert by ProductArn and Id.
	resolved := hubFinding("kmsrotor-007", DefaultAccount, "us-east-1")
	resolved.Compliance.Status = shtypes.ComplianceStatusPassed
	resolved.RecordState = shtypes.RecordStateArchived
	if _, err := client.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: []shtypes.AwsSecurityFinding{resolved}}); err != nil {
		t.Fatalf("BatchImportFindings of the resolved finding: %v", err)
	}

	// GetFindings over plain HTTP (see hubClient), page by page.
	type filters map[string][]map[string]string
	count := func(filters filters, pageSize int32) (n int, ids []string) {
		token := ""
		for {
			in := map[string]any{"MaxResults": pageSize}
			if filters != nil {
				in["Filters"] = filters
			}
			if token != "" {
				in["NextToken"] = token
			}
			b, _ := json.Marshal(in)
			status, body := hubRaw(t, run, "/findings", string(b), DefaultAccessKeyID, DefaultSecretAccessKey)
			var out struct {
				Findings  []struct{ Id string }
				NextToken string
			}
			if status != 200 || json.Unmarshal([]byte(body), &out) != nil {
				t.Fatalf("GetFindings %s: %d %.300s", b, status, body)
			}
			for _, f := range out.Findings {
				n++
				ids = append(ids, f.Id)
			}
			if out.NextToken == "" {
				return n, ids
			}
			token = out.NextToken
		}
	}
	eq := func(v string) []map[string]string { return []map[string]string{{"Value": v, "Comparison": "EQUALS"}} }
	if n, _ := count(nil, 100); n != 250 {
		t.Errorf("GetFindings without filters: %d findings, want 250", n)
	}
	if n, ids := count(filters{"RecordState": eq("ARCHIVED")}, 10); n != 1 || ids[0] != "kmsrotor-007" {
		t.Errorf("GetFindings RecordState ARCHIVED = %v, want [kmsrotor-007]", ids)
	}
	if n, _ := count(filters{"RecordState": eq("ACTIVE"), "ComplianceStatus": eq("FAILED")}, 7); n != 249 {
		t.Errorf("GetFindings ACTIVE and FAILED: %d, want 249", n)
	}
	if n, ids := count(filters{"Id": eq("kmsrotor-123")}, 100); n != 1 || ids[0] != "kmsrotor-123" {
		t.Errorf("GetFindings Id kmsrotor-123 = %v", ids)
	}
	got, err := client.GetFindings(ctx, &securityhub.GetFindingsInput{Filters: &shtypes.AwsSecurityFindingFilters{
		Id: []shtypes.StringFilter{{Value: aws.String("kmsrotor-007"), Comparison: shtypes.StringFilterComparisonEquals}}}})
	if err != nil || len(got.Findings) != 1 || got.Findings[0].Compliance == nil ||
		got.Findings[0].Compliance.Status != shtypes.ComplianceStatusPassed || aws.ToString(got.Findings[0].Region) != "us-east-1" {
		t.Errorf("GetFindings kmsrotor-007 = %+v, %v; want it PASSED in us-east-1", got, err)
	}

	// The admin API shows the same store.
	resp, err := http.Get(run.URL + "/_kmsemu/findings?account=" + DefaultAccount + "&region=us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	var admin struct{ Findings []Finding }
	err = json.NewDecoder(resp.Body).Decode(&admin)
	resp.Body.Close()
	if err != nil || len(admin.Findings) != 250 {
		t.Fatalf("/_kmsemu/findings: %d findings, %v; want 250", len(admin.Findings), err)
	}
	if f := admin.Findings[7]; f.ID != "kmsrotor-007" || f.RecordState != "ARCHIVED" || f.ComplianceStatus != "PASSED" {
		t.Errorf("/_kmsemu/findings[7] = %+v, want kmsrotor-007 ARCHIVED PASSED", f)
	}
	if f := admin.Findings[8]; f.RecordState != "ACTIVE" || f.ComplianceStatus != "FAILED" {
		t.Errorf("/_kmsemu/findings[8] = %+v, want ACTIVE FAILED", f)
	}
	if other := run.Server.Findings(DefaultAccount, "eu-west-1"); len(other) != 0 {
		t.Errorf("findings in eu-west-1: %d, want 0 (each Region has its own)", len(other))
	}
}

func TestSecurityHubRejectsInvalidFindings(t *testing.T) {
	run := startFrame(t, Options{Estate: hubEstate()})
	ctx := context.Background()
	client := hubClient(defaultConfig(run))
	f := func(id string, change func(*shtypes.AwsSecurityFinding)) shtypes.AwsSecurityFinding {
		x := hubFinding(id, DefaultAccount, "us-east-1")
		change(&x)
		return x
	}
	findings := []shtypes.AwsSecurityFinding{
		f("ok", func(*shtypes.AwsSecurityFinding) {}),
		f("bad-schema", func(x *shtypes.AwsSecurityFinding) { x.SchemaVersion = aws.String("2019-01-01") }),
		f("no-resources", func(x *shtypes.AwsSecurityFinding) { x.Resources = []shtypes.Resource{} }),
		f("bad-type", func(x *shtypes.AwsSecurityFinding) { x.Types = []string{"a/b/c/d"} }),
		f("no-severity-types", func(x *shtypes.AwsSecurityFinding) { x.Severity, x.Types = nil, nil }),
		f("provider-fields", func(x *shtypes.AwsSecurityFinding) {
			x.FindingProviderFields = &shtypes.FindingProviderFields{Severity: &shtypes.FindingProviderSeverity{Label: shtypes.SeverityLabelHigh},
				Types: []string{"Software and Configuration Checks"}}
			x.Severity, x.Types = nil, nil
		}),
		f("bad-date", func(x *shtypes.AwsSecurityFinding) { x.CreatedAt = aws.String("yesterday") }),
		f("empty-resource-type", func(x *shtypes.AwsSecurityFinding) { x.Resources[0].Type = aws.String("") }),
	}
	out, err := client.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: findings})
	if err != nil {
		t.Fatalf("BatchImportFindings: %v", err)
	}
	if aws.ToInt32(out.SuccessCount) != 2 || aws.ToInt32(out.FailedCount) != 6 {
		t.Errorf("SuccessCount %d, FailedCount %d; want 2 and 6", aws.ToInt32(out.SuccessCount), aws.ToInt32(out.FailedCount))
	}
	want := map[string]string{
		"bad-schema":          "data.SchemaVersion should be equal to one of the allowed values",
		"no-resources":        "data.Resources should NOT have fewer than 1 items",
		"bad-type":            `data.Types[0] should match pattern "^([^/]+)(/[^/]+){0,2}$"`,
		"no-severity-types":   "data should have required property 'FindingProviderFields'",
		"bad-date":            `data.CreatedAt should match format "date-time"`,
		"empty-resource-type": "data.Resources[0].Type should NOT be shorter than 1 characters",
	}
	for _, ff := range out.FailedFindings {
		id, msg := aws.ToString(ff.Id), aws.ToString(ff.ErrorMessage)
		if aws.ToString(ff.ErrorCode) != "InvalidInput" || !strings.HasPrefix(msg, msgASFF) || !strings.Contains(msg, want[id]) || want[id] == "" {
			t.Errorf("failed finding %s: %s %q, want InvalidInput containing %q", id, aws.ToString(ff.ErrorCode), msg, want[id])
		}
		delete(want, id)
	}
	if len(want) > 0 {
		t.Errorf("findings not reported as failed: %v", want)
	}
	if got := run.Server.Findings(DefaultAccount, "us-east-1"); len(got) != 2 {
		t.Errorf("stored findings: %d, want the 2 valid ones", len(got))
	}

	// A finding without Title, which the SDK would not send.
	raw := `{"Findings":[{"SchemaVersion":"2018-10-08","Id":"raw-1","ProductArn":"` + productArn(DefaultAccount, "us-east-1") +
		`","GeneratorId":"g","AwsAccountId":"` + DefaultAccount + `","Types":["Effects"],"CreatedAt":"2026-11-01T10:00:00Z",` +
		`"UpdatedAt":"2026-11-01T10:00:00Z","Severity":{"Label":"LOW"},"Description":"d","Resources":[{"Id":"x"}]}]}`
	status, body := hubRaw(t, run, "/findings/import", raw, DefaultAccessKeyID, DefaultSecretAccessKey)
	if status != 200 || !strings.Contains(body, `"FailedCount":1`) || !strings.Contains(body, "data should have required property 'Title'") ||
		!strings.Contains(body, "data.Resources[0] should have required property 'Type'") {
		t.Errorf("raw import without Title: %d %s", status, body)
	}
	status, body = hubRaw(t, run, "/findings/import", `{}`, DefaultAccessKeyID, DefaultSecretAccessKey)
	if status != 400 || !strings.Contains(body, "InvalidInputException") {
		t.Errorf("raw import without Findings: %d %s, want 400 InvalidInputException", status, body)
	}
}

// hubRaw posts a signed Security Hub request and returns the status and body.
func hubRaw(t *testing.T, run *Running, path, body, akid, secret string) (int, string) {
	t.Helper()
	return hubRawAs(t, run, "us-east-1", path, body, akid, secret)
}

// hubRawIn is hubRaw with the default credentials in region.
func hubRawIn(t *testing.T, run *Running, region, path, body string) (int, string) {
	t.Helper()
	return hubRawAs(t, run, region, path, body, DefaultAccessKeyID, DefaultSecretAccessKey)
}

func hubRawAs(t *testing.T, run *Running, region, path, body, akid, secret string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, run.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	signRequest(t, req, []byte(body), akid, secret, "", "securityhub", region, time.Now())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestSecurityHubAccess(t *testing.T) {
	run := startFrame(t, Options{Estate: hubEstate()})
	ctx := context.Background()
	client := hubClient(defaultConfig(run))
	one := func(f shtypes.AwsSecurityFinding) *securityhub.BatchImportFindingsInput {
		return &securityhub.BatchImportFindingsInput{Findings: []shtypes.AwsSecurityFinding{f}}
	}

	// Another account's finding or product fails the whole request.
	_, err := client.BatchImportFindings(ctx, one(hubFinding("x", prodAccount, "us-east-1")))
	if apiCode(err) != "AccessDeniedException" || httpStatus(err) != 403 {
		t.Errorf("import of another account's finding: %v, want 403 AccessDeniedException", err)
	}
	f := hubFinding("x", DefaultAccount, "us-east-1")
	f.ProductArn = aws.String("arn:aws:securityhub:us-east-1::product/prowler/prowler")
	_, err = client.BatchImportFindings(ctx, one(f))
	if apiCode(err) != "AccessDeniedException" || !strings.Contains(apiMessage(err), "product/prowler/prowler") {
		t.Errorf("import under another product: %v, want AccessDeniedException naming it", err)
	}
	f = hubFinding("x", DefaultAccount, "eu-west-1")
	_, err = client.BatchImportFindings(ctx, one(f))
	if apiCode(err) != "AccessDeniedException" {
		t.Errorf("import in us-east-1 under eu-west-1's product: %v, want AccessDeniedException", err)
	}

	// Security Hub must be enabled in the account-Region.
	prod := sdkConfig(run.URL, DefaultAccessKeyID, DefaultSecretAccessKey, "us-west-2")
	prodRole(t, run, &prod)
	_, err = hubClient(prod).BatchImportFindings(ctx, one(hubFinding("x", prodAccount, "us-west-2")))
	if apiCode(err) != "InvalidAccessException" || httpStatus(err) != 401 {
		t.Errorf("prod in us-west-2 (not enabled): %v, want 401 InvalidAccessException", err)
	}
	prod.Region = "us-east-1"
	if _, err := hubClient(prod).BatchImportFindings(ctx, one(hubFinding("x", prodAccount, "us-east-1"))); err != nil {
		t.Errorf("prod in us-east-1 (enabled): %v", err)
	}
	_, err = hubClient(sdkConfig(run.URL, devKeyID, devSecret, "us-east-1")).GetFindings(ctx, &securityhub.GetFindingsInput{})
	if apiCode(err) != "InvalidAccessException" {
		t.Errorf("dev (Security Hub nowhere): %v, want InvalidAccessException", err)
	}

	// Unknown credentials, and a filter the emulator does not implement.
	_, err = hubClient(sdkConfig(run.URL, "nobody", "x", "us-east-1")).GetFindings(ctx, &securityhub.GetFindingsInput{})
	if apiCode(err) != "UnrecognizedClientException" || httpStatus(err) != 403 {
		t.Errorf("GetFindings with an unknown key: %v, want 403 UnrecognizedClientException", err)
	}
	_, err = client.GetFindings(ctx, &securityhub.GetFindingsInput{Filters: &shtypes.AwsSecurityFindingFilters{
		Title: []shtypes.StringFilter{{Value: aws.String("x"), Comparison: shtypes.StringFilterComparisonEquals}}}})
	if apiCode(err) != "InvalidInputException" || !strings.Contains(apiMessage(err), "Title") {
		t.Errorf("GetFindings by Title: %v, want InvalidInputException naming the filter", err)
	}
}

// prodRole points cfg at the prod account through its
// OrganizationAccountAccessRole.
func prodRole(t *testing.T, run *Running, cfg *aws.Config) {
	t.Helper()
	creds := assumeProd(t, run)
	cfg.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil })
}

func assumeProd(t *testing.T, run *Running) aws.Credentials {
	t.Helper()
	out, err := sts.NewFromConfig(defaultConfig(run)).AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::111111111111:role/OrganizationAccountAccessRole"), RoleSessionName: aws.String("hub")})
	if err != nil {
		t.Fatalf("AssumeRole into prod: %v", err)
	}
	c := out.Credentials
	return aws.Credentials{AccessKeyID: aws.ToString(c.AccessKeyId), SecretAccessKey: aws.ToString(c.SecretAccessKey),
		SessionToken: aws.ToString(c.SessionToken)}
}

// TestSecurityHubFullPage reads GetFindings' largest pages (100 findings)
// over plain HTTP: every answer is whole, and the pages chain.
func TestSecurityHubFullPage(t *testing.T) {
	run := startFrame(t, Options{Estate: hubEstate()})
	var all []shtypes.AwsSecurityFinding
	for i := range 150 {
		all = append(all, hubFinding(fmt.Sprintf("kmsrotor-%03d", i), DefaultAccount, "us-east-1"))
	}
	client := hubClient(defaultConfig(run))
	for _, batch := range [][]shtypes.AwsSecurityFinding{all[:100], all[100:]} {
		if _, err := client.BatchImportFindings(context.Background(), &securityhub.BatchImportFindingsInput{Findings: batch}); err != nil {
			t.Fatal(err)
		}
	}
	for range 50 {
		var pages []int
		token := ""
		for {
			in := `{"MaxResults":100}`
			if token != "" {
				in = `{"MaxResults":100,"NextToken":"` + token + `"}`
			}
			status, body := hubRaw(t, run, "/findings", in, DefaultAccessKeyID, DefaultSecretAccessKey)
			var out struct {
				Findings  []map[string]any
				NextToken string
			}
			if status != 200 || json.Unmarshal([]byte(body), &out) != nil {
				t.Fatalf("GetFindings: %d %.200s", status, body)
			}
			pages = append(pages, len(out.Findings))
			if out.NextToken == "" {
				break
			}
			token = out.NextToken
		}
		if fmt.Sprint(pages) != "[100 50]" {
			t.Fatalf("GetFindings pages = %v, want [100 50]", pages)
		}
	}
}
