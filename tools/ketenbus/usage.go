// The checks of command lines that keep what was typed, which may be a
// BSN, out of the usage errors.

package main

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/audit"
	"github.com/ketenbus/ketenbus/services/shared/region"
)

// longNumber matches what could be a BSN in a text.
var longNumber = regexp.MustCompile(`[0-9]{8,}`)

// redacted returns s with every run of 8 or more digits (what could be a
// BSN) replaced by "[number]", fit to repeat in an error.
func redacted(s string) string { return longNumber.ReplaceAllString(s, "[number]") }

// redactFlagErrors makes cmd's flag errors usage errors that repeat no
// long number: a flag error repeats what was typed.
func redactFlagErrors(cmd *cobra.Command) {
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &usageError{errors.New(redacted(err.Error()))}
	})
}

// refuseArgs refuses any argument with the usage error text, which
// never repeats the argument: it may be anything, a BSN too.
func refuseArgs(text string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) > 0 {
			return &usageError{errors.New(text)}
		}
		return nil
	}
}

// checkPartnerID checks the form of --partner (empty: not given).
func checkPartnerID(id string) error {
	if id != "" && !events.ValidPartnerID(id) {
		return &usageError{fmt.Errorf("--partner %q is not a partner id: lowercase letters, digits and '-'", redacted(id))}
	}
	return nil
}

// parseSubjectFlag returns --subject in lower case, checked to be a
// pseudonym (empty: not given; spaces only are no pseudonym); the error
// never repeats it.
func parseSubjectFlag(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	s = strings.ToLower(strings.TrimSpace(s))
	if !audit.ValidDataSubject(s) {
		return "", &usageError{errors.New("--subject is not a pseudonym: it must be 64 hex digits")}
	}
	return s, nil
}

// parseTimeFlag parses value, the RFC 3339 time of the flag name.
func parseTimeFlag(name, value string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, value)
	if err != nil {
		return time.Time{}, &usageError{fmt.Errorf("%s %q is not an RFC 3339 time such as 2026-01-01T00:00:00Z", name, redacted(value))}
	}
	return t, nil
}

// partnerIDs returns the ids of the region's partners, in the order of
// the region config.
func partnerIDs(reg *region.Config) []string {
	ids := make([]string, len(reg.Partners))
	for i, p := range reg.Partners {
		ids[i] = p.ID
	}
	return ids
}
