package webhookout_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/events/webhook"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/webhookout"
)

// TestCheck: what http.Client.Do would refuse before dialling is found
// before the request is sent, named without its value.
func TestCheck(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		url    string
		header http.Header
		want   string // part of the error; "" for none
	}{
		{"fine", "https://partner.example/hook", http.Header{"Ketenbus-Subscription": {"signalen"}, "Traceparent": {"00-ab-cd-01"}}, ""},
		{"tab is allowed", "http://partner.example/hook", http.Header{"X-Note": {"a\tb"}}, ""},
		{"line feed", "https://partner.example/hook", http.Header{"Traceparent": {"00-ab\n-cd-01"}}, "header Traceparent holds a character HTTP forbids"},
		{"NUL", "https://partner.example/hook", http.Header{"Authorization": {"Bearer se\x00cret"}}, "header Authorization holds"},
		{"escape", "https://partner.example/hook", http.Header{"Webhook-Id": {"x\x1b[2J"}}, "header Webhook-Id holds"},
		{"delete", "https://partner.example/hook", http.Header{"X-A": {"\x7f"}}, "header X-A holds"},
		{"bad name", "https://partner.example/hook", http.Header{"Bad Name": {"x"}}, "header name is not an HTTP token"},
		{"relative url", "/hook", nil, "not an absolute http or https url"},
		{"other scheme", "ftp://partner.example/hook", nil, "not an absolute http or https url"},
		{"no host", "https:///hook", nil, "not an absolute http or https url"},
	} {
		req, err := http.NewRequest(http.MethodPost, tc.url, nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		req.Header = tc.header
		if req.Header == nil {
			req.Header = http.Header{}
		}
		err = webhookout.Check(req)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v, want nil", tc.name, err)
		case tc.want != "" && (err == nil || !errors.Is(err, webhookout.ErrLocal) || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want ErrLocal with …%s…", tc.name, err, tc.want)
		case err != nil && (strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "partner.example")):
			t.Errorf("%s: the error %q repeats a value", tc.name, err)
		}
	}
}

// TestBuild: the request is signed with the delivery id as webhook-id;
// an event that CloudEvents forbids (a control character in an
// attribute, as an older gateway accepted) is a local error, in either
// mode.
func TestBuild(t *testing.T) {
	t.Parallel()
	secret, _ := webhook.NewSecret()
	signer, _ := webhook.NewSigner(secret)
	verifier, _ := webhook.NewVerifier([]string{secret})
	r := webhookout.Request{URL: "https://partner.example/hook", ID: "d-1", Time: time.Now(), Signer: signer,
		Header: http.Header{"Ketenbus-Subscription": {"signalen"}}}
	e, err := webhookout.ParseEvent([]byte(event))
	if err != nil {
		t.Fatal(err)
	}
	req, err := webhookout.Build(context.Background(), e, r)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := req.GetBody()
	b := make([]byte, len(event)+1)
	n, _ := body.Read(b)
	if req.Header.Get(webhook.HeaderID) != "d-1" || req.Header.Get("Ketenbus-Subscription") != "signalen" || verifier.Verify(req.Header, b[:n]) != nil {
		t.Errorf("request headers %v", req.Header)
	}

	for _, tc := range []struct{ attr, raw, want string }{
		{"id", `"x-1\n"`, "event attribute id: forbidden character: the control character U+000A (line feed) at character 4"},
		{"subject", `"\u0000"`, "event attribute subject: forbidden character: the control character U+0000 (NUL)"},
		{"kenmerk", `"a\u001b[2J"`, "event attribute kenmerk: forbidden character: the control character U+001B (escape)"},
		{"traceparent", `"00-ab\r\n-01"`, "event attribute traceparent: forbidden character"},
	} {
		bad := strings.Replace(event, `"specversion":"1.0",`, `"specversion":"1.0","`+tc.attr+`":`+tc.raw+`,`, 1)
		if tc.attr == "id" {
			bad = strings.Replace(event, `"id":"e-1"`, `"id":`+tc.raw, 1)
		}
		e, err := webhookout.ParseEvent([]byte(bad))
		if err != nil {
			t.Fatalf("%s: %v", tc.attr, err)
		}
		for _, mode := range []string{region.ModeStructured, region.ModeBinary} {
			_, err := webhookout.Build(context.Background(), e, r)
			if mode == region.ModeBinary {
				rb := r
				rb.Mode = mode
				_, err = webhookout.Build(context.Background(), e, rb)
			}
			if !errors.Is(err, webhookout.ErrLocal) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s in %s mode: %v, want ErrLocal with …%s…", tc.attr, mode, err, tc.want)
			}
		}
	}
}
