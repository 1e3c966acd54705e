package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/streams"
)

// tailOptions are the flags of ketenbus tail.
type tailOptions struct {
	types   []string
	partner string
	subject string
	since   string
	fromSeq uint64
	count   int
	asJSON  bool
}

func newTailCmd() *cobra.Command {
	var (
		conn connFlags
		opts tailOptions
	)
	cmd := &cobra.Command{
		Use:   "tail",
		Short: "Follow the events stored on EVENTS, live (attributes only)",
		Long: `Tail follows the EVENTS stream live, from now, or from --since / --from-seq,
and prints one line per event: stream sequence, time stored, type, source,
id, subject (the pseudonym, shortened), ontvanger and the publishing partner
(the last segment of the subject ketenbus.events.<event>.<version>.<partner>).

Only the context attributes are shown, never the data: sensitive fields
are sealed on EVENTS anyway, and the rest stays out of terminals and logs.

--type and --partner select by NATS subject; --subject (a 64-hex pseudonym)
by the subject attribute. --json prints one JSON object per event: the
context attributes, plus sequence (stream sequence), stored_at (time
stored) and partner_id (publishing partner). Ctrl-C stops; --count N stops
after N events.`,
		Example: `  # everything, live
  ketenbus tail --nats-url nats://nats:4222

  # the signalen of politie since this morning, as JSON lines
  ketenbus tail --type nl.sociaaldomein.signaal.v1 --partner politie --since 2026-11-24T07:00:00Z --json

  # the first 10 events of the stream about one person
  ketenbus tail --from-seq 1 --count 10 --subject 5f0c6e2d…c5d`,
		Args: refuseArgs("tail takes no arguments: select with --type, --partner and --subject"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			since, err := opts.validate()
			if err != nil {
				return err
			}
			return conn.withNATS(func(_ *region.Config, js jetstream.JetStream) error {
				return runTail(cmd.Context(), js, opts, since, cmd.OutOrStdout())
			})
		},
	}
	// A flag error repeats what was typed, which may be a BSN.
	redactFlagErrors(cmd)
	conn.registerNATS(cmd)
	fl := cmd.Flags()
	fl.StringArrayVar(&opts.types, "type", nil, "only events of this type (full type name; repeat for more)")
	fl.StringVar(&opts.partner, "partner", "", "only events published by this partner (its id)")
	fl.StringVar(&opts.subject, "subject", "", "only events about this person: their pseudonym (64 hex digits)")
	fl.StringVar(&opts.since, "since", "", "start at the first event stored at or after this time (RFC 3339)")
	fl.Uint64Var(&opts.fromSeq, "from-seq", 0, "start at this EVENTS sequence")
	fl.IntVar(&opts.count, "count", 0, "stop after this many events (0: follow until Ctrl-C)")
	fl.BoolVar(&opts.asJSON, "json", false, "print one JSON object per event (context attributes only)")
	_ = cmd.RegisterFlagCompletionFunc("type", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return events.Types(), cobra.ShellCompDirectiveNoFileComp
	})
	_ = cmd.RegisterFlagCompletionFunc("partner", completePartners)
	return cmd
}

// validate checks the flags and returns the start time of --since (zero
// when not given). Errors are *usageError and never repeat --subject.
func (o *tailOptions) validate() (time.Time, error) {
	for _, t := range o.types {
		if !events.KnownType(t) {
			return time.Time{}, &usageError{fmt.Errorf("--type %q is not an event type of the catalog; use one of: %s", redacted(t), strings.Join(events.Types(), ", "))}
		}
	}
	if err := checkPartnerID(o.partner); err != nil {
		return time.Time{}, err
	}
	var err error
	if o.subject, err = parseSubjectFlag(o.subject); err != nil {
		return time.Time{}, err
	}
	if o.count < 0 {
		return time.Time{}, &usageError{errors.New("--count must be 0 or more")}
	}
	if o.fromSeq > 0 && o.since != "" {
		return time.Time{}, &usageError{errors.New("give --from-seq or --since, not both")}
	}
	if o.since == "" {
		return time.Time{}, nil
	}
	return parseTimeFlag("--since", o.since)
}

// filterSubjects returns the EVENTS subjects that select --type and
// --partner: every combination of the two.
func (o tailOptions) filterSubjects() []string {
	partner := "*"
	if o.partner != "" {
		partner = o.partner
	}
	if len(o.types) == 0 {
		if o.partner == "" {
			return []string{events.SubjectEventsAll}
		}
		return []string{"ketenbus.events.*.*." + partner}
	}
	var subjects []string
	for _, t := range o.types {
		s := events.EventSubject(t, partner)
		if !slices.Contains(subjects, s) {
			subjects = append(subjects, s)
		}
	}
	return subjects
}

// tailLine is what tail shows of one event: --json prints it as one
// object, the context attributes flat beside the stream's facts.
type tailLine struct {
	Sequence uint64
	Stored   time.Time
	Partner  string
	// Attributes are the event's context attributes, without data and
	// data_base64; nil when the message is not a JSON object.
	Attributes map[string]json.RawMessage
}

func (l tailLine) attr(name string) string {
	var s string
	if v, ok := l.Attributes[name]; ok && json.Unmarshal(v, &s) == nil {
		return s
	}
	return ""
}

// MarshalJSON gives the context attributes plus sequence, stored_at and
// partner_id.
func (l tailLine) MarshalJSON() ([]byte, error) {
	obj := make(map[string]any, len(l.Attributes)+3)
	for k, v := range l.Attributes {
		obj[k] = v
	}
	obj["sequence"] = l.Sequence
	obj["stored_at"] = l.Stored.UTC().Format(time.RFC3339Nano)
	obj["partner_id"] = l.Partner
	return json.Marshal(obj)
}

// newTailLine keeps the context attributes of a stored event and drops its
// data.
func newTailLine(m jetstream.Msg) (tailLine, error) {
	md, err := m.Metadata()
	if err != nil {
		return tailLine{}, err
	}
	l := tailLine{Sequence: md.Sequence.Stream, Stored: md.Timestamp, Partner: events.SubjectPartner(m.Subject())}
	var obj map[string]json.RawMessage
	if json.Unmarshal(m.Data(), &obj) == nil {
		delete(obj, "data")
		delete(obj, "data_base64")
		for k, v := range obj {
			obj[k] = redactAttribute(v)
		}
		l.Attributes = obj
	}
	return l, nil
}

// redactAttribute replaces what looks like a BSN in an attribute's value:
// a publisher chooses its ids and extensions freely.
func redactAttribute(v json.RawMessage) json.RawMessage {
	r := events.RedactBSNs(string(v))
	switch {
	case r == string(v):
		return v
	case len(v) > 0 && v[0] == '"':
		return json.RawMessage(r)
	default: // a number: still JSON once quoted
		q, _ := json.Marshal(r)
		return q
	}
}

const tailFormat = "%-8s %-20s %-42s %-48s %-36s %-12s %-16s %s\n"

// runTail follows EVENTS until ctx ends or opts.count events are printed.
func runTail(ctx context.Context, js jetstream.JetStream, opts tailOptions, since time.Time, out io.Writer) error {
	st, err := js.Stream(ctx, events.StreamEvents)
	if err != nil {
		return fmt.Errorf("stream %s: %w", events.StreamEvents, err)
	}
	cc := jetstream.OrderedConsumerConfig{FilterSubjects: opts.filterSubjects(), DeliverPolicy: jetstream.DeliverNewPolicy}
	// Nothing stored since then: follow what comes next.
	if _, err := streams.StartFrom(ctx, st, &cc, opts.fromSeq, since); err != nil {
		return fmt.Errorf("follow %s: %w", events.StreamEvents, err)
	}
	cons, err := st.OrderedConsumer(ctx, cc)
	if err != nil {
		return fmt.Errorf("follow %s: %w", events.StreamEvents, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("follow %s: %w", events.StreamEvents, err)
	}
	defer it.Stop()

	enc := json.NewEncoder(out)
	if !opts.asJSON {
		fmt.Fprintf(out, tailFormat, "SEQ", "STORED", "TYPE", "SOURCE", "ID", "SUBJECT", "ONTVANGER", "PARTNER")
	}
	printed := 0
	for opts.count == 0 || printed < opts.count {
		m, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			if ctx.Err() != nil {
				return nil // Ctrl-C: a clean stop
			}
			return fmt.Errorf("follow %s: %w", events.StreamEvents, err)
		}
		l, err := newTailLine(m)
		if err != nil {
			return fmt.Errorf("follow %s: %w", events.StreamEvents, err)
		}
		if opts.subject != "" && l.attr("subject") != opts.subject {
			continue
		}
		printed++
		if opts.asJSON {
			if err := enc.Encode(l); err != nil {
				return err
			}
			continue
		}
		cell := func(s string) string {
			if s == "" {
				return "-"
			}
			return printable(s)
		}
		typ := l.attr("type")
		if l.Attributes == nil {
			typ = "(not a JSON event)"
		}
		fmt.Fprintf(out, tailFormat, fmt.Sprint(l.Sequence), l.Stored.UTC().Format(time.RFC3339),
			cell(typ), cell(l.attr("source")), cell(l.attr("id")), cell(events.ShortPseudonym(l.attr("subject"))),
			cell(l.attr(events.ExtensionOntvanger)), cell(l.Partner))
	}
	return nil
}

// completePartners completes a --partner flag with the partner ids of the
// region config named by --config (or its default).
func completePartners(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
	path, _ := cmd.Flags().GetString("config")
	reg, err := region.Load(path)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return partnerIDs(reg), cobra.ShellCompDirectiveNoFileComp
}
