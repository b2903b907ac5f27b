package statebench

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the child killed if the benchmark dies first.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
