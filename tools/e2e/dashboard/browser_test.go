package dashboard_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ketenbus/ketenbus/events/bsntest"
	"github.com/ketenbus/ketenbus/services/monitor"
	"github.com/ketenbus/ketenbus/services/shared/testutil/runtest"
)

// browser starts a real headless Chromium for the test and returns a
// context for chromedp actions in one tab. The test fails, saying how to
// install it, when Chromium is missing.
func browser(t *testing.T) context.Context {
	t.Helper()
	var bin string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Fatal("no Chromium on PATH: install Debian's chromium package (apt-get install chromium); .ci/run does")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	// The first action starts the browser; it has no time limit, which
	// would stop the browser with it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium (%s): %v", bin, err)
	}
	return ctx
}

// run runs chromedp steps with a time limit and fails the test with what
// was being done.
func run(t *testing.T, ctx context.Context, within time.Duration, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s (within %s): %v", what, within, err)
	}
}

// get runs one chromedp action with a time limit and returns its value.
func get[T any](t *testing.T, ctx context.Context, within time.Duration, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s (within %s): %v", what, within, err)
	}
	return v
}

// until waits until the JavaScript expression is true.
func until(t *testing.T, ctx context.Context, within time.Duration, what, expression string) {
	t.Helper()
	get(t, ctx, within, what, chromedp.Poll[bool](expression))
}

// screenshot saves the whole page as name.png in the test's artifact
// directory (under testoutput/ with make test).
func screenshot(t *testing.T, ctx context.Context, name string) string {
	t.Helper()
	png := get(t, ctx, 10*time.Second, "screenshot "+name, chromedp.FullScreenshot(100))
	path := filepath.Join(t.ArtifactDir(), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestDashboardInBrowser drives the dashboard in headless Chromium as an
// operator would: sign in with the operator token; see a posted event on
// Live within 2 seconds; make ggz's sink fail and see ggz turn red and its
// DLQ fill on the overview; mend the sink, retry from the partner page
// with confirmation, and see the DLQ drain and the events arrive.
func TestDashboardInBrowser(t *testing.T) {
	t.Parallel()
	const token = "operator-token-for-the-browser-test"
	s := newStack(t, options{auth: monitor.Auth{Token: token}})
	ctx := browser(t)
	bsns := bsntest.Seeded(9, 3)

	// Sign in: the dashboard sends a stranger to the login form.
	run(t, ctx, 15*time.Second, "sign in",
		chromedp.Navigate(s.url+"/live"),
		chromedp.WaitVisible(`input[name="token"]`),
		chromedp.SendKeys(`input[name="token"]`, token),
		chromedp.Submit(`input[name="token"]`),
		chromedp.WaitVisible(`#live`),
	)
	until(t, ctx, 5*time.Second, "the Live stream connects", `document.getElementById("live-state").textContent === "live"`)

	// Live: a posted event appears within 2 seconds.
	posted := time.Now()
	s.post(t, "politie", signaal("s-1", sourcePolitie, bsns[0], "Geluidsoverlast"))
	run(t, ctx, 2*time.Second, "the posted signaal on Live", chromedp.WaitVisible(`#live tbody tr[data-seq="1"]`))
	t.Logf("posted signaal on Live after %s", time.Since(posted).Round(time.Millisecond))
	row := get(t, ctx, 2*time.Second, "read the Live row", chromedp.Text(`#live tbody tr[data-seq="1"]`))
	if !strings.Contains(row, "signaal.v1") || !strings.Contains(row, "politie") {
		t.Errorf("Live row %q, want type signaal.v1 from politie", row)
	}
	screenshot(t, ctx, "1-live")

	// Failing sink: ggz answers 400, its deliveries go to the DLQ, the
	// overview turns it red.
	s.ggz.Status.Store(http.StatusBadRequest)
	s.post(t, "politie", signaal("s-2", sourcePolitie, bsns[1], "Zorgen om buurvrouw"))
	s.post(t, "wijkteam", signaal("s-3", sourceWijkteam, bsns[2], "Schulden"))
	s.post(t, "politie", aanmelding("a-1", bsns[2], "Psychische klachten"))
	run(t, ctx, 15*time.Second, "ggz red on the overview",
		chromedp.Navigate(s.url+"/"),
		chromedp.WaitVisible(`#partner-ggz[data-status="rood"]`),
	)
	until(t, ctx, 10*time.Second, "the DLQ filled", `document.getElementById("dlq-total").textContent === "3"`)
	if zvhStatus := get(t, ctx, 2*time.Second, "read zvh's status", chromedp.AttributeValue(`#partner-zvh`, "data-status")).Value; zvhStatus != "groen" {
		t.Errorf("zvh, whose sink works, has status %q, want groen", zvhStatus)
	}
	overview := screenshot(t, ctx, "2-overzicht-ggz-rood")
	if dir := os.Getenv("KETENBUS_SCREENSHOT_DIR"); dir != "" {
		// make screenshots: the README's picture of the overview.
		if b, err := os.ReadFile(overview); err == nil {
			_ = os.WriteFile(filepath.Join(dir, "monitor-overzicht.png"), b, 0o644)
		}
	}

	// Partner page: the DLQ with 3 letters and the failures with their
	// HTTP status.
	run(t, ctx, 10*time.Second, "ggz's partner page",
		chromedp.Navigate(s.url+"/partners/ggz"),
		chromedp.WaitVisible(`#dlq tbody tr[data-dlq-seq]`),
	)
	until(t, ctx, 10*time.Second, "3 in ggz's DLQ", `document.getElementById("dlq-count").textContent === "3"`)
	attempts := get(t, ctx, 2*time.Second, "read the attempts", chromedp.Text(`#attempts`))
	if !strings.Contains(attempts, "400") || !strings.Contains(attempts, "naar DLQ") {
		t.Errorf("recent deliveries %q, want the failures with HTTP 400", attempts)
	}
	screenshot(t, ctx, "3-partner-dlq")

	// Retry: the sink works again; the retry asks for confirmation, then
	// the DLQ drains and ggz gets the three events.
	s.ggz.Status.Store(http.StatusNoContent)
	before := s.ggz.Received()
	run(t, ctx, 10*time.Second, "ask to retry",
		chromedp.Click(`#retry-all`),
		chromedp.WaitVisible(`#confirm-retry`),
	)
	question := get(t, ctx, 2*time.Second, "read the confirmation", chromedp.Text(`main`))
	if !strings.Contains(question, "Alle 3 bericht(en)") {
		t.Errorf("confirmation %q, want it to name the 3 letters", question)
	}
	if got := s.ggz.Received(); got != before {
		t.Errorf("the sink received %d requests before the retry was confirmed", got-before)
	}
	screenshot(t, ctx, "4-bevestigen")
	run(t, ctx, 15*time.Second, "retry and see the DLQ drain",
		chromedp.Click(`#confirm-retry`),
		chromedp.WaitVisible(`#flash`),
		chromedp.WaitVisible(`#dlq-empty`),
	)
	flash := get(t, ctx, 2*time.Second, "read the flash", chromedp.Text(`#flash`))
	if !strings.Contains(flash, "3 bericht(en)") {
		t.Errorf("flash %q, want it to say 3 letters were retried", flash)
	}
	runtest.Eventually(t, 10*time.Second, "the 3 retried deliveries at ggz", func() bool { return s.ggz.Received() >= before+3 })
	screenshot(t, ctx, "5-dlq-leeg")

	run(t, ctx, 10*time.Second, "ggz green again",
		chromedp.Navigate(s.url+"/"),
		chromedp.WaitVisible(`#partner-ggz`),
	)
	until(t, ctx, 10*time.Second, "an empty DLQ on the overview", `document.getElementById("dlq-total").textContent === "0"`)
	if status := get(t, ctx, 2*time.Second, "read ggz's status", chromedp.AttributeValue(`#partner-ggz`, "data-status")).Value; status == "rood" {
		t.Errorf("ggz still red after its DLQ drained")
	}

	// Termijnen: the aanmelding's term, due in 5 working days.
	run(t, ctx, 10*time.Second, "the pending term", chromedp.Navigate(s.url+"/termijnen"), chromedp.WaitVisible(`#terms tr[data-due]`))
	terms := get(t, ctx, 2*time.Second, "read the terms", chromedp.Text(`#terms`))
	if !strings.Contains(terms, "ggz") || !strings.Contains(terms, "niveau 1") {
		t.Errorf("terms %q, want the aanmelding's term for ggz before niveau 1", terms)
	}
	screenshot(t, ctx, "6-termijnen")
	t.Logf("screenshots in %s", t.ArtifactDir())
}
