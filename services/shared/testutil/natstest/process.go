package natstest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/services/shared/streams"
)

// StartProcess runs nats-server as a separate process, the way production
// runs it, for benchmarks whose figures must not depend on sharing the
// server's process. The binary is built once from the nats-server module
// this module requires and kept in the user cache directory.
func StartProcess(tb testing.TB) *Env {
	tb.Helper()
	port := freePort(tb)
	startServer(tb, "-a", "127.0.0.1", "-p", fmt.Sprint(port), "-js", "-sd", tb.TempDir())
	return connect(tb, []string{fmt.Sprintf("nats://127.0.0.1:%d", port)}, 1)
}

// StartCluster runs a cluster of three nats-server processes with R3
// streams: the production topology.
func StartCluster(tb testing.TB) *Env {
	tb.Helper()
	var clientPorts, routePorts [3]int
	var routes, urls []string
	for i := range 3 {
		clientPorts[i], routePorts[i] = freePort(tb), freePort(tb)
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", routePorts[i]))
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", clientPorts[i]))
	}
	for i := range 3 {
		startServer(tb, "-a", "127.0.0.1", "-p", fmt.Sprint(clientPorts[i]), "-n", fmt.Sprintf("kb-%d", i),
			"-js", "-sd", tb.TempDir(), "--cluster_name", "ketenbus",
			"--cluster", routes[i], "--routes", strings.Join(routes, ","))
	}
	return connect(tb, urls, 3)
}

func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startServer(tb testing.TB, args ...string) {
	tb.Helper()
	bin := serverBinary(tb)
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", bin, err)
	}
	tb.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
}

// connect connects to the servers and creates the streams with replicas,
// retrying while a cluster elects its JetStream leader.
func connect(tb testing.TB, urls []string, replicas int) *Env {
	tb.Helper()
	var nc *nats.Conn
	var err error
	deadline := time.Now().Add(20 * time.Second)
	for {
		if nc, err = nats.Connect(strings.Join(urls, ",")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("nats-server not reachable at %v: %v", urls, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatal(err)
	}
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = streams.Ensure(ctx, js, streams.Config{Replicas: replicas})
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("create streams: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return &Env{Conn: nc, JS: js, URL: urls[0]}
}

func serverBinary(tb testing.TB) string {
	tb.Helper()
	version := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/nats-io/nats-server/v2" {
				version = d.Version
			}
		}
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	bin := filepath.Join(dir, "ketenbus", "nats-server-"+version)
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	cmd := exec.Command("go", "build", "-o", bin, "github.com/nats-io/nats-server/v2")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("build nats-server (needs the Go toolchain on PATH): %v", err)
	}
	return bin
}
