package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/router"
	"github.com/ketenbus/ketenbus/services/shared/region"
)

// replayFlags are the flags of ketenbus replay.
type replayFlags struct {
	conn         connFlags
	partner      string
	allPartners  bool
	since, until string
	fromSeq      uint64
	toSeq        uint64
	types        []string
	subject      string
	dryRun       bool
	rate         string
	asJSON       bool
	yes          bool
}

func newReplayCmd() *cobra.Command {
	var f replayFlags
	cmd := &cobra.Command{
		Use:   "replay (--partner P | --all-partners) (--since T [--until T] | --from-seq N [--to-seq M])",
		Short: "Deliver a range of EVENTS again to a partner",
		Long: `Replay delivers the events of a range of EVENTS again: it reads them in order,
routes each through the router's own routing table for the chosen partner
(--partner) or every partner (--all-partners), with the same subscriptions,
CESQL filters, ontvanger rule and field allow-lists as live delivery, and
stores the deliveries on the partner's DELIVERY subject
(ketenbus.deliver.<partner>), where the partner's adapter delivers them as
it delivers live ones. A partner gets only the types it subscribes to.

The range is a time range, --since T (included) up to --until T (excluded;
default: the last event stored when the replay starts), times in RFC 3339
and when JetStream stored the event; or a sequence range, --from-seq N up to
and including --to-seq M. --type (repeatable) and --subject (a person's
pseudonym, the events' subject) narrow it.

Every run has a new replay id, printed at the start and in the summary.
Each delivery carries it in the Ketenbus-Replay header and in its
Nats-Msg-Id, so JetStream does not take it for the live delivery, while a
publish retried within the run is stored once. Sensitive fields such as the
bsn stay sealed: the adapter opens them at delivery for a subscription whose
fields list them, as live.

--dry-run publishes nothing and counts the deliveries per partner and type.
Without --dry-run, replay asks for confirmation on a terminal; elsewhere it
needs --yes.

Exit codes: 0 done, 1 failure (such as a NATS error; the summary says what
was stored), 2 wrong usage.`,
		Example: `  # what would gemeente get again of last night?
  ketenbus replay --partner gemeente --since 2026-11-23T18:00:00Z --until 2026-11-24T06:00:00Z --dry-run

  # deliver it, at most 50 deliveries a second
  ketenbus replay --partner gemeente --since 2026-11-23T18:00:00Z --until 2026-11-24T06:00:00Z --rate 50/s --yes

  # one person's aanmeldingen, by EVENTS sequence, to every partner
  ketenbus replay --all-partners --from-seq 120000 --type nl.sociaaldomein.aanmelding.v1 --subject 5f0c6e2d…c5d --yes`,
		// An argument may be a BSN: refused without repeating it.
		Args: refuseArgs("replay takes no arguments: see the flags"),
		RunE: func(cmd *cobra.Command, _ []string) error { return runReplay(cmd, &f) },
	}
	// A flag error repeats what was typed, which may be a BSN: numbers are
	// left out.
	redactFlagErrors(cmd)
	f.conn.registerNATS(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.partner, "partner", "", "the partner to deliver to")
	fl.BoolVar(&f.allPartners, "all-partners", false, "deliver to every partner")
	fl.StringVar(&f.since, "since", "", "start at the first event stored at or after this time (RFC 3339)")
	fl.StringVar(&f.until, "until", "", "stop before the first event stored at or after this time (RFC 3339; needs --since)")
	fl.Uint64Var(&f.fromSeq, "from-seq", 0, "start at this EVENTS sequence")
	fl.Uint64Var(&f.toSeq, "to-seq", 0, "stop after this EVENTS sequence (needs --from-seq)")
	fl.StringSliceVar(&f.types, "type", nil, "only events of this type (repeatable; full type names such as "+events.TypeAanmelding+")")
	fl.StringVar(&f.subject, "subject", "", "only events about this person: their pseudonym (64 hex digits)")
	fl.BoolVar(&f.dryRun, "dry-run", false, "publish nothing; count the deliveries per partner and type")
	fl.StringVar(&f.rate, "rate", "", "at most N deliveries per second (N or N/s)")
	fl.BoolVar(&f.asJSON, "json", false, "print the summary as JSON (with --dry-run: JSON lines, one per partner and type)")
	registerYes(cmd, &f.yes)
	return cmd
}

// replayCount is one line of the --json output.
type replayCount struct {
	Partner    string `json:"partner"`
	Type       string `json:"type"`
	Deliveries uint64 `json:"deliveries"`
}

// replaySummary is the --json summary of a replay.
type replaySummary struct {
	ReplayID   string        `json:"replay_id"`
	Events     uint64        `json:"events"`
	Unreadable uint64        `json:"unreadable"`
	Deliveries uint64        `json:"deliveries"`
	Counts     []replayCount `json:"counts"`
	Error      string        `json:"error,omitempty"`
}

func runReplay(cmd *cobra.Command, f *replayFlags) error {
	cfg, err := f.replayConfig()
	if err != nil {
		return err
	}
	reg, err := region.Load(f.conn.config)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	if f.partner != "" {
		if _, ok := reg.Partner(f.partner); !ok {
			return &usageError{fmt.Errorf("--partner %q is not a partner of region %s; its partners: %s",
				redacted(f.partner), reg.Region, strings.Join(partnerIDs(reg), ", "))}
		}
	}
	who := "every partner"
	if f.partner != "" {
		who = f.partner
	}
	if err := confirmOr(cmd, f.dryRun || f.yes, fmt.Sprintf("Deliver the events of %s again to %s?", f.describeRange(), who), "nothing replayed"); err != nil {
		return err
	}
	nc, js, err := f.conn.dialNATS()
	if err != nil {
		return err
	}
	defer nc.Close()
	cfg.Region, cfg.JetStream = reg, js

	errOut := cmd.ErrOrStderr()
	if f.dryRun {
		fmt.Fprintf(errOut, "dry run: counting the deliveries to %s of %s; nothing is published\n", who, f.describeRange())
	} else {
		cfg.ID = router.NewReplayID()
		fmt.Fprintf(errOut, "replay %s: delivering the events of %s again to %s\n", cfg.ID, f.describeRange(), who)
	}
	bar := newProgress(errOut, "replay")
	cfg.Range.Progress = bar.update
	rep, err := router.Replay(cmd.Context(), cfg)
	bar.done()
	if perr := f.printReport(cmd.OutOrStdout(), errOut, rep, err); perr != nil && err == nil {
		err = perr
	}
	if err != nil {
		if f.dryRun {
			return fmt.Errorf("dry run: %w", err)
		}
		return fmt.Errorf("replay %s stopped; what the summary counts is stored: %w", rep.ID, err)
	}
	return nil
}

// replayConfig checks the flags that need no region or NATS and returns
// the replay they ask for; a mistake is a *usageError that never repeats
// a subject.
func (f *replayFlags) replayConfig() (router.ReplayConfig, error) {
	usage := func(format string, a ...any) error { return &usageError{fmt.Errorf(format, a...)} }
	var cfg router.ReplayConfig
	switch {
	case f.partner != "" && f.allPartners:
		return cfg, usage("give --partner or --all-partners, not both")
	case f.partner == "" && !f.allPartners:
		return cfg, usage("name the partner to deliver to: --partner P, or --all-partners")
	case f.partner != "":
		cfg.Partners = []string{f.partner}
	}

	bySeq, byTime := f.fromSeq > 0 || f.toSeq > 0, f.since != "" || f.until != ""
	switch {
	case bySeq && byTime:
		return cfg, usage("give a time range (--since, --until) or a sequence range (--from-seq, --to-seq), not both")
	case !bySeq && !byTime:
		return cfg, usage("give the range to replay: --since T [--until T] or --from-seq N [--to-seq M]")
	case f.until != "" && f.since == "":
		return cfg, usage("--until needs --since")
	case f.toSeq > 0 && f.fromSeq == 0:
		return cfg, usage("--to-seq needs --from-seq")
	case f.toSeq > 0 && f.toSeq < f.fromSeq:
		return cfg, usage("--to-seq %d is before --from-seq %d", f.toSeq, f.fromSeq)
	}
	cfg.Range.FromSeq, cfg.Range.ToSeq = f.fromSeq, f.toSeq
	for _, tf := range []struct {
		name, value string
		to          *time.Time
	}{{"--since", f.since, &cfg.Range.Since}, {"--until", f.until, &cfg.Range.Until}} {
		if tf.value == "" {
			continue
		}
		t, err := parseTimeFlag(tf.name, tf.value)
		if err != nil {
			return cfg, err
		}
		*tf.to = t
	}
	if !cfg.Range.Until.IsZero() && !cfg.Range.Until.After(cfg.Range.Since) {
		return cfg, usage("--until must be after --since")
	}

	for _, t := range f.types {
		t = strings.TrimSpace(t)
		if !events.KnownType(t) {
			return cfg, usage("--type %q is not an event type; the types: %s", redacted(t), strings.Join(events.Types(), ", "))
		}
		cfg.Types = append(cfg.Types, t)
	}
	subject, err := parseSubjectFlag(f.subject)
	if err != nil {
		return cfg, err
	}
	cfg.Subject = subject
	if f.rate != "" {
		n, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(f.rate), "/s"), 64)
		if err != nil || !(n > 0) || math.IsInf(n, 0) {
			return cfg, usage("--rate %q is not a number of deliveries per second such as 100 or 100/s", redacted(f.rate))
		}
		cfg.Rate = n
	}
	cfg.DryRun = f.dryRun
	return cfg, nil
}

// describeRange says which part of EVENTS the flags name.
func (f *replayFlags) describeRange() string {
	switch {
	case f.fromSeq > 0 && f.toSeq > 0:
		return fmt.Sprintf("EVENTS sequences %d to %d", f.fromSeq, f.toSeq)
	case f.fromSeq > 0:
		return fmt.Sprintf("EVENTS from sequence %d", f.fromSeq)
	case f.until != "":
		return fmt.Sprintf("EVENTS stored from %s until %s", f.since, f.until)
	default:
		return fmt.Sprintf("EVENTS stored from %s", f.since)
	}
}

// printReport prints what the replay did (or, in a dry run, would do):
// a line and a table per partner and type, or JSON.
func (f *replayFlags) printReport(out, errOut io.Writer, rep router.ReplayReport, runErr error) error {
	counts := make([]replayCount, len(rep.Counts))
	rows := make([][]string, len(rep.Counts))
	for i, c := range rep.Counts {
		counts[i] = replayCount{Partner: c.Partner, Type: c.Type, Deliveries: c.Deliveries}
		rows[i] = []string{c.Partner, c.Type, strconv.FormatUint(c.Deliveries, 10)}
	}
	var line string
	if f.dryRun {
		line = fmt.Sprintf("dry run: %d events read, %d deliveries would be sent", rep.Events, rep.Deliveries())
	} else {
		line = fmt.Sprintf("replay %s: %d events read, %d deliveries stored", rep.ID, rep.Events, rep.Deliveries())
	}
	if rep.Unreadable > 0 {
		line += fmt.Sprintf(" (%d events unreadable, as in live routing)", rep.Unreadable)
	}
	switch {
	case f.asJSON && f.dryRun:
		fmt.Fprintln(errOut, line)
		return writeJSONLines(out, counts)
	case f.asJSON:
		s := replaySummary{ReplayID: rep.ID, Events: rep.Events, Unreadable: rep.Unreadable, Deliveries: rep.Deliveries(), Counts: counts}
		if s.Counts == nil {
			s.Counts = []replayCount{}
		}
		if runErr != nil {
			s.Error = runErr.Error()
		}
		return json.NewEncoder(out).Encode(s)
	}
	fmt.Fprintln(out, line)
	if len(rows) == 0 {
		return nil
	}
	return writeTable(out, []string{"PARTNER", "TYPE", "DELIVERIES"}, rows)
}
