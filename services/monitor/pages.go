package monitor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/activity"
	"github.com/ketenbus/ketenbus/services/shared/dlq"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/timers"
)

// pageData is what every page template gets; each page fills its part.
type pageData struct {
	Title    string
	Nav      string // active menu item
	NoNav    bool
	Region   string
	Operator string
	CSRF     string
	Open     bool
	Error    string
	Flash    string
	Next     string
	Now      time.Time

	Overview *overviewData
	Live     *liveData
	Partner  *partnerData
	Terms    *termsData
	Confirm  *confirmData
}

type overviewData struct {
	Partners      []partnerHealth
	Chart         chart
	EventsToday   int
	Escalaties    []levelCount
	EscalatieSum  int
	OpenSamenloop string
	NewSamenloop  int
	DLQ           uint64
	Pending       uint64
	// Projections says what there is to say about the timers and the
	// samenloop index in Redis (being rebuilt, last rebuilt).
	Projections []projectionView
}

type levelCount struct {
	Niveau int
	Label  string
	Count  int
}

type liveData struct {
	Types, Partners []string
	Type, Partner   string
	Recent          []liveEvent
	// Since is the newest sequence shown; the stream sends what follows.
	Since uint64
}

type partnerData struct {
	Health        partnerHealth
	Subscriptions []subscriptionView
	Attempts      []activity.Record
	Letters       []letterView
	LettersError  string
	// LettersOf is the partner's number of dead letters when Letters
	// shows only the newest of them, else 0.
	LettersOf uint64
	// Retried is how many dead letters the last retry put back.
	Retried string
}

type subscriptionView struct {
	region.Subscription
	Retired   bool
	RetiredAt time.Time
}

type letterView struct {
	Seq          uint64
	Stored       time.Time
	EventID      string
	Type         string
	Subscription string
	Reason       string
	Status       int
	Attempts     int
}

type termsData struct {
	Timers      []timerView
	TimersError string
	More        bool
	Escalaties  []escalatie
	// Projection says whether the timers are being rebuilt, or when they
	// were last.
	Projection *projectionView
}

type timerView struct {
	Due       time.Time
	Level     int
	Ontvanger string
	Sender    string
	Kind      string
	Reden     string
	Person    string
	Type      string
	// OutOfRange: a time of the timer lies beyond what a term can mean
	// (timers.Timer.OutOfRange); the page marks it.
	OutOfRange bool
}

type confirmData struct {
	Partner string
	Name    string
	Count   int
	Seq     uint64
}

func (m *Monitor) base(r *http.Request, title, nav string) pageData {
	who := operator(r.Context())
	return pageData{Title: title, Nav: nav, Region: m.cfg.Region.Region, Operator: who,
		CSRF: m.csrf(who), Open: m.cfg.Auth.Open, Now: m.cfg.Now()}
}

// render executes block of the page called name ("page" for the whole
// page, else the part that refreshes) into a buffer first, so a failing
// template never sends half a page.
func (m *Monitor) render(w http.ResponseWriter, name, block string, d pageData) {
	var buf bytes.Buffer
	if err := m.pages[name].ExecuteTemplate(&buf, block, d); err != nil {
		m.logger.Error("page not rendered", "page", name, "block", block, "error", err.Error())
		http.Error(w, "De pagina kon niet worden opgebouwd; zie het log van de monitor.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

// blockOf returns the block a request for a page asks for: the part that
// refreshes under /fragment/, else the whole page.
func blockOf(r *http.Request, fragment string) string {
	if strings.HasPrefix(r.URL.Path, "/fragment/") {
		return fragment
	}
	return "page"
}

func (m *Monitor) overviewData(ctx context.Context) *overviewData {
	now := m.cfg.Now()
	d := &overviewData{Partners: m.health(ctx, now, "")}
	hours, counts, types := m.feed.hourly(now)
	d.Chart = newChart(hours, counts, types, m.cfg.Location)
	today := startOfDay(now, m.cfg.Location)
	for i, h := range hours {
		if !h.Before(today) {
			for t, n := range counts[i] {
				d.EventsToday += n
				if strings.HasPrefix(t, "samenloop.") {
					d.NewSamenloop += n
				}
			}
		}
	}
	byLevel := map[int]int{}
	for _, e := range m.feed.escalatiesSince(today) {
		byLevel[e.Niveau]++
		d.EscalatieSum++
	}
	levels := []int{0}
	for _, l := range m.cfg.Region.Escalation.Ladder {
		levels = append(levels, l.Level)
	}
	for l := range byLevel {
		if !slices.Contains(levels, l) {
			levels = append(levels, l)
		}
	}
	sort.Ints(levels)
	for _, l := range levels {
		d.Escalaties = append(d.Escalaties, levelCount{Niveau: l, Label: levelLabel(l), Count: byLevel[l]})
	}
	d.OpenSamenloop = "onbekend (geen Redis)"
	tv, sv := m.projections(ctx)
	for _, v := range []*projectionView{tv, sv} {
		if v != nil && v.Text != "" {
			d.Projections = append(d.Projections, *v)
		}
	}
	if m.samenloop != nil {
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		n, err := m.samenloop.Samenlopen(sctx)
		cancel()
		switch {
		case err != nil:
			d.OpenSamenloop = "onbekend (Redis antwoordt niet)"
		case sv.Alert:
			d.OpenSamenloop = "onbekend (index wordt opgebouwd)"
		default:
			d.OpenSamenloop = strconv.FormatInt(n, 10)
		}
	}
	for _, p := range d.Partners {
		d.DLQ += p.DLQ
		d.Pending += p.Pending
	}
	return d
}

// overview serves the Overzicht page and, under /fragment/, the part of
// it that refreshes.
func (m *Monitor) overview(w http.ResponseWriter, r *http.Request) {
	d := m.base(r, "Overzicht", "overzicht")
	d.Overview = m.overviewData(r.Context())
	m.render(w, "overview", blockOf(r, "overview-body"), d)
}

func (m *Monitor) live(w http.ResponseWriter, r *http.Request) {
	d := m.base(r, "Live", "live")
	q := r.URL.Query()
	ld := &liveData{Type: q.Get("type"), Partner: q.Get("partner")}
	for _, t := range events.Types() {
		ld.Types = append(ld.Types, shortType(t))
	}
	for _, p := range m.cfg.Region.Partners {
		ld.Partners = append(ld.Partners, p.ID)
	}
	ld.Partners = append(ld.Partners, events.Producer)
	recent, _, cancel := m.feed.subscribe(liveMatch(ld.Type, ld.Partner))
	cancel()
	for i := len(recent) - 1; i >= 0 && len(ld.Recent) < 50; i-- {
		ld.Recent = append(ld.Recent, recent[i])
	}
	if len(ld.Recent) > 0 {
		ld.Since = ld.Recent[0].Seq
	}
	d.Live = ld
	m.render(w, "live", "page", d)
}

// liveMatch filters by type (name.version) and by partner: the sender or
// the ontvanger.
func liveMatch(typ, partner string) func(liveEvent) bool {
	return func(e liveEvent) bool {
		return (typ == "" || e.Type == typ) && (partner == "" || e.Partner == partner || e.Ontvanger == partner)
	}
}

func (m *Monitor) partnerData(ctx context.Context, p *region.Partner) *partnerData {
	now := m.cfg.Now()
	d := &partnerData{}
	if hs := m.health(ctx, now, p.ID); len(hs) == 1 {
		d.Health = hs[0]
	} else {
		d.Health = partnerHealth{ID: p.ID, Name: p.Name, Status: healthOK}
	}
	for _, s := range p.Subscriptions {
		v := subscriptionView{Subscription: s}
		if ret, ok := m.retirement(p.ID, s.Name); ok {
			v.Retired, v.RetiredAt = true, ret.RetiredAt
		}
		d.Subscriptions = append(d.Subscriptions, v)
	}
	attempts, _, _, _ := m.feed.partner(p.ID, now)
	for i := len(attempts) - 1; i >= 0; i-- {
		d.Attempts = append(d.Attempts, attempts[i])
	}
	letters, err := m.newestLetters(ctx, p.ID)
	if err != nil {
		d.LettersError = "De DLQ kon niet worden gelezen."
	}
	if len(letters) == shownLetters && d.Health.DLQ > shownLetters {
		d.LettersOf = d.Health.DLQ
	}
	for i := len(letters) - 1; i >= 0; i-- {
		l := letters[i]
		id, typ := l.Event()
		d.Letters = append(d.Letters, letterView{Seq: l.Seq, Stored: l.Stored, EventID: safeID(id), Type: shortType(safeID(typ)),
			Subscription: safeID(l.Subscription()), Reason: safeID(l.Reason()), Status: l.Status(), Attempts: l.Attempts()})
	}
	return d
}

// shownLetters is how many dead letters a partner page shows, the newest.
const shownLetters = 200

// newestLetters returns the newest shownLetters dead letters of partner,
// oldest first. It reads from where they began the last time, so the
// page's refresh does not read a long DLQ every few seconds.
func (m *Monitor) newestLetters(ctx context.Context, partner string) ([]dlq.Letter, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, err := m.store(ctx)
	if err != nil {
		return nil, err
	}
	m.dlqMu.Lock()
	from := m.dlqFrom[partner]
	m.dlqMu.Unlock()
	letters, next, err := s.Newest(ctx, partner, shownLetters, from)
	m.dlqMu.Lock()
	m.dlqFrom[partner] = next
	m.dlqMu.Unlock()
	return letters, err
}

func (m *Monitor) partnerFrom(w http.ResponseWriter, r *http.Request) *region.Partner {
	p, ok := m.cfg.Region.Partner(r.PathValue("id"))
	if !ok {
		http.Error(w, "Deze partner bestaat niet in de regio.", http.StatusNotFound)
		return nil
	}
	return p
}

func (m *Monitor) partner(w http.ResponseWriter, r *http.Request) {
	p := m.partnerFrom(w, r)
	if p == nil {
		return
	}
	d := m.base(r, p.Name, "partner")
	d.Partner = m.partnerData(r.Context(), p)
	if n := r.URL.Query().Get("opnieuw"); n != "" {
		d.Flash = fmt.Sprintf("%s bericht(en) uit de DLQ opnieuw aangeboden.", onlyDigits(n))
	}
	m.render(w, "partner", blockOf(r, "partner-body"), d)
}

// retryConfirm asks before a retry: of one dead letter (?seq=) or of all
// of the partner's.
func (m *Monitor) retryConfirm(w http.ResponseWriter, r *http.Request) {
	p := m.partnerFrom(w, r)
	if p == nil {
		return
	}
	d := m.base(r, "Opnieuw aanbieden", "partner")
	c := &confirmData{Partner: p.ID, Name: p.Name}
	if s := r.URL.Query().Get("seq"); s != "" {
		seq, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			http.Error(w, "seq moet een volgnummer in de DLQ zijn.", http.StatusBadRequest)
			return
		}
		c.Seq, c.Count = seq, 1
	} else {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		counts, err := dlq.Counts(ctx, m.cfg.JetStream)
		cancel()
		if err != nil {
			d.Error = "De DLQ kon niet worden gelezen; probeer het opnieuw."
		}
		c.Count = int(counts[p.ID])
	}
	d.Confirm = c
	m.render(w, "confirm", "page", d)
}

// retry puts the partner's dead letters (or the one of form field seq)
// back on DELIVERY; the adapter delivers them again.
func (m *Monitor) retry(w http.ResponseWriter, r *http.Request) {
	p := m.partnerFrom(w, r)
	if p == nil {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	s, err := m.store(ctx)
	if err != nil {
		m.retryFailed(w, r, p, err)
		return
	}
	var letters []dlq.Letter
	if v := r.PostFormValue("seq"); v != "" && v != "0" {
		seq, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			http.Error(w, "seq moet een volgnummer in de DLQ zijn.", http.StatusBadRequest)
			return
		}
		l, err := s.Get(ctx, p.ID, seq)
		if errors.Is(err, dlq.ErrNotFound) {
			http.Redirect(w, r, "/partners/"+p.ID+"?opnieuw=0", http.StatusSeeOther)
			return
		}
		if err != nil {
			m.retryFailed(w, r, p, err)
			return
		}
		letters = []dlq.Letter{l}
	} else if letters, err = s.List(ctx, p.ID, time.Time{}); err != nil {
		m.retryFailed(w, r, p, err)
		return
	}
	n, err := s.Retry(ctx, letters, m.cfg.Now())
	m.logger.Info("dead letters retried from the monitor", "partner", p.ID, "letters", n, "operator", operator(r.Context()))
	if err != nil {
		m.retryFailed(w, r, p, err)
		return
	}
	http.Redirect(w, r, "/partners/"+p.ID+"?opnieuw="+strconv.Itoa(n), http.StatusSeeOther)
}

func (m *Monitor) retryFailed(w http.ResponseWriter, r *http.Request, p *region.Partner, err error) {
	m.logger.Error("retry from the monitor failed", "partner", p.ID, "error", events.RedactBSNs(err.Error()))
	d := m.base(r, p.Name, "partner")
	d.Partner = m.partnerData(r.Context(), p)
	d.Error = "Opnieuw aanbieden is niet (helemaal) gelukt; wat niet lukte staat nog in de DLQ. Probeer het opnieuw."
	w.WriteHeader(http.StatusServiceUnavailable)
	m.render(w, "partner", "page", d)
}

func (m *Monitor) termijnen(w http.ResponseWriter, r *http.Request) {
	d := m.base(r, "Termijnen", "termijnen")
	td := &termsData{}
	if m.timers == nil {
		td.TimersError = "Geen Redis ingesteld: de termijnen zijn niet te zien."
	} else {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		ts, next, err := m.timers.List(ctx, 0, 200)
		cancel()
		if err != nil {
			td.TimersError = "Redis antwoordt niet: de termijnen zijn nu niet te zien."
		}
		td.More = next != 0
		for _, t := range ts {
			td.Timers = append(td.Timers, timerOf(t))
		}
		td.Projection, _ = m.projections(r.Context())
	}
	td.Escalaties = m.feed.escalatiesSince(m.cfg.Now().Add(-7 * 24 * time.Hour))
	if len(td.Escalaties) > 100 {
		td.Escalaties = td.Escalaties[:100]
	}
	d.Terms = td
	m.render(w, "termijnen", "page", d)
}

func timerOf(t timers.Timer) timerView {
	v := timerView{Due: t.Due, Level: t.Level, Ontvanger: safeID(t.Ontvanger), Sender: safeID(t.Sender),
		Kind: safeID(t.Kind), Reden: safeID(t.Reden), Type: shortType(safeID(t.Betreft.Type)), OutOfRange: t.OutOfRange()}
	if t.Subject != "" {
		v.Person = events.ShortPseudonym(safeID(t.Subject))
	}
	return v
}

func startOfDay(t time.Time, loc *time.Location) time.Time {
	y, mo, d := t.In(loc).Date()
	return time.Date(y, mo, d, 0, 0, 0, 0, loc)
}

func levelLabel(l int) string {
	if l == 0 {
		return "herinnering"
	}
	return "niveau " + strconv.Itoa(l)
}

func onlyDigits(s string) string {
	if _, err := strconv.Atoi(s); err != nil {
		return "0"
	}
	return s
}

// dutchAge says how long ago in Dutch: "42 s", "3 min", "2 u 5 min",
// "3 d".
func dutchAge(d time.Duration) string {
	switch {
	case d <= 0:
		return "—"
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d u %d min", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%d d", int(d.Hours()/24))
	}
}

// circuitWords and outcomeWords are the dashboard's Dutch words for the
// circuit states and the delivery outcomes of package activity.
var (
	circuitWords = map[string]string{
		activity.CircuitOpen:     "open",
		activity.CircuitHalfOpen: "half open",
		activity.CircuitClosed:   "dicht",
	}
	outcomeWords = map[string]string{
		activity.OutcomeDelivered: "afgeleverd",
		activity.OutcomeRetry:     "later opnieuw",
		activity.OutcomeDLQ:       "naar DLQ",
		activity.OutcomeRetired:   "ingetrokken",
	}
)

// wordFor is the word words has for s, or otherwise when it has none.
func wordFor(words map[string]string, s, otherwise string) string {
	if w, ok := words[s]; ok {
		return w
	}
	return otherwise
}

func parsePages(loc *time.Location) (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"clock":    func(t time.Time) string { return t.In(loc).Format("15:04:05") },
		"datetime": func(t time.Time) string { return t.In(loc).Format("02-01-2006 15:04") },
		"age":      dutchAge,
		"since":    func(now, t time.Time) string { return dutchAge(now.Sub(t)) },
		"until": func(now, t time.Time) string {
			if t.Before(now) {
				return "verlopen, " + dutchAge(now.Sub(t)) + " geleden"
			}
			return "over " + dutchAge(t.Sub(now))
		},
		"level":   levelLabel,
		"circuit": func(s string) string { return wordFor(circuitWords, s, "—") },
		"outcome": func(s string) string { return wordFor(outcomeWords, s, s) },
		"join":    strings.Join,
	}
	pages := map[string]*template.Template{}
	for _, name := range []string{"overview", "live", "partner", "termijnen", "confirm", "login"} {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		pages[name] = t
	}
	return pages, nil
}
