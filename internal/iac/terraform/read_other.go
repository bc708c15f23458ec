//go:build !unix

package terraform

import "os"

func readFile(path string) ([]byte, error) { return os.ReadFile(path) }
