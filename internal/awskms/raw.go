package awskms

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go"

	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

// Raw sends signed requests to a service whose SDK package would cost more
// to build than all the rest of kmsrotor for the one or two calls made of it
// (EC2's DescribeRegions, CloudFormation's stack listing, Security Hub's
// BatchImportFindings). It signs with SigV4, resolves the endpoint as the
// SDK does (AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL, then the
// partition's default), retries with the configuration's retryer, and paces
// and counts each attempt like the SDK clients of a scan.
//
// Its errors are *APIError when AWS answered with an error, which the
// package's error classification and the SDK's retryer both understand.
type Raw struct {
	cfg aws.Config
	// service is the signing name (ec2, cloudformation, securityhub); sdkID
	// the service's SDK ID for endpoint overrides (EC2, CloudFormation,
	// SecurityHub).
	service, sdkID string
	region         string
	account        string
	endpoint       string
	pace           *pacer
	calls          *counter
	signer         *v4.Signer
}

// NewRaw returns a client for service (the SigV4 signing name, such as
// "cloudformation") with SDK ID sdkID (such as "CloudFormation") in region.
// Its requests are neither paced nor counted; clients made by a Session are.
func NewRaw(cfg aws.Config, service, sdkID, region string) *Raw {
	return newRaw(cfg, service, sdkID, region, "", nil, nil)
}

func newRaw(cfg aws.Config, service, sdkID, region, account string, p *pacer, c *counter) *Raw {
	return &Raw{cfg: cfg, service: service, sdkID: sdkID, region: region, account: account,
		pace: p, calls: c, signer: v4.NewSigner()}
}

// APIError is an error answer of a service called through Raw.
type APIError struct {
	Code       string
	Message    string
	StatusCode int
	RequestID  string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("api error %s: %s", e.Code, e.Message)
}

// ErrorCode, ErrorMessage and ErrorFault make APIError a smithy.APIError.
func (e *APIError) ErrorCode() string    { return e.Code }
func (e *APIError) ErrorMessage() string { return e.Message }

// ErrorFault says whose fault the error is: 5xx are the server's.
func (e *APIError) ErrorFault() smithy.ErrorFault {
	if e.StatusCode >= 500 {
		return smithy.FaultServer
	}
	return smithy.FaultClient
}

// HTTPStatusCode lets the SDK's retryer retry 5xx answers.
func (e *APIError) HTTPStatusCode() int { return e.StatusCode }

// Endpoint is the URL requests go to.
func (r *Raw) Endpoint(ctx context.Context) string {
	if r.endpoint == "" {
		r.endpoint = resolveEndpoint(ctx, r.cfg, r.service, r.sdkID, r.region)
	}
	return r.endpoint
}

// serviceEndpointSource is what the SDK's environment and shared-config
// sources offer for AWS_ENDPOINT_URL_<SERVICE> and a profile's services
// section.
type serviceEndpointSource interface {
	GetServiceBaseEndpoint(ctx context.Context, sdkID string) (string, bool, error)
}

func resolveEndpoint(ctx context.Context, cfg aws.Config, service, sdkID, region string) string {
	for _, src := range cfg.ConfigSources {
		if s, ok := src.(serviceEndpointSource); ok {
			if u, found, err := s.GetServiceBaseEndpoint(ctx, sdkID); err == nil && found && u != "" {
				return strings.TrimRight(u, "/")
			}
		}
	}
	if cfg.BaseEndpoint != nil && *cfg.BaseEndpoint != "" {
		return strings.TrimRight(*cfg.BaseEndpoint, "/")
	}
	return "https://" + service + "." + region + "." + kmskey.DNSSuffix(kmskey.PartitionOf(region))
}

// Query calls action of an AWS Query protocol service (EC2, CloudFormation,
// STS) with params and decodes the XML answer into out. version is the
// service's API version (2016-11-15 for EC2, 2010-05-15 for CloudFormation).
func (r *Raw) Query(ctx context.Context, action, version string, params url.Values, out any) error {
	form := url.Values{}
	for k, v := range params {
		form[k] = v
	}
	form.Set("Action", action)
	form.Set("Version", version)
	body := []byte(form.Encode())
	resp, err := r.do(ctx, action, http.MethodPost, "/", "application/x-www-form-urlencoded; charset=utf-8", nil, body)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := xml.Unmarshal(resp, out); err != nil {
		return fmt.Errorf("%s %s: decode response: %w", r.service, action, err)
	}
	return nil
}

// RESTJSON calls a REST-JSON operation (Security Hub's): method and path,
// in encoded as the JSON body, the answer decoded into out. op names the
// operation for pacing and counting.
func (r *Raw) RESTJSON(ctx context.Context, op, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: encode request: %w", r.service, op, err)
		}
		body = b
	}
	resp, err := r.do(ctx, op, method, path, "application/json", nil, body)
	if err != nil {
		return err
	}
	if out == nil || len(bytes.TrimSpace(resp)) == 0 {
		return nil
	}
	if err := json.Unmarshal(resp, out); err != nil {
		return fmt.Errorf("%s %s: decode response: %w", r.service, op, err)
	}
	return nil
}

// do sends one request with retries and returns the body of a 2xx answer.
func (r *Raw) do(ctx context.Context, op, method, path, contentType string, header http.Header, body []byte) ([]byte, error) {
	retryer := aws.Retryer(nil)
	if r.cfg.Retryer != nil {
		retryer = r.cfg.Retryer()
	}
	attempts := 1
	if retryer != nil {
		attempts = retryer.MaxAttempts()
	}
	var lastErr error
	for attempt := 1; ; attempt++ {
		b, err := r.attempt(ctx, op, method, path, contentType, header, body)
		if err == nil {
			return b, nil
		}
		lastErr = err
		if ctx.Err() != nil || attempt >= attempts || retryer == nil || !retryer.IsErrorRetryable(err) {
			break
		}
		delay, derr := retryer.RetryDelay(attempt, err)
		if derr != nil {
			break
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%s %s: %w", r.service, op, ctx.Err())
		}
	}
	return nil, fmt.Errorf("%s %s: %w", r.service, op, lastErr)
}

// maxResponse bounds what is read of an answer; the calls made through Raw
// answer with a few kilobytes per page.
const maxResponse = 16 << 20

func (r *Raw) attempt(ctx context.Context, op, method, path, contentType string, header http.Header, body []byte) ([]byte, error) {
	if err := r.pace.wait(ctx, r.account, r.region, op); err != nil {
		return nil, err
	}
	if r.calls != nil {
		r.calls.add(op)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.Endpoint(ctx)+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", contentType)
	if r.cfg.Credentials == nil {
		return nil, errors.New("no credentials provider configured")
	}
	creds, err := r.cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("retrieve credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	if err := r.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), r.service, r.region, time.Now().UTC()); err != nil {
		return nil, fmt.Errorf("sign request: %w", err)
	}
	client := r.cfg.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if d := resp.Header.Get("Date"); d != "" && r.calls != nil {
		r.calls.sawDate(d)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 == 2 {
		return b, nil
	}
	apiErr := parseError(resp, b)
	if isThrottle(apiErr) {
		r.pace.throttled(r.account, r.region, op)
	}
	return nil, apiErr
}

// parseError reads the error of a Query (ErrorResponse or EC2's Response),
// JSON or REST-JSON answer.
func parseError(resp *http.Response, b []byte) *APIError {
	e := &APIError{StatusCode: resp.StatusCode, RequestID: resp.Header.Get("X-Amzn-Requestid")}
	var q struct {
		Error     struct{ Code, Message string }
		Errors    []struct{ Code, Message string } `xml:"Errors>Error"`
		RequestID string                           `xml:"RequestId"`
	}
	if xml.Unmarshal(b, &q) == nil {
		switch {
		case q.Error.Code != "":
			e.Code, e.Message = q.Error.Code, q.Error.Message
		case len(q.Errors) > 0:
			e.Code, e.Message = q.Errors[0].Code, q.Errors[0].Message
		}
		if e.RequestID == "" {
			e.RequestID = q.RequestID
		}
	}
	if e.Code == "" {
		var j struct {
			Type     string `json:"__type"`
			Code     string `json:"code"`
			Message  string `json:"message"`
			MessageU string `json:"Message"`
		}
		if json.Unmarshal(b, &j) == nil {
			e.Code = j.Code
			if e.Code == "" {
				e.Code = j.Type
			}
			e.Message = j.Message
			if e.Message == "" {
				e.Message = j.MessageU
			}
		}
		if t := resp.Header.Get("X-Amzn-Errortype"); t != "" {
			e.Code = t
		}
		// Codes may carry a namespace (aws.protocols#X, com.amazon…#X) and
		// a suffix after a colon.
		if i := strings.LastIndexByte(e.Code, '#'); i >= 0 {
			e.Code = e.Code[i+1:]
		}
		if i := strings.IndexByte(e.Code, ':'); i >= 0 {
			e.Code = e.Code[:i]
		}
	}
	if e.Code == "" {
		e.Code = fmt.Sprintf("HTTP%d", resp.StatusCode)
		e.Message = strings.TrimSpace(string(b[:min(len(b), 200)]))
	}
	return e
}
