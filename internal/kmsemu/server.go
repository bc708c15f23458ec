package kmsemu

// STUB: replaced by the frame implementation. Other packages rely on exactly
// these exported names and signatures.

import (
	"errors"
	"net/http"
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
	Estate *Estate // nil: an empty estate with the default account in DefaultRegion
	Clock  *Clock  // nil: a real-time clock
	// Latency is added to every request, plus a uniform random Jitter.
	Latency time.Duration
	Jitter  time.Duration
	// QuotaScale scales AWS's request quotas (kms-api.md §8): 0 turns quotas
	// off, 1 is AWS's values.
	QuotaScale float64
	Faults     Faults
	// OnDemandLimit is RotateKeyOnDemand's per-key limit (default 25).
	OnDemandLimit int
	// StateFile, when set, persists the state across restarts.
	StateFile string
}

// Faults injects failures per operation ("" key = every operation).
type Faults struct {
	Throttle map[string]float64 // rate of ThrottlingException
	Server   map[string]float64 // rate of HTTP 500 KMSInternalException
	Reset    map[string]float64 // rate of connection resets
	Hang     map[string]float64 // rate of requests that never answer (until the client gives up)
}

// Server is the emulator: an http.Handler serving KMS, STS, Organizations and
// EC2 DescribeRegions on one listener, plus an admin path under /_kmsemu/.
type Server struct{ clock *Clock }

// New builds a Server from its options.
func New(opts Options) (*Server, error) { return nil, errors.New("not implemented") }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {}

// Clock returns the server's clock.
func (s *Server) Clock() *Clock { return s.clock }

// Running is a Server listening on a TCP address.
type Running struct {
	URL    string // http://127.0.0.1:PORT
	Server *Server
}

// Start serves a new Server on addr ("127.0.0.1:0" picks a free port).
func Start(opts Options, addr string) (*Running, error) { return nil, errors.New("not implemented") }

// Close stops the listener.
func (r *Running) Close() error { return nil }

// LoadEstate reads an estate YAML file.
func LoadEstate(path string) (*Estate, error) { return nil, errors.New("not implemented") }

// DemoEstate is the built-in demo: 3 accounts × 3 Regions with every key class.
func DemoEstate() *Estate { return &Estate{} }

// Generate builds an estate from "accounts=A,regions=R,keys=K,rotating=F,seed=S".
func Generate(spec string) (*Estate, error) { return nil, errors.New("not implemented") }
