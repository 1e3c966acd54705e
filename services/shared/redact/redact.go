// Package redact makes connection URLs fit to print: in a log line, an
// error or a banner they never show a password, a token or a query value.
package redact

import (
	"net/url"
	"strings"
)

// URL returns raw, a URL or several separated by commas (a NATS cluster),
// with the user information replaced by "xxxxx", every query value by
// "redacted" and any fragment left out. A URL that does not parse, or that
// holds an '@' its parse did not take as user information (a password
// with a '#' in it), is not printed at all.
func URL(raw string) string {
	parts := strings.Split(raw, ",")
	for i, p := range parts {
		parts[i] = one(strings.TrimSpace(p))
	}
	return strings.Join(parts, ",")
}

func one(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(a URL that does not parse)"
	}
	if u.User != nil {
		u.User = url.User("xxxxx")
	} else if strings.Contains(raw, "@") {
		return "(a URL with hidden user information)"
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			q[k] = []string{"redacted"}
		}
		u.RawQuery = q.Encode()
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String()
}
