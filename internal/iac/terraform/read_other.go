//go:build !unix

package terraform

import "github.com/kmsrotor/kmsrotor/internal/iac/limit"

func readFile(path string) ([]byte, error) { return limit.ReadFile(path) }
