package kmsemu

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// orgAccount is one entry of ListAccounts (kms-api.md §9).
type orgAccount struct {
	ID              string  `json:"Id"`
	Arn             string  `json:"Arn"`
	Email           string  `json:"Email"`
	Name            string  `json:"Name"`
	Status          string  `json:"Status"`
	State           string  `json:"State"`
	JoinedMethod    string  `json:"JoinedMethod"`
	JoinedTimestamp float64 `json:"JoinedTimestamp"`
}

// serveOrganizations answers ListAccounts and DescribeOrganization.
func (s *Server) serveOrganizations(w http.ResponseWriter, ri *reqInfo, c *call) {
	org := s.estate.Organization
	switch ri.op {
	case "ListAccounts", "DescribeOrganization":
	default:
		s.writeError(w, ri, &apiError{Status: 400, Code: "UnknownOperationException"})
		return
	}
	if org.ID == "" || !s.inOrganization(c.Account) {
		s.writeError(w, ri, &apiError{Status: 400, Code: "AWSOrganizationsNotInUseException",
			Message: "Your account is not a member of an organization."})
		return
	}
	if ri.op == "DescribeOrganization" {
		s.writeJSON(w, ri, map[string]any{"Organization": s.describeOrganization()})
		return
	}
	if c.Account != org.ManagementAccount {
		s.writeError(w, ri, &apiError{Status: 400, Code: "AccessDeniedException",
			Message: "You don't have permissions to access this resource."})
		return
	}

	var in struct {
		MaxResults *int    `json:"MaxResults"`
		NextToken  *string `json:"NextToken"`
	}
	if aerr := decodeJSONInput(c.Body, &in); aerr != nil {
		s.writeError(w, ri, aerr)
		return
	}
	// UNCONFIRMED: how many accounts a page holds without MaxResults ("the
	// service chooses"); 20, the largest allowed value, is taken.
	limit := 20
	if in.MaxResults != nil {
		limit = *in.MaxResults
		reason, bound := "", ""
		switch {
		case limit < 1:
			reason, bound = "MIN_VALUE_EXCEEDED", "greater than or equal to 1"
		case limit > 20:
			reason, bound = "MAX_VALUE_EXCEEDED", "less than or equal to 20"
		}
		if reason != "" {
			s.writeOrgError(w, ri, orgInvalidInput(reason, "1 validation error detected: Value '"+
				strconv.Itoa(limit)+"' at 'maxResults' failed to satisfy constraint: Member must have value "+bound))
			return
		}
	}
	start := 0
	if in.NextToken != nil {
		n, ok := s.decodeToken(*in.NextToken)
		if !ok || n > len(s.estate.Accounts) {
			s.writeOrgError(w, ri, orgInvalidInput("INVALID_PAGINATION_TOKEN",
				"You specified an invalid value for nextToken. You must get the value from the response to a previous call to the API."))
			return
		}
		start = n
	}
	end := min(start+limit, len(s.estate.Accounts))
	out := struct {
		Accounts  []orgAccount `json:"Accounts"`
		NextToken string       `json:"NextToken,omitempty"`
	}{Accounts: []orgAccount{}}
	for _, a := range s.estate.Accounts[start:end] {
		out.Accounts = append(out.Accounts, s.orgAccount(a.ID))
	}
	if end < len(s.estate.Accounts) {
		out.NextToken = s.encodeToken(end)
	}
	s.writeJSON(w, ri, out)
}

func (s *Server) inOrganization(account string) bool {
	for _, a := range s.estate.Accounts {
		if a.ID == account {
			return true
		}
	}
	return false
}

func (s *Server) orgAccount(id string) orgAccount {
	org := s.estate.Organization
	a := s.accounts[id]
	state := a.State
	if state == "" {
		state = "ACTIVE"
	}
	// Status (retired 2026-09-09) has no CLOSED or PENDING_ACTIVATION; AWS
	// showed closed accounts as SUSPENDED and new ones as ACTIVE.
	status := state
	switch state {
	case "CLOSED":
		status = "SUSPENDED"
	case "PENDING_ACTIVATION":
		status = "ACTIVE"
	}
	method := "CREATED"
	if id == org.ManagementAccount {
		method = "INVITED"
	}
	email := a.Email
	if email == "" {
		email = "aws+" + id + "@example.com"
	}
	return orgAccount{
		ID:              id,
		Arn:             "arn:aws:organizations::" + org.ManagementAccount + ":account/" + org.ID + "/" + id,
		Email:           email,
		Name:            a.Name,
		Status:          status,
		State:           state,
		JoinedMethod:    method,
		JoinedTimestamp: float64(a.joined.Unix()),
	}
}

func (s *Server) describeOrganization() map[string]any {
	org := s.estate.Organization
	mgmt := s.orgAccount(org.ManagementAccount)
	return map[string]any{
		"Id":                 org.ID,
		"Arn":                "arn:aws:organizations::" + org.ManagementAccount + ":organization/" + org.ID,
		"FeatureSet":         "ALL",
		"MasterAccountArn":   mgmt.Arn,
		"MasterAccountId":    org.ManagementAccount,
		"MasterAccountEmail": mgmt.Email,
		"AvailablePolicyTypes": []map[string]string{
			{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"},
		},
	}
}

// orgInvalidInput is Organizations' InvalidInputException; its Reason
// member (which the frame's error shape lacks) is written by writeOrgError.
type orgInvalidInputError struct {
	apiError
	Reason string
}

func orgInvalidInput(reason, msg string) *orgInvalidInputError {
	return &orgInvalidInputError{apiError{Status: 400, Code: "InvalidInputException", Message: msg}, reason}
}

func (s *Server) writeOrgError(w http.ResponseWriter, ri *reqInfo, e *orgInvalidInputError) {
	ri.status, ri.code = e.Status, e.Code
	h := w.Header()
	h["X-Amzn-Requestid"] = []string{ri.id}
	h["Content-Type"] = jsonContentType
	w.WriteHeader(e.Status)
	data, _ := json.Marshal(map[string]string{"__type": e.Code, "Message": e.Message, "Reason": e.Reason})
	w.Write(data)
}

// encodeToken makes an opaque NextToken: the offset, tied to this server by
// a salt so that a made-up or stale token is rejected.
func (s *Server) encodeToken(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("la1:" + s.tokenSalt + ":" + strconv.Itoa(offset)))
}

func (s *Server) decodeToken(tok string) (int, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	rest, ok := strings.CutPrefix(string(raw), "la1:"+s.tokenSalt+":")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	return n, err == nil && n > 0
}

// decodeJSONInput decodes an awsJson1.1 body (empty means {}); malformed
// JSON or a member of the wrong type is a SerializationException, as the
// AWS front end answers.
func decodeJSONInput(body []byte, v any) *apiError {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		msg := "Start of structure or map found where not expected."
		if ute, ok := err.(*json.UnmarshalTypeError); ok {
			msg = "Unexpected value type in payload: " + ute.Field
		}
		return &apiError{Status: 400, Code: "SerializationException", Message: msg}
	}
	return nil
}
