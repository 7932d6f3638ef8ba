//go:build !linux

package tooltest

import "os/exec"

// dieWithParent does nothing where the kernel cannot tie a child's life to
// its parent's: the test's cleanup alone kills the program.
func dieWithParent(*exec.Cmd) {}
