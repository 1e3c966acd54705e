package region

import (
	"fmt"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/ketenbus/ketenbus/events"
)

var envNamePattern = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`)

// Validate checks the config against every rule of the format and returns
// a *ProblemsError listing all problems, or nil. Keys left at zero where
// the format has a default are accepted.
func (c Config) Validate() error {
	if problems := c.validate(); len(problems) > 0 {
		return newProblemsError(c.Path, problems)
	}
	return nil
}

// validation collects problems, giving each the line of its key.
type validation struct {
	c        *Config
	problems []Problem
	// envs maps every environment variable named so far to the key naming it.
	envs map[string]string
}

func (c *Config) validate() []Problem {
	v := &validation{c: c, envs: map[string]string{}}
	v.region()
	v.extensionAttributes()
	v.partners()
	v.escalation()
	v.samenloop()
	v.gateway()
	v.monitor()
	v.retention()
	return v.problems
}

func (v *validation) monitor() {
	m := v.c.Monitor
	v.env("monitor.token_env", m.TokenEnv, false, "")
	if m.TrustedHeader != "" && len(m.TrustedProxies) == 0 {
		v.add("monitor.trusted_proxies", "trusted_header is set without trusted_proxies", "list the addresses of the reverse proxy that sets the header (for example 127.0.0.1/32), or anybody could set it")
	}
	if len(m.TrustedProxies) > 0 && m.TrustedHeader == "" {
		v.add("monitor.trusted_header", "trusted_proxies is set without trusted_header", "name the header the proxy sets, for example X-Forwarded-Email")
	}
	for i, p := range m.TrustedProxies {
		_, perr := netip.ParsePrefix(p)
		_, aerr := netip.ParseAddr(p)
		if perr != nil && aerr != nil {
			v.add(fmt.Sprintf("monitor.trusted_proxies[%d]", i), fmt.Sprintf("%q is no address or CIDR prefix", p), "write an address such as 10.0.0.5 or a prefix such as 10.0.0.0/24")
		}
	}
}

func (v *validation) gateway() {
	g := v.c.Gateway
	if g.MaxBodyBytes < 0 {
		v.add("gateway.max_body_bytes", fmt.Sprintf("%d is negative", g.MaxBodyBytes), "leave it out for the default of 1 MiB")
	}
	if g.MaxHeaderBytes < 0 {
		v.add("gateway.max_header_bytes", fmt.Sprintf("%d is negative", g.MaxHeaderBytes), "leave it out for the default of 16 KiB")
	}
	for _, t := range []struct {
		key string
		d   time.Duration
	}{{"read_header_timeout", g.ReadHeaderTimeout}, {"read_timeout", g.ReadTimeout}, {"write_timeout", g.WriteTimeout}, {"idle_timeout", g.IdleTimeout}, {"max_time_ahead", g.MaxTimeAhead}} {
		if t.d < 0 {
			v.add("gateway."+t.key, fmt.Sprintf("%s is negative", t.d), "leave it out for the default")
		}
	}
	if g.MaxTimeAhead > maxTimeAhead {
		v.add("gateway.max_time_ahead", fmt.Sprintf("%s is more than %s", g.MaxTimeAhead, Days(maxTimeAhead)), "an event's time is when it was logged: allow for clock skew, such as the default 24h")
	}
	if t := g.TLS; t != nil {
		if t.CertFile == "" {
			v.add("gateway.tls.cert_file", "cert_file is missing", "give the PEM file of the gateway's certificate (with its chain)")
		}
		if t.KeyFile == "" {
			v.add("gateway.tls.key_file", "key_file is missing", "give the PEM file of the certificate's private key")
		}
	}
}

func (v *validation) retention() {
	for _, k := range slices.Sorted(maps.Keys(v.c.Retention)) {
		if d := v.c.Retention[k]; d < time.Second {
			v.add("retention."+k, fmt.Sprintf("%s is shorter than a second", d), "JetStream removes expired messages per second; write at least 1s, such as 730d")
		}
	}
}

func (v *validation) region() {
	c := v.c
	switch {
	case c.Region == "":
		v.add("region", "region is missing", "name the region in lowercase, such as region: groningen")
	case !events.ValidPartnerID(c.Region):
		v.add("region", fmt.Sprintf("%q is not a valid region name", c.Region), "use lowercase letters, digits and '-', at most 63 characters")
	}
	if c.Source != "" {
		if err := events.CheckSource(c.Source); err != nil {
			v.add("source", err.Error(), "")
		}
	}
	v.env("pseudonym_key_env", c.PseudonymKeyEnv, true, "KETENBUS_PSEUDONYM_KEY")
	v.env("encryption_key_env", c.EncryptionKeyEnv, true, "KETENBUS_FIELD_KEY")
}

func (v *validation) partners() {
	c := v.c
	if len(c.Partners) == 0 {
		v.add("partners", "no partners are configured", "list the region's chain partners under partners:")
		return
	}
	ids := map[string]string{}     // partner id -> path of its first use
	sources := map[string]string{} // source -> path of its first use
	for i, p := range c.Partners {
		path := fmt.Sprintf("partners[%d]", i)
		switch {
		case p.ID == "":
			v.add(path+".id", "id is missing", "give the partner a short lowercase id, such as politie")
		case !events.ValidPartnerID(p.ID):
			v.add(path+".id", fmt.Sprintf("%q is not a valid partner id", p.ID), "use lowercase letters, digits and '-'")
		case p.ID == events.Producer:
			v.add(path+".id", fmt.Sprintf("partner id %q is reserved", p.ID), "ketenbus publishes its own events (escalatie, samenloop) under this id; choose another")
		case ids[p.ID] != "":
			v.add(path+".id", fmt.Sprintf("partner id %q is used twice", p.ID), "it is also the id of "+v.where(ids[p.ID]))
		default:
			ids[p.ID] = path + ".id"
		}
		if strings.TrimSpace(p.Name) == "" {
			v.add(path+".name", "name is missing", "give the organisation's name, shown on the dashboard")
		}
		v.sources(path, p, sources)
		v.credentials(path, p)
		v.publishes(path, p)
		if p.RateLimit.PerSecond < 0 {
			v.add(path+".rate_limit.per_second", fmt.Sprintf("%d is negative", p.RateLimit.PerSecond), fmt.Sprintf("leave it out for the default of %d", DefaultRatePerSecond))
		}
		if p.RateLimit.Burst < 0 {
			v.add(path+".rate_limit.burst", fmt.Sprintf("%d is negative", p.RateLimit.Burst), fmt.Sprintf("leave it out for the default of %d", DefaultRateBurst))
		}
		v.subscriptions(path, p)
		v.delivery(path, p)
	}
	if c.Source != "" && sources[c.Source] != "" {
		v.add("source", fmt.Sprintf("source %q is ketenbus's own but also belongs to a partner", c.Source), "it is also listed at "+v.where(sources[c.Source]))
	}
}

func (v *validation) sources(path string, p Partner, seen map[string]string) {
	if len(p.Sources) == 0 {
		v.add(path+".sources", "sources is empty", "list the source URNs the partner's systems send from, such as urn:nld:oin:<20-digit OIN>:systeem:<name>")
		return
	}
	for j, s := range p.Sources {
		sp := fmt.Sprintf("%s.sources[%d]", path, j)
		if err := events.CheckSource(s); err != nil {
			v.add(sp, err.Error(), "")
			continue
		}
		if first := seen[s]; first != "" {
			v.add(sp, fmt.Sprintf("source %q is listed twice", s), "a source belongs to exactly one partner; it is also at "+v.where(first))
			continue
		}
		seen[s] = sp
	}
}

func (v *validation) publishes(path string, p Partner) {
	for j, t := range p.Publishes {
		tp := fmt.Sprintf("%s.publishes[%d]", path, j)
		switch {
		case !events.KnownType(t):
			v.add(tp, fmt.Sprintf("%q is not an event type of the catalog", t), "known types: "+strings.Join(events.Types(), ", "))
		case !events.PartnerPublishable(t):
			v.add(tp, fmt.Sprintf("%s is produced by ketenbus itself; partners cannot publish it", t), "remove it; partners receive it by subscribing")
		case slices.Index(p.Publishes, t) < j:
			v.add(tp, fmt.Sprintf("%s is listed twice", t), "")
		}
	}
}

func (v *validation) subscriptions(path string, p Partner) {
	names := map[string]string{}
	for j, s := range p.Subscriptions {
		sp := fmt.Sprintf("%s.subscriptions[%d]", path, j)
		switch {
		case s.Name == "":
			v.add(sp+".name", "name is missing", "name the subscription after what it is for, such as samenloop")
		case !events.ValidPartnerID(s.Name):
			v.add(sp+".name", fmt.Sprintf("%q is not a valid subscription name", s.Name), "use lowercase letters, digits and '-'; the name appears in consumer names")
		case names[s.Name] != "":
			v.add(sp+".name", fmt.Sprintf("subscription %q appears twice for partner %s", s.Name, p.ID), "it is also the name of "+v.where(names[s.Name]))
		default:
			names[s.Name] = sp + ".name"
		}
		if len(s.Types) == 0 {
			v.add(sp+".types", "types is empty", "list the event types this subscription receives")
		}
		for k, t := range s.Types {
			tp := fmt.Sprintf("%s.types[%d]", sp, k)
			switch {
			case !events.KnownType(t):
				v.add(tp, fmt.Sprintf("%q is not an event type of the catalog", t), "known types: "+strings.Join(events.Types(), ", "))
			case slices.Index(s.Types, t) < k:
				v.add(tp, fmt.Sprintf("%s is listed twice", t), "")
			}
		}
		if s.Filter != "" {
			v.filter(sp+".filter", s)
		}
		v.purpose(sp+".purpose", s.Purpose)
		for k, f := range s.Fields {
			fp := fmt.Sprintf("%s.fields[%d]", sp, k)
			switch {
			case strings.TrimSpace(f) == "":
				v.add(fp, "field name is empty", "")
			case slices.Index(s.Fields, f) < k:
				v.add(fp, fmt.Sprintf("field %s is listed twice", f), "")
			case !subscribedField(s.Types, f):
				v.add(fp, fmt.Sprintf("no subscribed type has a data field %s", f), "fields lists top-level data fields of the subscribed types: "+strings.Join(subscribedFields(s.Types), ", "))
			case p.Delivery.NATS != nil && SensitiveField(s.Types, f):
				v.add(fp, fmt.Sprintf("%s is sensitive and stays encrypted in DELIVERY; only webhook delivery decrypts it", f), "deliver to this partner by webhook, or leave the field out")
			}
		}
	}
}

// filter checks a subscription's filter: valid CESQL that names only
// attributes a filter can see (FilterAttributes and the region's
// extension_attributes). A data field gets a message of its own: it
// passes the syntax and then matches nothing, as the router evaluates
// filters on the context attributes alone.
func (v *validation) filter(path string, s Subscription) {
	ids, err := FilterIdentifiers(s.Filter)
	if err != nil {
		v.add(path, err.Error(), "a CESQL filter compares context attributes, such as ontvanger = 'politie'; quote text with single quotes")
		return
	}
	known := append(FilterAttributes(), v.c.ExtensionAttributes...)
	seeable := "filters see only context attributes: " + strings.Join(known, ", ")
	for _, id := range ids {
		switch {
		case slices.Contains(known, id.Name):
		case slices.Contains(subscribedFields(s.Types), id.Name):
			v.add(path, fmt.Sprintf("column %d: %s is a data field; %s", id.Column, id.Name, seeable),
				"select on data with the subscription's types and fields, or ask the publisher to send it as an extension attribute and list it under extension_attributes")
		default:
			v.add(path, fmt.Sprintf("column %d: %s is not a context attribute; %s", id.Column, id.Name, seeable),
				"an extension attribute the region's partners send must be listed under extension_attributes to be used in a filter")
		}
	}
}

// extensionAttributes checks the region's declared extension attributes.
func (v *validation) extensionAttributes() {
	for i, name := range v.c.ExtensionAttributes {
		p := fmt.Sprintf("extension_attributes[%d]", i)
		switch {
		case !extensionNamePattern.MatchString(name):
			v.add(p, fmt.Sprintf("%q is not a CloudEvents attribute name", name), "attribute names are lowercase letters a-z and digits 0-9, at most 20 characters")
		case slices.Contains(FilterAttributes(), name):
			v.add(p, fmt.Sprintf("%s is a context attribute every filter can use already", name), "remove it")
		case slices.Index(v.c.ExtensionAttributes, name) < i:
			v.add(p, fmt.Sprintf("%s is listed twice", name), "")
		}
	}
}

var extensionNamePattern = regexp.MustCompile(`^[a-z0-9]{1,20}$`)

// SensitiveField reports whether f is a sensitive data field (schema
// x-sensitive) of any of the types.
func SensitiveField(types []string, f string) bool {
	for _, t := range types {
		if slices.Contains(events.Default().SensitiveFields(t), f) {
			return true
		}
	}
	return false
}

func (v *validation) purpose(path, purpose string) {
	if purpose == "" {
		v.add(path, "purpose is missing", "name the processing activity (verwerkingsactiviteit) the events are received for, such as urn:nld:<organisation>:verwerkingsactiviteit:samenloop (doelbinding)")
		return
	}
	u, err := url.Parse(purpose)
	if err != nil || u.Scheme == "" || strings.ContainsAny(purpose, " \t") {
		v.add(path, fmt.Sprintf("purpose %q is not a URI", purpose), "identify the processing activity by a URN or URL, such as urn:nld:<organisation>:verwerkingsactiviteit:samenloop")
	}
}

func (v *validation) delivery(path string, p Partner) {
	dp := path + ".delivery"
	w, n := p.Delivery.Webhook, p.Delivery.NATS
	switch {
	case w != nil && n != nil:
		v.add(dp, "both webhook and nats are set", "a partner receives events one way: keep one of them")
	case w == nil && n == nil && len(p.Subscriptions) > 0:
		v.add(dp, "delivery is missing for a partner with subscriptions", "add delivery: {webhook: {...}} or delivery: {nats: {}}")
	}
	if w != nil {
		v.webhook(dp+".webhook", w, envSuffix(p.ID))
	}
}

func (v *validation) webhook(path string, w *Webhook, suffix string) {
	v.webhookURL(path+".url", w.URL)
	v.env(path+".secret_env", w.SecretEnv, true, "KETENBUS_WEBHOOK_SECRET_"+suffix)
	v.env(path+".token_env", w.TokenEnv, false, "")
	switch w.Mode {
	case "", ModeStructured, ModeBinary:
	default:
		v.add(path+".mode", fmt.Sprintf("mode %q is not structured or binary", w.Mode), "leave it out for structured mode (the whole event as JSON); binary sends the data as the body")
	}
	if w.Timeout < 0 {
		v.add(path+".timeout", fmt.Sprintf("timeout %s is negative", w.Timeout), "leave it out for the default of 10s")
	}
	for i, d := range w.RetrySchedule {
		if d <= 0 {
			v.add(fmt.Sprintf("%s.retry_schedule[%d]", path, i), fmt.Sprintf("wait %s is not positive", d), "every wait before a retry must be longer than zero, such as 5s")
		}
	}
	if w.RetrySchedule != nil && len(w.RetrySchedule) == 0 {
		v.add(path+".retry_schedule", "retry_schedule is empty: a failed delivery would go to the DLQ at once", "leave it out for the default schedule of about two days")
	}
}

func (v *validation) webhookURL(path, raw string) {
	if raw == "" {
		v.add(path, "url is missing", "give the partner's endpoint, such as https://partner.example/ketenbus")
		return
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		v.add(path, fmt.Sprintf("%q is not an http(s) URL", raw), "write a full URL, such as https://partner.example/ketenbus")
		return
	}
	if u.User != nil {
		v.add(path, "the URL carries credentials", "remove them from the URL; set delivery.webhook.token_env for a bearer token")
		return
	}
	if u.Scheme == "http" && !v.c.Demo && !loopback(u.Hostname()) {
		v.add(path, fmt.Sprintf("%q uses plain http", raw), "use https; plain http is allowed only in a demo region or to localhost")
	}
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (v *validation) escalation() {
	e := v.c.Escalation
	if len(e.Ladder) == 0 {
		v.add("escalation.ladder", "the escalation ladder is empty", "add at least level 1, such as {level: 1, after_working_days: 0, to: [zvh]}")
	}
	for i, l := range e.Ladder {
		lp := fmt.Sprintf("escalation.ladder[%d]", i)
		if l.Level != i+1 {
			v.add(lp+".level", fmt.Sprintf("level is %d, expected %d", l.Level, i+1), "number the levels 1, 2, 3, ... in order, without gaps")
		}
		if l.AfterWorkingDays < 0 {
			v.add(lp+".after_working_days", fmt.Sprintf("%d is negative", l.AfterWorkingDays), "0 means on the day the response term passed")
		} else if l.AfterWorkingDays > maxWorkingDaysOnLadderLevels {
			v.add(lp+".after_working_days", fmt.Sprintf("%d working days is more than a year", l.AfterWorkingDays), "")
		}
		if len(l.To) == 0 {
			v.add(lp+".to", "to is empty", "name the partner ids the escalatie goes to, such as [zvh]")
		}
		for j, id := range l.To {
			v.partnerRef(fmt.Sprintf("%s.to[%d]", lp, j), id)
		}
	}
	j := e.JeugdWmo
	for _, m := range []struct {
		key   string
		value int
	}{
		{"escalation.jeugd_wmo.remind_months_before_18", j.RemindMonthsBefore18},
		{"escalation.jeugd_wmo.accept_months_before_18", j.AcceptMonthsBefore18},
	} {
		if m.value < 0 || m.value > maxMonthsBefore18 {
			v.add(m.key, fmt.Sprintf("%d months is not between 0 and %d", m.value, maxMonthsBefore18), "")
		}
	}
	if j.RemindMonthsBefore18 > 0 && j.AcceptMonthsBefore18 > 0 && j.RemindMonthsBefore18 < j.AcceptMonthsBefore18 {
		v.add("escalation.jeugd_wmo.remind_months_before_18", fmt.Sprintf("the reminder (%d months before 18) comes after the acceptance deadline (%d months before 18)", j.RemindMonthsBefore18, j.AcceptMonthsBefore18), "remind earlier than acceptance is due, such as remind 6 and accept 3")
	}
	switch e.LiberationDay {
	case "", LiberationDayEvery, LiberationDayLustrum:
	default:
		v.add("escalation.liberation_day", fmt.Sprintf("%q is not every or lustrum", e.LiberationDay), "every: 5 May is a closure day each year; lustrum: only every five years (2025, 2030, ...)")
	}
	for i, day := range e.ClosureDays {
		dp := fmt.Sprintf("escalation.closure_days[%d]", i)
		if _, err := time.Parse(time.DateOnly, day); err != nil {
			v.add(dp, fmt.Sprintf("%q is not a date", day), "write dates as YYYY-MM-DD, such as \"2026-12-24\"")
		} else if slices.Index(e.ClosureDays, day) < i {
			v.add(dp, fmt.Sprintf("%s is listed twice", day), "")
		}
	}
}

func (v *validation) samenloop() {
	s := v.c.Samenloop
	if s.WindowDays < 0 || s.WindowDays > maxSamenloopWindowDays {
		v.add("samenloop.window_days", fmt.Sprintf("%d days is not between 1 and %d", s.WindowDays, maxSamenloopWindowDays), "signals are removed at the latest 2 years after registration, so the window cannot be longer")
	}
	if s.Regievoerder == "" {
		v.add("samenloop.regievoerder", "regievoerder is missing", "name the partner that coordinates on a samenloop, usually zvh")
		return
	}
	v.partnerRef("samenloop.regievoerder", s.Regievoerder)
}

// credentials checks how a partner proves who it is to the gateway: a
// token (or its hash), a client certificate, or both.
func (v *validation) credentials(path string, p Partner) {
	switch {
	case p.TokenEnv != "" && p.TokenSHA256Env != "":
		v.add(path+".token_sha256_env", "token_env and token_sha256_env are both set", "keep one: token_sha256_env holds only the token's SHA-256, so the gateway keeps no token")
	case p.TokenEnv == "" && p.TokenSHA256Env == "" && p.ClientCert == nil:
		v.env(path+".token_env", "", true, "KETENBUS_TOKEN_"+envSuffix(p.ID))
	}
	v.env(path+".token_env", p.TokenEnv, false, "")
	v.env(path+".token_sha256_env", p.TokenSHA256Env, false, "")
	cc := p.ClientCert
	if cc == nil {
		return
	}
	cp := path + ".client_cert"
	if cc.CommonName == "" && cc.SHA256 == "" {
		v.add(cp, "client_cert names no certificate", "give common_name (the subject CN), sha256 (the certificate's fingerprint), or both")
	}
	if cc.SHA256 != "" && !fingerprintPattern.MatchString(cc.SHA256) {
		v.add(cp+".sha256", "sha256 is not a SHA-256 fingerprint", "write 64 hex digits, with or without colons, such as openssl x509 -noout -fingerprint -sha256 prints")
	}
	if t := v.c.Gateway.TLS; t == nil || t.ClientCAFile == "" {
		v.add(cp, "client_cert needs mutual TLS on the gateway", "set gateway.tls with cert_file, key_file and client_ca_file (the CA that issues partner certificates)")
	}
}

var fingerprintPattern = regexp.MustCompile(`^[0-9A-Fa-f]{2}(:?[0-9A-Fa-f]{2}){31}$`)

// partnerRef checks that id names a configured partner.
func (v *validation) partnerRef(path, id string) {
	if _, ok := v.c.Partner(id); ok {
		return
	}
	ids := make([]string, 0, len(v.c.Partners))
	for _, p := range v.c.Partners {
		if events.ValidPartnerID(p.ID) && !slices.Contains(ids, p.ID) {
			ids = append(ids, p.ID)
		}
	}
	v.add(path, fmt.Sprintf("%q is not a partner of this region", id), "partners: "+strings.Join(ids, ", "))
}

// env checks an environment variable name, and that no other key names the
// same variable: every secret has a variable of its own.
// example, such as KETENBUS_TOKEN_POLITIE, goes into the hint when a
// required name is missing.
func (v *validation) env(path, name string, required bool, example string) {
	switch {
	case name == "" && required:
		v.add(path, lastKey(path)+" is missing", "name the environment variable that holds the secret, such as "+example)
	case name == "":
	case !envNamePattern.MatchString(name):
		v.add(path, fmt.Sprintf("%q is not a valid environment variable name", name), "use capital letters, digits and '_', not starting with a digit")
	case v.envs[name] != "":
		v.add(path, fmt.Sprintf("environment variable %s is also named by %s", name, v.envs[name]), "every secret needs an environment variable of its own")
	default:
		v.envs[name] = path
	}
}

// envSuffix turns a partner id into the end of an environment variable
// name: veilig-thuis gives VEILIG_THUIS.
func envSuffix(id string) string {
	if id == "" {
		return "<PARTNER>"
	}
	return strings.ToUpper(strings.ReplaceAll(id, "-", "_"))
}

func lastKey(path string) string {
	return path[strings.LastIndex(path, ".")+1:]
}

// where describes a path with its line, such as "partners[0].id (line 12)".
func (v *validation) where(path string) string {
	if line := v.c.lineOf(path); line > 0 {
		return fmt.Sprintf("%s (line %d)", path, line)
	}
	return path
}

func (v *validation) add(path, msg, hint string) {
	if v.c.bad[path] {
		return // already reported as a value of the wrong kind
	}
	v.problems = append(v.problems, Problem{Line: v.c.lineOf(path), Path: path, Message: msg, Hint: hint})
}

// lineOf returns the line of path in the file, or of its nearest ancestor
// found there; 0 for a Config not read from a file.
func (c *Config) lineOf(path string) int {
	for {
		if line, ok := c.lines[path]; ok {
			return line
		}
		if path == "" {
			return 0
		}
		path = path[:max(strings.LastIndexAny(path, ".["), 0)]
	}
}

// subscribedField reports whether a data field belongs to one of types
// (unknown types are reported on their own).
func subscribedField(types []string, field string) bool {
	known := false
	for _, t := range types {
		if !events.KnownType(t) {
			continue
		}
		known = true
		if slices.Contains(events.Default().Fields(t), field) {
			return true
		}
	}
	return !known
}

func subscribedFields(types []string) []string {
	var all []string
	for _, t := range types {
		for _, f := range events.Default().Fields(t) {
			if !slices.Contains(all, f) {
				all = append(all, f)
			}
		}
	}
	slices.Sort(all)
	return all
}
