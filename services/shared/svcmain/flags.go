package svcmain

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
)

// Defaults of the common flags.
const (
	DefaultNATSURL  = "nats://127.0.0.1:4222"
	DefaultRedisURL = "redis://127.0.0.1:6379"
)

// Flags registers flags whose defaults may come from environment
// variables: the variable, when set, wins over the built-in default, and
// the flag over both.
type Flags struct {
	fs     *flag.FlagSet
	getenv func(string) string
	envs   map[string]string // flag name -> its variable
}

// String registers --name and returns where its value goes: def, or the
// value of the environment variable env when that is set and env is not
// empty.
func (f *Flags) String(name, env, def, usage string) *string {
	p := new(string)
	f.StringVar(p, name, env, def, usage)
	return p
}

// StringVar is String storing into p. Help shows def, never the
// variable's value, which may hold a password.
func (f *Flags) StringVar(p *string, name, env, def, usage string) {
	if env != "" {
		usage += " (env " + env + ")"
		f.envs[name] = env
	}
	f.fs.StringVar(p, name, def, usage)
	if env != "" {
		if v := f.getenv(env); v != "" {
			*p = v
		}
	}
}

// options are the common flags.
type options struct {
	config      string
	natsURL     string
	natsUser    string
	natsCreds   string
	redisURL    string
	metricsAddr string
	listenAddr  string // of Service.Listen
	logLevel    string
	getenv      func(string) string
}

// Flag describes one flag of a service binary.
type Flag struct {
	// Name is the flag without dashes, such as "metrics-addr".
	Name string
	// Env is its environment variable, such as "KETENBUS_METRICS_ADDR";
	// empty for a flag without one.
	Env string
	// Default is the value without the flag and the variable.
	Default string
}

// FlagsOf returns every flag of the binary of svc, the common ones and its
// own, sorted by name: what -h lists, for checks of deployments against
// the code.
func FlagsOf(svc Service) []Flag {
	fs, f, _ := newFlagSet("ketenbus-"+svc.Name, svc, func(string) string { return "" })
	var flags []Flag
	fs.VisitAll(func(fl *flag.Flag) {
		flags = append(flags, Flag{Name: fl.Name, Env: f.envs[fl.Name], Default: fl.DefValue})
	})
	return flags
}

// newFlagSet registers the common flags and svc's own on a new FlagSet;
// their defaults come from getenv where it holds their variables.
func newFlagSet(prog string, svc Service, getenv func(string) string) (*flag.FlagSet, *Flags, *options) {
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	f := &Flags{fs: fs, getenv: getenv, envs: map[string]string{}}
	o := &options{getenv: getenv}
	f.StringVar(&o.config, "config", "KETENBUS_CONFIG", "", "region config file; required")
	f.StringVar(&o.natsURL, "nats-url", "KETENBUS_NATS_URL", DefaultNATSURL, "NATS server URL, or several separated by commas")
	f.StringVar(&o.natsUser, "nats-user", "KETENBUS_NATS_USER", svc.Name,
		"NATS user; its password is read from KETENBUS_NATS_PASSWORD_<USER> when set, and it receives replies on _INBOX_<user> only; empty: no user")
	f.StringVar(&o.natsCreds, "nats-creds", "KETENBUS_NATS_CREDS", "", "NATS credentials file (JWT and nkey), instead of a password")
	if svc.Redis != NoRedis {
		usage := "Redis URL"
		if svc.Redis == RedisOptional {
			usage += "; empty: run without Redis"
		}
		f.StringVar(&o.redisURL, "redis-url", "KETENBUS_REDIS_URL", DefaultRedisURL, usage)
	}
	f.StringVar(&o.metricsAddr, "metrics-addr", "KETENBUS_METRICS_ADDR", svc.MetricsAddr, "listen address of /metrics, /healthz and /readyz; empty: none")
	f.StringVar(&o.logLevel, "log-level", "KETENBUS_LOG_LEVEL", "info", "debug, info, warn or error")
	if l := svc.Listen; l != nil {
		f.StringVar(&o.listenAddr, l.Flag, l.Env, l.Default, l.Usage)
	}
	if svc.Flags != nil {
		svc.Flags(f)
	}
	return fs, f, o
}

// parseFlags parses args. ok is false when Main should return code at
// once: after -h (ExitOK, help on stdout) or for wrong flags (ExitUsage,
// the mistake and the help on stderr).
func parseFlags(prog string, svc Service, args []string, getenv func(string) string, stdout, stderr io.Writer) (_ *options, code int, ok bool) {
	fs, _, o := newFlagSet(prog, svc, getenv)
	var out bytes.Buffer
	fs.SetOutput(&out)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: %s [flags]\n\nRuns the ketenbus %s until SIGINT or SIGTERM. Every secret comes from the environment.\n\nFlags:\n", prog, svc.Name)
		fs.PrintDefaults()
	}
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		_, _ = stdout.Write(out.Bytes())
		return nil, ExitOK, false
	case err != nil:
		_, _ = stderr.Write(out.Bytes())
		return nil, ExitUsage, false
	case fs.NArg() > 0:
		// Not repeated: it may be a password or token pasted without its
		// flag.
		fmt.Fprintf(stderr, "%s: unexpected argument (%d in all); every setting is a flag (see -h)\n", prog, fs.NArg())
		return nil, ExitUsage, false
	}
	return o, 0, true
}
