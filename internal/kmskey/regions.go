package kmskey

import (
	"slices"
	"strings"
)

// DefaultRegions are the commercial Regions every AWS account has enabled
// (opt-in not required).
var DefaultRegions = []string{
	"us-east-1", "us-east-2", "us-west-1", "us-west-2",
	"ap-south-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
	"ap-southeast-1", "ap-southeast-2", "ca-central-1",
	"eu-central-1", "eu-west-1", "eu-west-2", "eu-west-3", "eu-north-1",
	"sa-east-1",
}

// OptInRegions are the commercial Regions an account must enable first.
var OptInRegions = []string{
	"af-south-1", "ap-east-1", "ap-east-2", "ap-south-2", "ap-southeast-3",
	"ap-southeast-4", "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-west-1",
	"eu-central-2", "eu-south-1", "eu-south-2", "il-central-1",
	"me-central-1", "me-south-1", "mx-central-1",
}

// OtherPartitionRegions are the Regions of the GovCloud, China and European
// Sovereign Cloud partitions.
var OtherPartitionRegions = []string{
	"us-gov-east-1", "us-gov-west-1",
	"cn-north-1", "cn-northwest-1",
	"eusc-de-east-1",
}

// KnownRegion reports whether name is an AWS Region this release knows.
func KnownRegion(name string) bool {
	return slices.Contains(DefaultRegions, name) || slices.Contains(OptInRegions, name) ||
		slices.Contains(OtherPartitionRegions, name)
}

// The AWS partitions kmsrotor knows, as ARNs spell them.
const (
	PartitionAWS      = "aws"
	PartitionChina    = "aws-cn"
	PartitionGovCloud = "aws-us-gov"
	PartitionEUSC     = "aws-eusc"
)

// PartitionOf is the partition of a Region, from its name.
func PartitionOf(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return PartitionChina
	case strings.HasPrefix(region, "us-gov-"):
		return PartitionGovCloud
	case strings.HasPrefix(region, "eusc-"):
		return PartitionEUSC
	}
	return PartitionAWS
}

// PartitionOfARN is the partition an ARN names (arn:PARTITION:…), or ""
// when arn is not an ARN.
func PartitionOfARN(arn string) string {
	rest, ok := strings.CutPrefix(arn, "arn:")
	if !ok {
		return ""
	}
	p, _, ok := strings.Cut(rest, ":")
	if !ok {
		return ""
	}
	return p
}

// DNSSuffix is the domain of a partition's endpoints.
func DNSSuffix(partition string) string {
	switch partition {
	case PartitionChina:
		return "amazonaws.com.cn"
	case PartitionEUSC:
		return "amazonaws.eu"
	}
	return "amazonaws.com"
}

// HomeRegion is the Region of a partition's global services (Organizations,
// IAM; kms-api.md §9): us-east-1 in aws, cn-northwest-1 in aws-cn,
// us-gov-west-1 in aws-us-gov.
func HomeRegion(partition string) string {
	switch partition {
	case PartitionChina:
		return "cn-northwest-1"
	case PartitionGovCloud:
		return "us-gov-west-1"
	case PartitionEUSC:
		return "eusc-de-east-1"
	}
	return "us-east-1"
}
