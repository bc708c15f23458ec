package kmsemu

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"time"
)

// Imported key material (EXTERNAL origin), enough for the key states and
// for on-demand rotation of imported keys (kms-api.md §4.6): the emulator
// does not decrypt the material; the encrypted bytes identify it.

var (
	wrappingAlgorithms = []string{"RSAES_PKCS1_V1_5", "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256",
		"RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256", "SM2PKE"}
	wrappingKeySpecs = []string{"RSA_2048", "RSA_3072", "RSA_4096", "SM2"}
)

// wrappingKeys are real RSA public keys (PKIX DER, base64), one per
// WrappingKeySpec, so that a client can wrap material with them as it would
// for AWS. They are fixed rather than generated because generating a 4096-bit
// key takes seconds, and the emulator never unwraps: the private halves were
// discarded.
var wrappingKeys = map[string]string{
	"RSA_2048": "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAjdaZCgeUT9GaleJSDNCE4LQGaaUCwc3bkFiYXQBVhx0LOZ5pj/8F2ra0" +
		"4CN3RCaGh8dajpY1sMXalKTb26ZJtVAvgwnuvnS3o3MTN9+ZHpKf1ePzPEbkNjFRHvHB0Hb+LmakCUxuFn35geRZL601GtolcOyD" +
		"Ee+5j5+g+UGrG1XUbZX4voECzvGlvr+lID31AYiQXC/W81Nc/iNdThPXN7lAr7YRYDiE/tT99YUJZPQOsWpjwV2ZGWBEmw9RaWNZ" +
		"3C7rlYpaY69m+aFuaXQ9fyr+cuapM+UVIGkZ2jcPt7aoo1rdk7arYgYblvfZ2a3eYOMo5cz+f5DXgWikXf4KgwIDAQAB",
	"RSA_3072": "MIIBojANBgkqhkiG9w0BAQEFAAOCAY8AMIIBigKCAYEApPaLuinTwLEchdVF8Z+DCbahnRLPjIISfP4o+piX2MSsWaaNPXEjrhtY" +
		"j6MHACQgkT3EpFcMC3t+ckHSwsYshogEpD4Yr7bYtCPOeMknqYlLhF2RY39+U/1krQ6mYJ3Ljty6sqzizAGH42U4MGiENAQM4N2z" +
		"5lchzLFtfRfm0BpwB5EvZ5Tr1DzHufz2fEwZY4m5Ce7kHoSqhdWWiYA9/1jmXnspVUNnmPkR8v6CuYCwYWdVsdbUMh7mhulTFQju" +
		"kAau/sSkcKxobJ7+xVm1vkd4XIxbYncshNQJyUfFzD8lgIAs1NiZLyybHFKVw5T7ZMPOEbnk/e1D/BB/U9T6fL3avDFi50IZaqcn" +
		"S+FDR0fW8hjDuTMDTNt02u98o7CQdMBTVrp0GR68QlSd4i3Wtfme4bjeJrdJkbHXi7fXJ64jbbh/ZFUk31yihruedVUDqVeROVQI" +
		"6dkftw9DsfPz65RxgElskAkx9Z8LtxIneria9eLKoCKFh414LXjf6euBAgMBAAE=",
	"RSA_4096": "MIICIjANBgkqhkiG9w0BAQEFAAOCAg8AMIICCgKCAgEA6I9Z9Q1k3urzfoiJPlPCuqyj806b6tSCvYYYEwGqmD6JP1BIvTcQc3Hs" +
		"9klBXzt962DLWi0R1bIalLwBaHUap3Escg4s7y0pGkmPq39TqoMM21bTn1z7OGAbcdjkoeNDu2K1n0wH6XAJ1o0OzkDm6UQz20bC" +
		"Lt99pV9tsj2aXA5XSo+jOuwu5Ttd/G8hlK2FShscQQBKw0/QKnnm5vtEe7Ocro5QvyfAW5rwJAu7OMDpDmEETex6b4vS4amHyTZt" +
		"CxguS0wX5DjK/xAJN3Sgza4PF3S5HFI5+Hy7Cu+3hHmmDDh5qYW2b58AyYjtLxqS8y6W3RK/w4dRCOjgkgbQwzFanzWnGtEmwP7t" +
		"Qqx0DYoJph83UIV4nftxrbteVxJzeVz9BuuPYcecKPHJWxVWorDBJwc/S1mr1kGiLhSb8F55RSkLVDgB3L3i+0CL08xqBnnq7u3o" +
		"WZaOY7OHlb167XixOyhL3JH2ItR9jo0XwxNb6/ER7ERLQj0QqClTmC9K6SU0cPKW9nTVqFOdOJZaX50cp8iriNVpiKt9qyHUkS49" +
		"vQNpnRfGotLaLktE6Ij9V44EIFviiJ7dmp4QeN3+KvZoyR7GcZ0F3r5BHv0xVcGq++N/17NgVrZt3pyydnTyMxvhY44zYVjNiPeG" +
		"8XxmFw3OGc5HwyVXmnoqt8x+NzcCAwEAAQ==",
	"SM2": "MFkwEwYHKoZIzj0CAQYIKoEcz1UBgi0DQgAEZe5gI96adcn6KSh9brimrbjPaS/w/9cxun8KDvZnPod0UAFBleTPfNtdMz1XvyC8xxe0zXCfn4aKvm1A7R0MRA==",
}

func wrappingPublicKey(spec string) []byte {
	der, _ := base64.StdEncoding.DecodeString(wrappingKeys[spec])
	return der
}

// importTokenTTL is how long GetParametersForImport's token is valid (AWS:
// 24 hours).
const importTokenTTL = 24 * time.Hour

// importToken binds a token to the key and its expiry.
func importToken(keyARN string, validTo time.Time) []byte {
	b := binary.BigEndian.AppendUint64([]byte("kmsemu-import\x00"+keyARN+"\x00"), uint64(validTo.Unix()))
	sum := sha256.Sum256(append([]byte(markerSalt), b...))
	return append(b, sum[:16]...)
}

// checkImportToken returns the token's expiry if it was issued for the key.
func checkImportToken(keyARN string, token []byte) (time.Time, bool) {
	prefix := "kmsemu-import\x00" + keyARN + "\x00"
	if len(token) != len(prefix)+8+16 || !strings.HasPrefix(string(token), prefix) {
		return time.Time{}, false
	}
	body := token[:len(prefix)+8]
	sum := sha256.Sum256(append([]byte(markerSalt), body...))
	if string(sum[:16]) != string(token[len(body):]) {
		return time.Time{}, false
	}
	return time.Unix(int64(binary.BigEndian.Uint64(body[len(prefix):])), 0), true
}

// GetParametersForImport.
func (k *kmsService) getParametersForImport(t *tx) (any, *apiError) {
	var in struct {
		keyIDInput
		WrappingAlgorithm *string `json:"WrappingAlgorithm"`
		WrappingKeySpec   *string `json:"WrappingKeySpec"`
	}
	key, err := k.decodeKey(t, &in, func(v *validator) {
		if v.required(in.WrappingAlgorithm, "wrappingAlgorithm") {
			v.enum(in.WrappingAlgorithm, "wrappingAlgorithm", wrappingAlgorithms)
		}
		if v.required(in.WrappingKeySpec, "wrappingKeySpec") {
			v.enum(in.WrappingKeySpec, "wrappingKeySpec", wrappingKeySpecs)
		}
	}, keyRef{op: "GetParametersForImport"})
	if err != nil {
		return nil, err
	}
	if key.Manager == managerAWS {
		return nil, errAccessDenied(t.c, "GetParametersForImport", key.ARN)
	}
	if isPendingDeletion(key) {
		return nil, stateError(key)
	}
	if key.Origin != originExternal {
		return nil, errOrigin(key)
	}
	validTo := t.now.Add(importTokenTTL)
	return struct {
		KeyID             string `json:"KeyId"`
		ImportToken       []byte `json:"ImportToken"`
		PublicKey         []byte `json:"PublicKey"`
		ParametersValidTo epoch  `json:"ParametersValidTo"`
	}{key.ARN, importToken(key.ARN, validTo), wrappingPublicKey(*in.WrappingKeySpec), epoch(validTo)}, nil
}

var errIncorrectMaterial = kmsErr("IncorrectKeyMaterialException",
	"The key material in the request is, expired, invalid, or is not the same key material that was previously imported into this KMS key.")

// ImportKeyMaterial: the first import makes a PendingImport key Enabled;
// NEW_KEY_MATERIAL on a symmetric key that has material adds material in
// PENDING_ROTATION for RotateKeyOnDemand; EXISTING_KEY_MATERIAL reimports
// expired material (or gives a replica its primary's).
//
// Simplification: a multi-Region primary's new material is ready for
// rotation at once (PENDING_ROTATION), as if every replica had imported it;
// PENDING_MULTI_REGION_IMPORT_AND_ROTATION is not modelled.
func (k *kmsService) importKeyMaterial(t *tx) (any, *apiError) {
	var in struct {
		keyIDInput
		ImportToken            []byte  `json:"ImportToken"`
		EncryptedKeyMaterial   []byte  `json:"EncryptedKeyMaterial"`
		ValidTo                *epoch  `json:"ValidTo"`
		ExpirationModel        *string `json:"ExpirationModel"`
		ImportType             *string `json:"ImportType"`
		KeyMaterialDescription *string `json:"KeyMaterialDescription"`
		KeyMaterialID          *string `json:"KeyMaterialId"`
	}
	key, err := k.decodeKey(t, &in, func(v *validator) {
		if in.ImportToken == nil {
			v.add(nil, "importToken", "not be null")
		}
		if in.EncryptedKeyMaterial == nil {
			v.add(nil, "encryptedKeyMaterial", "not be null")
		}
		v.enum(in.ExpirationModel, "expirationModel", []string{expires, doesNotExpire})
		v.enum(in.ImportType, "importType", []string{"NEW_KEY_MATERIAL", "EXISTING_KEY_MATERIAL"})
		v.length(in.KeyMaterialDescription, "keyMaterialDescription", 0, 256)
		v.length(in.KeyMaterialID, "keyMaterialId", 64, 64)
	}, keyRef{op: "ImportKeyMaterial"})
	if err != nil {
		return nil, err
	}
	if key.Manager == managerAWS {
		return nil, errAccessDenied(t.c, "ImportKeyMaterial", key.ARN)
	}
	switch key.State {
	case statePendingDeletion, statePendingReplicaDeletion, stateCreating, stateUpdating:
		return nil, stateError(key)
	}
	if key.Origin != originExternal {
		return nil, errOrigin(key)
	}
	tokenExpiry, ok := checkImportToken(key.ARN, in.ImportToken)
	if !ok {
		return nil, kmsErr("InvalidImportTokenException", "The import token is not valid for this KMS key.")
	}
	if !t.now.Before(tokenExpiry) {
		return nil, kmsErr("ExpiredImportTokenException", "The import token has expired.")
	}
	model := expires
	if in.ExpirationModel != nil {
		model = *in.ExpirationModel
	}
	var validTo time.Time
	switch {
	case model == expires && in.ValidTo == nil:
		return nil, errValidation("A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES")
	case model == doesNotExpire && in.ValidTo != nil:
		return nil, errValidation("A validTo date must not be set if the ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE")
	case model == expires:
		validTo = time.Time(*in.ValidTo)
		if !validTo.After(t.now) || validTo.After(t.now.AddDate(0, 0, 365)) {
			return nil, errValidation("The validTo date must be in the future and no more than 365 days from now.")
		}
	}
	if !key.isSymmetric() && (in.ImportType != nil || in.KeyMaterialID != nil || in.KeyMaterialDescription != nil) {
		return nil, errValidation("ImportType, KeyMaterialId and KeyMaterialDescription apply only to symmetric encryption keys.")
	}

	root := key.rotationKey()
	id := materialID(key.ID, in.EncryptedKeyMaterial)
	importType := "EXISTING_KEY_MATERIAL"
	if len(root.Materials) == 0 {
		importType = "NEW_KEY_MATERIAL"
	}
	if in.ImportType != nil {
		importType = *in.ImportType
	}
	desc := ""
	if in.KeyMaterialDescription != nil {
		desc = *in.KeyMaterialDescription
	}
	if importType == "NEW_KEY_MATERIAL" {
		if in.KeyMaterialID != nil {
			return nil, errValidation("You cannot specify a KeyMaterialId when the ImportType is NEW_KEY_MATERIAL.")
		}
		if key.isReplica() {
			return nil, errUnsupported(key.ARN + " is a multi-Region replica key. Import new key material into its primary key.")
		}
		for _, m := range root.Materials {
			if m.Pending {
				return nil, errInvalidState("New key material (id: " + id + ") cannot be imported into KMS key " +
					key.ID + ", because another key material (id: " + m.ID + ") is pending rotation.")
			}
			if m.ID == id {
				return nil, errIncorrectMaterial
			}
		}
		m := material{ID: id, ExpirationModel: model, ValidTo: validTo, Description: desc}
		if len(root.Materials) == 0 {
			m.Date = t.now
			key.addMaterial(m)
			key.setImported(model, validTo)
		} else {
			if !key.isSymmetric() {
				return nil, errUnsupported(key.ARN + " already has key material; only symmetric encryption keys accept new key material.")
			}
			m.Pending = true
			key.addMaterial(m)
		}
	} else {
		if in.KeyMaterialID != nil && *in.KeyMaterialID != id {
			return nil, errIncorrectMaterial
		}
		i := -1
		for j := range root.Materials {
			if root.Materials[j].ID == id {
				i = j
			}
		}
		if i < 0 {
			return nil, errIncorrectMaterial
		}
		m := &root.Materials[i]
		if desc != "" {
			m.Description = desc
		}
		if i == root.Current {
			m.ExpirationModel, m.ValidTo = model, validTo
			key.setImported(model, validTo)
		} else if m.Pending {
			m.ExpirationModel, m.ValidTo = model, validTo
		}
	}
	key.computeDue(k.onDemandDelay)
	key.invalidate()
	return struct {
		KeyID         string `json:"KeyId"`
		KeyMaterialID string `json:"KeyMaterialId"`
	}{key.ARN, id}, nil
}

// setImported records that the key holds its current material now.
func (key *kmsKey) setImported(model string, validTo time.Time) {
	key.Imported, key.ExpirationModel, key.ValidTo = true, model, validTo
	if key.State == statePendingImport {
		key.State = stateEnabled
	}
}
