package webhookout_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/ketenbus/ketenbus/services/shared/webhookout"
)

// TestClassify checks Classify against the table of its own doc comment,
// row by row, with answers for each row: the table and the function
// cannot drift apart.
func TestClassify(t *testing.T) {
	t.Parallel()
	samples := map[string][]webhookout.Answer{
		"local failure (nothing sent)":          {{Local: "request cannot be sent: invalid webhook url"}},
		"2xx":                                   {{Status: 200}, {Status: 202}, {Status: 204}, {Status: 299}},
		"429, 503":                              {{Status: 429}, {Status: 503}},
		"other 5xx":                             {{Status: 500}, {Status: 502}, {Status: 504}, {Status: 599}},
		"no answer (timeout, connection error)": {{Failure: "timeout after 10s"}, {Failure: "connection refused"}},
		"410":                                   {{Status: 410}},
		"other 4xx, 1xx, 3xx": {{Status: 400}, {Status: 401}, {Status: 403}, {Status: 404}, {Status: 413},
			{Status: 415}, {Status: 422}, {Status: 100}, {Status: 301}, {Status: 307}},
	}
	rows := classifyTable(t)
	if len(rows) != len(samples) {
		t.Errorf("the doc table has %d rows, the test samples %d", len(rows), len(samples))
	}
	for _, row := range rows {
		answers, ok := samples[row[0]]
		if !ok {
			t.Errorf("doc table row %q has no samples in the test", row[0])
			continue
		}
		for _, a := range answers {
			o := webhookout.Classify(a)
			got := []string{o.Action.String(), health(o.Health), map[bool]string{true: "yes", false: "no"}[o.HonorRetryAfter]}
			if strings.Join(got, "|") != strings.Join(row[1:], "|") {
				t.Errorf("Classify(%+v) = %v, the doc table (%s) says %v", a, got, row[0], row[1:])
			}
		}
	}
}

func health(h webhookout.Health) string {
	switch h {
	case webhookout.HealthUp:
		return "up"
	case webhookout.HealthDown:
		return "down"
	default:
		return "unknown"
	}
}

// classifyTable reads the table of Classify's doc comment: answer, action,
// breaker, Retry-After.
func classifyTable(t *testing.T) [][]string {
	t.Helper()
	src, err := os.ReadFile("classify.go")
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]string
	in := false
	for _, line := range strings.Split(string(src), "\n") {
		if !strings.HasPrefix(line, "//\t") {
			if in {
				break
			}
			continue
		}
		cols := regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(strings.TrimPrefix(line, "//\t")), -1)
		if !in {
			in = cols[0] == "answer"
			continue
		}
		if len(cols) != 4 {
			t.Fatalf("doc table row %q has %d columns, want 4", line, len(cols))
		}
		rows = append(rows, cols)
	}
	if len(rows) == 0 {
		t.Fatal("no table in Classify's doc comment")
	}
	return rows
}

// TestAnswerReason: a local failure, a status or why no answer came,
// never the body.
func TestAnswerReason(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a    webhookout.Answer
		want string
	}{
		{webhookout.Answer{Local: "request cannot be sent: x"}, "request cannot be sent: x"},
		{webhookout.Answer{Status: 503, Body: []byte("bsn 999993653")}, "http 503"},
		{webhookout.Answer{Failure: "connection refused"}, "connection refused"},
	} {
		if got := tc.a.Reason(); got != tc.want {
			t.Errorf("Reason() = %q, want %q", got, tc.want)
		}
	}
}
