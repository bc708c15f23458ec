package kmsemu

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// LoadEstate reads an estate YAML file. Unknown fields are errors that name
// their line, and the estate is validated as New does. A file over the
// bounds of estate_limits.go is an error that says which.
func LoadEstate(path string) (*Estate, error) {
	data, err := readEstateFile(path)
	if errors.Is(err, errEstateTooLarge) {
		return nil, fmt.Errorf("estate %s: %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("read estate: %w", err)
	}
	e, err := parseEstate(data)
	if err != nil {
		return nil, fmt.Errorf("estate %s: %w", path, err)
	}
	return e, nil
}

func parseEstate(data []byte) (*Estate, error) {
	// Decoding expands aliases and recurses per level: bound both first.
	// A file that does not parse is left to the decoder, whose error is
	// the one to show.
	var root yaml.Node
	if yaml.Unmarshal(data, &root) == nil {
		if err := checkEstateYAML(&root); err != nil {
			return nil, err
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var e Estate
	if err := dec.Decode(&e); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the file is empty; an estate needs at least one account")
		}
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		msg = yamlTypeRE.ReplaceAllStringFunc(msg, func(m string) string {
			if place, ok := yamlPlaces[yamlTypeRE.FindStringSubmatch(m)[1]]; ok {
				return "in " + place
			}
			return m
		})
		return nil, errors.New(msg)
	}
	if err := validateEstate(&e); err != nil {
		return nil, err
	}
	return &e, nil
}

// yamlTypeRE finds the Go type names in yaml.v3's errors, which
// yamlPlaces turns into the estate's own words.
var yamlTypeRE = regexp.MustCompile(`in type kmsemu\.(\w+)`)

var yamlPlaces = map[string]string{
	"Estate": "the estate (organization, partition_organizations, accounts, deny)", "Organization": "organization",
	"Account": "an account", "Credential": "a credential", "Role": "a role", "KeyDef": "a key",
	"RotationDef": "a key's rotation", "RotationEvent": "a rotation history entry", "DenyRule": "a deny rule",
	"OrgUnit": "an organizational unit", "Stack": "a stack", "StackResource": "a stack resource",
	"SecurityHubDef": "securityhub",
}

// Values the estate may use (kms-api.md §3).
var (
	keyStates = []string{"Enabled", "Disabled", "PendingDeletion", "PendingReplicaDeletion",
		"PendingImport", "Unavailable", "Creating", "Updating"}
	keyOrigins    = []string{"AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE"}
	accountStates = []string{"ACTIVE", "SUSPENDED", "PENDING_CLOSURE", "CLOSED", "PENDING_ACTIVATION"}

	accountIDRE   = regexp.MustCompile(`^[0-9]{12}$`)
	orgIDRE       = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
	roleNameRE    = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	mrkIDRE       = regexp.MustCompile(`^mrk-[0-9a-f]{32}$`)
	accessKeyRE   = regexp.MustCompile(`^[\w]{1,128}$`)
	userPrincipal = regexp.MustCompile(`^arn:aws(?:-us-gov|-cn)?:iam::([0-9]{12}):(root|user/[\w+=,.@/-]+)$`)
	opNameRE      = regexp.MustCompile(`^[A-Z][A-Za-z]+$`)
)

// validateEstate checks an estate's consistency and reports every problem,
// each naming the account and key it is about.
func validateEstate(e *Estate) error {
	v := &estateErrors{}
	accounts := map[string]*Account{}
	for i := range e.Accounts {
		a := &e.Accounts[i]
		where := fmt.Sprintf("accounts[%d]", i)
		if a.ID != "" {
			where += " (" + a.ID + ")"
		}
		switch {
		case !accountIDRE.MatchString(a.ID):
			v.addf("%s: id %q is not a 12-digit account ID", where, a.ID)
		case accounts[a.ID] != nil:
			v.addf("%s: duplicate account ID %s", where, a.ID)
		default:
			accounts[a.ID] = a
		}
		if a.State != "" && !slices.Contains(accountStates, a.State) {
			v.addf("%s: state %q is not one of %s", where, a.State, strings.Join(accountStates, ", "))
		}
		seen := map[string]bool{}
		for _, r := range a.Regions {
			switch {
			case !validRegionName(r):
				v.addf("%s: region %q is not a Region name such as us-east-1", where, r)
			case seen[r]:
				v.addf("%s: region %s is listed twice", where, r)
			}
			seen[r] = true
		}
	}
	if len(e.Accounts) == 0 && (e.Organization.ID != "" || len(e.Deny) > 0) {
		v.addf("accounts: the estate has an organization or deny rules but no accounts")
	}

	org := e.Organization
	switch {
	case org.ID == "" && org.ManagementAccount != "":
		v.addf("organization: management_account is set but id is empty (an estate without an organization leaves both empty)")
	case org.ID != "" && !orgIDRE.MatchString(org.ID):
		v.addf("organization: id %q is not an organization ID such as o-a1b2c3d4e5", org.ID)
	case org.ID != "" && accounts[org.ManagementAccount] == nil:
		v.addf("organization: management_account %q is not one of the estate's accounts", org.ManagementAccount)
	}

	accessKeys := map[string]string{}
	for i := range e.Accounts {
		a := &e.Accounts[i]
		where := fmt.Sprintf("account %s", a.ID)
		for _, c := range a.Credentials {
			switch {
			case !accessKeyRE.MatchString(c.AccessKeyID):
				v.addf("%s: access key ID %q must be 1 to 128 letters, digits or _", where, c.AccessKeyID)
			case accessKeys[c.AccessKeyID] != "":
				v.addf("%s: access key ID %s is also used by account %s", where, c.AccessKeyID, accessKeys[c.AccessKeyID])
			default:
				accessKeys[c.AccessKeyID] = a.ID
			}
			if c.SecretAccessKey == "" {
				v.addf("%s: access key %s has no secret_access_key", where, c.AccessKeyID)
			}
			if c.Principal != "" {
				m := userPrincipal.FindStringSubmatch(c.Principal)
				if m == nil || m[1] != a.ID {
					v.addf("%s: principal %q of access key %s is not arn:aws:iam::%s:root or arn:aws:iam::%s:user/NAME",
						where, c.Principal, c.AccessKeyID, a.ID, a.ID)
				}
			}
		}
		roles := map[string]bool{}
		for _, r := range a.Roles {
			if !roleNameRE.MatchString(r.Name) {
				v.addf("%s: role name %q must be 1 to 64 characters of letters, digits and +=,.@_-", where, r.Name)
			}
			if roles[r.Name] {
				v.addf("%s: role %s is defined twice", where, r.Name)
			}
			roles[r.Name] = true
			if len(r.TrustedAccounts) == 0 {
				v.addf("%s: role %s trusts no account; list trusted_accounts", where, r.Name)
			}
			for _, t := range r.TrustedAccounts {
				if accounts[t] == nil {
					v.addf("%s: role %s trusts account %q, which is not in the estate", where, r.Name, t)
				}
			}
			if r.ExternalID != "" && (len(r.ExternalID) < 2 || len(r.ExternalID) > 1224) {
				v.addf("%s: role %s: external_id must be 2 to 1224 characters", where, r.Name)
			}
		}
		validateKeys(v, a)
	}

	for i, d := range e.Deny {
		where := fmt.Sprintf("deny[%d]", i)
		if d.Operation != "" && !opNameRE.MatchString(d.Operation) {
			v.addf("%s: operation %q is not an operation name such as GetKeyRotationStatus", where, d.Operation)
		}
		if d.Account != "" && accounts[d.Account] == nil {
			v.addf("%s: account %q is not in the estate", where, d.Account)
		}
		if d.Region != "" && !validRegionName(d.Region) {
			v.addf("%s: region %q is not a Region name such as us-east-1", where, d.Region)
		}
	}
	validateServices(v, e, accounts)
	return v.err()
}

// validateKeys checks an account's key definitions against what AWS allows.
func validateKeys(v *estateErrors, a *Account) {
	enabled := accountRegionSet(a)
	type placed struct{ region, name string }
	ids := make(map[placed]bool, len(a.Keys))
	aliases := make(map[placed]bool, len(a.Keys))
	for i := range a.Keys {
		k := &a.Keys[i]
		bad := func(format string, args ...any) {
			where := fmt.Sprintf("account %s: keys[%d]", a.ID, i)
			if k.ID != "" {
				where += " (" + k.ID + ")"
			}
			v.addf(where+": "+format, args...)
		}

		if k.Region == "" {
			bad("region is required")
		} else if !enabled[k.Region] {
			bad("region %s is not enabled in the account (regions: %s)", k.Region, strings.Join(sortedKeys(enabled), ", "))
		}
		manager := or(k.Manager, "CUSTOMER")
		spec := or(k.Spec, "SYMMETRIC_DEFAULT")
		origin := or(k.Origin, "AWS_KMS")
		state := or(k.State, "Enabled")
		if manager != "CUSTOMER" && manager != "AWS" {
			bad("manager %q is not CUSTOMER or AWS", k.Manager)
		}
		info, ok := specs[spec]
		usages := info.usages
		if !ok {
			bad("spec %q is not a KMS key spec such as SYMMETRIC_DEFAULT, RSA_2048 or HMAC_256", k.Spec)
		} else if k.Usage != "" && !slices.Contains(usages, k.Usage) {
			bad("usage %s is not valid for spec %s (valid: %s)", k.Usage, spec, strings.Join(usages, ", "))
		}
		if !slices.Contains(keyOrigins, origin) {
			bad("origin %q is not one of %s", k.Origin, strings.Join(keyOrigins, ", "))
		}
		if !slices.Contains(keyStates, state) {
			bad("state %q is not one of %s", k.State, strings.Join(keyStates, ", "))
		}
		if len(k.Description) > 8192 {
			bad("description is longer than 8192 characters")
		}

		switch {
		case k.ID == "":
		case k.MultiRegion && !mrkIDRE.MatchString(k.ID):
			bad("a multi-Region key ID is mrk- and 32 hex digits, not %q", k.ID)
		case !k.MultiRegion && !isUUID(k.ID):
			bad("a key ID is a lower-case UUID such as 1234abcd-12ab-34cd-56ef-1234567890ab, not %q", k.ID)
		}
		if k.ID != "" {
			for _, r := range append([]string{k.Region}, k.ReplicaRegions...) {
				if ids[placed{r, k.ID}] {
					bad("key ID %s is used twice in %s", k.ID, r)
				}
				ids[placed{r, k.ID}] = true
			}
		}

		if manager == "AWS" {
			if spec != "SYMMETRIC_DEFAULT" || origin != "AWS_KMS" || k.MultiRegion {
				bad("an AWS managed key is a single-Region SYMMETRIC_DEFAULT key of origin AWS_KMS")
			}
		}
		custom := origin == "AWS_CLOUDHSM" || origin == "EXTERNAL_KEY_STORE"
		switch {
		case custom && k.CustomKeyStoreID == "":
			bad("origin %s needs custom_key_store_id", origin)
		case !custom && (k.CustomKeyStoreID != "" || k.CloudHsmClusterID != "" || k.XksKeyID != ""):
			bad("custom_key_store_id, cloud_hsm_cluster_id and xks_key_id need origin AWS_CLOUDHSM or EXTERNAL_KEY_STORE")
		case origin == "EXTERNAL_KEY_STORE" && k.XksKeyID == "":
			bad("origin EXTERNAL_KEY_STORE needs xks_key_id")
		case origin == "AWS_CLOUDHSM" && k.XksKeyID != "":
			bad("xks_key_id needs origin EXTERNAL_KEY_STORE")
		case custom && (spec != "SYMMETRIC_DEFAULT" || k.MultiRegion):
			bad("a custom key store holds only single-Region SYMMETRIC_DEFAULT keys")
		}
		if len(k.CustomKeyStoreID) > 64 {
			bad("custom_key_store_id is longer than 64 characters")
		}
		switch state {
		case "PendingImport":
			if origin != "EXTERNAL" {
				bad("state PendingImport needs origin EXTERNAL (imported key material)")
			}
		case "Unavailable":
			if !custom {
				bad("state Unavailable needs a custom key store (origin AWS_CLOUDHSM or EXTERNAL_KEY_STORE)")
			}
		case "PendingReplicaDeletion":
			if !k.MultiRegion || len(k.ReplicaRegions) == 0 {
				bad("state PendingReplicaDeletion needs a multi-Region primary with replicas")
			}
		}
		if k.ExpirationModel != "" {
			switch {
			case origin != "EXTERNAL":
				bad("expiration_model needs origin EXTERNAL")
			case k.ExpirationModel == "KEY_MATERIAL_EXPIRES" && k.ValidTo.IsZero():
				bad("expiration_model KEY_MATERIAL_EXPIRES needs valid_to")
			case k.ExpirationModel != "KEY_MATERIAL_EXPIRES" && k.ExpirationModel != "KEY_MATERIAL_DOES_NOT_EXPIRE":
				bad("expiration_model %q is not KEY_MATERIAL_EXPIRES or KEY_MATERIAL_DOES_NOT_EXPIRE", k.ExpirationModel)
			}
		}
		if !k.ValidTo.IsZero() && k.ExpirationModel != "KEY_MATERIAL_EXPIRES" {
			bad("valid_to needs expiration_model KEY_MATERIAL_EXPIRES")
		}

		if !k.MultiRegion && (len(k.ReplicaRegions) > 0 || len(k.ReplicaStates) > 0) {
			bad("replica_regions and replica_states need multi_region: true")
		}
		seen := map[string]bool{}
		for _, r := range k.ReplicaRegions {
			switch {
			case r == k.Region:
				bad("replica Region %s is the primary's Region", r)
			case seen[r]:
				bad("replica Region %s is listed twice", r)
			case !enabled[r]:
				bad("replica Region %s is not enabled in the account", r)
			}
			seen[r] = true
		}
		for r, st := range k.ReplicaStates {
			if !seen[r] {
				bad("replica_states names %s, which is not in replica_regions", r)
			}
			if !slices.Contains(keyStates, st) {
				bad("replica state %q in %s is not one of %s", st, r, strings.Join(keyStates, ", "))
			}
		}

		rot := k.Rotation
		if rot.PeriodDays != 0 && (rot.PeriodDays < minRotationPeriod || rot.PeriodDays > maxRotationPeriod) {
			bad("rotation period_days %d is outside %d to %d", rot.PeriodDays, minRotationPeriod, maxRotationPeriod)
		}
		if rot.Enabled && manager == "CUSTOMER" && (spec != "SYMMETRIC_DEFAULT" || origin != "AWS_KMS") {
			bad("automatic rotation can be enabled only on SYMMETRIC_DEFAULT keys of origin AWS_KMS (this key: %s, %s)", spec, origin)
		}
		if !rot.Enabled && (!rot.EnabledAt.IsZero() || !rot.NextRotation.IsZero()) && manager == "CUSTOMER" {
			bad("rotation enabled_at and next_rotation need rotation enabled: true")
		}
		for j, h := range rot.History {
			if h.Type != "AUTOMATIC" && h.Type != "ON_DEMAND" {
				bad("rotation history[%d]: type %q is not AUTOMATIC or ON_DEMAND", j, h.Type)
			}
			if h.Date.IsZero() {
				bad("rotation history[%d]: date is required", j)
			}
			if j > 0 && h.Date.Before(rot.History[j-1].Date) {
				bad("rotation history[%d]: dates must be oldest first", j)
			}
			if !k.Created.IsZero() && h.Date.Before(k.Created) {
				bad("rotation history[%d]: %s is before the key's creation", j, h.Date.Format("2006-01-02"))
			}
		}

		for _, al := range k.Aliases {
			switch {
			case !validAlias(al):
				bad("alias %q is not alias/ followed by letters, digits, /, _ or -", al)
			case manager == "CUSTOMER" && strings.HasPrefix(al, "alias/aws/"):
				bad("alias %s: the prefix alias/aws/ is reserved for AWS managed keys", al)
			case manager == "AWS" && !strings.HasPrefix(al, "alias/aws/"):
				bad("alias %s: an AWS managed key's alias is alias/aws/<service>", al)
			case aliases[placed{k.Region, al}]:
				bad("alias %s is used twice in %s", al, k.Region)
			}
			aliases[placed{k.Region, al}] = true
		}
		for tk, tv := range k.Tags {
			if len(tk) < 1 || len(tk) > 128 || len(tv) > 256 {
				bad("tag %q: keys are 1 to 128 characters, values at most 256", tk)
			}
			if strings.HasPrefix(tk, "aws:") {
				bad("tag %q: the prefix aws: is reserved", tk)
			}
		}
		if len(k.Tags) > 50 {
			bad("%d tags; a key has at most 50", len(k.Tags))
		}
		if len(k.Policy) > 131072 {
			bad("policy is longer than 131072 characters")
		}
	}
}

// isUUID says whether s is a lower-case UUID, the form of a key ID. A regexp
// would do, at a cost that shows when 100,000 generated keys are checked.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// validAlias says whether al is alias/ and 1 to 250 of letters, digits,
// /, _ and -, the form KMS accepts.
func validAlias(al string) bool {
	name, ok := strings.CutPrefix(al, "alias/")
	if !ok || len(name) < 1 || len(name) > 250 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '/' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// estateErrors collects validation problems; past maxShown it only counts.
type estateErrors struct {
	list []string
	n    int
}

const maxShown = 20

func (v *estateErrors) addf(format string, args ...any) {
	v.n++
	if len(v.list) < maxShown {
		v.list = append(v.list, fmt.Sprintf(format, args...))
	}
}

func (v *estateErrors) err() error {
	if v.n == 0 {
		return nil
	}
	msg := "invalid estate:\n  " + strings.Join(v.list, "\n  ")
	if v.n > len(v.list) {
		msg += fmt.Sprintf("\n  ... and %d more", v.n-len(v.list))
	}
	return errors.New(msg)
}
