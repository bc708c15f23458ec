package kmsemu

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"
)

// Defaults of the KMS service (kms-api.md §4.6, §7, §4.13).
const (
	defaultOnDemandLimit  = 25
	defaultOnDemandDelay  = 2 * time.Second
	defaultReplicaDelay   = 2 * time.Second
	defaultRotationPeriod = 365
	minRotationPeriod     = 90
	maxRotationPeriod     = 2560
	// conflictWindow: RotateKeyOnDemand fails while an automatic rotation is
	// due this soon (§4.6).
	conflictWindow = 20 * time.Minute
	maxTagsPerKey  = 50
	maxAliasPerKey = 50
)

// kmsService holds every account's and Region's keys and aliases and answers
// the KMS operations (awsJson1.1, X-Amz-Target TrentService.<Op>).
//
// One RWMutex guards everything. Read operations run under the read lock and
// retry under the write lock only when the clock has made work due (a
// rotation, the end of an on-demand rotation or replica creation, a deletion),
// which keeps DescribeKey and the List operations parallel.
type kmsService struct {
	clock         *Clock
	onDemandLimit int
	// onDemandDelay is how long an on-demand rotation runs, and replicaDelay
	// how long a new replica stays Creating, both on the emulator clock.
	onDemandDelay time.Duration
	replicaDelay  time.Duration

	mu       sync.RWMutex
	stores   map[regionKey]*regionStore
	accounts map[string][]string // enabled Regions by account, from the estate
}

// newKMSService returns an empty service. onDemandLimit is the per-key limit
// of RotateKeyOnDemand (kms-api.md §4.6; default 25).
func newKMSService(clock *Clock, onDemandLimit int) *kmsService {
	if clock == nil {
		clock = NewClock()
	}
	if onDemandLimit <= 0 {
		onDemandLimit = defaultOnDemandLimit
	}
	return &kmsService{
		clock:         clock,
		onDemandLimit: onDemandLimit,
		onDemandDelay: defaultOnDemandDelay,
		replicaDelay:  defaultReplicaDelay,
		stores:        map[regionKey]*regionStore{},
		accounts:      map[string][]string{},
	}
}

// setDelays sets how long on-demand rotations and new replicas take on the
// emulator clock (defaults 2s each); zero completes them at the next request.
// The frame calls it from its options.
func (k *kmsService) setDelays(onDemand, replica time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.onDemandDelay, k.replicaDelay = max(onDemand, 0), max(replica, 0)
	for _, s := range k.stores {
		for _, key := range s.keys {
			key.computeDue(k.onDemandDelay)
		}
	}
}

// kmsOp is one operation: read operations run under the read lock first.
type kmsOp struct {
	read bool
	fn   func(k *kmsService, t *tx) (any, *apiError)
}

// kmsOps is the dispatch table, keyed by the X-Amz-Target operation name.
var kmsOps map[string]kmsOp

func init() {
	kmsOps = map[string]kmsOp{
		"CreateKey":              {fn: (*kmsService).createKey},
		"DescribeKey":            {read: true, fn: (*kmsService).describeKey},
		"ListKeys":               {read: true, fn: (*kmsService).listKeys},
		"GetKeyRotationStatus":   {read: true, fn: (*kmsService).getKeyRotationStatus},
		"EnableKeyRotation":      {fn: (*kmsService).enableKeyRotation},
		"DisableKeyRotation":     {fn: (*kmsService).disableKeyRotation},
		"RotateKeyOnDemand":      {fn: (*kmsService).rotateKeyOnDemand},
		"ListKeyRotations":       {read: true, fn: (*kmsService).listKeyRotations},
		"ListAliases":            {read: true, fn: (*kmsService).listAliases},
		"CreateAlias":            {fn: (*kmsService).createAlias},
		"DeleteAlias":            {fn: (*kmsService).deleteAlias},
		"ListResourceTags":       {read: true, fn: (*kmsService).listResourceTags},
		"TagResource":            {fn: (*kmsService).tagResource},
		"UntagResource":          {fn: (*kmsService).untagResource},
		"GetKeyPolicy":           {read: true, fn: (*kmsService).getKeyPolicy},
		"ScheduleKeyDeletion":    {fn: (*kmsService).scheduleKeyDeletion},
		"CancelKeyDeletion":      {fn: (*kmsService).cancelKeyDeletion},
		"DisableKey":             {fn: (*kmsService).disableKey},
		"EnableKey":              {fn: (*kmsService).enableKey},
		"ReplicateKey":           {fn: (*kmsService).replicateKey},
		"GetParametersForImport": {fn: (*kmsService).getParametersForImport},
		"ImportKeyMaterial":      {fn: (*kmsService).importKeyMaterial},
	}
}

// tx is one request in progress: the call, its time, and whether the write
// lock is held.
type tx struct {
	c     *call
	now   time.Time
	write bool
}

// errUpgrade asks handle to run the operation again under the write lock.
var errUpgrade = &apiError{Code: "internal: upgrade lock"}

// handle answers one KMS operation; the result is marshalled to JSON by the
// frame (nil means an empty body).
func (k *kmsService) handle(c *call) (any, *apiError) {
	op, ok := kmsOps[c.Op]
	if !ok {
		return nil, kmsErr("UnknownOperationException", "")
	}
	now := c.Now
	if now.IsZero() {
		now = k.clock.Now()
	}
	if op.read {
		k.mu.RLock()
		out, err := op.fn(k, &tx{c: c, now: now})
		k.mu.RUnlock()
		if err != errUpgrade {
			return out, err
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	out, err := op.fn(k, &tx{c: c, now: now, write: true})
	if err == errUpgrade {
		// Unreachable: write-mode handlers never ask to upgrade.
		return nil, errInternal("")
	}
	return out, err
}

// decode reads the JSON request body into in. AWS answers a body that is not
// a JSON object of the operation's shape with SerializationException.
func decode(body []byte, in any) *apiError {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil // the SDK sends {} for empty input; treat no body alike
	}
	if body[0] != '{' && !bytes.Equal(body, []byte("null")) {
		return errSerialization("Start of structure or map expected")
	}
	if err := json.Unmarshal(body, in); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return errSerialization(jsonKind(te.Value) + " can not be converted to " + goKind(te.Type.Kind().String()) +
				" at '" + te.Field + "'")
		}
		return errSerialization("Malformed JSON request body")
	}
	return nil
}

func jsonKind(v string) string {
	switch {
	case strings.HasPrefix(v, "number"):
		return "NUMBER_VALUE"
	case v == "string":
		return "STRING_VALUE"
	case v == "bool":
		return "BOOLEAN_VALUE"
	case v == "object":
		return "START_OBJECT"
	case v == "array":
		return "START_ARRAY"
	}
	return strings.ToUpper(v)
}

func goKind(k string) string {
	switch k {
	case "string":
		return "a String"
	case "int64", "int32", "int":
		return "an Integer"
	case "bool":
		return "a Boolean"
	case "slice":
		return "a List"
	case "struct", "map":
		return "a Structure"
	}
	return k
}

// storeOf returns the caller's store. In read mode a store that does not
// exist yet asks for the write lock, which creates it.
func (k *kmsService) storeOf(t *tx, account, region string) (*regionStore, *apiError) {
	s := k.stores[regionKey{account, region}]
	if s == nil {
		if !t.write {
			return nil, errUpgrade
		}
		s = k.store(account, region)
	}
	if !s.nextPurge.IsZero() && !t.now.Before(s.nextPurge) {
		if !t.write {
			return nil, errUpgrade
		}
		k.purge(s, t.now)
	}
	return s, nil
}

// keyRef says how an operation accepts its KeyId.
type keyRef struct {
	op string
	// alias: alias names and alias ARNs are accepted (DescribeKey).
	alias bool
	// crossAccount: a key ARN of another account is accepted (DescribeKey,
	// GetKeyRotationStatus; kms-api.md §2).
	crossAccount bool
}

// find resolves a KeyId parameter in the caller's account and Region as §2
// says, and settles the key (pending rotations and state changes) at t.now.
//
// The rotation operations take "key ID or key ARN" only, as documented.
// UNCONFIRMED (§13 item 6): one emulator claims AWS also accepts aliases
// there; the emulator follows the documentation and answers an alias with
// NotFoundException "Invalid keyId", so a client that relies on it is caught.
func (k *kmsService) find(t *tx, keyID string, ref keyRef) (*kmsKey, *apiError) {
	c := t.c
	account, region, id := c.Account, c.Region, keyID
	isAlias := false
	if strings.HasPrefix(keyID, "arn:") {
		parts := strings.SplitN(keyID, ":", 6)
		if len(parts) != 6 || parts[2] != "kms" || parts[3] == "" || parts[4] == "" {
			return nil, errInvalidKeyID(keyID)
		}
		if parts[3] != c.Region || parts[1] != partitionOf(c.Region) {
			// UNCONFIRMED: the message for an ARN of another partition; the
			// one AWS gives for another Region is taken.
			return nil, errNotFound("Invalid arn " + parts[3])
		}
		account = parts[4]
		switch {
		case strings.HasPrefix(parts[5], "key/"):
			id = parts[5][len("key/"):]
		case strings.HasPrefix(parts[5], "alias/") && ref.alias:
			id, isAlias = parts[5], true
		default:
			return nil, errInvalidKeyID(keyID)
		}
		if account != c.Account && !ref.crossAccount {
			// UNCONFIRMED: the documentation says only "Cross-account use: No";
			// the policy evaluation that refuses it is answered as AccessDenied.
			return nil, errAccessDenied(c, ref.op, keyID)
		}
	} else if strings.HasPrefix(keyID, "alias/") {
		if !ref.alias {
			return nil, errInvalidKeyID(keyID)
		}
		isAlias = true
	}

	var s *regionStore
	if account == c.Account {
		var err *apiError
		if s, err = k.storeOf(t, account, region); err != nil {
			return nil, err
		}
	} else {
		// Another account's store is never created by a lookup.
		s = k.stores[regionKey{account, region}]
		if s != nil && !s.nextPurge.IsZero() && !t.now.Before(s.nextPurge) {
			if !t.write {
				return nil, errUpgrade
			}
			k.purge(s, t.now)
		}
	}

	if isAlias {
		var a *kmsAlias
		if s != nil {
			a = s.aliases[id]
		}
		if a == nil {
			return nil, errNotFound("Alias " + aliasARN(account, region, id) + " is not found.")
		}
		if a.Target == "" {
			// A predefined AWS alias: DescribeKey creates its AWS managed key
			// (kms-api.md §4.2).
			if !t.write {
				return nil, errUpgrade
			}
			k.createAWSManagedKey(s, a, t.now)
		}
		id = a.Target
	} else if !isKeyIDFormat(id) {
		return nil, errInvalidKeyID(keyID)
	}
	var key *kmsKey
	if s != nil {
		key = s.keys[id]
	}
	if key == nil {
		return nil, errKeyNotFound(keyARN(account, region, id))
	}
	if err := k.settle(t, key); err != nil {
		return nil, err
	}
	return key, nil
}

// resolveKeyID returns the key ID that a KeyId parameter (ID, ARN, alias name
// or alias ARN) names in the account and Region, or "" — for deny rules.
func (k *kmsService) resolveKeyID(account, region, keyID string) string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if strings.HasPrefix(keyID, "arn:") {
		parts := strings.SplitN(keyID, ":", 6)
		if len(parts) != 6 || parts[3] != region {
			return ""
		}
		account, keyID = parts[4], parts[5]
		if id, ok := strings.CutPrefix(keyID, "key/"); ok {
			keyID = id
		}
	}
	s := k.stores[regionKey{account, region}]
	if s == nil {
		return ""
	}
	if strings.HasPrefix(keyID, "alias/") {
		if a := s.aliases[keyID]; a != nil {
			return a.Target
		}
		return ""
	}
	if s.keys[keyID] != nil {
		return keyID
	}
	return ""
}

// createAWSManagedKey backs a predefined AWS alias with its key.
func (k *kmsService) createAWSManagedKey(s *regionStore, a *kmsAlias, now time.Time) {
	service := strings.TrimPrefix(a.Name, "alias/aws/")
	key := &kmsKey{
		Account: s.account, Region: s.region,
		ID:          newKeyID(s.account, s.region, "aws-managed/"+a.Name, false),
		Description: "Default key that protects my " + service + " resources when no other key is defined",
		Manager:     managerAWS, Spec: specSymmetric, Usage: usageEncryptDecrypt, Origin: originAWSKMS,
		State: stateEnabled, Created: now, Current: -1,
	}
	key.Policy = defaultPolicy(s.account, s.region)
	key.EnabledAt = now
	key.NextRotation = now.AddDate(0, 0, defaultRotationPeriod)
	key.addMaterial(material{Date: now})
	s.addKey(key)
	a.Target, a.Created, a.Updated = key.ID, now, now
	key.addAliasOf(a.Name)
	key.computeDue(k.onDemandDelay)
}

// purge deletes the keys of s whose deletion date has passed, with their
// aliases. A primary waiting in PendingReplicaDeletion starts its own window
// when its last replica is gone (kms-api.md §4.11).
func (k *kmsService) purge(s *regionStore, now time.Time) {
	s.nextPurge = time.Time{}
	var gone []*kmsKey
	for _, key := range s.keys {
		if key.State != statePendingDeletion || key.DeletionDate.IsZero() {
			continue
		}
		if now.Before(key.DeletionDate) {
			s.notePurge(key)
			continue
		}
		gone = append(gone, key)
	}
	for _, key := range gone {
		s.removeKey(key)
		for _, name := range key.aliases {
			s.deleteAlias(name)
		}
		if p := key.primary; p != nil {
			p.ReplicaRegions = removeString(p.ReplicaRegions, key.Region)
			p.replicas = removeKey(p.replicas, key)
			if len(p.replicas) == 0 && p.State == statePendingReplicaDeletion {
				p.State = statePendingDeletion
				p.DeletionDate = key.DeletionDate.AddDate(0, 0, p.PendingWindowDays)
				ps := k.store(p.Account, p.Region)
				ps.notePurge(p)
			}
			p.invalidate()
		}
		key.invalidate()
	}
}

func removeString(list []string, s string) []string {
	out := list[:0]
	for _, v := range list {
		if v != s {
			out = append(out, v)
		}
	}
	return out
}

func removeKey(list []*kmsKey, key *kmsKey) []*kmsKey {
	out := list[:0]
	for _, v := range list {
		if v != key {
			out = append(out, v)
		}
	}
	return out
}

// kmsSnapshot is the persisted form of the whole KMS state.
type kmsSnapshot struct {
	Version  int                 `json:"version"`
	Accounts map[string][]string `json:"accounts,omitempty"`
	Stores   []storeSnapshot     `json:"stores"`
}

type storeSnapshot struct {
	Account string      `json:"account"`
	Region  string      `json:"region"`
	Keys    []*kmsKey   `json:"keys"`
	Aliases []*kmsAlias `json:"aliases"`
}

// snapshot and restore persist the whole KMS state (--state-file).
func (k *kmsService) snapshot() ([]byte, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	snap := kmsSnapshot{Version: 1, Accounts: k.accounts}
	for _, s := range k.sortedStores() {
		ss := storeSnapshot{Account: s.account, Region: s.region}
		for _, id := range s.ids {
			ss.Keys = append(ss.Keys, s.keys[id])
		}
		for _, name := range s.aliasNames {
			ss.Aliases = append(ss.Aliases, s.aliases[name])
		}
		snap.Stores = append(snap.Stores, ss)
	}
	return json.Marshal(snap)
}

func (k *kmsService) restore(data []byte) error {
	var snap kmsSnapshot
	if err := json.Unmarshal(data, &snap); err != nil {
		return errors.New("restore kms state: " + err.Error())
	}
	if snap.Version != 1 {
		return errors.New("restore kms state: unsupported version")
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.stores = map[regionKey]*regionStore{}
	k.accounts = snap.Accounts
	if k.accounts == nil {
		k.accounts = map[string][]string{}
	}
	for _, ss := range snap.Stores {
		s := &regionStore{account: ss.Account, region: ss.Region,
			keys: map[string]*kmsKey{}, aliases: map[string]*kmsAlias{}}
		k.stores[regionKey{ss.Account, ss.Region}] = s
		s.startBulk()
		for _, key := range ss.Keys {
			if key == nil || key.Account != ss.Account || key.Region != ss.Region || key.ID == "" {
				return errors.New("restore kms state: key does not belong to its store")
			}
			s.addKey(key)
		}
		for _, a := range ss.Aliases {
			if a == nil || !strings.HasPrefix(a.Name, "alias/") {
				return errors.New("restore kms state: invalid alias")
			}
			s.putAlias(a)
			if key := s.keys[a.Target]; key != nil {
				key.addAliasOf(a.Name)
			}
		}
		s.endBulk()
		if len(s.ids) != len(s.keys) {
			return errors.New("restore kms state: a key ID is listed twice in " + ss.Account + "/" + ss.Region)
		}
	}
	return k.link()
}

// link rebuilds the derived pointers between multi-Region primaries and
// replicas, and every key's due time.
func (k *kmsService) link() error {
	for _, s := range k.stores {
		for _, key := range s.keys {
			key.replicas = nil
		}
	}
	for _, s := range k.sortedStores() {
		for _, id := range s.ids {
			key := s.keys[id]
			key.primary = nil
			if key.MultiRegion && key.PrimaryRegion != "" && key.PrimaryRegion != key.Region {
				ps := k.stores[regionKey{key.Account, key.PrimaryRegion}]
				var p *kmsKey
				if ps != nil {
					p = ps.keys[key.ID]
				}
				if p == nil {
					return errors.New("restore kms state: replica " + key.ARN + " has no primary")
				}
				key.primary = p
				p.replicas = append(p.replicas, key)
			}
		}
	}
	for _, s := range k.stores {
		for _, key := range s.keys {
			key.computeDue(k.onDemandDelay)
			key.desc.Store(nil)
		}
	}
	return nil
}

func (k *kmsService) sortedStores() []*regionStore {
	out := make([]*regionStore, 0, len(k.stores))
	for _, s := range k.stores {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *regionStore) int {
		if c := strings.Compare(a.account, b.account); c != 0 {
			return c
		}
		return strings.Compare(a.region, b.region)
	})
	return out
}
