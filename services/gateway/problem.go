package gateway

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/events/partner"
)

// Problem is an RFC 9457 problem details answer. Errors lists every
// violation with a JSON pointer.
type Problem struct {
	Type   string             `json:"type"`
	Title  string             `json:"title"`
	Status int                `json:"status"`
	Detail string             `json:"detail"`
	Errors []events.Violation `json:"errors,omitempty"`

	reason     string        // metric label
	retryAfter time.Duration // for 429 and 503
}

// Error returns the detail.
func (p *Problem) Error() string { return p.Detail }

const contentTypeProblem = partner.ContentTypeProblem

func problem(status int, reason, title, detail string, errs ...events.Violation) *Problem {
	return &Problem{
		Type:   partner.ProblemTypePrefix + reason,
		Title:  title,
		Status: status,
		Detail: detail,
		Errors: errs,
		reason: reason,
	}
}

func (p *Problem) write(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", contentTypeProblem)
	h.Set("Cache-Control", "no-store")
	if p.retryAfter > 0 {
		secs := int((p.retryAfter + time.Second - 1) / time.Second)
		h.Set("Retry-After", strconv.Itoa(secs))
	}
	if p.Status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="ketenbus"`)
	}
	w.WriteHeader(p.Status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(p)
}
