package kmsemu

import (
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"
)

// kmsKey is one KMS key in one account and Region. A multi-Region replica is
// its own kmsKey (same ID, another Region) whose rotation settings and key
// material are read from its primary: they are shared properties (§4.13).
//
// Exported fields are the persisted state (snapshot); the rest is derived.
type kmsKey struct {
	Account     string    `json:"account"`
	Region      string    `json:"region"`
	ID          string    `json:"id"`
	Description string    `json:"description"`
	Manager     string    `json:"manager"`
	Spec        string    `json:"spec"`
	Usage       string    `json:"usage"`
	Origin      string    `json:"origin"`
	State       string    `json:"state"`
	Created     time.Time `json:"created"`
	Policy      string    `json:"policy"`
	Tags        []kmsTag  `json:"tags,omitempty"`

	CustomKeyStoreID  string `json:"custom_key_store_id,omitempty"`
	CloudHsmClusterID string `json:"cloud_hsm_cluster_id,omitempty"`
	XksKeyID          string `json:"xks_key_id,omitempty"`

	// DeletionDate is set while PendingDeletion; PendingWindowDays is the
	// window asked for, which a primary in PendingReplicaDeletion shows and
	// starts once its last replica is gone.
	DeletionDate      time.Time `json:"deletion_date,omitzero"`
	PendingWindowDays int       `json:"pending_window_days,omitempty"`

	// Multi-Region keys. PrimaryRegion is the Region of the primary (this
	// key's own Region for the primary); ReplicaRegions is kept on the
	// primary, sorted. A replica is Creating until CreatingUntil, then
	// becomes ReadyState.
	MultiRegion    bool      `json:"multi_region,omitempty"`
	PrimaryRegion  string    `json:"primary_region,omitempty"`
	ReplicaRegions []string  `json:"replica_regions,omitempty"`
	CreatingUntil  time.Time `json:"creating_until,omitzero"`
	ReadyState     string    `json:"ready_state,omitempty"`

	// Automatic rotation (customer keys; AWS managed keys always rotate
	// yearly). EnabledAt anchors the schedule; NextRotation is the next
	// scheduled date. Stalled marks an estate key whose NextRotation was set in
	// the past on purpose (an overdue key): the emulator leaves it overdue.
	Rotation     bool      `json:"rotation,omitempty"`
	PeriodDays   int       `json:"period_days,omitempty"`
	EnabledAt    time.Time `json:"enabled_at,omitzero"`
	NextRotation time.Time `json:"next_rotation,omitzero"`
	Stalled      bool      `json:"stalled,omitempty"`

	// Key material, oldest first; Current indexes the current one (-1: none
	// yet). OnDemandStart is set while an on-demand rotation runs.
	Materials     []material `json:"materials,omitempty"`
	Current       int        `json:"current"`
	OnDemandCount int        `json:"on_demand_count,omitempty"`
	OnDemandStart time.Time  `json:"on_demand_start,omitzero"`

	// Imported material of EXTERNAL keys: whether the current material is in
	// the key, and how it expires.
	Imported        bool      `json:"imported,omitempty"`
	ExpirationModel string    `json:"expiration_model,omitempty"`
	ValidTo         time.Time `json:"valid_to,omitzero"`

	ARN      string                 `json:"-"`
	primary  *kmsKey                // the primary of a replica, else nil
	replicas []*kmsKey              // a primary's replicas, by Region
	aliases  []string               // names of the aliases that target the key, sorted
	due      time.Time              // earliest time settle has work; zero: none
	desc     atomic.Pointer[[]byte] // cached DescribeKey response body
}

// material is one generation of key material.
type material struct {
	ID string `json:"id"`
	// Date is when the material was created (the first) or became current
	// through a rotation; zero for a pending import.
	Date time.Time `json:"date,omitzero"`
	// Type is AUTOMATIC or ON_DEMAND for rotations; "" for the first material.
	Type string `json:"type,omitempty"`
	// Pending marks imported material waiting for RotateKeyOnDemand.
	Pending bool `json:"pending,omitempty"`
	// Imported material only.
	ExpirationModel string    `json:"expiration_model,omitempty"`
	ValidTo         time.Time `json:"valid_to,omitzero"`
	Description     string    `json:"description,omitempty"`
}

type kmsTag struct {
	Key   string `json:"TagKey"`
	Value string `json:"TagValue"`
}

// kmsAlias is an alias in an account and Region. A predefined AWS alias
// (alias/aws/<service>) exists before its AWS managed key does; its Target is
// then empty.
type kmsAlias struct {
	Name    string    `json:"name"`
	Target  string    `json:"target,omitempty"`
	Created time.Time `json:"created,omitzero"`
	Updated time.Time `json:"updated,omitzero"`
	arn     string
}

type regionKey struct{ account, region string }

// regionStore is the KMS state of one account in one Region.
type regionStore struct {
	account, region string
	keys            map[string]*kmsKey
	ids             []string // sorted key IDs: the ListKeys order
	aliases         map[string]*kmsAlias
	aliasNames      []string  // sorted: the ListAliases order
	nextPurge       time.Time // earliest DeletionDate of a PendingDeletion key
	bulk            bool      // indexes are appended to, sorted by endBulk
}

// predefinedAliases are the AWS managed key aliases that exist in every
// account and Region before the service first uses them (ListAliases lists
// them without a TargetKeyId, kms-api.md §4.8).
var predefinedAliases = []string{
	"alias/aws/acm", "alias/aws/dynamodb", "alias/aws/ebs", "alias/aws/elasticfilesystem",
	"alias/aws/es", "alias/aws/glue", "alias/aws/kinesisvideo", "alias/aws/lambda",
	"alias/aws/rds", "alias/aws/redshift", "alias/aws/s3", "alias/aws/secretsmanager",
	"alias/aws/sns", "alias/aws/sqs", "alias/aws/ssm", "alias/aws/xray",
}

func keyARN(account, region, id string) string {
	return "arn:" + partitionOf(region) + ":kms:" + region + ":" + account + ":key/" + id
}

func aliasARN(account, region, name string) string {
	return "arn:" + partitionOf(region) + ":kms:" + region + ":" + account + ":" + name
}

func newRegionStore(account, region string) *regionStore {
	s := &regionStore{account: account, region: region,
		keys: map[string]*kmsKey{}, aliases: map[string]*kmsAlias{}}
	for _, name := range predefinedAliases {
		s.putAlias(&kmsAlias{Name: name})
	}
	return s
}

// store returns the account's store in the Region, creating it. Callers hold
// the write lock.
func (k *kmsService) store(account, region string) *regionStore {
	rk := regionKey{account, region}
	s := k.stores[rk]
	if s == nil {
		s = newRegionStore(account, region)
		k.stores[rk] = s
	}
	return s
}

// addKey indexes a new key. Callers hold the write lock.
func (s *regionStore) addKey(key *kmsKey) {
	key.ARN = keyARN(key.Account, key.Region, key.ID)
	s.keys[key.ID] = key
	if s.bulk {
		s.ids = append(s.ids, key.ID)
	} else if i, found := slices.BinarySearch(s.ids, key.ID); !found {
		s.ids = slices.Insert(s.ids, i, key.ID)
	}
	s.notePurge(key)
}

// startBulk makes addKey and putAlias append without keeping the indexes
// sorted, and endBulk sorts them once: loading 100,000 keys one sorted
// insert at a time would move memory quadratically.
func (s *regionStore) startBulk() { s.bulk = true }

func (s *regionStore) endBulk() {
	s.bulk = false
	slices.Sort(s.ids)
	s.ids = slices.Compact(s.ids)
	slices.Sort(s.aliasNames)
	s.aliasNames = slices.Compact(s.aliasNames)
}

func (s *regionStore) removeKey(key *kmsKey) {
	delete(s.keys, key.ID)
	if i, found := slices.BinarySearch(s.ids, key.ID); found {
		s.ids = slices.Delete(s.ids, i, i+1)
	}
}

// notePurge records when the key, if pending deletion, is to be deleted.
func (s *regionStore) notePurge(key *kmsKey) {
	if key.State == statePendingDeletion && !key.DeletionDate.IsZero() &&
		(s.nextPurge.IsZero() || key.DeletionDate.Before(s.nextPurge)) {
		s.nextPurge = key.DeletionDate
	}
}

func (s *regionStore) putAlias(a *kmsAlias) {
	a.arn = aliasARN(s.account, s.region, a.Name)
	_, existed := s.aliases[a.Name]
	s.aliases[a.Name] = a
	if existed {
		return
	}
	if s.bulk {
		s.aliasNames = append(s.aliasNames, a.Name)
	} else if i, found := slices.BinarySearch(s.aliasNames, a.Name); !found {
		s.aliasNames = slices.Insert(s.aliasNames, i, a.Name)
	}
}

func (s *regionStore) deleteAlias(name string) {
	delete(s.aliases, name)
	if i, found := slices.BinarySearch(s.aliasNames, name); found {
		s.aliasNames = slices.Delete(s.aliasNames, i, i+1)
	}
}

// addAliasOf records that the alias targets the key.
func (key *kmsKey) addAliasOf(name string) {
	if i, found := slices.BinarySearch(key.aliases, name); !found {
		key.aliases = slices.Insert(key.aliases, i, name)
	}
}

func (key *kmsKey) removeAliasOf(name string) {
	if i, found := slices.BinarySearch(key.aliases, name); found {
		key.aliases = slices.Delete(key.aliases, i, i+1)
	}
}

// rotationKey is the key whose rotation settings and material this key uses:
// the primary for a replica, else the key itself.
func (key *kmsKey) rotationKey() *kmsKey {
	if key.primary != nil {
		return key.primary
	}
	return key
}

func (key *kmsKey) isReplica() bool { return key.primary != nil }

func (key *kmsKey) isSymmetric() bool { return key.Spec == specSymmetric }

// rotationOn is the automatic rotation setting (AWS managed keys: always).
func (key *kmsKey) rotationOn() bool { return key.Manager == managerAWS || key.Rotation }

func (key *kmsKey) period() int {
	if key.Manager == managerAWS || key.PeriodDays == 0 {
		return defaultRotationPeriod
	}
	return key.PeriodDays
}

// invalidate drops the cached DescribeKey bodies of the key and of every key
// that shows its metadata (a multi-Region key's primary and replicas).
func (key *kmsKey) invalidate() {
	root := key.rotationKey()
	root.desc.Store(nil)
	for _, r := range root.replicas {
		r.desc.Store(nil)
	}
	key.desc.Store(nil)
}

// computeDue records the earliest time at which settle has something to do
// for this key: an automatic rotation, the end of an on-demand rotation or of
// replica creation, or the expiry of imported material.
func (key *kmsKey) computeDue(onDemandDelay time.Duration) {
	var due time.Time
	earliest := func(t time.Time) {
		if !t.IsZero() && (due.IsZero() || t.Before(due)) {
			due = t
		}
	}
	if key.primary == nil {
		if t, ok := key.autoRotationDue(); ok {
			earliest(t)
		}
		if !key.OnDemandStart.IsZero() {
			earliest(key.OnDemandStart.Add(onDemandDelay))
		}
	}
	if key.State == stateCreating {
		earliest(key.CreatingUntil)
	}
	if key.Imported && key.ExpirationModel == expires {
		earliest(key.ValidTo)
	}
	key.due = due
}

// autoRotationDue returns the next automatic rotation date if one will happen:
// the key rotates only while Enabled with rotation on (§7).
func (key *kmsKey) autoRotationDue() (time.Time, bool) {
	if key.State != stateEnabled || !key.rotationOn() || key.Stalled || key.NextRotation.IsZero() ||
		!key.canAutoRotate() {
		return time.Time{}, false
	}
	return key.NextRotation, true
}

// canAutoRotate is the key class that automatic rotation applies to:
// symmetric encryption keys whose material KMS generates (§5).
func (key *kmsKey) canAutoRotate() bool {
	return key.isSymmetric() && key.Origin == originAWSKMS
}

// needsSettle reports, under the read lock, whether settle would change the
// key (or the primary whose material it shows) at now.
func (key *kmsKey) needsSettle(now time.Time) bool {
	if !key.due.IsZero() && !now.Before(key.due) {
		return true
	}
	p := key.primary
	return p != nil && !p.due.IsZero() && !now.Before(p.due)
}

// currentMaterial returns the current material, or nil.
func (key *kmsKey) currentMaterial() *material {
	root := key.rotationKey()
	if root.Current < 0 || root.Current >= len(root.Materials) {
		return nil
	}
	return &root.Materials[root.Current]
}

// pendingMaterial returns the imported material waiting for rotation, or nil.
func (key *kmsKey) pendingMaterial() *material {
	for i := range key.Materials {
		if key.Materials[i].Pending {
			return &key.Materials[i]
		}
	}
	return nil
}

func sortTags(tags []kmsTag) {
	sort.Slice(tags, func(i, j int) bool { return tags[i].Key < tags[j].Key })
}

// isKeyIDFormat reports whether s is a well-formed key ID: a UUID, or mrk-
// and 32 hex digits (§2).
func isKeyIDFormat(s string) bool {
	if rest, ok := strings.CutPrefix(s, "mrk-"); ok {
		return len(rest) == 32 && isHex(rest)
	}
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
			continue
		}
		if !isHexByte(c) {
			return false
		}
	}
	return true
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isHexByte(s[i]) {
			return false
		}
	}
	return true
}

func isHexByte(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
