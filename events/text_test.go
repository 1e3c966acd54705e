package events_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/ketenbus/ketenbus/events"
)

func TestCheckString(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want string // part of the error; "" for none
	}{
		{"", ""},
		{"signaal-0001", ""},
		{"pseudoniem a\"b%é €", ""},
		{"\uFFFD replacement is a character", ""},
		{"\U0001F600", ""},
		{"a\nb", "control character U+000A (line feed) at character 2"},
		{"\x00", "control character U+0000 (NUL) at character 1"},
		{"ab\x1b[31m", "control character U+001B (escape) at character 3"},
		{"tab\there", "U+0009 (tab)"},
		{"\r", "U+000D (carriage return)"},
		{"\x1f", "control character U+001F"},
		{"del\x7f", "control character U+007F (delete)"},
		{"c1\u0085", "control character U+0085"},
		{"c1\u009f", "control character U+009F"},
		{"\u00a0 is allowed", ""},
		{"x\uFDD0", "noncharacter U+FDD0 at character 2"},
		{"\uFDEF", "noncharacter U+FDEF"},
		{"\uFFFE", "noncharacter U+FFFE"},
		{"\uFFFF", "noncharacter U+FFFF"},
		{"\U0010FFFF", "noncharacter U+10FFFF"},
		{"\U0001FFFE", "noncharacter U+1FFFE"},
		{"é\xed\xa0\x80", "not UTF-8 (a surrogate or a broken character) at character 2"},
		{"\xff", "not UTF-8"},
	} {
		err := events.CheckString(tc.in)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("CheckString(%q) = %v, want nil", tc.in, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, events.ErrForbiddenCharacter)):
			t.Errorf("CheckString(%q) = %v, want ErrForbiddenCharacter with …%s…", tc.in, err, tc.want)
		}
	}
}

// TestControlCharactersRefusedInEveryStringAttribute: every String
// attribute, at the gateway's parser and in Validate alike, refuses a
// control character with its pointer and what to fix, and only that
// violation for the attribute.
func TestControlCharactersRefusedInEveryStringAttribute(t *testing.T) {
	t.Parallel()
	signaal := example(t, events.TypeSignaal)
	for _, tc := range []struct {
		attr, value string
	}{
		{"id", "x-1\n"},
		{"id", "a\x00b"},
		{"source", testSource + "\x1b[2J"},
		{"type", events.TypeSignaal + "\n"},
		{"subject", "ae10\rf350"},
		{"datacontenttype", "application/json\n"},
		{"dataschema", "https://schemas.example/signaal\x00"},
		{"ontvanger", "ggz\n"},
		{"kenmerk", "zaak\u00851"},
		{"kenmerk", "zaak\uFFFE"},
	} {
		t.Run(tc.attr+"/"+tc.value, func(t *testing.T) {
			t.Parallel()
			check := func(how string, err error) {
				t.Helper()
				var ve *events.ValidationError
				if !errors.As(err, &ve) {
					t.Fatalf("%s: want a ValidationError, got %v", how, err)
				}
				var found int
				for _, v := range ve.Violations {
					if v.Pointer != "/"+tc.attr {
						continue
					}
					found++
					if !strings.Contains(v.Detail, tc.attr+" holds the ") || !strings.Contains(v.Detail, "remove it") {
						t.Errorf("%s: detail %q does not say what to fix", how, v.Detail)
					}
					if strings.ContainsAny(v.Detail, "\x00\n\r\x1b") || strings.Contains(v.Detail, tc.value) {
						t.Errorf("%s: detail %q repeats the value", how, v.Detail)
					}
				}
				if found != 1 {
					t.Errorf("%s: %d violations at /%s, want 1: %+v", how, found, tc.attr, ve.Violations)
				}
			}
			_, err := events.Default().ParseStructured(envelope(t, events.TypeSignaal, signaal, map[string]any{tc.attr: tc.value}))
			check("ParseStructured", err)

			// An event read from JSON in Go holds the value as sent, where
			// the SDK can read it at all: it refuses a source, dataschema or
			// datacontenttype that holds a control character.
			var e event.Event
			err = json.Unmarshal(envelope(t, events.TypeSignaal, signaal, map[string]any{tc.attr: tc.value}), &e)
			if err != nil || attr(e, tc.attr) != tc.value {
				if tc.attr != "source" && tc.attr != "dataschema" && tc.attr != "datacontenttype" {
					t.Fatalf("the SDK cannot carry %s: %v", tc.attr, err)
				}
				return
			}
			check("Validate", events.Default().Validate(&e))
		})
	}
}

// attr returns a String attribute of e.
func attr(e event.Event, name string) string {
	contextAttrs := map[string]func() string{
		"id": e.ID, "source": e.Source, "type": e.Type, "subject": e.Subject,
		"datacontenttype": e.DataContentType, "dataschema": e.DataSchema,
	}
	if get, ok := contextAttrs[name]; ok {
		return get()
	}
	s, _ := e.Extensions()[name].(string)
	return s
}
