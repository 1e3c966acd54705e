package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	_ "time/tzdata" // Europe/Amsterdam also where the system has no zoneinfo

	"github.com/spf13/cobra"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/escalator"
	"github.com/ketenbus/ketenbus/services/shared/projector"
	"github.com/ketenbus/ketenbus/services/shared/timers"
)

func newTimersCmd() *cobra.Command {
	return newGroupCmd("timers", "List, show, cancel and rebuild the escalation timers",
		newTimersListCmd(), newTimersShowCmd(), newTimersCancelCmd(), newTimersRebuildCmd())
}

// timersRebuilt and samenloopRebuilt are the --json results of the
// rebuilds: the events read and what Redis holds after, zero included.
type timersRebuilt struct {
	Events  uint64 `json:"events"`
	Pending int64  `json:"pending"`
}

type samenloopRebuilt struct {
	Events  uint64 `json:"events"`
	Persons int64  `json:"persons"`
}

func newTimersRebuildCmd() *cobra.Command {
	var (
		conn    connFlags
		fromSeq uint64
		since   string
		yes     bool
		asJSON  bool
	)
	cmd := &cobra.Command{
		Use:   "rebuild",
		Short: "Rebuild the timers in Redis from EVENTS",
		Long: `Rebuild replaces every escalation timer in Redis by the ones EVENTS implies:
it clears them and replays the aanmeldingen, overdrachten, bevestigingen and
escalaties through the escalator's own logic, publishing nothing. It holds
the rebuild lock in Redis meanwhile: running escalators neither fire nor
apply events until it is done, and go on from the rebuilt timers, so they
need not be stopped. Another rebuild running (an escalator's own, after it
found Redis empty) makes it fail and say so.

The escalators rebuild by themselves when they find the timers gone or
missing their last writes; run this after restoring Redis from a backup or
a Sentinel failover (deploy/redis/README.md says when).`,
		Example: `  # after losing Redis: rebuild from the whole EVENTS stream
  ketenbus timers rebuild --nats-url nats://nats:4222 --redis-url redis://redis:6379 --yes

  # from a stream sequence or a moment
  ketenbus timers rebuild --from-seq 120000 --yes
  ketenbus timers rebuild --since 2026-01-01T00:00:00Z --yes`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts := escalator.RebuildOptions{FromSeq: fromSeq}
			if since != "" {
				t, err := parseTimeFlag("--since", since)
				if err != nil {
					return err
				}
				opts.Since = t
			}
			if fromSeq > 0 && since != "" {
				return &usageError{errors.New("give --from-seq or --since, not both")}
			}
			return runRebuild(cmd, &conn, yes, asJSON, "This replaces every pending escalation timer in Redis. Continue?",
				func(ctx context.Context, c rebuildConn, progress func(done, total uint64)) (any, string, error) {
					e, err := escalator.New(escalator.Config{ServiceConfig: projector.ServiceConfig{Region: c.Region, JetStream: c.JetStream, Redis: c.Redis, Logger: slog.New(slog.DiscardHandler)}})
					if err != nil {
						return nil, "", err
					}
					opts.Progress = progress
					n, err := e.Rebuild(ctx, opts)
					if err != nil {
						return nil, "", err
					}
					pending, err := e.Store().Pending(ctx)
					if err != nil {
						return nil, "", err
					}
					return timersRebuilt{Events: n, Pending: pending}, fmt.Sprintf("rebuilt from %d events: %d timers pending", n, pending), nil
				})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as one JSON line")
	conn.register(cmd)
	cmd.Flags().Uint64Var(&fromSeq, "from-seq", 0, "start at this EVENTS sequence")
	cmd.Flags().StringVar(&since, "since", "", "start at this time (RFC 3339)")
	registerYes(cmd, &yes)
	return cmd
}

// timersRedisFlag is the --redis-url flag of the timers commands that need only
// Redis (list, show, cancel): no region config, no NATS.
type timersRedisFlag struct{ url string }

func (r *timersRedisFlag) register(cmd *cobra.Command) {
	registerRedisURL(cmd, &r.url)
}

// withStore connects to Redis, runs fn on the escalator's timer store
// there and closes the client.
func (r *timersRedisFlag) withStore(ctx context.Context, fn func(*timers.Store) error) error {
	rdb, err := connectRedis(ctx, r.url)
	if err != nil {
		return err
	}
	defer rdb.Close()
	s, err := timers.New(rdb, timers.Config{})
	if err != nil {
		return err
	}
	return fn(s)
}

// timerZone is the time zone timers are shown in: terms end at midnight
// in Amsterdam.
var timerZone = func() *time.Location {
	l, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		return time.UTC
	}
	return l
}()

// timerView is a timer as the timers commands print it: in --json in
// full, in tables with the subject shortened.
type timerView struct {
	ID        string       `json:"id"`
	Kind      string       `json:"kind"`
	Betreft   timerRefView `json:"betreft"`
	Subject   string       `json:"subject"`
	Ontvanger string       `json:"ontvanger"`
	Sender    string       `json:"sender"`
	Level     int          `json:"level"`
	Reden     string       `json:"reden"`
	Termijn   viewTime     `json:"termijn"`
	Due       viewTime     `json:"due"`
	Anchor    *viewTime    `json:"anchor,omitempty"`
	// Note says what is odd about the timer, such as a time beyond year
	// 9998 (timers.Timer.OutOfRange); empty for a timer as it should be.
	Note string `json:"note,omitempty"`
}

// noteOutOfRange is the note of a timer with a time out of range.
const noteOutOfRange = "a time of this timer lies beyond what RFC 3339 writes (years 0001-9998): its event's time, uiterlijk or geboortedatum was far off, before the gateway bounded time; check the event, and cancel the timer if it is a mistake"

// viewTime is a time of a timer view: in JSON an RFC 3339 timestamp, the
// same as time.Time writes, also where time.Time cannot (a year beyond
// 9999 or before 0, which encoding/json refuses for the whole output):
// there in ISO 8601's expanded form with a sign, such as
// "+10000-01-01T00:00:00+01:00". A zone offset with seconds (Amsterdam
// before 1937) is written in UTC, since RFC 3339 offsets have none.
type viewTime time.Time

func (v viewTime) MarshalJSON() ([]byte, error) {
	t := time.Time(v)
	if _, off := t.Zone(); off%60 != 0 {
		t = t.UTC()
	}
	if b, err := t.MarshalJSON(); err == nil {
		return b, nil
	}
	s := t.Format(time.RFC3339Nano) // the year as it is: 10000-…, -0001-…
	if !strings.HasPrefix(s, "-") {
		s = "+" + s
	}
	return []byte(`"` + s + `"`), nil
}

// UnmarshalJSON reads an RFC 3339 timestamp (not the expanded form).
func (v *viewTime) UnmarshalJSON(b []byte) error { return (*time.Time)(v).UnmarshalJSON(b) }

type timerRefView struct {
	Source string `json:"source"`
	ID     string `json:"id"`
	Type   string `json:"type,omitempty"`
}

func timerViewOf(t timers.Timer) timerView {
	v := timerView{
		ID: t.ID, Kind: t.Kind, Betreft: timerRefView(t.Betreft), Subject: t.Subject,
		Ontvanger: t.Ontvanger, Sender: t.Sender, Level: t.Level, Reden: t.Reden,
		Termijn: viewTime(t.Termijn.In(timerZone)), Due: viewTime(t.Due.In(timerZone)),
	}
	v.Betreft.ID = events.RedactBSNs(v.Betreft.ID) // the publisher chose it
	if !t.Anchor.IsZero() {
		a := viewTime(t.Anchor.In(timerZone))
		v.Anchor = &a
	}
	if t.OutOfRange() {
		v.Note = noteOutOfRange
	}
	return v
}

// timerTime formats a time for people: Amsterdam time with its offset.
func timerTime[T time.Time | viewTime](t T) string {
	return time.Time(t).In(timerZone).Format(time.RFC3339)
}

// parseTimerID returns the timer id of the arguments: a timer id (32 hex
// digits), or the source and id of the watched event.
func parseTimerID(args []string) (string, error) {
	if len(args) == 2 {
		return events.MsgID(args[0], args[1]), nil
	}
	id := strings.ToLower(strings.TrimSpace(args[0]))
	if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
		return "", &usageError{fmt.Errorf("%q is not a timer id: give the 32 hex digits that timers list shows, or the SOURCE and ID of the aanmelding or overdracht", args[0])}
	}
	return id, nil
}

// getTimer returns the timer with id, or an exit 1 error saying there is
// none.
func getTimer(ctx context.Context, s *timers.Store, id string) (timers.Timer, error) {
	t, ok, err := s.Get(ctx, id)
	if err != nil {
		return timers.Timer{}, err
	}
	if !ok {
		return timers.Timer{}, &exitError{code: 1, err: fmt.Errorf("no pending timer %s: it was acknowledged (bevestiging), finished its ladder, was cancelled, or never existed; timers list shows the pending ones", id)}
	}
	return t, nil
}

func newTimersListCmd() *cobra.Command {
	var (
		rf        timersRedisFlag
		dueBefore string
		partner   string
		asJSON    bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the pending escalation timers, earliest due first",
		Long: `List prints every pending escalation timer in Redis, earliest due first: one
per aanmelding or overdracht whose bevestiging has not come, with the level
that fires next, why, the term it reports and when it is due. Times are in
Amsterdam time.

The subject is the person's pseudonym, shortened in the table and in full
with --json. --partner keeps the timers where the partner is the ontvanger
(who must acknowledge) or the sender.`,
		Example: `  # everything pending
  ketenbus timers list --redis-url redis://redis:6379

  # what fires in the next two days, for one partner
  ketenbus timers list --due-before 48h --partner ggz

  # as JSON lines, one timer each
  ketenbus timers list --due-before 2026-05-01T00:00:00+02:00 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var before time.Time
			if dueBefore != "" {
				t, err := parseDueBefore(dueBefore, time.Now())
				if err != nil {
					return &usageError{fmt.Errorf("--due-before: %w", err)}
				}
				before = t
			}
			ctx := cmd.Context()
			return rf.withStore(ctx, func(s *timers.Store) error {
				var list []timers.Timer
				for cursor := int64(0); ; {
					page, next, err := s.List(ctx, cursor, 1000)
					if err != nil {
						return err
					}
					for _, t := range page {
						if !before.IsZero() && !t.Due.Before(before) {
							continue
						}
						if partner != "" && t.Ontvanger != partner && t.Sender != partner {
							continue
						}
						list = append(list, t)
					}
					if next == 0 {
						break
					}
					cursor = next
				}
				// Redis orders a claimed timer by its lease; people by due.
				slices.SortStableFunc(list, func(a, b timers.Timer) int { return a.Due.Compare(b.Due) })
				out := cmd.OutOrStdout()
				views := make([]timerView, len(list))
				for i, t := range list {
					views[i] = timerViewOf(t)
				}
				if asJSON {
					return writeJSONLines(out, views)
				}
				if len(list) == 0 {
					_, err := fmt.Fprintln(out, "no pending timers")
					return err
				}
				rows := make([][]string, len(views))
				for i, v := range views {
					rows[i] = []string{v.ID, v.Kind, v.Betreft.Source + " " + v.Betreft.ID, events.ShortPseudonym(v.Subject),
						v.Ontvanger, strconv.Itoa(v.Level), v.Reden, timerTime(v.Termijn), timerTime(v.Due)}
				}
				if err := writeTable(out, []string{"ID", "KIND", "BETREFT", "SUBJECT", "ONTVANGER", "LEVEL", "REDEN", "TERMIJN", "DUE"}, rows); err != nil {
					return err
				}
				for _, v := range views {
					if v.Note != "" {
						if _, err := fmt.Fprintf(out, "note: timer %s: %s\n", v.ID, v.Note); err != nil {
							return err
						}
					}
				}
				return nil
			})
		},
	}
	rf.register(cmd)
	cmd.Flags().StringVar(&dueBefore, "due-before", "", "only timers due before this time (RFC 3339) or this long from now (such as 48h)")
	cmd.Flags().StringVar(&partner, "partner", "", "only timers with this partner id as ontvanger or sender")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the timers as JSON lines, subject in full")
	return cmd
}

// parseDueBefore reads an RFC 3339 time, or a duration from now.
func parseDueBefore(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(d), nil
	}
	return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time such as 2026-05-01T00:00:00+02:00 nor a duration such as 48h", s)
}

// withTimer connects to Redis and runs fn on the timer args name (its
// id, or the source and id of the event it watches).
func (rf *timersRedisFlag) withTimer(ctx context.Context, args []string, fn func(*timers.Store, timers.Timer) error) error {
	id, err := parseTimerID(args)
	if err != nil {
		return err
	}
	return rf.withStore(ctx, func(s *timers.Store) error {
		t, err := getTimer(ctx, s, id)
		if err != nil {
			return err
		}
		return fn(s, t)
	})
}

func newTimersShowCmd() *cobra.Command {
	var (
		rf     timersRedisFlag
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "show ID | show SOURCE EVENT-ID",
		Short: "Show one escalation timer in full",
		Long: `Show prints one pending escalation timer in full. Name it by its id (the 32
hex digits timers list shows) or by the source and id of the aanmelding or
overdracht it watches.`,
		Example: `  ketenbus timers show 3f0c9d2e6b1a4c8d9e0f1a2b3c4d5e6f
  ketenbus timers show urn:nld:oin:00000009999999990004:systeem:bvh a-1 --json`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return rf.withTimer(ctx, args, func(_ *timers.Store, t timers.Timer) error {
				out, v := cmd.OutOrStdout(), timerViewOf(t)
				if asJSON {
					return writeJSONLines(out, []timerView{v})
				}
				return printTimer(out, v)
			})
		},
	}
	rf.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the timer as one JSON line")
	return cmd
}

// printTimer prints a timer as aligned "key: value" lines.
func printTimer(w io.Writer, t timerView) error {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	line := func(k, v string) {
		if v == "" {
			v = "-"
		}
		fmt.Fprintf(tw, "%s:\t%s\n", k, printable(v))
	}
	line("id", t.ID)
	line("kind", t.Kind)
	line("betreft", t.Betreft.Source+" "+t.Betreft.ID)
	line("betreft type", t.Betreft.Type)
	line("subject", t.Subject)
	line("sender", t.Sender)
	line("ontvanger", t.Ontvanger)
	line("level", strconv.Itoa(t.Level))
	line("reden", t.Reden)
	line("termijn", timerTime(t.Termijn))
	line("due", timerTime(t.Due))
	if t.Anchor != nil {
		line("anchor", timerTime(*t.Anchor))
	}
	if t.Note != "" {
		line("note", t.Note)
	}
	return tw.Flush()
}

func newTimersCancelCmd() *cobra.Command {
	var (
		rf  timersRedisFlag
		yes bool
	)
	cmd := &cobra.Command{
		Use:   "cancel ID | cancel SOURCE EVENT-ID",
		Short: "Remove one escalation timer: its term is no longer watched",
		Long: `Cancel removes one pending escalation timer, as a bevestiging would: no
further escalatie fires for that aanmelding or overdracht. Name it by its id
or by the source and id of the event it watches.

It is not recorded in EVENTS: a later 'timers rebuild' brings the timer back
unless a bevestiging arrives meanwhile. It asks for confirmation on a
terminal; elsewhere pass --yes.`,
		Example: `  ketenbus timers cancel 3f0c9d2e6b1a4c8d9e0f1a2b3c4d5e6f
  ketenbus timers cancel urn:nld:oin:00000009999999990004:systeem:bvh a-1 --yes`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return rf.withTimer(ctx, args, func(s *timers.Store, t timers.Timer) error {
				if err := confirmOr(cmd, yes, fmt.Sprintf(
					"Cancel timer %s (%s %s %s, ontvanger %s, level %d due %s)? No escalatie will fire for it.",
					t.ID, t.Kind, t.Betreft.Source, t.Betreft.ID, t.Ontvanger, t.Level, timerTime(t.Due)), "not cancelled"); err != nil {
					return err
				}
				existed, err := s.Cancel(ctx, t.ID)
				if err != nil {
					return err
				}
				if !existed {
					return &exitError{code: 1, err: fmt.Errorf("timer %s was gone before it was cancelled (acknowledged or finished meanwhile)", t.ID)}
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "cancelled timer %s (%s %s %s, ontvanger %s): its term is no longer watched; a timers rebuild brings it back unless a bevestiging arrives\n",
					t.ID, t.Kind, printable(t.Betreft.Source), printable(t.Betreft.ID), printable(t.Ontvanger))
				return err
			})
		},
	}
	rf.register(cmd)
	registerYes(cmd, &yes)
	return cmd
}
