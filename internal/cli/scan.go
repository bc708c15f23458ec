package cli

// STUB: replaced by the scan command.

import "github.com/spf13/cobra"

func newScanCmd(env *Env) *cobra.Command {
	return &cobra.Command{Use: "scan", Short: "not implemented yet"}
}
