package kmsemu

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"net/http"
	"net/textproto"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// SigV4 verification (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html):
// the frame recomputes the signature of every request from the secret it
// knows for the access key, exactly as the AWS SDKs and the AWS CLI build it.

const (
	sigAlgorithm  = "AWS4-HMAC-SHA256"
	amzDateLayout = "20060102T150405Z"
	// maxSkew is how far the signing time may be from the server's wall
	// clock. AWS compares with its real time; the emulated clock (which tests
	// move by days) is about key rotation, not about signatures.
	maxSkew = 15 * time.Minute
)

// authHeader is a parsed Authorization header.
type authHeader struct {
	AccessKeyID   string
	Date          string // yyyymmdd of the credential scope
	Region        string
	Service       string
	Scope         string // date/region/service/aws4_request
	SignedHeaders string
	Signature     string
}

// parseAuthorization parses "AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request,
// SignedHeaders=a;b, Signature=hex". The error text is IncompleteSignature's message.
func parseAuthorization(h string) (authHeader, error) {
	var a authHeader
	alg, rest, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || alg != sigAlgorithm {
		if alg == "" {
			alg = h
		}
		return a, errors.New("Unsupported AWS 'algorithm': '" + alg + "'")
	}
	var cred string
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			cred = v
		case "SignedHeaders":
			a.SignedHeaders = v
		case "Signature":
			a.Signature = v
		}
	}
	switch {
	case cred == "":
		return a, errors.New("Authorization header requires 'Credential' parameter. Authorization=" + h)
	case a.SignedHeaders == "":
		return a, errors.New("Authorization header requires 'SignedHeaders' parameter. Authorization=" + h)
	case a.Signature == "":
		return a, errors.New("Authorization header requires 'Signature' parameter. Authorization=" + h)
	}
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || parts[4] != "aws4_request" || parts[0] == "" || len(parts[1]) != 8 ||
		parts[2] == "" || parts[3] == "" {
		return a, errors.New("Credential should be scoped to a valid region. ")
	}
	a.AccessKeyID, a.Date, a.Region, a.Service = parts[0], parts[1], parts[2], parts[3]
	a.Scope = cred[len(parts[0])+1:]
	return a, nil
}

// identity is who an access key acts as.
type identity struct {
	AccessKeyID  string
	Secret       string
	SessionToken string // temporary credentials only
	Expires      time.Time
	Account      string
	Principal    string // caller ARN
	UserID       string // GetCallerIdentity UserId
	Role         string // assumed role name
}

// identities maps access key IDs to identities: the estate's long-term
// keys, the default key and the temporary keys AssumeRole hands out.
type identities struct {
	mu   sync.RWMutex
	keys map[string]*identity
	temp int // temporary keys added since the last prune
}

func newIdentities(e *Estate) *identities {
	ids := &identities{keys: map[string]*identity{}}
	for _, a := range e.Accounts {
		for _, c := range a.Credentials {
			p := c.Principal
			if p == "" {
				p = "arn:" + partitionOrAWS(a.Partition) + ":iam::" + a.ID + ":root"
			}
			ids.keys[c.AccessKeyID] = &identity{
				AccessKeyID: c.AccessKeyID,
				Secret:      c.SecretAccessKey,
				Account:     a.ID,
				Principal:   p,
				UserID:      userID(a.ID, p),
			}
		}
	}
	if _, ok := ids.keys[DefaultAccessKeyID]; !ok {
		ids.keys[DefaultAccessKeyID] = &identity{
			AccessKeyID: DefaultAccessKeyID,
			Secret:      DefaultSecretAccessKey,
			Account:     DefaultAccount,
			Principal:   "arn:aws:iam::" + DefaultAccount + ":root",
			UserID:      DefaultAccount,
		}
	}
	return ids
}

// userID is GetCallerIdentity's UserId: the account ID for the root user, a
// stable AIDA… ID for an IAM user.
func userID(account, principal string) string {
	if strings.HasSuffix(principal, ":root") {
		return account
	}
	return "AIDA" + stableID(principal, 17)
}

func (ids *identities) get(akid string) *identity {
	ids.mu.RLock()
	id := ids.keys[akid]
	ids.mu.RUnlock()
	return id
}

// add stores temporary credentials, dropping expired ones now and then so
// that a long run of AssumeRole calls does not grow the map without end.
func (ids *identities) add(id *identity, now time.Time) {
	ids.mu.Lock()
	defer ids.mu.Unlock()
	ids.keys[id.AccessKeyID] = id
	ids.temp++
	if ids.temp < 1000 {
		return
	}
	ids.temp = 0
	for k, v := range ids.keys {
		if !v.Expires.IsZero() && now.After(v.Expires) {
			delete(ids.keys, k)
		}
	}
}

// authenticate checks the request's signature and credentials, fills in the
// Region, and returns the caller.
func (s *Server) authenticate(r *http.Request, ri *reqInfo, body []byte) (*identity, *apiError) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, authError(ri.service, authMissing, "")
	}
	a, err := parseAuthorization(h)
	if err != nil {
		return nil, authError(ri.service, authIncomplete, err.Error())
	}
	ri.region = a.Region
	amzDate := r.Header.Get("X-Amz-Date")
	if amzDate == "" {
		return nil, authError(ri.service, authIncomplete,
			"Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization="+h)
	}
	signedAt, err := time.Parse(amzDateLayout, amzDate)
	if err != nil {
		return nil, authError(ri.service, authIncomplete, "Date must be in ISO-8601 'basic format'. Got '"+amzDate+"'. See http://en.wikipedia.org/wiki/ISO_8601")
	}
	if a.Service != ri.service {
		return nil, authError(ri.service, authBadScope,
			"Credential should be scoped to correct service: '"+ri.service+"'. ")
	}
	if amzDate[:8] != a.Date {
		return nil, authError(ri.service, authBadScope,
			"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '"+a.Date+"' != '"+amzDate[:8]+"', from '"+amzDate+"'.")
	}
	if !validRegionName(a.Region) {
		return nil, authError(ri.service, authBadScope, "Credential should be scoped to a valid region. ")
	}

	id := s.ids.get(a.AccessKeyID)
	if id == nil || s.accounts[id.Account] != nil && s.accounts[id.Account].partition != partitionOf(a.Region) {
		// Each partition has its own IAM: an access key is unknown outside
		// its account's partition.
		return nil, authError(ri.service, authUnknownKey, "")
	}
	token := r.Header.Get("X-Amz-Security-Token")
	if token != id.SessionToken {
		// A temporary key without its token, with another token, or a
		// long-term key sent with a token: AWS cannot find the credentials.
		return nil, authError(ri.service, authUnknownKey, "")
	}
	if !s.verifySignature(r, &a, amzDate, body, id.Secret) {
		return nil, authError(ri.service, authBadSignature, "")
	}
	// AWS compares the signing time with its own clock, which its Date
	// header tells clients (the SDK corrects its skew from it). Ours is the
	// emulated clock: while it reads real time the window is enforced as AWS
	// does; once a test has moved it, clients sign with real time, with the
	// emulated time they learnt from Date, or with a skew learnt before the
	// last move, and no window can be faithful, so none is enforced.
	now := time.Now()
	ref := now
	if s.clock.Moved() {
		ref = signedAt
	}
	if signedAt.Before(ref.Add(-maxSkew)) {
		return nil, authError(ri.service, authSkew, "Signature expired: "+amzDate+" is now earlier than "+
			ref.Add(-maxSkew).UTC().Format(amzDateLayout)+" ("+ref.UTC().Format(amzDateLayout)+" - 15 min.)")
	}
	if signedAt.After(ref.Add(maxSkew)) {
		return nil, authError(ri.service, authSkew, "Signature not yet current: "+amzDate+" is still later than "+
			ref.Add(maxSkew).UTC().Format(amzDateLayout)+" ("+ref.UTC().Format(amzDateLayout)+" + 15 min.)")
	}
	// Temporary credentials expire in real time, as the SDK's credential
	// cache (which refreshes them) measures it.
	if !id.Expires.IsZero() && now.After(id.Expires) {
		return nil, authError(ri.service, authExpired, "")
	}
	switch ri.service {
	case "organizations":
		// Organizations is served in its partition's home Region only; the
		// SDK signs for it whatever Region it is configured with, but a
		// request signed for another Region does not match the endpoint's.
		// UNCONFIRMED: AWS's exact answer; the scope error is taken.
		if acct := s.accounts[id.Account]; acct != nil && a.Region != partitions[acct.partition].home {
			return nil, authError(ri.service, authBadScope, "Credential should be scoped to a valid region. ")
		}
	case "kms", "ec2", "cloudformation", "securityhub":
		// UNCONFIRMED: AWS's answer to a request for a Region the account has
		// not enabled (an opt-in Region); KMS is chosen to say it does not
		// know the credentials there, EC2 to fail authentication, as both do
		// for credentials they cannot validate.
		if acct := s.accounts[id.Account]; acct == nil || !acct.enabled[a.Region] {
			return nil, authError(ri.service, authRegion, "")
		}
	}
	return id, nil
}

type authKind int

const (
	authMissing authKind = iota + 1
	authIncomplete
	authBadScope
	authUnknownKey
	authBadSignature
	authSkew
	authExpired
	authRegion
)

const (
	msgBadSignature = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgInvalidToken = "The security token included in the request is invalid."
	msgExpiredToken = "The security token included in the request is expired"
	msgEC2Auth      = "AWS was not able to validate the provided access credentials"
)

// authError is the service's answer to an authentication failure: the JSON
// services (KMS, Organizations) and STS and EC2 each name them differently.
func authError(service string, kind authKind, msg string) *apiError {
	switch service {
	case "securityhub":
		// REST-JSON services answer the JSON services' codes with 403.
		e := authError("kms", kind, msg)
		e.Status = http.StatusForbidden
		return e
	case "sts", "cloudformation":
		switch kind {
		case authMissing:
			return &apiError{Status: 403, Code: "MissingAuthenticationToken", Message: "Request is missing Authentication Token"}
		case authIncomplete:
			return &apiError{Status: 400, Code: "IncompleteSignature", Message: msg}
		case authUnknownKey, authRegion:
			return &apiError{Status: 403, Code: "InvalidClientTokenId", Message: msgInvalidToken}
		case authExpired:
			return &apiError{Status: 400, Code: "ExpiredToken", Message: msgExpiredToken}
		case authBadSignature:
			msg = msgBadSignature
		}
		return &apiError{Status: 403, Code: "SignatureDoesNotMatch", Message: msg}
	case "ec2":
		switch kind {
		case authIncomplete:
			return &apiError{Status: 400, Code: "IncompleteSignature", Message: msg}
		case authSkew:
			return &apiError{Status: 400, Code: "RequestExpired", Message: msg}
		}
		return &apiError{Status: 401, Code: "AuthFailure", Message: msgEC2Auth}
	}
	switch kind {
	case authMissing:
		return &apiError{Status: 400, Code: "MissingAuthenticationTokenException", Message: "Missing Authentication Token"}
	case authIncomplete:
		return &apiError{Status: 400, Code: "IncompleteSignatureException", Message: msg}
	case authUnknownKey, authRegion:
		return &apiError{Status: 400, Code: "UnrecognizedClientException", Message: msgInvalidToken}
	case authExpired:
		return &apiError{Status: 400, Code: "ExpiredTokenException", Message: msgExpiredToken}
	case authBadSignature:
		msg = msgBadSignature
	}
	return &apiError{Status: 400, Code: "InvalidSignatureException", Message: msg}
}

// verifySignature recomputes the request's SigV4 signature with secret.
func (s *Server) verifySignature(r *http.Request, a *authHeader, amzDate string, body []byte, secret string) bool {
	want, err := hex.DecodeString(a.Signature)
	if err != nil || len(want) != sha256.Size {
		return false
	}
	canon := canonicalRequest(r, a.SignedHeaders, payloadHash(r, body))
	sum := sha256.Sum256(canon)

	var sts strings.Builder
	sts.Grow(len(sigAlgorithm) + len(amzDate) + len(a.Scope) + 3 + 2*sha256.Size)
	sts.WriteString(sigAlgorithm)
	sts.WriteByte('\n')
	sts.WriteString(amzDate)
	sts.WriteByte('\n')
	sts.WriteString(a.Scope)
	sts.WriteByte('\n')
	var hexSum [2 * sha256.Size]byte
	hex.Encode(hexSum[:], sum[:])
	sts.Write(hexSum[:])

	k := s.sigKeys.get(secret, a)
	mac, _ := k.macs.Get().(hash.Hash)
	if mac == nil {
		mac = hmac.New(sha256.New, k.key)
	}
	mac.Reset()
	mac.Write([]byte(sts.String()))
	var got [sha256.Size]byte
	ok := hmac.Equal(mac.Sum(got[:0]), want)
	k.macs.Put(mac)
	return ok
}

// payloadHash is the hex SHA-256 of the body, or the X-Amz-Content-Sha256
// value where a client declares the payload unsigned.
func payloadHash(r *http.Request, body []byte) string {
	if v := r.Header.Get("X-Amz-Content-Sha256"); v == "UNSIGNED-PAYLOAD" {
		return v
	}
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// canonicalRequest builds the SigV4 canonical request of r for the headers
// the client says it signed.
func canonicalRequest(r *http.Request, signedHeaders, payloadHash string) []byte {
	b := make([]byte, 0, 512)
	b = append(b, r.Method...)
	b = append(b, '\n')
	b = appendCanonicalURI(b, r.URL)
	b = append(b, '\n')
	b = appendCanonicalQuery(b, r.URL.RawQuery)
	b = append(b, '\n')
	for rest := signedHeaders; rest != ""; {
		var name string
		name, rest, _ = strings.Cut(rest, ";")
		b = append(b, name...)
		b = append(b, ':')
		switch name {
		case "host":
			b = appendHeaderValue(b, r.Host)
		case "content-length":
			if v, ok := r.Header["Content-Length"]; ok {
				b = appendHeaderValues(b, v)
			} else {
				b = strconv.AppendInt(b, r.ContentLength, 10)
			}
		default:
			b = appendHeaderValues(b, r.Header[textproto.CanonicalMIMEHeaderKey(name)])
		}
		b = append(b, '\n')
	}
	b = append(b, '\n')
	b = append(b, signedHeaders...)
	b = append(b, '\n')
	b = append(b, payloadHash...)
	return b
}

func appendHeaderValues(b []byte, vs []string) []byte {
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendHeaderValue(b, v)
	}
	return b
}

// appendHeaderValue appends v trimmed, with runs of spaces collapsed to one.
func appendHeaderValue(b []byte, v string) []byte {
	v = strings.TrimSpace(v)
	space := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b = append(b, c)
	}
	return b
}

// appendCanonicalURI appends the path URI-encoded once more, as every
// service but S3 expects.
func appendCanonicalURI(b []byte, u *url.URL) []byte {
	p := u.EscapedPath()
	if p == "" || p == "/" {
		return append(b, '/')
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '/' || unreserved(c) {
			b = append(b, c)
			continue
		}
		b = append(b, '%', upperHex[c>>4], upperHex[c&15])
	}
	return b
}

// appendCanonicalQuery appends the query parameters encoded, then sorted.
func appendCanonicalQuery(b []byte, raw string) []byte {
	if raw == "" {
		return b
	}
	q, _ := url.ParseQuery(raw)
	type kv struct{ k, v string }
	var params []kv
	for k, vs := range q {
		ek := sigEscape(k)
		for _, v := range vs {
			params = append(params, kv{ek, sigEscape(v)})
		}
	}
	sort.Slice(params, func(i, j int) bool {
		if params[i].k != params[j].k {
			return params[i].k < params[j].k
		}
		return params[i].v < params[j].v
	})
	for i, p := range params {
		if i > 0 {
			b = append(b, '&')
		}
		b = append(b, p.k...)
		b = append(b, '=')
		b = append(b, p.v...)
	}
	return b
}

const upperHex = "0123456789ABCDEF"

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}

// sigEscape percent-encodes everything outside RFC 3986's unreserved set.
func sigEscape(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			b = append(b, c)
		} else {
			b = append(b, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return string(b)
}

// signingKeys caches derived signing keys per (secret, date, Region,
// service): four HMACs saved on every request of a busy client.
type signingKeys struct {
	m sync.Map // secret + "\x00" + scope → *signingKey
	n atomic.Int64
}

// signingKey is a derived key and a pool of HMACs keyed with it, which
// saves setting up the HMAC on every request.
type signingKey struct {
	key  []byte
	macs sync.Pool // of hash.Hash
}

func (c *signingKeys) get(secret string, a *authHeader) *signingKey {
	k := secret + "\x00" + a.Scope
	if v, ok := c.m.Load(k); ok {
		return v.(*signingKey)
	}
	key := &signingKey{key: deriveSigningKey(secret, a.Date, a.Region, a.Service)}
	if c.n.Add(1) > 10000 {
		// Many secrets (AssumeRole hands out one per session) or dates:
		// start afresh rather than grow without bound.
		c.m.Clear()
		c.n.Store(1)
	}
	c.m.Store(k, key)
	return key
}

func deriveSigningKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, "aws4_request")
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// stableID derives n upper-case alphanumerics from s, for IDs (AIDA…,
// AROA…) that must stay the same for the same name.
func stableID(s string, n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	sum := sha256.Sum256([]byte(s))
	out := make([]byte, n)
	for i := range out {
		out[i] = alphabet[sum[i%len(sum)]%32]
	}
	return string(out)
}
