package natsauth_test

import (
	"os"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
)

// testRegion has two NATS-native partners and a webhook partner.
const testRegion = "testdata/region.yaml"

// The partners of testRegion.
const (
	partnerA   = "woningcorporatie" // NATS-native
	partnerB   = "schuldhulp"       // NATS-native
	webhookOne = "wijkteam"
)

// natsConnect connects as user with password and closes the connection at
// once; it reports whether the server let the user in.
func natsConnect(url, user, password string) (*nats.Conn, error) {
	nc, err := nats.Connect(url, nats.UserInfo(user, password), nats.MaxReconnects(0))
	if err != nil {
		return nil, err
	}
	nc.Close()
	return nc, nil
}

// checkShipped fails unless the shipped file holds want, naming the first
// line that differs and the command that regenerates it.
func checkShipped(t *testing.T, file, want, regenerate string) {
	t.Helper()
	name := strings.TrimPrefix(file, "../../../")
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("read the shipped %s: %v\nGenerate it from the repository root with:\n    %s", name, err, regenerate)
	}
	if string(got) == want {
		return
	}
	gotLines, wantLines := strings.Split(string(got), "\n"), strings.Split(want, "\n")
	line := 0
	for line < min(len(gotLines), len(wantLines)) && gotLines[line] == wantLines[line] {
		line++
	}
	at := func(lines []string) string {
		if line < len(lines) {
			return lines[line]
		}
		return "(end of file)"
	}
	t.Errorf("%s is stale: line %d is\n    %s\nwhere the generator writes\n    %s\nRegenerate it from the repository root with:\n    %s",
		name, line+1, at(gotLines), at(wantLines), regenerate)
}
