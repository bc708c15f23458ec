package kmsemu

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go"
)

// ec2Client is a minimal EC2 Query client for DescribeRegions, signed with
// the SDK's SigV4 signer and decoding answers as the EC2 SDK does
// (aws/protocol/ec2query): kmsrotor no longer depends on the EC2 SDK, whose
// package would cost more to build than the rest of the module.
type ec2Client struct{ cfg aws.Config }

func newEC2Client(cfg aws.Config) ec2Client { return ec2Client{cfg} }

type ec2DescribeRegionsInput struct {
	AllRegions  bool
	RegionNames []string
	Filters     []ec2Filter
}

type ec2Filter struct {
	Name   string
	Values []string
}

type ec2RegionOut struct {
	RegionName  string `xml:"regionName"`
	Endpoint    string `xml:"regionEndpoint"`
	OptInStatus string `xml:"optInStatus"`
}

type ec2DescribeRegionsOutput struct {
	Regions []ec2RegionOut `xml:"regionInfo>item"`
}

func (c ec2Client) DescribeRegions(ctx context.Context, in *ec2DescribeRegionsInput) (*ec2DescribeRegionsOutput, error) {
	form := url.Values{"Action": {"DescribeRegions"}, "Version": {ec2Version}}
	if in.AllRegions {
		form.Set("AllRegions", "true")
	}
	for i, n := range in.RegionNames {
		form.Set("RegionName."+strconv.Itoa(i+1), n)
	}
	for i, f := range in.Filters {
		p := "Filter." + strconv.Itoa(i+1) + "."
		form.Set(p+"Name", f.Name)
		for j, v := range f.Values {
			form.Set(p+"Value."+strconv.Itoa(j+1), v)
		}
	}
	body := []byte(form.Encode())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, aws.ToString(c.cfg.BaseEndpoint)+"/", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	creds, err := c.cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("retrieve credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "ec2", c.cfg.Region, time.Now()); err != nil {
		return nil, err
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Errors []struct{ Code, Message string } `xml:"Errors>Error"`
		}
		if err := xml.Unmarshal(b, &e); err != nil || len(e.Errors) == 0 {
			return nil, fmt.Errorf("ec2 DescribeRegions: HTTP %d without an EC2 error body: %q", resp.StatusCode, b)
		}
		return nil, &smithy.GenericAPIError{Code: e.Errors[0].Code, Message: e.Errors[0].Message}
	}
	var out ec2DescribeRegionsOutput
	if err := xml.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("ec2 DescribeRegions: decode: %w", err)
	}
	return &out, nil
}
