package kmsemu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Security Hub (REST-JSON): BatchImportFindings validates findings in the
// AWS Security Finding Format (ASFF) as Security Hub does and stores them per
// account and Region; GetFindings and /_kmsemu/findings read them back.

// asffSchemaVersion is the only SchemaVersion Security Hub accepts.
const asffSchemaVersion = "2018-10-08"

// maxImportFindings is BatchImportFindings' limit of findings per request.
const maxImportFindings = 100

// msgASFF starts the message of every finding that fails validation.
const msgASFF = "Finding does not adhere to Amazon Finding Format. "

var (
	asffTypeRE    = regexp.MustCompile(`^([^/]+)(/[^/]+){0,2}$`)
	severityLabel = []string{"INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"}
	complianceSts = []string{"PASSED", "WARNING", "FAILED", "NOT_AVAILABLE"}
	recordStates  = []string{"ACTIVE", "ARCHIVED"}
)

// securityHubRoute names the Security Hub operation of a request, or ""
// when the request is not Security Hub's.
func securityHubRoute(r *http.Request) string {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/findings/import":
		return "BatchImportFindings"
	case r.Method == http.MethodPost && r.URL.Path == "/findings":
		return "GetFindings"
	}
	if a, err := parseAuthorization(r.Header.Get("Authorization")); err == nil && a.Service == "securityhub" {
		return r.Method + " " + r.URL.Path
	}
	return ""
}

// securityHub stores the imported findings of each account and Region, in
// import order, by ProductArn and Id.
type securityHub struct {
	mu     sync.Mutex
	stores map[regionKey]*findingStore
}

type findingStore struct {
	order []string // keys in first-import order
	byKey map[string]*storedFinding
}

// storedFinding is one finding as Security Hub keeps it: the ASFF document
// (with the fields Security Hub fills in) and what the filters read.
type storedFinding struct {
	ID, ProductArn   string
	RecordState      string
	ComplianceStatus string
	Doc              map[string]json.RawMessage
}

func newSecurityHub() *securityHub {
	return &securityHub{stores: map[regionKey]*findingStore{}}
}

// Finding is an imported finding, as the admin API returns it.
type Finding struct {
	Account          string          `json:"account"`
	Region           string          `json:"region"`
	ID               string          `json:"id"`
	ProductArn       string          `json:"product_arn"`
	RecordState      string          `json:"record_state"`
	ComplianceStatus string          `json:"compliance_status,omitempty"`
	Finding          json.RawMessage `json:"finding"`
}

// Findings returns the imported findings of an account and Region ("" for
// any), in import order.
func (s *Server) Findings(account, region string) []Finding {
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	keys := make([]regionKey, 0, len(h.stores))
	for k := range h.stores {
		if (account == "" || k.account == account) && (region == "" || k.region == region) {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b regionKey) int {
		return strings.Compare(a.account+"/"+a.region, b.account+"/"+b.region)
	})
	out := []Finding{}
	for _, k := range keys {
		st := h.stores[k]
		for _, key := range st.order {
			f := st.byKey[key]
			doc, _ := json.Marshal(f.Doc)
			out = append(out, Finding{Account: k.account, Region: k.region, ID: f.ID, ProductArn: f.ProductArn,
				RecordState: f.RecordState, ComplianceStatus: f.ComplianceStatus, Finding: doc})
		}
	}
	return out
}

// securityHubEnabled says whether the account has Security Hub in region.
func (s *Server) securityHubEnabled(account, region string) bool {
	a := s.accounts[account]
	if a == nil || !a.enabled[region] {
		return false
	}
	return a.SecurityHub == nil || slices.Contains(a.SecurityHub.Regions, region)
}

// productArn is the account's own product ARN in a Region, the one its
// findings are imported under.
func productArn(account, region string) string {
	return "arn:" + partitionOf(region) + ":securityhub:" + region + ":" + account + ":product/" + account + "/default"
}

// serveSecurityHub answers BatchImportFindings and GetFindings.
func (s *Server) serveSecurityHub(w http.ResponseWriter, ri *reqInfo, c *call) {
	switch ri.op {
	case "BatchImportFindings", "GetFindings":
	default:
		s.writeError(w, ri, &apiError{Status: 404, Code: "UnknownOperationException"})
		return
	}
	if !s.securityHubEnabled(c.Account, c.Region) {
		s.writeError(w, ri, &apiError{Status: 401, Code: "InvalidAccessException",
			Message: "Account " + c.Account + " is not subscribed to AWS Security Hub"})
		return
	}
	var resp any
	var aerr *apiError
	if ri.op == "BatchImportFindings" {
		resp, aerr = s.importFindings(c)
	} else {
		resp, aerr = s.getFindings(c)
	}
	if aerr != nil {
		s.writeError(w, ri, aerr)
		return
	}
	data, err := json.Marshal(resp)
	if err != nil {
		s.writeError(w, ri, &apiError{Status: 500, Code: "InternalException", Message: "emulator bug: " + err.Error()})
		return
	}
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["X-Amzn-Requestid"] = []string{ri.id}
	h["Content-Length"] = []string{strconv.Itoa(len(data))}
	ri.status = http.StatusOK
	w.WriteHeader(http.StatusOK)
	w.Write(data)
}

// writeRESTJSONError writes a REST-JSON error: the code in the
// X-Amzn-ErrorType header and the body.
func writeRESTJSONError(w http.ResponseWriter, e *apiError) {
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["X-Amzn-Errortype"] = []string{e.Code}
	w.WriteHeader(e.Status)
	body := map[string]string{"Code": e.Code}
	if e.Message != "" {
		body["Message"] = e.Message
	}
	data, _ := json.Marshal(body)
	w.Write(data)
}

func invalidInput(msg string) *apiError {
	return &apiError{Status: 400, Code: "InvalidInputException", Message: msg}
}

type failedFinding struct {
	ID           string `json:"Id"`
	ErrorCode    string `json:"ErrorCode"`
	ErrorMessage string `json:"ErrorMessage"`
}

// importFindings is BatchImportFindings: the request's limits and
// authorization first (any finding for another account or product fails the
// whole request, as IAM evaluates every finding's product), then each
// finding on its own.
func (s *Server) importFindings(c *call) (any, *apiError) {
	var in struct {
		Findings *[]json.RawMessage `json:"Findings"`
	}
	if err := json.Unmarshal(c.Body, &in); err != nil {
		return nil, invalidInput("The request body is not valid JSON: " + err.Error())
	}
	switch {
	case in.Findings == nil:
		return nil, invalidInput("1 validation error detected: Value null at 'findings' failed to satisfy constraint: Member must not be null")
	case len(*in.Findings) == 0, len(*in.Findings) > maxImportFindings:
		// UNCONFIRMED: the exact wording; the limit (1 to 100 findings) is documented.
		return nil, invalidInput(fmt.Sprintf("1 validation error detected: Value at 'findings' failed to satisfy constraint: "+
			"Member must have length between 1 and %d (it has %d)", maxImportFindings, len(*in.Findings)))
	}
	docs := make([]map[string]json.RawMessage, len(*in.Findings))
	own := productArn(c.Account, c.Region)
	for i, raw := range *in.Findings {
		if err := json.Unmarshal(raw, &docs[i]); err != nil || docs[i] == nil {
			return nil, invalidInput(fmt.Sprintf("Findings[%d] is not a JSON object", i))
		}
		var arn, acct string
		json.Unmarshal(docs[i]["ProductArn"], &arn)
		json.Unmarshal(docs[i]["AwsAccountId"], &acct)
		if arn != "" && arn != own || acct != "" && acct != c.Account {
			resource := arn
			if resource == "" {
				resource = own
			}
			return nil, &apiError{Status: 403, Code: "AccessDeniedException", Message: "User: " + c.Principal +
				" is not authorized to perform: securityhub:BatchImportFindings on resource: " + resource}
		}
	}

	out := struct {
		FailedCount    int             `json:"FailedCount"`
		SuccessCount   int             `json:"SuccessCount"`
		FailedFindings []failedFinding `json:"FailedFindings"`
	}{FailedFindings: []failedFinding{}}
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	k := regionKey{c.Account, c.Region}
	st := h.stores[k]
	if st == nil {
		st = &findingStore{byKey: map[string]*storedFinding{}}
		h.stores[k] = st
	}
	for _, doc := range docs {
		var id string
		json.Unmarshal(doc["Id"], &id)
		if msg := validateFinding(doc); msg != "" {
			out.FailedCount++
			out.FailedFindings = append(out.FailedFindings, failedFinding{ID: id, ErrorCode: "InvalidInput", ErrorMessage: msgASFF + msg})
			continue
		}
		out.SuccessCount++
		f := &storedFinding{ID: id, Doc: doc}
		json.Unmarshal(doc["ProductArn"], &f.ProductArn)
		var extra struct {
			RecordState string
			Compliance  struct{ Status string }
		}
		if b, err := json.Marshal(doc); err == nil {
			json.Unmarshal(b, &extra)
		}
		f.RecordState = or(extra.RecordState, "ACTIVE")
		f.ComplianceStatus = extra.Compliance.Status
		// Security Hub fills in what the provider may leave out.
		setDefault(doc, "RecordState", f.RecordState)
		setDefault(doc, "Region", c.Region)
		setDefault(doc, "WorkflowState", "NEW")
		setDefault(doc, "Workflow", map[string]string{"Status": "NEW"})
		setDefault(doc, "ProcessedAt", c.Now.UTC().Format("2006-01-02T15:04:05.000Z"))
		key := f.ProductArn + "\x00" + id
		if st.byKey[key] == nil {
			st.order = append(st.order, key)
		}
		st.byKey[key] = f
	}
	return out, nil
}

func setDefault(doc map[string]json.RawMessage, field string, v any) {
	if _, ok := doc[field]; ok {
		return
	}
	b, _ := json.Marshal(v)
	doc[field] = b
}

// validateFinding checks one finding against the ASFF rules Security Hub
// enforces on import, and says what is wrong in the words of its validator
// ("" when nothing is).
func validateFinding(doc map[string]json.RawMessage) string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	str := func(field string, max int) (string, bool) {
		raw, ok := doc[field]
		if !ok {
			bad("data should have required property '%s'", field)
			return "", false
		}
		var v string
		if json.Unmarshal(raw, &v) != nil {
			bad("data.%s should be string", field)
			return "", false
		}
		switch {
		case len(v) < 1:
			bad("data.%s should NOT be shorter than 1 characters", field)
		case max > 0 && len(v) > max:
			bad("data.%s should NOT be longer than %d characters", field, max)
		}
		return v, true
	}
	if v, ok := str("AwsAccountId", 0); ok && !accountIDRE.MatchString(v) {
		bad("data.AwsAccountId should match pattern \"^[0-9]{12}$\"")
	}
	for _, f := range []string{"CreatedAt", "UpdatedAt"} {
		if v, ok := str(f, 0); ok {
			if _, err := time.Parse(time.RFC3339Nano, v); err != nil {
				bad("data.%s should match format \"date-time\"", f)
			}
		}
	}
	str("Description", 1024)
	str("GeneratorId", 512)
	str("Id", 512)
	str("ProductArn", 2048)
	str("Title", 256)
	if v, ok := str("SchemaVersion", 0); ok && v != asffSchemaVersion {
		bad("data.SchemaVersion should be equal to one of the allowed values")
	}

	if raw, ok := doc["Resources"]; !ok {
		bad("data should have required property 'Resources'")
	} else {
		var rs []map[string]json.RawMessage
		switch {
		case json.Unmarshal(raw, &rs) != nil:
			bad("data.Resources should be array")
		case len(rs) < 1:
			bad("data.Resources should NOT have fewer than 1 items")
		case len(rs) > 32:
			bad("data.Resources should NOT have more than 32 items")
		}
		for i, r := range rs {
			for _, f := range []string{"Id", "Type"} {
				var v string
				if _, ok := r[f]; !ok {
					bad("data.Resources[%d] should have required property '%s'", i, f)
				} else if json.Unmarshal(r[f], &v) != nil || v == "" {
					bad("data.Resources[%d].%s should NOT be shorter than 1 characters", i, f)
				}
			}
		}
	}

	// Severity and Types: at the top level, or in FindingProviderFields.
	top := checkSeverityTypes(doc, "data")
	if top != nil {
		var fpf map[string]json.RawMessage
		if raw, ok := doc["FindingProviderFields"]; !ok {
			problems = append(problems, top...)
			bad("data should have required property 'FindingProviderFields'")
			bad("data should match some schema in anyOf")
		} else if json.Unmarshal(raw, &fpf) != nil {
			bad("data.FindingProviderFields should be object")
		} else if inner := checkSeverityTypes(fpf, "data.FindingProviderFields"); inner != nil {
			problems = append(problems, inner...)
			bad("data should match some schema in anyOf")
		}
	}

	var opt struct {
		RecordState *string
		Compliance  *struct{ Status *string }
	}
	if b, err := json.Marshal(doc); err == nil && json.Unmarshal(b, &opt) == nil {
		if opt.RecordState != nil && !slices.Contains(recordStates, *opt.RecordState) {
			bad("data.RecordState should be equal to one of the allowed values")
		}
		if opt.Compliance != nil && opt.Compliance.Status != nil && !slices.Contains(complianceSts, *opt.Compliance.Status) {
			bad("data.Compliance.Status should be equal to one of the allowed values")
		}
	} else if err == nil {
		bad("data.RecordState or data.Compliance has the wrong type")
	}
	if len(problems) == 0 {
		return ""
	}
	return strings.Join(problems, ", ") + "."
}

// checkSeverityTypes checks Severity (a Label or Normalized) and Types (1 to
// 50 of namespace/category/classifier) in obj; nil when both are right.
func checkSeverityTypes(obj map[string]json.RawMessage, at string) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if raw, ok := obj["Severity"]; !ok {
		bad("%s should have required property 'Severity'", at)
	} else {
		var sev struct {
			Label      *string
			Normalized *int
			Product    *float64
		}
		switch {
		case json.Unmarshal(raw, &sev) != nil:
			bad("%s.Severity should be object", at)
		case sev.Label == nil && sev.Normalized == nil:
			bad("%s.Severity should have required property 'Label'", at)
		case sev.Label != nil && !slices.Contains(severityLabel, *sev.Label):
			bad("%s.Severity.Label should be equal to one of the allowed values", at)
		case sev.Normalized != nil && (*sev.Normalized < 0 || *sev.Normalized > 100):
			bad("%s.Severity.Normalized should be <= 100 and >= 0", at)
		}
	}
	if raw, ok := obj["Types"]; !ok {
		bad("%s should have required property 'Types'", at)
	} else {
		var types []string
		switch {
		case json.Unmarshal(raw, &types) != nil:
			bad("%s.Types should be array of strings", at)
		case len(types) < 1:
			bad("%s.Types should NOT have fewer than 1 items", at)
		case len(types) > 50:
			bad("%s.Types should NOT have more than 50 items", at)
		}
		for i, t := range types {
			if !asffTypeRE.MatchString(t) {
				bad("%s.Types[%d] should match pattern \"^([^/]+)(/[^/]+){0,2}$\"", at, i)
			}
		}
	}
	return problems
}

// stringFilter is one of GetFindings' StringFilter values.
type stringFilter struct {
	Value      string `json:"Value"`
	Comparison string `json:"Comparison"`
}

// getFindings is GetFindings with the filters Id, RecordState and
// ComplianceStatus (EQUALS, NOT_EQUALS, PREFIX), MaxResults and NextToken.
// Other filters are refused; SortCriteria is accepted and ignored (findings
// come in import order).
func (s *Server) getFindings(c *call) (any, *apiError) {
	var in struct {
		Filters      map[string][]stringFilter `json:"Filters"`
		MaxResults   *int                      `json:"MaxResults"`
		NextToken    *string                   `json:"NextToken"`
		SortCriteria json.RawMessage           `json:"SortCriteria"`
	}
	if len(c.Body) > 0 {
		if err := json.Unmarshal(c.Body, &in); err != nil {
			return nil, invalidInput("The request body is not valid JSON or a filter is not a list of {Value, Comparison}: " + err.Error())
		}
	}
	for name, fs := range in.Filters {
		if len(fs) == 0 {
			continue // an empty or null filter filters nothing
		}
		switch name {
		case "Id", "RecordState", "ComplianceStatus":
		default:
			return nil, invalidInput("the emulator does not implement the GetFindings filter " + name +
				" (it has Id, RecordState and ComplianceStatus)")
		}
		for _, f := range fs {
			switch f.Comparison {
			case "EQUALS", "NOT_EQUALS", "PREFIX":
			default:
				return nil, invalidInput("the emulator does not implement the comparison " + strconv.Quote(f.Comparison) +
					" (it has EQUALS, NOT_EQUALS and PREFIX)")
			}
		}
	}
	limit := 100
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 100 {
			return nil, invalidInput("MaxResults must be between 1 and 100")
		}
		limit = *in.MaxResults
	}

	h := s.hub
	h.mu.Lock()
	var kept []*storedFinding
	if st := h.stores[regionKey{c.Account, c.Region}]; st != nil {
		for _, key := range st.order {
			f := st.byKey[key]
			if matchFilters(in.Filters["Id"], f.ID) && matchFilters(in.Filters["RecordState"], f.RecordState) &&
				matchFilters(in.Filters["ComplianceStatus"], f.ComplianceStatus) {
				kept = append(kept, f)
			}
		}
	}
	docs := make([]map[string]json.RawMessage, 0, len(kept))
	// A token belongs to one listing: the account, Region and filters.
	fkey, _ := json.Marshal(in.Filters)
	listing := c.Account + "/" + c.Region + "/" + stableHex(string(fkey))[:16]
	start := 0
	if in.NextToken != nil {
		n, ok := s.decodeListToken(*in.NextToken, "GetFindings", listing)
		if !ok || n > len(kept) {
			h.mu.Unlock()
			return nil, invalidInput("The NextToken is not valid")
		}
		start = n
	}
	end := min(start+limit, len(kept))
	for _, f := range kept[start:end] {
		docs = append(docs, f.Doc)
	}
	data, err := json.Marshal(docs)
	h.mu.Unlock()
	if err != nil {
		return nil, &apiError{Status: 500, Code: "InternalException", Message: "emulator bug: " + err.Error()}
	}
	out := map[string]any{"Findings": json.RawMessage(data)}
	if end < len(kept) {
		out["NextToken"] = s.encodeListToken("GetFindings", listing, end)
	}
	return out, nil
}

// matchFilters applies one field's filters: any EQUALS or PREFIX value
// matches (when there are some), and no NOT_EQUALS value does.
func matchFilters(fs []stringFilter, v string) bool {
	positive, matched := false, false
	for _, f := range fs {
		switch f.Comparison {
		case "NOT_EQUALS":
			if v == f.Value {
				return false
			}
		case "EQUALS":
			positive = true
			matched = matched || v == f.Value
		case "PREFIX":
			positive = true
			matched = matched || strings.HasPrefix(v, f.Value)
		}
	}
	return !positive || matched
}
