package kmsemu

import (
	"bytes"
	crand "crypto/rand"
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	stsVersion   = "2011-06-15"
	stsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"
)

type responseMetadata struct {
	RequestID string `xml:"RequestId"`
}

type getCallerIdentityResponse struct {
	XMLName  xml.Name         `xml:"https://sts.amazonaws.com/doc/2011-06-15/ GetCallerIdentityResponse"`
	Arn      string           `xml:"GetCallerIdentityResult>Arn"`
	UserID   string           `xml:"GetCallerIdentityResult>UserId"`
	Account  string           `xml:"GetCallerIdentityResult>Account"`
	Metadata responseMetadata `xml:"ResponseMetadata"`
}

type assumeRoleResponse struct {
	XMLName       xml.Name         `xml:"https://sts.amazonaws.com/doc/2011-06-15/ AssumeRoleResponse"`
	Arn           string           `xml:"AssumeRoleResult>AssumedRoleUser>Arn"`
	AssumedRoleID string           `xml:"AssumeRoleResult>AssumedRoleUser>AssumedRoleId"`
	AccessKeyID   string           `xml:"AssumeRoleResult>Credentials>AccessKeyId"`
	Secret        string           `xml:"AssumeRoleResult>Credentials>SecretAccessKey"`
	SessionToken  string           `xml:"AssumeRoleResult>Credentials>SessionToken"`
	Expiration    string           `xml:"AssumeRoleResult>Credentials>Expiration"`
	Metadata      responseMetadata `xml:"ResponseMetadata"`
}

// serveSTS answers GetCallerIdentity and AssumeRole (kms-api.md §9).
func (s *Server) serveSTS(w http.ResponseWriter, ri *reqInfo, c *call, id *identity) {
	switch ri.op {
	case "GetCallerIdentity":
		s.writeXML(w, ri, getCallerIdentityResponse{
			Arn: id.Principal, UserID: id.UserID, Account: id.Account,
			Metadata: responseMetadata{ri.id},
		})
	case "AssumeRole":
		resp, aerr := s.assumeRole(url.Values(c.Form), id, c.Region)
		if aerr != nil {
			s.writeError(w, ri, aerr)
			return
		}
		resp.Metadata.RequestID = ri.id
		s.writeXML(w, ri, resp)
	default:
		s.writeError(w, ri, &apiError{Status: 400, Code: "InvalidAction",
			Message: "Could not find operation " + ri.op + " for version " + stsVersion})
	}
}

var (
	sessionNameRE = regexp.MustCompile(`^[\w+=,.@-]*$`)
)

// assumeRole checks the caller against the estate's role and hands out
// temporary credentials acting in the role's account.
func (s *Server) assumeRole(form url.Values, caller *identity, region string) (*assumeRoleResponse, *apiError) {
	roleArn := form.Get("RoleArn")
	session := form.Get("RoleSessionName")
	var problems []string
	if roleArn == "" {
		problems = append(problems, "Value null at 'roleArn' failed to satisfy constraint: Member must not be null")
	} else if len(roleArn) < 20 || len(roleArn) > 2048 {
		problems = append(problems, "Value '"+roleArn+"' at 'roleArn' failed to satisfy constraint: Member must have length between 20 and 2048")
	}
	switch {
	case session == "":
		problems = append(problems, "Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null")
	case len(session) < 2 || len(session) > 64:
		problems = append(problems, "Value '"+session+"' at 'roleSessionName' failed to satisfy constraint: Member must have length between 2 and 64")
	case !sessionNameRE.MatchString(session):
		problems = append(problems, "Value '"+session+"' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*")
	}
	duration := 3600
	if v := form.Get("DurationSeconds"); v != "" {
		d, err := strconv.Atoi(v)
		switch {
		case err != nil:
			problems = append(problems, "Value '"+v+"' at 'durationSeconds' failed to satisfy constraint: Member must be a number")
		case d < 900:
			problems = append(problems, "Value '"+v+"' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900")
		case d > 43200:
			problems = append(problems, "Value '"+v+"' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200")
		default:
			duration = d
		}
	}
	externalID := form.Get("ExternalId")
	if _, ok := form["ExternalId"]; ok && (len(externalID) < 2 || len(externalID) > 1224) {
		problems = append(problems, "Value '"+externalID+"' at 'externalId' failed to satisfy constraint: Member must have length between 2 and 1224")
	}
	if len(problems) > 0 {
		return nil, &apiError{Status: 400, Code: "ValidationError", Message: validationMessage(problems)}
	}

	denied := &apiError{Status: 403, Code: "AccessDenied",
		Message: "User: " + caller.Principal + " is not authorized to perform: sts:AssumeRole on resource: " + roleArn}
	m := anyRoleArnRE.FindStringSubmatch(roleArn)
	if m == nil {
		return nil, denied
	}
	part, acct, roleName := m[1], m[2], m[3]
	if part != partitionOf(region) {
		// STS of one partition knows no role of another.
		return nil, &apiError{Status: 400, Code: "ValidationError",
			Message: "Partition \"" + part + "\" is not valid for resource \"" + roleArn + "\"."}
	}
	role := s.findRole(acct, roleName)
	// AWS answers an unknown role, an untrusted caller and a wrong ExternalId
	// alike, so that callers cannot probe for roles.
	if role == nil || !slices.Contains(role.TrustedAccounts, caller.Account) ||
		(role.ExternalID != "" && role.ExternalID != externalID) {
		return nil, denied
	}

	now := time.Now()
	expires := now.Add(time.Duration(duration) * time.Second).UTC().Truncate(time.Second)
	tmp := &identity{
		AccessKeyID:  "ASIA" + randomKeyID(16),
		Secret:       randomToken(30),
		SessionToken: "FwoGZXIvYXdzE" + randomToken(180),
		Expires:      expires,
		Account:      acct,
		Principal:    "arn:" + part + ":sts::" + acct + ":assumed-role/" + roleName + "/" + session,
		Role:         roleName,
	}
	roleID := "AROA" + stableID(roleArn, 17)
	tmp.UserID = roleID + ":" + session
	s.ids.add(tmp, now)
	return &assumeRoleResponse{
		Arn:           tmp.Principal,
		AssumedRoleID: tmp.UserID,
		AccessKeyID:   tmp.AccessKeyID,
		Secret:        tmp.Secret,
		SessionToken:  tmp.SessionToken,
		Expiration:    expires.Format(time.RFC3339),
	}, nil
}

func (s *Server) findRole(account, name string) *Role {
	a := s.accounts[account]
	if a == nil {
		return nil
	}
	for i := range a.Roles {
		if a.Roles[i].Name == name {
			return &a.Roles[i]
		}
	}
	return nil
}

// validationMessage is AWS's text for constraint violations.
func validationMessage(problems []string) string {
	n := strconv.Itoa(len(problems)) + " validation error"
	if len(problems) > 1 {
		n += "s"
	}
	return n + " detected: " + strings.Join(problems, "; ")
}

func randomKeyID(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b := make([]byte, n)
	crand.Read(b)
	for i := range b {
		b[i] = alphabet[b[i]%32]
	}
	return string(b)
}

func randomToken(nbytes int) string {
	b := make([]byte, nbytes)
	crand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// stsErrorXML is STS's error body (kms-api.md §9).
func stsErrorXML(e *apiError, requestID string) []byte {
	return queryErrorXML(stsNamespace, e, requestID)
}

// queryErrorXML is the AWS Query protocol's error body (STS, CloudFormation).
func queryErrorXML(namespace string, e *apiError, requestID string) []byte {
	typ := "Sender"
	if e.Status >= 500 {
		typ = "Receiver"
	}
	var b bytes.Buffer
	b.WriteString(`<ErrorResponse xmlns="` + namespace + `"><Error><Type>` + typ + `</Type><Code>`)
	xml.EscapeText(&b, []byte(e.Code))
	b.WriteString("</Code><Message>")
	xml.EscapeText(&b, []byte(e.Message))
	b.WriteString("</Message></Error><RequestId>")
	xml.EscapeText(&b, []byte(requestID))
	b.WriteString("</RequestId></ErrorResponse>")
	return b.Bytes()
}
