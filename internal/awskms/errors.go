package awskms

import (
	"context"
	"errors"
	"net"
	"strings"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go"

	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

// Codes given to failures that carry no AWS error code.
const (
	// CodeRequestError is a request that got no AWS answer: connection
	// refused or reset, DNS failure, a response that does not parse.
	CodeRequestError = "RequestError"
	// CodeTimeout is a request that got no answer in time, after retries.
	CodeTimeout = "RequestTimeout"
)

// ScanError and SkippedAccount are kmskey's.
type (
	ScanError      = kmskey.ScanError
	SkippedAccount = kmskey.SkippedAccount
)

// CredentialsError means the scan could not start because the credentials
// are missing, or AWS rejected them.
type CredentialsError struct {
	// Rejected is true when credentials were found but AWS refused them
	// (Code says how); false when none could be loaded at all.
	Rejected bool
	Code     string
	// Profile is the profile of the credentials, with several profiles.
	Profile string
	Err     error
}

func (e *CredentialsError) Error() string {
	if e.Rejected {
		return "aws rejected the credentials (" + e.Code + "): " + e.Err.Error()
	}
	return "no aws credentials: " + e.Err.Error()
}

func (e *CredentialsError) Unwrap() error { return e.Err }

// classify returns the AWS error code and message of a failed call, or a
// code of our own for failures that AWS did not answer.
func classify(err error) (code, message string) {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode(), apiErr.ErrorMessage()
	}
	var timeout interface{ Timeout() bool }
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &timeout) && timeout.Timeout()) {
		return CodeTimeout, innermost(err)
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return CodeRequestError, opErr.Error()
	}
	return CodeRequestError, innermost(err)
}

// innermost is the message of the deepest wrapped error, without the SDK's
// "operation error …, exceeded maximum number of attempts" preamble.
func innermost(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}

// keyError is the Err of a key whose fact could not be read.
func keyError(op string, err error) *kmskey.Error {
	code, msg := classify(err)
	return &kmskey.Error{Operation: op, Code: code, Message: msg}
}

// credentialsError recognises a failure to obtain or use credentials on the
// first call of a scan.
func credentialsError(err error) *CredentialsError {
	var se *v4.SigningError
	if errors.As(err, &se) && strings.Contains(se.Error(), "retrieve credentials") {
		return &CredentialsError{Err: err}
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch",
			"InvalidSignatureException", "ExpiredToken", "ExpiredTokenException", "IncompleteSignature",
			"AuthFailure", "AccessDenied", "AccessDeniedException":
			return &CredentialsError{Rejected: true, Code: apiErr.ErrorCode(), Err: err}
		}
	}
	return nil
}

// isThrottle reports whether AWS throttled the request.
func isThrottle(err error) bool {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	switch apiErr.ErrorCode() {
	case "ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded":
		return true
	}
	return false
}
