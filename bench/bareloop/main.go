// Command bareloop is the benchmark's helper (scripts/bench-scan.sh). It
// has three modes:
//
//	bareloop loop  [-workers 16]           the baseline: list the keys, then DescribeKey and
//	                                       GetKeyRotationStatus on every key with 16 workers
//	bareloop org   [-workers 512] -regions R1,R2  the organization floor: ListAccounts, then in
//	                                       each member (OrganizationAccountAccessRole) and Region
//	                                       ListKeys, DescribeKey and GetKeyRotationStatus
//	bareloop seed  -keys N -out FILE       a local-kms seed file: N AES keys, every other one rotating
//	bareloop serve -addr A [-keys N]       the kmsemu emulator with N customer symmetric keys
//	                                       (every other one rotating) in us-east-1 of account
//	                                       123456789012; with -keys 0 it serves only STS for the scan
//
// loop reads its endpoint, Region and credentials from the SDK's default
// chain (AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID...), like the scan.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/kmsrotor/kmsrotor/internal/kmsemu"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: bareloop loop|seed|serve [flags]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "loop":
		err = loop(ctx, os.Args[2:])
	case "org":
		err = org(ctx, os.Args[2:])
	case "seed":
		err = seed(os.Args[2:])
	case "serve":
		err = serve(ctx, os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q: use loop, seed or serve", os.Args[1])
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bareloop: %v\n", err)
		os.Exit(1)
	}
}

// loop is the baseline the scan is measured against: the least a program
// must do to read every key's rotation, with the SDK's defaults and enough
// connections for its workers.
func loop(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("loop", flag.ContinueOnError)
	workers := fs.Int("workers", 16, "keys in flight")
	if err := fs.Parse(args); err != nil {
		return err
	}
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConnsPerHost = *workers
	})
	cfg, err := config.LoadDefaultConfig(ctx, config.WithHTTPClient(httpClient))
	if err != nil {
		return fmt.Errorf("load config: %w", err)
	}
	client := kms.NewFromConfig(cfg)
	start := time.Now()
	var ids []string
	p := kms.NewListKeysPaginator(client, &kms.ListKeysInput{Limit: aws.Int32(1000)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list keys: %w", err)
		}
		for _, k := range page.Keys {
			ids = append(ids, aws.ToString(k.KeyId))
		}
	}
	listed := time.Now()

	jobs := make(chan string)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var rotating, failures int
	for range *workers {
		wg.Go(func() {
			for id := range jobs {
				_, err := client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
				var out *kms.GetKeyRotationStatusOutput
				if err == nil {
					out, err = client.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: aws.String(id)})
				}
				mu.Lock()
				if err != nil {
					failures++
				} else if out.KeyRotationEnabled {
					rotating++
				}
				mu.Unlock()
			}
		})
	}
	for _, id := range ids {
		jobs <- id
	}
	close(jobs)
	wg.Wait()
	done := time.Now()
	fmt.Printf("bareloop: %d keys (%d rotating, %d failed), %d workers: list %s, loop %s, total %s\n",
		len(ids), rotating, failures, *workers, listed.Sub(start).Round(time.Millisecond),
		done.Sub(listed).Round(time.Millisecond), done.Sub(start).Round(time.Millisecond))
	if failures > 0 {
		return fmt.Errorf("%d keys failed", failures)
	}
	return nil
}

// seed writes a local-kms seed file (its README's format): AES keys with
// one backing key each; a NextKeyRotation date turns rotation on.
func seed(args []string) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	n := fs.Int("keys", 2000, "number of keys")
	out := fs.String("out", "seed.yaml", "file to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	next := time.Now().AddDate(0, 6, 0).UTC().Format(time.RFC3339)
	var b strings.Builder
	b.WriteString("Keys:\n  Symmetric:\n    Aes:\n")
	material := make([]byte, 32)
	for i := range *n {
		if _, err := rand.Read(material); err != nil {
			return err
		}
		// local-kms leaves Origin out of a seeded key's metadata unless the
		// seed names it; AWS always sends it.
		fmt.Fprintf(&b, "      - Metadata:\n          KeyId: %s\n          Origin: AWS_KMS\n        BackingKeys:\n          - %s\n", keyID(i), hex.EncodeToString(material))
		if i%2 == 0 {
			fmt.Fprintf(&b, "        NextKeyRotation: %s\n", next)
		}
	}
	b.WriteString("Aliases:\n")
	for i := range *n {
		fmt.Fprintf(&b, "  - AliasName: alias/bench-%04d\n    TargetKeyId: %s\n", i, keyID(i))
	}
	return os.WriteFile(*out, []byte(b.String()), 0o644)
}

func keyID(i int) string { return fmt.Sprintf("33333333-3333-4333-8333-%012d", i) }

// serve runs the kmsemu emulator until interrupted, printing its URL.
func serve(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	n := fs.Int("keys", 2000, "number of customer symmetric keys (0: STS only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	keys := make([]kmsemu.KeyDef, *n)
	for i := range keys {
		keys[i] = kmsemu.KeyDef{
			ID: keyID(i), Region: "us-east-1",
			Rotation: kmsemu.RotationDef{Enabled: i%2 == 0},
			Aliases:  []string{fmt.Sprintf("alias/bench-%04d", i)},
		}
	}
	estate := &kmsemu.Estate{Accounts: []kmsemu.Account{{
		ID: kmsemu.DefaultAccount, Name: "bench", Email: "bench@example.com", Regions: []string{"us-east-1"},
		Credentials: []kmsemu.Credential{{AccessKeyID: kmsemu.DefaultAccessKeyID, SecretAccessKey: kmsemu.DefaultSecretAccessKey}},
		Keys:        keys,
	}}}
	emu, err := kmsemu.Start(kmsemu.Options{Estate: estate}, *addr)
	if err != nil {
		return err
	}
	defer emu.Close()
	fmt.Println(emu.URL)
	<-ctx.Done()
	return nil
}

// org is the floor of the organization benchmark (scripts/bench-org.sh):
// the same calls a scan makes, with a plain pool of workers over every key
// of every account and Region, and nothing else (no pacing, check, report).
func org(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("org", flag.ContinueOnError)
	workers := fs.Int("workers", 512, "keys in flight")
	regionList := fs.String("regions", "us-east-1", "Regions, comma-separated")
	if err := fs.Parse(args); err != nil {
		return err
	}
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConnsPerHost = *workers
	})
	cfg, err := config.LoadDefaultConfig(ctx, config.WithHTTPClient(httpClient))
	if err != nil {
		return fmt.Errorf("load config: %w", err)
	}
	start := time.Now()
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return err
	}
	var accounts []string
	p := organizations.NewListAccountsPaginator(organizations.NewFromConfig(cfg), &organizations.ListAccountsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list accounts: %w", err)
		}
		for _, a := range page.Accounts {
			accounts = append(accounts, aws.ToString(a.Id))
		}
	}
	type job struct {
		client *kms.Client
		id     string
	}
	jobs := make(chan job, *workers)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var keys, failures int
	for range *workers {
		wg.Go(func() {
			for j := range jobs {
				_, err := j.client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(j.id)})
				if err == nil {
					_, err = j.client.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: aws.String(j.id)})
				}
				mu.Lock()
				keys++
				if err != nil {
					failures++
				}
				mu.Unlock()
			}
		})
	}
	var lwg sync.WaitGroup
	slots := make(chan struct{}, 32)
	for _, a := range accounts {
		acfg := cfg
		if a != aws.ToString(id.Account) {
			acfg = cfg.Copy()
			acfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg),
				"arn:aws:iam::"+a+":role/OrganizationAccountAccessRole"))
		}
		for _, r := range strings.Split(*regionList, ",") {
			lwg.Go(func() {
				slots <- struct{}{}
				defer func() { <-slots }()
				client := kms.NewFromConfig(acfg, func(o *kms.Options) { o.Region = r })
				p := kms.NewListKeysPaginator(client, &kms.ListKeysInput{Limit: aws.Int32(1000)})
				for p.HasMorePages() {
					page, err := p.NextPage(ctx)
					if err != nil {
						mu.Lock()
						failures++
						mu.Unlock()
						return
					}
					for _, k := range page.Keys {
						jobs <- job{client, aws.ToString(k.KeyId)}
					}
				}
			})
		}
	}
	lwg.Wait()
	close(jobs)
	wg.Wait()
	took := time.Since(start)
	fmt.Printf("bareloop org: %d accounts, %d keys (%d failed), %d workers: %s, %.0f keys/s\n",
		len(accounts), keys, failures, *workers, took.Round(time.Millisecond), float64(keys)/took.Seconds())
	if failures > 0 {
		return fmt.Errorf("%d calls failed", failures)
	}
	return nil
}
