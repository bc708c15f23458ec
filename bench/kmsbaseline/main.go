// Command kmsbaseline is the baseline of bench/build-weight.sh: the least a
// program that talks to KMS with aws-sdk-go-v2 must compile (the default
// configuration chain and the KMS client). It lists one page of keys.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

func main() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kmsbaseline:", err)
		os.Exit(1)
	}
	out, err := kms.NewFromConfig(cfg).ListKeys(ctx, &kms.ListKeysInput{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "kmsbaseline:", err)
		os.Exit(1)
	}
	fmt.Println(len(out.Keys), "keys")
}
