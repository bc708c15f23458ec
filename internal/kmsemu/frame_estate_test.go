package kmsemu

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

const validEstateYAML = `
organization: {id: o-abcdefghij, management_account: "123456789012"}
accounts:
  - id: "123456789012"
    name: mgmt
    regions: [us-east-1, eu-west-1]
    keys:
      - id: 1234abcd-12ab-34cd-56ef-1234567890ab
        region: us-east-1
        rotation: {enabled: true, period_days: 180, enabled_at: 2025-01-02T03:04:05Z}
        aliases: [alias/app]
        tags: {team: a}
  - id: "111111111111"
    name: member
    regions: [us-east-1]
    roles:
      - {name: OrganizationAccountAccessRole, trusted_accounts: ["123456789012"]}
deny:
  - {operation: ListKeys, account: "111111111111"}
`

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadEstate(t *testing.T) {
	t.Parallel()
	e, err := LoadEstate(writeFile(t, "estate.yaml", validEstateYAML))
	if err != nil {
		t.Fatalf("LoadEstate(valid estate): %v", err)
	}
	k := e.Accounts[0].Keys[0]
	if len(e.Accounts) != 2 || k.Rotation.PeriodDays != 180 ||
		!k.Rotation.EnabledAt.Equal(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)) || k.Tags["team"] != "a" ||
		e.Deny[0].Operation != "ListKeys" || e.Accounts[1].Roles[0].TrustedAccounts[0] != DefaultAccount {
		t.Errorf("LoadEstate(valid estate) = %+v, want its accounts, key rotation, tags, roles and deny rule", e)
	}
}

func TestLoadEstateErrors(t *testing.T) {
	t.Parallel()
	account := func(extra string) string {
		return "accounts:\n  - id: \"123456789012\"\n    regions: [us-east-1, eu-west-1]\n" + extra
	}
	key := func(fields string) string {
		return account("    keys:\n      - region: us-east-1\n" + fields)
	}
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown field names its line", "accounts:\n  - id: \"123456789012\"\n    colour: blue\n", []string{"line 3", "field colour not found"}},
		{"unknown key field", key("        rotaton: {enabled: true}\n"), []string{"line 6", "field rotaton not found"}},
		{"wrong type", "accounts: {id: 1}\n", []string{"line 1", "cannot unmarshal"}},
		{"empty file", "", []string{"empty"}},
		{"duplicate account", account("") + "  - id: \"123456789012\"\n", []string{"duplicate account ID 123456789012"}},
		{"bad account ID", "accounts:\n  - id: \"12345\"\n", []string{`id "12345" is not a 12-digit account ID`}},
		{"bad Region", "accounts:\n  - id: \"123456789012\"\n    regions: [us-east-1, mars-north-1a]\n", []string{`region "mars-north-1a"`}},
		{"Region twice", "accounts:\n  - id: \"123456789012\"\n    regions: [us-east-1, us-east-1]\n", []string{"us-east-1 is listed twice"}},
		{"role trusting unknown account", account("    roles:\n      - {name: R, trusted_accounts: [\"999999999999\"]}\n"),
			[]string{`role R trusts account "999999999999", which is not in the estate`}},
		{"role trusting nobody", account("    roles:\n      - {name: R}\n"), []string{"role R trusts no account"}},
		{"management account unknown", "organization: {id: o-abcdefghij, management_account: \"999999999999\"}\n" + account(""),
			[]string{`management_account "999999999999" is not one of the estate's accounts`}},
		{"bad organization ID", "organization: {id: org1, management_account: \"123456789012\"}\n" + account(""), []string{`id "org1"`}},
		{"duplicate access key", account("    credentials:\n      - {access_key_id: AK1, secret_access_key: s}\n      - {access_key_id: AK1, secret_access_key: t}\n"),
			[]string{"access key ID AK1 is also used"}},
		{"key without Region", account("    keys:\n      - description: x\n"), []string{"region is required"}},
		{"key in a Region not enabled", key("        description: x\n") + "      - region: ap-south-1\n", []string{"region ap-south-1 is not enabled"}},
		{"rotation on an RSA key", key("        spec: RSA_2048\n        usage: SIGN_VERIFY\n        rotation: {enabled: true}\n"),
			[]string{"automatic rotation can be enabled only on SYMMETRIC_DEFAULT keys of origin AWS_KMS"}},
		{"rotation on imported material", key("        origin: EXTERNAL\n        rotation: {enabled: true}\n"), []string{"(this key: SYMMETRIC_DEFAULT, EXTERNAL)"}},
		{"period too short", key("        rotation: {enabled: true, period_days: 30}\n"), []string{"period_days 30 is outside 90 to 2560"}},
		{"usage wrong for spec", key("        spec: HMAC_256\n        usage: SIGN_VERIFY\n"), []string{"usage SIGN_VERIFY is not valid for spec HMAC_256"}},
		{"unknown spec", key("        spec: AES_256\n"), []string{`spec "AES_256" is not a KMS key spec`}},
		{"XKS without xks_key_id", key("        origin: EXTERNAL_KEY_STORE\n        custom_key_store_id: cks-1\n"), []string{"needs xks_key_id"}},
		{"CloudHSM without store", key("        origin: AWS_CLOUDHSM\n"), []string{"origin AWS_CLOUDHSM needs custom_key_store_id"}},
		{"PendingImport of an AWS_KMS key", key("        state: PendingImport\n"), []string{"state PendingImport needs origin EXTERNAL"}},
		{"Unavailable outside a custom store", key("        state: Unavailable\n"), []string{"state Unavailable needs a custom key store"}},
		{"unknown state", key("        state: Sleeping\n"), []string{`state "Sleeping" is not one of`}},
		{"replica in primary Region", key("        multi_region: true\n        replica_regions: [us-east-1]\n"), []string{"replica Region us-east-1 is the primary's Region"}},
		{"replica in Region not enabled", key("        multi_region: true\n        replica_regions: [ap-south-1]\n"), []string{"replica Region ap-south-1 is not enabled"}},
		{"replicas of a single-Region key", key("        replica_regions: [eu-west-1]\n"), []string{"need multi_region: true"}},
		{"bad multi-Region ID", key("        id: 1234abcd-12ab-34cd-56ef-1234567890ab\n        multi_region: true\n"), []string{"mrk- and 32 hex digits"}},
		{"bad key ID", key("        id: my-key\n"), []string{`not "my-key"`}},
		{"reserved alias", key("        aliases: [alias/aws/s3]\n"), []string{"alias/aws/ is reserved"}},
		{"alias twice", key("        aliases: [alias/a]\n") + "      - region: us-east-1\n        aliases: [alias/a]\n", []string{"alias alias/a is used twice in us-east-1"}},
		{"history out of order", key("        rotation:\n          enabled: true\n          history:\n            - {date: 2025-02-01T00:00:00Z, type: AUTOMATIC}\n            - {date: 2025-01-01T00:00:00Z, type: AUTOMATIC}\n"),
			[]string{"history[1]: dates must be oldest first"}},
		{"history type", key("        rotation:\n          enabled: true\n          history:\n            - {date: 2025-02-01T00:00:00Z, type: MANUAL}\n"), []string{`type "MANUAL" is not AUTOMATIC or ON_DEMAND`}},
		{"AWS managed RSA", key("        manager: AWS\n        spec: RSA_2048\n        usage: SIGN_VERIFY\n        aliases: [alias/aws/x]\n"), []string{"an AWS managed key is a single-Region SYMMETRIC_DEFAULT key"}},
		{"deny on unknown account", account("") + "deny:\n  - {account: \"999999999999\"}\n", []string{`deny[0]: account "999999999999" is not in the estate`}},
		{"several problems at once", key("        spec: AES\n        state: Sleeping\n"), []string{"spec \"AES\"", "state \"Sleeping\""}},
		// The bounds of estate_limits.go.
		{"billion laughs", estateLaughs(), []string{"YAML aliases expand the estate by more than 1000000 nodes", "use fewer aliases"}},
		{"nesting too deep", account("    keys:\n      - region: us-east-1\n        tags: " + strings.Repeat("{a: ", 300) + "b" + strings.Repeat("}", 300) + "\n"),
			[]string{"nesting is deeper than 256 levels", "flatten the file"}},
		{"alias cycle", "accounts: &a\n  - id: \"123456789012\"\n    regions: *a\n", []string{"refers to a node that contains it"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := LoadEstate(writeFile(t, "estate.yaml", tt.yaml))
			if err == nil {
				t.Fatalf("LoadEstate(%s): no error, want one containing %q", tt.name, tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("LoadEstate(%s): error %q, want it to contain %q", tt.name, err, w)
				}
			}
			if !strings.Contains(err.Error(), "estate.yaml") {
				t.Errorf("LoadEstate(%s): error %q does not name the file", tt.name, err)
			}
		})
	}
	if _, err := LoadEstate(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !strings.Contains(err.Error(), "read estate") {
		t.Errorf("LoadEstate(missing file): error %v, want read estate: …", err)
	}
}

// estateLaughs is a "billion laughs" estate: nine levels of anchors, each
// a list aliasing the level before it ten times, as an account's Regions.
func estateLaughs() string {
	var b strings.Builder
	b.WriteString("x0: &x0 [us-east-1]\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "x%d: &x%d [", i, i)
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*x%d", i-1)
		}
		b.WriteString("]\n")
	}
	b.WriteString("accounts:\n  - id: \"123456789012\"\n    regions: *x9\n")
	return b.String()
}

// TestLoadEstateTooLarge: a file over maxEstateBytes is refused before it
// is read, with a sentence that names it and says what to do.
func TestLoadEstateTooLarge(t *testing.T) {
	path := writeFile(t, "estate.yaml", validEstateYAML)
	if err := os.Truncate(path, maxEstateBytes+1); err != nil {
		t.Fatal(err)
	}
	_, err := LoadEstate(path)
	if err == nil || !strings.Contains(err.Error(), "estate "+path+": the file is larger than 32 MiB") || !strings.Contains(err.Error(), "--generate") {
		t.Errorf("LoadEstate(file of %d bytes) = %v, want the size error naming the file", maxEstateBytes+1, err)
	}
}

func TestNewRejectsInvalidEstate(t *testing.T) {
	t.Parallel()
	e := frameEstate()
	e.Accounts[1].ID = e.Accounts[0].ID
	if _, err := New(Options{Estate: e}); err == nil || !strings.Contains(err.Error(), "duplicate account ID") {
		t.Errorf("New with duplicate accounts: error %v, want duplicate account ID", err)
	}
	if _, err := New(Options{Faults: Faults{Throttle: map[string]float64{"": 1.5}}}); err == nil {
		t.Errorf("New with a fault rate of 1.5: no error")
	}
}

// TestDemoEstate checks that the demo holds every class and state of the
// classification table (DESIGN.md), in 3 accounts × 3 Regions.
func TestDemoEstate(t *testing.T) {
	t.Parallel()
	now := time.Now()
	e := DemoEstateAt(now)
	if err := validateEstate(e); err != nil {
		t.Fatalf("demo estate: %v", err)
	}
	if len(e.Accounts) != 3 || e.Organization.ManagementAccount != DefaultAccount || e.Accounts[0].ID != DefaultAccount {
		t.Errorf("demo estate: %d accounts, management %s, want 3 with %s first", len(e.Accounts), e.Organization.ManagementAccount, DefaultAccount)
	}
	classes := map[string]bool{}
	var keyIDs []string
	for _, a := range e.Accounts {
		if len(a.Regions) != 3 {
			t.Errorf("demo account %s has Regions %v, want 3", a.ID, a.Regions)
		}
		if a.ID != DefaultAccount {
			i := slices.IndexFunc(a.Roles, func(r Role) bool { return r.Name == "OrganizationAccountAccessRole" })
			if i < 0 || !slices.Contains(a.Roles[i].TrustedAccounts, DefaultAccount) {
				t.Errorf("demo member %s: no OrganizationAccountAccessRole trusting %s", a.ID, DefaultAccount)
			}
		}
		for _, k := range a.Keys {
			keyIDs = append(keyIDs, k.ID)
			if k.Description == "" || len(k.Aliases) == 0 {
				t.Errorf("demo key %s has no description or alias", k.ID)
			}
			rot := k.Rotation
			switch {
			case k.Manager == "AWS":
				classes["aws managed "+k.Aliases[0]] = true
			case k.Origin == "EXTERNAL" && k.State == "PendingImport":
				classes["imported, pending import"] = true
			case k.Origin == "EXTERNAL":
				classes["imported"] = true
			case k.Origin == "AWS_CLOUDHSM" && k.State == "Unavailable":
				classes["unavailable custom store"] = true
			case k.Origin == "AWS_CLOUDHSM":
				classes["cloudhsm"] = true
			case k.Origin == "EXTERNAL_KEY_STORE":
				classes["xks"] = true
			case strings.HasPrefix(k.Spec, "RSA_"):
				classes["rsa"] = true
			case strings.HasPrefix(k.Spec, "ECC_"):
				classes["ecc"] = true
			case strings.HasPrefix(k.Spec, "ML_DSA"):
				classes["ml-dsa"] = true
			case strings.HasPrefix(k.Spec, "HMAC_"):
				classes["hmac"] = true
			case k.State == "Disabled":
				classes["disabled"] = true
			case k.State == "PendingDeletion":
				classes["pending deletion"] = true
				if !k.DeletionDate.After(now) {
					t.Errorf("demo key %s pending deletion on %s, want a date after now", k.ID, k.DeletionDate)
				}
			case k.MultiRegion:
				if len(k.ReplicaRegions) == 2 && !slices.Contains(k.ReplicaRegions, k.Region) {
					classes["multi-Region primary, 2 replicas"] = true
				}
			case !rot.Enabled:
				classes["rotation off"] = true
			case !rot.NextRotation.IsZero() && rot.NextRotation.Before(now):
				classes["overdue"] = true
			case rot.PeriodDays > 365:
				classes["period above 365"] = true
			default:
				classes["rotating within policy"] = true
			}
		}
	}
	for _, c := range []string{"rotating within policy", "rotation off", "period above 365", "overdue", "imported",
		"imported, pending import", "cloudhsm", "xks", "rsa", "ecc", "ml-dsa", "hmac", "aws managed alias/aws/s3",
		"aws managed alias/aws/ebs", "disabled", "pending deletion", "multi-Region primary, 2 replicas", "unavailable custom store"} {
		if !classes[c] {
			t.Errorf("demo estate has no key of class %q (has %v)", c, classes)
		}
	}
	if len(e.Deny) != 1 || e.Deny[0].Operation != "GetKeyRotationStatus" || !slices.Contains(keyIDs, e.Deny[0].KeyID) {
		t.Errorf("demo deny rules = %+v, want one GetKeyRotationStatus rule on a demo key", e.Deny)
	}
}

func TestDemoEstateAtShiftsDates(t *testing.T) {
	t.Parallel()
	base := DemoEstateAt(demoAsOf)
	later := DemoEstateAt(demoAsOf.Add(10*24*time.Hour + 5*time.Hour))
	for i, a := range base.Accounts {
		for j, k := range a.Keys {
			l := later.Accounts[i].Keys[j]
			if !k.Created.IsZero() && l.Created.Sub(k.Created) != 10*24*time.Hour {
				t.Errorf("key %s: created %s as of %s and %s ten days later, want 10 days apart",
					k.ID, k.Created, demoAsOf.Format("2006-01-02"), l.Created)
			}
			for h := range k.Rotation.History {
				if d := l.Rotation.History[h].Date.Sub(k.Rotation.History[h].Date); d != 10*24*time.Hour {
					t.Errorf("key %s: rotation %d moved by %s, want 240h", k.ID, h, d)
				}
			}
		}
	}
}

func TestServeDemoEstate(t *testing.T) {
	t.Parallel()
	run := startFrame(t, Options{Estate: DemoEstate()})
	ctx := context.Background()
	base := defaultConfig(run)
	accounts, err := organizations.NewFromConfig(base).ListAccounts(ctx, &organizations.ListAccountsInput{})
	if err != nil || len(accounts.Accounts) != 3 {
		t.Fatalf("demo ListAccounts: %v accounts, %v; want 3", accounts, err)
	}
	for _, a := range accounts.Accounts {
		id := aws.ToString(a.Id)
		if id == DefaultAccount {
			continue
		}
		out, err := sts.NewFromConfig(base).AssumeRole(ctx, &sts.AssumeRoleInput{
			RoleArn: aws.String("arn:aws:iam::" + id + ":role/OrganizationAccountAccessRole"), RoleSessionName: aws.String("demo")})
		if err != nil || !strings.Contains(aws.ToString(out.AssumedRoleUser.Arn), id) {
			t.Errorf("demo AssumeRole into %s: %v, %v", id, out, err)
		}
	}

	// The demo's deny rule makes the billing key's rotation status an
	// AccessDenied for the scan (through the member role), and only that.
	prod := base.Copy()
	prod.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(base),
		"arn:aws:iam::111111111111:role/OrganizationAccountAccessRole"))
	client := kms.NewFromConfig(prod)
	const billing = "c6f87718-6d76-407e-881e-d162ae2eb154"
	_, err = client.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: aws.String(billing)})
	if apiCode(err) != "AccessDeniedException" {
		t.Errorf("demo GetKeyRotationStatus %s: %v, want AccessDeniedException", billing, err)
	}
	if _, err := client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/billing-exports")}); apiCode(err) != "" {
		t.Errorf("demo DescribeKey alias/billing-exports: %v, want success (the rule denies only GetKeyRotationStatus)", err)
	}
	if _, err := client.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: aws.String("92276658-1e27-41c0-8a6a-63ec24ede6a4")}); apiCode(err) == "AccessDeniedException" {
		t.Errorf("demo GetKeyRotationStatus of another prod key: %v, want no deny", err)
	}
}

// TestDenyRuleByAlias needs the KMS service to resolve aliases: a rule
// naming a key by alias denies requests naming it by ID.
func TestDenyRuleByAlias(t *testing.T) {
	t.Parallel()
	e := DemoEstate()
	e.Deny = []DenyRule{{Operation: "DescribeKey", KeyID: "alias/orders-db"}}
	run := startFrame(t, Options{Estate: e})
	err := describeKey(defaultConfig(run), "6513270e-269e-4d37-b2a7-4de452e6b438")
	if apiCode(err) != "AccessDeniedException" ||
		!strings.Contains(apiMessage(err), "on resource: arn:aws:kms:us-east-1:123456789012:key/6513270e-269e-4d37-b2a7-4de452e6b438") {
		t.Errorf("DescribeKey by ID with a deny rule on its alias: %v, want AccessDeniedException on the key ARN", err)
	}
	if err := describeKey(defaultConfig(run), "d23f0824-128b-4f33-8c5c-7fd0a6a3a450"); apiCode(err) != "" {
		t.Errorf("DescribeKey of another key: %v, want success", err)
	}
}

func TestParseGenerateSpec(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec    string
		want    GenerateSpec
		wantErr string
	}{
		{spec: "", want: GenerateSpec{Accounts: 1, Regions: 1, Keys: 10, Rotating: 0.5, Seed: 1}},
		{spec: "accounts=3,regions=2,keys=100,rotating=0.25,seed=42", want: GenerateSpec{3, 2, 100, 0.25, 42}},
		{spec: " keys=0 , rotating=1 ", want: GenerateSpec{Accounts: 1, Regions: 1, Keys: 0, Rotating: 1, Seed: 1}},
		{spec: "accounts=0", wantErr: `part "accounts=0": accounts must be a whole number from 1 to 1000`},
		{spec: "accounts=x", wantErr: `part "accounts=x"`},
		{spec: "regions=18", wantErr: `regions must be a whole number from 1 to 17`},
		{spec: "keys=100001", wantErr: `keys must be a whole number from 0 to 100000`},
		{spec: "rotating=1.5", wantErr: `rotating must be a fraction from 0 to 1`},
		{spec: "rotating=NaN", wantErr: `rotating must be a fraction`},
		{spec: "seed=-1", wantErr: `seed must be a whole number`},
		{spec: "colour=blue", wantErr: `unknown name "colour"; the parts are accounts, regions, keys, rotating and seed`},
		{spec: "keys", wantErr: `part "keys": want name=value`},
		{spec: "keys=1,keys=2", wantErr: `keys is given twice`},
		{spec: "accounts=1000,regions=17,keys=100000", wantErr: "more than the 2000000"},
	}
	for _, tt := range tests {
		got, err := ParseGenerateSpec(tt.spec)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseGenerateSpec(%q): error %v, want one containing %q", tt.spec, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseGenerateSpec(%q) = %+v, %v; want %+v", tt.spec, got, err, tt.want)
		}
	}
}

func TestGenerate(t *testing.T) {
	t.Parallel()
	e, err := Generate("accounts=3,regions=2,keys=10,rotating=0.3,seed=5")
	if err != nil {
		t.Fatal(err)
	}
	if err := validateEstate(e); err != nil {
		t.Fatalf("generated estate is invalid: %v", err)
	}
	if e.Organization.ManagementAccount != DefaultAccount || !orgIDRE.MatchString(e.Organization.ID) {
		t.Errorf("generated organization = %+v, want management %s and a valid ID", e.Organization, DefaultAccount)
	}
	if len(e.Accounts) != 3 || e.Accounts[0].ID != DefaultAccount {
		t.Fatalf("generated accounts = %d, first %s; want 3, first %s", len(e.Accounts), e.Accounts[0].ID, DefaultAccount)
	}
	ids := map[string]bool{}
	for i, a := range e.Accounts {
		if !slices.Equal(a.Regions, []string{"us-east-1", "us-west-2"}) {
			t.Errorf("account %s Regions = %v, want [us-east-1 us-west-2]", a.ID, a.Regions)
		}
		hasRole := len(a.Roles) == 1 && a.Roles[0].Name == "OrganizationAccountAccessRole" &&
			slices.Equal(a.Roles[0].TrustedAccounts, []string{DefaultAccount})
		if hasRole != (i > 0) {
			t.Errorf("account %s roles = %+v, want OrganizationAccountAccessRole trusting %s on members only", a.ID, a.Roles, DefaultAccount)
		}
		perRegion := map[string]int{}
		rotating := map[string]int{}
		for _, k := range a.Keys {
			perRegion[k.Region]++
			if k.Rotation.Enabled {
				rotating[k.Region]++
			}
			if ids[k.ID] || !isUUID(k.ID) {
				t.Errorf("key ID %q is repeated or not a UUID", k.ID)
			}
			ids[k.ID] = true
			if k.Spec != "" || k.Manager != "" || k.Origin != "" {
				t.Errorf("generated key %s is %s/%s/%s, want a symmetric customer key", k.ID, k.Spec, k.Manager, k.Origin)
			}
		}
		for _, r := range a.Regions {
			if perRegion[r] != 10 || rotating[r] != 3 {
				t.Errorf("account %s in %s: %d keys, %d rotating; want 10 and 3", a.ID, r, perRegion[r], rotating[r])
			}
		}
	}

	again, _ := Generate("accounts=3,regions=2,keys=10,rotating=0.3,seed=5")
	other, _ := Generate("accounts=3,regions=2,keys=10,rotating=0.3,seed=6")
	if again.Accounts[2].Keys[7].ID != e.Accounts[2].Keys[7].ID || again.Organization.ID != e.Organization.ID {
		t.Errorf("Generate with the same seed gave key %s, want %s", again.Accounts[2].Keys[7].ID, e.Accounts[2].Keys[7].ID)
	}
	if other.Accounts[2].Keys[7].ID == e.Accounts[2].Keys[7].ID {
		t.Errorf("Generate with seeds 5 and 6 gave the same key ID %s", e.Accounts[2].Keys[7].ID)
	}
	if _, err := Generate("keys=many"); err == nil {
		t.Errorf("Generate(keys=many): no error")
	}
}

func BenchmarkGenerate100k(b *testing.B) {
	for b.Loop() {
		e, err := Generate("accounts=1,regions=1,keys=100000,rotating=0.5")
		if err != nil {
			b.Fatal(err)
		}
		if err := validateEstate(e); err != nil {
			b.Fatal(err)
		}
	}
}

func TestStateFileKeepsEstateAndClock(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.json")
	gen, err := Generate("accounts=4,regions=1,keys=2")
	if err != nil {
		t.Fatal(err)
	}
	run := startFrame(t, Options{Estate: gen, StateFile: path})
	run.Server.Clock().Advance(72 * time.Hour)
	if err := run.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("state file after Close: %v", err)
	}

	// Restarted without an estate, the emulator serves the saved one.
	again := startFrame(t, Options{StateFile: path})
	out, err := organizations.NewFromConfig(defaultConfig(again)).ListAccounts(context.Background(), &organizations.ListAccountsInput{})
	if err != nil || len(out.Accounts) != 4 {
		t.Errorf("ListAccounts after restart from the state file: %v, %v; want the 4 saved accounts", out, err)
	}
	ahead := time.Until(again.Server.Clock().Now())
	if ahead < 71*time.Hour || ahead > 73*time.Hour {
		t.Errorf("clock after restart is %s ahead of real time, want the saved 72h", ahead)
	}
}

func TestStateFileSavedPeriodically(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	startFrame(t, Options{Estate: frameEstate(), StateFile: path, StateSaveInterval: 20 * time.Millisecond})
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("state file %s not written within 5s at a 20ms save interval", path)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestStateFileCorrupt(t *testing.T) {
	t.Parallel()
	for _, content := range []string{"not json", `{"version": 99, "estate": {}}`} {
		path := writeFile(t, "state.json", content)
		_, err := New(Options{StateFile: path})
		if err == nil || !strings.Contains(err.Error(), "delete it to start afresh") {
			t.Errorf("New with state file %q: error %v, want advice to delete it", content, err)
		}
	}
}

// TestStateFileKeepsKeys round-trips KMS state through the state file.
func TestStateFileKeepsKeys(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.json")
	run := startFrame(t, Options{StateFile: path})
	ctx := context.Background()
	client := kms.NewFromConfig(defaultConfig(run))
	created, err := client.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("survives restarts")})
	if err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	id := aws.ToString(created.KeyMetadata.KeyId)
	if _, err := client.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: aws.String(id), RotationPeriodInDays: aws.Int32(180)}); err != nil {
		t.Fatalf("EnableKeyRotation: %v", err)
	}
	if err := run.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	again := startFrame(t, Options{StateFile: path})
	client = kms.NewFromConfig(defaultConfig(again))
	desc, err := client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
	if err != nil || aws.ToString(desc.KeyMetadata.Description) != "survives restarts" {
		t.Fatalf("DescribeKey %s after restart: %v, %v; want the key saved before", id, desc, err)
	}
	st, err := client.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: aws.String(id)})
	if err != nil || !st.KeyRotationEnabled || aws.ToInt32(st.RotationPeriodInDays) != 180 {
		t.Errorf("GetKeyRotationStatus %s after restart: %+v, %v; want enabled, 180 days", id, st, err)
	}
}
