package events_test

import (
	"os"
	"testing"

	"github.com/ketenbus/ketenbus/events"
)

func BenchmarkParseStructured(b *testing.B) {
	body, err := os.ReadFile("testdata/valid/signaal.json")
	if err != nil {
		b.Fatal(err)
	}
	c := events.Default()
	b.ReportAllocs()
	for b.Loop() {
		p, err := c.ParseStructured(body)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := p.Event.MarshalJSON(); err != nil {
			b.Fatal(err)
		}
	}
}
