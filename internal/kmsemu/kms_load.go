package kmsemu

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

var accountIDPattern = regexp.MustCompile(`^[0-9]{12}$`)

// load adds the estate's keys (with their aliases, tags, replicas and history).
//
// Generated key IDs derive from the account, the Region and the key's index
// in the account, so the same estate always loads the same IDs. The estate
// describes the past: its history is taken as given, and the emulator rotates
// keys for the scheduled dates that follow (missed ones are recorded lazily at
// their dates). A NextRotation set in the past marks a key that AWS failed to
// rotate: it stays overdue until its rotation is enabled again.
//
// load is all or nothing: an invalid definition leaves the state unchanged.
func (k *kmsService) load(e *Estate) error {
	if e == nil {
		return nil
	}
	now := k.clock.Now()
	tmp := newKMSService(k.clock, k.onDemandLimit)
	tmp.onDemandDelay, tmp.replicaDelay = k.onDemandDelay, k.replicaDelay
	seen := map[string]bool{}
	for _, acct := range e.Accounts {
		if !accountIDPattern.MatchString(acct.ID) {
			return fmt.Errorf("load estate: account %q: the ID must be 12 digits", acct.ID)
		}
		if seen[acct.ID] {
			return fmt.Errorf("load estate: account %s is listed twice", acct.ID)
		}
		seen[acct.ID] = true
		tmp.accounts[acct.ID] = slices.Clone(acct.Regions)
		if len(acct.Regions) == 0 && partitionOrAWS(acct.Partition) != partitionAWS {
			// Keys and replicas stay in the account's partition.
			tmp.accounts[acct.ID] = sortedKeys(accountRegionSet(&acct))
		}
		for i, def := range acct.Keys {
			if err := tmp.loadKey(acct, i, def, now); err != nil {
				name := def.ID
				if name == "" && len(def.Aliases) > 0 {
					name = def.Aliases[0]
				}
				return fmt.Errorf("load estate: account %s key %d %s: %w", acct.ID, i, name, err)
			}
		}
	}

	k.mu.Lock()
	defer k.mu.Unlock()
	for rk, s := range tmp.stores {
		if old := k.stores[rk]; old != nil {
			for _, id := range s.ids {
				if old.keys[id] != nil {
					return fmt.Errorf("load estate: key %s exists already", s.keys[id].ARN)
				}
			}
			for _, name := range s.aliasNames {
				if a := old.aliases[name]; a != nil && a.Target != "" && s.aliases[name].Target != "" {
					return fmt.Errorf("load estate: alias %s exists already", aliasARN(rk.account, rk.region, name))
				}
			}
		}
	}
	for acct, regions := range tmp.accounts {
		k.accounts[acct] = regions
	}
	for rk, s := range tmp.stores {
		s.endBulk()
		old := k.stores[rk]
		if old == nil {
			k.stores[rk] = s
			continue
		}
		old.startBulk()
		for _, id := range s.ids {
			old.addKey(s.keys[id])
		}
		for _, name := range s.aliasNames {
			if a := s.aliases[name]; a.Target != "" {
				old.putAlias(a)
			}
		}
		old.endBulk()
	}
	return nil
}

// loadKey builds one KeyDef, with its replicas and aliases, into tmp.
func (k *kmsService) loadKey(acct Account, index int, def KeyDef, now time.Time) error {
	region := def.Region
	if region == "" {
		region = DefaultRegion
		if p := partitions[partitionOrAWS(acct.Partition)]; p != nil && p.name != partitionAWS {
			region = p.home
		}
		if len(acct.Regions) > 0 {
			region = acct.Regions[0]
		}
	}
	if len(acct.Regions) > 0 && !slices.Contains(acct.Regions, region) {
		return fmt.Errorf("region %s is not enabled in the account", region)
	}
	key := &kmsKey{
		Account: acct.ID, Region: region, Description: def.Description,
		Manager: orDefault(def.Manager, managerCustomer), Spec: orDefault(def.Spec, specSymmetric),
		State: orDefault(def.State, stateEnabled), Current: -1,
		CustomKeyStoreID: def.CustomKeyStoreID, CloudHsmClusterID: def.CloudHsmClusterID, XksKeyID: def.XksKeyID,
		MultiRegion: def.MultiRegion, Policy: orDefault(def.Policy, defaultPolicy(acct.ID, def.Region)),
	}
	if key.Manager != managerCustomer && key.Manager != managerAWS {
		return fmt.Errorf("unknown manager %q (want CUSTOMER or AWS)", key.Manager)
	}
	if _, ok := specs[key.Spec]; !ok {
		return fmt.Errorf("unknown key spec %q", key.Spec)
	}
	key.Usage = orDefault(def.Usage, defaultUsage(key.Spec))
	if !usageAllowed(key.Spec, key.Usage) {
		return fmt.Errorf("key usage %s is not valid for key spec %s", key.Usage, key.Spec)
	}
	switch {
	case def.Origin != "":
		key.Origin = def.Origin
	case def.XksKeyID != "":
		key.Origin = originExternalKeyStore
	case def.CustomKeyStoreID != "":
		key.Origin = originCloudHSM
	default:
		key.Origin = originAWSKMS
	}
	if !slices.Contains(originEnum, key.Origin) {
		return fmt.Errorf("unknown origin %q", key.Origin)
	}
	if !slices.Contains(stateEnum, key.State) {
		return fmt.Errorf("unknown key state %q", key.State)
	}
	if err := checkLoadedClass(key, def); err != nil {
		return err
	}

	key.ID = def.ID
	if key.ID == "" {
		key.ID = newKeyID(acct.ID, region, "estate/"+strconv.Itoa(index), def.MultiRegion)
	}
	if !isKeyIDFormat(key.ID) {
		return fmt.Errorf("key ID %q is not a UUID or mrk- ID", key.ID)
	}
	if def.MultiRegion != strings.HasPrefix(key.ID, "mrk-") {
		return fmt.Errorf("key ID %s: multi-Region keys and only they have mrk- IDs", key.ID)
	}
	s := k.bulkStore(acct.ID, region)
	if s.keys[key.ID] != nil {
		return fmt.Errorf("key ID %s is used twice in %s", key.ID, region)
	}

	if err := loadRotation(key, def, now); err != nil {
		return err
	}
	if err := loadState(key, def, now); err != nil {
		return err
	}
	tags, err := loadTags(def.Tags)
	if err != nil {
		return err
	}
	key.Tags = tags
	if def.MultiRegion {
		key.PrimaryRegion = region
	}
	s.addKey(key)

	if err := k.loadReplicas(acct, key, def); err != nil {
		return err
	}
	for _, name := range def.Aliases {
		if err := loadAlias(s, key, name); err != nil {
			return err
		}
	}
	key.computeDue(k.onDemandDelay)
	for _, r := range key.replicas {
		r.computeDue(k.onDemandDelay)
	}
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// checkLoadedClass refuses key definitions AWS could not have produced.
func checkLoadedClass(key *kmsKey, def KeyDef) error {
	if key.Manager == managerAWS {
		if key.Spec != specSymmetric || key.Origin != originAWSKMS || def.MultiRegion {
			return errors.New("AWS managed keys are single-Region SYMMETRIC_DEFAULT keys of AWS_KMS origin")
		}
		if def.Rotation.PeriodDays != 0 && def.Rotation.PeriodDays != defaultRotationPeriod {
			return errors.New("AWS managed keys rotate every 365 days")
		}
	}
	if isCustomKeyStore(key.Origin) {
		if key.Spec != specSymmetric || def.MultiRegion {
			return fmt.Errorf("a custom key store (%s) holds only single-Region SYMMETRIC_DEFAULT keys", key.Origin)
		}
		if key.CustomKeyStoreID == "" {
			// One store per account, Region and kind, named as AWS names them.
			sum := sha256.Sum256([]byte(key.Account + "\x00" + key.Region + "\x00" + key.Origin))
			key.CustomKeyStoreID = "cks-" + hex.EncodeToString(sum[:])[:17]
		}
		if key.Origin == originCloudHSM && key.CloudHsmClusterID == "" {
			key.CloudHsmClusterID = clusterID(key.CustomKeyStoreID)
		}
		if key.Origin == originExternalKeyStore && key.XksKeyID == "" {
			return errors.New("an EXTERNAL_KEY_STORE key needs xks_key_id")
		}
	} else if def.CustomKeyStoreID != "" || def.XksKeyID != "" || def.CloudHsmClusterID != "" {
		return fmt.Errorf("custom key store fields need origin AWS_CLOUDHSM or EXTERNAL_KEY_STORE, not %s", key.Origin)
	}
	if def.Rotation.Enabled && key.Manager == managerCustomer && !key.canAutoRotate() {
		return fmt.Errorf("automatic rotation cannot be enabled on a %s key of origin %s", key.Spec, key.Origin)
	}
	if key.Origin != originExternal && (def.ExpirationModel != "" || !def.ValidTo.IsZero()) {
		return errors.New("expiration_model and valid_to apply only to origin EXTERNAL")
	}
	return nil
}

// loadRotation sets the creation date, key material, history and schedule.
func loadRotation(key *kmsKey, def KeyDef, now time.Time) error {
	rot := def.Rotation
	period := rot.PeriodDays
	if period == 0 {
		period = defaultRotationPeriod
	}
	if period < minRotationPeriod || period > maxRotationPeriod {
		return fmt.Errorf("rotation period %d days is outside %d–%d", period, minRotationPeriod, maxRotationPeriod)
	}
	for i, ev := range rot.History {
		if ev.Type != rotationAutomatic && ev.Type != rotationOnDemand {
			return fmt.Errorf("rotation history %d: type %q (want AUTOMATIC or ON_DEMAND)", i, ev.Type)
		}
		if ev.Date.IsZero() || ev.Date.After(now) {
			return fmt.Errorf("rotation history %d: the date must be set and not in the future", i)
		}
		if i > 0 && ev.Date.Before(rot.History[i-1].Date) {
			return fmt.Errorf("rotation history %d: rotations must be listed oldest first", i)
		}
	}
	if len(rot.History) > 0 && !key.isSymmetric() {
		return fmt.Errorf("a %s key has no rotations", key.Spec)
	}
	if len(rot.History) > 0 && isCustomKeyStore(key.Origin) {
		return errors.New("keys in a custom key store have no rotations")
	}

	key.Created = def.Created
	if key.Created.IsZero() {
		switch {
		case len(rot.History) > 0:
			key.Created = rot.History[0].Date.AddDate(0, 0, -period)
		case !rot.EnabledAt.IsZero():
			key.Created = rot.EnabledAt
		default:
			key.Created = now
		}
	}
	key.Created = key.Created.UTC()
	if len(rot.History) > 0 && rot.History[0].Date.Before(key.Created) {
		return errors.New("a rotation precedes the key's creation")
	}

	hasMaterial := key.Origin == originAWSKMS || (key.Origin == originExternal && key.State != statePendingImport)
	if hasMaterial {
		key.addMaterial(material{Date: key.Created})
		for _, ev := range rot.History {
			key.addMaterial(material{Date: ev.Date.UTC(), Type: ev.Type})
			if ev.Type == rotationOnDemand {
				key.OnDemandCount++
			}
		}
	} else if len(rot.History) > 0 {
		return errors.New("a key without key material has no rotations")
	}

	on := rot.Enabled || key.Manager == managerAWS
	if !on {
		if !rot.NextRotation.IsZero() || !rot.EnabledAt.IsZero() || rot.PeriodDays != 0 {
			return errors.New("enabled_at, period_days and next_rotation need rotation enabled")
		}
		return nil
	}
	key.Rotation = rot.Enabled
	if key.Manager == managerCustomer {
		key.PeriodDays = period
	}
	key.EnabledAt = rot.EnabledAt.UTC()
	if key.EnabledAt.IsZero() {
		key.EnabledAt = key.Created
	}
	if !rot.NextRotation.IsZero() {
		key.NextRotation = rot.NextRotation.UTC()
		key.Stalled = key.NextRotation.Before(now)
		return nil
	}
	// The schedule runs from the enable date; rotations already recorded
	// move it on.
	var lastAuto time.Time
	for _, ev := range rot.History {
		if ev.Type == rotationAutomatic {
			lastAuto = ev.Date
		}
	}
	next := key.EnabledAt.AddDate(0, 0, period)
	for !next.After(lastAuto) {
		next = next.AddDate(0, 0, period)
	}
	key.NextRotation = next
	return nil
}

// loadState sets the key state and what goes with it.
func loadState(key *kmsKey, def KeyDef, now time.Time) error {
	if key.Origin == originExternal {
		if key.State == statePendingImport {
			if def.ExpirationModel != "" || !def.ValidTo.IsZero() {
				return errors.New("a PendingImport key has no imported material to expire")
			}
		} else {
			key.Imported = true
			key.ExpirationModel = orDefault(def.ExpirationModel, doesNotExpire)
			switch key.ExpirationModel {
			case expires:
				if def.ValidTo.IsZero() {
					return errors.New("expiration_model KEY_MATERIAL_EXPIRES needs valid_to")
				}
				key.ValidTo = def.ValidTo.UTC()
			case doesNotExpire:
				if !def.ValidTo.IsZero() {
					return errors.New("valid_to needs expiration_model KEY_MATERIAL_EXPIRES")
				}
			default:
				return fmt.Errorf("unknown expiration model %q", key.ExpirationModel)
			}
			if cur := key.currentMaterial(); cur != nil {
				cur.ExpirationModel, cur.ValidTo = key.ExpirationModel, key.ValidTo
			}
		}
	} else if key.State == statePendingImport {
		return fmt.Errorf("only origin EXTERNAL keys can be PendingImport, not %s", key.Origin)
	}
	if key.State == stateUnavailable && !isCustomKeyStore(key.Origin) {
		return errors.New("only keys in a custom key store can be Unavailable")
	}
	switch key.State {
	case statePendingDeletion:
		if len(def.ReplicaRegions) > 0 {
			return errors.New("a primary with replicas waits in PendingReplicaDeletion, not PendingDeletion")
		}
		key.DeletionDate = def.DeletionDate.UTC()
		if def.DeletionDate.IsZero() {
			key.DeletionDate = now.AddDate(0, 0, 30)
		}
		key.PendingWindowDays = 30
	case statePendingReplicaDeletion:
		if !def.MultiRegion || len(def.ReplicaRegions) == 0 {
			return errors.New("only a multi-Region primary with replicas can be PendingReplicaDeletion")
		}
		key.PendingWindowDays = 30
	case stateCreating:
		key.ReadyState = stateEnabled
	}
	if !def.DeletionDate.IsZero() && key.State != statePendingDeletion {
		return errors.New("deletion_date applies only to PendingDeletion keys")
	}
	if key.Manager == managerAWS && key.State != stateEnabled {
		return errors.New("AWS managed keys are Enabled")
	}
	return nil
}

func loadTags(tags map[string]string) ([]kmsTag, error) {
	if len(tags) > maxTagsPerKey {
		return nil, fmt.Errorf("%d tags (at most %d)", len(tags), maxTagsPerKey)
	}
	var out []kmsTag
	for key, value := range tags {
		if key == "" || len(key) > 128 || len(value) > 256 {
			return nil, fmt.Errorf("tag %q: keys are 1–128 characters, values at most 256", key)
		}
		if strings.HasPrefix(strings.ToLower(key), "aws:") {
			return nil, fmt.Errorf("tag %q: keys beginning with aws: are reserved", key)
		}
		out = append(out, kmsTag{Key: key, Value: value})
	}
	sortTags(out)
	return out, nil
}

// loadReplicas creates the replicas of a multi-Region primary.
func (k *kmsService) loadReplicas(acct Account, key *kmsKey, def KeyDef) error {
	if !def.MultiRegion {
		if len(def.ReplicaRegions) > 0 || len(def.ReplicaStates) > 0 {
			return errors.New("replica_regions need multi_region")
		}
		return nil
	}
	for region := range def.ReplicaStates {
		if !slices.Contains(def.ReplicaRegions, region) {
			return fmt.Errorf("replica_states names %s, which is not a replica Region", region)
		}
	}
	for _, region := range def.ReplicaRegions {
		switch {
		case region == key.Region:
			return fmt.Errorf("replica Region %s is the primary's Region", region)
		case slices.Contains(key.ReplicaRegions, region):
			return fmt.Errorf("replica Region %s is listed twice", region)
		case len(acct.Regions) > 0 && !slices.Contains(acct.Regions, region):
			return fmt.Errorf("replica Region %s is not enabled in the account", region)
		}
		rs := k.bulkStore(acct.ID, region)
		if rs.keys[key.ID] != nil {
			return fmt.Errorf("key ID %s is used twice in %s", key.ID, region)
		}
		r := &kmsKey{
			Account: acct.ID, Region: region, ID: key.ID, Description: key.Description,
			Manager: key.Manager, Spec: key.Spec, Usage: key.Usage, Origin: key.Origin,
			State: orDefault(def.ReplicaStates[region], stateEnabled), Created: key.Created,
			Policy: key.Policy, Tags: slices.Clone(key.Tags), Current: -1,
			MultiRegion: true, PrimaryRegion: key.Region,
			Imported: key.Imported, ExpirationModel: key.ExpirationModel, ValidTo: key.ValidTo,
		}
		switch r.State {
		case statePendingDeletion:
			r.DeletionDate = key.Created.AddDate(0, 0, 30)
			if now := k.clock.Now(); r.DeletionDate.Before(now) {
				r.DeletionDate = now.AddDate(0, 0, 30)
			}
			r.PendingWindowDays = 30
		case stateCreating:
			r.ReadyState = stateEnabled
		case statePendingImport:
			if r.Origin != originExternal {
				return fmt.Errorf("replica in %s: only origin EXTERNAL keys can be PendingImport", region)
			}
			r.Imported, r.ExpirationModel, r.ValidTo = false, "", time.Time{}
		case statePendingReplicaDeletion, stateUnavailable:
			return fmt.Errorf("replica in %s cannot be %s", region, r.State)
		default:
			if !slices.Contains(stateEnum, r.State) {
				return fmt.Errorf("replica in %s: unknown key state %q", region, r.State)
			}
		}
		rs.addKey(r)
		r.primary = key
		key.replicas = append(key.replicas, r)
		key.ReplicaRegions = append(key.ReplicaRegions, region)
	}
	slices.SortFunc(key.replicas, func(a, b *kmsKey) int { return strings.Compare(a.Region, b.Region) })
	slices.Sort(key.ReplicaRegions)
	return nil
}

// loadAlias points an alias at the key: alias/aws/ names belong to AWS
// managed keys and only to them.
func loadAlias(s *regionStore, key *kmsKey, name string) error {
	if !strings.HasPrefix(name, "alias/") || len(name) == len("alias/") || len(name) > 256 ||
		!aliasNamePattern.MatchString(name) {
		return fmt.Errorf("alias %q: a name is alias/ followed by letters, digits, colons, /, _ or -", name)
	}
	reserved := strings.HasPrefix(name, "alias/aws/")
	if reserved != (key.Manager == managerAWS) {
		return fmt.Errorf("alias %q: alias/aws/ names are for AWS managed keys, and AWS managed keys have only those", name)
	}
	if a := s.aliases[name]; a != nil && a.Target != "" {
		return fmt.Errorf("alias %s is used twice", name)
	}
	if len(key.aliases) >= maxAliasPerKey {
		return fmt.Errorf("more than %d aliases", maxAliasPerKey)
	}
	s.putAlias(&kmsAlias{Name: name, Target: key.ID, Created: key.Created, Updated: key.Created})
	key.addAliasOf(name)
	return nil
}

// bulkStore is store for load: a new store's indexes are sorted once, when
// the load is complete.
func (k *kmsService) bulkStore(account, region string) *regionStore {
	if s := k.stores[regionKey{account, region}]; s != nil {
		return s
	}
	s := k.store(account, region)
	s.startBulk()
	return s
}
