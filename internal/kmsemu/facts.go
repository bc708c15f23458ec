package kmsemu

// KeySpecClasses returns every KeySpec the emulator serves with its class:
// "symmetric", "asymmetric" or "hmac". The emulator keeps its own table of
// AWS's key facts (kms_spec.go) so that it imports no other package of
// kmsrotor; internal/archtest checks that it agrees with internal/kmskey.
func KeySpecClasses() map[string]string {
	out := make(map[string]string, len(specs))
	for name, info := range specs {
		switch {
		case name == specSymmetric:
			out[name] = "symmetric"
		case info.hmac:
			out[name] = "hmac"
		default:
			out[name] = "asymmetric"
		}
	}
	return out
}

// RotationPeriodDays returns the rotation period range the emulator's KMS
// accepts and its default, in days (kms-api.md §4.4).
func RotationPeriodDays() (minDays, defaultDays, maxDays int) {
	return minRotationPeriod, defaultRotationPeriod, maxRotationPeriod
}
