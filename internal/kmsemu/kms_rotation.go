package kmsemu

import (
	"strconv"
	"time"
)

// Rotation semantics (kms-api.md §5 and §7). Time-driven changes are applied
// lazily: when a request touches a key whose next event is due, settle
// replays every event up to the request's time at the event's own date, so a
// clock advanced by a year shows the rotations of that year in
// ListKeyRotations, each at its scheduled date.

// settle brings the key, and the primary whose material it shares, up to
// t.now. In read mode it asks for the write lock when there is work.
func (k *kmsService) settle(t *tx, key *kmsKey) *apiError {
	if !key.needsSettle(t.now) {
		return nil
	}
	if !t.write {
		return errUpgrade
	}
	root := key.rotationKey()
	k.advance(root, t.now)
	if key != root {
		k.advance(key, t.now)
	}
	return nil
}

// advance replays the key's due events up to now, in date order.
func (k *kmsService) advance(key *kmsKey, now time.Time) {
	const (
		evAuto = iota + 1
		evOnDemand
		evCreated
		evExpired
	)
	changed := false
	// The bound only guards against a schedule that fails to move; a period
	// of 90 days over a thousand years is about 4,000 events.
	for range 1_000_000 {
		var next time.Time
		kind := 0
		consider := func(at time.Time, ev int) {
			if !at.IsZero() && (next.IsZero() || at.Before(next)) {
				next, kind = at, ev
			}
		}
		if key.primary == nil {
			if at, ok := key.autoRotationDue(); ok {
				consider(at, evAuto)
			}
			if !key.OnDemandStart.IsZero() {
				consider(key.OnDemandStart.Add(k.onDemandDelay), evOnDemand)
			}
		}
		if key.State == stateCreating {
			consider(key.CreatingUntil, evCreated)
		}
		if key.Imported && key.ExpirationModel == expires {
			consider(key.ValidTo, evExpired)
		}
		if kind == 0 || now.Before(next) {
			break
		}
		changed = true
		switch kind {
		case evAuto:
			key.addMaterial(material{Date: next, Type: rotationAutomatic})
			key.NextRotation = next.AddDate(0, 0, key.period())
		case evOnDemand:
			key.completeOnDemand(next)
		case evCreated:
			key.State = key.ReadyState
			if key.State == "" {
				key.State = stateEnabled
			}
			key.CreatingUntil = time.Time{}
		case evExpired:
			// Expired material is deleted and the key waits for a reimport
			// (kms-api.md §6 "PendingImport").
			key.Imported = false
			key.ExpirationModel = ""
			key.ValidTo = time.Time{}
			if key.State == stateEnabled || key.State == stateDisabled {
				key.State = statePendingImport
			}
		}
	}
	key.computeDue(k.onDemandDelay)
	if changed {
		key.invalidate()
	}
}

// completeOnDemand ends an on-demand rotation at the given time: new material
// for AWS_KMS keys; the pending imported material for EXTERNAL keys.
func (key *kmsKey) completeOnDemand(at time.Time) {
	key.OnDemandStart = time.Time{}
	if key.Origin == originExternal {
		for i := range key.Materials {
			m := &key.Materials[i]
			if !m.Pending {
				continue
			}
			m.Pending, m.Date, m.Type = false, at, rotationOnDemand
			key.Current = i
			key.Imported = true
			key.ExpirationModel, key.ValidTo = m.ExpirationModel, m.ValidTo
			return
		}
		return
	}
	key.addMaterial(material{Date: at, Type: rotationOnDemand})
}

// checkRotationTarget is the common part of the rotation operations: AWS
// managed keys (for the mutating ones), then the key state, then the key
// class — state before spec, as AWS does (kms-api.md §5 "Order of checks").
//
// UNCONFIRMED (§13 item 5): the code for Enable/Disable/RotateKeyOnDemand on
// AWS managed keys; AccessDeniedException is chosen because their key
// policies allow account principals only Describe*, Get* and List*.
func checkRotationTarget(t *tx, key *kmsKey, op string) *apiError {
	if key.Manager == managerAWS {
		return errAccessDenied(t.c, op, key.ARN)
	}
	switch key.State {
	case stateEnabled, stateUpdating:
	case statePendingImport, stateUnavailable:
		// Footnotes 6 and 7: imported material or a custom key store.
		return errOrigin(key)
	default:
		return stateError(key)
	}
	switch {
	case key.Origin != originAWSKMS:
		return errOrigin(key)
	case !key.isSymmetric():
		// Recorded from AWS with an empty message.
		return errUnsupported("")
	case key.isReplica():
		// UNCONFIRMED (§13 item 5): rotation is set "only on the primary key";
		// the code for a replica is not documented. UnsupportedOperationException
		// is chosen, with the message AWS gives for ReplicateKey on a replica.
		return errUnsupported(key.ARN + " is not a multi-region primary key.")
	}
	return nil
}

type rotationStatusOutput struct {
	KeyID                     string `json:"KeyId"`
	KeyRotationEnabled        bool   `json:"KeyRotationEnabled"`
	NextRotationDate          *epoch `json:"NextRotationDate,omitempty"`
	OnDemandRotationStartDate *epoch `json:"OnDemandRotationStartDate,omitempty"`
	RotationPeriodInDays      *int   `json:"RotationPeriodInDays,omitempty"`
}

// GetKeyRotationStatus (§4.3, §5).
//
// UNCONFIRMED (§13 item 7): KeyId is the key ARN, as RotateKeyOnDemand's is
// and as LocalStack's recordings show for both.
// UNCONFIRMED (§13 item 9): symmetric EXTERNAL keys keep the documented
// UnsupportedOperationException even though they now rotate on demand.
func (k *kmsService) getKeyRotationStatus(t *tx) (any, *apiError) {
	key, err := k.findKeyID(t, keyRef{op: "GetKeyRotationStatus", crossAccount: true})
	if err != nil {
		return nil, err
	}
	if key.State == statePendingImport || key.State == stateUnavailable || key.Origin != originAWSKMS {
		return nil, errOrigin(key)
	}
	out := rotationStatusOutput{KeyID: key.ARN}
	root := key.rotationKey()
	switch {
	case !key.isSymmetric():
		// Asymmetric and HMAC keys read false (§5 note 1).
	case isPendingDeletion(key) || isPendingDeletion(root):
		// Reads false while pending deletion; CancelKeyDeletion restores it.
	case root.rotationOn():
		out.KeyRotationEnabled = true
		p := root.period()
		out.RotationPeriodInDays = &p
		if !root.NextRotation.IsZero() {
			out.NextRotationDate = ep(root.NextRotation)
		}
	}
	if !root.OnDemandStart.IsZero() {
		out.OnDemandRotationStartDate = ep(root.OnDemandStart)
	}
	return out, nil
}

func isPendingDeletion(key *kmsKey) bool {
	return key.State == statePendingDeletion || key.State == statePendingReplicaDeletion
}

// EnableKeyRotation (§4.4, §7). The schedule starts at the enable date; on a
// key whose rotation is already on, a new period moves the next date to the
// last scheduled point plus the new period ([I], §13 item 8), or to now if
// that has passed.
//
// UNCONFIRMED (§7): a call without RotationPeriodInDays sets the documented
// default 365, also on a key that had a custom period.
func (k *kmsService) enableKeyRotation(t *tx) (any, *apiError) {
	var in struct {
		keyIDInput
		RotationPeriodInDays *int64 `json:"RotationPeriodInDays"`
	}
	key, err := k.decodeKey(t, &in, func(v *validator) {
		v.rangeInt(in.RotationPeriodInDays, "rotationPeriodInDays", minRotationPeriod, maxRotationPeriod)
	}, keyRef{op: "EnableKeyRotation"})
	if err != nil {
		return nil, err
	}
	if err := checkRotationTarget(t, key, "EnableKeyRotation"); err != nil {
		return nil, err
	}
	period := defaultRotationPeriod
	if in.RotationPeriodInDays != nil {
		period = int(*in.RotationPeriodInDays)
	}
	if !key.Rotation || key.Stalled || key.NextRotation.IsZero() {
		key.EnabledAt = t.now
		key.NextRotation = t.now.AddDate(0, 0, period)
	} else if period != key.period() {
		last := key.NextRotation.AddDate(0, 0, -key.period())
		next := last.AddDate(0, 0, period)
		if next.Before(t.now) {
			next = t.now
		}
		key.NextRotation = next
	}
	key.Rotation, key.PeriodDays, key.Stalled = true, period, false
	key.computeDue(k.onDemandDelay)
	key.invalidate()
	return nil, nil
}

// DisableKeyRotation (§4.5). It does not touch an on-demand rotation in
// progress.
//
// UNCONFIRMED (§13 item 4): on asymmetric and HMAC keys AWS may answer 200;
// the emulator follows the documentation ("You cannot enable or disable
// automatic rotation of asymmetric KMS keys, HMAC KMS keys, ...") and answers
// UnsupportedOperationException, as EnableKeyRotation does.
func (k *kmsService) disableKeyRotation(t *tx) (any, *apiError) {
	key, err := k.findKeyID(t, keyRef{op: "DisableKeyRotation"})
	if err != nil {
		return nil, err
	}
	if err := checkRotationTarget(t, key, "DisableKeyRotation"); err != nil {
		return nil, err
	}
	key.Rotation, key.PeriodDays, key.Stalled = false, 0, false
	key.NextRotation, key.EnabledAt = time.Time{}, time.Time{}
	key.computeDue(k.onDemandDelay)
	key.invalidate()
	return nil, nil
}

// RotateKeyOnDemand (§4.6): asynchronous; the rotation completes after
// onDemandDelay on the emulator clock. Returns the key ARN.
func (k *kmsService) rotateKeyOnDemand(t *tx) (any, *apiError) {
	key, err := k.findKeyID(t, keyRef{op: "RotateKeyOnDemand"})
	if err != nil {
		return nil, err
	}
	if key.Manager == managerAWS {
		return nil, errAccessDenied(t.c, "RotateKeyOnDemand", key.ARN)
	}
	// State first (recorded: a disabled RSA key answers DisabledException).
	// UNCONFIRMED: Unavailable and Updating, answered with their state.
	if key.State != stateEnabled {
		return nil, stateError(key)
	}
	switch {
	case !key.isSymmetric():
		return nil, errUnsupported("")
	case isCustomKeyStore(key.Origin):
		return nil, errOrigin(key)
	case key.isReplica():
		return nil, errUnsupported(key.ARN + " is not a multi-region primary key.")
	}
	if key.Origin == originExternal && key.pendingMaterial() == nil {
		return nil, errInvalidState("No available key material pending rotation for the key: " + key.ARN + ".")
	}
	if !key.OnDemandStart.IsZero() {
		// UNCONFIRMED wording: a second request while one runs.
		return nil, kmsErr("ConflictException", "An on-demand rotation of "+key.ARN+" is already in progress.")
	}
	if at, ok := key.autoRotationDue(); ok && at.Sub(t.now) <= conflictWindow {
		// UNCONFIRMED wording; the condition is the model's.
		return nil, kmsErr("ConflictException", "An automatic rotation of "+key.ARN+
			" is in progress or scheduled to begin within the next 20 minutes.")
	}
	if key.OnDemandCount >= k.onDemandLimit {
		return nil, kmsErr("LimitExceededException", "The on-demand rotations limit has been reached for the given keyId. "+
			"No more on-demand rotations can be performed for this key: "+key.ARN)
	}
	key.OnDemandCount++
	key.OnDemandStart = t.now
	key.computeDue(k.onDemandDelay)
	key.invalidate()
	return struct {
		KeyID string `json:"KeyId"`
	}{key.ARN}, nil
}

type rotationEntry struct {
	KeyID                  string `json:"KeyId"`
	KeyMaterialID          string `json:"KeyMaterialId"`
	KeyMaterialState       string `json:"KeyMaterialState"`
	RotationDate           *epoch `json:"RotationDate,omitempty"`
	RotationType           string `json:"RotationType,omitempty"`
	ImportState            string `json:"ImportState,omitempty"`
	ExpirationModel        string `json:"ExpirationModel,omitempty"`
	ValidTo                *epoch `json:"ValidTo,omitempty"`
	KeyMaterialDescription string `json:"KeyMaterialDescription,omitempty"`
}

// ListKeyRotations (§4.7): completed rotations oldest first; with
// ALL_KEY_MATERIAL also the first material and pending imports.
//
// UNCONFIRMED: states are not in the key-state table, so every state is
// served, as for the other List operations; AWS managed keys and replicas
// list their (shared) rotations; asymmetric and HMAC keys and custom key
// stores are UnsupportedOperationException as §5 infers.
func (k *kmsService) listKeyRotations(t *tx) (any, *apiError) {
	var in struct {
		pageInput
		keyIDInput
		IncludeKeyMaterial *string `json:"IncludeKeyMaterial"`
	}
	key, err := k.decodeKey(t, &in, func(v *validator) {
		v.enum(in.IncludeKeyMaterial, "includeKeyMaterial", []string{"ALL_KEY_MATERIAL", "ROTATIONS_ONLY"})
		in.validate(v, 1000)
	}, keyRef{op: "ListKeyRotations"})
	if err != nil {
		return nil, err
	}
	switch {
	case isCustomKeyStore(key.Origin):
		return nil, errOrigin(key)
	case !key.isSymmetric():
		return nil, errUnsupported("")
	}
	all := in.IncludeKeyMaterial != nil && *in.IncludeKeyMaterial == "ALL_KEY_MATERIAL"
	root := key.rotationKey()
	var picked []int
	for i, m := range root.Materials {
		if all || (m.Type != "" && !m.Pending) {
			picked = append(picked, i)
		}
	}
	scope := pageScope(t, key.ARN+"\x00"+strconv.FormatBool(all))
	start, end, next, err := indexPage(scope, len(picked), &in.pageInput, 100)
	if err != nil {
		return nil, err
	}
	entries := make([]rotationEntry, 0, end-start)
	for _, i := range picked[start:end] {
		m := root.Materials[i]
		e := rotationEntry{KeyID: key.ID, KeyMaterialID: m.ID, KeyMaterialState: "NON_CURRENT"}
		switch {
		case m.Pending:
			e.KeyMaterialState = "PENDING_ROTATION"
		case i == root.Current:
			e.KeyMaterialState = "CURRENT"
		}
		if m.Type != "" && !m.Pending {
			e.RotationDate, e.RotationType = ep(m.Date), m.Type
		}
		if key.Origin == originExternal {
			e.ImportState = "IMPORTED"
			if i == root.Current && !key.Imported {
				e.ImportState = "PENDING_IMPORT"
			}
			e.ExpirationModel = m.ExpirationModel
			if m.ExpirationModel == expires {
				e.ValidTo = ep(m.ValidTo)
			}
			e.KeyMaterialDescription = m.Description
		}
		entries = append(entries, e)
	}
	return struct {
		Rotations  []rotationEntry `json:"Rotations"`
		NextMarker *string         `json:"NextMarker,omitempty"`
		Truncated  bool            `json:"Truncated"`
	}{entries, next, next != nil}, nil
}
