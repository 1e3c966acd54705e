package region_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/services/shared/region"
)

func TestCheckTime(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		name             string
		t                time.Time
		ahead, retention time.Duration
		want             string // "" or a part of the message
	}{
		{"now", now, 0, 730 * region.Day, ""},
		{"a day ahead, the default allowance", now.Add(24 * time.Hour), 0, 730 * region.Day, ""},
		{"just past the default allowance", now.Add(24*time.Hour + time.Second), 0, 730 * region.Day, "more than 1 day ahead"},
		{"year 9999", time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), 0, 730 * region.Day, "9999-12-31T00:00:00Z is more than 1 day ahead"},
		{"an allowance of 5 minutes", now.Add(6 * time.Minute), 5 * time.Minute, 0, "more than 5m0s ahead"},
		{"as old as the retention", now.Add(-730 * region.Day), 0, 730 * region.Day, ""},
		{"older than the retention", now.Add(-730*region.Day - time.Second), 0, 730 * region.Day, "more than 730 days ago"},
		{"1900", time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), 0, 1825 * region.Day, "1900-01-01T00:00:00Z is more than 1825 days ago"},
		{"1900 without a retention bound", time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), 0, 0, ""},
	} {
		got := region.CheckTime(tc.t, now, tc.ahead, tc.retention)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: CheckTime = %q, want %q", tc.name, got, tc.want)
		}
	}
}
