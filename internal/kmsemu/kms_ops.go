package kmsemu

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// keyIDInput is the input of the operations that take only a KeyId.
type keyIDInput struct {
	KeyID *string `json:"KeyId"`
}

func (in *keyIDInput) keyID() *string { return in.KeyID }

// decodeKey opens every operation on one key: it decodes the body into in
// (a struct embedding keyIDInput), validates KeyId and then whatever check
// adds, and finds the key.
func (k *kmsService) decodeKey(t *tx, in interface{ keyID() *string }, check func(*validator), ref keyRef) (*kmsKey, *apiError) {
	if err := decode(t.c.Body, in); err != nil {
		return nil, err
	}
	var v validator
	keyIDMember(&v, in.keyID())
	if check != nil {
		check(&v)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	return k.find(t, *in.keyID(), ref)
}

// fastKeyID reads the body {"KeyId":"<id>"} as every SDK sends it for
// DescribeKey and GetKeyRotationStatus, without the reflection of
// encoding/json: these two calls are what a scan makes per key. Anything
// else (escapes, other members, spacing) takes the general decoder.
func fastKeyID(body []byte) (string, bool) {
	const prefix, suffix = `{"KeyId":"`, `"}`
	if len(body) <= len(prefix)+len(suffix) || string(body[:len(prefix)]) != prefix ||
		string(body[len(body)-len(suffix):]) != suffix {
		return "", false
	}
	id := body[len(prefix) : len(body)-len(suffix)]
	if len(id) > 2048 {
		return "", false
	}
	for _, c := range id {
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return "", false
		}
	}
	return string(id), true
}

// findKeyID decodes and validates a KeyId-only input and finds the key.
func (k *kmsService) findKeyID(t *tx, ref keyRef) (*kmsKey, *apiError) {
	if id, ok := fastKeyID(t.c.Body); ok {
		return k.find(t, id, ref)
	}
	return k.decodeKey(t, &keyIDInput{}, nil, ref)
}

// DescribeKey (kms-api.md §4.2): every state, aliases and cross-account ARNs.
func (k *kmsService) describeKey(t *tx) (any, *apiError) {
	ref := keyRef{op: "DescribeKey", alias: true, crossAccount: true}
	if id, ok := fastKeyID(t.c.Body); ok {
		key, err := k.find(t, id, ref)
		if err != nil {
			return nil, err
		}
		return key.describeBody()
	}
	var in struct {
		keyIDInput
		GrantTokens []string `json:"GrantTokens"`
	}
	key, err := k.decodeKey(t, &in, nil, ref)
	if err != nil {
		return nil, err
	}
	return key.describeBody()
}

type listKeysEntry struct {
	KeyID  string `json:"KeyId"`
	KeyArn string `json:"KeyArn"`
}

type listKeysOutput struct {
	Keys       []listKeysEntry `json:"Keys"`
	NextMarker *string         `json:"NextMarker,omitempty"`
	Truncated  bool            `json:"Truncated"`
}

// ListKeys (§4.1): every key of the account and Region, in every state, in
// key ID order; Limit 1–1000, default 100.
func (k *kmsService) listKeys(t *tx) (any, *apiError) {
	var in pageInput
	if err := decode(t.c.Body, &in); err != nil {
		return nil, err
	}
	var v validator
	in.validate(&v, 1000)
	if err := v.err(); err != nil {
		return nil, err
	}
	s, err := k.storeOf(t, t.c.Account, t.c.Region)
	if err != nil {
		return nil, err
	}
	ids, next, err := pageOf(t, pageScope(t, ""), s.ids, &in, 100)
	if err != nil {
		return nil, err
	}
	out := listKeysOutput{Keys: make([]listKeysEntry, len(ids)), NextMarker: next, Truncated: next != nil}
	for i, id := range ids {
		out.Keys[i] = listKeysEntry{KeyID: id, KeyArn: s.keys[id].ARN}
	}
	return out, nil
}

// tagInput is a Tag as requests carry it.
type tagInput struct {
	TagKey   *string `json:"TagKey"`
	TagValue *string `json:"TagValue"`
}

// checkTags validates tags as AWS does: lengths first (ValidationException
// naming tags.N.member.tagKey), then TagException for reserved, duplicate and
// too many keys (recorded messages). existing are the key's tags that the new
// ones merge into.
func checkTags(tags []tagInput, existing []kmsTag) ([]kmsTag, *apiError) {
	var v validator
	for i, tg := range tags {
		n := strconv.Itoa(i + 1)
		if v.required(tg.TagKey, "tags."+n+".member.tagKey") {
			v.length(tg.TagKey, "tags."+n+".member.tagKey", 1, 128)
		}
		if v.required(tg.TagValue, "tags."+n+".member.tagValue") {
			v.length(tg.TagValue, "tags."+n+".member.tagValue", 0, 256)
		}
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, tg := range tags {
		if strings.HasPrefix(strings.ToLower(*tg.TagKey), "aws:") {
			return nil, errTag("Tags beginning with aws: are reserved")
		}
		if seen[*tg.TagKey] {
			return nil, errTag("Duplicate tag keys")
		}
		seen[*tg.TagKey] = true
	}
	merged := slices.Clone(existing)
	for _, tg := range tags {
		i := slices.IndexFunc(merged, func(x kmsTag) bool { return x.Key == *tg.TagKey })
		if i >= 0 {
			merged[i].Value = *tg.TagValue
		} else {
			merged = append(merged, kmsTag{Key: *tg.TagKey, Value: *tg.TagValue})
		}
	}
	if len(merged) > maxTagsPerKey {
		return nil, errTag("Too many tags")
	}
	sortTags(merged)
	return merged, nil
}

// defaultPolicy is the default key policy CreateKey gives (as recorded for
// ReplicateKey's ReplicaPolicy).
func defaultPolicy(account, region string) string {
	return `{"Version":"2012-10-17","Id":"key-default-1","Statement":[{"Sid":"Enable IAM User Permissions",` +
		`"Effect":"Allow","Principal":{"AWS":"arn:` + partitionOf(region) + `:iam::` + account + `:root"},"Action":"kms:*","Resource":"*"}]}`
}

// freshKeyID is a fresh key ID for CreateKey: a UUID, or mrk- and 32 hex
// digits for a multi-Region key.
func freshKeyID(multiRegion bool) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return formatKeyID(b, multiRegion)
}

// newKeyID derives a key ID from a seed, so that estates load the same way
// every time.
func newKeyID(account, region, seed string, multiRegion bool) string {
	sum := sha256.Sum256([]byte(account + "\x00" + region + "\x00" + seed))
	var b [16]byte
	copy(b[:], sum[:16])
	return formatKeyID(b, multiRegion)
}

func formatKeyID(b [16]byte, multiRegion bool) string {
	h := hex.EncodeToString(b[:])
	if multiRegion {
		return "mrk-" + h
	}
	// A version 4 UUID, as AWS key IDs look.
	h = h[:12] + "4" + h[13:16] + string("89ab"[b[8]&3]) + h[17:]
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// materialID is the ID of a generation of key material: 64 hex digits
// derived from the key and the generation (or the imported bytes).
func materialID(keyID string, seed []byte) string {
	sum := sha256.Sum256(append([]byte(keyID+"\x00"), seed...))
	return hex.EncodeToString(sum[:])
}

// addMaterial appends a generation of material and makes it current.
func (key *kmsKey) addMaterial(m material) {
	if m.ID == "" {
		m.ID = materialID(key.ID, []byte(key.Region+"\x00"+strconv.Itoa(len(key.Materials))))
	}
	key.Materials = append(key.Materials, m)
	if !m.Pending {
		key.Current = len(key.Materials) - 1
	}
}

// CreateKey (§4.10).
func (k *kmsService) createKey(t *tx) (any, *apiError) {
	var in struct {
		Policy                         *string    `json:"Policy"`
		Description                    *string    `json:"Description"`
		KeyUsage                       *string    `json:"KeyUsage"`
		KeySpec                        *string    `json:"KeySpec"`
		CustomerMasterKeySpec          *string    `json:"CustomerMasterKeySpec"`
		Origin                         *string    `json:"Origin"`
		CustomKeyStoreID               *string    `json:"CustomKeyStoreId"`
		BypassPolicyLockoutSafetyCheck *bool      `json:"BypassPolicyLockoutSafetyCheck"`
		Tags                           []tagInput `json:"Tags"`
		MultiRegion                    *bool      `json:"MultiRegion"`
		XksKeyID                       *string    `json:"XksKeyId"`
	}
	if err := decode(t.c.Body, &in); err != nil {
		return nil, err
	}
	var v validator
	v.length(in.Policy, "policy", 1, 131072)
	v.length(in.Description, "description", 0, 8192)
	v.enum(in.KeyUsage, "keyUsage", keyUsageEnum)
	v.enum(in.KeySpec, "keySpec", keySpecEnum)
	v.enum(in.CustomerMasterKeySpec, "customerMasterKeySpec", keySpecEnum)
	v.enum(in.Origin, "origin", originEnum)
	v.length(in.CustomKeyStoreID, "customKeyStoreId", 1, 64)
	v.length(in.XksKeyID, "xksKeyId", 1, 128)
	if err := v.err(); err != nil {
		return nil, err
	}
	if in.KeySpec != nil && in.CustomerMasterKeySpec != nil {
		return nil, errValidation("You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec is deprecated.")
	}
	spec := specSymmetric
	if in.KeySpec != nil {
		spec = *in.KeySpec
	} else if in.CustomerMasterKeySpec != nil {
		spec = *in.CustomerMasterKeySpec
	}
	usage := usageEncryptDecrypt
	if in.KeyUsage != nil {
		usage = *in.KeyUsage
	} else if spec != specSymmetric {
		return nil, errValidation("You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.")
	}
	if !usageAllowed(spec, usage) {
		// UNCONFIRMED wording; the combinations follow the CreateKey docs.
		return nil, errValidation("KeyUsage " + usage + " is not compatible with KeySpec " + spec + ".")
	}
	origin := originAWSKMS
	if in.Origin != nil {
		origin = *in.Origin
	} else if in.CustomKeyStoreID != nil {
		origin = originCloudHSM
	}
	multiRegion := in.MultiRegion != nil && *in.MultiRegion
	switch {
	case isCustomKeyStore(origin) && in.CustomKeyStoreID == nil:
		return nil, errValidation("You must specify a CustomKeyStoreId when the Origin is " + origin + ".")
	case origin == originExternalKeyStore && in.XksKeyID == nil:
		return nil, errValidation("You must specify an XksKeyId when the Origin is EXTERNAL_KEY_STORE.")
	case origin != originExternalKeyStore && in.XksKeyID != nil:
		return nil, errValidation("You can specify an XksKeyId only when the Origin is EXTERNAL_KEY_STORE.")
	case !isCustomKeyStore(origin) && in.CustomKeyStoreID != nil:
		return nil, errValidation("You can specify a CustomKeyStoreId only when the Origin is AWS_CLOUDHSM or EXTERNAL_KEY_STORE.")
	case isCustomKeyStore(origin) && spec != specSymmetric:
		return nil, errUnsupported("KeySpec " + spec + " is not supported in a custom key store.")
	case isCustomKeyStore(origin) && multiRegion:
		return nil, errUnsupported("Multi-Region keys are not supported in a custom key store.")
	}
	if in.Policy != nil && !json.Valid([]byte(*in.Policy)) {
		return nil, kmsErr("MalformedPolicyDocumentException", "The new key policy is not valid JSON.")
	}
	tags, err := checkTags(in.Tags, nil)
	if err != nil {
		return nil, err
	}
	s, err := k.storeOf(t, t.c.Account, t.c.Region)
	if err != nil {
		return nil, err
	}
	id := freshKeyID(multiRegion)
	for s.keys[id] != nil {
		id = freshKeyID(multiRegion)
	}
	key := &kmsKey{
		Account: t.c.Account, Region: t.c.Region, ID: id,
		Manager: managerCustomer, Spec: spec, Usage: usage, Origin: origin,
		State: stateEnabled, Created: t.now, Tags: tags, Current: -1,
		MultiRegion: multiRegion,
	}
	if in.Description != nil {
		key.Description = *in.Description
	}
	key.Policy = defaultPolicy(t.c.Account, t.c.Region)
	if in.Policy != nil {
		key.Policy = *in.Policy
	}
	if multiRegion {
		key.PrimaryRegion = t.c.Region
	}
	switch origin {
	case originAWSKMS:
		key.addMaterial(material{Date: t.now})
	case originExternal:
		key.State = statePendingImport
	case originCloudHSM:
		key.CustomKeyStoreID = *in.CustomKeyStoreID
		key.CloudHsmClusterID = clusterID(key.CustomKeyStoreID)
	case originExternalKeyStore:
		key.CustomKeyStoreID = *in.CustomKeyStoreID
		key.XksKeyID = *in.XksKeyID
	}
	s.addKey(key)
	key.computeDue(k.onDemandDelay)
	return struct {
		KeyMetadata *keyMetadata `json:"KeyMetadata"`
	}{key.metadata()}, nil
}

// clusterID is the CloudHSM cluster behind a key store, derived from its ID.
func clusterID(storeID string) string {
	sum := sha256.Sum256([]byte("cluster\x00" + storeID))
	return "cluster-" + hex.EncodeToString(sum[:6])[:11]
}

var aliasNamePattern = regexp.MustCompile(`^[a-zA-Z0-9:/_-]+$`)

// checkAliasName validates an AliasName member and the alias/ prefix.
func checkAliasName(name *string) *apiError {
	var v validator
	if v.required(name, "aliasName") {
		v.length(name, "aliasName", 1, 256)
		if len(*name) > 0 && len(*name) <= 256 && !aliasNamePattern.MatchString(*name) {
			v.add(name, "aliasName", "satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$")
		}
	}
	if err := v.err(); err != nil {
		return err
	}
	if !strings.HasPrefix(*name, "alias/") || len(*name) == len("alias/") {
		return errValidation(`Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html`)
	}
	return nil
}

// errReservedAlias answers an attempt to create or delete an alias/aws/
// alias. UNCONFIRMED: the code is NotAuthorizedException, as moto answers
// (the prefix is reserved for AWS managed keys).
func errReservedAlias() *apiError {
	return kmsErr("NotAuthorizedException", "")
}

// CreateAlias: an alias of a customer managed key in the caller's account.
func (k *kmsService) createAlias(t *tx) (any, *apiError) {
	var in struct {
		AliasName   *string `json:"AliasName"`
		TargetKeyID *string `json:"TargetKeyId"`
	}
	if err := decode(t.c.Body, &in); err != nil {
		return nil, err
	}
	if err := checkAliasName(in.AliasName); err != nil {
		return nil, err
	}
	var v validator
	if v.required(in.TargetKeyID, "targetKeyId") {
		v.length(in.TargetKeyID, "targetKeyId", 1, 2048)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if strings.HasPrefix(*in.AliasName, "alias/aws/") {
		return nil, errReservedAlias()
	}
	key, err := k.find(t, *in.TargetKeyID, keyRef{op: "CreateAlias"})
	if err != nil {
		return nil, err
	}
	if key.Manager == managerAWS {
		return nil, errReservedAlias()
	}
	if key.State == statePendingDeletion || key.State == statePendingReplicaDeletion {
		return nil, errInvalidState(pendingDeletionMsg(key))
	}
	s := k.store(t.c.Account, t.c.Region)
	if s.aliases[*in.AliasName] != nil {
		return nil, kmsErr("AlreadyExistsException", "An alias with the name "+
			aliasARN(t.c.Account, t.c.Region, *in.AliasName)+" already exists")
	}
	if len(key.aliases) >= maxAliasPerKey {
		return nil, kmsErr("LimitExceededException", "Too many aliases for the key "+key.ARN)
	}
	s.putAlias(&kmsAlias{Name: *in.AliasName, Target: key.ID, Created: t.now, Updated: t.now})
	key.addAliasOf(*in.AliasName)
	return nil, nil
}

// DeleteAlias.
func (k *kmsService) deleteAlias(t *tx) (any, *apiError) {
	var in struct {
		AliasName *string `json:"AliasName"`
	}
	if err := decode(t.c.Body, &in); err != nil {
		return nil, err
	}
	if err := checkAliasName(in.AliasName); err != nil {
		return nil, err
	}
	if strings.HasPrefix(*in.AliasName, "alias/aws/") {
		return nil, errReservedAlias()
	}
	s, err := k.storeOf(t, t.c.Account, t.c.Region)
	if err != nil {
		return nil, err
	}
	a := s.aliases[*in.AliasName]
	if a == nil {
		return nil, errNotFound("Alias " + aliasARN(t.c.Account, t.c.Region, *in.AliasName) + " is not found.")
	}
	if key := s.keys[a.Target]; key != nil {
		key.removeAliasOf(a.Name)
	}
	s.deleteAlias(a.Name)
	return nil, nil
}

type aliasEntry struct {
	AliasName       string `json:"AliasName"`
	AliasArn        string `json:"AliasArn"`
	TargetKeyID     string `json:"TargetKeyId,omitempty"`
	CreationDate    *epoch `json:"CreationDate,omitempty"`
	LastUpdatedDate *epoch `json:"LastUpdatedDate,omitempty"`
}

// ListAliases (§4.8): the account's aliases in the Region, including the
// predefined AWS aliases without a TargetKeyId, in name order.
//
// Limit: the documentation says 1–100 (default 50) while the model's
// LimitType allows 1000. UNCONFIRMED (§13 item 11) whether AWS rejects or
// clamps 101–1000; the emulator follows the documentation and rejects them
// with ValidationException, so a client that relies on more is caught.
func (k *kmsService) listAliases(t *tx) (any, *apiError) {
	var in struct {
		pageInput
		KeyID *string `json:"KeyId"`
	}
	if err := decode(t.c.Body, &in); err != nil {
		return nil, err
	}
	var v validator
	in.validate(&v, 100)
	v.length(in.KeyID, "keyId", 1, 2048)
	if err := v.err(); err != nil {
		return nil, err
	}
	s, err := k.storeOf(t, t.c.Account, t.c.Region)
	if err != nil {
		return nil, err
	}
	names, scope := s.aliasNames, ""
	if in.KeyID != nil {
		key, err := k.find(t, *in.KeyID, keyRef{op: "ListAliases"})
		if err != nil {
			return nil, err
		}
		names, scope = key.aliases, key.ID
	}
	page, next, err := pageOf(t, pageScope(t, scope), names, &in.pageInput, 50)
	if err != nil {
		return nil, err
	}
	out := struct {
		Aliases    []aliasEntry `json:"Aliases"`
		NextMarker *string      `json:"NextMarker,omitempty"`
		Truncated  bool         `json:"Truncated"`
	}{Aliases: make([]aliasEntry, len(page)), NextMarker: next, Truncated: next != nil}
	for i, name := range page {
		a := s.aliases[name]
		e := aliasEntry{AliasName: a.Name, AliasArn: a.arn, TargetKeyID: a.Target}
		if a.Target != "" {
			e.CreationDate, e.LastUpdatedDate = ep(a.Created), ep(a.Updated)
		}
		out.Aliases[i] = e
	}
	return out, nil
}

// ListResourceTags (§4.9): every state; Limit 1–50 as documented.
func (k *kmsService) listResourceTags(t *tx) (any, *apiError) {
	var in struct {
		pageInput
		keyIDInput
	}
	key, err := k.decodeKey(t, &in, func(v *validator) {
		in.validate(v, 50)
	}, keyRef{op: "ListResourceTags"})
	if err != nil {
		return nil, err
	}
	keys := make([]string, len(key.Tags))
	for i, tg := range key.Tags {
		keys[i] = tg.Key
	}
	page, next, err := pageOf(t, pageScope(t, key.ARN), keys, &in.pageInput, 50)
	if err != nil {
		return nil, err
	}
	// Tags are kept sorted by key, so the page's keys are a run of them.
	start := 0
	if len(page) > 0 {
		start, _ = slices.BinarySearch(keys, page[0])
	}
	tags := make([]kmsTag, len(page))
	copy(tags, key.Tags[start:start+len(page)])
	return struct {
		Tags       []kmsTag `json:"Tags"`
		NextMarker *string  `json:"NextMarker,omitempty"`
		Truncated  bool     `json:"Truncated"`
	}{tags, next, next != nil}, nil
}

// checkTaggable is the state check of TagResource and UntagResource (KS22:
// they fail on keys pending deletion), after AWS managed keys are refused.
func checkTaggable(t *tx, key *kmsKey, op string) *apiError {
	if key.Manager == managerAWS {
		return errAccessDenied(t.c, op, key.ARN)
	}
	if key.State == statePendingDeletion || key.State == statePendingReplicaDeletion {
		return errInvalidState(pendingDeletionMsg(key))
	}
	return nil
}

// TagResource.
func (k *kmsService) tagResource(t *tx) (any, *apiError) {
	var in struct {
		keyIDInput
		Tags []tagInput `json:"Tags"`
	}
	key, err := k.decodeKey(t, &in, func(v *validator) {
		if in.Tags == nil {
			v.add(nil, "tags", "not be null")
		}
	}, keyRef{op: "TagResource"})
	if err != nil {
		return nil, err
	}
	if err := checkTaggable(t, key, "TagResource"); err != nil {
		return nil, err
	}
	tags, err := checkTags(in.Tags, key.Tags)
	if err != nil {
		return nil, err
	}
	key.Tags = tags
	return nil, nil
}

// UntagResource.
func (k *kmsService) untagResource(t *tx) (any, *apiError) {
	var in struct {
		keyIDInput
		TagKeys []string `json:"TagKeys"`
	}
	key, err := k.decodeKey(t, &in, func(v *validator) {
		if in.TagKeys == nil {
			v.add(nil, "tagKeys", "not be null")
		}
		for i := range in.TagKeys {
			v.length(&in.TagKeys[i], "tagKeys."+strconv.Itoa(i+1)+".member", 1, 128)
		}
	}, keyRef{op: "UntagResource"})
	if err != nil {
		return nil, err
	}
	if err := checkTaggable(t, key, "UntagResource"); err != nil {
		return nil, err
	}
	key.Tags = slices.DeleteFunc(slices.Clone(key.Tags), func(tg kmsTag) bool {
		return slices.Contains(in.TagKeys, tg.Key)
	})
	return nil, nil
}

// GetKeyPolicy: every state; the only policy name is "default".
func (k *kmsService) getKeyPolicy(t *tx) (any, *apiError) {
	var in struct {
		keyIDInput
		PolicyName *string `json:"PolicyName"`
	}
	key, err := k.decodeKey(t, &in, func(v *validator) {
		v.length(in.PolicyName, "policyName", 1, 128)
	}, keyRef{op: "GetKeyPolicy"})
	if err != nil {
		return nil, err
	}
	if in.PolicyName != nil && *in.PolicyName != "default" {
		return nil, errNotFound("No such policy exists")
	}
	return struct {
		Policy     string `json:"Policy"`
		PolicyName string `json:"PolicyName"`
	}{key.Policy, "default"}, nil
}

// pendingDeletionMsg is footnote 3 of the key-state table.
func pendingDeletionMsg(key *kmsKey) string {
	if key.State == statePendingReplicaDeletion {
		return key.ARN + " is pending replica deletion."
	}
	return key.ARN + " is pending deletion."
}

// stateError answers the transient and blocked states with the footnotes of
// the key-state table (kms-api.md §6) for operations that fail in them.
func stateError(key *kmsKey) *apiError {
	switch key.State {
	case stateDisabled:
		return errDisabled(key.ARN)
	case statePendingDeletion, statePendingReplicaDeletion:
		return errInvalidState(pendingDeletionMsg(key))
	case statePendingImport:
		return errInvalidState(key.ARN + " is pending import.")
	case stateCreating:
		return errInvalidState(key.ARN + " is creating.")
	case stateUpdating:
		return errInvalidState(key.ARN + " is updating.")
	case stateUnavailable:
		return errInvalidState(key.ARN + " is unavailable.")
	}
	return nil
}

// ScheduleKeyDeletion (§4.11). PendingWindowInDays: the documentation says
// 7–30 (default 30) while the model allows 1–365; the documented range is
// enforced.
func (k *kmsService) scheduleKeyDeletion(t *tx) (any, *apiError) {
	var in struct {
		keyIDInput
		PendingWindowInDays *int64 `json:"PendingWindowInDays"`
	}
	key, err := k.decodeKey(t, &in, func(v *validator) {
		v.rangeInt(in.PendingWindowInDays, "pendingWindowInDays", 7, 30)
	}, keyRef{op: "ScheduleKeyDeletion"})
	if err != nil {
		return nil, err
	}
	if key.Manager == managerAWS {
		return nil, errAccessDenied(t.c, "ScheduleKeyDeletion", key.ARN)
	}
	switch key.State {
	case statePendingDeletion, statePendingReplicaDeletion, stateUpdating:
		return nil, stateError(key)
	}
	window := 30
	if in.PendingWindowInDays != nil {
		window = int(*in.PendingWindowInDays)
	}
	key.PendingWindowDays = window
	out := struct {
		KeyID               string `json:"KeyId"`
		DeletionDate        *epoch `json:"DeletionDate,omitempty"`
		KeyState            string `json:"KeyState"`
		PendingWindowInDays int    `json:"PendingWindowInDays"`
	}{KeyID: key.ARN, PendingWindowInDays: window}
	if len(key.replicas) > 0 {
		// A primary waits for its replicas; its window starts when the last
		// one is deleted.
		key.State = statePendingReplicaDeletion
		key.DeletionDate = time.Time{}
	} else {
		key.State = statePendingDeletion
		key.DeletionDate = t.now.AddDate(0, 0, window)
		out.DeletionDate = ep(key.DeletionDate)
		k.store(key.Account, key.Region).notePurge(key)
	}
	out.KeyState = key.State
	key.computeDue(k.onDemandDelay)
	key.invalidate()
	return out, nil
}

// CancelKeyDeletion: the key is left Disabled (§4.11).
func (k *kmsService) cancelKeyDeletion(t *tx) (any, *apiError) {
	key, err := k.findKeyID(t, keyRef{op: "CancelKeyDeletion"})
	if err != nil {
		return nil, err
	}
	if key.Manager == managerAWS {
		return nil, errAccessDenied(t.c, "CancelKeyDeletion", key.ARN)
	}
	if key.State != statePendingDeletion && key.State != statePendingReplicaDeletion {
		return nil, errInvalidState(key.ARN + " is not pending deletion.")
	}
	key.State = stateDisabled
	key.DeletionDate = time.Time{}
	key.PendingWindowDays = 0
	key.computeDue(k.onDemandDelay)
	key.invalidate()
	return struct {
		KeyID string `json:"KeyId"`
	}{key.ARN}, nil
}

// DisableKey (§4.12): idempotent on Disabled keys; an Unavailable key
// accepts it without changing state (KS22 footnote 12).
func (k *kmsService) disableKey(t *tx) (any, *apiError) {
	key, err := k.findKeyID(t, keyRef{op: "DisableKey"})
	if err != nil {
		return nil, err
	}
	if key.Manager == managerAWS {
		return nil, errAccessDenied(t.c, "DisableKey", key.ARN)
	}
	switch key.State {
	case stateEnabled:
		key.State = stateDisabled
	case stateDisabled, stateUnavailable:
	default:
		return nil, stateError(key)
	}
	key.computeDue(k.onDemandDelay)
	key.invalidate()
	return nil, nil
}

// EnableKey: the mirror of DisableKey. A key whose scheduled rotation passed
// while it was disabled rotates at once (§7 "Disabled keys").
func (k *kmsService) enableKey(t *tx) (any, *apiError) {
	key, err := k.findKeyID(t, keyRef{op: "EnableKey"})
	if err != nil {
		return nil, err
	}
	if key.Manager == managerAWS {
		return nil, errAccessDenied(t.c, "EnableKey", key.ARN)
	}
	switch key.State {
	case stateDisabled:
		key.State = stateEnabled
		if key.primary == nil && key.rotationOn() && key.canAutoRotate() && !key.Stalled &&
			!key.NextRotation.IsZero() && !t.now.Before(key.NextRotation) {
			key.addMaterial(material{Date: t.now, Type: rotationAutomatic})
			key.NextRotation = t.now.AddDate(0, 0, key.period())
		}
	case stateEnabled, stateUnavailable:
	default:
		return nil, stateError(key)
	}
	key.computeDue(k.onDemandDelay)
	key.invalidate()
	return nil, nil
}

var regionPattern = regexp.MustCompile(`^([a-z]+-){2,3}\d+$`)

// ReplicateKey (§4.13).
func (k *kmsService) replicateKey(t *tx) (any, *apiError) {
	var in struct {
		keyIDInput
		ReplicaRegion                  *string    `json:"ReplicaRegion"`
		Policy                         *string    `json:"Policy"`
		BypassPolicyLockoutSafetyCheck *bool      `json:"BypassPolicyLockoutSafetyCheck"`
		Description                    *string    `json:"Description"`
		Tags                           []tagInput `json:"Tags"`
	}
	key, err := k.decodeKey(t, &in, func(v *validator) {
		if v.required(in.ReplicaRegion, "replicaRegion") {
			v.length(in.ReplicaRegion, "replicaRegion", 1, 32)
			if !regionPattern.MatchString(*in.ReplicaRegion) {
				v.add(in.ReplicaRegion, "replicaRegion", "satisfy regular expression pattern: ^([a-z]+-){2,3}\\d+$")
			}
		}
		v.length(in.Policy, "policy", 1, 131072)
		v.length(in.Description, "description", 0, 8192)
	}, keyRef{op: "ReplicateKey"})
	if err != nil {
		return nil, err
	}
	if key.State != stateEnabled {
		if key.State == stateUnavailable {
			return nil, errInvalidState(key.ARN + " is unavailable.")
		}
		return nil, stateError(key)
	}
	if !key.MultiRegion || key.isReplica() {
		// Recorded for a replica; a single-Region key gets the same answer.
		return nil, errUnsupported(key.ARN + " is not a multi-region primary key.")
	}
	region := *in.ReplicaRegion
	if region == key.Region {
		// UNCONFIRMED wording.
		return nil, errValidation("The replica Region " + region + " is the Region of the primary key.")
	}
	if regions := k.accounts[key.Account]; len(regions) > 0 && !slices.Contains(regions, region) {
		// UNCONFIRMED: how AWS answers a Region that is not enabled.
		return nil, errUnsupported("The Region " + region + " is not enabled for account " + key.Account + ".")
	}
	if slices.Contains(key.ReplicaRegions, region) {
		return nil, kmsErr("AlreadyExistsException", "A replica of "+key.ARN+" already exists in "+region+".")
	}
	if in.Policy != nil && !json.Valid([]byte(*in.Policy)) {
		return nil, kmsErr("MalformedPolicyDocumentException", "The new key policy is not valid JSON.")
	}
	tags, err := checkTags(in.Tags, nil)
	if err != nil {
		return nil, err
	}
	rs := k.store(key.Account, region)
	if rs.keys[key.ID] != nil {
		return nil, kmsErr("AlreadyExistsException", "A replica of "+key.ARN+" already exists in "+region+".")
	}
	replica := &kmsKey{
		Account: key.Account, Region: region, ID: key.ID,
		Manager: managerCustomer, Spec: key.Spec, Usage: key.Usage, Origin: key.Origin,
		Created: t.now, Tags: tags, Current: -1,
		MultiRegion: true, PrimaryRegion: key.Region,
		Policy: defaultPolicy(key.Account, region),
	}
	if in.Description != nil {
		replica.Description = *in.Description
	}
	if in.Policy != nil {
		replica.Policy = *in.Policy
	}
	// A replica of a key with imported material has none of its own yet.
	replica.ReadyState = stateEnabled
	if key.Origin == originExternal {
		replica.ReadyState = statePendingImport
	}
	// The replica is Creating for replicaDelay on the emulator clock, as AWS's
	// are "for a few seconds"; a zero delay makes it ready at once.
	if k.replicaDelay > 0 {
		replica.State = stateCreating
		replica.CreatingUntil = t.now.Add(k.replicaDelay)
	} else {
		replica.State = replica.ReadyState
	}
	rs.addKey(replica)
	replica.primary = key
	key.replicas = append(key.replicas, replica)
	slices.SortFunc(key.replicas, func(a, b *kmsKey) int { return strings.Compare(a.Region, b.Region) })
	key.ReplicaRegions = append(key.ReplicaRegions, region)
	slices.Sort(key.ReplicaRegions)
	replica.computeDue(k.onDemandDelay)
	key.invalidate()
	replicaTags := tags
	if replicaTags == nil {
		replicaTags = []kmsTag{}
	}
	return struct {
		ReplicaKeyMetadata *keyMetadata `json:"ReplicaKeyMetadata"`
		ReplicaPolicy      string       `json:"ReplicaPolicy"`
		ReplicaTags        []kmsTag     `json:"ReplicaTags"`
	}{replica.metadata(), replica.Policy, replicaTags}, nil
}
