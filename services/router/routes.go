package router

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	cesql "github.com/cloudevents/sdk-go/sql/v2"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/audit"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/telemetry"
)

// route is one compiled subscription.
type route struct {
	partner      string
	subscription string
	purpose      string
	types        map[string]bool
	filter       cesql.Expression
	fields       map[string]bool // nil: every field that is not sensitive
	// view numbers the distinct field lists: routes with the same view
	// share one reduced copy of an event's data.
	view int
	// header holds the delivery headers every delivery of the route
	// carries; deliveries share the values and never change them.
	header struct{ partner, subscription, purpose []string }
}

// Table is the routing table of a region: every partner subscription,
// compiled. It is safe for concurrent use.
type Table struct {
	routes    []route
	views     int
	sensitive map[string]map[string]bool // type -> sensitive fields
}

// NewTable compiles the subscriptions of a region. A subscription naming a
// type outside the catalog, an unknown partner or a bad filter is an error
// that names it.
func NewTable(reg *region.Config) (*Table, error) {
	t := &Table{sensitive: map[string]map[string]bool{}}
	cat := events.Default()
	for _, typ := range events.Types() {
		m := map[string]bool{}
		for _, f := range cat.SensitiveFields(typ) {
			m[f] = true
		}
		t.sensitive[typ] = m
	}
	views := map[string]int{}
	for _, p := range reg.Partners {
		for _, s := range p.Subscriptions {
			r := route{partner: p.ID, subscription: s.Name, purpose: s.Purpose, types: map[string]bool{}}
			r.header.partner, r.header.subscription, r.header.purpose = []string{p.ID}, []string{s.Name}, []string{s.Purpose}
			for _, typ := range s.Types {
				if !events.KnownType(typ) {
					return nil, fmt.Errorf("partner %s subscription %s: type %s is not in the catalog", p.ID, s.Name, typ)
				}
				r.types[typ] = true
			}
			if s.Filter != "" {
				expr, err := region.ParseFilter(s.Filter)
				if err != nil {
					return nil, fmt.Errorf("partner %s subscription %s: filter: %w", p.ID, s.Name, err)
				}
				r.filter = expr
			}
			key := "\x00all-but-sensitive"
			if len(s.Fields) > 0 {
				r.fields = map[string]bool{}
				for _, f := range s.Fields {
					r.fields[f] = true
				}
				key = strings.Join(slices.Sorted(maps.Keys(r.fields)), ",")
			}
			v, ok := views[key]
			if !ok {
				v = len(views)
				views[key] = v
			}
			r.view = v
			t.routes = append(t.routes, r)
		}
	}
	t.views = len(views)
	return t, nil
}

// Only returns the table of the subscriptions of partners alone: the same
// compiled routes (types, filters, ontvanger rule, field allow-lists), so
// Route decides for those partners exactly as the whole table does, and
// never for another. The live router routes with the whole table; a replay
// for some partners routes with this one.
func (t *Table) Only(partners ...string) *Table {
	o := &Table{views: t.views, sensitive: t.sensitive}
	for _, r := range t.routes {
		if slices.Contains(partners, r.partner) {
			o.routes = append(o.routes, r)
		}
	}
	return o
}

// Types returns the event types the table's subscriptions receive, in
// catalog order: events of other types give no deliveries.
func (t *Table) Types() []string {
	var types []string
	for _, typ := range events.Types() {
		if slices.ContainsFunc(t.routes, func(r route) bool { return r.types[typ] }) {
			types = append(types, typ)
		}
	}
	return types
}

// Routing is what Route decided for one event.
type Routing struct {
	// Type and Ontvanger are the event's type and ontvanger attribute.
	Type, Ontvanger string
	// Deliveries are the event's deliveries, one per matching subscription.
	Deliveries []Delivery

	// The event's attributes for its span and its processing log
	// records, as they stand in the event.
	id, source, subject, traceparent, tracestate jsontext.Value
}

// event returns what a processing log record says of the event stored at
// seq.
func (r Routing) event(seq uint64) audit.Event {
	return audit.Event{ID: events.Text(r.id), Source: events.Text(r.source), Type: r.Type,
		Subject: events.Text(r.subject), Traceparent: events.Text(r.traceparent), Sequence: seq}
}

// Delivery is one event for one partner's subscription.
type Delivery struct {
	Partner      string
	Subscription string
	Purpose      string
	// MsgID is the delivery id (events.DeliveryID): the Nats-Msg-Id of the
	// live delivery and the Ketenbus-Delivery-Id of every delivery of it.
	MsgID string
	// Body is the structured CloudEvent, data reduced to the allowed fields.
	// Deliveries with the same field list share it: read it, never write.
	Body []byte

	route *route
}

// Route returns the deliveries of one event (a structured CloudEvent as
// stored in EVENTS at seq, with Nats-Msg-Id eventMsgID). It works on the
// raw JSON members: the event is decoded as a CloudEvent only when a filter
// has to be evaluated, and each distinct field list's data is written
// once, from the members as they were sent.
func (t *Table) Route(payload []byte, seq uint64, eventMsgID string) (Routing, error) {
	var objBuf, dataBuf [16]events.Member // members are read only here
	obj, err := events.AppendMembers(objBuf[:0], payload)
	if err != nil {
		return Routing{}, fmt.Errorf("event is not a JSON object: %w", err)
	}
	typ := events.LookupText(obj, "type")
	ontvanger := events.LookupText(obj, events.ExtensionOntvanger)
	routing := Routing{Type: typ, Ontvanger: ontvanger, id: events.Lookup(obj, "id"),
		source: events.Lookup(obj, "source"), subject: events.Lookup(obj, "subject"),
		traceparent: events.Lookup(obj, telemetry.Traceparent), tracestate: events.Lookup(obj, telemetry.Tracestate)}
	var (
		e      *cloudevents.Event
		data   []events.Member
		bodies = make([][]byte, t.views) // per view: the whole delivered event
		head   []byte
	)
	for i := range t.routes {
		r := &t.routes[i]
		if !r.types[typ] || (ontvanger != "" && ontvanger != r.partner) {
			continue
		}
		if r.filter != nil {
			if e == nil {
				e = attributes(obj, seq)
			}
			v, err := r.filter.Evaluate(*e)
			if b, ok := v.(bool); err != nil || !ok || !b {
				continue
			}
		}
		if bodies[r.view] == nil {
			raw := events.Lookup(obj, "data")
			if data == nil {
				if data, err = events.AppendMembers(dataBuf[:0], raw); err != nil {
					return routing, fmt.Errorf("event data is not a JSON object: %w", err)
				}
			}
			bodies[r.view] = splice(&head, payload, obj, t.reduce(typ, raw, data, r), seq)
		}
		if routing.Deliveries == nil {
			routing.Deliveries = make([]Delivery, 0, min(len(t.routes)-i, 8))
		}
		routing.Deliveries = append(routing.Deliveries, Delivery{
			Partner:      r.partner,
			Subscription: r.subscription,
			Purpose:      r.purpose,
			MsgID:        events.DeliveryID(r.partner, r.subscription, eventMsgID),
			Body:         bodies[r.view],
			route:        r,
		})
	}
	return routing, nil
}

// reduce returns the data a route may see: only its fields, or every
// field that is not sensitive, in the order they were sent. Unchanged data
// is returned as it was.
func (t *Table) reduce(typ string, raw jsontext.Value, data []events.Member, r *route) []byte {
	sensitive := t.sensitive[typ]
	keep := func(name string) bool {
		if r.fields != nil {
			return r.fields[name]
		}
		return !sensitive[name]
	}
	all := true
	for _, m := range data {
		all = all && keep(m.Name)
	}
	if all {
		return raw
	}
	b := make([]byte, 0, len(raw))
	b = append(b, '{')
	for _, m := range data {
		if !keep(m.Name) {
			continue
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		b, _ = jsontext.AppendQuote(b, m.Name)
		b = append(b, ':')
		b = append(b, m.Value...)
	}
	return append(b, '}')
}

// splice writes the event of payload, whose members are obj, with data
// replaced and sequence set. head is the start of the first body written
// for the event: the members every delivery of the event shares, written
// once and copied for the others.
func splice(head *[]byte, payload []byte, obj []events.Member, data []byte, seq uint64) []byte {
	if *head != nil {
		b := make([]byte, 0, len(*head)+len(data)+1)
		b = append(b, *head...)
		b = append(b, data...)
		return append(b, '}')
	}
	// The event less its data, plus a sequence, plus data no larger than
	// the event's own: the payload and the sequence's room.
	b := make([]byte, 0, len(payload)+32)
	b = append(b, '{')
	for _, m := range obj {
		if m.Name == "data" || m.Name == "sequence" {
			continue
		}
		b, _ = jsontext.AppendQuote(b, m.Name)
		b = append(b, ':')
		b = append(b, m.Value...)
		b = append(b, ',')
	}
	b = append(b, `"sequence":"`...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, `","data":`...)
	*head = b[:len(b):len(b)]
	b = append(b, data...)
	return append(b, '}')
}

// attributes returns the event's context attributes as a CloudEvent
// without data (events.Attributes), with sequence the delivery will carry:
// all a CESQL filter can see (region.FilterAttributes and the partners'
// own extensions).
func attributes(obj []events.Member, seq uint64) *cloudevents.Event {
	e := events.Attributes(obj)
	e.SetExtension("sequence", strconv.FormatUint(seq, 10))
	return &e
}
