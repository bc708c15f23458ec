package kmsemu

import (
	"net/http"
	"time"
)

// call is one authenticated request, as the frame (server.go) hands it to a
// service after routing, SigV4 verification, quotas, faults and deny rules.
type call struct {
	// Service is "kms", "sts", "organizations", "ec2", "cloudformation" or
	// "securityhub"; Op the operation name
	// (e.g. DescribeKey).
	Service string
	Op      string
	// Account and Region the request acts in: the account of the access key
	// (or assumed role), the Region of the SigV4 credential scope.
	Account string
	Region  string
	// Principal is the caller's ARN; Role the assumed role's name, if any.
	Principal string
	Role      string
	// AccessKeyID the request was signed with.
	AccessKeyID string
	// Body is the raw request body (JSON for KMS, Organizations and Security
	// Hub; form values for STS, EC2 and CloudFormation are in Form).
	Body []byte
	Form map[string][]string
	// Now is the emulated time of the request.
	Now time.Time
	// HTTP is the original request, for headers.
	HTTP *http.Request
}

// apiError is an AWS error response: the HTTP status, the error code
// (__type for JSON protocols, <Code> for XML ones) and the message.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }
