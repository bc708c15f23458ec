package kmsemu

import (
	"encoding/json"
	"strings"
)

// denied applies the estate's deny rules. A rule without an Operation
// applies to KMS operations only (or, with a RoleArn, to AssumeRole of that
// role); one that names an operation of another service (AssumeRole,
// ListAccounts, DescribeRegions, ListStacks, BatchImportFindings) applies
// there.
// GetCallerIdentity is never denied: AWS does not authorize it.
func (s *Server) denied(c *call) *apiError {
	if len(s.deny) == 0 || c.Op == "GetCallerIdentity" {
		return nil
	}
	var keyID, resolved string
	keyLooked := false
	for _, d := range s.deny {
		switch {
		case d.Operation == "" && d.RoleArn == "" && c.Service != "kms",
			d.Operation != "" && d.Operation != c.Op,
			d.Account != "" && d.Account != c.Account,
			d.Region != "" && d.Region != c.Region,
			d.Role != "" && d.Role != c.Role,
			d.RoleArn != "" && (c.Op != "AssumeRole" || d.RoleArn != first(c.Form["RoleArn"])):
			continue
		}
		if d.KeyID != "" {
			if c.Service != "kms" {
				continue
			}
			if !keyLooked {
				keyLooked = true
				keyID = requestKeyID(c.Body)
				if keyID != "" {
					resolved = s.kms.resolveKeyID(c.Account, c.Region, keyID)
				}
			}
			if keyID == "" {
				continue
			}
			match := bareKeyID(d.KeyID) == bareKeyID(keyID) || d.KeyID == resolved ||
				resolved != "" && s.kms.resolveKeyID(c.Account, c.Region, d.KeyID) == resolved
			if !match {
				continue
			}
		}
		if !keyLooked && c.Service == "kms" {
			keyID = requestKeyID(c.Body)
			if keyID != "" {
				resolved = s.kms.resolveKeyID(c.Account, c.Region, keyID)
			}
		}
		return denyError(c, denyResource(c, keyID, resolved))
	}
	return nil
}

// requestKeyID is the key a KMS request names: KeyId, or CreateAlias's and
// UpdateAlias's TargetKeyId.
func requestKeyID(body []byte) string {
	var in struct{ KeyId, TargetKeyId string }
	if json.Unmarshal(body, &in) != nil {
		return ""
	}
	if in.KeyId != "" {
		return in.KeyId
	}
	return in.TargetKeyId
}

// bareKeyID is the key ID of a key ARN, and s itself otherwise. Key IDs
// are unique, so a rule and a request naming the same key by ID and by ARN
// match even where the KMS service cannot resolve the key.
func bareKeyID(s string) string {
	if strings.HasPrefix(s, "arn:") {
		if _, id, ok := strings.Cut(s, ":key/"); ok {
			return id
		}
	}
	return s
}

// denyResource is the ARN the AccessDenied message names: the key's ARN, or
// "*" for operations on no key (ListKeys, CreateKey).
func denyResource(c *call, keyID, resolved string) string {
	switch {
	case strings.HasPrefix(keyID, "arn:") && strings.Contains(keyID, ":key/"):
		return keyID
	case resolved != "":
		return keyARN(c.Account, c.Region, resolved)
	case keyID != "" && !strings.HasPrefix(keyID, "alias/") && !strings.HasPrefix(keyID, "arn:"):
		return keyARN(c.Account, c.Region, keyID)
	case c.Service == "sts":
		return first(c.Form["RoleArn"])
	}
	return "*"
}

// denyError is AccessDenied as each service words it, after IAM's
// "no identity-based policy allows" text.
func denyError(c *call, resource string) *apiError {
	action := c.Service + ":" + c.Op
	msg := "User: " + c.Principal + " is not authorized to perform: " + action +
		" on resource: " + resource + " because no identity-based policy allows the " + action + " action"
	switch c.Service {
	case "sts":
		return &apiError{Status: 403, Code: "AccessDenied", Message: msg}
	case "ec2":
		return &apiError{Status: 403, Code: "UnauthorizedOperation",
			Message: "You are not authorized to perform this operation. " + msg}
	case "organizations":
		return &apiError{Status: 400, Code: "AccessDeniedException", Message: msg}
	case "cloudformation":
		return &apiError{Status: 403, Code: "AccessDenied", Message: msg}
	case "securityhub":
		return &apiError{Status: 403, Code: "AccessDeniedException", Message: msg}
	}
	return &apiError{Status: 400, Code: "AccessDeniedException", Message: msg}
}
