// Command ketenbus is the command line of ketenbus: run the whole backbone
// on one machine (ketenbus dev) and check events against the catalog
// (ketenbus validate).
//
// Exit codes: 0 success, 1 failure (such as an invalid event), 2 wrong
// usage or a file that cannot be read.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/ketenbus/ketenbus/events"
	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3";
// otherwise it comes from the module build info.
var version = ""

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command line args and returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd()
	argsAreUsage(root)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	// An error repeats no BSN: one typed in the wrong place stays out of
	// the terminal and the logs that capture it.
	say := func(err error) string { return events.RedactBSNs(err.Error()) }
	var ex *exitError
	if errors.As(err, &ex) {
		if ex.err != nil {
			fmt.Fprintf(stderr, "%s: %s\n", cmd.CommandPath(), say(ex.err))
		}
		return ex.code
	}
	// Errors cobra reports itself (unknown command or flag, wrong number of
	// arguments) are usage errors.
	var usage *usageError
	if errors.As(err, &usage) || cmd == root || !cmd.Runnable() {
		fmt.Fprintf(stderr, "%s: %s\nRun '%s --help' for usage.\n", cmd.CommandPath(), say(err), cmd.CommandPath())
		return 2
	}
	fmt.Fprintf(stderr, "%s: %s\n", cmd.CommandPath(), say(err))
	return 1
}

// argsAreUsage makes a wrong number or kind of arguments a usage error
// (exit 2) in every command, as a wrong flag is.
func argsAreUsage(c *cobra.Command) {
	if check := c.Args; check != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return &usageError{err}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		argsAreUsage(sub)
	}
}

// exitError ends the command with code, after printing err when not nil.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageError is a command line the command cannot run.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "ketenbus",
		Short: "Event backbone for chain partners in the Dutch social domain",
		Long: `ketenbus carries CloudEvents (signaal, aanmelding, bevestiging, overdracht)
between chain partners in the social domain, over NATS JetStream.

Start the whole backbone on this machine with 'ketenbus dev'; check event
files against the catalog with 'ketenbus validate'.`,
		Example: `  # run everything locally, from the repository root
  go run ./tools/ketenbus dev

  # check an event file before sending it
  ketenbus validate signaal.json`,
		Version:       buildVersion(),
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	root.AddCommand(newDevCmd(), newValidateCmd(), newKeysCmd(), newTimersCmd(), newSamenloopCmd(), newAuditCmd(), newDLQCmd(), newTailCmd(), newStreamsCmd(), newPublishCmd(), newPartnersCmd(), newReplayCmd(), newBenchCmd())
	return root
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}
