package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/dlq"
	"github.com/ketenbus/ketenbus/services/shared/region"
)

// dlqFlags are the flags the dlq subcommands share.
type dlqFlags struct {
	conn    connFlags
	partner string
	id      uint64
	all     bool
	since   string
	asJSON  bool
	yes     bool
}

func newDLQCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dlq",
		Short: "List, show, retry and purge dead letters",
		Long: `The DLQ stream keeps every delivery the webhook adapter gave up on (a 4xx
answer, or the retry schedule exhausted), per partner on ketenbus.dlq.<partner>,
with why, how often and when.

A dead letter is named by its DLQ stream sequence (the SEQ column of
'ketenbus dlq list'), given with --id. Dead letters are shown as stored:
sensitive fields stay sealed (kb1.… values) and are never opened.`,
		Example: `  ketenbus dlq list --partner ggz
  ketenbus dlq show --id 42
  ketenbus dlq retry --partner ggz --all
  ketenbus dlq purge --partner ggz --id 42 --yes`,
	}
	cmd.AddCommand(newDLQListCmd(), newDLQShowCmd(), newDLQRetryCmd(), newDLQPurgeCmd())
	return cmd
}

func newDLQListCmd() *cobra.Command {
	var f dlqFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List dead letters, one line each",
		Long: `List prints one line per dead letter, oldest first: its DLQ sequence (the
id the other dlq commands take), when the DLQ stored it, the partner and
subscription, the event's type and id, the last HTTP status (- when there
was no response), the attempts and the reason. Without --partner it lists
every partner's.`,
		Example: `  ketenbus dlq list
  ketenbus dlq list --partner ggz --since 24h
  ketenbus dlq list --partner ggz --since 2026-04-01T00:00:00Z --json`,
		Args: dlqNoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			since, err := f.sinceTime(time.Now())
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			return f.withStore(ctx, func(store *dlq.Store) error {
				letters, err := store.List(ctx, f.partner, since)
				if err != nil {
					return err
				}
				rows := make([]dlqRow, len(letters))
				for i, l := range letters {
					rows[i] = newDLQRow(l)
				}
				if f.asJSON {
					return writeJSONLines(cmd.OutOrStdout(), rows)
				}
				if len(rows) == 0 {
					fmt.Fprintf(cmd.OutOrStdout(), "no dead letters%s\n", f.of())
					return nil
				}
				table := make([][]string, len(rows))
				for i, r := range rows {
					status := ""
					if r.Status != 0 {
						status = strconv.Itoa(r.Status)
					}
					table[i] = []string{strconv.FormatUint(r.Seq, 10), r.Stored.UTC().Format(time.RFC3339), r.Partner,
						r.Subscription, r.EventType, r.EventID, status, strconv.Itoa(r.Attempts), r.Reason}
				}
				return writeTable(cmd.OutOrStdout(),
					[]string{"SEQ", "STORED", "PARTNER", "SUBSCRIPTION", "TYPE", "EVENT", "STATUS", "ATTEMPTS", "REASON"}, table)
			})
		},
	}
	f.register(cmd, false)
	cmd.Flags().StringVar(&f.since, "since", "", "only dead letters stored at or after this time: RFC 3339, or a duration ago such as 24h")
	cmd.Flags().BoolVar(&f.asJSON, "json", false, "print JSON lines, one dead letter each")
	return cmd
}

func newDLQShowCmd() *cobra.Command {
	var f dlqFlags
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show one dead letter in full",
		Long: `Show prints one dead letter: its DLQ sequence, subject and time stored, every
header (the delivery's own and the DLQ's: reason, status, partner response
excerpt, attempts, first and last attempt) and the event as stored. Sealed
fields (kb1.… values) stay sealed; a number in the data that passes the
BSN elfproef is shown as [bsn].`,
		Example: `  ketenbus dlq show --id 42
  ketenbus dlq show --partner ggz --id 42 --json`,
		Args: dlqNoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.id == 0 {
				return &usageError{errors.New("name the dead letter: --id SEQ (the SEQ column of 'ketenbus dlq list')")}
			}
			ctx := cmd.Context()
			return f.withStore(ctx, func(store *dlq.Store) error {
				l, err := f.get(ctx, store)
				if err != nil {
					return err
				}
				return printLetter(cmd.OutOrStdout(), l, f.asJSON)
			})
		},
	}
	f.register(cmd, false)
	cmd.Flags().BoolVar(&f.asJSON, "json", false, "print the dead letter as one JSON object")
	return cmd
}

func newDLQRetryCmd() *cobra.Command {
	var f dlqFlags
	cmd := &cobra.Command{
		Use:   "retry",
		Short: "Put dead letters back on the partner's delivery subject",
		Long: `Retry puts dead letters back on ketenbus.deliver.<partner>, where the adapter
delivers them again: the event as stored, with the delivery's own headers
(not the DLQ's), a new Nats-Msg-Id derived from the dead letter, and a TTL
of what is left of the delivery's retention, if it had one. Each dead
letter is deleted from the DLQ only after JetStream stored its copy, so a
retry that stops midway loses nothing; run it again to finish: within the
duplicate window of DELIVERY (24h by default) a copy stored already is not
stored twice.

Fix the cause first (the partner's endpoint, its config), or the retried
deliveries come back to the DLQ.`,
		Example: `  ketenbus dlq retry --partner ggz --id 42
  ketenbus dlq retry --partner ggz --all
  ketenbus dlq retry --partner ggz --all --since 2026-04-01T00:00:00Z`,
		Args: dlqNoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.actOnSelection(cmd, "retry", "retried", func(ctx context.Context, store *dlq.Store, letters []dlq.Letter, out io.Writer) error {
				n, err := store.Retry(ctx, letters, time.Now())
				fmt.Fprintf(out, "retried %d of %d dead letters%s onto %s\n", n, len(letters), f.of(), events.DeliverySubject(f.partner))
				if err != nil {
					return &exitError{code: 1, err: fmt.Errorf("%w; the other dead letters are still in the DLQ or stored once on DELIVERY already: run the same retry again to finish", err)}
				}
				return nil
			})
		},
	}
	f.register(cmd, true)
	return cmd
}

// actOnSelection is the body of retry and purge: it checks their flags,
// connects, and runs act on the dead letters they select; when there
// are none it says so, "nothing " and done.
func (f *dlqFlags) actOnSelection(cmd *cobra.Command, verb, done string, act func(ctx context.Context, store *dlq.Store, letters []dlq.Letter, out io.Writer) error) error {
	if err := f.checkSelection(verb); err != nil {
		return err
	}
	since, err := f.sinceTime(time.Now())
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	return f.withStore(ctx, func(store *dlq.Store) error {
		letters, err := f.selection(ctx, store, since)
		if err != nil {
			return err
		}
		out := cmd.OutOrStdout()
		if len(letters) == 0 {
			fmt.Fprintf(out, "no dead letters%s: nothing %s\n", f.of(), done)
			return nil
		}
		return act(ctx, store, letters, out)
	})
}

func newDLQPurgeCmd() *cobra.Command {
	var f dlqFlags
	cmd := &cobra.Command{
		Use:   "purge",
		Short: "Delete dead letters for good",
		Long: `Purge deletes dead letters of a partner from the DLQ, their data overwritten
on disk: they can not be retried after. It asks first, on a terminal;
elsewhere pass --yes (without it nothing is deleted, exit 2).`,
		Example: `  ketenbus dlq purge --partner ggz --id 42
  ketenbus dlq purge --partner ggz --all --yes`,
		Args: dlqNoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.actOnSelection(cmd, "purge", "deleted", func(ctx context.Context, store *dlq.Store, letters []dlq.Letter, out io.Writer) error {
				if err := confirmOr(cmd, f.yes, fmt.Sprintf("Delete %d dead letters%s for good?", len(letters), f.of()), "nothing deleted"); err != nil {
					return err
				}
				for n, l := range letters {
					if err := store.Delete(ctx, l.Seq, true); err != nil {
						fmt.Fprintf(out, "deleted %d of %d dead letters%s\n", n, len(letters), f.of())
						return err
					}
				}
				fmt.Fprintf(out, "deleted %d dead letters%s\n", len(letters), f.of())
				return nil
			})
		},
	}
	f.register(cmd, true)
	cmd.Flags().BoolVar(&f.yes, "yes", false, "delete without asking")
	return cmd
}

// dlqNoArgs refuses arguments as a usage error (exit 2): the dlq
// commands take flags only.
func dlqNoArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		// Not repeated: it could be anything, a BSN too.
		return &usageError{fmt.Errorf("%s takes no arguments, only flags", cmd.CommandPath())}
	}
	return nil
}

// register registers the connection flags, --partner and --id; selection
// adds --all and its --since.
func (f *dlqFlags) register(cmd *cobra.Command, selection bool) {
	f.conn.registerNATS(cmd)
	cmd.Flags().StringVar(&f.partner, "partner", "", "partner id (as in the region config)")
	cmd.Flags().Uint64Var(&f.id, "id", 0, "the dead letter's DLQ stream sequence (SEQ in 'ketenbus dlq list')")
	if selection {
		cmd.Flags().BoolVar(&f.all, "all", false, "every dead letter of the partner")
		cmd.Flags().StringVar(&f.since, "since", "", "with --all: only dead letters stored at or after this time (RFC 3339, or a duration ago such as 24h)")
	}
}

// checkSelection checks the flags of retry and purge: a partner, and
// exactly one of --id and --all.
func (f *dlqFlags) checkSelection(verb string) error {
	switch {
	case f.partner == "":
		return &usageError{fmt.Errorf("%s needs --partner", verb)}
	case f.id == 0 && !f.all:
		return &usageError{fmt.Errorf("say what to %s: --id SEQ or --all", verb)}
	case f.id != 0 && f.all:
		return &usageError{errors.New("give --id or --all, not both")}
	case f.id != 0 && f.since != "":
		return &usageError{errors.New("--since goes with --all, not --id")}
	}
	return nil
}

// sinceTime parses --since: an RFC 3339 time, or a duration before now.
func (f *dlqFlags) sinceTime(now time.Time) (time.Time, error) {
	if f.since == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, f.since); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(f.since); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, &usageError{fmt.Errorf("--since %q is not an RFC 3339 time such as 2026-01-01T00:00:00Z nor a duration such as 24h", f.since)}
}

// withStore loads the region config, checks --partner against it (a
// usage error listing the known partners), connects, opens the DLQ, runs
// fn on it and closes the connection.
func (f *dlqFlags) withStore(ctx context.Context, fn func(*dlq.Store) error) error {
	reg, err := region.Load(f.conn.config)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	if f.partner != "" {
		if _, ok := reg.Partner(f.partner); !ok {
			known := partnerIDs(reg)
			slices.Sort(known)
			return &usageError{fmt.Errorf("partner %q is not in the region config %s; known partners: %s",
				f.partner, f.conn.config, strings.Join(known, ", "))}
		}
	}
	nc, js, err := f.conn.dialNATS()
	if err != nil {
		return err
	}
	defer nc.Close()
	store, err := dlq.Open(ctx, js)
	if err != nil {
		return err
	}
	return fn(store)
}

// get returns the dead letter of --id (and --partner, when given).
func (f *dlqFlags) get(ctx context.Context, store *dlq.Store) (dlq.Letter, error) {
	l, err := store.Get(ctx, f.partner, f.id)
	if errors.Is(err, dlq.ErrNotFound) {
		return l, &exitError{code: 1, err: fmt.Errorf("no dead letter with id %d%s in the DLQ", f.id, f.of())}
	}
	return l, err
}

// selection returns the dead letters retry and purge act on.
func (f *dlqFlags) selection(ctx context.Context, store *dlq.Store, since time.Time) ([]dlq.Letter, error) {
	if f.id != 0 {
		l, err := f.get(ctx, store)
		if err != nil {
			return nil, err
		}
		return []dlq.Letter{l}, nil
	}
	return store.List(ctx, f.partner, since)
}

// of names the partner for a message: " of ggz", or "".
func (f *dlqFlags) of() string {
	if f.partner == "" {
		return ""
	}
	return " of " + f.partner
}

// dlqRow is one line of dlq list, and its --json form.
type dlqRow struct {
	Seq          uint64    `json:"seq"`
	Stored       time.Time `json:"stored"`
	Partner      string    `json:"partner"`
	Subscription string    `json:"subscription,omitempty"`
	EventType    string    `json:"event_type,omitempty"`
	EventID      string    `json:"event_id,omitempty"`
	Reason       string    `json:"reason,omitempty"`
	Status       int       `json:"status,omitempty"`
	Attempts     int       `json:"attempts"`
	FirstAttempt string    `json:"first_attempt,omitempty"`
	LastAttempt  string    `json:"last_attempt,omitempty"`
}

func newDLQRow(l dlq.Letter) dlqRow {
	id, typ := l.Event()
	return dlqRow{
		Seq: l.Seq, Stored: l.Stored.UTC(), Partner: l.Partner(), Subscription: l.Subscription(),
		EventType: typ, EventID: events.RedactBSNs(id), Reason: l.Reason(), Status: l.Status(), Attempts: l.Attempts(),
		FirstAttempt: l.Header.Get(bus.HeaderDLQFirstAttempt), LastAttempt: l.Header.Get(bus.HeaderDLQLastAttempt),
	}
}

// dlqLetter is dlq show --json.
type dlqLetter struct {
	Seq     uint64              `json:"seq"`
	Subject string              `json:"subject"`
	Stored  time.Time           `json:"stored"`
	Headers map[string][]string `json:"headers"`
	// Event is the delivered event as stored (sealed fields sealed), or,
	// when it is not JSON, a string.
	Event json.RawMessage `json:"event"`
}

// printLetter prints l in full: headers and event, as stored.
func printLetter(w io.Writer, l dlq.Letter, asJSON bool) error {
	event := showableEvent(l.Data)
	if asJSON {
		return json.NewEncoder(w).Encode(dlqLetter{Seq: l.Seq, Subject: l.Subject, Stored: l.Stored.UTC(), Headers: l.Header, Event: event})
	}
	fmt.Fprintf(w, "dead letter %d on %s, stored %s\n\nheaders:\n", l.Seq, l.Subject, l.Stored.UTC().Format(time.RFC3339Nano))
	keys := make([]string, 0, len(l.Header))
	for k := range l.Header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range l.Header[k] {
			fmt.Fprintf(w, "  %s: %s\n", printable(k), printable(v))
		}
	}
	var indented bytes.Buffer
	if err := json.Indent(&indented, event, "", "  "); err != nil {
		indented.Reset()
		indented.Write(event)
	}
	_, err := fmt.Fprintf(w, "\nevent:\n%s\n", indented.Bytes())
	return err
}

// showableEvent returns the event as stored, with every number in its data
// that passes the BSN elfproef (outside sealed values) replaced by
// "[bsn]": the gateway seals the fields the schema marks, and this keeps a
// BSN typed in another field off the screen. So are its attributes, which
// the publisher chose. A body that is not a JSON
// object comes back as a JSON string, redacted the same way.
func showableEvent(data []byte) json.RawMessage {
	var ev map[string]json.RawMessage
	if err := json.Unmarshal(data, &ev); err != nil {
		b, _ := json.Marshal(events.RedactBSNs(strings.ToValidUTF8(string(data), "\uFFFD")))
		return b
	}
	for k, v := range ev {
		if k != "data" {
			ev[k] = redactAttribute(v)
		}
	}
	if d, ok := ev["data"]; ok {
		var v any
		dec := json.NewDecoder(bytes.NewReader(d))
		dec.UseNumber()
		if err := dec.Decode(&v); err == nil {
			if b, err := json.Marshal(redactValue(v)); err == nil {
				ev["data"] = b
			}
		}
	}
	out, err := json.Marshal(ev)
	if err != nil {
		return json.RawMessage(`null`)
	}
	return out
}

// sealedPrefix starts a sealed field's value (services/shared/fieldcrypt).
const sealedPrefix = "kb1."

func redactValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = redactValue(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = redactValue(e)
		}
		return x
	case string:
		if strings.HasPrefix(x, sealedPrefix) {
			return x
		}
		return events.RedactBSNs(x)
	case json.Number:
		if r := events.RedactBSNs(x.String()); r != x.String() {
			return r
		}
		return x
	}
	return v
}
