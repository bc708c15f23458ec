package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kmsrotor/kmsrotor/internal/awskms"
	"github.com/kmsrotor/kmsrotor/internal/remediate"
)

// rotateNowOptions are the flags of kmsrotor rotate-now.
type rotateNowOptions struct {
	Key     string
	Reason  string
	Yes     bool
	Profile string

	arn    remediate.KeyARN
	env    *Env
	client awskms.ClientOptions
}

func newRotateNowCmd(env *Env) *cobra.Command {
	return rotateNowCommand(&rotateNowOptions{env: env})
}

func rotateNowCommand(o *rotateNowOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rotate-now --key ARN",
		Short: "Rotate a key's material now (RotateKeyOnDemand), e.g. after a suspected compromise",
		Long: `Rotate-now starts an on-demand rotation of one key: new key material now,
without changing its automatic schedule. It first checks that AWS would
accept the key (enabled, customer managed, symmetric, AWS KMS origin or
imported material, the primary of a multi-Region key), shows how many of the
key's on-demand rotations are left (AWS allows 25 per key, not adjustable),
and asks for confirmation (--yes without a terminal).

A LimitExceededException is never retried: each attempt would spend one of
the key's few on-demand rotations.

Exit codes:
  0  rotation started
  1  AWS refused or failed (the reason is printed)
  2  bad input or a key AWS would refuse, before any change`,
		Example: `  kmsrotor rotate-now --key arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab --reason "INC-4711"`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			arn, ok := remediate.ParseKeyARN(o.Key)
			if !ok {
				return usagef("--key %q is not a key ARN (like arn:aws:kms:us-east-1:123456789012:key/ID): on-demand rotation is asked by ARN so that account and Region are explicit", o.Key)
			}
			o.arn = arn
			if !o.Yes && !o.env.StdinTTY {
				return usagef("rotate-now without a terminal to confirm on needs --yes")
			}
			return runRotateNow(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Key, "key", "", "ARN of the key to rotate (required)")
	f.StringVar(&o.Reason, "reason", "", "why (printed with the result, for the change record)")
	f.BoolVar(&o.Yes, "yes", false, "rotate without asking (required without a terminal)")
	f.StringVar(&o.Profile, "profile", "", "shared config profile to use")
	cmd.MarkFlagRequired("key")
	return cmd
}

func runRotateNow(ctx context.Context, o *rotateNowOptions) error {
	cfg, err := awskms.LoadConfig(ctx, o.Profile, o.client)
	if err != nil {
		return usageErr(err)
	}
	client := awskms.NewClients(1, true).KMS(cfg, o.arn.Account, o.arn.Region)
	rc, err := remediate.CheckRotateNow(ctx, client, o.Key)
	if err != nil {
		return err
	}
	if rc.Refusal != "" {
		return usagef("AWS would refuse to rotate %s on demand: %s", rc.KeyARN, rc.Refusal)
	}
	if rc.Imported {
		fmt.Fprintln(o.env.Stderr, "kmsrotor: this key has imported key material (origin EXTERNAL). "+remediate.ImportedMaterialAdvice)
		if !rc.PendingMaterial {
			return usagef("%s has no new key material waiting (PENDING_ROTATION): import it first as above, then run rotate-now again", rc.KeyARN)
		}
	}
	switch left := rc.Left(); {
	case left < 0:
		fmt.Fprintf(o.env.Stderr, "kmsrotor: on-demand rotations left: unknown (AWS allows %d per key; kms:ListKeyRotations was not allowed)\n", remediate.OnDemandLimit)
	case left == 0:
		return usagef("%s has used all %d of its on-demand rotations (the limit cannot be raised); AWS would refuse", rc.KeyARN, remediate.OnDemandLimit)
	default:
		fmt.Fprintf(o.env.Stderr, "kmsrotor: on-demand rotations used: %d of %d; %d left after this one\n", rc.OnDemandUsed, remediate.OnDemandLimit, left-1)
	}
	if !o.Yes {
		ok, err := confirm(o.env, fmt.Sprintf("Rotate the key material of %s now? [y/N] ", rc.KeyARN))
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintln(o.env.Stderr, "kmsrotor: nothing was changed.")
			return nil
		}
	}
	if err := remediate.RotateNow(ctx, client, rc.KeyARN); err != nil {
		var re *remediate.RotateError
		if errors.As(err, &re) {
			return fmt.Errorf("rotate %s now: %s", rc.KeyARN, re.Explanation)
		}
		return err
	}
	msg := fmt.Sprintf("on-demand rotation of %s started; it completes in the background (aws kms list-key-rotations shows it when done)", rc.KeyARN)
	if o.Reason != "" {
		msg += "; reason: " + o.Reason
	}
	fmt.Fprintln(o.env.Stdout, msg)
	return nil
}
