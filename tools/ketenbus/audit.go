package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/audit"
	"github.com/ketenbus/ketenbus/services/shared/region"
)

func newAuditCmd() *cobra.Command {
	var (
		conn    connFlags
		bsn     string
		subject string
		asJSON  bool
	)
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Show the processing log of one person",
		Long: `Audit lists every record of the processing log (Logboek Dataverwerkingen, the
AUDIT stream) about one person: each delivery of an event about them to a
partner, with the purpose (processing activity) it was delivered for and
how it ended, and each escalatie and samenloop ketenbus produced about them.

Name the person by BSN (--bsn): the pseudonym is computed with the region's
pseudonym key (the variable pseudonym_key_env names, also in a demo region)
and the BSN is never shown. Or name them by pseudonym (--subject), the
subject of their events. The output names the person by pseudonym only.`,
		Example: `  # everything ketenbus did with one person's data
  KETENBUS_PSEUDONYM_KEY=... ketenbus audit --bsn 123456782 --config /etc/ketenbus/region.yaml

  # by pseudonym, as JSON lines (one record each)
  ketenbus audit --subject 5f0c6e2d…c5d --json`,
		// An argument may well be a BSN: refused without repeating it.
		Args: refuseArgs("audit takes no arguments: name the person with --bsn or --subject"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			subject = strings.ToLower(strings.TrimSpace(subject))
			switch {
			case bsn != "" && subject != "":
				return &usageError{errors.New("give --bsn or --subject, not both")}
			case bsn == "" && subject == "":
				return &usageError{errors.New("name the person: --bsn N or --subject PSEUDONYM")}
			case bsn != "" && !events.ValidBSN(strings.TrimSpace(bsn)):
				// Never repeat it: it may be a real person's number with a typo.
				return &usageError{errors.New("--bsn is not a BSN: it must be 9 digits that pass the elfproef (11-test)")}
			case subject != "" && !audit.ValidDataSubject(subject):
				return &usageError{errors.New("--subject is not a pseudonym: it must be 64 hex digits")}
			}
			return conn.withNATS(func(reg *region.Config, js jetstream.JetStream) error {
				if bsn != "" {
					var err error
					if subject, err = pseudonymOf(reg, strings.TrimSpace(bsn)); err != nil {
						return &exitError{code: 2, err: err}
					}
				}
				records, err := audit.Query(cmd.Context(), js, subject)
				if err != nil {
					return err
				}
				if asJSON {
					return printRecordsJSON(cmd.OutOrStdout(), cmd.ErrOrStderr(), subject, records)
				}
				return printRecords(cmd.OutOrStdout(), subject, records)
			})
		},
	}
	// A flag error repeats what was typed, which may be a BSN: numbers are
	// left out.
	redactFlagErrors(cmd)
	conn.registerNATS(cmd)
	cmd.Flags().StringVar(&bsn, "bsn", "", "the person's BSN: the pseudonym is computed with the region's key")
	cmd.Flags().StringVar(&subject, "subject", "", "the person's pseudonym (64 hex digits)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the records as JSON lines")
	return cmd
}

// pseudonymOf returns the pseudonym of bsn under the region's pseudonym
// key. Only the region's keys are read, not the partners' tokens and
// secrets. A key that is not set is an error also in a demo region, which
// would generate one: a generated key gives the pseudonym of nobody. The
// error never holds the BSN or a key.
func pseudonymOf(reg *region.Config, bsn string) (string, error) {
	keysOnly := *reg
	keysOnly.Partners = nil
	secrets, generated, err := keysOnly.ResolveSecrets(os.Getenv)
	if err != nil {
		return "", err
	}
	if _, ok := generated[reg.PseudonymKeyEnv]; ok {
		return "", fmt.Errorf("environment variable %s (pseudonym_key_env) is not set: without the region's pseudonym key a BSN gives no pseudonym; set it, or pass --subject", reg.PseudonymKeyEnv)
	}
	pz, err := events.NewPseudonymizer(secrets.PseudonymKey)
	if err != nil {
		return "", err
	}
	return pz.Pseudonym(bsn), nil
}

// printRecords prints a line naming the person by pseudonym, then one
// line per record.
func printRecords(out io.Writer, subject string, records []audit.Record) error {
	if len(records) == 0 {
		_, err := fmt.Fprintf(out, "data subject %s: no records in the processing log\n", subject)
		return err
	}
	fmt.Fprintf(out, "data subject %s: %d records in the processing log\n", subject, len(records))
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tPARTNER\tSUBSCRIPTION\tTYPE\tEVENT\tPURPOSE\tOUTCOME")
	for _, r := range records {
		cell := func(key string) string {
			if v := r.Attr(key); v != "" {
				return printable(events.RedactBSNs(v)) // records written before event ids were redacted
			}
			return "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.StartTime.UTC().Format(time.RFC3339),
			cell(audit.AttrPartner), cell(audit.AttrSubscription), cell(audit.AttrEventType),
			cell(audit.AttrEventID), cell(audit.AttrProcessingActivity), cell(audit.AttrOutcome))
	}
	return tw.Flush()
}

// printRecordsJSON prints one record per line on out, and what the line
// of printRecords says on errOut.
func printRecordsJSON(out, errOut io.Writer, subject string, records []audit.Record) error {
	if len(records) == 0 {
		fmt.Fprintf(errOut, "data subject %s: no records in the processing log\n", subject)
		return nil
	}
	fmt.Fprintf(errOut, "data subject %s: %d records in the processing log\n", subject, len(records))
	enc := json.NewEncoder(out)
	for _, r := range records {
		// Records written before event ids were redacted may hold one.
		if id, ok := r.Attributes[audit.AttrEventID]; ok {
			r.Attributes = maps.Clone(r.Attributes)
			r.Attributes[audit.AttrEventID] = events.RedactBSNs(id)
		}
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}
