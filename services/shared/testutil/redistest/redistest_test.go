package redistest_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/ketenbus/ketenbus/services/shared/testutil/redistest"
)

func TestStart(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	if strings.HasSuffix(srv.Addr(), ":6379") {
		t.Fatalf("Addr() = %s: the test server must not use the default port", srv.Addr())
	}
	opts, err := redis.ParseURL(srv.URL())
	if err != nil {
		t.Fatalf("ParseURL(%q): %v", srv.URL(), err)
	}
	if opts.Addr != srv.Addr() {
		t.Errorf("URL() addresses %s, Addr() is %s", opts.Addr, srv.Addr())
	}
	ctx := t.Context()
	rdb := srv.Client(t)
	if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	cfg, err := rdb.ConfigGet(ctx, "*").Result()
	if err != nil {
		t.Fatalf("CONFIG GET: %v", err)
	}
	for key, want := range map[string]string{"save": "", "appendonly": "no", "bind": "127.0.0.1"} {
		if cfg[key] != want {
			t.Errorf("config %s = %q, want %q", key, cfg[key], want)
		}
	}
}

func TestRestart(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		opts     []redistest.Option
		crash    bool
		wantKept bool
	}{
		{name: "aof stop", opts: []redistest.Option{redistest.WithAOF()}, wantKept: true},
		{name: "aof kill", opts: []redistest.Option{redistest.WithAOF()}, crash: true, wantKept: true},
		{name: "no aof", wantKept: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := redistest.Start(t, tt.opts...)
			addr := srv.Addr()
			rdb := srv.Client(t)
			ctx := t.Context()
			if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
				t.Fatalf("SET: %v", err)
			}
			if tt.crash {
				srv.Kill()
			} else {
				srv.Stop()
			}
			if err := pingOnce(srv.Addr()); err == nil {
				t.Fatal("PING succeeded on a stopped server")
			}
			srv.Restart(t)
			if srv.Addr() != addr {
				t.Errorf("address after Restart = %s, want %s", srv.Addr(), addr)
			}
			got, err := rdb.Get(ctx, "k").Result()
			switch {
			case tt.wantKept && (err != nil || got != "v"):
				t.Errorf("after restart GET k = %q, %v; want \"v\"", got, err)
			case !tt.wantKept && !errors.Is(err, redis.Nil):
				t.Errorf("after restart GET k = %q, %v; want no key", got, err)
			}
		})
	}
}

func TestUsedMemory(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	before := srv.UsedMemory(t)
	if before <= 0 {
		t.Fatalf("UsedMemory() = %d", before)
	}
	rdb := srv.Client(t)
	if err := rdb.Set(t.Context(), "big", strings.Repeat("x", 1<<20), 0).Err(); err != nil {
		t.Fatal(err)
	}
	if grown := srv.UsedMemory(t) - before; grown < 1<<20 {
		t.Errorf("UsedMemory grew by %d bytes after storing 1 MiB", grown)
	}
}

// fatalTB records Fatalf and ends the goroutine, as testing.T does.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestStartWithoutRedisServerSaysHowToInstall(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	tb := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		redistest.Start(tb)
		t.Error("Start returned without redis-server on PATH")
	}()
	<-done
	const want = "redis-server not found on PATH: install it with `apt-get install redis-server` (Debian/Ubuntu); .ci/run does this"
	if tb.msg != want {
		t.Errorf("Fatalf message = %q, want %q", tb.msg, want)
	}
}

func TestClientFailsAfterStop(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	srv.Stop()
	srv.Stop() // stopping twice is harmless
	if err := pingOnce(srv.Addr()); err == nil {
		t.Fatal("PING succeeded after Stop")
	}
}

// pingOnce pings addr without the client's retries.
func pingOnce(addr string) error {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialerRetries: 1})
	defer c.Close()
	return c.Ping(context.Background()).Err()
}
