package kmsemu

// STUB: replaced by the KMS service implementation. The frame relies on
// exactly these signatures.

// kmsService holds every account's and Region's keys and aliases and answers
// the KMS operations (awsJson1.1, X-Amz-Target TrentService.<Op>).
type kmsService struct{ clock *Clock }

// newKMSService returns an empty service. onDemandLimit is the per-key limit
// of RotateKeyOnDemand (kms-api.md §4.6; default 25).
func newKMSService(clock *Clock, onDemandLimit int) *kmsService {
	return &kmsService{clock: clock}
}

// load adds the estate's keys (with their aliases, tags, replicas and history).
func (k *kmsService) load(e *Estate) error { return nil }

// handle answers one KMS operation; the result is marshalled to JSON by the
// frame (nil means an empty body).
func (k *kmsService) handle(c *call) (any, *apiError) {
	return nil, &apiError{Status: 400, Code: "UnknownOperationException", Message: "not implemented"}
}

// resolveKeyID returns the key ID that a KeyId parameter (ID, ARN, alias name
// or alias ARN) names in the account and Region, or "" — for deny rules.
func (k *kmsService) resolveKeyID(account, region, keyID string) string { return "" }

// snapshot and restore persist the whole KMS state (--state-file).
func (k *kmsService) snapshot() ([]byte, error) { return nil, nil }
func (k *kmsService) restore(data []byte) error { return nil }
