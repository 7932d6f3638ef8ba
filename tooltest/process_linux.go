package tooltest

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel kill the program when the test binary dies
// (a test timeout, a crash), which skips the test's cleanup.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
