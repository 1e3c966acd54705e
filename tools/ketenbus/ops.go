// The operations commands (timers, samenloop, …) share their connection
// flags, confirmation and progress bar.

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/ketenbus/ketenbus/services/shared/natsauth"
	"github.com/ketenbus/ketenbus/services/shared/redact"
	"github.com/ketenbus/ketenbus/services/shared/redisx"
	"github.com/ketenbus/ketenbus/services/shared/region"
)

// connFlags are the connection flags of the operations commands, each
// with an environment variable.
type connFlags struct {
	config   string
	natsURL  string
	natsUser string
	natsCred string
	redisURL string
}

func (c *connFlags) register(cmd *cobra.Command) {
	c.registerNATS(cmd)
	registerRedisURL(cmd, &c.redisURL)
}

// registerNATS registers the flags of a command that needs no Redis: the
// region config and NATS.
func (c *connFlags) registerNATS(cmd *cobra.Command) {
	registerConfig(cmd, &c.config)
	fl := cmd.Flags()
	fl.StringVar(&c.natsURL, "nats-url", envOr("KETENBUS_NATS_URL", nats.DefaultURL), "NATS server URL (env KETENBUS_NATS_URL)")
	fl.StringVar(&c.natsUser, "nats-user", os.Getenv("KETENBUS_NATS_USER"), "NATS user, its password in KETENBUS_NATS_PASSWORD_<USER> (env KETENBUS_NATS_USER)")
	fl.StringVar(&c.natsCred, "nats-creds", os.Getenv("KETENBUS_NATS_CREDS"), "NATS credentials file (env KETENBUS_NATS_CREDS)")
}

// registerConfig registers --config, the region config file, as the
// operations commands name it.
func registerConfig(cmd *cobra.Command, dst *string) {
	cmd.Flags().StringVar(dst, "config", envOr("KETENBUS_CONFIG", "deploy/examples/region.yaml"), "region config file (env KETENBUS_CONFIG)")
}

// registerRedisURL registers --redis-url, the Redis of the region.
func registerRedisURL(cmd *cobra.Command, dst *string) {
	cmd.Flags().StringVar(dst, "redis-url", envOr("KETENBUS_REDIS_URL", "redis://127.0.0.1:6379"), "Redis URL (env KETENBUS_REDIS_URL)")
}

// registerYes registers --yes (-y), the answer to confirmOr's question.
func registerYes(cmd *cobra.Command, dst *bool) {
	cmd.Flags().BoolVarP(dst, "yes", "y", false, "do not ask for confirmation")
}

// newGroupCmd returns a command that only holds its subcommands.
func newGroupCmd(use, short string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short}
	cmd.AddCommand(subs...)
	return cmd
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// connect loads the region config and connects to NATS and Redis (flags
// of register).
func (c *connFlags) connect(ctx context.Context) (*region.Config, *nats.Conn, jetstream.JetStream, *redis.Client, error) {
	reg, nc, js, err := c.connectNATS()
	if err != nil {
		return nil, nil, nil, nil, err
	}
	rdb, err := connectRedis(ctx, c.redisURL)
	if err != nil {
		nc.Close()
		return nil, nil, nil, nil, err
	}
	return reg, nc, js, rdb, nil
}

// connectRedis connects to the Redis at rawURL and checks it answers. A
// URL that does not parse is a usage error; no error shows a password.
func connectRedis(ctx context.Context, rawURL string) (*redis.Client, error) {
	rdb, err := redisx.Open(ctx, rawURL, 5*time.Second)
	switch {
	case errors.Is(err, redisx.ErrURL):
		return nil, &usageError{fmt.Errorf("--redis-url %w", err)}
	case err != nil:
		return nil, fmt.Errorf("%w (pass --redis-url)", err)
	}
	return rdb, nil
}

// connectNATS loads the region config and connects to NATS (flags of
// registerNATS).
func (c *connFlags) connectNATS() (*region.Config, *nats.Conn, jetstream.JetStream, error) {
	reg, err := region.Load(c.config)
	if err != nil {
		return nil, nil, nil, err
	}
	nc, js, err := c.dialNATS()
	return reg, nc, js, err
}

// withNATS loads the region config, connects to NATS (flags of
// registerNATS), runs fn and closes the connection.
func (c *connFlags) withNATS(fn func(reg *region.Config, js jetstream.JetStream) error) error {
	reg, nc, js, err := c.connectNATS()
	if err != nil {
		return err
	}
	defer nc.Close()
	return fn(reg, js)
}

// dialNATS connects to NATS (flags of registerNATS), for a command that
// loaded the region config itself.
func (c *connFlags) dialNATS() (*nats.Conn, jetstream.JetStream, error) {
	var opts []nats.Option
	if c.natsCred != "" {
		opts = append(opts, nats.UserCredentials(c.natsCred))
	}
	if c.natsUser != "" {
		// As the services: the password from the environment, the
		// replies on the user's own inbox prefix.
		env := natsauth.PasswordEnv(c.natsUser)
		password := os.Getenv(env)
		if password == "" {
			return nil, nil, &usageError{fmt.Errorf("--nats-user %s: its password variable %s is not set", c.natsUser, env)}
		}
		opts = append(opts, nats.UserInfo(c.natsUser, password), nats.CustomInboxPrefix(natsauth.InboxPrefix(c.natsUser)))
	}
	nc, err := nats.Connect(c.natsURL, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to NATS at %s: %w (pass --nats-url)", redact.URL(c.natsURL), err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

// confirmOr asks question on a terminal unless yes: a "no" ends the
// command with refused (exit 1), no terminal with the advice to pass
// --yes (exit 2).
func confirmOr(cmd *cobra.Command, yes bool, question, refused string) error {
	if yes {
		return nil
	}
	ok, err := confirm(cmd.InOrStdin(), cmd.ErrOrStderr(), question)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	if !ok {
		return &exitError{code: 1, err: errors.New(refused)}
	}
	return nil
}

// confirm asks a yes/no question on a terminal; without one it refuses,
// saying which flag to pass.
func confirm(in io.Reader, out io.Writer, question string) (bool, error) {
	if f, ok := in.(*os.File); !ok || !isTerminal(f) {
		return false, errors.New("not asking without a terminal: pass --yes to confirm")
	}
	fmt.Fprintf(out, "%s [y/N] ", question)
	line, _ := bufio.NewReader(in).ReadString('\n')
	answer := strings.ToLower(strings.TrimSpace(line))
	return answer == "y" || answer == "yes", nil
}

// isTerminal reports whether f is a terminal (not merely a character
// device such as /dev/null).
func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// progress draws a one-line progress bar with rate and ETA: on a
// terminal redrawn in place, at most every 100ms; elsewhere, such as in
// the log of a job, a plain line every 10s.
type progress struct {
	out   io.Writer
	label string
	start time.Time
	last  time.Time
	tty   bool
	every time.Duration // between two lines
}

func newProgress(out io.Writer, label string) *progress {
	f, ok := out.(*os.File)
	tty := ok && isTerminal(f)
	p := &progress{out: out, label: label, start: time.Now(), tty: tty, every: 100 * time.Millisecond}
	if !tty {
		p.every, p.last = 10*time.Second, p.start // the first plain line after 10s
	}
	return p
}

func (p *progress) update(done, total uint64) {
	if time.Since(p.last) < p.every && (done < total || !p.tty) {
		return
	}
	p.last = time.Now()
	const width = 30
	frac := 1.0
	if total > 0 {
		frac = float64(done) / float64(total)
	}
	filled := int(frac * width)
	rate := float64(done) / max(time.Since(p.start).Seconds(), 1e-9)
	eta := "?"
	if rate > 0 && total >= done {
		eta = time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second).String()
	}
	writeStatus(p.out, p.tty, fmt.Sprintf("%s [%s%s] %3.0f%% %d/%d events %.0f/s ETA %s", p.label,
		strings.Repeat("=", filled), strings.Repeat(" ", width-filled), frac*100, done, total, rate, eta))
}

// done ends the line a terminal was redrawing.
func (p *progress) done() {
	if p.tty && !p.last.IsZero() {
		fmt.Fprintln(p.out)
	}
}

// rebuildConn is what a rebuild works with: the region config and the
// connections of the command's flags.
type rebuildConn struct {
	Region    *region.Config
	JetStream jetstream.JetStream
	Redis     *redis.Client
}

// rebuildFunc rebuilds a projection in Redis from EVENTS, calling
// progress as it goes, and returns what its command prints: the --json
// result and the line of text.
type rebuildFunc func(ctx context.Context, c rebuildConn, progress func(done, total uint64)) (result any, text string, err error)

// runRebuild is the body of a rebuild command (timers rebuild, samenloop
// rebuild): after a yes to question it connects with conn, runs rebuild
// with a progress bar on stderr and prints its result, as one JSON line
// with asJSON.
func runRebuild(cmd *cobra.Command, conn *connFlags, yes, asJSON bool, question string, rebuild rebuildFunc) error {
	if err := confirmOr(cmd, yes, question, "not rebuilt"); err != nil {
		return err
	}
	ctx := cmd.Context()
	reg, nc, js, rdb, err := conn.connect(ctx)
	if err != nil {
		return err
	}
	defer nc.Close()
	defer rdb.Close()
	bar := newProgress(cmd.ErrOrStderr(), "rebuild")
	result, text, err := rebuild(ctx, rebuildConn{Region: reg, JetStream: js, Redis: rdb}, bar.update)
	bar.done()
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSONLines(cmd.OutOrStdout(), []any{result})
	}
	_, err = fmt.Fprintln(cmd.OutOrStdout(), text)
	return err
}

// writeStatus writes line, a status such as a progress bar, to w: on a
// terminal (tty) over the line before it, after a carriage return and
// followed by erase to the end of the line, so that a shorter line leaves
// nothing of a longer one; elsewhere as a plain line of its own.
func writeStatus(w io.Writer, tty bool, line string) {
	if tty {
		fmt.Fprint(w, "\r"+line+"\x1b[K")
		return
	}
	fmt.Fprintln(w, line)
}

// writeTable prints a header line and rows as aligned columns, the
// human output of the operations commands; an empty cell prints "-", and
// every cell is printable (control characters escaped).
func writeTable(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, row := range rows {
		cells := make([]string, len(row))
		for i, c := range row {
			cells[i] = printable(c)
			if c == "" {
				cells[i] = "-"
			}
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// writeJSONLines prints one JSON value per line, the --json output of the
// operations commands.
func writeJSONLines[T any](w io.Writer, items []T) error {
	enc := json.NewEncoder(w)
	for _, it := range items {
		if err := enc.Encode(it); err != nil {
			return err
		}
	}
	return nil
}
