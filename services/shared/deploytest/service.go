package deploytest

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/ketenbus/ketenbus/services/shared/natsauth"
	"github.com/ketenbus/ketenbus/services/shared/svcmain"
)

// Service fails tb for every way deploy/kubernetes/base and
// deploy/docker/ketenbus-<name>.Dockerfile disagree with svc, the service
// a main runs: its Deployment (image, arguments, variables, listen
// addresses, container ports, probes, secrets, security context,
// resources), its Service, its PodDisruptionBudget, the NetworkPolicies
// around it and its Dockerfile. Each failure names the file, the object
// and what to change.
func Service(tb testing.TB, svc svcmain.Service) {
	tb.Helper()
	c := newCheck(tb, svc)
	if c == nil {
		return
	}
	c.settings()
	c.secrets()
	c.connections()
	c.listeners()
	c.probes()
	c.hardening()
	c.companions()
	c.network()
	c.dockerfile()
}

// check is the Deployment of one service against its Service.
type check struct {
	tb        testing.TB
	svc       svcmain.Service
	prog      string
	objs      []Object
	dep       Object
	where     string         // file: Deployment x, container x
	pod       map[string]any // spec.template
	container map[string]any
	labels    map[string]any
	ports     map[string]int // container port name -> number

	flags  map[string]svcmain.Flag // by name
	byEnv  map[string]svcmain.Flag // by variable
	values map[string]string       // flag name -> effective value
	set    map[string]string       // flag name -> where it is set ("env X", "--flag")
	env    map[string]map[string]any
}

func newCheck(tb testing.TB, svc svcmain.Service) *check {
	tb.Helper()
	objs := Base(tb)
	deps := Find(objs, "Deployment", svc.Name)
	if len(deps) != 1 {
		tb.Errorf("%s: %d Deployments named %q, want one for ketenbus-%s (add one to a file of %s/kustomization.yaml)", BaseDir, len(deps), svc.Name, svc.Name, BaseDir)
		return nil
	}
	dep := deps[0]
	pod := Map(dep.Doc, "spec", "template")
	var container map[string]any
	for _, ct := range List(pod, "spec", "containers") {
		if Str(ct, "name") == svc.Name {
			container = ct.(map[string]any)
		}
	}
	if container == nil {
		tb.Errorf("%s: no container named %q", dep, svc.Name)
		return nil
	}
	c := &check{
		tb: tb, svc: svc, prog: "ketenbus-" + svc.Name, objs: objs, dep: dep,
		where: fmt.Sprintf("%s, container %s", dep, svc.Name),
		pod:   pod, container: container, labels: Map(pod, "metadata", "labels"),
		ports: ContainerPorts(container),
		flags: map[string]svcmain.Flag{}, byEnv: map[string]svcmain.Flag{},
		values: map[string]string{}, set: map[string]string{}, env: map[string]map[string]any{},
	}
	for _, f := range svcmain.FlagsOf(svc) {
		c.flags[f.Name] = f
		if f.Env != "" {
			c.byEnv[f.Env] = f
		}
		c.values[f.Name] = f.Default
		c.set[f.Name] = "its default"
	}
	return c
}

func (c *check) errorf(format string, args ...any) {
	c.tb.Helper()
	c.tb.Errorf("%s: %s", c.where, fmt.Sprintf(format, args...))
}

// flagList names the flags of the binary and their variables.
func (c *check) flagList() string {
	var names []string
	for _, f := range c.flags {
		n := "--" + f.Name
		if f.Env != "" {
			n += " (" + f.Env + ")"
		}
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// ownPasswordEnv is the password variable of the NATS user the service
// connects as.
func (c *check) ownPasswordEnv() string { return natsauth.PasswordEnv(c.values["nats-user"]) }

// settings reads the arguments and variables into the effective value of
// every flag, and fails on any the binary does not know.
func (c *check) settings() {
	c.tb.Helper()
	for _, e := range List(c.container, "env") {
		name := Str(e, "name")
		c.env[name] = e.(map[string]any)
		if f, ok := c.byEnv[name]; ok {
			v := Str(e, "value")
			if Get(e, "valueFrom") != nil {
				v = "(from " + Str(e, "valueFrom", "secretKeyRef", "name") + ")"
			}
			c.values[f.Name], c.set[f.Name] = expand(v, c.env), "env "+name
		}
	}
	args := List(c.container, "args")
	if cmd := List(c.container, "command"); len(cmd) > 0 {
		c.errorf("command %v replaces the image's entrypoint /%s; pass flags in args", cmd, c.prog)
	}
	for i := 0; i < len(args); i++ {
		a := fmt.Sprint(args[i])
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") {
			c.errorf("argument %q is not a flag; %s takes flags only", a, c.prog)
			continue
		}
		if _, ok := c.flags[name]; !ok {
			c.errorf("argument %s: %s has no flag --%s (its flags: %s)", a, c.prog, name, c.flagList())
			if !hasValue && i+1 < len(args) && !strings.HasPrefix(fmt.Sprint(args[i+1]), "-") {
				i++ // its value
			}
			continue
		}
		if !hasValue && i+1 < len(args) {
			i++
			value = fmt.Sprint(args[i])
		}
		c.values[name], c.set[name] = value, "--"+name
	}
	own := c.ownPasswordEnv()
	for name, e := range c.env {
		switch {
		case c.byEnv[name].Name != "":
		case name == own:
		case name == RedisPasswordEnv && c.svc.Redis != svcmain.NoRedis:
			c.wantSecretRef(e, RedisSecret, RedisPasswordEnv)
		case strings.HasPrefix(name, natsauth.PasswordEnvPrefix):
			c.errorf("env %s is the NATS password of another user; %s connects as %q and gets only its own password, %s", name, c.prog, c.values["nats-user"], own)
		case name == "GOMEMLIMIT" || strings.HasPrefix(name, "OTEL_"):
		default:
			c.errorf("env %s is no variable of %s (its flags: %s), nor its NATS password %s", name, c.prog, c.flagList(), own)
		}
	}
}

// expand replaces $(NAME) by the literal value of the variable NAME
// defined in env, as the kubelet does, or by "(NAME)".
func expand(v string, env map[string]map[string]any) string {
	return regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`).ReplaceAllStringFunc(v, func(ref string) string {
		name := ref[2 : len(ref)-1]
		if e, ok := env[name]; ok && Get(e, "valueFrom") == nil {
			return Str(e, "value")
		}
		return "(" + name + ")"
	})
}

func (c *check) wantSecretRef(e map[string]any, secret, key string) {
	c.tb.Helper()
	if got, gotKey := Str(e, "valueFrom", "secretKeyRef", "name"), Str(e, "valueFrom", "secretKeyRef", "key"); got != secret || gotKey != key {
		c.errorf("env %s comes from %q, key %q; want secretKeyRef {name: %s, key: %s}", Str(e, "name"), got, gotKey, secret, key)
	}
}

// secrets: every secret the region names (envFrom the region's Secret),
// and the service's own NATS password.
func (c *check) secrets() {
	c.tb.Helper()
	from := List(c.container, "envFrom")
	if len(from) != 1 || Str(from[0], "secretRef", "name") != RegionSecret {
		c.errorf("envFrom %v; want exactly [{secretRef: {name: %s}}]: %s does not start without every secret the region config names (%s)",
			from, RegionSecret, c.prog, strings.Join(RegionSecretEnvs(c.tb), ", "))
	}
	if c.values["nats-creds"] != "" {
		return
	}
	own := c.ownPasswordEnv()
	if e, ok := c.env[own]; !ok {
		c.errorf("no env %s: %s connects as NATS user %q (--nats-user, %s) and NATS refuses it without its password; add it from secretKeyRef {name: %s, key: %s}",
			own, c.prog, c.values["nats-user"], c.set["nats-user"], NATSSecret, own)
	} else {
		c.wantSecretRef(e, NATSSecret, own)
	}
	if !slices.Contains(NATSSecretEnvs(c.tb), own) {
		c.errorf("NATS user %q (--nats-user, %s) is no user natsauth makes for the region (%s)", c.values["nats-user"], c.set["nats-user"], strings.Join(NATSSecretEnvs(c.tb), ", "))
	}
}

// connections: the region config from its ConfigMap, NATS and Redis at
// addresses of the cluster, not the loopback defaults.
func (c *check) connections() {
	c.tb.Helper()
	cfg := c.values["config"]
	dir, file := path.Split(cfg)
	if cfg == "" || file != "region.yaml" || !c.mountsConfigMap(strings.TrimSuffix(dir, "/"), RegionConfigMap) {
		c.errorf("--config %q (%s): want region.yaml in the mount of ConfigMap %s", cfg, c.set["config"], RegionConfigMap)
	}
	for u := range strings.SplitSeq(c.values["nats-url"], ",") {
		if host := urlHost(u); isLoopback(host) {
			c.errorf("--nats-url %q (%s) names the loopback address of the pod; want the NATS Service, nats://nats:4222", c.values["nats-url"], c.set["nats-url"])
		}
	}
	if c.svc.Redis == svcmain.NoRedis {
		return
	}
	r := c.values["redis-url"]
	u, err := url.Parse(r)
	switch {
	case err != nil || isLoopback(u.Hostname()):
		c.errorf("--redis-url %q (%s): want Redis through the Sentinels of %s/redis.yaml, not the pod's loopback address", r, c.set["redis-url"], BaseDir)
	case u.Query().Get("master_name") != "ketenbus" || u.Port() != "26379":
		c.errorf("--redis-url %q (%s): want the Sentinels (port 26379) with master_name=ketenbus, as deploy/redis/sentinel.conf", r, c.set["redis-url"])
	case u.Query().Get("password") != "("+RedisPasswordEnv+")":
		c.errorf("--redis-url %q (%s): want password=$(%s), from the env %s defined before it", r, c.set["redis-url"], RedisPasswordEnv, RedisPasswordEnv)
	}
	if _, ok := c.env[RedisPasswordEnv]; !ok && c.svc.Redis != svcmain.NoRedis {
		c.errorf("no env %s for the password of --redis-url: add it from secretKeyRef {name: %s, key: %s}", RedisPasswordEnv, RedisSecret, RedisPasswordEnv)
	}
}

// mountsConfigMap reports whether the container mounts ConfigMap name at
// dir.
func (c *check) mountsConfigMap(dir, name string) bool {
	for _, m := range List(c.container, "volumeMounts") {
		if Str(m, "mountPath") != dir {
			continue
		}
		for _, v := range List(c.pod, "spec", "volumes") {
			if Str(v, "name") == Str(m, "name") && Str(v, "configMap", "name") == name {
				return true
			}
		}
	}
	return false
}

// listeners: every listen address (--addr, --*-addr) on all interfaces
// of the pod, on a container port, exposed by the Service; the metrics
// listener set.
func (c *check) listeners() {
	c.tb.Helper()
	svcs := Find(c.objs, "Service", c.svc.Name)
	for _, f := range c.listenFlags() {
		v := c.values[f.Name]
		if v == "" {
			if f.Name == "metrics-addr" {
				c.errorf("--metrics-addr is empty (%s): set %s=:PORT; the probes ask /readyz and /healthz there", c.set[f.Name], f.Env)
			}
			continue
		}
		host, port, err := net.SplitHostPort(v)
		if err != nil {
			c.errorf("--%s %q (%s) is not host:port", f.Name, v, c.set[f.Name])
			continue
		}
		if isLoopback(host) {
			c.errorf("--%s %q (%s) listens on the pod's loopback only: the kubelet and the other pods cannot reach it; set %s=:%s", f.Name, v, c.set[f.Name], f.Env, port)
		}
		n, _ := strconv.Atoi(port)
		if _, defPort, err := net.SplitHostPort(f.Default); err == nil && defPort != port {
			c.errorf("--%s %q (%s): port %s differs from the default %s of %s, which deploy/services.md and the scrape configs name", f.Name, v, c.set[f.Name], port, f.Default, c.prog)
		}
		if !slices.Contains(mapValues(c.ports), n) {
			c.errorf("--%s listens on port %d, but the container declares no containerPort %d (ports: %v)", f.Name, n, n, c.ports)
		}
		if len(svcs) != 1 || !c.serviceExposes(svcs[0], n) {
			c.errorf("Service %s (%s) exposes no port with targetPort %d for --%s", c.svc.Name, BaseDir, n, f.Name)
		}
	}
	for name, n := range c.ports {
		if !slices.ContainsFunc(c.listenFlags(), func(f svcmain.Flag) bool { return portOf(c.values[f.Name]) == n }) {
			c.errorf("containerPort %s %d is no listen address of %s (%s)", name, n, c.prog, c.listenFlagNames())
		}
	}
}

func (c *check) listenFlags() []svcmain.Flag {
	var fs []svcmain.Flag
	for _, f := range c.flags {
		if f.Name == "addr" || strings.HasSuffix(f.Name, "-addr") {
			fs = append(fs, f)
		}
	}
	sort.Slice(fs, func(i, j int) bool { return fs[i].Name < fs[j].Name })
	return fs
}

func (c *check) listenFlagNames() string {
	var names []string
	for _, f := range c.listenFlags() {
		names = append(names, fmt.Sprintf("--%s %q", f.Name, c.values[f.Name]))
	}
	return strings.Join(names, ", ")
}

func (c *check) serviceExposes(s Object, port int) bool {
	for _, p := range List(s.Doc, "spec", "ports") {
		if PortNumber(Get(p, "targetPort"), c.ports) == port {
			return true
		}
	}
	return false
}

// probes: readiness on /readyz, liveness on /healthz, both on the
// metrics listener of svcmain.
func (c *check) probes() {
	c.tb.Helper()
	metrics := portOf(c.values["metrics-addr"])
	for _, p := range []struct{ probe, path string }{{"readinessProbe", "/readyz"}, {"livenessProbe", "/healthz"}} {
		got, port := Str(c.container, p.probe, "httpGet", "path"), PortNumber(Get(c.container, p.probe, "httpGet", "port"), c.ports)
		if got != p.path || port != metrics || metrics == 0 {
			c.errorf("%s GET %q on port %d; want %s on the metrics port %d (--metrics-addr %q, %s), which serves /metrics, /healthz and /readyz",
				p.probe, got, port, p.path, metrics, c.values["metrics-addr"], c.set["metrics-addr"])
		}
	}
}

// hardening: non-root, no privilege escalation, a read-only root
// filesystem, no capabilities; requests and a memory limit.
func (c *check) hardening() {
	c.tb.Helper()
	if Get(c.pod, "spec", "securityContext", "runAsNonRoot") != true {
		c.errorf("the pod's securityContext lacks runAsNonRoot: true")
	}
	sc := Map(c.container, "securityContext")
	if Get(sc, "allowPrivilegeEscalation") != false {
		c.errorf("securityContext lacks allowPrivilegeEscalation: false")
	}
	if Get(sc, "readOnlyRootFilesystem") != true {
		c.errorf("securityContext lacks readOnlyRootFilesystem: true")
	}
	if Get(sc, "privileged") == true {
		c.errorf("securityContext sets privileged: true")
	}
	if !slices.Contains(List(sc, "capabilities", "drop"), any("ALL")) || len(List(sc, "capabilities", "add")) > 0 {
		c.errorf("securityContext.capabilities: want drop: [ALL] and nothing added")
	}
	for _, r := range []string{"requests.cpu", "requests.memory", "limits.memory"} {
		k, v, _ := strings.Cut(r, ".")
		if Str(c.container, "resources", k, v) == "" {
			c.errorf("resources.%s is not set", r)
		}
	}
}

// companions: the Deployment's selector, its Service's, and a
// PodDisruptionBudget select the pods.
func (c *check) companions() {
	c.tb.Helper()
	if sel := Map(c.dep.Doc, "spec", "selector", "matchLabels"); len(sel) == 0 || !Selects(sel, c.labels) {
		c.errorf("spec.selector.matchLabels %v does not select the pod labels %v", sel, c.labels)
	}
	for _, s := range Find(c.objs, "Service", c.svc.Name) {
		if sel := Map(s.Doc, "spec", "selector"); len(sel) == 0 || !Selects(sel, c.labels) {
			c.errorf("%s: selector %v does not select the pod labels %v", s, sel, c.labels)
		}
	}
	if !slices.ContainsFunc(Find(c.objs, "PodDisruptionBudget", ""), func(p Object) bool {
		sel := Map(p.Doc, "spec", "selector", "matchLabels")
		return len(sel) > 0 && Selects(sel, c.labels)
	}) {
		c.errorf("no PodDisruptionBudget selects the pod labels %v", c.labels)
	}
}

// network: partners reach only the gateway's --addr; Prometheus the
// metrics port; the service reaches NATS, and Redis when it uses it.
func (c *check) network() {
	c.tb.Helper()
	policies := Find(c.objs, "NetworkPolicy", "")
	open := OpenToEveryone(policies, c.labels, c.ports)
	partners := 0
	if _, ok := c.flags["addr"]; ok {
		partners = portOf(c.values["addr"])
	}
	for port, policy := range open {
		if port != partners || port == 0 {
			which := fmt.Sprintf("port %d", port)
			if port == 0 {
				which = "every port"
			}
			c.errorf("%s opens %s to everyone; only the partners' port of the gateway (--addr) may be", policy, which)
		}
	}
	if partners != 0 && open[partners] == "" {
		c.errorf("no NetworkPolicy lets partners (any source) reach --addr %q, port %d", c.values["addr"], partners)
	}
	prometheus := func(peer map[string]any) bool {
		return Map(peer, "namespaceSelector", "matchLabels")["ketenbus.nl/prometheus"] == "true"
	}
	if m := portOf(c.values["metrics-addr"]); m != 0 && !Reachable(policies, c.labels, m, c.ports, prometheus) {
		c.errorf("no NetworkPolicy lets Prometheus (namespaces labelled ketenbus.nl/prometheus: \"true\") reach the metrics port %d", m)
	}
	fromMe := func(peer map[string]any) bool {
		sel := Map(peer, "podSelector", "matchLabels")
		return Get(peer, "namespaceSelector") == nil && len(sel) > 0 && Selects(sel, c.labels)
	}
	if !Reachable(policies, map[string]any{"app.kubernetes.io/name": "nats"}, 4222, nil, fromMe) {
		c.errorf("no NetworkPolicy lets the pods %v reach NATS (app.kubernetes.io/name: nats) on port 4222", c.labels)
	}
	if c.svc.Redis != svcmain.NoRedis {
		for _, port := range []int{6379, 26379} {
			if !Reachable(policies, map[string]any{"app.kubernetes.io/name": "redis"}, port, map[string]int{"redis": 6379, "sentinel": 26379}, fromMe) {
				c.errorf("no NetworkPolicy lets the pods %v reach Redis (app.kubernetes.io/name: redis) on port %d", c.labels, port)
			}
		}
	}
}

// dockerfile: the image the Deployment names is built by the Dockerfile
// of this main, and EXPOSEs the container's ports.
func (c *check) dockerfile() {
	c.tb.Helper()
	image := Str(c.container, "image")
	if name, _, _ := strings.Cut(path.Base(image), ":"); name != c.prog {
		c.errorf("image %q; want %s, built by %s/%s.Dockerfile", image, c.prog, DockerDir, c.prog)
	}
	file := filepath.Join(DockerDir, c.prog+".Dockerfile")
	b, err := os.ReadFile(filepath.Join(Root(c.tb), file))
	if err != nil {
		c.tb.Errorf("%s: %v; every service has a Dockerfile there", file, err)
		return
	}
	d := ParseDockerfile(string(b))
	if want := "./cmd/" + c.prog; !strings.Contains(d.Build, want) {
		c.tb.Errorf("%s: its go build (%q) does not build %s", file, d.Build, want)
	}
	if d.Entrypoint != "/"+c.prog {
		c.tb.Errorf("%s: ENTRYPOINT %q; want [\"/%s\"]", file, d.Entrypoint, c.prog)
	}
	want := mapValues(c.ports)
	slices.Sort(want)
	if !slices.Equal(d.Expose, want) {
		c.tb.Errorf("%s: EXPOSE %v; the Deployment %s declares the container ports %v", file, d.Expose, c.svc.Name, want)
	}
}

// Dockerfile is what the checks read from a Dockerfile.
type Dockerfile struct {
	// From are the images of the FROM lines, in order.
	From []string
	// Build is the RUN line with go build.
	Build string
	// User, Entrypoint (its first element) and Expose (sorted) are from
	// the last stage.
	User       string
	Entrypoint string
	Expose     []int
}

// ParseDockerfile reads the instructions the checks need.
func ParseDockerfile(text string) Dockerfile {
	var d Dockerfile
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		word, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(word) {
		case "FROM":
			img, _, _ := strings.Cut(rest, " ")
			d.From = append(d.From, img)
			d.User, d.Entrypoint, d.Expose = "", "", nil
		case "RUN":
			if strings.Contains(rest, "go build") {
				d.Build = rest
			}
		case "USER":
			d.User = rest
		case "ENTRYPOINT":
			if m := regexp.MustCompile(`^\["([^"]+)"`).FindStringSubmatch(rest); m != nil {
				d.Entrypoint = m[1]
			}
		case "EXPOSE":
			for _, p := range strings.Fields(rest) {
				n, _ := strconv.Atoi(strings.TrimSuffix(p, "/tcp"))
				d.Expose = append(d.Expose, n)
			}
			slices.Sort(d.Expose)
		}
	}
	return d
}

func urlHost(u string) string {
	p, err := url.Parse(strings.TrimSpace(u))
	if err != nil {
		return ""
	}
	return p.Hostname()
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func portOf(addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}

func mapValues(m map[string]int) []int {
	var vs []int
	for _, v := range m {
		vs = append(vs, v)
	}
	return vs
}
