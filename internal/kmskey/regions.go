package kmskey

import "slices"

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
