package redisx_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/services/shared/redisx"
	"github.com/ketenbus/ketenbus/services/shared/testutil/redistest"
)

// TestShippedRedisConfig: deploy/redis/redis.conf loads, with the
// append-only file, no eviction, and no password written in it.
func TestShippedRedisConfig(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, redistest.WithConfigFile("../../../deploy/redis/redis.conf"))
	ctx := context.Background()
	got, err := srv.Client(t).ConfigGet(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"appendonly": "yes", "appendfsync": "everysec", "maxmemory-policy": "noeviction",
		"aof-use-rdb-preamble": "yes", "requirepass": "", "maxmemory": "2147483648"} { // save: the test runs without snapshots
		if got[k] != want {
			t.Errorf("%s = %q, want %q", k, got[k], want)
		}
	}
}

// TestOpenSentinel: a URL with master_name finds the master through the
// Sentinel of deploy/redis/sentinel.conf and writes there; a master the
// Sentinel does not know is an error naming it, never a password.
func TestOpenSentinel(t *testing.T) {
	t.Parallel()
	master := redistest.Start(t)
	shipped, err := os.ReadFile("../../../deploy/redis/sentinel.conf")
	if err != nil {
		t.Fatal(err)
	}
	// One Sentinel here, watching the test's master.
	conf := strings.Replace(string(shipped), "sentinel monitor ketenbus redis-1 6379 2",
		fmt.Sprintf("sentinel monitor ketenbus 127.0.0.1 %d 1", master.Port()), 1)
	if conf == string(shipped) {
		t.Fatal("sentinel.conf no longer monitors ketenbus at redis-1:6379; update this test")
	}
	sentinel := redistest.StartSentinel(t, conf)
	ctx := context.Background()

	rdb, err := redisx.Open(ctx, "redis://"+sentinel.Addr()+"/0?master_name=ketenbus", 5*time.Second)
	if err != nil {
		t.Fatalf("Open through the Sentinel: %v", err)
	}
	defer rdb.Close()
	if err := rdb.Set(ctx, "ketenbus-sentinel-test", "via sentinel", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := master.Client(t).Get(ctx, "ketenbus-sentinel-test").Result(); err != nil || v != "via sentinel" {
		t.Errorf("the master holds %q, %v; want the value written through the Sentinel", v, err)
	}

	// The same URL but the master's name: the Sentinel knows none such.
	_, err = redisx.Open(ctx, "redis://"+sentinel.Addr()+"/0?master_name=onbekend", 2*time.Second)
	if err == nil || !strings.Contains(err.Error(), "master onbekend of Sentinel "+sentinel.Addr()) {
		t.Errorf("Open of a master the Sentinel does not know: %v, want an error naming it", err)
	}
	// The passwords of a URL that fails are not repeated.
	_, err = redisx.Open(ctx, "redis://:sentinel-s3cret@"+sentinel.Addr()+"/0?master_name=onbekend&password=master-s3cret", 2*time.Second)
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Open with passwords that fails: %v, want an error without them", err)
	}
}
