package statebench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// BuildMotif builds cmd/motif into dir and returns the binary's path. It
// builds in this package's source directory, if there, so that a test
// binary run from elsewhere builds the same module.
func BuildMotif(ctx context.Context, dir string) (string, error) {
	gotool, err := exec.LookPath("go")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "motif")
	cmd := exec.CommandContext(ctx, gotool, "build", "-o", bin, "github.com/motifcep/motif/cmd/motif")
	if _, file, _, ok := runtime.Caller(0); ok {
		if _, err := os.Stat(file); err == nil {
			cmd.Dir = filepath.Dir(file)
		}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/motif: %w\n%s", err, out)
	}
	return bin, nil
}

// FreeAddr returns a loopback address with a port free right now.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Serve runs `motif serve --data Dir --listen Addr Args...` as a child
// process, its output appended to Log.
type Serve struct {
	Bin, Dir, Addr, Log string
	Args                []string

	cmd    *exec.Cmd
	exited chan struct{}
	err    error // how it exited, once exited is closed
}

// Start starts the process (without waiting for it to serve).
func (s *Serve) Start() error {
	if s.cmd != nil {
		return fmt.Errorf("motif serve is running already")
	}
	logf, err := os.OpenFile(s.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(s.Bin, append([]string{"serve", "--data", s.Dir, "--listen", s.Addr}, s.Args...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MOTIF_") { // no token, no benchmark settings
			cmd.Env = append(cmd.Env, kv)
		}
	}
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd, s.exited = cmd, make(chan struct{})
	go func(exited chan struct{}) {
		s.err = cmd.Wait()
		close(exited)
	}(s.exited)
	return nil
}

// WaitServing polls the gRPC health check until it answers SERVING (the
// node runs, with its catalog and state restored), every 2 ms, for at most
// limit.
func (s *Serve) WaitServing(ctx context.Context, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	hc := &http.Client{Timeout: time.Second}
	defer hc.CloseIdleConnections()
	for {
		ok, err := Healthy(ctx, hc, s.Addr)
		if ok {
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("motif serve exited while starting: %v (last check: %v); log %s", s.err, err, s.Log)
		case <-ctx.Done():
			return fmt.Errorf("motif serve not serving: %w (last check: %v)", ctx.Err(), err)
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// Kill sends SIGKILL and waits for the process to be gone.
func (s *Serve) Kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
	s.cmd = nil
}

// Healthy asks the server at addr for its gRPC health (the Connect
// protocol, JSON) and reports whether it is SERVING.
func Healthy(ctx context.Context, hc *http.Client, addr string) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/grpc.health.v1.Health/Check", strings.NewReader("{}"))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Connect-Protocol-Version", "1")
	resp, err := hc.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	if _, err := body.ReadFrom(resp.Body); err != nil {
		return false, err
	}
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("health: %s: %s", resp.Status, body.Bytes())
	}
	var r struct{ Status string }
	if err := json.Unmarshal(body.Bytes(), &r); err != nil {
		return false, fmt.Errorf("health: %w: %s", err, body.Bytes())
	}
	// grpchealth's JSON names the enum value SERVING_STATUS_SERVING.
	if r.Status != "SERVING" && r.Status != "SERVING_STATUS_SERVING" {
		return false, fmt.Errorf("health: %s", r.Status)
	}
	return true, nil
}
