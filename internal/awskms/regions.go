package awskms

import (
	"context"
	"encoding/xml"
	"fmt"
	"slices"
)

// ec2Version is the API version of EC2's Query protocol.
const ec2Version = "2016-11-15"

// describeRegionsResponse is the part of EC2's DescribeRegions answer the
// scan reads (kms-api.md §9); the namespace is left out so that any
// version's answer decodes.
type describeRegionsResponse struct {
	XMLName xml.Name `xml:"DescribeRegionsResponse"`
	Regions []struct {
		Name string `xml:"regionName"`
	} `xml:"regionInfo>item"`
}

// describeRegions lists the Regions enabled for the account whose
// credentials r signs with, sorted. Without AllRegions=true EC2 answers
// with the enabled Regions only, in one unpaginated answer. It is one small
// Query call: the EC2 SDK package, which would make it, costs more to build
// than all the rest of kmsrotor. Errors: UnauthorizedOperation, AuthFailure,
// RequestLimitExceeded (retried as a throttle), as *APIError.
func describeRegions(ctx context.Context, r *Raw) ([]string, error) {
	var out describeRegionsResponse
	if err := r.Query(ctx, "DescribeRegions", ec2Version, nil, &out); err != nil {
		return nil, err
	}
	regions := make([]string, 0, len(out.Regions))
	for _, it := range out.Regions {
		if it.Name == "" {
			return nil, fmt.Errorf("ec2 DescribeRegions: an answer item without a regionName")
		}
		regions = append(regions, it.Name)
	}
	slices.Sort(regions)
	return slices.Compact(regions), nil
}
