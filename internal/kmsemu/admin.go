package kmsemu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Request is one entry of the request log.
type Request struct {
	Time      time.Time `json:"time"` // emulated time
	Service   string    `json:"service"`
	Op        string    `json:"op"`
	Account   string    `json:"account,omitempty"`
	Region    string    `json:"region,omitempty"`
	Status    int       `json:"status"` // 0: no answer (reset, hang, client gone)
	ErrorCode string    `json:"error_code,omitempty"`
}

// requestLogSize bounds the log so that a long benchmark does not grow it
// without end; Calls counts every request regardless.
const requestLogSize = 50000

// requestLog keeps the latest requests and counts every operation.
type requestLog struct {
	mu    sync.Mutex
	ring  []Request
	next  int
	full  bool
	calls map[string]int
}

func newRequestLog(size int) *requestLog {
	return &requestLog{ring: make([]Request, size), calls: map[string]int{}}
}

func (l *requestLog) add(r Request) {
	l.mu.Lock()
	l.ring[l.next] = r
	l.next++
	if l.next == len(l.ring) {
		l.next, l.full = 0, true
	}
	if r.Op != "" {
		l.calls[r.Op]++
	}
	l.mu.Unlock()
}

func (s *Server) record(ri *reqInfo) {
	s.log.add(Request{
		Time: s.clock.Now(), Service: ri.service, Op: ri.op, Account: ri.account,
		Region: ri.region, Status: ri.status, ErrorCode: ri.code,
	})
}

// Requests returns the logged requests, oldest first (the latest 50,000).
func (s *Server) Requests() []Request {
	l := s.log
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Request
	if l.full {
		out = append(out, l.ring[l.next:]...)
	}
	return append(out, l.ring[:l.next]...)
}

// ResetRequests clears the request log and the call counts.
func (s *Server) ResetRequests() {
	l := s.log
	l.mu.Lock()
	defer l.mu.Unlock()
	clear(l.ring)
	l.next, l.full = 0, false
	l.calls = map[string]int{}
}

// Calls counts the requests per operation (e.g. "DescribeKey") since the
// start or the last ResetRequests, including failed and retried ones.
func (s *Server) Calls() map[string]int {
	l := s.log
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]int, len(l.calls))
	for k, v := range l.calls {
		out[k] = v
	}
	return out
}

// serveAdmin answers the admin API:
//
//	GET    /_kmsemu/clock     {"now": RFC3339}
//	POST   /_kmsemu/clock     {"set": RFC3339} or {"advance": "72h" | "30d"}
//	GET    /_kmsemu/requests  {"requests": [...], "calls": {op: n}}
//	DELETE /_kmsemu/requests  clears the log
//	GET    /_kmsemu/findings  {"findings": [...]}: Security Hub's imported
//	                          findings (?account=ID&region=NAME narrow them)
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	switch strings.TrimPrefix(r.URL.Path, adminPrefix) {
	case "clock":
		switch r.Method {
		case http.MethodGet:
		case http.MethodPost:
			var in struct{ Set, Advance string }
			dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&in); err != nil {
				adminError(w, http.StatusBadRequest, `want {"set": "2026-01-02T15:04:05Z"} or {"advance": "72h"}: `+err.Error())
				return
			}
			switch {
			case in.Set != "" && in.Advance != "":
				adminError(w, http.StatusBadRequest, "give set or advance, not both")
				return
			case in.Set != "":
				t, err := time.Parse(time.RFC3339, in.Set)
				if err != nil {
					adminError(w, http.StatusBadRequest, "set: want an RFC 3339 time such as 2026-01-02T15:04:05Z: "+err.Error())
					return
				}
				s.clock.Set(t)
			case in.Advance != "":
				d, err := parseDays(in.Advance)
				if err != nil || d < 0 {
					adminError(w, http.StatusBadRequest, fmt.Sprintf("advance: want a positive duration such as 72h or 30d, got %q", in.Advance))
					return
				}
				s.clock.Advance(d)
			default:
				adminError(w, http.StatusBadRequest, `want {"set": "2026-01-02T15:04:05Z"} or {"advance": "72h"}`)
				return
			}
		default:
			adminError(w, http.StatusMethodNotAllowed, "use GET or POST")
			return
		}
		adminJSON(w, map[string]string{"now": s.clock.Now().Format(time.RFC3339)})
	case "requests":
		switch r.Method {
		case http.MethodGet:
			adminJSON(w, map[string]any{"requests": s.Requests(), "calls": s.Calls()})
		case http.MethodDelete:
			s.ResetRequests()
			w.WriteHeader(http.StatusNoContent)
		default:
			adminError(w, http.StatusMethodNotAllowed, "use GET or DELETE")
		}
	case "findings":
		if r.Method != http.MethodGet {
			adminError(w, http.StatusMethodNotAllowed, "use GET")
			return
		}
		q := r.URL.Query()
		adminJSON(w, map[string]any{"findings": s.Findings(q.Get("account"), q.Get("region"))})
	default:
		adminError(w, http.StatusNotFound, "unknown admin path; have /_kmsemu/clock, /_kmsemu/requests and /_kmsemu/findings")
	}
}

// parseDays is time.ParseDuration that also takes whole days ("30d").
func parseDays(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil {
			return 0, err
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

func adminJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func adminError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
