// Package redistest runs a real redis-server on a free port for tests and
// benchmarks: no mock, no in-process imitation, and never the Redis that
// may be listening on 6379.
//
// A test that needs Redis calls Start; the server gets its own temporary
// directory, writes no RDB snapshots, and is stopped when the test ends.
// With WithAOF it keeps an append-only file synced on every write, so
// Restart (and even Kill followed by Restart) loses no acknowledged write.
//
// The redis-server binary must be on PATH. When it is missing the test
// fails, saying how to install it; it is never skipped.
package redistest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/services/shared/testutil/logtest"
	"github.com/redis/go-redis/v9"
)

// startTimeout bounds how long a starting server may take to answer PING.
const startTimeout = 20 * time.Second

// stopTimeout bounds how long Stop waits after SIGTERM before it kills.
const stopTimeout = 20 * time.Second

// Option changes how Start runs redis-server.
type Option func(*config)

type config struct {
	aof  bool
	file string
	// sentinel: the config file of a Sentinel.
	sentinel string
}

// WithConfigFile starts redis-server with file as its config file, read
// before the test's own settings (port, bind, directory, persistence),
// which win: to check that a shipped config loads.
func WithConfigFile(file string) Option {
	return func(c *config) { c.file = file }
}

// WithAOF turns on the append-only file with appendfsync always: every
// acknowledged write is on disk, and Restart brings it back.
func WithAOF() Option {
	return func(c *config) { c.aof = true }
}

// Server is a redis-server process started by Start. Its methods are safe
// for concurrent use.
type Server struct {
	bin  string
	port int
	dir  string
	args []string

	mu   sync.Mutex
	proc *process // nil while stopped
}

// process is one run of redis-server.
type process struct {
	cmd  *exec.Cmd
	out  *logtest.Buffer
	done chan struct{} // closed when the process has exited
}

// Start runs redis-server on a free 127.0.0.1 port with its directory in
// tb.TempDir() and RDB snapshots off, waits until it answers PING, and
// stops it when the test ends. It fails the test (never skips it) when
// redis-server is not installed.
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	var c config
	for _, o := range opts {
		o(&c)
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		tb.Fatalf("redis-server not found on PATH: install it with `apt-get install redis-server` (Debian/Ubuntu); .ci/run does this")
		return nil
	}
	s := &Server{bin: bin, dir: tb.TempDir()}
	if c.sentinel != "" {
		// A Sentinel rewrites its config file: one of its own.
		c.file = filepath.Join(s.dir, "sentinel.conf")
		if err := os.WriteFile(c.file, []byte(c.sentinel+"\n"), 0o600); err != nil {
			tb.Fatalf("write the Sentinel's config: %v", err)
		}
	}
	tb.Cleanup(s.Stop)
	// The free port is found by binding and releasing it; another process
	// can take it in between, so a failed start is tried on a new port.
	var lastErr error
	for range 3 {
		s.port, err = freePort()
		if err != nil {
			tb.Fatalf("find a free port for redis-server: %v", err)
		}
		s.args = serverArgs(s.port, s.dir, c)
		if lastErr = s.start(); lastErr == nil {
			return s
		}
	}
	tb.Fatalf("start redis-server: %v", lastErr)
	return nil
}

func serverArgs(port int, dir string, c config) []string {
	var args []string
	if c.file != "" {
		args = append(args, c.file)
	}
	if c.sentinel != "" {
		args = append(args, "--sentinel")
	}
	args = append(args,
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--dir", dir,
		"--save", "",
		"--daemonize", "no",
		"--loglevel", "warning",
		"--logfile", "",
	)
	switch {
	case c.sentinel != "":
		return args
	case c.aof:
		return append(args, "--appendonly", "yes", "--appendfsync", "always")
	case c.file != "":
		return args // the file's persistence
	}
	return append(args, "--appendonly", "no")
}

// StartSentinel runs a Redis Sentinel on a free port with conf as its
// config file (sentinel monitor lines; the test's port wins), and stops it
// when the test ends.
func StartSentinel(tb testing.TB, conf string) *Server {
	tb.Helper()
	return Start(tb, func(c *config) { c.sentinel = conf })
}

// Port returns the server's port.
func (s *Server) Port() int { return s.port }

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// start runs the process and waits until it answers PING.
func (s *Server) start() error {
	out := &logtest.Buffer{}
	cmd := exec.Command(s.bin, s.args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return err
	}
	p := &process{cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	if err := waitPing(s.Addr(), p); err != nil {
		p.kill()
		return fmt.Errorf("%w\n%s", err, out.String())
	}
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	return nil
}

// waitPing polls addr until PING succeeds, the process exits, or the
// start timeout passes.
func waitPing(addr string, p *process) error {
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-p.done:
			return errors.New("redis-server exited while starting")
		default:
		}
		if ping(addr) == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis-server at %s did not answer PING within %v", addr, startTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ping sends one PING on a fresh connection; a server still loading its
// append-only file answers with an error and is not ready yet.
func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

// Addr returns host:port of the server.
func (s *Server) Addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
}

// URL returns the server's address as a redis:// URL, as accepted by
// redis.ParseURL and `--redis-url`.
func (s *Server) URL() string {
	return "redis://" + s.Addr()
}

// Client returns a new go-redis client of the server, closed when the
// test ends.
func (s *Server) Client(tb testing.TB) *redis.Client {
	tb.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr()})
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// Stop ends the server with SIGTERM and waits until it has exited; after
// its timeout it kills it. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	p := s.take()
	if p == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		p.kill()
	}
}

// Kill ends the server with SIGKILL, as a crash would, and waits until it
// has exited. With WithAOF every acknowledged write survives a Restart.
func (s *Server) Kill() {
	if p := s.take(); p != nil {
		p.kill()
	}
}

// Restart stops the server if it runs and starts it again on the same
// port with the same directory: with WithAOF the data survives.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		tb.Fatalf("restart redis-server on %s: %v", s.Addr(), err)
	}
}

// UsedMemory returns used_memory from INFO memory, in bytes.
func (s *Server) UsedMemory(tb testing.TB) int64 {
	tb.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr()})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, err := c.Info(ctx, "memory").Result()
	if err != nil {
		tb.Fatalf("INFO memory: %v", err)
	}
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				tb.Fatalf("INFO memory: used_memory %q: %v", v, err)
			}
			return n
		}
	}
	tb.Fatalf("INFO memory has no used_memory")
	return 0
}

// take detaches the running process, if any.
func (s *Server) take() *process {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.proc
	s.proc = nil
	return p
}

func (p *process) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}
