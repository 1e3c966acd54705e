package events

import (
	"encoding/json"
	"time"
)

// Categorie is the kind of concern a signaal registers.
type Categorie string

// The categories of a signaal.
const (
	CategorieVerwardGedrag   Categorie = "verward-gedrag"
	CategorieHuiselijkGeweld Categorie = "huiselijk-geweld"
	CategorieSchulden        Categorie = "schulden"
	CategorieOverlast        Categorie = "overlast"
	CategorieSchooluitval    Categorie = "schooluitval"
	CategorieRadicalisering  Categorie = "radicalisering"
	CategorieVerslaving      Categorie = "verslaving"
	CategorieAnders          Categorie = "anders"
)

// Urgentie is how urgent a signaal is.
type Urgentie string

// The levels of urgentie.
const (
	UrgentieLaag   Urgentie = "laag"
	UrgentieMidden Urgentie = "midden"
	UrgentieHoog   Urgentie = "hoog"
	UrgentieAcuut  Urgentie = "acuut"
)

// Status is the answer a bevestiging gives.
type Status string

// The statuses of a bevestiging.
const (
	StatusOpgepakt  Status = "opgepakt"
	StatusGeweigerd Status = "geweigerd"
	StatusAfgerond  Status = "afgerond"
)

// Reden is why ketenbus escalates.
type Reden string

// The reasons of an escalatie.
const (
	RedenTermijnVerstreken         Reden = "termijn-verstreken"
	RedenGeweigerd                 Reden = "geweigerd"
	RedenHerinnering18             Reden = "herinnering-18"
	RedenAchttienZonderBevestiging Reden = "achttien-zonder-bevestiging"
)

// Contactpersoon is the professional to contact about an event.
type Contactpersoon struct {
	Naam     string `json:"naam"`
	Telefoon string `json:"telefoon,omitempty"`
	Email    string `json:"email,omitempty"`
}

// EventRef names another event by its source and id (and, optionally, type).
type EventRef struct {
	Source string `json:"source"`
	ID     string `json:"id"`
	Type   string `json:"type,omitempty"`
}

// Signaal is the data of nl.sociaaldomein.signaal.v1: a professional
// registers a concern about a person.
type Signaal struct {
	BSN            string         `json:"bsn"`
	Categorie      Categorie      `json:"categorie"`
	Urgentie       Urgentie       `json:"urgentie"`
	Toelichting    string         `json:"toelichting,omitempty"`
	Contactpersoon Contactpersoon `json:"contactpersoon"`
}

// Reactietermijn is a response term in working days.
type Reactietermijn struct {
	Werkdagen int `json:"werkdagen"`
}

// Aanmelding is the data of nl.sociaaldomein.aanmelding.v1: a case referred
// to a partner, with a response term. Exactly one of Reactietermijn and
// Uiterlijk is set.
type Aanmelding struct {
	BSN            string          `json:"bsn"`
	Ontvanger      string          `json:"ontvanger"`
	Reden          string          `json:"reden"`
	Contactpersoon Contactpersoon  `json:"contactpersoon"`
	Reactietermijn *Reactietermijn `json:"reactietermijn,omitempty"`
	Uiterlijk      *time.Time      `json:"uiterlijk,omitempty"`
}

// Bevestiging is the data of nl.sociaaldomein.bevestiging.v1: the receiver
// of an aanmelding or overdracht confirms it picked it up, declined it or
// completed it.
type Bevestiging struct {
	Betreft     EventRef `json:"betreft"`
	Status      Status   `json:"status"`
	Toelichting string   `json:"toelichting,omitempty"`
}

// Voorziening is a running youth-care provision.
type Voorziening struct {
	Soort string `json:"soort"`
	// Einddatum is a date (YYYY-MM-DD), empty when open-ended.
	Einddatum string `json:"einddatum,omitempty"`
}

// OverdrachtJeugdWmo is the data of nl.sociaaldomein.overdracht-jeugd-wmo.v1:
// a youth in care approaches 18 and care must move to the Wmo team.
type OverdrachtJeugdWmo struct {
	BSN string `json:"bsn"`
	// Geboortedatum is a date (YYYY-MM-DD).
	Geboortedatum  string         `json:"geboortedatum"`
	Ontvanger      string         `json:"ontvanger"`
	Voorzieningen  []Voorziening  `json:"voorzieningen"`
	Contactpersoon Contactpersoon `json:"contactpersoon"`
}

// Escalatie is the data of nl.sociaaldomein.escalatie.v1, produced by
// ketenbus when a term passed without bevestiging.
type Escalatie struct {
	Betreft   EventRef `json:"betreft"`
	Ontvanger string   `json:"ontvanger"`
	// Niveau is 0 for a reminder, 1..n for the ladder level.
	Niveau  int       `json:"niveau"`
	Reden   Reden     `json:"reden"`
	Termijn time.Time `json:"termijn"`
}

// Samenloop is the data of nl.sociaaldomein.samenloop.v1, produced by
// ketenbus when two or more partners signalled the same person. It never
// carries another partner's signal data.
type Samenloop struct {
	Ontvanger    string `json:"ontvanger"`
	Regievoerder string `json:"regievoerder"`
	// Signalen are the ontvanger's own signalen about this person.
	Signalen    []EventRef   `json:"signalen,omitempty"`
	Betrokkenen []Betrokkene `json:"betrokkenen"`
}

// Betrokkene is a partner involved in a samenloop.
type Betrokkene struct {
	Partner        string         `json:"partner"`
	Naam           string         `json:"naam"`
	Contactpersoon Contactpersoon `json:"contactpersoon"`
	GesignaleerdOp time.Time      `json:"gesignaleerd_op"`
}

// MarshalJSON encodes an overdracht; a nil Voorzieningen is written as an
// empty list, as the schema requires.
func (o OverdrachtJeugdWmo) MarshalJSON() ([]byte, error) {
	type plain OverdrachtJeugdWmo
	if o.Voorzieningen == nil {
		o.Voorzieningen = []Voorziening{}
	}
	return json.Marshal(plain(o))
}
