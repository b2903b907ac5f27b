package e2e

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel kill the child if the test process dies
// first (a panic, a -timeout), so that no server outlives its test holding
// a port and a directory.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
