package gateway

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/region"
)

// authorise checks that the partner owns each event's source and may
// publish its type.
func (g *Gateway) authorise(partner *region.Partner, parsed []*events.Parsed, batch bool) *Problem {
	var errs []events.Violation
	for i, pe := range parsed {
		prefix := ""
		if batch {
			prefix = "/" + strconv.Itoa(i)
		}
		if !slices.Contains(partner.Sources, pe.Event.Source()) {
			errs = append(errs, events.Violation{Pointer: prefix + "/source",
				Detail: fmt.Sprintf("partner %s does not own this source; its sources are in the region config", partner.ID)})
		}
		if !slices.Contains(partner.Publishes, pe.Event.Type()) {
			errs = append(errs, events.Violation{Pointer: prefix + "/type",
				Detail: fmt.Sprintf("partner %s may not publish %s; ask the region to add it to publishes", partner.ID, pe.Event.Type())})
		}
	}
	if len(errs) == 0 {
		return nil
	}
	detail := errs[0].Detail
	if len(errs) > 1 {
		detail = "the partner may not publish these events; see errors"
	}
	return problem(http.StatusForbidden, "forbidden", "Not allowed", detail, errs...)
}

// enrich sets the attributes ketenbus owns (subject: the pseudonym of
// data.bsn; afzender: the sending partner; ontvanger: data.ontvanger, or
// for a bevestiging the partner owning betreft.source; time, when
// missing) and encodes
// each event as a record for the EVENTS stream. A time more than the
// region's gateway.max_time_ahead ahead, or older than the type's
// retention, is refused at /time (region.CheckTime).
func (g *Gateway) enrich(partner *region.Partner, parsed []*events.Parsed, batch bool) ([]Record, *Problem) {
	var errs []events.Violation
	records := make([]Record, 0, len(parsed))
	now := g.cfg.Now().UTC()
	for i, pe := range parsed {
		prefix := ""
		if batch {
			prefix = "/" + strconv.Itoa(i)
		}
		e := &pe.Event
		pseudonym := ""
		if bsn := pe.String("bsn"); bsn != "" {
			pseudonym = g.pseudo.Pseudonym(bsn)
		}
		if s := e.Subject(); s != "" && s != pseudonym {
			errs = append(errs, events.Violation{Pointer: prefix + "/subject",
				Detail: "subject is set by ketenbus to the person's pseudonym; leave it out"})
		}
		e.SetSubject(pseudonym)
		if a, ok := e.Extensions()[events.ExtensionAfzender]; ok && a != partner.ID {
			errs = append(errs, events.Violation{Pointer: prefix + "/" + events.ExtensionAfzender,
				Detail: "afzender is set by ketenbus to the partner that sends the event; leave it out"})
		}
		e.SetExtension(events.ExtensionAfzender, partner.ID)
		ontvanger := pe.String("ontvanger")
		if ontvanger == "" {
			ontvanger, _ = e.Extensions()[events.ExtensionOntvanger].(string)
		}
		if ontvanger == "" && e.Type() == events.TypeBevestiging {
			// A bevestiging goes back to the partner that owns the
			// acknowledged event's source. Whether its sender is the
			// aanmelding's ontvanger the gateway cannot know (it keeps
			// no state): afzender tells the receiver, and the escalator
			// counts it only from the ontvanger.
			if betreft, ok := pe.Data["betreft"].(map[string]any); ok {
				src, _ := betreft["source"].(string)
				if owner, ok := g.cfg.Region.PartnerBySource(src); ok {
					ontvanger = owner.ID
				}
			}
		}
		if ontvanger != "" {
			if _, ok := g.cfg.Region.Partner(ontvanger); !ok {
				ptr := prefix + "/ontvanger"
				if g.catalog.HasOntvanger(e.Type()) {
					ptr = prefix + "/data/ontvanger"
				}
				errs = append(errs, events.Violation{Pointer: ptr,
					Detail: fmt.Sprintf("ontvanger %s is not a partner of region %s", ontvanger, g.cfg.Region.Region)})
			}
			e.SetExtension(events.ExtensionOntvanger, ontvanger)
		}
		if e.Time().IsZero() {
			e.SetTime(now)
		} else if msg := region.CheckTime(e.Time(), now, g.cfg.Region.Gateway.MaxTimeAhead, g.cfg.Region.RetentionOf(e.Type())); msg != "" {
			errs = append(errs, events.Violation{Pointer: prefix + "/time", Detail: msg})
		}
		// Seal the data as parsed, then encode the event once.
		var err error
		if sensitive := g.catalog.SensitiveFields(e.Type()); len(sensitive) > 0 {
			e.DataEncoded, err = g.fields.SealData(e.Source(), e.ID(), e.Data(), func(f string) bool { return slices.Contains(sensitive, f) })
		}
		var body []byte
		if err == nil {
			body, err = e.MarshalJSON()
		}
		if err != nil {
			errs = append(errs, events.Violation{Pointer: prefix, Detail: "the event could not be encoded"})
			continue
		}
		records = append(records, Record{
			Subject: events.EventSubject(e.Type(), partner.ID),
			MsgID:   events.MsgID(e.Source(), e.ID()),
			Body:    body,
			TTL:     g.cfg.Region.RetentionOf(e.Type()),
		})
	}
	if len(errs) > 0 {
		detail := errs[0].Detail
		if len(errs) > 1 {
			detail = "the events are not valid; see errors"
		}
		return nil, problem(http.StatusBadRequest, "invalid", "Invalid event", detail, errs...)
	}
	return records, nil
}
