// Command gen-hostile-html writes the HTML report of an estate whose
// aliases, tags, descriptions and account names carry script-injection
// payloads, for scripts/html-browser-test.sh. Key n (1-based) rotates every
// 90+10n days, so sorting by period has a known order; the keys with
// "alias/sortme-" aliases are the ones the filter test expects.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/kmsrotor/kmsrotor/internal/check"
	"github.com/kmsrotor/kmsrotor/internal/kmskey"
	"github.com/kmsrotor/kmsrotor/internal/report"
)

func main() {
	out := flag.String("out", "", "HTML file to write (required)")
	leak := flag.String("leak", "http://127.0.0.1:9/leak", "URL the payloads try to load; nothing may reach it")
	n := flag.Int("n", 24, "keys")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "gen-hostile-html: -out is required")
		os.Exit(2)
	}
	payloads := []string{
		`<script>document.title="PWNED"</script>`,
		`"><img src="` + *leak + `/img" onerror="document.title='PWNED'">`,
		`'><svg onload="document.documentElement.setAttribute('data-pwned','1')">`,
		`</td></tr></tbody></table><script src="` + *leak + `/js"></script>`,
		`<iframe src="javascript:parent.document.title='PWNED'"></iframe>`,
		`<link rel="stylesheet" href="` + *leak + `/css"><style>@import url(` + *leak + `/imp);</style>`,
		"\x1b]0;PWNED\x07\x1b[31mred",
		`{{.}}<a href="javascript:document.title='PWNED'">x</a>`,
	}
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	policy := check.DefaultPolicy(now)
	policy.MaxRotationDays = 2560
	doc := &report.Document{
		Tool: report.Tool{Name: "kmsrotor", Version: "browser-test"},
		Scan: report.Scan{Kind: "aws", StartedAt: now, EvaluatedAt: now, FinishedAt: now.Add(time.Second),
			Accounts: []string{"111111111111", "222222222222"}, Regions: []string{"eu-west-1", "us-east-1"},
			Policy: report.PolicyFacts{MaxRotationDays: 2560, RotationGraceDays: 7}},
		Errors: []report.ScanError{{AccountID: "222222222222", Region: "ap-south-1", Operation: "ListKeys", Code: "AccessDeniedException",
			Message: payloads[0] + " is not authorized"}},
	}
	for i := 1; i <= *n; i++ {
		p := payloads[i%len(payloads)]
		acct := []string{"111111111111", "222222222222"}[i%2]
		region := []string{"eu-west-1", "us-east-1"}[i%2]
		id := fmt.Sprintf("0b7d2a3c-1111-4a5b-8c9d-%012d", i)
		k := kmskey.Key{Source: kmskey.SourceAWS, AccountID: acct, Region: region, KeyID: id,
			ARN: "arn:aws:kms:" + region + ":" + acct + ":key/" + id, Manager: kmskey.ManagerCustomer,
			Spec: kmskey.SpecSymmetricDefault, Usage: kmskey.UsageEncryptDecrypt, Origin: kmskey.OriginAWSKMS, State: kmskey.StateEnabled,
			Aliases: []string{"alias/" + p},
			Tags:    map[string]string{"owner": p, p: "value", "Description": p},
			Rotation: kmskey.Rotation{Enabled: kmskey.True, PeriodDays: 90 + 10*i, NextRotationDate: now.AddDate(0, i, 0),
				LastRotationDate: now.AddDate(0, i-12, 0), LastRotationType: kmskey.RotationTypeAutomatic}}
		if i%3 == 0 {
			k.Aliases = append(k.Aliases, fmt.Sprintf("alias/sortme-%02d", i))
		}
		if i%4 == 0 {
			k.Rotation = kmskey.Rotation{Enabled: kmskey.False}
		}
		doc.Findings = append(doc.Findings, check.Evaluate(k, policy))
	}
	doc.Finalize()
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen-hostile-html:", err)
		os.Exit(1)
	}
	defer f.Close()
	if err := report.Write(f, report.FormatHTML, doc, report.Options{}); err != nil {
		fmt.Fprintln(os.Stderr, "gen-hostile-html:", err)
		os.Exit(1)
	}
}
