package kmsemu

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Accounts of partitionEstate: a GovCloud organization (management and a
// member) and a China account, beside the commercial organization.
const (
	govMgmt     = "444444444444"
	govMember   = "333333333333"
	govKeyID    = "AKIAGOVMGMT000000001"
	govSecret   = "gov-secret"
	cnAccount   = "555555555555"
	cnKeyID     = "AKIACHINA00000000001"
	cnSecret    = "cn-secret"
	govKMSKeyID = "0b1f6a2e-7c3d-4e5f-8a9b-0c1d2e3f4a5b"
)

func partitionEstate() *Estate {
	e := frameEstate()
	e.Accounts = append(e.Accounts,
		Account{ID: govMgmt, Name: "gov-management", Partition: partitionGovCloud,
			Credentials: []Credential{{AccessKeyID: govKeyID, SecretAccessKey: govSecret}}},
		Account{ID: govMember, Name: "gov-workloads", Partition: partitionGovCloud,
			Roles: []Role{{Name: "OrganizationAccountAccessRole", TrustedAccounts: []string{govMgmt}}},
			Keys:  []KeyDef{{ID: govKMSKeyID, Region: "us-gov-west-1"}}},
		Account{ID: cnAccount, Name: "china", Partition: partitionChina, Regions: []string{"cn-north-1"},
			Credentials: []Credential{{AccessKeyID: cnKeyID, SecretAccessKey: cnSecret}}},
	)
	e.PartitionOrganizations = []Organization{{ID: "o-govtest0001", ManagementAccount: govMgmt}}
	return e
}

func TestPartitionSTS(t *testing.T) {
	run := startFrame(t, Options{Estate: partitionEstate()})
	ctx := context.Background()
	gov := sdkConfig(run.URL, govKeyID, govSecret, "us-gov-west-1")

	out, err := sts.NewFromConfig(gov).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity in us-gov-west-1: %v", err)
	}
	if got, want := aws.ToString(out.Arn), "arn:aws-us-gov:iam::444444444444:root"; got != want {
		t.Errorf("GetCallerIdentity Arn = %q, want %q", got, want)
	}
	cn, err := sts.NewFromConfig(sdkConfig(run.URL, cnKeyID, cnSecret, "cn-north-1")).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(cn.Arn) != "arn:aws-cn:iam::555555555555:root" {
		t.Errorf("GetCallerIdentity in cn-north-1 = %v, %v; want arn:aws-cn:iam::555555555555:root", cn, err)
	}

	// A partition's credentials are unknown in every other partition.
	_, err = sts.NewFromConfig(sdkConfig(run.URL, govKeyID, govSecret, "us-east-1")).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if apiCode(err) != "InvalidClientTokenId" {
		t.Errorf("GovCloud key signed for us-east-1: %v, want InvalidClientTokenId", err)
	}
	_, err = kms.NewFromConfig(sdkConfig(run.URL, DefaultAccessKeyID, DefaultSecretAccessKey, "us-gov-west-1")).ListKeys(ctx, &kms.ListKeysInput{})
	if apiCode(err) != "UnrecognizedClientException" {
		t.Errorf("commercial key signed for us-gov-west-1: %v, want UnrecognizedClientException", err)
	}

	// AssumeRole inside GovCloud answers GovCloud ARNs, and KMS there names
	// its keys with the partition.
	cfg := gov.Copy()
	cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(gov),
		"arn:aws-us-gov:iam::333333333333:role/OrganizationAccountAccessRole",
		func(o *stscreds.AssumeRoleOptions) { o.RoleSessionName = "scan" }))
	who, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity as the GovCloud role: %v", err)
	}
	if got, want := aws.ToString(who.Arn), "arn:aws-us-gov:sts::333333333333:assumed-role/OrganizationAccountAccessRole/scan"; got != want {
		t.Errorf("assumed role Arn = %q, want %q", got, want)
	}
	key, err := kms.NewFromConfig(cfg).DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(govKMSKeyID)})
	if err != nil {
		t.Fatalf("DescribeKey in us-gov-west-1: %v", err)
	}
	if got, want := aws.ToString(key.KeyMetadata.Arn), "arn:aws-us-gov:kms:us-gov-west-1:333333333333:key/"+govKMSKeyID; got != want {
		t.Errorf("KeyMetadata.Arn = %q, want %q", got, want)
	}
	byArn, err := kms.NewFromConfig(cfg).GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: key.KeyMetadata.Arn})
	if err != nil || byArn.KeyRotationEnabled {
		t.Errorf("GetKeyRotationStatus by GovCloud ARN = %+v, %v; want rotation off", byArn, err)
	}
	_, err = kms.NewFromConfig(cfg).DescribeKey(ctx, &kms.DescribeKeyInput{
		KeyId: aws.String("arn:aws:kms:us-gov-west-1:333333333333:key/" + govKMSKeyID)})
	if apiCode(err) != "NotFoundException" {
		t.Errorf("DescribeKey with the aws partition in the ARN: %v, want NotFoundException", err)
	}

	// A commercial caller cannot name a GovCloud role.
	_, err = sts.NewFromConfig(defaultConfig(run)).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws-us-gov:iam::333333333333:role/OrganizationAccountAccessRole"), RoleSessionName: aws.String("s1")})
	if apiCode(err) != "ValidationError" || !strings.Contains(apiMessage(err), `Partition "aws-us-gov" is not valid`) {
		t.Errorf("AssumeRole of a GovCloud role from aws: %v, want ValidationError naming the partition", err)
	}
}

func TestPartitionDescribeRegions(t *testing.T) {
	run := startFrame(t, Options{Estate: partitionEstate()})
	ctx := context.Background()
	tests := []struct {
		name, akid, secret, region string
		all                        bool
		want                       []string
		endpoint                   string
	}{
		{"GovCloud", govKeyID, govSecret, "us-gov-east-1", false, []string{"us-gov-east-1", "us-gov-west-1"}, "ec2.us-gov-east-1.amazonaws.com"},
		{"GovCloud all", govKeyID, govSecret, "us-gov-west-1", true, []string{"us-gov-east-1", "us-gov-west-1"}, "ec2.us-gov-east-1.amazonaws.com"},
		{"China all", cnKeyID, cnSecret, "cn-north-1", true, []string{"cn-north-1", "cn-northwest-1"}, "ec2.cn-north-1.amazonaws.com.cn"},
	}
	for _, tt := range tests {
		out, err := newEC2Client(sdkConfig(run.URL, tt.akid, tt.secret, tt.region)).
			DescribeRegions(ctx, &ec2DescribeRegionsInput{AllRegions: tt.all})
		if err != nil {
			t.Errorf("%s: DescribeRegions: %v", tt.name, err)
			continue
		}
		var names []string
		for _, r := range out.Regions {
			names = append(names, r.RegionName)
		}
		if !slices.Equal(names, tt.want) {
			t.Errorf("%s: DescribeRegions = %v, want %v", tt.name, names, tt.want)
		}
		if len(out.Regions) > 0 && out.Regions[0].Endpoint != tt.endpoint {
			t.Errorf("%s: first endpoint = %q, want %q", tt.name, out.Regions[0].Endpoint, tt.endpoint)
		}
	}
	// China's account enabled only cn-north-1: cn-northwest-1 is not opted in.
	out, err := newEC2Client(sdkConfig(run.URL, cnKeyID, cnSecret, "cn-north-1")).
		DescribeRegions(ctx, &ec2DescribeRegionsInput{AllRegions: true})
	if err != nil || len(out.Regions) != 2 || out.Regions[1].OptInStatus != "not-opted-in" {
		t.Errorf("China DescribeRegions AllRegions = %+v, %v; want cn-northwest-1 not-opted-in", out, err)
	}
}

func TestPartitionOrganizations(t *testing.T) {
	run := startFrame(t, Options{Estate: partitionEstate()})
	ctx := context.Background()
	list := func(cfg aws.Config) ([]string, []string, error) {
		var ids, arns []string
		p := organizations.NewListAccountsPaginator(organizations.NewFromConfig(cfg), &organizations.ListAccountsInput{})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, nil, err
			}
			for _, a := range page.Accounts {
				ids = append(ids, aws.ToString(a.Id))
				arns = append(arns, aws.ToString(a.Arn))
			}
		}
		return ids, arns, nil
	}

	// The commercial organization has the commercial accounts only.
	ids, _, err := list(defaultConfig(run))
	if err != nil {
		t.Fatalf("ListAccounts in aws: %v", err)
	}
	if want := []string{DefaultAccount, prodAccount, devAccount}; !slices.Equal(ids, want) {
		t.Errorf("ListAccounts in aws = %v, want %v", ids, want)
	}
	// GovCloud's organization, reached in us-gov-west-1.
	ids, arns, err := list(sdkConfig(run.URL, govKeyID, govSecret, "us-gov-west-1"))
	if err != nil {
		t.Fatalf("ListAccounts in aws-us-gov: %v", err)
	}
	if want := []string{govMgmt, govMember}; !slices.Equal(ids, want) {
		t.Errorf("ListAccounts in aws-us-gov = %v, want %v", ids, want)
	}
	if len(arns) > 0 && arns[0] != "arn:aws-us-gov:organizations::444444444444:account/o-govtest0001/444444444444" {
		t.Errorf("GovCloud account ARN = %q", arns[0])
	}

	// Organizations answers only in its partition's home Region.
	for _, tt := range []struct{ akid, secret, region, want string }{
		{DefaultAccessKeyID, DefaultSecretAccessKey, "eu-west-1", "InvalidSignatureException"},
		{govKeyID, govSecret, "us-gov-east-1", "InvalidSignatureException"},
		{govKeyID, govSecret, "us-east-1", "UnrecognizedClientException"},
		{cnKeyID, cnSecret, "cn-northwest-1", "AWSOrganizationsNotInUseException"},
		{cnKeyID, cnSecret, "cn-north-1", "InvalidSignatureException"},
	} {
		_, err := organizations.NewFromConfig(sdkConfig(run.URL, tt.akid, tt.secret, tt.region)).
			DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
		if got := apiCode(err); got != tt.want {
			t.Errorf("DescribeOrganization as %s signed for %s: %v, want %s", tt.akid, tt.region, err, tt.want)
		}
	}
	org, err := organizations.NewFromConfig(sdkConfig(run.URL, govKeyID, govSecret, "us-gov-west-1")).
		DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil || aws.ToString(org.Organization.Arn) != "arn:aws-us-gov:organizations::444444444444:organization/o-govtest0001" {
		t.Errorf("GovCloud DescribeOrganization = %+v, %v", org, err)
	}
}

func TestPartitionEstateErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(e *Estate)
		want   string
	}{
		{"unknown partition", func(e *Estate) { e.Accounts[3].Partition = "aws-mars" }, `partition "aws-mars" is not one of`},
		{"Region of another partition", func(e *Estate) { e.Accounts[5].Regions = []string{"us-gov-west-1"} },
			"region us-gov-west-1 is in partition aws-us-gov, not the account's partition aws-cn"},
		{"China Region in aws", func(e *Estate) { e.Accounts[0].Regions = []string{"cn-north-1"} },
			"region cn-north-1 is in partition aws-cn, not the account's partition aws"},
		{"role trusting another partition", func(e *Estate) {
			e.Accounts[4].Roles = []Role{{Name: "x", TrustedAccounts: []string{DefaultAccount}}}
		}, "trusts accounts of its own partition"},
		{"principal of another partition", func(e *Estate) {
			e.Accounts[3].Credentials[0].Principal = "arn:aws:iam::444444444444:user/ci"
		}, "is not in the account's partition aws-us-gov"},
		{"two organizations in one partition", func(e *Estate) {
			e.PartitionOrganizations = append(e.PartitionOrganizations, Organization{ID: "o-govtest0002", ManagementAccount: govMember})
		}, "second one in partition aws-us-gov"},
		{"GovCloud account in the commercial organization's unit", func(e *Estate) {
			e.Organization.Units = []OrgUnit{{Name: "Gov", Accounts: []string{govMember}}}
		}, "account 333333333333 is in partition aws-us-gov, not the organization's (aws)"},
		{"key in a Region of another partition", func(e *Estate) { e.Accounts[4].Keys[0].Region = "us-east-1" },
			"region us-east-1 is not enabled"},
	}
	for _, tt := range tests {
		e := partitionEstate()
		tt.change(e)
		err := validateEstate(e)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: validateEstate = %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
	if err := validateEstate(partitionEstate()); err != nil {
		t.Errorf("validateEstate(partitionEstate()) = %v, want nil", err)
	}
}

// ouEstate is frameEstate's organization with units: Prod (prod, and a
// nested Web unit with a new account) and Sandbox (dev); the management
// account stays in the root.
func ouEstate() *Estate {
	e := frameEstate()
	e.Accounts = append(e.Accounts, Account{ID: "666666666666", Name: "web"}, Account{ID: "777777777777", Name: "web2"})
	e.Organization.RootID = "r-ab12"
	e.Organization.Units = []OrgUnit{
		{Name: "Prod", ID: "ou-ab12-prod0001", Accounts: []string{prodAccount},
			Units: []OrgUnit{{Name: "Web", Accounts: []string{"666666666666", "777777777777"}}}},
		{Name: "Sandbox", Accounts: []string{devAccount}},
	}
	return e
}

func TestOrganizationTree(t *testing.T) {
	for _, empty := range []bool{false, true} {
		e := ouEstate()
		e.Organization.EmptyPages = empty
		run := startFrame(t, Options{Estate: e})
		client := organizations.NewFromConfig(defaultConfig(run))
		ctx := context.Background()

		roots, err := client.ListRoots(ctx, &organizations.ListRootsInput{})
		if empty {
			if err != nil || len(roots.Roots) != 0 || roots.NextToken == nil {
				t.Fatalf("empty_pages: first ListRoots page = %+v, %v; want empty with a NextToken", roots, err)
			}
			roots, err = client.ListRoots(ctx, &organizations.ListRootsInput{NextToken: roots.NextToken})
		}
		if err != nil || len(roots.Roots) != 1 {
			t.Fatalf("ListRoots = %+v, %v", roots, err)
		}
		root := roots.Roots[0]
		if aws.ToString(root.Id) != "r-ab12" || aws.ToString(root.Arn) != "arn:aws:organizations::123456789012:root/o-frametest01/r-ab12" {
			t.Errorf("root = %s %s", aws.ToString(root.Id), aws.ToString(root.Arn))
		}

		// Walk the tree with ListChildren, one item per page.
		children := func(parent string, typ orgtypes.ChildType) []string {
			var ids []string
			p := organizations.NewListChildrenPaginator(client, &organizations.ListChildrenInput{
				ParentId: aws.String(parent), ChildType: typ, MaxResults: aws.Int32(1)})
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					t.Fatalf("ListChildren %s %s: %v", parent, typ, err)
				}
				for _, c := range page.Children {
					if c.Type != typ {
						t.Errorf("ListChildren %s %s: child %s has Type %s", parent, typ, aws.ToString(c.Id), c.Type)
					}
					ids = append(ids, aws.ToString(c.Id))
				}
			}
			return ids
		}
		var walk func(parent, path string) []string
		walk = func(parent, path string) []string {
			var got []string
			for _, a := range children(parent, orgtypes.ChildTypeAccount) {
				got = append(got, path+a)
			}
			for _, ou := range children(parent, orgtypes.ChildTypeOrganizationalUnit) {
				if !ouIDRE.MatchString(ou) || !strings.HasPrefix(ou, "ou-ab12-") {
					t.Errorf("OU ID %q is not ou-ab12-…", ou)
				}
				got = append(got, walk(ou, path+ou+"/")...)
			}
			return got
		}
		tree := walk("r-ab12", "")
		want := []string{DefaultAccount, "ou-ab12-prod0001/" + prodAccount}
		sandbox, web := "", ""
		for _, p := range tree {
			if strings.HasSuffix(p, devAccount) {
				sandbox = strings.TrimSuffix(p, "/"+devAccount)
			}
			if strings.HasSuffix(p, "666666666666") {
				web = strings.TrimSuffix(strings.TrimPrefix(p, "ou-ab12-prod0001/"), "/666666666666")
			}
		}
		want = append(want, "ou-ab12-prod0001/"+web+"/666666666666", "ou-ab12-prod0001/"+web+"/777777777777", sandbox+"/"+devAccount)
		if !slices.Equal(tree, want) || sandbox == "" || web == "" {
			t.Errorf("empty_pages=%v: tree = %v, want %v", empty, tree, want)
		}

		// ListAccounts lists every member across the empty pages.
		var members []string
		lp := organizations.NewListAccountsPaginator(client, &organizations.ListAccountsInput{MaxResults: aws.Int32(2)})
		for lp.HasMorePages() {
			page, err := lp.NextPage(ctx)
			if err != nil {
				t.Fatalf("ListAccounts: %v", err)
			}
			for _, a := range page.Accounts {
				members = append(members, aws.ToString(a.Id))
			}
		}
		if want := []string{DefaultAccount, prodAccount, devAccount, "666666666666", "777777777777"}; !slices.Equal(members, want) {
			t.Errorf("empty_pages=%v: ListAccounts = %v, want %v", empty, members, want)
		}

		// ListAccountsForParent and ListOrganizationalUnitsForParent agree.
		var accts []string
		ap := organizations.NewListAccountsForParentPaginator(client, &organizations.ListAccountsForParentInput{
			ParentId: aws.String(web), MaxResults: aws.Int32(1)})
		for ap.HasMorePages() {
			page, err := ap.NextPage(ctx)
			if err != nil {
				t.Fatalf("ListAccountsForParent: %v", err)
			}
			for _, a := range page.Accounts {
				accts = append(accts, aws.ToString(a.Id))
				if want := "o-frametest01/r-ab12/ou-ab12-prod0001/" + web + "/" + aws.ToString(a.Id) + "/"; len(a.Paths) != 1 || a.Paths[0] != want {
					t.Errorf("account Paths = %v, want [%s]", a.Paths, want)
				}
			}
		}
		if want := []string{"666666666666", "777777777777"}; !slices.Equal(accts, want) {
			t.Errorf("ListAccountsForParent(Web) = %v, want %v", accts, want)
		}
		var names []string
		op := organizations.NewListOrganizationalUnitsForParentPaginator(client, &organizations.ListOrganizationalUnitsForParentInput{
			ParentId: aws.String("r-ab12")})
		for op.HasMorePages() {
			page, err := op.NextPage(ctx)
			if err != nil {
				t.Fatalf("ListOrganizationalUnitsForParent: %v", err)
			}
			for _, u := range page.OrganizationalUnits {
				names = append(names, aws.ToString(u.Name))
				if want := "arn:aws:organizations::123456789012:ou/o-frametest01/" + aws.ToString(u.Id); aws.ToString(u.Arn) != want {
					t.Errorf("OU Arn = %q, want %q", aws.ToString(u.Arn), want)
				}
			}
		}
		if want := []string{"Prod", "Sandbox"}; !slices.Equal(names, want) {
			t.Errorf("ListOrganizationalUnitsForParent(root) = %v, want %v", names, want)
		}
	}
}

func TestOrganizationTreeErrors(t *testing.T) {
	run := startFrame(t, Options{Estate: ouEstate()})
	ctx := context.Background()
	client := organizations.NewFromConfig(defaultConfig(run))

	_, err := client.ListChildren(ctx, &organizations.ListChildrenInput{ParentId: aws.String("ou-ab12-nothere1"), ChildType: orgtypes.ChildTypeAccount})
	if apiCode(err) != "ParentNotFoundException" {
		t.Errorf("ListChildren of an unknown OU: %v, want ParentNotFoundException", err)
	}
	_, err = client.ListAccountsForParent(ctx, &organizations.ListAccountsForParentInput{ParentId: aws.String("r-zz99")})
	if apiCode(err) != "ParentNotFoundException" {
		t.Errorf("ListAccountsForParent of an unknown root: %v, want ParentNotFoundException", err)
	}
	_, err = client.ListOrganizationalUnitsForParent(ctx, &organizations.ListOrganizationalUnitsForParentInput{ParentId: aws.String("Prod")})
	if apiCode(err) != "InvalidInputException" {
		t.Errorf("ListOrganizationalUnitsForParent with a malformed ID: %v, want InvalidInputException", err)
	}
	_, err = client.ListChildren(ctx, &organizations.ListChildrenInput{ParentId: aws.String("r-ab12"), ChildType: "POLICY"})
	if apiCode(err) != "InvalidInputException" {
		t.Errorf("ListChildren with ChildType POLICY: %v, want InvalidInputException", err)
	}
	// A token of one parent's listing is not one of another's.
	page, err := client.ListAccountsForParent(ctx, &organizations.ListAccountsForParentInput{
		ParentId: aws.String("r-ab12"), MaxResults: aws.Int32(1)})
	if err != nil {
		t.Fatalf("ListAccountsForParent(root): %v", err)
	}
	if page.NextToken != nil {
		t.Errorf("ListAccountsForParent(root) MaxResults 1: NextToken %v, want none (the root holds one account)", *page.NextToken)
	}
	page, err = client.ListAccountsForParent(ctx, &organizations.ListAccountsForParentInput{
		ParentId: aws.String("ou-ab12-prod0001"), MaxResults: aws.Int32(1)})
	if err != nil || len(page.Accounts) != 1 {
		t.Fatalf("ListAccountsForParent(Prod) = %+v, %v", page, err)
	}
	kids, err := client.ListChildren(ctx, &organizations.ListChildrenInput{
		ParentId: aws.String("r-ab12"), ChildType: orgtypes.ChildTypeOrganizationalUnit, MaxResults: aws.Int32(1)})
	if err != nil || kids.NextToken == nil {
		t.Fatalf("ListChildren(root, OU) MaxResults 1 = %+v, %v; want a NextToken", kids, err)
	}
	_, err = client.ListAccountsForParent(ctx, &organizations.ListAccountsForParentInput{
		ParentId: aws.String("ou-ab12-prod0001"), NextToken: kids.NextToken})
	if apiCode(err) != "InvalidInputException" {
		t.Errorf("ListAccountsForParent with ListChildren's token: %v, want InvalidInputException", err)
	}

	// Only the management account lists the tree; a member may not.
	_, err = organizations.NewFromConfig(sdkConfig(run.URL, devKeyID, devSecret, "us-east-1")).ListRoots(ctx, &organizations.ListRootsInput{})
	if apiCode(err) != "AccessDeniedException" {
		t.Errorf("ListRoots as a member: %v, want AccessDeniedException", err)
	}
	noOrg := frameEstate()
	noOrg.Organization = Organization{}
	run2 := startFrame(t, Options{Estate: noOrg})
	_, err = organizations.NewFromConfig(defaultConfig(run2)).ListRoots(ctx, &organizations.ListRootsInput{})
	if apiCode(err) != "AWSOrganizationsNotInUseException" {
		t.Errorf("ListRoots without an organization: %v, want AWSOrganizationsNotInUseException", err)
	}
}

func TestOrganizationUnitsEstateErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(e *Estate)
		want   string
	}{
		{"bad root ID", func(e *Estate) { e.Organization.RootID = "root-1" }, `root_id "root-1" is not a root ID`},
		{"OU of another root", func(e *Estate) { e.Organization.Units[0].ID = "ou-zz99-prod0001" }, "is not an OU ID of root r-ab12"},
		{"account placed twice", func(e *Estate) {
			e.Organization.Units[1].Accounts = append(e.Organization.Units[1].Accounts, prodAccount)
		},
			"account 111111111111 is also placed in /Prod"},
		{"unknown account", func(e *Estate) { e.Organization.Units[1].Accounts = []string{"999999999999"} }, `account "999999999999" is not in the estate`},
		{"duplicate unit name", func(e *Estate) { e.Organization.Units[1].Name = "Prod" }, `two units of one parent are named "Prod"`},
		{"units without organization", func(e *Estate) { e.Organization = Organization{Units: []OrgUnit{{Name: "x"}}} }, "need an organization id"},
	}
	for _, tt := range tests {
		e := ouEstate()
		tt.change(e)
		if err := validateEstate(e); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: validateEstate = %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
}

// TestLoadServicesEstate loads the example estate of the partition, OU,
// stack, Security Hub and deny-rule fields, and serves it.
func TestLoadServicesEstate(t *testing.T) {
	e, err := LoadEstate("testdata/estate-services.yaml")
	if err != nil {
		t.Fatalf("LoadEstate: %v", err)
	}
	run := startFrame(t, Options{Estate: e})
	ctx := context.Background()
	kids, err := organizations.NewFromConfig(defaultConfig(run)).ListChildren(ctx, &organizations.ListChildrenInput{
		ParentId: aws.String("ou-svc1-workload"), ChildType: orgtypes.ChildTypeOrganizationalUnit})
	if err != nil || len(kids.Children) != 1 {
		t.Errorf("ListChildren(Workloads) = %+v, %v; want the Prod unit", kids, err)
	}
	gov := sdkConfig(run.URL, "AKIAGOVEXAMPLE000001", "gov-secret", "us-gov-west-1")
	out, err := organizations.NewFromConfig(gov).ListAccounts(ctx, &organizations.ListAccountsInput{})
	if err != nil || len(out.Accounts) != 2 {
		t.Errorf("GovCloud ListAccounts = %+v, %v; want 2 accounts", out, err)
	}
	_, err = sts.NewFromConfig(defaultConfig(run)).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::222222222222:role/OrganizationAccountAccessRole"), RoleSessionName: aws.String("s1")})
	if apiCode(err) != "AccessDenied" {
		t.Errorf("AssumeRole of the denied role: %v, want AccessDenied", err)
	}
	if st := run.Server.cfn.find("111111111111", "us-west-2", "kms-replicas"); st == nil || st.resources[0].Type != cfnReplicaType {
		t.Errorf("kms-replicas in us-west-2 = %+v, want its key typed %s", st, cfnReplicaType)
	}
	if !run.Server.securityHubEnabled(DefaultAccount, "us-east-1") || run.Server.securityHubEnabled(DefaultAccount, "eu-west-1") ||
		run.Server.securityHubEnabled("222222222222", "us-east-1") || !run.Server.securityHubEnabled("111111111111", "us-west-2") {
		t.Errorf("Security Hub enabled where the estate does not say so")
	}
}

func TestServicesEstateUnknownField(t *testing.T) {
	_, err := parseEstate([]byte("accounts:\n  - id: \"123456789012\"\n    stacks:\n      - name: s\n        region: us-east-1\n        resources:\n          - {logicalid: A, key_id: x}\n"))
	if err == nil || !strings.Contains(err.Error(), "logicalid") || !strings.Contains(err.Error(), "a stack resource") {
		t.Errorf("parseEstate with a misspelt stack field: %v, want an error naming logicalid in a stack resource", err)
	}
}
