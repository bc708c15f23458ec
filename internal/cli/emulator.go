package cli

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/kmsrotor/kmsrotor/internal/kmsemu"
	"github.com/kmsrotor/kmsrotor/internal/term"
)

// emulatorOptions are the flags of `kmsrotor emulator`.
type emulatorOptions struct {
	listen        string
	estateFile    string
	demo          bool
	generate      string
	latency       time.Duration
	jitter        time.Duration
	quotas        string
	faults        string
	stateFile     string
	onDemandLimit int
	seed          uint64
	shutdownGrace time.Duration
}

// emulatorConfig is emulatorOptions checked: what runEmulator needs.
type emulatorConfig struct {
	listen   string
	opts     kmsemu.Options
	describe string // what estate is served, for the banner
}

func newEmulatorCmd(env *Env) *cobra.Command {
	o := &emulatorOptions{}
	cmd := &cobra.Command{
		Use:   "emulator",
		Short: "Run a local AWS (KMS, STS, Organizations, EC2 Regions) for tests and demos",
		Long: `Run a local emulator of the AWS APIs kmsrotor uses: KMS, STS GetCallerIdentity
and AssumeRole, Organizations ListAccounts and EC2 DescribeRegions, on one
endpoint; also Organizations' OU tree, CloudFormation stack listings and Security Hub BatchImportFindings/GetFindings, per partition (aws, aws-us-gov, aws-cn).
Real AWS clients (the SDKs, the AWS CLI) work against it unchanged:
point AWS_ENDPOINT_URL at it and use the access key "test", secret "test".

The estate (accounts, Regions, roles, keys) comes from --estate FILE (YAML),
--demo (3 accounts x 3 Regions with every kind of key) or --generate SPEC
("accounts=A,regions=R,keys=K,rotating=F,seed=S"); without any, one account
(123456789012) with no keys. It listens on loopback unless --listen says
otherwise, and stops cleanly on Ctrl-C (SIGINT) or SIGTERM.

Its clock and request log are at /_kmsemu/clock and /_kmsemu/requests:
  curl -X POST -d '{"advance":"400d"}' http://127.0.0.1:4566/_kmsemu/clock`,
		Example: `  kmsrotor emulator --demo
  kmsrotor emulator --generate accounts=5,regions=3,keys=1000,rotating=0.8 --quotas off
  kmsrotor emulator --estate estate.yaml --latency 20ms --jitter 5ms --faults throttle=0.05,5xx=0.01
  kmsrotor emulator --demo --state-file ~/.kmsrotor-emulator.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := o.config()
			if err != nil {
				return err
			}
			return runEmulator(cmd.Context(), env, cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:4566", "`address` to listen on (host:port; port 0 picks a free one)")
	f.StringVar(&o.estateFile, "estate", "", "serve the estate in this YAML `file`")
	f.BoolVar(&o.demo, "demo", false, "serve the built-in demo estate")
	f.StringVar(&o.generate, "generate", "", "serve a generated estate; `spec` is accounts=A,regions=R,keys=K,rotating=F,seed=S")
	f.DurationVar(&o.latency, "latency", 0, "added to every request, e.g. 20ms")
	f.DurationVar(&o.jitter, "jitter", 0, "uniform random extra latency, up to this much")
	f.StringVar(&o.quotas, "quotas", "aws", "request quotas: aws, off, or a `scale` of AWS's (e.g. 0.5)")
	f.StringVar(&o.faults, "faults", "", "inject faults per `spec`: kind[:Operation]=rate,... (kinds throttle, 5xx, reset, hang; rates 0 to 1)")
	f.StringVar(&o.stateFile, "state-file", "", "keep the state in this `file` across restarts (loaded instead of the estate when it exists)")
	f.IntVar(&o.onDemandLimit, "on-demand-limit", 25, "RotateKeyOnDemand limit per key")
	f.Uint64Var(&o.seed, "seed", 1, "seed of the random faults and jitter")
	f.DurationVar(&o.shutdownGrace, "shutdown-grace", 5*time.Second, "on stop, how long requests in flight may finish")
	return cmd
}

// config checks the flags, so that a mistake is a usage error (exit 2)
// before anything listens.
func (o *emulatorOptions) config() (*emulatorConfig, error) {
	cfg := &emulatorConfig{listen: o.listen}
	if o.shutdownGrace < 0 {
		return nil, usagef("--shutdown-grace %v: must not be negative", o.shutdownGrace)
	}
	cfg.opts.ShutdownGrace = o.shutdownGrace
	sources := 0
	for _, set := range []bool{o.estateFile != "", o.demo, o.generate != ""} {
		if set {
			sources++
		}
	}
	if sources > 1 {
		return nil, usagef("--estate, --demo and --generate are alternatives: give at most one")
	}
	host, port, err := net.SplitHostPort(o.listen)
	if err != nil {
		return nil, usagef("--listen %q: want host:port, e.g. 127.0.0.1:4566", o.listen)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return nil, usagef("--listen %q: the port must be a number from 0 to 65535", o.listen)
	}
	if host == "" {
		return nil, usagef("--listen %q: give the host too, e.g. 127.0.0.1:%s (0.0.0.0 listens on every interface)", o.listen, port)
	}
	if o.latency < 0 {
		return nil, usagef("--latency %s: must not be negative", o.latency)
	}
	if o.jitter < 0 {
		return nil, usagef("--jitter %s: must not be negative", o.jitter)
	}
	switch o.quotas {
	case "aws":
		cfg.opts.QuotaScale = 1
	case "off":
		cfg.opts.QuotaScale = 0
	default:
		scale, err := strconv.ParseFloat(o.quotas, 64)
		if err != nil || !(scale > 0) || scale > 1e6 {
			return nil, usagef("--quotas %q: want aws, off, or a positive scale of AWS's quotas such as 0.5", o.quotas)
		}
		cfg.opts.QuotaScale = scale
	}
	faults, err := kmsemu.ParseFaults(o.faults)
	if err != nil {
		return nil, usagef("--faults: %v", err)
	}
	cfg.opts.Faults = faults
	if o.onDemandLimit < 1 {
		return nil, usagef("--on-demand-limit %d: must be at least 1", o.onDemandLimit)
	}
	cfg.opts.OnDemandLimit = o.onDemandLimit
	cfg.opts.Seed = o.seed
	cfg.opts.Latency, cfg.opts.Jitter = o.latency, o.jitter

	switch {
	case o.estateFile != "":
		e, err := kmsemu.LoadEstate(o.estateFile)
		if err != nil {
			return nil, usagef("--estate: %v", err)
		}
		cfg.opts.Estate, cfg.describe = e, "estate "+o.estateFile
	case o.demo:
		cfg.opts.Estate, cfg.describe = kmsemu.DemoEstate(), "demo estate"
	case o.generate != "":
		e, err := kmsemu.Generate(o.generate)
		if err != nil {
			return nil, usagef("--generate: %v", err)
		}
		cfg.opts.Estate, cfg.describe = e, "generated estate ("+o.generate+")"
	default:
		cfg.describe = "empty estate"
	}
	if cfg.opts.Estate != nil {
		cfg.describe += summarize(cfg.opts.Estate)
	}

	if o.stateFile != "" {
		dir := filepath.Dir(o.stateFile)
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, usagef("--state-file %q: the directory %s does not exist", o.stateFile, dir)
		}
		if _, err := os.Stat(o.stateFile); err == nil {
			cfg.describe = "state restored from " + o.stateFile
		}
		cfg.opts.StateFile = o.stateFile
	}
	return cfg, nil
}

func summarize(e *kmsemu.Estate) string {
	keys := 0
	for _, a := range e.Accounts {
		keys += len(a.Keys)
	}
	s := fmt.Sprintf(": %d accounts, %d keys", len(e.Accounts), keys)
	if e.Organization.ID != "" {
		s += ", organization " + e.Organization.ID
	}
	return s
}

// runEmulator serves until ctx is cancelled (SIGINT, SIGTERM).
func runEmulator(ctx context.Context, env *Env, cfg *emulatorConfig) error {
	run, err := kmsemu.Start(cfg.opts, cfg.listen)
	if err != nil {
		return fmt.Errorf("start emulator: %w", err)
	}
	endpoint, loopback := clientEndpoint(run.URL)
	if !loopback {
		fmt.Fprintf(env.Stderr, "kmsrotor: warning: the emulator listens on %s, not only on loopback: anyone who can reach it can use it\n", term.Inert(cfg.listen))
	}
	region := bannerRegion(cfg.opts.Estate)
	fmt.Fprintf(env.Stdout, `kmsrotor emulator listening on %[1]s (%[2]s)

Use it with:
  export AWS_ENDPOINT_URL=%[1]s
  export AWS_ACCESS_KEY_ID=%[3]s
  export AWS_SECRET_ACCESS_KEY=%[4]s
  export AWS_REGION=%[5]s AWS_DEFAULT_REGION=%[5]s

  aws kms list-keys --endpoint-url %[1]s --region %[5]s
  kmsrotor scan

Clock and request log: %[1]s/_kmsemu/clock, %[1]s/_kmsemu/requests
Stop with Ctrl-C.
`, term.Inert(endpoint), term.Inert(cfg.describe), kmsemu.DefaultAccessKeyID, kmsemu.DefaultSecretAccessKey, region)

	select {
	case <-ctx.Done():
	case <-run.Done():
	}
	serveErr := run.Err()
	if err := run.Close(); err != nil {
		return fmt.Errorf("stop emulator: %w", err)
	}
	if serveErr != nil {
		return fmt.Errorf("emulator stopped: %w", serveErr)
	}
	fmt.Fprintln(env.Stderr, "kmsrotor: emulator stopped")
	return nil
}

// clientEndpoint is the URL clients use: a wildcard listen address is
// reached through loopback. loopback says whether only loopback listens.
func clientEndpoint(url string) (string, bool) {
	hostport := url[len("http://"):]
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return url, false
	}
	ip := net.ParseIP(host)
	switch {
	case ip != nil && ip.IsUnspecified():
		return "http://" + net.JoinHostPort("127.0.0.1", port), false
	case ip != nil && ip.IsLoopback():
		return url, true
	}
	return url, false
}

// bannerRegion is the Region to suggest: the default account's first.
func bannerRegion(e *kmsemu.Estate) string {
	if e != nil {
		for _, a := range e.Accounts {
			if a.ID == kmsemu.DefaultAccount && len(a.Regions) > 0 {
				return a.Regions[0]
			}
		}
	}
	return kmsemu.DefaultRegion
}
