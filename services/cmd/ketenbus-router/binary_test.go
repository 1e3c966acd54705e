package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/services/shared/svcmain/svcmaintest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
)

// TestBinary_stopsOnSIGTERM builds the binary and runs it as a process,
// configured by environment variables only: SIGTERM stops it with exit
// code 0.
func TestBinary_stopsOnSIGTERM(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "ketenbus-router")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	env := natstest.Start(t)
	reg := svcmaintest.NewRegion(t, "")

	cmd := exec.Command(bin)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"KETENBUS_CONFIG=" + reg.Path,
		"KETENBUS_NATS_URL=" + env.URL,
		"KETENBUS_METRICS_ADDR=127.0.0.1:0",
		"KETENBUS_LOG_LEVEL=debug",
	}
	for name, v := range reg.Env {
		cmd.Env = append(cmd.Env, name+"="+v)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	var logs strings.Builder
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	wait := func(msg string) {
		t.Helper()
		timeout := time.After(30 * time.Second)
		for {
			select {
			case line, ok := <-lines:
				if !ok {
					t.Fatalf("the router ended before logging %q:\n%s", msg, logs.String())
				}
				logs.WriteString(line + "\n")
				if strings.Contains(line, `"msg":"`+msg+`"`) {
					return
				}
			case <-timeout:
				t.Fatalf("the router did not log %q within 30s:\n%s", msg, logs.String())
			}
		}
	}
	wait("started")
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	wait("stopped")
	for range lines { // until stderr is closed
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("after SIGTERM: %v, want exit code 0\n%s", err, logs.String())
	}
	svcmaintest.NoSecrets(t, logs.String(), reg.Env)
}
