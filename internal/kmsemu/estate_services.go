package kmsemu

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Values of the estate's partition, organization-unit, stack and Security
// Hub fields.
var (
	rootIDRE       = regexp.MustCompile(`^r-[0-9a-z]{4,32}$`)
	ouIDRE         = regexp.MustCompile(`^ou-([0-9a-z]{4,32})-[0-9a-z]{8,32}$`)
	stackNameRE    = regexp.MustCompile(`^[a-zA-Z][-a-zA-Z0-9]{0,127}$`)
	logicalIDRE    = regexp.MustCompile(`^[A-Za-z0-9]{1,255}$`)
	anyRoleArnRE   = regexp.MustCompile(`^arn:(aws|aws-us-gov|aws-cn):iam::([0-9]{12}):role/(?:[\x21-\x7e]*/)?([\w+=,.@-]{1,64})$`)
	stackStatuses  = []string{"CREATE_IN_PROGRESS", "CREATE_FAILED", "CREATE_COMPLETE", "ROLLBACK_IN_PROGRESS", "ROLLBACK_FAILED", "ROLLBACK_COMPLETE", "DELETE_IN_PROGRESS", "DELETE_FAILED", "DELETE_COMPLETE", "UPDATE_IN_PROGRESS", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_COMPLETE", "UPDATE_FAILED", "UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_FAILED", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE", "REVIEW_IN_PROGRESS", "IMPORT_IN_PROGRESS", "IMPORT_COMPLETE", "IMPORT_ROLLBACK_IN_PROGRESS", "IMPORT_ROLLBACK_FAILED", "IMPORT_ROLLBACK_COMPLETE"}
	resourceStatus = []string{"CREATE_IN_PROGRESS", "CREATE_FAILED", "CREATE_COMPLETE", "DELETE_IN_PROGRESS", "DELETE_FAILED", "DELETE_COMPLETE", "DELETE_SKIPPED", "UPDATE_IN_PROGRESS", "UPDATE_FAILED", "UPDATE_COMPLETE", "IMPORT_FAILED", "IMPORT_COMPLETE", "IMPORT_IN_PROGRESS", "IMPORT_ROLLBACK_IN_PROGRESS", "IMPORT_ROLLBACK_FAILED", "IMPORT_ROLLBACK_COMPLETE", "UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE", "UPDATE_ROLLBACK_FAILED", "ROLLBACK_IN_PROGRESS", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED"}
)

// CloudFormation resource types of the keys a stack owns.
const (
	cfnKeyType     = "AWS::KMS::Key"
	cfnReplicaType = "AWS::KMS::ReplicaKey"
)

// validateServices checks the estate's partitions, organizations and their
// units, stacks, Security Hub Regions and role_arn deny rules. accounts are
// the estate's valid accounts by ID.
func validateServices(v *estateErrors, e *Estate, accounts map[string]*Account) {
	for i := range e.Accounts {
		a := &e.Accounts[i]
		where := "account " + a.ID
		p := partitionOrAWS(a.Partition)
		if partitions[p] == nil {
			v.addf("%s: partition %q is not one of %s", where, a.Partition, strings.Join(partitionNames, ", "))
			continue
		}
		for _, r := range a.Regions {
			if validRegionName(r) && partitionOf(r) != p {
				v.addf("%s: region %s is in partition %s, not the account's partition %s", where, r, partitionOf(r), p)
			}
		}
		for _, c := range a.Credentials {
			if c.Principal != "" && !strings.HasPrefix(c.Principal, "arn:"+p+":") {
				v.addf("%s: principal %q of access key %s is not in the account's partition %s (arn:%s:iam::...)",
					where, c.Principal, c.AccessKeyID, p, p)
			}
		}
		for _, r := range a.Roles {
			for _, t := range r.TrustedAccounts {
				if ta := accounts[t]; ta != nil && partitionOrAWS(ta.Partition) != p {
					v.addf("%s: role %s trusts account %s of partition %s; a role trusts accounts of its own partition (%s) only",
						where, r.Name, t, partitionOrAWS(ta.Partition), p)
				}
			}
		}
		validateStacks(v, a)
		if a.SecurityHub != nil {
			enabled := accountRegionSet(a)
			seen := map[string]bool{}
			for _, r := range a.SecurityHub.Regions {
				switch {
				case !enabled[r]:
					v.addf("%s: securityhub region %q is not enabled in the account", where, r)
				case seen[r]:
					v.addf("%s: securityhub region %s is listed twice", where, r)
				}
				seen[r] = true
			}
		}
	}

	orgPartitions := map[string]string{} // partition -> organization ID
	orgIDs := map[string]bool{}
	check := func(where string, org *Organization) {
		mgmt := accounts[org.ManagementAccount]
		if mgmt == nil || org.ID == "" {
			return // validateEstate or the loop below reported it
		}
		p := partitionOrAWS(mgmt.Partition)
		if other, ok := orgPartitions[p]; ok {
			v.addf("%s: organization %s is the second one in partition %s (with %s); a partition has one organization here", where, org.ID, p, other)
		}
		orgPartitions[p] = org.ID
		if orgIDs[org.ID] {
			v.addf("%s: organization ID %s is used twice", where, org.ID)
		}
		orgIDs[org.ID] = true
		validateUnits(v, where, org, p, accounts)
	}
	if e.Organization.ID != "" {
		check("organization", &e.Organization)
	} else if e.Organization.RootID != "" || len(e.Organization.Units) > 0 || e.Organization.EmptyPages {
		v.addf("organization: root_id, units and empty_pages need an organization id")
	}
	for i := range e.PartitionOrganizations {
		org := &e.PartitionOrganizations[i]
		where := fmt.Sprintf("partition_organizations[%d]", i)
		switch {
		case !orgIDRE.MatchString(org.ID):
			v.addf("%s: id %q is not an organization ID such as o-a1b2c3d4e5", where, org.ID)
		case accounts[org.ManagementAccount] == nil:
			v.addf("%s: management_account %q is not one of the estate's accounts", where, org.ManagementAccount)
		default:
			check(where, org)
		}
	}

	for i, d := range e.Deny {
		if d.RoleArn == "" {
			continue
		}
		where := fmt.Sprintf("deny[%d]", i)
		if !anyRoleArnRE.MatchString(d.RoleArn) {
			v.addf("%s: role_arn %q is not a role ARN such as arn:aws:iam::111111111111:role/NAME", where, d.RoleArn)
		}
		if d.Operation != "" && d.Operation != "AssumeRole" {
			v.addf("%s: role_arn applies to AssumeRole only, not to %s", where, d.Operation)
		}
	}
}

// validateUnits checks an organization's root ID and units: IDs in AWS's
// formats and unique, each member account of the organization's partition
// placed at most once.
func validateUnits(v *estateErrors, where string, org *Organization, p string, accounts map[string]*Account) {
	if org.RootID != "" && !rootIDRE.MatchString(org.RootID) {
		v.addf("%s: root_id %q is not a root ID such as r-a1b2", where, org.RootID)
		return
	}
	root := orgRootID(org)
	placed := map[string]string{}
	ids := map[string]bool{}
	var walk func(units []OrgUnit, path string)
	walk = func(units []OrgUnit, path string) {
		names := map[string]bool{}
		for i := range units {
			u := &units[i]
			at := fmt.Sprintf("%s: unit %s/%s", where, path, u.Name)
			if len(u.Name) < 1 || len(u.Name) > 128 {
				v.addf("%s: a unit name is 1 to 128 characters", at)
			}
			if names[u.Name] {
				v.addf("%s: two units of one parent are named %q", at, u.Name)
			}
			names[u.Name] = true
			id := unitID(root, path+"/"+u.Name, u.ID)
			if m := ouIDRE.FindStringSubmatch(id); m == nil || "r-"+m[1] != root {
				v.addf("%s: id %q is not an OU ID of root %s such as ou-%s-a1b2c3d4", at, u.ID, root, root[2:])
			}
			if ids[id] {
				v.addf("%s: OU ID %s is used twice", at, id)
			}
			ids[id] = true
			for _, acct := range u.Accounts {
				a := accounts[acct]
				switch {
				case a == nil:
					v.addf("%s: account %q is not in the estate", at, acct)
				case partitionOrAWS(a.Partition) != p:
					v.addf("%s: account %s is in partition %s, not the organization's (%s)", at, acct, partitionOrAWS(a.Partition), p)
				case placed[acct] != "":
					v.addf("%s: account %s is also placed in %s", at, acct, placed[acct])
				default:
					placed[acct] = path + "/" + u.Name
				}
			}
			walk(u.Units, path+"/"+u.Name)
		}
	}
	walk(org.Units, "")
}

// orgRootID is the organization's root ID: the estate's, or one derived from
// the organization ID.
func orgRootID(org *Organization) string {
	if org.RootID != "" {
		return org.RootID
	}
	return "r-" + strings.ToLower(stableID("root:"+org.ID, 4))
}

// unitID is a unit's ID: the estate's, or one derived from its path.
func unitID(root, path, id string) string {
	if id != "" {
		return id
	}
	return "ou-" + root[2:] + "-" + strings.ToLower(stableID("ou:"+root+":"+path, 8))
}

// validateStacks checks an account's stacks: names, Regions, statuses, and
// that each resource is a key of the account in the stack's Region, owned by
// one live stack at most.
func validateStacks(v *estateErrors, a *Account) {
	enabled := accountRegionSet(a)
	type placed struct{ region, name string }
	names := map[placed]bool{}
	owner := map[placed]string{}
	for i := range a.Stacks {
		st := &a.Stacks[i]
		where := fmt.Sprintf("account %s: stacks[%d]", a.ID, i)
		if st.Name != "" {
			where += " (" + st.Name + ")"
		}
		if !stackNameRE.MatchString(st.Name) {
			v.addf("%s: name %q must start with a letter and hold up to 128 letters, digits and -", where, st.Name)
		}
		if !enabled[st.Region] {
			v.addf("%s: region %q is not enabled in the account", where, st.Region)
		}
		status := or(st.Status, "CREATE_COMPLETE")
		if !slices.Contains(stackStatuses, status) {
			v.addf("%s: status %q is not a stack status such as CREATE_COMPLETE or UPDATE_COMPLETE", where, st.Status)
		}
		live := status != "DELETE_COMPLETE"
		if live {
			if names[placed{st.Region, st.Name}] {
				v.addf("%s: a live stack named %s already exists in %s", where, st.Name, st.Region)
			}
			names[placed{st.Region, st.Name}] = true
		}
		logical := map[string]bool{}
		for j, r := range st.Resources {
			at := fmt.Sprintf("%s: resources[%d]", where, j)
			if !logicalIDRE.MatchString(r.LogicalID) {
				v.addf("%s: logical_id %q must be 1 to 255 letters and digits", at, r.LogicalID)
			}
			if logical[r.LogicalID] {
				v.addf("%s: logical_id %s is used twice in the stack", at, r.LogicalID)
			}
			logical[r.LogicalID] = true
			if r.Status != "" && !slices.Contains(resourceStatus, r.Status) {
				v.addf("%s: status %q is not a resource status such as CREATE_COMPLETE", at, r.Status)
			}
			if stackResourceType(a, st.Region, r) == "" {
				v.addf("%s: key_id %q is not a customer managed key of the account in %s (give the key's id in its keys entry)",
					at, r.KeyID, st.Region)
			}
			if live {
				k := placed{st.Region, r.KeyID}
				if other := owner[k]; other != "" {
					v.addf("%s: key %s is also owned by stack %s", at, r.KeyID, other)
				}
				owner[k] = st.Name
			}
		}
	}
}

// stackResourceType is the CloudFormation type of a stack's key: an
// AWS::KMS::Key in the key's Region, an AWS::KMS::ReplicaKey in one of its
// replica Regions; "" when the account has no such customer managed key.
// A state file's estate has no keys: its resources carry their type.
func stackResourceType(a *Account, region string, r StackResource) string {
	if r.Type != "" {
		if r.Type == cfnKeyType || r.Type == cfnReplicaType {
			return r.Type
		}
		return ""
	}
	for i := range a.Keys {
		k := &a.Keys[i]
		if k.ID != r.KeyID || or(k.Manager, "CUSTOMER") != "CUSTOMER" {
			continue
		}
		if k.Region == region {
			return cfnKeyType
		}
		if slices.Contains(k.ReplicaRegions, region) {
			return cfnReplicaType
		}
	}
	return ""
}
