package kmsemu

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// faults is Faults checked and ready for use on every request.
type faults struct {
	throttle, server, reset, hang map[string]float64
	any                           bool
}

func newFaults(f Faults) (faults, error) {
	out := faults{throttle: f.Throttle, server: f.Server, reset: f.Reset, hang: f.Hang}
	for kind, m := range map[string]map[string]float64{"throttle": f.Throttle, "5xx": f.Server, "reset": f.Reset, "hang": f.Hang} {
		for op, r := range m {
			if !(r >= 0 && r <= 1) {
				return faults{}, fmt.Errorf("fault %s rate %g for %q is outside 0 to 1", kind, r, op)
			}
			if r > 0 {
				out.any = true
			}
		}
	}
	return out, nil
}

// rate is the fault rate of an operation: its own entry, or for KMS
// operations the "" entry.
func (f faults) rate(m map[string]float64, service, op string) float64 {
	if r, ok := m[op]; ok {
		return r
	}
	if service == "kms" {
		return m[""]
	}
	return 0
}

// ParseFaults reads a fault spec: comma-separated kind[:Operation]=rate with
// kind throttle, 5xx, reset or hang and rate from 0 to 1, e.g.
// "throttle=0.1,5xx=0.01,reset:DescribeKey=0.5". Without an operation the
// rate applies to every KMS operation.
func ParseFaults(spec string) (Faults, error) {
	var f Faults
	if strings.TrimSpace(spec) == "" {
		return f, nil
	}
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		lhs, val, ok := strings.Cut(part, "=")
		if !ok {
			return Faults{}, fmt.Errorf("fault %q: want kind[:Operation]=rate, e.g. throttle=0.1", part)
		}
		kind, op, _ := strings.Cut(lhs, ":")
		var m *map[string]float64
		switch kind {
		case "throttle":
			m = &f.Throttle
		case "5xx":
			m = &f.Server
		case "reset":
			m = &f.Reset
		case "hang":
			m = &f.Hang
		default:
			return Faults{}, fmt.Errorf("fault %q: unknown kind %q, want throttle, 5xx, reset or hang", part, kind)
		}
		r, err := strconv.ParseFloat(val, 64)
		if err != nil || !(r >= 0 && r <= 1) {
			return Faults{}, fmt.Errorf("fault %q: rate %q is not a number from 0 to 1", part, val)
		}
		if *m == nil {
			*m = map[string]float64{}
		}
		(*m)[op] = r
	}
	return f, nil
}

// injectFault draws the configured faults for the request: a hang first
// (which, if the client waits it out, lets the request go on), then a
// connection reset, an HTTP 500 and a throttle. It says whether a fault
// answered the request.
func (s *Server) injectFault(w http.ResponseWriter, r *http.Request, ri *reqInfo) bool {
	f := s.faults
	if !f.any {
		return false
	}
	if s.hit(f.rate(f.hang, ri.service, ri.op)) {
		t := time.NewTimer(s.hangMax)
		select {
		case <-r.Context().Done():
			t.Stop()
			ri.code = "InjectedHang"
			abort()
		case <-t.C:
			// The client outwaited the hang: answer, late.
		}
	}
	if s.hit(f.rate(f.reset, ri.service, ri.op)) {
		ri.code = "InjectedReset"
		resetConnection(w)
		return true
	}
	if s.hit(f.rate(f.server, ri.service, ri.op)) {
		s.writeError(w, ri, internalError(ri.service))
		return true
	}
	if s.hit(f.rate(f.throttle, ri.service, ri.op)) {
		s.writeError(w, ri, throttleError(ri.service))
		return true
	}
	return false
}

func (s *Server) hit(rate float64) bool {
	return rate > 0 && (rate >= 1 || s.rng.Float64() < rate)
}

// resetConnection drops the client's TCP connection with a reset (linger
// 0), as a failing load balancer does.
func resetConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler) // HTTP/2: abort the stream instead
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

// internalError is each service's HTTP 500.
func internalError(service string) *apiError {
	switch service {
	case "sts":
		return &apiError{Status: 500, Code: "InternalFailure", Message: "The request processing has failed because of an unknown error, exception or failure."}
	case "ec2":
		return &apiError{Status: 500, Code: "InternalError", Message: "An internal error has occurred"}
	case "organizations":
		return &apiError{Status: 500, Code: "ServiceException", Message: "AWS Organizations can't complete your request because of an internal service error. Try again later."}
	case "cloudformation":
		return &apiError{Status: 500, Code: "InternalFailure", Message: "The request processing has failed because of an unknown error, exception or failure."}
	case "securityhub":
		return &apiError{Status: 500, Code: "InternalException", Message: "Internal service failure."}
	}
	return &apiError{Status: 500, Code: "KMSInternalException", Message: "The request was rejected because an internal exception occurred. The request can be retried."}
}

// throttleError is each service's throttling answer; all are retried as
// throttles by the SDK.
func throttleError(service string) *apiError {
	switch service {
	case "sts":
		return &apiError{Status: 400, Code: "Throttling", Message: "Rate exceeded"}
	case "ec2":
		return &apiError{Status: 503, Code: "RequestLimitExceeded", Message: "Request limit exceeded."}
	case "organizations":
		return &apiError{Status: 400, Code: "TooManyRequestsException", Message: "AWS Organizations can't complete your request because another request is already in progress. Try again later."}
	case "cloudformation":
		return &apiError{Status: 400, Code: "Throttling", Message: "Rate exceeded"}
	case "securityhub":
		return &apiError{Status: 429, Code: "TooManyRequestsException", Message: "Rate exceeded"}
	}
	return &apiError{Status: 400, Code: "ThrottlingException", Message: msgThrottled}
}

// lockedRand is the emulator's seeded random source for faults and jitter,
// safe for concurrent requests.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func newLockedRand(seed uint64) *lockedRand {
	return &lockedRand{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (l *lockedRand) Float64() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Float64()
}
