package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/gateway"
	"github.com/ketenbus/ketenbus/services/shared/region"
)

// defaultGateway is where publish sends events without --gateway or
// KETENBUS_GATEWAY_URL: the gateway of ketenbus dev.
const defaultGateway = "http://127.0.0.1:8080"

// publishTimeout bounds one request to the gateway.
const publishTimeout = 30 * time.Second

// publishOptions are the flags of ketenbus publish.
type publishOptions struct {
	gateway  string
	tokenEnv string
	partner  string
	config   string
	asJSON   bool
}

// publishResult is the outcome of ketenbus publish; --json prints it.
type publishResult struct {
	File string `json:"file"`
	// Valid says whether the events passed the catalog offline; Errors
	// are the violations when not (the gateway was not contacted).
	Valid  bool               `json:"valid"`
	Errors []events.Violation `json:"errors,omitempty"`
	// Status is the gateway's HTTP status, 0 when it was not reached.
	Status int `json:"status,omitempty"`
	// Accepted are the gateway's answers, one per event, when it took them.
	Accepted []publishAnswer `json:"accepted,omitempty"`
	// Problem is the gateway's RFC 9457 answer when it refused them.
	Problem *gateway.Problem `json:"problem,omitempty"`
	// Error says why the gateway gave no answer.
	Error string `json:"error,omitempty"`
}

// publishAnswer is the gateway's answer for one stored event.
type publishAnswer struct {
	ID        string `json:"id"`
	Sequence  uint64 `json:"sequence"`
	Duplicate bool   `json:"duplicate"`
}

func newPublishCmd() *cobra.Command {
	var opts publishOptions
	cmd := &cobra.Command{
		Use:   "publish FILE|-",
		Short: "Send events to the gateway, after checking them offline",
		Long: `Publish checks the event or batch in FILE against the catalog, exactly as
'ketenbus validate' does, and only when it passes sends it to the gateway:
one JSON object as a structured event (application/cloudevents+json), a
JSON array as a batch (application/cloudevents-batch+json). '-' reads
standard input.

The bearer token is read from an environment variable, never from a flag:
--token-env VAR, or else the token_env the region config (--config) names
for the publishing partner (--partner, or the partner that owns the
events' source), such as KETENBUS_TOKEN_POLITIE.

It prints the gateway's answer for each event (id, stream sequence, and
whether it was a duplicate), or the problem the gateway reported (title,
detail and the JSON pointers of what to fix). The token and the events'
data are never printed.

Exit code: 0 the gateway accepted the events, 1 they are invalid, the
gateway refused them or could not be reached, 2 wrong usage (such as a
token variable that is not set) or a file that cannot be read.`,
		Example: `  # to the gateway of ketenbus dev, as the partner that owns the source
  source .ketenbus/demo.env
  ketenbus publish signaal.json

  # to a region's gateway, the token in a variable of your choice
  ketenbus publish --gateway https://gateway.example --token-env MY_TOKEN batch.json`,
		Args:              oneFileArg,
		ValidArgsFunction: completeJSONFiles,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPublish(cmd, args[0], opts)
		},
	}
	fl := cmd.Flags()
	registerGateway(cmd, &opts.gateway, &opts.tokenEnv)
	fl.StringVar(&opts.partner, "partner", "", "the publishing partner, to find its token_env (default: the partner that owns the events' source)")
	registerConfig(cmd, &opts.config)
	fl.BoolVar(&opts.asJSON, "json", false, "print the outcome as one JSON object {file, valid, errors, status, accepted, problem, error}")
	_ = cmd.RegisterFlagCompletionFunc("partner", completePartners)
	return cmd
}

// registerGateway registers --gateway and --token-env, where publish and
// bench send events and the variable with their bearer token.
func registerGateway(cmd *cobra.Command, gateway, tokenEnv *string) {
	fl := cmd.Flags()
	fl.StringVar(gateway, "gateway", envOr("KETENBUS_GATEWAY_URL", defaultGateway), "gateway URL (env KETENBUS_GATEWAY_URL)")
	fl.StringVar(tokenEnv, "token-env", "", "environment variable with the bearer token (default: the partner's token_env in the region config)")
}

func runPublish(cmd *cobra.Command, file string, opts publishOptions) error {
	if err := checkPartnerID(opts.partner); err != nil {
		return err
	}
	name, body, err := readInput(file, cmd.InOrStdin())
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("%s: %s", name, readErrorText(err))}
	}

	// Offline first, with the code of ketenbus validate: it reads "-" from
	// the reader given, here the body already read.
	checked := validateFile(events.Default(), "-", bytes.NewReader(body), time.Now())
	res := publishResult{File: name, Valid: checked.Valid, Errors: checked.Errors}
	if !res.Valid {
		return finishPublish(cmd.OutOrStdout(), res, opts.asJSON)
	}

	token, err := publishToken(opts, body)
	if err != nil {
		return err
	}
	batch := isBatch(body)
	contentType := events.ContentTypeStructured
	if batch {
		contentType = events.ContentTypeBatch
	}
	res = postEvents(cmd.Context(), opts.gateway, contentType, token, body, batch, res)
	return finishPublish(cmd.OutOrStdout(), res, opts.asJSON)
}

// isBatch reports whether body is a JSON array, a batch; validateFile
// tells the two apart the same way.
func isBatch(body []byte) bool {
	trimmed := bytes.TrimSpace(body)
	return len(trimmed) > 0 && trimmed[0] == '['
}

// publishToken returns the bearer token: from --token-env, or else from
// the token_env of the publishing partner in the region config. A missing
// variable is a *usageError naming it; the token is never in an error.
func publishToken(opts publishOptions, body []byte) (string, error) {
	env := opts.tokenEnv
	partner := opts.partner
	if env == "" {
		reg, err := region.Load(opts.config)
		if err != nil {
			return "", &usageError{fmt.Errorf("the token's variable comes from the region config: %w; pass --config FILE, or --token-env VAR", err)}
		}
		if partner == "" {
			if partner, err = sourcePartner(reg, body); err != nil {
				return "", &usageError{err}
			}
		}
		p, ok := reg.Partner(partner)
		if !ok {
			return "", &usageError{fmt.Errorf("partner %q is not in region config %s; pass --token-env VAR", partner, opts.config)}
		}
		env = p.TokenEnv
		if env == "" { // token_sha256_env: the gateway knows the hash only
			env = "KETENBUS_TOKEN_" + strings.ToUpper(strings.ReplaceAll(partner, "-", "_"))
		}
	}
	token := strings.TrimSpace(os.Getenv(env))
	if token == "" {
		who := "the gateway token"
		if partner != "" {
			who = fmt.Sprintf("partner %s's gateway token", partner)
		}
		return "", &usageError{fmt.Errorf("environment variable %s is not set: it holds %s; set it, or pass --token-env VAR", env, who)}
	}
	return token, nil
}

// sourcePartner returns the partner that owns the sources of the events in
// body (valid events: a structured event or a batch).
func sourcePartner(reg *region.Config, body []byte) (string, error) {
	type sourced struct {
		Source string `json:"source"`
	}
	var evs []sourced
	if !isBatch(body) {
		body = slices.Concat([]byte("["), body, []byte("]"))
	}
	if err := json.Unmarshal(body, &evs); err != nil {
		return "", err
	}
	var partners []string
	for _, ev := range evs {
		p, ok := reg.PartnerBySource(ev.Source)
		if !ok {
			return "", fmt.Errorf("source %s belongs to no partner of region config %s; pass --partner or --token-env", ev.Source, reg.Path)
		}
		if !slices.Contains(partners, p.ID) {
			partners = append(partners, p.ID)
		}
	}
	switch len(partners) {
	case 0:
		return "", errors.New("the batch is empty: nothing to publish")
	case 1:
		return partners[0], nil
	}
	return "", fmt.Errorf("the events come from partners %s: one request carries the events of one partner", strings.Join(partners, ", "))
}

// postEvents sends body to the gateway and records its answer in res.
func postEvents(ctx context.Context, gatewayURL, contentType, token string, body []byte, batch bool, res publishResult) publishResult {
	url := strings.TrimSuffix(gatewayURL, "/")
	if !strings.HasSuffix(url, "/v1/events") {
		url += "/v1/events"
	}
	ctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		res.Error = fmt.Sprintf("--gateway %s: %v", gatewayURL, err)
		return res
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		res.Error = fmt.Sprintf("the gateway at %s cannot be reached: %v (pass --gateway)", url, errors.Unwrap(err))
		return res
	}
	defer resp.Body.Close()
	res.Status = resp.StatusCode
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		res.Error = fmt.Sprintf("read the gateway's answer: %v", err)
		return res
	}
	if resp.StatusCode == http.StatusAccepted {
		if batch {
			err = json.Unmarshal(answer, &res.Accepted)
		} else {
			var one publishAnswer
			err = json.Unmarshal(answer, &one)
			res.Accepted = []publishAnswer{one}
		}
		if err != nil {
			res.Accepted = nil
			res.Error = fmt.Sprintf("the gateway answered %s with a body that is not the expected JSON", resp.Status)
		}
		return res
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	var p gateway.Problem
	if mt == "application/problem+json" && json.Unmarshal(answer, &p) == nil {
		if ra := resp.Header.Get("Retry-After"); ra != "" {
			p.Detail += " (Retry-After: " + ra + "s)"
		}
		res.Problem = &p
		return res
	}
	// Not the gateway's problem details (a proxy?): its body is not shown.
	res.Error = fmt.Sprintf("the gateway answered %s without problem details", resp.Status)
	return res
}

// finishPublish prints res and returns the exit status: nil when the
// gateway accepted the events, else an *exitError with code 1.
func finishPublish(out io.Writer, res publishResult, asJSON bool) error {
	switch {
	case asJSON:
		if err := json.NewEncoder(out).Encode(res); err != nil {
			return err
		}
	case !res.Valid:
		fmt.Fprintf(out, "%s: refused offline, not sent:\n", res.File)
		printViolations(out, res.File, res.Errors)
	case res.Accepted != nil:
		for _, a := range res.Accepted {
			if a.Duplicate {
				fmt.Fprintf(out, "%s: duplicate, already stored at sequence %d\n", a.ID, a.Sequence)
			} else {
				fmt.Fprintf(out, "%s: accepted, sequence %d\n", a.ID, a.Sequence)
			}
		}
	case res.Problem != nil:
		p := res.Problem
		fmt.Fprintf(out, "%s: refused by the gateway: %d %s: %s\n", res.File, res.Status, p.Title, p.Detail)
		for _, v := range p.Errors {
			pointer := v.Pointer
			if pointer == "" {
				pointer = "/"
			}
			fmt.Fprintf(out, "%s: %s: %s\n", res.File, pointer, v.Detail)
		}
	default:
		fmt.Fprintf(out, "%s: not published: %s\n", res.File, res.Error)
	}
	if res.Accepted != nil {
		return nil
	}
	return &exitError{code: 1}
}
