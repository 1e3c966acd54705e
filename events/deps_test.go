package events_test

import (
	"bufio"
	"bytes"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// allowedDeps are the import paths, beyond the standard library, that the
// module's packages may build on (with the packages below them), each with
// why. A partner who runs `go get` of events compiles these and nothing
// more: no HTTP client of the CloudEvents SDK, no zap, no NATS server, no
// Redis, no Watermill.
var allowedDeps = map[string]string{
	"github.com/ketenbus/ketenbus/events":      "the module itself",
	"github.com/ketenbus/ketenbus/schemas":     "the JSON Schemas of the catalog",
	"github.com/cloudevents/sdk-go/v2/event":   "the CloudEvent type",
	"github.com/cloudevents/sdk-go/v2/types":   "imported by sdk-go/v2/event",
	"github.com/json-iterator/go":              "imported by sdk-go/v2/event",
	"github.com/modern-go":                     "imported by json-iterator",
	"github.com/go-json-experiment/json":       "exact JSON as sent: duplicate names, raw members",
	"github.com/google/uuid":                   "event ids of New",
	"github.com/santhosh-tekuri/jsonschema/v6": "validating data against the schemas",
	"golang.org/x/text":                        "imported by jsonschema",
	"github.com/nats-io/nats.go":               "partner.Consume on JetStream",
	"github.com/nats-io/nkeys":                 "imported by nats.go",
	"github.com/nats-io/nuid":                  "imported by nats.go",
	"github.com/klauspost/compress":            "imported by nats.go",
	"golang.org/x/crypto":                      "imported by nkeys",
	"golang.org/x/sys":                         "imported by x/crypto",
}

// allowedDep reports whether path is one of allowedDeps or below one.
func allowedDep(path string) bool {
	for prefix := range allowedDeps {
		if path == prefix || strings.HasPrefix(path, prefix+"/") {
			return true
		}
	}
	return false
}

// TestDependencies lists what the module's packages (tests left out)
// compile and fails for every package outside allowedDeps, naming it and
// the packages that import it.
func TestDependencies(t *testing.T) {
	t.Parallel()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH (%v); it lists the module's dependencies", err)
	}
	cmd := exec.CommandContext(t.Context(), goTool, "list", "-deps",
		"-f", `{{if not .Standard}}{{.ImportPath}} {{join .Imports " "}}{{end}}`, "./...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps ./...: %v\n%s", err, stderr.Bytes())
	}
	importers := map[string][]string{}
	var listed []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		listed = append(listed, fields[0])
		for _, imp := range fields[1:] {
			importers[imp] = append(importers[imp], fields[0])
		}
	}
	if !slices.Contains(listed, "github.com/ketenbus/ketenbus/events/partner") {
		t.Fatalf("go list -deps ./... did not list events/partner:\n%s", out)
	}
	for _, path := range listed {
		if !allowedDep(path) {
			t.Errorf("%s is a dependency outside the allow-list, imported by %s", path, strings.Join(importers[path], ", "))
		}
	}
}
