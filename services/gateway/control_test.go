package gateway_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ketenbus/ketenbus/events"
)

// TestRefusesControlCharacters: a String attribute with a control
// character can never be sent on as a header, so the gateway refuses it
// with a pointer at the attribute, in structured mode as sent and in
// binary mode after percent-decoding, and stores nothing.
func TestRefusesControlCharacters(t *testing.T) {
	t.Parallel()
	structured := func(attr, value string) map[string]any {
		s := signaal("c-" + attr)
		s[attr] = value
		return s
	}
	data, _ := json.Marshal(signaal("x")["data"])
	binary := func(attr, value string) []string {
		h := map[string]string{"ce-specversion": "1.0", "ce-id": "c-bin", "ce-source": sourcePolitie,
			"ce-type": events.TypeSignaal}
		h["ce-"+attr] = value
		var out []string
		for k, v := range h {
			out = append(out, k, v)
		}
		return out
	}
	for _, tc := range []struct {
		name        string
		contentType string
		body        any
		headers     []string
		pointer     string
	}{
		{"id with a line feed", events.ContentTypeStructured, structured("id", "x-1\n"), nil, "/id"},
		{"id with NUL", events.ContentTypeStructured, structured("id", "x\x00-1"), nil, "/id"},
		{"id with escape", events.ContentTypeStructured, structured("id", "x\x1b[31m-1"), nil, "/id"},
		{"source with a line feed", events.ContentTypeStructured, structured("source", sourcePolitie+"\n"), nil, "/source"},
		{"extension with C1", events.ContentTypeStructured, structured("kenmerk", "a\u0085b"), nil, "/kenmerk"},
		{"batch", events.ContentTypeBatch, []any{signaal("c-b1"), structured("id", "c\r-b2")}, nil, "/1/id"},
		{"binary ce-id", "application/json", data, binary("id", "a%0Ab"), "/id"},
		{"binary ce-id with NUL", "application/json", data, binary("id", "a%00b"), "/id"},
		{"binary ce-subject", "application/json", data, binary("subject", "%1B%5B2J"), "/subject"},
		{"binary extension", "application/json", data, binary("kenmerk", "x%7Fy"), "/kenmerk"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := start(t)
			resp, body := f.post(t, tc.contentType, tokenPolitie, tc.body, tc.headers...)
			p := assertProblem(t, resp, body, 400, tc.pointer)
			for _, e := range p.Errors {
				if e.Pointer == tc.pointer && (!strings.Contains(e.Detail, "control character") || !strings.Contains(e.Detail, "remove it")) {
					t.Errorf("detail %q does not say what to fix", e.Detail)
				}
			}
			if n := len(f.env.Messages(t, events.StreamEvents)); n != 0 {
				t.Fatalf("%d events stored after a refusal", n)
			}
		})
	}
}
