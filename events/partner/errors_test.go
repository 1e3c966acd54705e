package partner_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/events/partner"
)

func TestHandlerErrors(t *testing.T) {
	t.Parallel()
	cause := errors.New("database down")
	tests := []struct {
		name      string
		err       error
		wantKind  error
		wantAfter time.Duration
		wantText  string
		wantCause bool
	}{
		{name: "Retry", err: partner.Retry(cause), wantKind: partner.ErrRetry, wantAfter: partner.DefaultRetryAfter, wantText: "partner: retry later: database down", wantCause: true},
		{name: "RetryAfter", err: partner.RetryAfter(cause, time.Minute), wantKind: partner.ErrRetry, wantAfter: time.Minute, wantText: "partner: retry later: database down", wantCause: true},
		{name: "RetryAfter negative", err: partner.RetryAfter(nil, -time.Second), wantKind: partner.ErrRetry, wantAfter: partner.DefaultRetryAfter, wantText: "partner: retry later"},
		{name: "Reject", err: partner.Reject(cause), wantKind: partner.ErrReject, wantText: "partner: event rejected: database down", wantCause: true},
		{name: "Gone", err: partner.Gone(nil), wantKind: partner.ErrGone, wantText: "partner: subscription gone"},
		{name: "wrapped", err: fmt.Errorf("handle signaal: %w", partner.Reject(cause)), wantKind: partner.ErrReject, wantText: "handle signaal: partner: event rejected: database down", wantCause: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if !errors.Is(tt.err, tt.wantKind) {
				t.Errorf("errors.Is(%v, %v) = false", tt.err, tt.wantKind)
			}
			for _, other := range []error{partner.ErrRetry, partner.ErrReject, partner.ErrGone} {
				if other != tt.wantKind && errors.Is(tt.err, other) {
					t.Errorf("errors.Is(%v, %v) = true", tt.err, other)
				}
			}
			if got := errors.Is(tt.err, cause); got != tt.wantCause {
				t.Errorf("errors.Is(err, cause) = %v, want %v", got, tt.wantCause)
			}
			if tt.err.Error() != tt.wantText {
				t.Errorf("text %q, want %q", tt.err.Error(), tt.wantText)
			}
			he, ok := errors.AsType[*partner.HandlerError](tt.err)
			if !ok {
				t.Fatal("not a *HandlerError")
			}
			if he.After != tt.wantAfter {
				t.Errorf("After %s, want %s", he.After, tt.wantAfter)
			}
		})
	}
}
