package kmsemu

// Key specs, usages and the algorithms KeyMetadata lists for each
// (kms-api.md §3; types/enums.go of aws-sdk-go-v2 service/kms).

// Key managers, origins, states and usages, as AWS spells them.
const (
	managerCustomer = "CUSTOMER"
	managerAWS      = "AWS"

	originAWSKMS           = "AWS_KMS"
	originExternal         = "EXTERNAL"
	originCloudHSM         = "AWS_CLOUDHSM"
	originExternalKeyStore = "EXTERNAL_KEY_STORE"

	stateEnabled                = "Enabled"
	stateDisabled               = "Disabled"
	statePendingDeletion        = "PendingDeletion"
	statePendingReplicaDeletion = "PendingReplicaDeletion"
	statePendingImport          = "PendingImport"
	stateUnavailable            = "Unavailable"
	stateCreating               = "Creating"
	stateUpdating               = "Updating"

	usageEncryptDecrypt = "ENCRYPT_DECRYPT"
	usageSignVerify     = "SIGN_VERIFY"
	usageMAC            = "GENERATE_VERIFY_MAC"
	usageKeyAgreement   = "KEY_AGREEMENT"
	usageEncapsulate    = "ENCAPSULATE_DECAPSULATE"

	specSymmetric = "SYMMETRIC_DEFAULT"

	rotationAutomatic = "AUTOMATIC"
	rotationOnDemand  = "ON_DEMAND"

	expires       = "KEY_MATERIAL_EXPIRES"
	doesNotExpire = "KEY_MATERIAL_DOES_NOT_EXPIRE"
)

// specInfo is what a KeySpec allows and lists.
type specInfo struct {
	// usages are the KeyUsage values CreateKey accepts for the spec.
	usages []string
	// legacy is true when the deprecated CustomerMasterKeySpec enum has the
	// value; KeyMetadata then repeats the spec there.
	legacy bool
	hmac   bool
	// algorithms by usage.
	encryption, signing, mac, agreement, encapsulation []string
}

var (
	rsaEncryption = []string{"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"}
	rsaSigning    = []string{"RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512",
		"RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512"}
	ecdh = []string{"ECDH"}
)

// specs is keyed by KeySpec. The usages per spec follow the CreateKey
// KeyUsage documentation.
var specs = map[string]specInfo{
	specSymmetric: {usages: []string{usageEncryptDecrypt}, legacy: true,
		encryption: []string{"SYMMETRIC_DEFAULT"}},
	"RSA_2048": {usages: []string{usageEncryptDecrypt, usageSignVerify}, legacy: true, encryption: rsaEncryption, signing: rsaSigning},
	"RSA_3072": {usages: []string{usageEncryptDecrypt, usageSignVerify}, legacy: true, encryption: rsaEncryption, signing: rsaSigning},
	"RSA_4096": {usages: []string{usageEncryptDecrypt, usageSignVerify}, legacy: true, encryption: rsaEncryption, signing: rsaSigning},
	"ECC_NIST_P256": {usages: []string{usageSignVerify, usageKeyAgreement}, legacy: true,
		signing: []string{"ECDSA_SHA_256"}, agreement: ecdh},
	"ECC_NIST_P384": {usages: []string{usageSignVerify, usageKeyAgreement}, legacy: true,
		signing: []string{"ECDSA_SHA_384"}, agreement: ecdh},
	"ECC_NIST_P521": {usages: []string{usageSignVerify, usageKeyAgreement}, legacy: true,
		signing: []string{"ECDSA_SHA_512"}, agreement: ecdh},
	"ECC_SECG_P256K1": {usages: []string{usageSignVerify}, legacy: true,
		signing: []string{"ECDSA_SHA_256"}},
	"ECC_NIST_EDWARDS25519": {usages: []string{usageSignVerify},
		signing: []string{"ED25519_SHA_512", "ED25519_PH_SHA_512"}},
	"HMAC_224": {usages: []string{usageMAC}, legacy: true, hmac: true, mac: []string{"HMAC_SHA_224"}},
	"HMAC_256": {usages: []string{usageMAC}, legacy: true, hmac: true, mac: []string{"HMAC_SHA_256"}},
	"HMAC_384": {usages: []string{usageMAC}, legacy: true, hmac: true, mac: []string{"HMAC_SHA_384"}},
	"HMAC_512": {usages: []string{usageMAC}, legacy: true, hmac: true, mac: []string{"HMAC_SHA_512"}},
	"SM2": {usages: []string{usageEncryptDecrypt, usageSignVerify, usageKeyAgreement}, legacy: true,
		encryption: []string{"SM2PKE"}, signing: []string{"SM2DSA"}, agreement: ecdh},
	"ML_DSA_44":   {usages: []string{usageSignVerify}, signing: []string{"ML_DSA_SHAKE_256"}},
	"ML_DSA_65":   {usages: []string{usageSignVerify}, signing: []string{"ML_DSA_SHAKE_256"}},
	"ML_DSA_87":   {usages: []string{usageSignVerify}, signing: []string{"ML_DSA_SHAKE_256"}},
	"ML_KEM_512":  {usages: []string{usageEncapsulate}, encapsulation: []string{"ML_KEM"}},
	"ML_KEM_768":  {usages: []string{usageEncapsulate}, encapsulation: []string{"ML_KEM"}},
	"ML_KEM_1024": {usages: []string{usageEncapsulate}, encapsulation: []string{"ML_KEM"}},
}

// The enum value sets as ValidationException messages list them.
var (
	keySpecEnum = []string{"RSA_2048", "ECC_NIST_P384", "ECC_NIST_P256", "ECC_NIST_P521", "HMAC_384",
		"RSA_3072", "ECC_SECG_P256K1", "RSA_4096", "SYMMETRIC_DEFAULT", "HMAC_256", "HMAC_224",
		"HMAC_512", "SM2", "ECC_NIST_EDWARDS25519", "ML_DSA_44", "ML_DSA_65", "ML_DSA_87",
		"ML_KEM_512", "ML_KEM_768", "ML_KEM_1024"}
	keyUsageEnum = []string{usageEncryptDecrypt, usageSignVerify, usageMAC, usageKeyAgreement, usageEncapsulate}
	originEnum   = []string{originAWSKMS, originExternal, originCloudHSM, originExternalKeyStore}
	stateEnum    = []string{stateCreating, stateEnabled, stateDisabled, statePendingDeletion,
		statePendingImport, statePendingReplicaDeletion, stateUnavailable, stateUpdating}
)

// defaultUsage is the usage an estate KeyDef gets when it names none. CreateKey
// itself requires KeyUsage for every spec but SYMMETRIC_DEFAULT; an estate may
// omit it and gets the spec's first usage.
func defaultUsage(spec string) string {
	if info, ok := specs[spec]; ok {
		return info.usages[0]
	}
	return usageEncryptDecrypt
}

// usageAllowed reports whether CreateKey accepts usage for spec.
func usageAllowed(spec, usage string) bool {
	for _, u := range specs[spec].usages {
		if u == usage {
			return true
		}
	}
	return false
}

func isCustomKeyStore(origin string) bool {
	return origin == originCloudHSM || origin == originExternalKeyStore
}
