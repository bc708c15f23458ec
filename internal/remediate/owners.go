package remediate

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// CloudFormationAPI is the AWS Query call kmsrotor makes of CloudFormation
// (*awskms.Raw satisfies it): ListStacks, ListStackResources and
// DescribeStackResources, version 2010-05-15, decoded from XML into out.
//
//   - ListStacks lists the Region's stacks, deleted ones (DELETE_COMPLETE)
//     included for 90 days, by pages chained with NextToken.
//   - ListStackResources lists one stack's resources, by pages chained with
//     NextToken.
//   - DescribeStackResources with PhysicalResourceId returns the resources of
//     the stack that holds that resource (not paginated); ValidationError
//     "Stack for … does not exist" when no stack holds it.
//
// Errors: AccessDenied (the principal lacks cloudformation:*), Throttling,
// ValidationError; as *awskms.APIError, a smithy.APIError.
type CloudFormationAPI interface {
	Query(ctx context.Context, action, version string, params url.Values, out any) error
}

// cfnVersion is CloudFormation's API version.
const cfnVersion = "2010-05-15"

// kmsKeyType is the CloudFormation resource type of a KMS key; a stack's
// AWS::KMS::ReplicaKey carries no rotation, which is set on the primary.
const kmsKeyType = "AWS::KMS::Key"

// StackResource names the stack resource that owns a key.
type StackResource struct {
	Stack     string
	LogicalID string
}

type stackSummary struct {
	StackName   string `xml:"StackName"`
	StackStatus string `xml:"StackStatus"`
}

type listStacksResponse struct {
	Stacks    []stackSummary `xml:"ListStacksResult>StackSummaries>member"`
	NextToken string         `xml:"ListStacksResult>NextToken"`
}

type resourceMember struct {
	StackName          string `xml:"StackName"`
	LogicalResourceID  string `xml:"LogicalResourceId"`
	PhysicalResourceID string `xml:"PhysicalResourceId"`
	ResourceType       string `xml:"ResourceType"`
	ResourceStatus     string `xml:"ResourceStatus"`
}

type listStackResourcesResponse struct {
	Resources []resourceMember `xml:"ListStackResourcesResult>StackResourceSummaries>member"`
	NextToken string           `xml:"ListStackResourcesResult>NextToken"`
}

type describeStackResourcesResponse struct {
	Resources []resourceMember `xml:"DescribeStackResourcesResult>StackResources>member"`
}

// StackOwners returns which of keyIDs (key IDs of one account and Region)
// CloudFormation stacks of that Region own, by key ID. It lists the stacks,
// then asks per key (DescribeStackResources) when there are fewer keys than
// stacks, and per stack (ListStackResources) otherwise, so that the calls
// made are the fewer of the two.
func StackOwners(ctx context.Context, cfn CloudFormationAPI, keyIDs []string) (map[string]StackResource, error) {
	want := map[string]bool{}
	for _, id := range keyIDs {
		want[id] = true
	}
	var stacks []string
	for token := ""; ; {
		params := url.Values{}
		if token != "" {
			params.Set("NextToken", token)
		}
		var out listStacksResponse
		if err := cfn.Query(ctx, "ListStacks", cfnVersion, params, &out); err != nil {
			return nil, err
		}
		for _, s := range out.Stacks {
			if s.StackStatus != "DELETE_COMPLETE" {
				stacks = append(stacks, s.StackName)
			}
		}
		if out.NextToken == "" || out.NextToken == token {
			break
		}
		token = out.NextToken
	}
	owners := map[string]StackResource{}
	if len(stacks) == 0 {
		return owners, nil
	}
	if len(want) < len(stacks) {
		for _, id := range keyIDs {
			var out describeStackResourcesResponse
			err := cfn.Query(ctx, "DescribeStackResources", cfnVersion, url.Values{"PhysicalResourceId": {id}}, &out)
			if isNoStack(err) {
				continue
			}
			if err != nil {
				return nil, err
			}
			for _, r := range out.Resources {
				if r.ResourceType == kmsKeyType && keyIDOf(r.PhysicalResourceID) == id && r.ResourceStatus != "DELETE_COMPLETE" {
					owners[id] = StackResource{Stack: r.StackName, LogicalID: r.LogicalResourceID}
				}
			}
		}
		return owners, nil
	}
	for _, stack := range stacks {
		for token := ""; ; {
			params := url.Values{"StackName": {stack}}
			if token != "" {
				params.Set("NextToken", token)
			}
			var out listStackResourcesResponse
			err := cfn.Query(ctx, "ListStackResources", cfnVersion, params, &out)
			if isNoStack(err) {
				break // deleted between the two calls
			}
			if err != nil {
				return nil, err
			}
			for _, r := range out.Resources {
				id := keyIDOf(r.PhysicalResourceID)
				if r.ResourceType == kmsKeyType && want[id] && r.ResourceStatus != "DELETE_COMPLETE" {
					owners[id] = StackResource{Stack: stack, LogicalID: r.LogicalResourceID}
				}
			}
			if out.NextToken == "" || out.NextToken == token {
				break
			}
			token = out.NextToken
		}
	}
	return owners, nil
}

// isNoStack recognises CloudFormation's answer for a resource or stack no
// stack holds: ValidationError "Stack … does not exist".
func isNoStack(err error) bool {
	var ae codedError
	return errors.As(err, &ae) && ae.ErrorCode() == "ValidationError" && strings.Contains(ae.ErrorMessage(), "does not exist")
}

// codedError is an AWS error answer: smithy.APIError, and awskms.APIError
// whose ErrorFault is not smithy's type.
type codedError interface {
	error
	ErrorCode() string
	ErrorMessage() string
}

// Tag is a KEY=VALUE flag.
type Tag struct{ Key, Value string }

func (t Tag) String() string { return t.Key + "=" + t.Value }

// ParseTag reads KEY=VALUE.
func ParseTag(s string) (Tag, error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return Tag{}, fmt.Errorf("tag %q: want KEY=VALUE, e.g. managed-by=terraform", s)
	}
	return Tag{k, v}, nil
}

// TagsAPI is the KMS call that reads a key's tags: ListResourceTags, by
// pages of at most Limit (1–50) chained with Marker while Truncated.
// Errors: NotFoundException, InvalidArnException, KMSInternalException,
// AccessDeniedException, ThrottlingException.
type TagsAPI interface {
	ListResourceTags(ctx context.Context, in *kms.ListResourceTagsInput, optFns ...func(*kms.Options)) (*kms.ListResourceTagsOutput, error)
}

var _ TagsAPI = (*kms.Client)(nil)

func keyTags(ctx context.Context, c TagsAPI, keyARN string) (map[string]string, error) {
	tags := map[string]string{}
	var marker *string
	for {
		out, err := c.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: aws.String(keyARN), Marker: marker, Limit: aws.Int32(50)})
		if err != nil {
			return nil, err
		}
		for _, t := range out.Tags {
			tags[aws.ToString(t.TagKey)] = aws.ToString(t.TagValue)
		}
		if !out.Truncated || out.NextMarker == nil {
			return tags, nil
		}
		marker = out.NextMarker
	}
}

// Scope is what narrows a plan before it is applied.
type Scope struct {
	// CloudFormation and KMS return clients of an account and Region.
	CloudFormation func(account, region string) CloudFormationAPI
	KMS            func(account, region string) TagsAPI
	// IncludeStackManaged changes stack-owned keys too, and keys in
	// account-Regions where ownership could not be checked.
	IncludeStackManaged bool
	// ManagedBy tags mark keys another tool owns (Terraform's, say): they
	// are planned as a template change, as stack-owned keys are.
	ManagedBy []Tag
	// Select keeps only keys with one of these tags; Exclude drops keys with
	// any of them.
	Select, Exclude []Tag
	// Parallel is how many account-Regions are looked up at once (default 8).
	Parallel int
}

func (s Scope) needTags() bool {
	return len(s.ManagedBy) > 0 || len(s.Select) > 0 || len(s.Exclude) > 0
}

// Restrict narrows the plan: tag filters first, then keys that stacks or
// managed-by tags say belong to another system. Calls are made per planned
// account-Region, concurrently, through the run's paced clients. It fails
// only when ctx ends; an account-Region whose stacks could not be listed is
// recorded in p.Unchecked, and its keys are left alone unless
// IncludeStackManaged.
func (p *Plan) Restrict(ctx context.Context, s Scope) error {
	targets := p.Targets()
	par := s.Parallel
	if par <= 0 {
		par = 8
	}
	type regionResult struct {
		owners  map[string]StackResource
		cfnErr  error
		tags    map[string]map[string]string
		tagErrs map[string]error
	}
	results := make([]regionResult, len(targets))
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i, t := range targets {
		var ids, arns []string
		for _, c := range p.Changes {
			if c.AccountID == t.AccountID && c.Region == t.Region {
				ids = append(ids, c.KeyID)
				arns = append(arns, c.KeyARN)
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			r := &results[i]
			if s.needTags() {
				r.tags, r.tagErrs = map[string]map[string]string{}, map[string]error{}
				client := s.KMS(t.AccountID, t.Region)
				for _, arn := range arns {
					tags, err := keyTags(ctx, client, arn)
					if err != nil {
						r.tagErrs[arn] = err
						continue
					}
					r.tags[arn] = tags
				}
			}
			if s.CloudFormation != nil && !s.IncludeStackManaged {
				r.owners, r.cfnErr = StackOwners(ctx, s.CloudFormation(t.AccountID, t.Region), ids)
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	byTarget := map[AccountRegion]*regionResult{}
	for i, t := range targets {
		byTarget[t] = &results[i]
		if err := results[i].cfnErr; err != nil {
			code, msg := errorParts(err)
			p.Unchecked = append(p.Unchecked, Unchecked{AccountID: t.AccountID, Region: t.Region, Code: code, Message: msg})
		}
	}
	p.drop(func(c Change) (bool, LeftAlone) {
		r := byTarget[AccountRegion{c.AccountID, c.Region}]
		if s.needTags() {
			if err, bad := r.tagErrs[c.KeyARN]; bad {
				code, _ := errorParts(err)
				return false, LeftAlone{Why: SkipTagsUnreadable, Advice: fmt.Sprintf("Its tags could not be read (%s), so the tag filters cannot be applied: grant kms:ListResourceTags and run fix again.", code)}
			}
			tags := r.tags[c.KeyARN]
			if t, ok := matchTag(tags, s.Exclude); ok {
				return false, LeftAlone{Why: SkipExcludedByTag, Tag: t.String(), Advice: "Excluded by --exclude-tag " + t.String() + "."}
			}
			if len(s.Select) > 0 {
				if _, ok := matchTag(tags, s.Select); !ok {
					return false, LeftAlone{Why: SkipNotSelected, Advice: "It has none of the --tag tags."}
				}
			}
		}
		if s.IncludeStackManaged {
			return true, LeftAlone{}
		}
		if owner, ok := r.owners[c.KeyID]; ok {
			return false, LeftAlone{Why: SkipStackOwned, Stack: owner.Stack, LogicalID: owner.LogicalID, Template: TemplateChange(c.PeriodDays),
				Advice: fmt.Sprintf("CloudFormation stack %s owns this key (resource %s): changing it here would be drift that the next stack update reverts. Set %s on %s in the template (kmsrotor iac --fix does it), then update the stack; or pass --include-stack-managed.", owner.Stack, owner.LogicalID, TemplateChange(c.PeriodDays), owner.LogicalID)}
		}
		if t, ok := matchTag(r.tags[c.KeyARN], s.ManagedBy); ok {
			return false, LeftAlone{Why: SkipManagedByTag, Tag: t.String(), Template: TemplateChange(c.PeriodDays),
				Advice: fmt.Sprintf("The key carries the managed-by tag %s: change its definition where it is managed (Terraform: enable_key_rotation = true, rotation_period_in_days = %d; kmsrotor iac --fix does it), or pass --include-stack-managed.", t, c.PeriodDays)}
		}
		if r.cfnErr != nil {
			code, _ := errorParts(r.cfnErr)
			return false, LeftAlone{Why: SkipOwnerUnknown, Advice: fmt.Sprintf("CloudFormation stack ownership could not be checked in %s %s (%s), so nothing is changed there: grant cloudformation:ListStacks, ListStackResources and DescribeStackResources, or pass --include-stack-managed.", c.AccountID, c.Region, code)}
		}
		return true, LeftAlone{}
	})
	return nil
}

func matchTag(tags map[string]string, want []Tag) (Tag, bool) {
	for _, t := range want {
		if v, ok := tags[t.Key]; ok && v == t.Value {
			return t, true
		}
	}
	return Tag{}, false
}

// errorParts is an error's AWS code and message, or "error" and its text.
func errorParts(err error) (string, string) {
	var ae codedError
	if errors.As(err, &ae) {
		return ae.ErrorCode(), ae.ErrorMessage()
	}
	var oe interface{ Timeout() bool }
	if errors.As(err, &oe) && oe.Timeout() {
		return "Timeout", err.Error()
	}
	return "Error", err.Error()
}

// itoa is strconv.Itoa, kept short for messages.
func itoa(n int) string { return strconv.Itoa(n) }
