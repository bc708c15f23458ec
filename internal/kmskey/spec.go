package kmskey

import "strings"

// The rotation period range AWS accepts, in days (kms-api.md §4.4; the
// same in CloudFormation, §10, and the Terraform AWS provider, §11). AWS's
// default is DefaultRotationPeriodDays.
const (
	MinRotationPeriodDays = 90
	MaxRotationPeriodDays = 2560
)

// ValidRotationPeriod reports whether AWS accepts days as a rotation period.
func ValidRotationPeriod(days int) bool {
	return days >= MinRotationPeriodDays && days <= MaxRotationPeriodDays
}

// SpecClass is what a key spec is for rotation: only symmetric encryption
// keys rotate automatically (kms-api.md §5).
type SpecClass string

// The classes of key specs.
const (
	SpecClassSymmetric  SpecClass = "symmetric"
	SpecClassAsymmetric SpecClass = "asymmetric"
	SpecClassHMAC       SpecClass = "hmac"
)

// keySpecs are the KeySpec values of the KMS API (kms-api.md §3), as AWS
// spells them, in the order the documentation lists them.
var keySpecs = []struct {
	name  string
	class SpecClass
}{
	{SpecSymmetricDefault, SpecClassSymmetric},
	{"RSA_2048", SpecClassAsymmetric}, {"RSA_3072", SpecClassAsymmetric}, {"RSA_4096", SpecClassAsymmetric},
	{"ECC_NIST_P256", SpecClassAsymmetric}, {"ECC_NIST_P384", SpecClassAsymmetric}, {"ECC_NIST_P521", SpecClassAsymmetric},
	{"ECC_SECG_P256K1", SpecClassAsymmetric}, {"ECC_NIST_EDWARDS25519", SpecClassAsymmetric},
	{"HMAC_224", SpecClassHMAC}, {"HMAC_256", SpecClassHMAC}, {"HMAC_384", SpecClassHMAC}, {"HMAC_512", SpecClassHMAC},
	{"SM2", SpecClassAsymmetric},
	{"ML_DSA_44", SpecClassAsymmetric}, {"ML_DSA_65", SpecClassAsymmetric}, {"ML_DSA_87", SpecClassAsymmetric},
	{"ML_KEM_512", SpecClassAsymmetric}, {"ML_KEM_768", SpecClassAsymmetric}, {"ML_KEM_1024", SpecClassAsymmetric},
}

// KeySpecs returns the KeySpec values of the KMS API, in the documentation's
// order.
func KeySpecs() []string {
	out := make([]string, len(keySpecs))
	for i, s := range keySpecs {
		out[i] = s.name
	}
	return out
}

// ClassOf is the class of a key spec. A spec this release does not know is
// HMAC when AWS's naming says so, and otherwise asymmetric: every symmetric
// encryption key is SYMMETRIC_DEFAULT.
func ClassOf(spec string) SpecClass {
	for _, s := range keySpecs {
		if s.name == spec {
			return s.class
		}
	}
	if strings.HasPrefix(spec, "HMAC_") {
		return SpecClassHMAC
	}
	return SpecClassAsymmetric
}

// KeyUsages are the KeyUsage values of the KMS API (kms-api.md §3).
var KeyUsages = []string{UsageEncryptDecrypt, "SIGN_VERIFY", "GENERATE_VERIFY_MAC", "KEY_AGREEMENT", "ENCAPSULATE_DECAPSULATE"}
