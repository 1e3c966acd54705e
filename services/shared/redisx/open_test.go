package redisx_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/services/shared/redisx"
	"github.com/ketenbus/ketenbus/services/shared/testutil/redistest"
)

func TestOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := redistest.Start(t)
	rdb, err := redisx.Open(ctx, srv.URL(), 5*time.Second)
	if err != nil {
		t.Fatalf("Open(%s): %v", srv.URL(), err)
	}
	_ = rdb.Close()

	_, err = redisx.Open(ctx, "redis://:s3cret@127.0.0.1:1", time.Second)
	if err == nil || !strings.Contains(err.Error(), "connect to Redis at 127.0.0.1:1") || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Open of a Redis that does not answer: %v, want its address and no password", err)
	}
	_, err = redisx.Open(ctx, "mysql://user:s3cret@db", time.Second)
	if !errors.Is(err, redisx.ErrURL) || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Open of another URL: %v, want ErrURL and no password", err)
	}
}
