package cli

// STUB: replaced by the emulator command.

import "github.com/spf13/cobra"

func newEmulatorCmd(env *Env) *cobra.Command {
	return &cobra.Command{Use: "emulator", Short: "not implemented yet"}
}
