package kmsemu

import (
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"time"
)

// epoch is a timestamp as awsJson1.1 writes it: seconds since the Unix epoch,
// a JSON number with up to millisecond fractions (kms-api.md §1).
type epoch time.Time

func (e epoch) MarshalJSON() ([]byte, error) {
	return appendEpoch(nil, time.Time(e)), nil
}

func appendEpoch(b []byte, t time.Time) []byte {
	ms := t.UnixMilli()
	if ms%1000 == 0 {
		return strconv.AppendInt(b, ms/1000, 10)
	}
	return strconv.AppendFloat(b, float64(ms)/1000, 'f', -1, 64)
}

// UnmarshalJSON accepts epoch seconds, as the SDK sends timestamps.
func (e *epoch) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || math.Abs(f) > 1e12 {
		return &json.UnmarshalTypeError{Value: "string", Type: timeType}
	}
	sec, frac := math.Modf(f)
	*e = epoch(time.Unix(int64(sec), int64(frac*1e9)).UTC())
	return nil
}

var timeType = reflect.TypeOf(time.Time{})

func ep(t time.Time) *epoch {
	e := epoch(t)
	return &e
}

// keyMetadata is KeyMetadata with AWS's field presence (kms-api.md §3 and
// the recorded responses): MultiRegion is always written, the rest only for
// the key classes and states that have them.
type keyMetadata struct {
	AWSAccountID             string                 `json:"AWSAccountId"`
	Arn                      string                 `json:"Arn"`
	CloudHsmClusterID        string                 `json:"CloudHsmClusterId,omitempty"`
	CreationDate             epoch                  `json:"CreationDate"`
	CurrentKeyMaterialID     string                 `json:"CurrentKeyMaterialId,omitempty"`
	CustomKeyStoreID         string                 `json:"CustomKeyStoreId,omitempty"`
	CustomerMasterKeySpec    string                 `json:"CustomerMasterKeySpec,omitempty"`
	DeletionDate             *epoch                 `json:"DeletionDate,omitempty"`
	Description              string                 `json:"Description"`
	Enabled                  bool                   `json:"Enabled"`
	EncapsulationAlgorithms  []string               `json:"EncapsulationAlgorithms,omitempty"`
	EncryptionAlgorithms     []string               `json:"EncryptionAlgorithms,omitempty"`
	ExpirationModel          string                 `json:"ExpirationModel,omitempty"`
	KeyAgreementAlgorithms   []string               `json:"KeyAgreementAlgorithms,omitempty"`
	KeyID                    string                 `json:"KeyId"`
	KeyManager               string                 `json:"KeyManager"`
	KeySpec                  string                 `json:"KeySpec"`
	KeyState                 string                 `json:"KeyState"`
	KeyUsage                 string                 `json:"KeyUsage"`
	MacAlgorithms            []string               `json:"MacAlgorithms,omitempty"`
	MultiRegion              bool                   `json:"MultiRegion"`
	MultiRegionConfiguration *multiRegionConfig     `json:"MultiRegionConfiguration,omitempty"`
	Origin                   string                 `json:"Origin"`
	PendingDeletionWindow    *int                   `json:"PendingDeletionWindowInDays,omitempty"`
	SigningAlgorithms        []string               `json:"SigningAlgorithms,omitempty"`
	ValidTo                  *epoch                 `json:"ValidTo,omitempty"`
	XksKeyConfiguration      *xksKeyConfigurationJS `json:"XksKeyConfiguration,omitempty"`
}

type multiRegionConfig struct {
	MultiRegionKeyType string           `json:"MultiRegionKeyType"`
	PrimaryKey         multiRegionKey   `json:"PrimaryKey"`
	ReplicaKeys        []multiRegionKey `json:"ReplicaKeys"`
}

type multiRegionKey struct {
	Arn    string `json:"Arn"`
	Region string `json:"Region"`
}

type xksKeyConfigurationJS struct {
	ID string `json:"Id"`
}

// metadata builds the key's KeyMetadata.
func (key *kmsKey) metadata() *keyMetadata {
	info := specs[key.Spec]
	m := &keyMetadata{
		AWSAccountID: key.Account,
		Arn:          key.ARN,
		CreationDate: epoch(key.Created),
		Description:  key.Description,
		Enabled:      key.State == stateEnabled,
		KeyID:        key.ID,
		KeyManager:   key.Manager,
		KeySpec:      key.Spec,
		KeyState:     key.State,
		KeyUsage:     key.Usage,
		MultiRegion:  key.MultiRegion,
		Origin:       key.Origin,
	}
	// UNCONFIRMED: the deprecated CustomerMasterKeySpec enum lacks the ML-*
	// and EDWARDS specs; for those keys the member is left out rather than
	// given a value outside its enum.
	if info.legacy {
		m.CustomerMasterKeySpec = key.Spec
	}
	switch key.Usage {
	case usageEncryptDecrypt:
		m.EncryptionAlgorithms = info.encryption
	case usageSignVerify:
		m.SigningAlgorithms = info.signing
	case usageMAC:
		m.MacAlgorithms = info.mac
	case usageKeyAgreement:
		m.KeyAgreementAlgorithms = info.agreement
	case usageEncapsulate:
		m.EncapsulationAlgorithms = info.encapsulation
	}
	// CurrentKeyMaterialId: symmetric keys of AWS_KMS or EXTERNAL origin that
	// have material; a replica only once it is created (LS recordings).
	// A replica of an EXTERNAL key shows it once it has imported it.
	if key.isSymmetric() && (key.Origin == originAWSKMS || key.Origin == originExternal) &&
		key.State != stateCreating && !(key.isReplica() && key.Origin == originExternal && !key.Imported) {
		if cur := key.currentMaterial(); cur != nil {
			m.CurrentKeyMaterialID = cur.ID
		}
	}
	if isCustomKeyStore(key.Origin) {
		m.CustomKeyStoreID = key.CustomKeyStoreID
	}
	if key.Origin == originCloudHSM {
		m.CloudHsmClusterID = key.CloudHsmClusterID
	}
	if key.Origin == originExternalKeyStore {
		m.XksKeyConfiguration = &xksKeyConfigurationJS{ID: key.XksKeyID}
	}
	if key.State == statePendingDeletion && !key.DeletionDate.IsZero() {
		m.DeletionDate = ep(key.DeletionDate)
	}
	if key.State == statePendingReplicaDeletion && key.PendingWindowDays > 0 {
		w := key.PendingWindowDays
		m.PendingDeletionWindow = &w
	}
	// ExpirationModel and ValidTo: EXTERNAL keys whose material is imported
	// (absent while PendingImport, as recorded).
	if key.Origin == originExternal && key.Imported {
		m.ExpirationModel = key.ExpirationModel
		if key.ExpirationModel == expires {
			m.ValidTo = ep(key.ValidTo)
		}
	}
	if key.MultiRegion {
		root := key.rotationKey()
		cfg := &multiRegionConfig{
			MultiRegionKeyType: "PRIMARY",
			PrimaryKey:         multiRegionKey{Arn: root.ARN, Region: root.Region},
			ReplicaKeys:        make([]multiRegionKey, 0, len(root.replicas)),
		}
		if key.isReplica() {
			cfg.MultiRegionKeyType = "REPLICA"
		}
		for _, r := range root.replicas {
			cfg.ReplicaKeys = append(cfg.ReplicaKeys, multiRegionKey{Arn: r.ARN, Region: r.Region})
		}
		m.MultiRegionConfiguration = cfg
	}
	return m
}

// describeBody returns the DescribeKey response body, cached until the key
// changes: DescribeKey is the hot path of every scan and benchmark.
func (key *kmsKey) describeBody() (json.RawMessage, *apiError) {
	if b := key.desc.Load(); b != nil {
		return *b, nil
	}
	b, err := json.Marshal(struct {
		KeyMetadata *keyMetadata `json:"KeyMetadata"`
	}{key.metadata()})
	if err != nil {
		return nil, errInternal("")
	}
	key.desc.Store(&b)
	return b, nil
}
