// Package runtest runs a service in the background of a test and stops it
// when the test says so, or when the test ends, and waits for what the
// service does (Eventually).
package runtest

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Start calls run in a goroutine with a context that stop cancels. stop
// then waits for run to return and fails the test, naming the service,
// when run returned an error or did not return within 45 seconds (a
// loaded machine stopping a service under load). stop
// may be called more than once; the test's cleanup calls it too.
func Start(tb testing.TB, name string, run func(context.Context) error) (stop func()) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					tb.Errorf("%s: %v", name, err)
				}
			case <-time.After(45 * time.Second):
				tb.Errorf("%s did not return within 45s after its context ended", name)
			}
		})
	}
	tb.Cleanup(stop)
	return stop
}

// Eventually polls cond until it holds and fails the test, saying what it
// waited for, when it still does not hold after within.
func Eventually(tb testing.TB, within time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Goroutines counts the goroutines of the whole process whose stack
// names fn (as "pkg.(*T).method"), such as a service's workers, to check
// that a Close left none behind. A test that calls it must not run in
// parallel with others that start the same goroutines.
func Goroutines(fn string) int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), fn)
		}
		buf = make([]byte, 2*len(buf))
	}
}
