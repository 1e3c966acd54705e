package router

import (
	"fmt"
	"strconv"

	cesql "github.com/cloudevents/sdk-go/sql/v2"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/delivery"
	"github.com/ketenbus/ketenbus/services/region"
)

// route is one compiled subscription.
type route struct {
	partner      string
	subscription string
	purpose      string
	types        map[string]bool
	filter       cesql.Expression
	fields       map[string]bool // nil: every field that is not sensitive
	// filterText is kept for error messages.
	filterText string
}

// Table is the routing table of a region: every partner subscription,
// compiled. It is safe for concurrent use.
type Table struct {
	routes    []route
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
	for _, p := range reg.Partners {
		for _, s := range p.Subscriptions {
			r := route{partner: p.ID, subscription: s.Name, purpose: s.Purpose, types: map[string]bool{}, filterText: s.Filter}
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
			if len(s.Fields) > 0 {
				r.fields = map[string]bool{}
				for _, f := range s.Fields {
					r.fields[f] = true
				}
			}
			t.routes = append(t.routes, r)
		}
	}
	return t, nil
}

// Delivery is one event for one partner's subscription.
type Delivery struct {
	Partner      string
	Subscription string
	Purpose      string
	MsgID        string
	// Body is the structured CloudEvent, data reduced to the allowed fields.
	Body []byte
}

// Route returns the deliveries of one event, stored in EVENTS at seq with
// Nats-Msg-Id eventMsgID. The event's data must be a JSON object.
func (t *Table) Route(e cloudevents.Event, seq uint64, eventMsgID string) ([]Delivery, error) {
	typ := e.Type()
	ontvanger, _ := e.Extensions()[events.ExtensionOntvanger].(string)
	var out []Delivery
	var data map[string]jsontext.Value
	for i := range t.routes {
		r := &t.routes[i]
		if !r.types[typ] || (ontvanger != "" && ontvanger != r.partner) {
			continue
		}
		if r.filter != nil {
			v, err := r.filter.Evaluate(e)
			if b, ok := v.(bool); err != nil || !ok || !b {
				continue
			}
		}
		if data == nil {
			if err := jsonv2.Unmarshal(e.Data(), &data); err != nil {
				return nil, fmt.Errorf("event %s: data is not a JSON object: %w", e.ID(), err)
			}
		}
		body, err := t.reduce(e, seq, data, r)
		if err != nil {
			return nil, err
		}
		out = append(out, Delivery{
			Partner:      r.partner,
			Subscription: r.subscription,
			Purpose:      r.purpose,
			MsgID:        delivery.MsgID(r.partner, r.subscription, eventMsgID),
			Body:         body,
		})
	}
	return out, nil
}

// reduce encodes the event for one route: only allowed data fields, and
// sequence set to the EVENTS sequence.
func (t *Table) reduce(e cloudevents.Event, seq uint64, data map[string]jsontext.Value, r *route) ([]byte, error) {
	sensitive := t.sensitive[e.Type()]
	keep := make(map[string]jsontext.Value, len(data))
	for k, v := range data {
		if r.fields != nil && r.fields[k] || r.fields == nil && !sensitive[k] {
			keep[k] = v
		}
	}
	reduced, err := jsonv2.Marshal(keep, jsonv2.Deterministic(true))
	if err != nil {
		return nil, fmt.Errorf("event %s: encode data: %w", e.ID(), err)
	}
	out := e.Clone()
	out.DataEncoded = reduced
	out.DataBase64 = false
	out.SetExtension("sequence", strconv.FormatUint(seq, 10))
	return out.MarshalJSON()
}
