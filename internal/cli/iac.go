package cli

// STUB: replaced by the iac command.

import "github.com/spf13/cobra"

func newIacCmd(env *Env) *cobra.Command {
	return &cobra.Command{Use: "iac", Short: "not implemented yet"}
}
