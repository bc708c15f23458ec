package kmsemu

import "strings"

// The partitions an estate account may live in, as ARNs spell them.
const (
	partitionAWS      = "aws"
	partitionGovCloud = "aws-us-gov"
	partitionChina    = "aws-cn"
)

// partition is what the emulator knows of one AWS partition: the Regions an
// account has without opting in, those it must opt in to, the home Region of
// its global services (Organizations) and its endpoints' domain.
type partition struct {
	name      string
	defaults  []string
	optIn     []string
	home      string
	dnsSuffix string
}

// partitions are the partitions of the emulator. The commercial partition's
// Region lists are defaultRegions and optInRegions (ec2.go); GovCloud and
// China have two Regions each, both enabled for every account of theirs.
var partitions = map[string]*partition{
	partitionAWS: {name: partitionAWS, home: "us-east-1", dnsSuffix: "amazonaws.com"},
	partitionGovCloud: {name: partitionGovCloud, home: "us-gov-west-1", dnsSuffix: "amazonaws.com",
		defaults: []string{"us-gov-east-1", "us-gov-west-1"}},
	partitionChina: {name: partitionChina, home: "cn-northwest-1", dnsSuffix: "amazonaws.com.cn",
		defaults: []string{"cn-north-1", "cn-northwest-1"}},
}

func init() {
	p := partitions[partitionAWS]
	p.defaults, p.optIn = defaultRegions, optInRegions
}

// partitionNames lists the partitions for messages.
var partitionNames = []string{partitionAWS, partitionGovCloud, partitionChina}

// partitionOf is the partition a Region name belongs to, from its prefix.
func partitionOf(region string) string {
	switch {
	case strings.HasPrefix(region, "us-gov-"):
		return partitionGovCloud
	case strings.HasPrefix(region, "cn-"):
		return partitionChina
	}
	return partitionAWS
}

// partitionOrAWS is an estate partition field with its default.
func partitionOrAWS(p string) string { return or(p, partitionAWS) }

// accountRegionSet is an account's enabled Regions: those listed, or its
// partition's default Regions.
func accountRegionSet(a *Account) map[string]bool {
	if len(a.Regions) == 0 {
		if p := partitions[partitionOrAWS(a.Partition)]; p != nil {
			return regionSet(p.defaults)
		}
	}
	return regionSet(a.Regions)
}
