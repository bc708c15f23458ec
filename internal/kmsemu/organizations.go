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
	ID              string   `json:"Id"`
	Arn             string   `json:"Arn"`
	Email           string   `json:"Email"`
	Name            string   `json:"Name"`
	Status          string   `json:"Status"`
	State           string   `json:"State"`
	JoinedMethod    string   `json:"JoinedMethod"`
	JoinedTimestamp float64  `json:"JoinedTimestamp"`
	Paths           []string `json:"Paths,omitempty"`
}

// orgTree is one organization as Organizations answers it: its root, its
// units and where each member account sits.
type orgTree struct {
	org       Organization
	partition string
	root      string
	members   []string            // account IDs, in estate order
	member    map[string]bool     // account ID -> in the organization
	nodes     map[string]*orgNode // root and unit IDs
	parent    map[string]string   // account or unit ID -> parent ID
}

// orgNode is the root or a unit: its child units and accounts, in order.
type orgNode struct {
	id, name, path string
	units          []string
	accounts       []string
}

// newOrgTrees builds the estate's organizations, by partition.
func newOrgTrees(e *Estate, accounts map[string]*accountInfo) map[string]*orgTree {
	trees := map[string]*orgTree{}
	orgs := append([]Organization{e.Organization}, e.PartitionOrganizations...)
	for _, org := range orgs {
		mgmt := accounts[org.ManagementAccount]
		if org.ID == "" || mgmt == nil {
			continue
		}
		t := &orgTree{org: org, partition: mgmt.partition, root: orgRootID(&org),
			member: map[string]bool{}, nodes: map[string]*orgNode{}, parent: map[string]string{}}
		root := &orgNode{id: t.root, name: "Root", path: org.ID + "/" + t.root + "/"}
		t.nodes[t.root] = root
		var walk func(parent *orgNode, units []OrgUnit, path string)
		walk = func(parent *orgNode, units []OrgUnit, path string) {
			for _, u := range units {
				id := unitID(t.root, path+"/"+u.Name, u.ID)
				n := &orgNode{id: id, name: u.Name, path: parent.path + id + "/"}
				t.nodes[id] = n
				t.parent[id] = parent.id
				parent.units = append(parent.units, id)
				for _, a := range u.Accounts {
					t.parent[a] = id
					n.accounts = append(n.accounts, a)
				}
				walk(n, u.Units, path+"/"+u.Name)
			}
		}
		walk(root, org.Units, "")
		for _, a := range e.Accounts {
			if accounts[a.ID].partition != t.partition {
				continue
			}
			t.members = append(t.members, a.ID)
			t.member[a.ID] = true
			if _, placed := t.parent[a.ID]; !placed {
				t.parent[a.ID] = t.root
				root.accounts = append(root.accounts, a.ID)
			}
		}
		trees[t.partition] = t
	}
	return trees
}

// orgOps are the Organizations operations of the emulator.
var orgOps = map[string]bool{"ListAccounts": true, "DescribeOrganization": true, "ListRoots": true,
	"ListChildren": true, "ListAccountsForParent": true, "ListOrganizationalUnitsForParent": true}

// orgMaxResults is the largest MaxResults of the listings. UNCONFIRMED: how
// many a page holds without MaxResults ("the service chooses"); 20, the
// largest allowed value, is taken.
const orgMaxResults = 20

// serveOrganizations answers the Organizations operations: the account
// listings, the root and OU tree, and DescribeOrganization.
func (s *Server) serveOrganizations(w http.ResponseWriter, ri *reqInfo, c *call) {
	if !orgOps[ri.op] {
		s.writeError(w, ri, &apiError{Status: 400, Code: "UnknownOperationException"})
		return
	}
	t := s.orgOf(c.Account)
	if t == nil {
		s.writeError(w, ri, &apiError{Status: 400, Code: "AWSOrganizationsNotInUseException",
			Message: "Your account is not a member of an organization."})
		return
	}
	if ri.op == "DescribeOrganization" {
		s.writeJSON(w, ri, map[string]any{"Organization": s.describeOrganization(t)})
		return
	}
	if c.Account != t.org.ManagementAccount {
		s.writeError(w, ri, &apiError{Status: 400, Code: "AccessDeniedException",
			Message: "You don't have permissions to access this resource."})
		return
	}

	var in struct {
		MaxResults *int    `json:"MaxResults"`
		NextToken  *string `json:"NextToken"`
		ParentId   *string `json:"ParentId"`
		ChildType  *string `json:"ChildType"`
	}
	if aerr := decodeJSONInput(c.Body, &in); aerr != nil {
		s.writeError(w, ri, aerr)
		return
	}
	limit := orgMaxResults
	if in.MaxResults != nil {
		limit = *in.MaxResults
		reason, bound := "", ""
		switch {
		case limit < 1:
			reason, bound = "MIN_VALUE_EXCEEDED", "greater than or equal to 1"
		case limit > orgMaxResults:
			reason, bound = "MAX_VALUE_EXCEEDED", "less than or equal to 20"
		}
		if reason != "" {
			s.writeOrgError(w, ri, orgInvalidInput(reason, "1 validation error detected: Value '"+
				strconv.Itoa(limit)+"' at 'maxResults' failed to satisfy constraint: Member must have value "+bound))
			return
		}
	}

	// The listing: each item is an account ID, a unit ID or a root ID.
	var items []string
	parent := ""
	switch ri.op {
	case "ListAccounts":
		items = t.members
	case "ListRoots":
		items = []string{t.root}
	default:
		node, ierr := t.parentNode(in.ParentId)
		if ierr != nil {
			s.writeOrgError(w, ri, ierr)
			return
		}
		if node == nil {
			s.writeError(w, ri, &apiError{Status: 400, Code: "ParentNotFoundException",
				Message: "We can't find a root or OU with the ParentId that you specified."})
			return
		}
		parent = node.id
		switch ri.op {
		case "ListAccountsForParent":
			items = node.accounts
		case "ListOrganizationalUnitsForParent":
			items = node.units
		case "ListChildren":
			switch ct := ptrString(in.ChildType); ct {
			case "ACCOUNT":
				items = node.accounts
			case "ORGANIZATIONAL_UNIT":
				items = node.units
			default:
				msg := "1 validation error detected: Value '" + ct + "' at 'childType' failed to satisfy constraint: Member must satisfy enum value set: [ACCOUNT, ORGANIZATIONAL_UNIT]"
				if in.ChildType == nil {
					msg = "1 validation error detected: Value null at 'childType' failed to satisfy constraint: Member must not be null"
				}
				s.writeOrgError(w, ri, orgInvalidInput("INVALID_ENUM", msg))
				return
			}
			parent += ":" + *in.ChildType
		}
	}

	start := 0
	if in.NextToken != nil {
		n, ok := s.decodeListToken(*in.NextToken, ri.op, parent)
		if !ok || n > len(items) {
			s.writeOrgError(w, ri, orgInvalidInput("INVALID_PAGINATION_TOKEN",
				"You specified an invalid value for nextToken. You must get the value from the response to a previous call to the API."))
			return
		}
		start = n
	}
	end := min(start+limit, len(items))
	next := ""
	switch {
	case in.NextToken == nil && t.org.EmptyPages:
		// An empty first page that still says there is more.
		end = 0
		next = s.encodeListToken(ri.op, parent, 0)
	case end < len(items):
		next = s.encodeListToken(ri.op, parent, end)
	}
	page := items[start:end]
	var out map[string]any
	switch ri.op {
	case "ListAccounts", "ListAccountsForParent":
		accts := make([]orgAccount, 0, len(page))
		for _, id := range page {
			accts = append(accts, s.orgAccount(t, id))
		}
		out = map[string]any{"Accounts": accts}
	case "ListRoots":
		roots := make([]map[string]any, 0, len(page))
		for range page {
			roots = append(roots, map[string]any{
				"Id": t.root, "Arn": t.arn("root/" + t.org.ID + "/" + t.root), "Name": "Root",
				"PolicyTypes": []map[string]string{{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}},
			})
		}
		out = map[string]any{"Roots": roots}
	case "ListOrganizationalUnitsForParent":
		ous := make([]map[string]string, 0, len(page))
		for _, id := range page {
			n := t.nodes[id]
			ous = append(ous, map[string]string{"Id": id, "Arn": t.arn("ou/" + t.org.ID + "/" + id), "Name": n.name, "Path": n.path})
		}
		out = map[string]any{"OrganizationalUnits": ous}
	case "ListChildren":
		kids := make([]map[string]string, 0, len(page))
		for _, id := range page {
			kids = append(kids, map[string]string{"Id": id, "Type": *in.ChildType})
		}
		out = map[string]any{"Children": kids}
	}
	if next != "" {
		out["NextToken"] = next
	}
	s.writeJSON(w, ri, out)
}

// parentIDPattern is the ParentId constraint of the Organizations model.
const parentIDPattern = `^(r-[0-9a-z]{4,32})|(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$`

// parentNode finds a ParentId's root or unit: an InvalidInputException for
// a missing or malformed ID, nil for one the organization does not have.
func (t *orgTree) parentNode(id *string) (*orgNode, *orgInvalidInputError) {
	if id == nil {
		return nil, orgInvalidInput("INVALID_INPUT",
			"1 validation error detected: Value null at 'parentId' failed to satisfy constraint: Member must not be null")
	}
	if !rootIDRE.MatchString(*id) && !ouIDRE.MatchString(*id) {
		return nil, orgInvalidInput("INVALID_PATTERN", "1 validation error detected: Value '"+*id+
			"' at 'parentId' failed to satisfy constraint: Member must satisfy regular expression pattern: "+parentIDPattern)
	}
	return t.nodes[*id], nil
}

// arn is an Organizations ARN of the organization: its partition, the
// management account and resource.
func (t *orgTree) arn(resource string) string {
	return "arn:" + t.partition + ":organizations::" + t.org.ManagementAccount + ":" + resource
}

// orgOf is the organization the account is a member of, or nil.
func (s *Server) orgOf(account string) *orgTree {
	a := s.accounts[account]
	if a == nil {
		return nil
	}
	if t := s.orgs[a.partition]; t != nil && t.member[account] {
		return t
	}
	return nil
}

func ptrString(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func (s *Server) orgAccount(t *orgTree, id string) orgAccount {
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
	if id == t.org.ManagementAccount {
		method = "INVITED"
	}
	email := a.Email
	if email == "" {
		email = "aws+" + id + "@example.com"
	}
	return orgAccount{
		ID:              id,
		Arn:             t.arn("account/" + t.org.ID + "/" + id),
		Email:           email,
		Name:            a.Name,
		Status:          status,
		State:           state,
		JoinedMethod:    method,
		JoinedTimestamp: float64(a.joined.Unix()),
		Paths:           []string{t.nodes[t.parent[id]].path + id + "/"},
	}
}

func (s *Server) describeOrganization(t *orgTree) map[string]any {
	mgmt := s.orgAccount(t, t.org.ManagementAccount)
	return map[string]any{
		"Id":                 t.org.ID,
		"Arn":                t.arn("organization/" + t.org.ID),
		"FeatureSet":         "ALL",
		"MasterAccountArn":   mgmt.Arn,
		"MasterAccountId":    t.org.ManagementAccount,
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

// encodeListToken makes an opaque NextToken: the offset in one listing
// (operation and parent), tied to this server by a salt so that a made-up,
// stale or foreign token is rejected.
func (s *Server) encodeListToken(op, parent string, offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("la2:" + s.tokenSalt + ":" + op + ":" + parent + ":" + strconv.Itoa(offset)))
}

func (s *Server) decodeListToken(tok, op, parent string) (int, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	rest, ok := strings.CutPrefix(string(raw), "la2:"+s.tokenSalt+":"+op+":"+parent+":")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	return n, err == nil && n >= 0
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
