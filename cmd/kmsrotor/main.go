// Command kmsrotor finds, fixes and proves rotation of AWS KMS customer-managed keys.
package main

import (
	"os"

	"github.com/kmsrotor/kmsrotor/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], cli.System())) }
