package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/motifcep/motif/client"
)

// The motif binary, built once per test process (go test -count N runs
// the tests N times in one process) and removed by TestMain.
var motifBin struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if motifBin.dir != "" {
		os.RemoveAll(motifBin.dir)
	}
	os.Exit(code)
}

// buildMotif builds ./cmd/motif, with the race detector when the tests run
// with it (which also reuses the packages go test compiled: a link, a few
// seconds).
func buildMotif(t *testing.T) string {
	t.Helper()
	motifBin.once.Do(func() {
		gotool, err := exec.LookPath("go") // go test puts GOROOT/bin first in PATH
		if err != nil {
			motifBin.err = err
			return
		}
		if motifBin.dir, motifBin.err = os.MkdirTemp("", "motif-e2e-bin-"); motifBin.err != nil {
			return
		}
		motifBin.path = filepath.Join(motifBin.dir, "motif")
		args := []string{"build", "-o", motifBin.path}
		if raceEnabled {
			args = append(args, "-race")
		}
		start := time.Now()
		out, err := exec.Command(gotool, append(args, "github.com/motifcep/motif/cmd/motif")...).CombinedOutput()
		if err != nil {
			motifBin.err = fmt.Errorf("go build ./cmd/motif: %v\n%s", err, out)
		}
		t.Logf("built motif (race %v) in %v", raceEnabled, time.Since(start).Round(time.Millisecond))
	})
	if motifBin.err != nil {
		t.Fatal(motifBin.err)
	}
	return motifBin.path
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// serveProc runs `motif serve` as a child process, on the same data
// directory and address each time it is started.
type serveProc struct {
	bin, addr, dir string
	args           []string
	logPath        string

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the current process has exited
	waitErr error
	killed  bool // the current process was killed on purpose
	starts  int
}

func newServeProc(t testing.TB, bin, dir, addr string, args ...string) *serveProc {
	p := &serveProc{bin: bin, dir: dir, addr: addr, args: args, logPath: filepath.Join(t.TempDir(), "serve.log")}
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("server log (last 4 KiB):\n%s", p.logTail(4096))
		}
	})
	return p
}

// start starts the server and waits until it serves with the patterns
// applied; it tries again (a few times) if the process exits at once, as
// it does when the port is not free yet.
func (p *serveProc) start(ctx context.Context, ready func(context.Context, *client.Client) error) error {
	var err error
	for try := 0; try < 5 && ctx.Err() == nil; try++ {
		if err = p.startOnce(ctx, ready); err == nil {
			return nil
		}
	}
	return err
}

func (p *serveProc) startOnce(ctx context.Context, ready func(context.Context, *client.Client) error) error {
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	p.mu.Lock()
	p.starts++
	fmt.Fprintf(logf, "=== start %d\n", p.starts)
	cmd := exec.Command(p.bin, append([]string{"serve", "--data", p.dir, "--listen", p.addr}, p.args...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MOTIF_") && !strings.HasPrefix(kv, "GORACE=") {
			env = append(env, kv)
		}
	}
	// A data race in the server stops it at once: the test sees it die.
	cmd.Env = append(env, "GORACE=halt_on_error=1")
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		p.mu.Unlock()
		return err
	}
	exited := make(chan struct{})
	p.cmd, p.exited, p.killed, p.waitErr = cmd, exited, false, nil
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		close(exited)
	}()

	c, err := client.New(p.addr, client.WithRetry(1))
	if err != nil {
		return err
	}
	defer c.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-exited:
			return fmt.Errorf("motif serve exited while starting: %v; its log ends:\n%s", p.exitErr(), p.logTail(400))
		default:
		}
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		err := ready(rctx, c)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			p.kill()
			return fmt.Errorf("motif serve not ready after 30s: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// kill sends SIGKILL to the running server, if any, and waits for it to
// be gone.
func (p *serveProc) kill() {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	if cmd != nil {
		p.killed = true
	}
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exited
}

// terminate asks the server to shut down gracefully (SIGTERM) and returns
// how it exited.
func (p *serveProc) terminate(timeout time.Duration) error {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil {
		return errors.New("not running")
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		p.mu.Lock()
		p.killed = true // ended on purpose
		p.mu.Unlock()
		return p.exitErr()
	case <-time.After(timeout):
		p.kill()
		return fmt.Errorf("still running %v after SIGTERM", timeout)
	}
}

// died reports an exit nobody asked for (a crash, a race report).
func (p *serveProc) died() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.exited == nil || p.killed {
		return nil
	}
	select {
	case <-p.exited:
		return fmt.Errorf("motif serve died: %v", p.waitErr)
	default:
		return nil
	}
}

func (p *serveProc) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waitErr
}

func (p *serveProc) log() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

func (p *serveProc) logTail(n int) string {
	b := []byte(p.log())
	if len(b) > n {
		b = b[len(b)-n:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}

// fraudPatternsServed is ready when the server serves with every fraud
// pattern applied.
func fraudPatternsServed(ctx context.Context, c *client.Client) error {
	st, err := c.Status(ctx)
	if err != nil {
		return err
	}
	if len(st.GetPatterns()) != len(fraudPatternNames) {
		return fmt.Errorf("%d patterns", len(st.GetPatterns()))
	}
	return nil
}
