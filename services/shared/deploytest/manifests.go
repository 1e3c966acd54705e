package deploytest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/ketenbus/ketenbus/services/shared/natsauth"
	"github.com/ketenbus/ketenbus/services/shared/region"
)

// Paths of the deployments, from the repository root.
const (
	BaseDir       = "deploy/kubernetes/base"
	OverlayDir    = "deploy/kubernetes/overlays/region"
	NATSValues    = "deploy/kubernetes/nats-values.yaml"
	DockerDir     = "deploy/docker"
	ExampleRegion = "deploy/examples/region.yaml"
)

// Names the manifests share with each other.
const (
	// RegionSecret holds every secret the region config names.
	RegionSecret = "ketenbus-region"
	// NATSSecret holds the NATS passwords and the JetStream key.
	NATSSecret = "ketenbus-nats"
	// RedisSecret holds the Redis password.
	RedisSecret = "ketenbus-redis"
	// RegionConfigMap holds region.yaml.
	RegionConfigMap = "ketenbus-region"
	// RedisPasswordEnv is the variable of the Redis password.
	RedisPasswordEnv = "KETENBUS_REDIS_PASSWORD"
	// JetStreamKeyEnv is the variable of the JetStream key.
	JetStreamKeyEnv = "KETENBUS_JETSTREAM_KEY"
)

// Object is one YAML document of a manifest.
type Object struct {
	// File is its path from the repository root.
	File string
	// Kind and Name are its kind and metadata.name.
	Kind, Name string
	// Doc is the document.
	Doc map[string]any
}

func (o Object) String() string { return fmt.Sprintf("%s: %s %s", o.File, o.Kind, o.Name) }

// Root returns the repository root: the first directory up from the
// working directory that holds go.work.
func Root(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("no go.work above the working directory: run the test inside the repository")
		}
		dir = parent
	}
}

// Base returns every object of the kustomize base, in the order of its
// kustomization's resources.
func Base(tb testing.TB) []Object {
	tb.Helper()
	k := ReadYAML(tb, filepath.Join(BaseDir, "kustomization.yaml"))[0]
	var objs []Object
	for _, r := range List(k.Doc, "resources") {
		objs = append(objs, ReadYAML(tb, filepath.Join(BaseDir, r.(string)))...)
	}
	return objs
}

// ReadYAML reads every document of the file at path (from the repository
// root).
func ReadYAML(tb testing.TB, path string) []Object {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(Root(tb), path))
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var objs []Object
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatalf("%s: %v", path, err)
		}
		if doc == nil {
			continue
		}
		objs = append(objs, Object{File: path, Kind: Str(doc, "kind"), Name: Str(doc, "metadata", "name"), Doc: doc})
	}
	return objs
}

// Find returns the objects of kind named name.
func Find(objs []Object, kind, name string) []Object {
	var found []Object
	for _, o := range objs {
		if o.Kind == kind && (name == "" || o.Name == name) {
			found = append(found, o)
		}
	}
	return found
}

// Map walks path through nested maps; nil where it ends.
func Map(v any, path ...string) map[string]any {
	m, _ := Get(v, path...).(map[string]any)
	return m
}

// List is the list at path; nil where there is none.
func List(v any, path ...string) []any {
	l, _ := Get(v, path...).([]any)
	return l
}

// Str is the scalar at path as text; "" where there is none.
func Str(v any, path ...string) string {
	switch x := Get(v, path...).(type) {
	case nil:
		return ""
	case string:
		return x
	default:
		return fmt.Sprint(x)
	}
}

// Get walks path through nested maps.
func Get(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// Selects reports whether the matchLabels of selector all hold in labels.
func Selects(selector, labels map[string]any) bool {
	if len(selector) == 0 {
		return true
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// RegionSecretEnvs returns the variables of every secret the example
// region config names, in config order: what ResolveSecrets reads.
func RegionSecretEnvs(tb testing.TB) []string {
	tb.Helper()
	cfg := exampleRegion(tb)
	var names []string
	// Every name is asked for, whether or not a value is found.
	_, _, _ = cfg.ResolveSecrets(func(name string) string {
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
		return ""
	})
	return names
}

// NATSSecretEnvs returns the JetStream key's variable and the password
// variable of every NATS user of the example region.
func NATSSecretEnvs(tb testing.TB) []string {
	tb.Helper()
	users, err := natsauth.Users(exampleRegion(tb))
	if err != nil {
		tb.Fatal(err)
	}
	names := []string{JetStreamKeyEnv}
	for _, u := range users {
		names = append(names, u.PasswordEnv)
	}
	return names
}

func exampleRegion(tb testing.TB) *region.Config {
	tb.Helper()
	cfg, err := region.Load(filepath.Join(Root(tb), ExampleRegion))
	if err != nil {
		tb.Fatal(err)
	}
	return cfg
}

// ContainerPorts maps the names of a container's ports to their numbers.
func ContainerPorts(c map[string]any) map[string]int {
	ports := map[string]int{}
	for _, p := range List(c, "ports") {
		n, _ := strconv.Atoi(Str(p, "containerPort"))
		ports[Str(p, "name")] = n
	}
	return ports
}

// PortNumber resolves a port given by number or by name in ports; 0 when
// the name is unknown.
func PortNumber(port any, ports map[string]int) int {
	switch p := port.(type) {
	case int:
		return p
	case string:
		if n, err := strconv.Atoi(p); err == nil {
			return n
		}
		return ports[p]
	}
	return 0
}

// OpenToEveryone returns, for a pod with labels and ports, the ports that
// some NetworkPolicy lets any source reach (a rule without from, or from
// 0.0.0.0/0), each with the policy that opens it; port 0 means every
// port.
func OpenToEveryone(policies []Object, labels map[string]any, ports map[string]int) map[int]string {
	open := map[int]string{}
	for _, p := range policies {
		if !Selects(Map(p.Doc, "spec", "podSelector", "matchLabels"), labels) {
			continue
		}
		for _, rule := range List(p.Doc, "spec", "ingress") {
			if !fromEveryone(List(rule, "from")) {
				continue
			}
			rulePorts := List(rule, "ports")
			if len(rulePorts) == 0 {
				open[0] = p.String()
			}
			for _, rp := range rulePorts {
				open[PortNumber(Get(rp, "port"), ports)] = p.String()
			}
		}
	}
	return open
}

func fromEveryone(from []any) bool {
	if len(from) == 0 {
		return true
	}
	for _, f := range from {
		if c := Str(f, "ipBlock", "cidr"); c == "0.0.0.0/0" || c == "::/0" {
			return true
		}
	}
	return false
}

// Reachable reports whether some NetworkPolicy lets a source matching
// allowed (a podSelector's or namespaceSelector's matchLabels tested with
// it) reach port of the pod with labels.
func Reachable(policies []Object, labels map[string]any, port int, ports map[string]int, allowed func(peer map[string]any) bool) bool {
	for _, p := range policies {
		if !Selects(Map(p.Doc, "spec", "podSelector", "matchLabels"), labels) {
			continue
		}
		for _, rule := range List(p.Doc, "spec", "ingress") {
			portOK := len(List(rule, "ports")) == 0
			for _, rp := range List(rule, "ports") {
				portOK = portOK || PortNumber(Get(rp, "port"), ports) == port
			}
			if !portOK {
				continue
			}
			for _, f := range List(rule, "from") {
				if allowed(f.(map[string]any)) {
					return true
				}
			}
		}
	}
	return false
}

// DirectiveLines returns the directives of a redis.conf or sentinel.conf
// text: every line that is not blank or a comment, with its words.
func DirectiveLines(text string) [][]string {
	var lines [][]string
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		lines = append(lines, strings.Fields(line))
	}
	return lines
}
