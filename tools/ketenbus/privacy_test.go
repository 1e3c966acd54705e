package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/events/bsntest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/filetest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
	"github.com/ketenbus/ketenbus/tools/internal/devstack"
)

// syncBuffer is a log sink the stack's goroutines write to concurrently.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestBSNsOnlyWhereASubscriptionAllowsThem runs the whole demo region
// (ketenbus dev: gateway, router, adapters, escalator, samenloop, sinks),
// posts events with known BSNs that lead to deliveries, a samenloop and an
// escalatie, runs the operations commands, and then searches every message
// of every stream, every log line, every command's output and every file
// of the data directory for the BSNs. The only place a BSN may reach is
// the partner whose subscription lists bsn: the Wmo team's overdrachten.
func TestBSNsOnlyWhereASubscriptionAllowsThem(t *testing.T) {
	logs := &syncBuffer{}
	dataDir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := devstack.Start(ctx, devstack.Options{
		ConfigPath: regionFile, DataDir: dataDir,
		GatewayAddr: "127.0.0.1:0", NATSAddr: "127.0.0.1:0", SinkAddr: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Getenv: func(string) string { return "" },
	})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer scancel()
			if err := s.Close(sctx); err != nil {
				t.Errorf("close dev stack: %v", err)
			}
		}
	}
	t.Cleanup(stop)

	bsns := bsntest.Seeded(2026, 3)
	contact := `"contactpersoon":{"naam":"A. de Boer"}`
	post := func(partner, body string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, s.GatewayURL+"/v1/events", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+s.Secrets.Tokens[partner])
		req.Header.Set("Content-Type", events.ContentTypeStructured)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("%s: %d %s", partner, resp.StatusCode, b)
		}
	}
	ce := func(id, source, typ, data string) string {
		return fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":%q,"type":%q,"datacontenttype":"application/json","data":%s}`, id, source, typ, data)
	}
	signaal := fmt.Sprintf(`{"bsn":%q,"categorie":"verward-gedrag","urgentie":"hoog",%s}`, bsns[0], contact)
	// Two partners signal person 0: a samenloop.
	post("politie", ce("s-1", "urn:nld:oin:00000009999999990004:systeem:bvh", events.TypeSignaal, signaal))
	post("ggz", ce("s-2", "urn:nld:kvknr:99999901:systeem:epd", events.TypeSignaal, signaal))
	// An aanmelding about person 1 due in a second: an escalatie.
	due := time.Now().Add(time.Second).UTC().Format(time.RFC3339)
	post("politie", ce("a-1", "urn:nld:oin:00000009999999990004:systeem:bvh", events.TypeAanmelding,
		fmt.Sprintf(`{"bsn":%q,"ontvanger":"ggz","reden":"zorgen",%s,"uiterlijk":%q}`, bsns[1], contact, due)))
	// An overdracht about person 2 to the Wmo team, whose subscription lists bsn.
	post("jeugdzorg", ce("o-1", "urn:nld:kvknr:99999902:systeem:clientdossier", events.TypeOverdrachtJeugdWmo,
		fmt.Sprintf(`{"bsn":%q,"geboortedatum":"2009-03-01","ontvanger":"wmo-team","voorzieningen":[],%s}`, bsns[2], contact)))

	received := regexp.MustCompile(`msg="demo sink received".* partner=(\S+) type=(\S+) .*fields=(\S*)`)
	var sinks []string
	deadline := time.Now().Add(20 * time.Second)
	for {
		sinks = sinks[:0]
		for _, m := range received.FindAllStringSubmatch(logs.String(), -1) {
			sinks = append(sinks, m[1]+" "+m[2]+" "+m[3])
		}
		all := strings.Join(sinks, "\n")
		if strings.Contains(all, "wmo-team "+events.TypeOverdrachtJeugdWmo) && strings.Contains(all, events.TypeEscalatie) &&
			strings.Count(all, events.TypeSamenloop) >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sinks did not receive the overdracht, the escalatie and the samenloop:\n%s", all)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, line := range sinks {
		hasBSN := regexp.MustCompile(`(^|,)bsn(,|$)`).MatchString(strings.Fields(line)[2])
		if want := strings.HasPrefix(line, "wmo-team "+events.TypeOverdrachtJeugdWmo); hasBSN != want {
			t.Errorf("sink %q: bsn delivered %v, want %v", line, hasBSN, want)
		}
	}

	// Every message of every stream, through the API.
	env := &natstest.Env{JS: s.JetStream()}
	lister := s.JetStream().StreamNames(ctx)
	var streams []string
	for name := range lister.Name() {
		streams = append(streams, name)
	}
	if len(streams) < 4 {
		t.Fatalf("streams %v", streams)
	}
	var stored strings.Builder
	for _, name := range streams {
		for _, m := range env.Messages(t, name) {
			fmt.Fprintf(&stored, "%s %s %v %s\n", name, m.Subject, m.Header, m.Data)
		}
	}

	// The operations commands, with the region's keys in the environment.
	t.Setenv("KETENBUS_PSEUDONYM_KEY", base64.StdEncoding.EncodeToString(s.Secrets.PseudonymKey))
	t.Setenv("KETENBUS_FIELD_KEY", base64.StdEncoding.EncodeToString(s.Secrets.EncryptionKey))
	conn := []string{"--config", regionFile, "--nats-url", s.NATSURL}
	var outputs strings.Builder
	for _, args := range [][]string{
		append([]string{"audit", "--bsn", bsns[0]}, conn...),
		append([]string{"audit", "--bsn", bsns[2], "--json"}, conn...),
		append([]string{"timers", "rebuild", "--yes", "--redis-url", s.RedisURL}, conn...),
		append([]string{"samenloop", "rebuild", "--yes", "--redis-url", s.RedisURL}, conn...),
	} {
		code, out, errOut := ketenbus(t, "", args...)
		if code != 0 {
			t.Fatalf("ketenbus %s: exit %d\n%s%s", args[0], code, out, errOut)
		}
		outputs.WriteString(out + errOut)
	}
	if !strings.Contains(outputs.String(), "wmo-team") {
		t.Errorf("ketenbus audit --bsn does not list the overdracht's delivery to the Wmo team:\n%s", outputs.String())
	}
	// validate, shown an event with a BSN, never repeats it.
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(ce("x", "urn:nld:kvknr:1", events.TypeSignaal, fmt.Sprintf(`{"bsn":%q,"urgentie":"spoed"}`, bsns[0]))), 0o600); err != nil {
		t.Fatal(err)
	}
	_, out, errOut := ketenbus(t, "", "validate", bad)
	outputs.WriteString(out + errOut)

	stop()
	for i, bsn := range bsns {
		if found, files := filetest.Containing(t, dataDir, bsn); len(found) > 0 || files == 0 {
			t.Errorf("the data directory (%d files) holds BSN %d in %v", files, i, found)
		}
	}

	for what, text := range map[string]string{
		"the streams": stored.String(), "the logs": logs.String(),
		"the commands' output": outputs.String(),
	} {
		if len(text) == 0 {
			t.Errorf("%s: nothing to search", what)
		}
		for i, bsn := range bsns {
			if strings.Contains(text, bsn) {
				t.Errorf("%s hold BSN %d", what, i)
			}
		}
	}
}
