package awskms

import (
	"context"
	"net/url"
	"slices"
)

// ec2Version is the EC2 Query API version (kms-api.md §9).
const ec2Version = "2016-11-15"

// describeRegionsResponse is the part of EC2 DescribeRegions's XML answer
// read: the names of the Regions enabled for the account.
type describeRegionsResponse struct {
	Regions []struct {
		Name string `xml:"regionName"`
	} `xml:"regionInfo>item"`
}

// describeRegions lists the Regions enabled for the account of r's
// credentials (EC2 DescribeRegions without AllRegions), sorted. It is one
// signed Query request: the EC2 SDK would be the heaviest package of the
// build for this one call.
func describeRegions(ctx context.Context, r *Raw) ([]string, error) {
	var out describeRegionsResponse
	if err := r.Query(ctx, "DescribeRegions", ec2Version, url.Values{}, &out); err != nil {
		return nil, err
	}
	regions := make([]string, 0, len(out.Regions))
	for _, reg := range out.Regions {
		if reg.Name != "" {
			regions = append(regions, reg.Name)
		}
	}
	slices.Sort(regions)
	return slices.Compact(regions), nil
}
