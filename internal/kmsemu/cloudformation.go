package kmsemu

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// CloudFormation (AWS Query protocol, API version 2010-05-15): the stack
// listings kmsrotor reads to learn which keys stacks own — ListStacks,
// ListStackResources and DescribeStackResources — from the estate's stacks.

const (
	cfnVersion   = "2010-05-15"
	cfnNamespace = "http://cloudformation.amazonaws.com/doc/2010-05-15/"
	// cfnPageSize is how many stacks or resources a page holds. UNCONFIRMED:
	// CloudFormation does not document its page size; 100 is taken.
	cfnPageSize = 100
)

// cloudFormation holds the estate's stacks by account and Region.
type cloudFormation struct {
	stacks map[regionKey][]*cfnStack
}

type cfnStack struct {
	name, id, status string
	created          time.Time
	resources        []StackResource
}

// typedStacks copies an account's stacks with each resource's type found
// from the account's keys, so that the type survives the keys' removal
// from the kept estate.
func typedStacks(a *Account) []Stack {
	if len(a.Stacks) == 0 {
		return nil
	}
	out := make([]Stack, len(a.Stacks))
	for i, st := range a.Stacks {
		st.Resources = slices.Clone(st.Resources)
		for j := range st.Resources {
			st.Resources[j].Type = stackResourceType(a, st.Region, st.Resources[j])
		}
		out[i] = st
	}
	return out
}

func newCloudFormation(e *Estate) *cloudFormation {
	cf := &cloudFormation{stacks: map[regionKey][]*cfnStack{}}
	for _, a := range e.Accounts {
		for i, st := range a.Stacks {
			k := regionKey{a.ID, st.Region}
			// Stack IDs are stable per account, Region and name; the
			// creation dates are plausible and fixed, like accounts'.
			id := "arn:" + partitionOf(st.Region) + ":cloudformation:" + st.Region + ":" + a.ID + ":stack/" +
				st.Name + "/" + stableUUID(a.ID+"/"+st.Region+"/"+st.Name+"/"+fmt.Sprint(i))
			cf.stacks[k] = append(cf.stacks[k], &cfnStack{
				name: st.Name, id: id, status: or(st.Status, "CREATE_COMPLETE"),
				created:   time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour),
				resources: st.Resources,
			})
		}
	}
	return cf
}

// stableUUID is a UUID-shaped lower-case hex ID derived from s.
func stableUUID(s string) string {
	h := strings.ToLower(stableHex(s))
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// find is the stack a StackName names in the account-Region: a live stack
// by name, or any stack (deleted ones too) by stack ID.
func (cf *cloudFormation) find(account, region, name string) *cfnStack {
	for _, st := range cf.stacks[regionKey{account, region}] {
		if strings.HasPrefix(name, "arn:") {
			if st.id == name {
				return st
			}
		} else if st.name == name && st.status != "DELETE_COMPLETE" {
			return st
		}
	}
	return nil
}

type cfnStackSummary struct {
	StackID             string `xml:"StackId"`
	StackName           string `xml:"StackName"`
	CreationTime        string `xml:"CreationTime"`
	LastUpdatedTime     string `xml:"LastUpdatedTime,omitempty"`
	DeletionTime        string `xml:"DeletionTime,omitempty"`
	StackStatus         string `xml:"StackStatus"`
	TemplateDescription string `xml:"TemplateDescription,omitempty"`
	DriftStatus         string `xml:"DriftInformation>StackDriftStatus"`
}

type listStacksResponse struct {
	XMLName   xml.Name          `xml:"http://cloudformation.amazonaws.com/doc/2010-05-15/ ListStacksResponse"`
	Summaries []cfnStackSummary `xml:"ListStacksResult>StackSummaries>member"`
	NextToken string            `xml:"ListStacksResult>NextToken,omitempty"`
	Metadata  responseMetadata  `xml:"ResponseMetadata"`
}

type cfnResourceSummary struct {
	LogicalResourceID    string `xml:"LogicalResourceId"`
	PhysicalResourceID   string `xml:"PhysicalResourceId"`
	ResourceType         string `xml:"ResourceType"`
	LastUpdatedTimestamp string `xml:"LastUpdatedTimestamp"`
	ResourceStatus       string `xml:"ResourceStatus"`
	DriftStatus          string `xml:"DriftInformation>StackResourceDriftStatus"`
}

type listStackResourcesResponse struct {
	XMLName   xml.Name             `xml:"http://cloudformation.amazonaws.com/doc/2010-05-15/ ListStackResourcesResponse"`
	Summaries []cfnResourceSummary `xml:"ListStackResourcesResult>StackResourceSummaries>member"`
	NextToken string               `xml:"ListStackResourcesResult>NextToken,omitempty"`
	Metadata  responseMetadata     `xml:"ResponseMetadata"`
}

type cfnStackResource struct {
	StackName          string `xml:"StackName"`
	StackID            string `xml:"StackId"`
	LogicalResourceID  string `xml:"LogicalResourceId"`
	PhysicalResourceID string `xml:"PhysicalResourceId"`
	ResourceType       string `xml:"ResourceType"`
	Timestamp          string `xml:"Timestamp"`
	ResourceStatus     string `xml:"ResourceStatus"`
	DriftStatus        string `xml:"DriftInformation>StackResourceDriftStatus"`
}

type describeStackResourcesResponse struct {
	XMLName   xml.Name           `xml:"http://cloudformation.amazonaws.com/doc/2010-05-15/ DescribeStackResourcesResponse"`
	Resources []cfnStackResource `xml:"DescribeStackResourcesResult>StackResources>member"`
	Metadata  responseMetadata   `xml:"ResponseMetadata"`
}

const cfnTime = "2006-01-02T15:04:05.000Z"

// serveCloudFormation answers ListStacks, ListStackResources and
// DescribeStackResources.
func (s *Server) serveCloudFormation(w http.ResponseWriter, ri *reqInfo, c *call) {
	form := url.Values(c.Form)
	cf := s.cfn
	stacks := cf.stacks[regionKey{c.Account, c.Region}]
	validation := func(msg string) { s.writeError(w, ri, &apiError{Status: 400, Code: "ValidationError", Message: msg}) }
	switch ri.op {
	case "ListStacks":
		filter := indexed(form, "StackStatusFilter.member")
		for _, f := range filter {
			if !slices.Contains(stackStatuses, f) {
				validation("1 validation error detected: Value '[" + strings.Join(filter, ", ") +
					"]' at 'stackStatusFilter' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [" +
					strings.Join(stackStatuses, ", ") + "]]")
				return
			}
		}
		var kept []*cfnStack
		for _, st := range stacks {
			if len(filter) == 0 || slices.Contains(filter, st.status) {
				kept = append(kept, st)
			}
		}
		start, end, next, ok := s.cfnPage(form, ri.op, c.Account+"/"+c.Region+"/"+strings.Join(filter, ","), len(kept))
		if !ok {
			validation("Invalid NextToken")
			return
		}
		out := listStacksResponse{Summaries: []cfnStackSummary{}, NextToken: next, Metadata: responseMetadata{ri.id}}
		for _, st := range kept[start:end] {
			sum := cfnStackSummary{StackID: st.id, StackName: st.name, CreationTime: st.created.Format(cfnTime),
				StackStatus: st.status, DriftStatus: "NOT_CHECKED"}
			if st.status == "DELETE_COMPLETE" {
				sum.DeletionTime = st.created.Add(24 * time.Hour).Format(cfnTime)
			}
			out.Summaries = append(out.Summaries, sum)
		}
		s.writeXML(w, ri, out)

	case "ListStackResources":
		name := form.Get("StackName")
		if name == "" {
			validation("1 validation error detected: Value null at 'stackName' failed to satisfy constraint: Member must not be null")
			return
		}
		st := cf.find(c.Account, c.Region, name)
		if st == nil {
			validation("Stack with id " + name + " does not exist")
			return
		}
		start, end, next, ok := s.cfnPage(form, ri.op, st.id, len(st.resources))
		if !ok {
			validation("Invalid NextToken")
			return
		}
		out := listStackResourcesResponse{Summaries: []cfnResourceSummary{}, NextToken: next, Metadata: responseMetadata{ri.id}}
		for _, r := range st.resources[start:end] {
			out.Summaries = append(out.Summaries, cfnResourceSummary{
				LogicalResourceID: r.LogicalID, PhysicalResourceID: r.KeyID, ResourceType: or(r.Type, cfnKeyType),
				LastUpdatedTimestamp: st.created.Format(cfnTime), ResourceStatus: or(r.Status, "CREATE_COMPLETE"),
				DriftStatus: "NOT_CHECKED",
			})
		}
		s.writeXML(w, ri, out)

	case "DescribeStackResources":
		name, physical, logical := form.Get("StackName"), form.Get("PhysicalResourceId"), form.Get("LogicalResourceId")
		var st *cfnStack
		switch {
		case name != "":
			if st = cf.find(c.Account, c.Region, name); st == nil {
				validation("Stack with id " + name + " does not exist")
				return
			}
		case physical != "":
			for _, cand := range stacks {
				if cand.status != "DELETE_COMPLETE" && slices.ContainsFunc(cand.resources,
					func(r StackResource) bool { return r.KeyID == physical }) {
					st = cand
					break
				}
			}
			if st == nil {
				validation("Stack for " + physical + " does not exist")
				return
			}
		default:
			// UNCONFIRMED: the wording when neither is given.
			validation("Either StackName or PhysicalResourceId must be specified.")
			return
		}
		out := describeStackResourcesResponse{Resources: []cfnStackResource{}, Metadata: responseMetadata{ri.id}}
		for _, r := range st.resources {
			if logical != "" && r.LogicalID != logical {
				continue
			}
			out.Resources = append(out.Resources, cfnStackResource{
				StackName: st.name, StackID: st.id, LogicalResourceID: r.LogicalID, PhysicalResourceID: r.KeyID,
				ResourceType: or(r.Type, cfnKeyType), Timestamp: st.created.Format(cfnTime),
				ResourceStatus: or(r.Status, "CREATE_COMPLETE"), DriftStatus: "NOT_CHECKED",
			})
		}
		s.writeXML(w, ri, out)

	default:
		s.writeError(w, ri, &apiError{Status: 400, Code: "InvalidAction",
			Message: "Could not find operation " + ri.op + " for version " + cfnVersion})
	}
}

// cfnPage is the window of a listing of n items that the request's
// NextToken asks for; ok is false for a token of another listing.
func (s *Server) cfnPage(form url.Values, op, listing string, n int) (start, end int, next string, ok bool) {
	if tok := form.Get("NextToken"); tok != "" {
		start, ok = s.decodeListToken(tok, op, listing)
		if !ok || start > n {
			return 0, 0, "", false
		}
	}
	end = min(start+cfnPageSize, n)
	if end < n {
		next = s.encodeListToken(op, listing, end)
	}
	return start, end, next, true
}

// stableHex is 64 hex digits derived from s.
func stableHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
