package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"html"
	"regexp"
	"strings"
	"testing"

	"github.com/kmsrotor/kmsrotor/internal/check"
	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

func sinkOut(t *testing.T, f Format, doc *Document, o Options) []byte {
	t.Helper()
	s, err := NewSink(f, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	_ = s
	var b bytes.Buffer
	s, _ = NewSink(f, &b, o)
	if err := Feed(s, doc); err != nil {
		t.Fatalf("%s: %v", f, err)
	}
	return b.Bytes()
}

var goldenExt = map[Format]string{FormatOCSF: "ocsf.json", FormatASFF: "asff.json", FormatCSV: "csv", FormatJUnit: "junit.xml", FormatMarkdown: "md", FormatHTML: "html"}

func TestSinkFormatsGolden(t *testing.T) {
	for _, f := range SinkFormats() {
		if _, err := ParseFormat(string(f)); err != nil {
			t.Errorf("format %s is not registered: %v", f, err)
		}
		for _, d := range docs {
			got := sinkOut(t, f, d.doc(), Options{TempDir: t.TempDir()})
			golden(t, string(f)+"/"+d.name+"."+goldenExt[f], got)
		}
	}
	// The compliance section, in the formats that have one.
	for _, f := range []Format{FormatMarkdown, FormatHTML} {
		got := sinkOut(t, f, liveDoc(), Options{Compliance: "CIS-5.0", TempDir: t.TempDir()})
		golden(t, string(f)+"/live-cis5."+goldenExt[f], got)
		if !bytes.Contains(got, []byte("3.6")) || !bytes.Contains(got, []byte("cis_5.0_aws")) {
			t.Errorf("%s with --compliance cis_5.0_aws: no section naming cis_5.0_aws and requirement 3.6", f)
		}
	}
}

func TestComplianceSection(t *testing.T) {
	if _, err := NewComplianceSection("cis_9_aws"); err == nil || !strings.Contains(err.Error(), "cis_5.0_aws") {
		t.Errorf("unknown framework: got %v, want an error listing the CIS frameworks", err)
	}
	c, err := NewComplianceSection("cis_5.0_aws")
	if err != nil {
		t.Fatal(err)
	}
	doc := liveDoc()
	if err := Feed(c, doc); err != nil {
		t.Fatal(err)
	}
	sec := c.Section()
	fail := 0
	for _, f := range doc.Findings {
		if f.Status == check.StatusFail {
			fail++
		}
	}
	if sec.Framework != "CIS-5.0" || len(sec.Requirements) != 1 || sec.Requirements[0].ID != "3.6" || sec.Requirements[0].Fail != fail {
		t.Errorf("section = %+v, want CIS-5.0 3.6 with %d FAIL", sec, fail)
	}
}

// TestOCSFFields checks each finding against the OCSF 1.4 Detection Finding
// (class 2004) and the shape of Prowler's example.
func TestOCSFFields(t *testing.T) {
	doc := liveDoc()
	var got []map[string]any
	if err := json.Unmarshal(sinkOut(t, FormatOCSF, doc, Options{}), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(doc.Findings) {
		t.Fatalf("got %d OCSF findings, want %d", len(got), len(doc.Findings))
	}
	for i, o := range got {
		f := doc.Findings[i]
		want := map[string]any{
			"class_uid": 2004.0, "class_name": "Detection Finding", "category_uid": 2.0, "category_name": "Findings",
			"activity_id": 1.0, "activity_name": "Create", "type_uid": 200401.0, "type_name": "Detection Finding: Create",
			"status_code": string(f.Status), "message": f.Message,
		}
		for k, v := range want {
			if o[k] != v {
				t.Errorf("finding %d: %s = %v, want %v", i, k, o[k], v)
			}
		}
		sev, _ := o["severity_id"].(float64)
		if sev < 0 || sev > 6 || sev != float64(map[string]int{"informational": 1, "low": 2, "medium": 3}[f.Severity]) {
			t.Errorf("finding %d: severity_id %v for %s", i, o["severity_id"], f.Severity)
		}
		status := map[bool]float64{false: 1, true: 3}[f.Muted]
		if o["status_id"] != status {
			t.Errorf("finding %d: status_id %v, want %v (muted %v)", i, o["status_id"], status, f.Muted)
		}
		md := o["metadata"].(map[string]any)
		if md["version"] != "1.4.0" || md["event_code"] != check.CheckID || md["product"].(map[string]any)["name"] != "kmsrotor" {
			t.Errorf("finding %d: metadata %v", i, md)
		}
		fi := o["finding_info"].(map[string]any)
		if fi["uid"] != findingID(&f) || fi["title"] == "" || fi["created_time"] != float64(now.Unix()) {
			t.Errorf("finding %d: finding_info %v", i, fi)
		}
		res := o["resources"].([]any)[0].(map[string]any)
		if res["uid"] != f.KeyARN || res["region"] != f.Region || res["type"] != "AwsKmsKey" || res["cloud_partition"] != "aws" {
			t.Errorf("finding %d: resource %v", i, res)
		}
		cloud := o["cloud"].(map[string]any)
		if cloud["provider"] != "aws" || cloud["account"].(map[string]any)["uid"] != f.AccountID || cloud["account"].(map[string]any)["type_id"] != 10.0 {
			t.Errorf("finding %d: cloud %v", i, cloud)
		}
		comp := o["unmapped"].(map[string]any)["compliance"].(map[string]any)
		if len(comp) != len(f.Compliance) {
			t.Errorf("finding %d: %d frameworks, want %d", i, len(comp), len(f.Compliance))
		}
	}
	if ids := map[any]bool{}; true {
		for _, o := range got {
			ids[o["finding_info"].(map[string]any)["uid"]] = true
		}
		if len(ids) != len(got) {
			t.Errorf("finding UIDs are not unique: %d for %d findings", len(ids), len(got))
		}
	}
}

// TestASFFFields checks each finding against ASFF 2018-10-08: required
// fields, their types, enums and limits.
func TestASFFFields(t *testing.T) {
	doc := liveDoc()
	var got []map[string]any
	if err := json.Unmarshal(sinkOut(t, FormatASFF, doc, Options{}), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(doc.Findings) {
		t.Fatalf("got %d ASFF findings, want %d", len(got), len(doc.Findings))
	}
	for i, a := range got {
		f := doc.Findings[i]
		if problems := ValidateASFF(a); len(problems) > 0 {
			t.Errorf("finding %d: %v", i, problems)
		}
		comp := a["Compliance"].(map[string]any)["Status"]
		record := a["RecordState"]
		switch f.Status {
		case check.StatusPass:
			if comp != "PASSED" || record != "ARCHIVED" {
				t.Errorf("PASS finding %d: Compliance %v RecordState %v, want PASSED ARCHIVED", i, comp, record)
			}
		case check.StatusFail:
			if comp != "FAILED" || record != "ACTIVE" {
				t.Errorf("FAIL finding %d: Compliance %v RecordState %v, want FAILED ACTIVE", i, comp, record)
			}
		}
		if f.Muted && a["Workflow"].(map[string]any)["Status"] != "SUPPRESSED" {
			t.Errorf("muted finding %d: workflow %v", i, a["Workflow"])
		}
	}
	// IaC findings have no account: none is written.
	var iac []any
	json.Unmarshal(sinkOut(t, FormatASFF, iacDoc(), Options{}), &iac)
	if len(iac) != 0 {
		t.Errorf("got %d ASFF findings for IaC, want 0", len(iac))
	}
}

func TestCSVInjection(t *testing.T) {
	for in, want := range map[string]string{
		"=HYPERLINK(\"http://x\")": "'=HYPERLINK(\"http://x\")",
		"+1+1":                     "'+1+1",
		"-2+3":                     "'-2+3",
		"@SUM(A1)":                 "'@SUM(A1)",
		"\tcmd":                    "'\tcmd",
		"\rcmd":                    "'\rcmd",
		"alias/ok":                 "alias/ok",
		"a=b":                      "a=b",
		"":                         "",
	} {
		if got := csvCell(in); got != want {
			t.Errorf("csvCell(%q) = %q, want %q", in, got, want)
		}
	}
	doc := hostileFormatsDoc()
	r := csv.NewReader(bytes.NewReader(sinkOut(t, FormatCSV, doc, Options{})))
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], ",") != strings.Join(csvHeader, ",") {
		t.Errorf("header %v, want %v", rows[0], csvHeader)
	}
	for _, row := range rows[1:] {
		for j, c := range row {
			if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
				t.Errorf("column %s: cell %q starts with a formula character", csvHeader[j], c)
			}
		}
	}
}

// hostileDoc is an estate whose AWS strings carry injection payloads.
func hostileFormatsDoc() *Document {
	doc := liveDoc()
	payloads := []string{`<script>document.title="PWNED"</script>`, `"><img src=x onerror="document.title='PWNED'">`,
		"=cmd|' /C calc'!A0", "\x1b]0;pwned\x07\x1b[2J", "@SUM(1+1)*cmd|' /C calc'!A0", "-1+1", "javascript:alert(1)"}
	for i := range doc.Findings {
		p := payloads[i%len(payloads)]
		doc.Findings[i].Aliases = append(doc.Findings[i].Aliases, "alias/"+p, p)
		doc.Findings[i].Tags = map[string]string{"owner": p, p: "x"}
		doc.Findings[i].Message = p + " " + doc.Findings[i].Message
	}
	return doc
}

func TestHTMLEscapesAndCSP(t *testing.T) {
	out := string(sinkOut(t, FormatHTML, hostileFormatsDoc(), Options{TempDir: t.TempDir()}))
	for _, bad := range []string{"<script>document.title", "<img src=x", "onerror=\"", "\x1b"} {
		if strings.Contains(out, bad) {
			t.Errorf("HTML report holds %q unescaped", bad)
		}
	}
	if n := strings.Count(out, "<script"); n != 1 {
		t.Errorf("HTML report has %d script elements, want the one inline script", n)
	}
	for _, ext := range []string{"src=\"http", "href=\"javascript", "@import", "url("} {
		if strings.Contains(out, ext) {
			t.Errorf("HTML report holds %q", ext)
		}
	}
	// The CSP hashes match the inline style and script as written.
	m := regexp.MustCompile(`<style>([\s\S]*?)</style>`).FindStringSubmatch(out)
	s := regexp.MustCompile(`<script>([\s\S]*?)</script>`).FindStringSubmatch(out)
	csp := html.UnescapeString(regexp.MustCompile(`http-equiv="Content-Security-Policy" content="([^"]*)"`).FindStringSubmatch(out)[1])
	if m == nil || s == nil || !strings.Contains(csp, cspHash(m[1])) || !strings.Contains(csp, cspHash(s[1])) || !strings.HasPrefix(csp, "default-src 'none'") {
		t.Errorf("CSP %q does not allow exactly the inline style and script", csp)
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(out, " style=\"") {
		t.Errorf("HTML report uses unsafe-inline or a style attribute")
	}
}

func TestJUnitAndMarkdownEscape(t *testing.T) {
	doc := hostileFormatsDoc()
	out := sinkOut(t, FormatJUnit, doc, Options{TempDir: t.TempDir()})
	var suites struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Errors   int `xml:"errors,attr"`
		Suite    struct {
			Cases []struct {
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
				Error   *struct{} `xml:"error"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(out, &suites); err != nil {
		t.Fatalf("JUnit report is not XML: %v", err)
	}
	wantFail, wantErr := 0, len(doc.Errors)
	for _, f := range doc.Findings {
		if !f.Muted && f.Status == check.StatusFail {
			wantFail++
		}
		if !f.Muted && f.Status == check.StatusError {
			wantErr++
		}
	}
	if suites.Tests != len(doc.Findings)+len(doc.Errors) || suites.Failures != wantFail || suites.Errors != wantErr || len(suites.Suite.Cases) != suites.Tests {
		t.Errorf("JUnit counts tests %d failures %d errors %d (cases %d); want %d %d %d", suites.Tests, suites.Failures, suites.Errors,
			len(suites.Suite.Cases), len(doc.Findings)+len(doc.Errors), wantFail, wantErr)
	}
	md := string(sinkOut(t, FormatMarkdown, doc, Options{}))
	for _, bad := range []string{"<script", "<img", "\x1b", "javascript:"} {
		if strings.Contains(md, bad) {
			t.Errorf("Markdown report holds %q unescaped", bad)
		}
	}
}

// TestRoundTrip writes the JSON document, reads it back, and writes every
// format from it: each keeps every fact of each finding.
func TestRoundTrip(t *testing.T) {
	doc := liveDoc()
	doc.Findings[0].Tags = map[string]string{"team": "payments-42"}
	doc.Findings[0].Rotation.LastRotationType = kmskey.RotationTypeOnDemand
	var js bytes.Buffer
	if err := Write(&js, FormatJSON, doc, Options{}); err != nil {
		t.Fatal(err)
	}
	var back Document
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	for _, f := range SinkFormats() {
		out := sinkOut(t, f, &back, Options{TempDir: t.TempDir()})
		text := html.UnescapeString(string(out))
		text = strings.ReplaceAll(text, `\u003c`, "<")
		text = strings.ReplaceAll(text, `\u003e`, ">")
		text = strings.ReplaceAll(text, `\u0026`, "&")
		if f == FormatMarkdown {
			text = strings.ReplaceAll(text, `\`, "")
		}
		for _, fd := range back.Findings {
			if f == FormatASFF && fd.AccountID == "" {
				continue
			}
			if f == FormatMarkdown && (fd.Muted || (fd.Status != check.StatusFail && fd.Status != check.StatusError)) {
				continue // Markdown lists the findings to act on only.
			}
			facts := []string{fd.KeyARN, string(fd.Status), fd.Reason}
			if f != FormatMarkdown {
				facts = append(facts, fd.KeyID, fd.Region, fd.AccountID, fd.Message)
				facts = append(facts, fd.Aliases...)
				if fd.Rotation.PeriodDays > 0 {
					facts = append(facts, strings.TrimSpace(strings.Repeat(" ", 0)+itoa(fd.Rotation.PeriodDays)))
				}
				if fd.Rotation.NextRotationDate != nil {
					facts = append(facts, fd.Rotation.NextRotationDate.Format("2006-01-02"))
				}
				if fd.Rotation.LastRotationDate != nil {
					facts = append(facts, fd.Rotation.LastRotationDate.Format("2006-01-02"))
				}
				if fd.Rotation.LastRotationType != "" {
					facts = append(facts, fd.Rotation.LastRotationType)
				}
				for k, v := range fd.Tags {
					facts = append(facts, k, v)
				}
			}
			for _, fact := range facts {
				if fact != "" && !strings.Contains(text, fact) {
					t.Errorf("%s: finding %s lost %q", f, fd.KeyID, fact)
				}
			}
		}
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }
