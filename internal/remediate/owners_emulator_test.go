package remediate

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/kmsrotor/kmsrotor/internal/awskms"
	"github.com/kmsrotor/kmsrotor/internal/kmsemu"
)

// TestStackOwnersAgainstEmulator asks the emulator's CloudFormation, which
// serves the estate's stacks in AWS's shapes, who owns which key, by both
// of StackOwners' ways (per key and per stack).
func TestStackOwnersAgainstEmulator(t *testing.T) {
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"AWS_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_CLOUDFORMATION"} {
		t.Setenv(k, "")
	}
	key := func(n int) string { return fmt.Sprintf("11111111-2222-4333-8444-%012d", n) }
	a := kmsemu.Account{ID: acct, Regions: []string{"us-east-1"}}
	for n := range 4 {
		a.Keys = append(a.Keys, kmsemu.KeyDef{ID: key(n), Region: "us-east-1"})
	}
	a.Stacks = []kmsemu.Stack{
		{Name: "app", Region: "us-east-1", Resources: []kmsemu.StackResource{
			{LogicalID: "DataKey", KeyID: key(0)}, {LogicalID: "LogKey", KeyID: key(1)}}},
		{Name: "gone", Region: "us-east-1", Status: "DELETE_COMPLETE", Resources: []kmsemu.StackResource{
			{LogicalID: "OldKey", KeyID: key(2), Status: "DELETE_COMPLETE"}}},
		{Name: "other", Region: "us-east-1"},
		{Name: "more", Region: "us-east-1"},
	}
	emu, err := kmsemu.Start(kmsemu.Options{Estate: &kmsemu.Estate{Accounts: []kmsemu.Account{a}}}, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(emu.URL),
		Credentials: credentials.NewStaticCredentialsProvider(kmsemu.DefaultAccessKeyID, kmsemu.DefaultSecretAccessKey, "")}
	cfn := awskms.NewRaw(cfg, "cloudformation", "CloudFormation", "us-east-1")
	want := map[string]StackResource{key(0): {"app", "DataKey"}, key(1): {"app", "LogKey"}}
	for _, keys := range [][]string{{key(0)}, {key(0), key(1), key(2), key(3), key(4)}} {
		got, err := StackOwners(t.Context(), cfn, keys)
		if err != nil {
			t.Fatalf("StackOwners(%d keys): %v", len(keys), err)
		}
		for _, k := range keys {
			if got[k] != want[k] {
				t.Errorf("StackOwners(%d keys): owner of %s = %+v, want %+v", len(keys), k, got[k], want[k])
			}
		}
	}
}
