package kmsemu

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The default credentials belong to the management account of generated and
// demo estates.
const (
	DefaultAccessKeyID     = "test"
	DefaultSecretAccessKey = "test"
	DefaultAccount         = "123456789012"
	DefaultRegion          = "us-east-1"
)

// Options configures a Server.
type Options struct {
	// Estate is the emulated world. nil: an empty estate holding only the
	// default account, with the Regions AWS enables by default.
	Estate *Estate
	Clock  *Clock // nil: a real-time clock
	// Latency is added to every request, plus a uniform random Jitter.
	Latency time.Duration
	Jitter  time.Duration
	// QuotaScale scales AWS's request quotas (kms-api.md §8): 0 turns quotas
	// off, 1 is AWS's values.
	QuotaScale float64
	Faults     Faults
	// OnDemandLimit is RotateKeyOnDemand's per-key limit (default 25).
	OnDemandLimit int
	// OnDemandDelay and ReplicaDelay are how long, on the emulator clock, an
	// on-demand rotation stays in progress and a new replica stays Creating
	// (default 2s each; negative: done at the next request).
	OnDemandDelay time.Duration
	ReplicaDelay  time.Duration
	// StateFile, when set, persists the state across restarts: New loads it
	// instead of Estate when it exists, and Close saves it (as does a
	// background save every StateSaveInterval).
	StateFile string
	// StateSaveInterval is how often the state is saved (default 30s).
	StateSaveInterval time.Duration
	// Seed seeds the random source of faults and jitter, so that a run can be
	// repeated; 0 means 1.
	Seed uint64
	// ShutdownGrace is how long Running.Close lets requests in flight
	// finish before it closes their connections. 0 closes them at once,
	// which is what a test wants; the kmsrotor emulator command waits a few
	// seconds so that a client's last call is answered.
	ShutdownGrace time.Duration
}

// Faults injects failures per operation. The key is an operation name
// (DescribeKey, AssumeRole, ListAccounts, ...); the key "" applies to every
// KMS operation that has no entry of its own. Values are rates from 0 to 1.
type Faults struct {
	Throttle map[string]float64 // rate of ThrottlingException
	Server   map[string]float64 // rate of HTTP 500 KMSInternalException
	Reset    map[string]float64 // rate of connection resets
	Hang     map[string]float64 // rate of requests that never answer (until the client gives up)
}

// maxBodyBytes bounds a request body. KMS's largest input here is a key
// policy (131,072 characters), so 1 MiB leaves room for every valid request.
const maxBodyBytes = 1 << 20

// adminPrefix is the path of the admin API, which no AWS client uses: the
// emulated services' requests are POSTs to "/" (Security Hub's to /findings…).
const adminPrefix = "/_kmsemu/"

// Server is the emulator: an http.Handler serving KMS, STS, Organizations,
// EC2 DescribeRegions, CloudFormation's stack listings and Security Hub's
// findings on one listener, plus an admin path under /_kmsemu/.
type Server struct {
	clock  *Clock
	opts   Options
	estate *Estate // without keys once loaded: the KMS service owns them

	accounts map[string]*accountInfo
	ids      *identities
	kms      *kmsService
	quotas   *quotas // nil: off
	faults   faults
	deny     []DenyRule
	orgs     map[string]*orgTree // by partition
	cfn      *cloudFormation
	hub      *securityHub
	rng      *lockedRand
	log      *requestLog
	sigKeys  signingKeys
	hangMax  time.Duration

	reqPrefix string
	reqSeq    atomic.Uint64
	tokenSalt string // makes Organizations NextTokens opaque per server

	persist   *persister // nil without a StateFile
	closeOnce sync.Once
	closeErr  error
}

// accountInfo is an account as the frame needs it: its enabled Regions and
// when it joined the organization.
type accountInfo struct {
	Account
	enabled   map[string]bool
	partition string
	joined    time.Time
}

// New builds a Server from its options.
func New(opts Options) (*Server, error) {
	if opts.Clock == nil {
		opts.Clock = NewClock()
	}
	if opts.OnDemandLimit == 0 {
		opts.OnDemandLimit = 25
	}
	if opts.OnDemandLimit < 0 {
		return nil, fmt.Errorf("on-demand rotation limit %d is negative", opts.OnDemandLimit)
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	if opts.Latency < 0 || opts.Jitter < 0 {
		return nil, errors.New("latency and jitter must not be negative")
	}
	if opts.QuotaScale < 0 {
		return nil, fmt.Errorf("quota scale %g is negative", opts.QuotaScale)
	}
	fs, err := newFaults(opts.Faults)
	if err != nil {
		return nil, err
	}
	s := &Server{
		clock:     opts.Clock,
		opts:      opts,
		faults:    fs,
		rng:       newLockedRand(opts.Seed),
		log:       newRequestLog(requestLogSize),
		hangMax:   30 * time.Second,
		reqPrefix: randomHex(8),
		tokenSalt: randomHex(4),
	}
	if opts.QuotaScale > 0 {
		s.quotas = newQuotas(opts.QuotaScale)
	}
	s.kms = newKMSService(s.clock, opts.OnDemandLimit)
	if opts.OnDemandDelay != 0 || opts.ReplicaDelay != 0 {
		s.kms.setDelays(delayOr(opts.OnDemandDelay, defaultOnDemandDelay), delayOr(opts.ReplicaDelay, defaultReplicaDelay))
	}

	restored := false
	if opts.StateFile != "" {
		s.persist = &persister{path: opts.StateFile}
		st, err := s.persist.load()
		if err != nil {
			return nil, err
		}
		if st != nil {
			if err := s.restoreState(st); err != nil {
				return nil, fmt.Errorf("restore state file %s: %w", opts.StateFile, err)
			}
			restored = true
		}
	}
	if !restored {
		e := opts.Estate
		if e == nil {
			e = &Estate{}
		}
		if err := validateEstate(e); err != nil {
			return nil, err
		}
		if err := s.kms.load(e); err != nil {
			return nil, fmt.Errorf("load keys: %w", err)
		}
		s.setEstate(e)
	}
	if s.persist != nil {
		s.persist.start(s, opts.StateSaveInterval)
	}
	return s, nil
}

// setEstate indexes the estate's accounts, credentials and deny rules. The
// estate is kept without keys: after load the KMS service owns them.
func (s *Server) setEstate(e *Estate) {
	kept := &Estate{Organization: e.Organization, PartitionOrganizations: e.PartitionOrganizations, Deny: e.Deny}
	s.accounts = make(map[string]*accountInfo, len(e.Accounts)+1)
	for i, a := range e.Accounts {
		a.Stacks = typedStacks(&a)
		a.Keys = nil
		kept.Accounts = append(kept.Accounts, a)
		info := &accountInfo{Account: a, enabled: accountRegionSet(&a), partition: partitionOrAWS(a.Partition)}
		// JoinedTimestamp is not in the estate: a fixed, plausible date per
		// account keeps ListAccounts stable across calls and restarts.
		info.joined = time.Date(2019, 3, 1, 9, 0, 0, 0, time.UTC).Add(time.Duration(i) * 24 * time.Hour)
		s.accounts[a.ID] = info
	}
	s.estate = kept
	s.ids = newIdentities(kept)
	if _, ok := s.accounts[DefaultAccount]; !ok {
		// The default credentials act in the default account even when the
		// estate does not describe it; Organizations does not list it.
		s.accounts[DefaultAccount] = &accountInfo{
			Account:   Account{ID: DefaultAccount, Name: "default"},
			enabled:   regionSet(nil),
			partition: partitionAWS,
		}
	}
	s.deny = e.Deny
	s.orgs = newOrgTrees(kept, s.accounts)
	s.cfn = newCloudFormation(kept)
	s.hub = newSecurityHub()
}

// Clock returns the server's clock.
func (s *Server) Clock() *Clock { return s.clock }

// Close saves the state file, if any, and stops its background saving. The
// Server still answers requests afterwards, without persisting them.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		if s.persist != nil {
			s.closeErr = s.persist.stop(s)
		}
	})
	return s.closeErr
}

// reqInfo is what the frame learns about one request while routing it, and
// what the request log records.
type reqInfo struct {
	service string // kms, sts, organizations, ec2, cloudformation, securityhub
	op      string
	account string
	region  string
	status  int
	code    string
	id      string
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, adminPrefix) {
		s.serveAdmin(w, r)
		return
	}
	ri := &reqInfo{id: s.requestID()}
	// AWS's Date header is its clock; ours is the emulated one, so that a
	// client that reads AWS's time (the scanner does) sees what tests set.
	w.Header().Set("Date", s.clock.Now().UTC().Format(http.TimeFormat))
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				s.record(ri)
				panic(v)
			}
			// A bug in a service must not kill the connection silently: the
			// client sees an AWS-shaped 500 and the message names the bug.
			s.writeError(w, ri, &apiError{Status: 500, Code: internalCode(ri.service),
				Message: fmt.Sprintf("emulator bug: %v", v)})
		}
		s.record(ri)
	}()
	if !s.sleep(r.Context()) {
		ri.code = "ClientClosed"
		abort()
	}
	s.serveAWS(w, r, ri)
}

// serveAWS routes, authenticates and checks one AWS request, then hands it
// to its service.
func (s *Server) serveAWS(w http.ResponseWriter, r *http.Request, ri *reqInfo) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		ri.code = "ClientClosed"
		abort()
	}

	var form map[string][]string
	target := r.Header.Get("X-Amz-Target")
	if target != "" {
		prefix, op, _ := strings.Cut(target, ".")
		ri.op = op
		switch prefix {
		case "TrentService":
			ri.service = "kms"
		case "AWSOrganizationsV20161128":
			ri.service = "organizations"
		default:
			// Not a service of the emulator: an awsJson1.1 error (the
			// default shape of writeError), logged under the whole target.
			ri.op = target
			s.writeError(w, ri, &apiError{Status: 400, Code: "UnknownOperationException"})
			return
		}
	} else if op := securityHubRoute(r); op != "" {
		ri.service, ri.op = "securityhub", op
	} else {
		ri.service, form = s.routeQuery(r, body)
		ri.op = first(form["Action"])
		if ri.service == "" {
			// Neither a JSON target nor a query request of a known service:
			// AWS's front door answers UnknownOperationException.
			s.writeError(w, ri, &apiError{Status: 400, Code: "UnknownOperationException"})
			return
		}
	}
	if len(body) > maxBodyBytes {
		// UNCONFIRMED: AWS's status and code for an oversized body; 413 is
		// what its front end documents for payloads over the limit.
		s.writeError(w, ri, &apiError{Status: 413, Code: "RequestEntityTooLargeException",
			Message: fmt.Sprintf("Request body exceeds the limit of %d bytes", maxBodyBytes)})
		return
	}

	id, aerr := s.authenticate(r, ri, body)
	if aerr != nil {
		s.writeError(w, ri, aerr)
		return
	}
	ri.account = id.Account

	if ri.service == "sts" || ri.service == "ec2" || ri.service == "cloudformation" {
		if ri.op == "" {
			s.writeError(w, ri, &apiError{Status: 400, Code: "MissingAction",
				Message: "Missing Action"})
			return
		}
	}

	if aerr := s.quotaCheck(ri, body); aerr != nil {
		s.writeError(w, ri, aerr)
		return
	}
	if s.injectFault(w, r, ri) {
		return
	}

	c := &call{
		Service:     ri.service,
		Op:          ri.op,
		Account:     ri.account,
		Region:      ri.region,
		Principal:   id.Principal,
		Role:        id.Role,
		AccessKeyID: id.AccessKeyID,
		Body:        body,
		Form:        form,
		Now:         s.clock.Now(),
		HTTP:        r,
	}
	if aerr := s.denied(c); aerr != nil {
		s.writeError(w, ri, aerr)
		return
	}

	switch ri.service {
	case "kms":
		resp, aerr := s.kms.handle(c)
		if aerr != nil {
			s.writeError(w, ri, aerr)
			return
		}
		s.writeJSON(w, ri, resp)
	case "organizations":
		s.serveOrganizations(w, ri, c)
	case "sts":
		s.serveSTS(w, ri, c, id)
	case "ec2":
		s.serveEC2(w, ri, c)
	case "cloudformation":
		s.serveCloudFormation(w, ri, c)
	case "securityhub":
		s.serveSecurityHub(w, ri, c)
	}
}

// routeQuery finds the service of a query-protocol request (STS, EC2): the
// service of the SigV4 credential scope, or, without a usable signature, the
// API version the body names. It returns "" for anything else.
func (s *Server) routeQuery(r *http.Request, body []byte) (string, map[string][]string) {
	form, err := parseQueryForm(r, body)
	if err != nil {
		return "", nil
	}
	if a, err := parseAuthorization(r.Header.Get("Authorization")); err == nil {
		switch a.Service {
		case "sts", "ec2", "cloudformation":
			return a.Service, form
		}
	}
	switch first(form["Version"]) {
	case stsVersion:
		return "sts", form
	case ec2Version:
		return "ec2", form
	case cfnVersion:
		return "cloudformation", form
	}
	return "", form
}

// writeJSON answers an awsJson1.1 success: nil is an empty body, []byte and
// json.RawMessage are written as they are, anything else is marshalled.
func (s *Server) writeJSON(w http.ResponseWriter, ri *reqInfo, resp any) {
	var data []byte
	switch v := resp.(type) {
	case nil:
	case []byte:
		data = v
	case json.RawMessage:
		data = v
	default:
		var err error
		data, err = json.Marshal(v)
		if err != nil {
			s.writeError(w, ri, &apiError{Status: 500, Code: internalCode(ri.service),
				Message: "emulator bug: marshal response: " + err.Error()})
			return
		}
	}
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["X-Amzn-Requestid"] = []string{ri.id}
	h["Content-Length"] = []string{strconv.Itoa(len(data))}
	ri.status = http.StatusOK
	w.WriteHeader(http.StatusOK)
	w.Write(data)
}

var (
	jsonContentType = []string{"application/x-amz-json-1.1"}
	xmlContentType  = []string{"text/xml"}
)

// writeError answers an error in the shape of the request's service:
// awsJson1.1 {"__type","message"} for KMS (Organizations capitalises
// Message, as its model does), the query XML shapes for STS and EC2.
func (s *Server) writeError(w http.ResponseWriter, ri *reqInfo, e *apiError) {
	ri.status, ri.code = e.Status, e.Code
	h := w.Header()
	h["X-Amzn-Requestid"] = []string{ri.id}
	switch ri.service {
	case "sts":
		h["Content-Type"] = xmlContentType
		w.WriteHeader(e.Status)
		w.Write(stsErrorXML(e, ri.id))
	case "ec2":
		h["Content-Type"] = xmlContentType
		w.WriteHeader(e.Status)
		w.Write(ec2ErrorXML(e, ri.id))
	case "cloudformation":
		h["Content-Type"] = xmlContentType
		w.WriteHeader(e.Status)
		w.Write(queryErrorXML(cfnNamespace, e, ri.id))
	case "securityhub":
		writeRESTJSONError(w, e)
	default:
		h["Content-Type"] = jsonContentType
		w.WriteHeader(e.Status)
		msgKey := "message"
		if ri.service == "organizations" {
			msgKey = "Message"
		}
		body := map[string]string{"__type": e.Code}
		if e.Message != "" {
			body[msgKey] = e.Message
		}
		data, _ := json.Marshal(body)
		w.Write(data)
	}
}

// internalCode is a service's error code for its own failure.
func internalCode(service string) string {
	switch service {
	case "sts":
		return "InternalFailure"
	case "ec2":
		return "InternalError"
	case "organizations":
		return "ServiceException"
	case "cloudformation":
		return "InternalFailure"
	case "securityhub":
		return "InternalException"
	}
	return "KMSInternalException"
}

// requestID returns a fresh x-amzn-RequestId in the UUID layout AWS uses. A
// random prefix and a counter make it unique without a syscall per request.
func (s *Server) requestID() string {
	n := s.reqSeq.Add(1)
	var b [36]byte
	copy(b[:], s.reqPrefix[:8])
	b[8] = '-'
	copy(b[9:], s.reqPrefix[8:12])
	b[13] = '-'
	copy(b[14:], s.reqPrefix[12:16])
	b[18] = '-'
	var c [8]byte
	binary.BigEndian.PutUint64(c[:], n)
	hex.Encode(b[19:23], c[0:2])
	b[23] = '-'
	hex.Encode(b[24:36], c[2:8])
	return string(b[:])
}

// sleep waits the configured latency and jitter; false if the client gave up.
func (s *Server) sleep(ctx context.Context) bool {
	d := s.opts.Latency
	if s.opts.Jitter > 0 {
		d += time.Duration(s.rng.Float64() * float64(s.opts.Jitter))
	}
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// abort drops the connection without an answer: the client is gone, or the
// emulator is closing. Returning without writing would send an empty 200.
func abort() { panic(http.ErrAbortHandler) }

func randomHex(nbytes int) string {
	b := make([]byte, nbytes)
	crand.Read(b)
	return hex.EncodeToString(b)
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// Running is a Server listening on a TCP address.
type Running struct {
	URL    string // http://127.0.0.1:PORT
	Server *Server

	http     *http.Server
	root     context.Context
	cancel   context.CancelFunc
	done     chan struct{}
	serveErr error
}

// Start serves a new Server on addr ("127.0.0.1:0" picks a free port; ""
// means that too).
func Start(opts Options, addr string) (*Running, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	s, err := New(opts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	// Start has no caller context. The requests' base context lives until
	// Close, which cancels it so that waiting requests (latency, injected
	// hangs) end at once while the others finish.
	root := context.Background()
	base, cancel := context.WithCancel(root)
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 30 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	run := &Running{
		URL:    "http://" + ln.Addr().String(),
		Server: s,
		http:   hs,
		root:   root,
		cancel: cancel,
		done:   make(chan struct{}),
	}
	go func() {
		if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			run.serveErr = err
		}
		close(run.done)
	}()
	return run, nil
}

// Close stops the listener, lets the requests in flight finish (for up to
// Options.ShutdownGrace), closes the connections and saves the state file.
func (r *Running) Close() error {
	r.cancel()
	var err error
	if g := r.Server.opts.ShutdownGrace; g > 0 {
		ctx, cancel := context.WithTimeout(r.root, g)
		err = r.http.Shutdown(ctx)
		cancel()
		if err != nil {
			err = r.http.Close()
		}
	} else {
		// net/http's Shutdown waits up to five seconds for a connection
		// that was opened but has sent no request yet; without a grace
		// there is nothing to wait for.
		err = r.http.Close()
	}
	<-r.done
	if r.serveErr != nil && err == nil {
		err = fmt.Errorf("serve: %w", r.serveErr)
	}
	if cerr := r.Server.Close(); cerr != nil && err == nil {
		err = cerr
	}
	return err
}

// Done is closed when the server stops serving: after Close, or when the
// listener fails (Err then says why).
func (r *Running) Done() <-chan struct{} { return r.done }

// Err is the listener's failure once Done is closed; nil after Close.
func (r *Running) Err() error {
	select {
	case <-r.done:
		return r.serveErr
	default:
		return nil
	}
}

// delayOr maps an Options delay to the service's: 0 keeps the default, a
// negative one completes at the next request.
func delayOr(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}
