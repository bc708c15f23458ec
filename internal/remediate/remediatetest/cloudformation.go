// Package remediatetest is a stand-in for CloudFormation's stack listing,
// answering AWS's Query protocol in AWS's XML shapes (ListStacks,
// ListStackResources, DescribeStackResources, with NextToken pagination),
// until the emulator serves CloudFormation. Tests only.
package remediatetest

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// Stack is one stack of an account and Region.
type Stack struct {
	Name, Region, Account string
	Status                string // default CREATE_COMPLETE
	Resources             []Resource
}

// Resource is one stack resource.
type Resource struct {
	LogicalID, PhysicalID, Type string
}

// CloudFormation serves Stacks. PageSize (default 1) makes every list
// paginate. Deny answers AccessDenied for every call in those accounts.
type CloudFormation struct {
	Stacks   []Stack
	PageSize int
	Deny     map[string]bool

	mu    sync.Mutex
	calls map[string]int
}

// Calls counts requests per action.
func (c *CloudFormation) Calls() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for k, v := range c.calls {
		out[k] = v
	}
	return out
}

// IsRequest reports whether r is signed for CloudFormation.
func IsRequest(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Authorization"), "/cloudformation/aws4_request")
}

// scope reads account (from the access key, which the emulator's default
// credentials tie to 123456789012 only) and Region of the credential scope.
func scope(r *http.Request) (region string) {
	a := r.Header.Get("Authorization")
	i := strings.Index(a, "Credential=")
	if i < 0 {
		return ""
	}
	parts := strings.Split(strings.SplitN(a[i+len("Credential="):], ",", 2)[0], "/")
	if len(parts) >= 3 {
		return parts[2]
	}
	return ""
}

const ns = "http://cloudformation.amazonaws.com/doc/2010-05-15/"

// ServeHTTP answers one request. Account is given by the X-Test-Account
// header if set, else 123456789012.
func (c *CloudFormation) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		c.fail(w, 400, "ValidationError", err.Error())
		return
	}
	action := r.PostForm.Get("Action")
	c.mu.Lock()
	if c.calls == nil {
		c.calls = map[string]int{}
	}
	c.calls[action]++
	c.mu.Unlock()
	region := scope(r)
	account := AccountOf(r)
	if c.Deny[account] {
		c.fail(w, 403, "AccessDenied", "User: arn:aws:sts::"+account+":assumed-role/x is not authorized to perform: cloudformation:"+action)
		return
	}
	var stacks []Stack
	for _, s := range c.Stacks {
		if s.Region == region && (s.Account == "" || s.Account == account) {
			if s.Status == "" {
				s.Status = "CREATE_COMPLETE"
			}
			stacks = append(stacks, s)
		}
	}
	size := c.PageSize
	if size <= 0 {
		size = 1
	}
	start, _ := strconv.Atoi(r.PostForm.Get("NextToken"))
	page := func(n int) (int, string) {
		end := min(start+size, n)
		if end < n {
			return end, strconv.Itoa(end)
		}
		return end, ""
	}
	var b strings.Builder
	switch action {
	case "ListStacks":
		end, next := page(len(stacks))
		fmt.Fprintf(&b, `<ListStacksResponse xmlns="%s"><ListStacksResult><StackSummaries>`, ns)
		for _, s := range stacks[min(start, end):end] {
			fmt.Fprintf(&b, `<member><StackId>arn:aws:cloudformation:%s:%s:stack/%s/1</StackId><StackStatus>%s</StackStatus><StackName>%s</StackName><CreationTime>2026-01-01T00:00:00Z</CreationTime></member>`,
				region, account, esc(s.Name), s.Status, esc(s.Name))
		}
		b.WriteString(`</StackSummaries>`)
		if next != "" {
			fmt.Fprintf(&b, `<NextToken>%s</NextToken>`, next)
		}
		b.WriteString(`</ListStacksResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></ListStacksResponse>`)
	case "ListStackResources":
		name := r.PostForm.Get("StackName")
		var st *Stack
		for i := range stacks {
			if stacks[i].Name == name {
				st = &stacks[i]
			}
		}
		if st == nil {
			c.fail(w, 400, "ValidationError", "Stack with id "+name+" does not exist")
			return
		}
		end, next := page(len(st.Resources))
		fmt.Fprintf(&b, `<ListStackResourcesResponse xmlns="%s"><ListStackResourcesResult><StackResourceSummaries>`, ns)
		for _, res := range st.Resources[min(start, end):end] {
			writeResource(&b, res, "")
		}
		b.WriteString(`</StackResourceSummaries>`)
		if next != "" {
			fmt.Fprintf(&b, `<NextToken>%s</NextToken>`, next)
		}
		b.WriteString(`</ListStackResourcesResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></ListStackResourcesResponse>`)
	case "DescribeStackResources":
		phys := r.PostForm.Get("PhysicalResourceId")
		var st *Stack
		for i := range stacks {
			for _, res := range stacks[i].Resources {
				if res.PhysicalID == phys {
					st = &stacks[i]
				}
			}
		}
		if st == nil {
			c.fail(w, 400, "ValidationError", "Stack for "+phys+" does not exist")
			return
		}
		fmt.Fprintf(&b, `<DescribeStackResourcesResponse xmlns="%s"><DescribeStackResourcesResult><StackResources>`, ns)
		for _, res := range st.Resources {
			writeResource(&b, res, st.Name)
		}
		b.WriteString(`</StackResources></DescribeStackResourcesResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeStackResourcesResponse>`)
	default:
		c.fail(w, 400, "InvalidAction", "Could not find operation "+action)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Write([]byte(b.String()))
}

func writeResource(b *strings.Builder, r Resource, stack string) {
	b.WriteString("<member>")
	if stack != "" {
		fmt.Fprintf(b, "<StackName>%s</StackName><StackId>arn:aws:cloudformation:x:x:stack/%s/1</StackId>", esc(stack), esc(stack))
	}
	fmt.Fprintf(b, "<ResourceStatus>CREATE_COMPLETE</ResourceStatus><LogicalResourceId>%s</LogicalResourceId><LastUpdatedTimestamp>2026-01-01T00:00:00Z</LastUpdatedTimestamp><PhysicalResourceId>%s</PhysicalResourceId><ResourceType>%s</ResourceType>",
		esc(r.LogicalID), esc(r.PhysicalID), esc(r.Type))
	b.WriteString("</member>")
}

func (c *CloudFormation) fail(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<ErrorResponse xmlns="%s"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>r</RequestId></ErrorResponse>`, ns, code, esc(msg))
}

// AccountOf is the account a test request acts in: the X-Test-Account
// header, else the emulator's default account.
func AccountOf(r *http.Request) string {
	if a := r.Header.Get("X-Test-Account"); a != "" {
		return a
	}
	return "123456789012"
}

func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
