package events_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ketenbus/ketenbus/events"
)

// A partner builds a signaal and gets it validated against the catalog
// before sending it to the gateway.
func ExampleNew() {
	e, err := events.New("urn:nld:oin:00000009999999990001:systeem:bvh", events.Signaal{
		BSN:            "111222333",
		Categorie:      events.CategorieVerwardGedrag,
		Urgentie:       events.UrgentieHoog,
		Contactpersoon: events.Contactpersoon{Naam: "Wijkagent De Vries", Telefoon: "050-1234567"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(e.Type(), e.DataContentType())
	// Output: nl.sociaaldomein.signaal.v1 application/json
}

// Every violation comes with a JSON pointer that says where to look.
func ExampleCatalog_ParseStructured() {
	_, err := events.Default().ParseStructured([]byte(`{
		"specversion": "1.0",
		"id": "5f2a",
		"source": "urn:nld:oin:00000009999999990001:systeem:bvh",
		"type": "nl.sociaaldomein.signaal.v1",
		"data": {"bsn": "123456789", "categorie": "schulden", "urgentie": "laag",
		         "contactpersoon": {"naam": "A. Jansen"}}
	}`))
	var ve *events.ValidationError
	if errors.As(err, &ve) {
		for _, v := range ve.Violations {
			fmt.Printf("%s: %s\n", v.Pointer, v.Detail)
		}
	}
	// Output: /data/bsn: bsn must be 9 digits that pass the elfproef (11-test)
}

// The pseudonym replaces the BSN in routing: stable per region key, not
// reversible without it.
func ExamplePseudonymizer() {
	p, _ := events.NewPseudonymizer([]byte(strings.Repeat("k", 32)))
	fmt.Println(events.ShortPseudonym(p.Pseudonym("111222333")))
	// Output: c38bb4ee1ad9
}
