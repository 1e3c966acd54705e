package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/region"
)

// validateResult is the outcome for one file; --json prints a list of them.
type validateResult struct {
	File   string             `json:"file"`
	Valid  bool               `json:"valid"`
	Events int                `json:"events"`
	Errors []events.Violation `json:"errors,omitempty"`
	// ReadError is set when the file could not be read.
	ReadError string `json:"read_error,omitempty"`
}

func newValidateCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check events against the catalog, offline",
		Long: `Check events against the event catalog without sending them: CloudEvents 1.0,
the NL GOV profile rules and the JSON Schema of the event's data. The
messages are the ones the gateway gives.

Each FILE holds one structured event (a JSON object, as sent with
Content-Type application/cloudevents+json) or a batch (a JSON array, as
sent with application/cloudevents-batch+json). '-' reads standard input.
A time more than a day ahead is refused, as the gateway does by default.

For each file it prints 'FILE: ok (N events)', or one line per violation:
'FILE: <JSON pointer>: <what to fix>'. What the gateway checks beyond the
catalog (token, the partner's sources and types, rate limits) is not
checked here.

Exit code: 0 every file is valid, 1 an event is invalid, 2 wrong usage or a
file that cannot be read.`,
		Example: `  ketenbus validate signaal.json
  ketenbus validate events/*.json
  cat batch.json | ketenbus validate -
  ketenbus validate --json signaal.json | jq '.[].errors'`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return &usageError{errors.New("name at least one FILE, or - for standard input")}
			}
			return nil
		},
		ValidArgsFunction: completeJSONFiles,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runValidate(cmd, args, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the results as a JSON array of {file, valid, events, errors[{pointer, detail}], read_error}")
	return cmd
}

func runValidate(cmd *cobra.Command, files []string, asJSON bool) error {
	out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
	catalog := events.Default()
	results := make([]validateResult, 0, len(files))
	code := 0
	for _, file := range files {
		r := validateFile(catalog, file, cmd.InOrStdin(), time.Now())
		results = append(results, r)
		switch {
		case r.ReadError != "":
			code = 2
		case !r.Valid && code == 0:
			code = 1
		}
		if asJSON {
			continue
		}
		switch {
		case r.ReadError != "":
			fmt.Fprintf(errOut, "%s: %s\n", r.File, r.ReadError)
		case r.Valid:
			fmt.Fprintf(out, "%s: ok (%d %s)\n", r.File, r.Events, plural(r.Events, "event", "events"))
		default:
			printViolations(out, r.File, r.Errors)
		}
	}
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(results); err != nil {
			return err
		}
	}
	if code != 0 {
		return &exitError{code: code}
	}
	return nil
}

// printViolations prints one line per violation in file: "FILE: POINTER:
// DETAIL", or "FILE: DETAIL" for the event as a whole.
func printViolations(out io.Writer, file string, vs []events.Violation) {
	for _, v := range vs {
		if v.Pointer == "" {
			fmt.Fprintf(out, "%s: %s\n", file, v.Detail)
		} else {
			fmt.Fprintf(out, "%s: %s: %s\n", file, v.Pointer, v.Detail)
		}
	}
}

// validateFile reads one file ("-": stdin) and checks it as an event or,
// when it is a JSON array, as a batch.
func validateFile(catalog *events.Catalog, file string, stdin io.Reader, now time.Time) validateResult {
	name, b, err := readInput(file, stdin)
	r := validateResult{File: name}
	if err != nil {
		r.ReadError = readErrorText(err)
		return r
	}
	if trimmed := bytes.TrimSpace(b); len(trimmed) > 0 && trimmed[0] == '[' {
		parsed, err := catalog.ParseBatch(b)
		if err == nil {
			err = timeViolations(parsed, true, now)
		}
		return withViolations(r, len(parsed), err)
	}
	p, err := catalog.ParseStructured(b)
	if err == nil {
		err = timeViolations([]*events.Parsed{p}, false, now)
	}
	return withViolations(r, 1, err)
}

// timeViolations applies the gateway's bound on time that holds without a
// region config: at most region.DefaultMaxTimeAhead ahead of now. (The
// retention bound depends on the region's retention.)
func timeViolations(parsed []*events.Parsed, batch bool, now time.Time) error {
	var vs []events.Violation
	for i, p := range parsed {
		t := p.Event.Time()
		if t.IsZero() {
			continue
		}
		if msg := region.CheckTime(t, now, 0, 0); msg != "" {
			ptr := "/time"
			if batch {
				ptr = "/" + strconv.Itoa(i) + ptr
			}
			vs = append(vs, events.Violation{Pointer: ptr, Detail: msg})
		}
	}
	if len(vs) == 0 {
		return nil
	}
	return &events.ValidationError{Violations: vs}
}

func withViolations(r validateResult, n int, err error) validateResult {
	if err == nil {
		r.Valid, r.Events = true, n
		return r
	}
	var ve *events.ValidationError
	if errors.As(err, &ve) {
		r.Errors = ve.Violations
	} else {
		r.Errors = []events.Violation{{Detail: err.Error()}}
	}
	return r
}

// readInput reads file, or stdin for "-", and returns the name to show
// for it: file, or "<stdin>".
func readInput(file string, stdin io.Reader) (name string, data []byte, err error) {
	if file == "-" {
		data, err = io.ReadAll(stdin)
		return "<stdin>", data, err
	}
	data, err = os.ReadFile(file)
	return file, data, err
}

// oneFileArg is the arguments of a command that reads one FILE, or "-"
// for standard input.
func oneFileArg(_ *cobra.Command, args []string) error {
	if len(args) != 1 {
		return &usageError{errors.New("name one FILE, or - for standard input")}
	}
	return nil
}

// completeJSONFiles completes the FILE arguments with .json files.
func completeJSONFiles(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return []string{"json"}, cobra.ShellCompDirectiveFilterFileExt
}

func readErrorText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return "cannot read: " + pe.Err.Error()
	}
	return "cannot read: " + err.Error()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
