//go:build stress

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/ketenbus/ketenbus/events/partner"
)

// delivery is one event a sink took (answered 2xx).
type delivery struct {
	webhookID string
	key       string // source + " " + id: the event's identity
	typ       string
	at        time.Time
	// betreft and niveau of an escalatie.
	betreft string
	niveau  int
}

// chaosSink is a partner's webhook endpoint: it verifies every delivery with
// the partner SDK's Receiver (signature, timestamp, CloudEvent) and
// records what it took. It can be taken down and brought back on the
// same address, and told to refuse every delivery with 400.
type chaosSink struct {
	partner string
	addr    string
	secret  string
	refuse  atomic.Bool

	mu         sync.Mutex
	srv        *http.Server
	deliveries []delivery
	refused    int
}

// newChaosSink reserves a loopback address for partner's endpoint; start
// serves it.
func newChaosSink(partnerID string) (*chaosSink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return &chaosSink{partner: partnerID, addr: addr}, nil
}

func (s *chaosSink) url() string { return "http://" + s.addr + "/" + s.partner }

// start serves the endpoint, checking signatures with the partner's
// secret (the first start sets it); it retries while the address is still
// held by the connections of a stop a moment ago.
func (s *chaosSink) start(secret string) error {
	if secret != "" {
		s.secret = secret
	}
	rc, err := partner.NewReceiver(partner.ReceiverConfig{Secrets: []string{s.secret}, Handler: s.handle})
	if err != nil {
		return err
	}
	var ln net.Listener
	for range 50 {
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("sink %s: %w", s.partner, err)
	}
	srv := &http.Server{Handler: rc, ReadHeaderTimeout: 5 * time.Second}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
	return nil
}

// stop closes the endpoint and every open connection: the adapter sees
// connection refused until start.
func (s *chaosSink) stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

func (s *chaosSink) handle(ctx context.Context, e cloudevents.Event) error {
	if s.refuse.Load() {
		s.mu.Lock()
		s.refused++
		s.mu.Unlock()
		return partner.Reject(errors.New("refused by the chaos suite"))
	}
	d := delivery{key: e.Source() + " " + e.ID(), typ: e.Type(), at: time.Now()}
	if del, ok := partner.DeliveryFromContext(ctx); ok {
		d.webhookID = del.ID
	}
	if e.Type() == typeEscalatie {
		var data struct {
			Betreft struct {
				Source string `json:"source"`
				ID     string `json:"id"`
			} `json:"betreft"`
			Niveau int `json:"niveau"`
		}
		if err := json.Unmarshal(e.Data(), &data); err == nil {
			d.betreft, d.niveau = data.Betreft.Source+" "+data.Betreft.ID, data.Niveau
		}
	}
	s.mu.Lock()
	s.deliveries = append(s.deliveries, d)
	s.mu.Unlock()
	return nil
}

// taken returns a copy of what the sink took so far.
func (s *chaosSink) taken() []delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]delivery(nil), s.deliveries...)
}

// refusedCount is how many deliveries the sink answered 400.
func (s *chaosSink) refusedCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused
}
