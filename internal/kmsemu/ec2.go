package kmsemu

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

const ec2Version = "2016-11-15"

// The emulator keeps its own Region and partition data, so that it
// imports no other package of kmsrotor and could be a module of its own;
// internal/archtest checks that it agrees with internal/kmskey.

// defaultRegions are the commercial Regions every AWS account has enabled
// (opt-in not required). An account of the estate without Regions has these.
var defaultRegions = []string{
	"us-east-1", "us-east-2", "us-west-1", "us-west-2",
	"ap-south-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
	"ap-southeast-1", "ap-southeast-2", "ca-central-1",
	"eu-central-1", "eu-west-1", "eu-west-2", "eu-west-3", "eu-north-1",
	"sa-east-1",
}

// optInRegions are the commercial Regions an account must enable; they show
// as not-opted-in in DescribeRegions AllRegions=true unless enabled.
var optInRegions = []string{
	"af-south-1", "ap-east-1", "ap-east-2", "ap-south-2", "ap-southeast-3",
	"ap-southeast-4", "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-west-1",
	"eu-central-2", "eu-south-1", "eu-south-2", "il-central-1",
	"me-central-1", "me-south-1", "mx-central-1",
}

// otherPartitionRegions are the Regions of the GovCloud, China and European
// Sovereign Cloud partitions.
var otherPartitionRegions = []string{
	"us-gov-east-1", "us-gov-west-1",
	"cn-north-1", "cn-northwest-1",
	"eusc-de-east-1",
}

// DefaultRegions, OptInRegions and OtherPartitionRegions return copies of
// the emulator's Region lists.
func DefaultRegions() []string        { return slices.Clone(defaultRegions) }
func OptInRegions() []string          { return slices.Clone(optInRegions) }
func OtherPartitionRegions() []string { return slices.Clone(otherPartitionRegions) }

// PartitionOf is the partition of a Region, from its name, as ARNs spell it.
func PartitionOf(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	case strings.HasPrefix(region, "eusc-"):
		return "aws-eusc"
	}
	return "aws"
}

// validRegionName says whether name has the shape of an AWS Region name:
// letters and dashes, then a dash and one or two digits (us-east-1,
// us-gov-west-1, cn-north-1). It runs on every request, hence no regexp.
func validRegionName(name string) bool {
	dash := strings.LastIndexByte(name, '-')
	if dash < 4 || len(name)-dash-1 < 1 || len(name)-dash-1 > 2 || name[2] != '-' {
		return false
	}
	for i := 0; i < dash; i++ {
		if c := name[i]; !('a' <= c && c <= 'z' || c == '-' && i > 0 && name[i-1] != '-') {
			return false
		}
	}
	for i := dash + 1; i < len(name); i++ {
		if c := name[i]; c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// regionSet is the set of an account's enabled Regions; none listed means
// the Regions AWS enables by default.
func regionSet(regions []string) map[string]bool {
	if len(regions) == 0 {
		regions = defaultRegions
	}
	m := make(map[string]bool, len(regions))
	for _, r := range regions {
		m[r] = true
	}
	return m
}

type ec2Region struct {
	RegionName     string `xml:"regionName"`
	RegionEndpoint string `xml:"regionEndpoint"`
	OptInStatus    string `xml:"optInStatus"`
}

type describeRegionsResponse struct {
	XMLName    xml.Name    `xml:"http://ec2.amazonaws.com/doc/2016-11-15/ DescribeRegionsResponse"`
	RequestID  string      `xml:"requestId"`
	RegionInfo []ec2Region `xml:"regionInfo>item"`
}

// serveEC2 answers EC2 DescribeRegions (kms-api.md §9): the account's enabled
// Regions, and with AllRegions=true the other commercial Regions as
// not-opted-in.
func (s *Server) serveEC2(w http.ResponseWriter, ri *reqInfo, c *call) {
	if ri.op != "DescribeRegions" {
		s.writeError(w, ri, &apiError{Status: 400, Code: "InvalidAction",
			Message: "The action " + ri.op + " is not valid for this web service."})
		return
	}
	form := url.Values(c.Form)
	all := false
	if v := form.Get("AllRegions"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			s.writeError(w, ri, &apiError{Status: 400, Code: "InvalidParameterValue",
				Message: "Value (" + v + ") for parameter AllRegions is invalid. Expected a boolean."})
			return
		}
		all = b
	}
	acct := s.accounts[c.Account]
	part := partitions[acct.partition]
	var regions []ec2Region
	add := func(name string, enabled bool) {
		status := "not-opted-in"
		if enabled {
			status = "opted-in"
			if slices.Contains(part.defaults, name) {
				status = "opt-in-not-required"
			}
		}
		regions = append(regions, ec2Region{name, "ec2." + name + "." + part.dnsSuffix, status})
	}
	for _, name := range sortedKeys(acct.enabled) {
		add(name, true)
	}
	if all {
		for _, name := range slices.Concat(part.defaults, part.optIn) {
			if !acct.enabled[name] {
				add(name, false)
			}
		}
		slices.SortFunc(regions, func(a, b ec2Region) int { return strings.Compare(a.RegionName, b.RegionName) })
	}

	if names := indexed(form, "RegionName"); len(names) > 0 {
		var kept []ec2Region
		for _, n := range names {
			i := slices.IndexFunc(regions, func(r ec2Region) bool { return r.RegionName == n })
			if i < 0 {
				// UNCONFIRMED: AWS's message for an unknown or disabled
				// RegionName; EC2 answers InvalidParameterValue for bad values.
				s.writeError(w, ri, &apiError{Status: 400, Code: "InvalidParameterValue",
					Message: "Invalid region: " + n})
				return
			}
			kept = append(kept, regions[i])
		}
		regions = kept
	}
	for i := 1; ; i++ {
		p := "Filter." + strconv.Itoa(i) + "."
		name := form.Get(p + "Name")
		if name == "" {
			break
		}
		values := indexed(form, p+"Value")
		regions = slices.DeleteFunc(regions, func(r ec2Region) bool {
			var v string
			switch name {
			case "opt-in-status":
				v = r.OptInStatus
			case "region-name":
				v = r.RegionName
			case "endpoint":
				v = r.RegionEndpoint
			default:
				return false
			}
			return !slices.Contains(values, v)
		})
	}

	s.writeXML(w, ri, describeRegionsResponse{RequestID: ri.id, RegionInfo: regions})
}

// indexed returns the values of a query-protocol list: prefix.1, prefix.2, ...
func indexed(form url.Values, prefix string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := form[prefix+"."+strconv.Itoa(i)]
		if !ok {
			return out
		}
		out = append(out, first(v))
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// writeXML answers a query-protocol success.
func (s *Server) writeXML(w http.ResponseWriter, ri *reqInfo, v any) {
	data, err := xml.Marshal(v)
	if err != nil {
		s.writeError(w, ri, &apiError{Status: 500, Code: internalCode(ri.service),
			Message: "emulator bug: marshal response: " + err.Error()})
		return
	}
	h := w.Header()
	h["Content-Type"] = xmlContentType
	h["X-Amzn-Requestid"] = []string{ri.id}
	ri.status = http.StatusOK
	w.WriteHeader(http.StatusOK)
	if ri.service == "ec2" {
		// EC2 starts its documents with an XML declaration; STS does not.
		w.Write([]byte(xml.Header))
	}
	w.Write(data)
}

// ec2ErrorXML is EC2's error body (kms-api.md §9).
func ec2ErrorXML(e *apiError, requestID string) []byte {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString("<Response><Errors><Error><Code>")
	xml.EscapeText(&b, []byte(e.Code))
	b.WriteString("</Code><Message>")
	xml.EscapeText(&b, []byte(e.Message))
	b.WriteString("</Message></Error></Errors><RequestID>")
	xml.EscapeText(&b, []byte(requestID))
	b.WriteString("</RequestID></Response>")
	return b.Bytes()
}

// parseQueryForm reads the parameters of a query-protocol request: the
// URL's query string and a form-encoded body.
func parseQueryForm(r *http.Request, body []byte) (url.Values, error) {
	form, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	if len(body) > 0 {
		ct := r.Header.Get("Content-Type")
		if ct != "" && !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
			return form, nil
		}
		bf, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, err
		}
		for k, v := range bf {
			form[k] = append(form[k], v...)
		}
	}
	return form, nil
}
