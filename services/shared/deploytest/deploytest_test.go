package deploytest_test

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	dt "github.com/ketenbus/ketenbus/services/shared/deploytest"
)

// envExample reads the names and values of an *.env.example file.
func envExample(t *testing.T, path string) ([]string, map[string]string) {
	t.Helper()
	f, err := os.Open(filepath.Join(dt.Root(t), path))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	vals := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, v, _ := strings.Cut(line, "=")
		names = append(names, name)
		vals[name] = v
	}
	return names, vals
}

// secretKeys is what each Secret of the overlay holds, from the code.
func secretKeys(t *testing.T) map[string][]string {
	t.Helper()
	return map[string][]string{
		dt.RegionSecret: dt.RegionSecretEnvs(t),
		dt.NATSSecret:   dt.NATSSecretEnvs(t),
		dt.RedisSecret:  {dt.RedisPasswordEnv},
	}
}

// TestSecrets: the overlay makes the three Secrets from env files that
// git ignores, and its examples name every variable each holds: every
// secret the region config names; the JetStream key and the password of
// every NATS user; the Redis password. Never a value.
func TestSecrets(t *testing.T) {
	t.Parallel()
	files := map[string]string{dt.RegionSecret: "region.env", dt.NATSSecret: "nats.env", dt.RedisSecret: "redis.env"}
	k := dt.ReadYAML(t, filepath.Join(dt.OverlayDir, "kustomization.yaml"))[0]
	gen := map[string][]any{}
	for _, g := range dt.List(k.Doc, "secretGenerator") {
		gen[dt.Str(g, "name")] = dt.List(g, "envs")
	}
	ignored, err := os.ReadFile(filepath.Join(dt.Root(t), dt.OverlayDir, ".gitignore"))
	if err != nil {
		t.Fatal(err)
	}
	for secret, want := range secretKeys(t) {
		file := files[secret]
		if envs := gen[secret]; len(envs) != 1 || envs[0] != file {
			t.Errorf("%s/kustomization.yaml: secretGenerator %s has envs %v, want [%s]", dt.OverlayDir, secret, envs, file)
		}
		if !slices.Contains(strings.Fields(string(ignored)), "/"+file) {
			t.Errorf("%s/.gitignore does not ignore /%s, which holds the secrets of %s", dt.OverlayDir, file, secret)
		}
		example := filepath.Join(dt.OverlayDir, file+".example")
		names, vals := envExample(t, example)
		for _, name := range want {
			if !slices.Contains(names, name) {
				t.Errorf("%s lacks %s, which Secret %s must hold (make it with ketenbus keys env)", example, name, secret)
			}
		}
		for _, name := range names {
			if !slices.Contains(want, name) {
				t.Errorf("%s names %s, which nothing reads from Secret %s (it holds %s)", example, name, secret, strings.Join(want, ", "))
			}
			if vals[name] != "" {
				t.Errorf("%s holds a value for %s: an example never does", example, name)
			}
		}
	}
	if _, ok := gen["ketenbus"]; ok || len(gen) != 3 {
		t.Errorf("%s/kustomization.yaml makes the Secrets %v, want %s, %s and %s", dt.OverlayDir, gen, dt.RegionSecret, dt.NATSSecret, dt.RedisSecret)
	}
}

// TestSecretRefs: every reference to a Secret, in the base and in the NATS
// values, names one of the overlay's Secrets and a key it holds.
func TestSecretRefs(t *testing.T) {
	t.Parallel()
	keys := secretKeys(t)
	objs := append(dt.Base(t), dt.ReadYAML(t, dt.NATSValues)...)
	for _, o := range objs {
		walk(o.Doc, func(m map[string]any) {
			if ref := dt.Map(m, "secretKeyRef"); ref != nil {
				name, key := dt.Str(ref, "name"), dt.Str(ref, "key")
				if !slices.Contains(keys[name], key) {
					t.Errorf("%s: secretKeyRef {name: %s, key: %s}: Secret %s holds %v", o, name, key, name, keys[name])
				}
			}
			if ref := dt.Map(m, "secretRef"); ref != nil {
				if _, ok := keys[dt.Str(ref, "name")]; !ok {
					t.Errorf("%s: secretRef %s is no Secret of the overlay (%s, %s, %s)", o, dt.Str(ref, "name"), dt.RegionSecret, dt.NATSSecret, dt.RedisSecret)
				}
			}
		})
	}
}

func walk(v any, f func(map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		f(x)
		for _, e := range x {
			walk(e, f)
		}
	case []any:
		for _, e := range x {
			walk(e, f)
		}
	}
}

// goMod returns what a regexp with one group finds in services/go.mod.
func goMod(t *testing.T, pattern string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dt.Root(t), "services/go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)` + pattern).FindSubmatch(b)
	if m == nil {
		t.Fatalf("services/go.mod has no match for %s", pattern)
	}
	return string(m[1])
}

// TestNATSValues: the Helm values make the cluster of deploy/nats: three
// nodes, JetStream encrypted with KETENBUS_JETSTREAM_KEY, the users of
// natsauth included from ConfigMap nats-auth, their passwords from
// Secret ketenbus-nats, the nats-server the services are tested with.
func TestNATSValues(t *testing.T) {
	t.Parallel()
	v := dt.ReadYAML(t, dt.NATSValues)[0].Doc
	at := func(path ...string) string { return dt.Str(v, path...) }
	for _, c := range []struct{ got, want, what string }{
		{at("fullnameOverride"), "nats", "fullnameOverride (the services connect to nats://nats:4222)"},
		{at("config", "cluster", "enabled"), "true", "config.cluster.enabled"},
		{at("config", "cluster", "replicas"), "3", "config.cluster.replicas (R3 streams, ketenbus streams ensure --replicas 3)"},
		{at("config", "jetstream", "enabled"), "true", "config.jetstream.enabled"},
		{at("config", "jetstream", "merge", "key"), "<< $" + dt.JetStreamKeyEnv + " >>", "config.jetstream.merge.key (encryption at rest, as deploy/nats)"},
		{at("config", "jetstream", "merge", "cipher"), "aes", "config.jetstream.merge.cipher"},
		{at("config", "merge", "max_payload"), "<< 8MB >>", "config.merge.max_payload (as deploy/nats/nats-server.conf)"},
		{at("config", "cluster", "tls", "enabled"), "true", "config.cluster.tls.enabled (routes with mutual TLS, as deploy/nats/cluster)"},
		{at("podDisruptionBudget", "enabled"), "true", "podDisruptionBudget.enabled"},
	} {
		if c.got != c.want {
			t.Errorf("%s: %s is %q, want %q", dt.NATSValues, c.what, c.got, c.want)
		}
	}
	if version := strings.TrimPrefix(goMod(t, `github.com/nats-io/nats-server/v2 (v\S+)`), "v"); !strings.HasPrefix(at("container", "image", "tag"), version) {
		t.Errorf("%s: container.image.tag %q, want nats-server %s, the version of services/go.mod", dt.NATSValues, at("container", "image", "tag"), version)
	}
	from := dt.List(v, "container", "merge", "envFrom")
	if len(from) != 1 || dt.Str(from[0], "secretRef", "name") != dt.NATSSecret {
		t.Errorf("%s: container.merge.envFrom %v, want [{secretRef: {name: %s}}]: nats-server reads every password of authorization.conf and the JetStream key", dt.NATSValues, from, dt.NATSSecret)
	}
	// The include, relative to /etc/nats-config, reaches the mount of
	// ConfigMap nats-auth.
	var include string
	for k, x := range dt.Map(v, "config", "merge") {
		if strings.HasSuffix(k, "$include") {
			include = filepath.Join("/etc/nats-config", x.(string))
		}
	}
	var mount, volume string
	for _, p := range dt.List(v, "container", "patch") {
		if dt.Str(p, "value", "name") == "nats-auth" {
			mount = dt.Str(p, "value", "mountPath")
		}
	}
	for _, p := range dt.List(v, "podTemplate", "patch") {
		if dt.Str(p, "value", "name") == "nats-auth" {
			volume = dt.Str(p, "value", "configMap", "name")
		}
	}
	if include == "" || filepath.Base(include) != "authorization.conf" || filepath.Dir(include) != mount || volume != "nats-auth" {
		t.Errorf("%s: the include %q must be authorization.conf in the mount (%q) of ConfigMap nats-auth (volume of ConfigMap %q)", dt.NATSValues, include, mount, volume)
	}
	k := dt.ReadYAML(t, filepath.Join(dt.OverlayDir, "kustomization.yaml"))[0]
	if !slices.ContainsFunc(dt.List(k.Doc, "configMapGenerator"), func(g any) bool {
		return dt.Str(g, "name") == "nats-auth" && slices.Contains(dt.List(g, "files"), any("authorization.conf")) && dt.Str(g, "options", "disableNameSuffixHash") == "true"
	}) {
		t.Errorf("%s/kustomization.yaml: no configMapGenerator nats-auth of authorization.conf without a name hash (the Helm release names it)", dt.OverlayDir)
	}
	hardened(t, dt.NATSValues+" container.merge", dt.Map(v, "container", "merge"), dt.Map(v, "podTemplate", "merge", "spec"))
}

// hardened fails unless a container runs non-root without privileges.
func hardened(t *testing.T, where string, container, podSpec map[string]any) {
	t.Helper()
	if dt.Get(podSpec, "securityContext", "runAsNonRoot") != true {
		t.Errorf("%s: the pod's securityContext lacks runAsNonRoot: true", where)
	}
	sc := dt.Map(container, "securityContext")
	if dt.Get(sc, "allowPrivilegeEscalation") != false || dt.Get(sc, "readOnlyRootFilesystem") != true ||
		!slices.Contains(dt.List(sc, "capabilities", "drop"), any("ALL")) {
		t.Errorf("%s: securityContext %v, want allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities.drop: [ALL]", where, sc)
	}
}

// TestRedis: the StatefulSet runs Redis and Sentinel with the settings of
// deploy/redis, non-root, three of them, with a PodDisruptionBudget.
func TestRedis(t *testing.T) {
	t.Parallel()
	objs := dt.Base(t)
	cms := dt.Find(objs, "ConfigMap", "redis-config")
	sts := dt.Find(objs, "StatefulSet", "redis")
	if len(cms) != 1 || len(sts) != 1 {
		t.Fatalf("%s: want ConfigMap redis-config and StatefulSet redis, found %d and %d", dt.BaseDir, len(cms), len(sts))
	}
	for _, f := range []struct{ file string }{{"redis.conf"}, {"sentinel.conf"}} {
		b, err := os.ReadFile(filepath.Join(dt.Root(t), "deploy/redis", f.file))
		if err != nil {
			t.Fatal(err)
		}
		got := dt.DirectiveLines(dt.Str(cms[0].Doc, "data", f.file))
		for _, want := range dt.DirectiveLines(string(b)) {
			key := directiveKey(want)
			i := slices.IndexFunc(got, func(g []string) bool { return directiveKey(g) == key })
			switch {
			case i < 0:
				t.Errorf("%s: %s in ConfigMap redis-config lacks %q of deploy/redis/%s", cms[0].File, f.file, strings.Join(want, " "), f.file)
			case key == "sentinel monitor":
				// The master's host is the pod's (redis-0.redis); its
				// name, port and quorum are deploy/redis's.
				if g := got[i]; len(g) != 6 || g[2] != want[2] || g[4] != want[4] || g[5] != want[5] {
					t.Errorf("%s: %s has %q; want master %s, port %s and quorum %s of deploy/redis/%s", cms[0].File, f.file, strings.Join(g, " "), want[2], want[4], want[5], f.file)
				}
			case !slices.Equal(got[i], want):
				t.Errorf("%s: %s has %q; deploy/redis/%s says %q", cms[0].File, f.file, strings.Join(got[i], " "), f.file, strings.Join(want, " "))
			}
		}
	}
	s := sts[0].Doc
	if dt.Str(s, "spec", "replicas") != "3" || dt.Str(s, "spec", "serviceName") != "redis" {
		t.Errorf("%s: replicas %s, serviceName %s; want 3 (Sentinel needs two to agree) and redis", sts[0], dt.Str(s, "spec", "replicas"), dt.Str(s, "spec", "serviceName"))
	}
	spec := dt.Map(s, "spec", "template", "spec")
	for _, c := range append(dt.List(spec, "containers"), dt.List(spec, "initContainers")...) {
		hardened(t, sts[0].String()+", container "+dt.Str(c, "name"), c.(map[string]any), spec)
	}
	labels := dt.Map(s, "spec", "template", "metadata", "labels")
	if !slices.ContainsFunc(dt.Find(objs, "PodDisruptionBudget", ""), func(p dt.Object) bool {
		return dt.Selects(dt.Map(p.Doc, "spec", "selector", "matchLabels"), labels)
	}) {
		t.Errorf("%s: no PodDisruptionBudget selects its pods", sts[0])
	}
}

// directiveKey names a directive: its first word, or two for sentinel's.
func directiveKey(d []string) string {
	if d[0] == "sentinel" && len(d) > 1 {
		return d[0] + " " + d[1]
	}
	return d[0]
}

// TestNetworkPolicies: nothing reaches a pod unless a policy lets it, and
// no policy opens NATS, Redis or the streams job to everyone (the
// services' own pods are checked by deploytest.Service).
func TestNetworkPolicies(t *testing.T) {
	t.Parallel()
	policies := dt.Find(dt.Base(t), "NetworkPolicy", "")
	if !slices.ContainsFunc(policies, func(p dt.Object) bool {
		return len(dt.Map(p.Doc, "spec", "podSelector")) == 0 && slices.Contains(dt.List(p.Doc, "spec", "policyTypes"), any("Ingress")) && len(dt.List(p.Doc, "spec", "ingress")) == 0
	}) {
		t.Errorf("%s: no NetworkPolicy denies all ingress (podSelector: {}, policyTypes: [Ingress], no rules)", dt.BaseDir)
	}
	for _, name := range []string{"nats", "redis", "streams-ensure"} {
		if open := dt.OpenToEveryone(policies, map[string]any{"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "ketenbus"}, nil); len(open) > 0 {
			t.Errorf("pods %s are open to everyone: %v", name, open)
		}
	}
}

// mainDirs returns the directory of every main of services/cmd.
func mainDirs(t *testing.T) []string {
	t.Helper()
	mains, err := filepath.Glob(filepath.Join(dt.Root(t), "services/cmd/ketenbus-*"))
	if err != nil || len(mains) == 0 {
		t.Fatalf("no mains in services/cmd (%v)", err)
	}
	return mains
}

// TestDockerfiles: one per main of services/cmd and one for the ketenbus
// command, each a static build (CGO_ENABLED=0) with the workspace's Go on
// the distroless static base, as nonroot.
func TestDockerfiles(t *testing.T) {
	t.Parallel()
	root := dt.Root(t)
	mains := mainDirs(t)
	want := map[string]string{"ketenbus": "./ketenbus"} // Dockerfile -> package it builds
	for _, m := range mains {
		want[filepath.Base(m)] = "./cmd/" + filepath.Base(m)
	}
	files, err := filepath.Glob(filepath.Join(root, dt.DockerDir, "*.Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var have []string
	goVersion := goMod(t, `^go (\d+\.\d+)`)
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".Dockerfile")
		have = append(have, name)
		rel := filepath.Join(dt.DockerDir, filepath.Base(f))
		pkg, ok := want[name]
		if !ok {
			t.Errorf("%s builds no main of services/cmd, nor the ketenbus command", rel)
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d := dt.ParseDockerfile(string(b))
		switch {
		case len(d.From) < 2:
			t.Errorf("%s: %d stages, want a build stage and a runtime stage", rel, len(d.From))
		case !strings.HasPrefix(d.From[0], "golang:"+goVersion):
			t.Errorf("%s: builds with %s; want golang:%s, the go of services/go.mod", rel, d.From[0], goVersion)
		case d.From[len(d.From)-1] != "gcr.io/distroless/static-debian12:nonroot":
			t.Errorf("%s: runs on %s; want gcr.io/distroless/static-debian12:nonroot", rel, d.From[len(d.From)-1])
		}
		if !strings.Contains(d.Build, "CGO_ENABLED=0") || !strings.HasSuffix(strings.TrimSpace(d.Build), pkg) {
			t.Errorf("%s: build %q; want CGO_ENABLED=0 go build of %s", rel, d.Build, pkg)
		}
		if !strings.Contains(string(b), "COPY go.work go.work.sum") {
			t.Errorf("%s: does not build with the workspace (COPY go.work go.work.sum)", rel)
		}
		if !strings.HasPrefix(d.User, "nonroot") && !strings.HasPrefix(d.User, "65532") {
			t.Errorf("%s: USER %q; want nonroot", rel, d.User)
		}
		if d.Entrypoint != "/"+name {
			t.Errorf("%s: ENTRYPOINT %q; want [\"/%s\"]", rel, d.Entrypoint, name)
		}
	}
	for name := range want {
		if !slices.Contains(have, name) {
			t.Errorf("no %s/%s.Dockerfile", dt.DockerDir, name)
		}
	}
}

// TestEveryMainDeployed: each main of services/cmd has a Deployment in
// the base and a test that checks it with deploytest.Service; the base
// deploys nothing else; the overlay names the image of each.
func TestEveryMainDeployed(t *testing.T) {
	t.Parallel()
	mains := mainDirs(t)
	objs := dt.Base(t)
	var names []string
	for _, m := range mains {
		name := strings.TrimPrefix(filepath.Base(m), "ketenbus-")
		names = append(names, name)
		if len(dt.Find(objs, "Deployment", name)) != 1 {
			t.Errorf("%s: no Deployment %s for services/cmd/ketenbus-%s", dt.BaseDir, name, name)
		}
		b, err := os.ReadFile(filepath.Join(m, "deploy_test.go"))
		if err != nil || !strings.Contains(string(b), "deploytest.Service(t, service())") {
			t.Errorf("services/cmd/ketenbus-%s/deploy_test.go does not call deploytest.Service(t, service()): its Deployment goes unchecked", name)
		}
	}
	for _, d := range dt.Find(objs, "Deployment", "") {
		if !slices.Contains(names, d.Name) {
			t.Errorf("%s: no main services/cmd/ketenbus-%s", d, d.Name)
		}
	}
	k := dt.ReadYAML(t, filepath.Join(dt.OverlayDir, "kustomization.yaml"))[0]
	var images []string
	for _, i := range dt.List(k.Doc, "images") {
		images = append(images, dt.Str(i, "name"))
	}
	for _, o := range objs {
		for _, c := range append(dt.List(o.Doc, "spec", "template", "spec", "containers"), dt.List(o.Doc, "spec", "template", "spec", "initContainers")...) {
			if img := dt.Str(c, "image"); strings.HasPrefix(img, "ketenbus") && !slices.Contains(images, img) {
				t.Errorf("%s: image %s has no entry in the images of %s/kustomization.yaml", o, img, dt.OverlayDir)
			}
		}
	}
}

// TestStreamsJob: the job creates the R3 streams as NATS user admin with
// its password, reading the region config like the services.
func TestStreamsJob(t *testing.T) {
	t.Parallel()
	jobs := dt.Find(dt.Base(t), "Job", "streams-ensure")
	if len(jobs) != 1 {
		t.Fatalf("%s: no Job streams-ensure", dt.BaseDir)
	}
	spec := dt.Map(jobs[0].Doc, "spec", "template", "spec")
	c := dt.List(spec, "containers")[0].(map[string]any)
	var args []string
	for _, a := range dt.List(c, "args") {
		args = append(args, a.(string))
	}
	if got := strings.Join(args, " "); !strings.HasPrefix(got, "streams ensure ") || !strings.Contains(got, "--replicas 3") || !strings.Contains(got, "--nats-user admin") {
		t.Errorf("%s: args %q; want streams ensure --replicas 3 --nats-user admin", jobs[0], got)
	}
	env := map[string]any{}
	for _, e := range dt.List(c, "env") {
		env[dt.Str(e, "name")] = e
	}
	if ref := dt.Map(env["KETENBUS_NATS_PASSWORD_ADMIN"], "valueFrom", "secretKeyRef"); dt.Str(ref, "name") != dt.NATSSecret {
		t.Errorf("%s: KETENBUS_NATS_PASSWORD_ADMIN from %v; want Secret %s", jobs[0], ref, dt.NATSSecret)
	}
	if dt.Str(env["KETENBUS_CONFIG"], "value") != "/etc/ketenbus/region.yaml" {
		t.Errorf("%s: KETENBUS_CONFIG %q; want the region config the services read", jobs[0], dt.Str(env["KETENBUS_CONFIG"], "value"))
	}
	hardened(t, jobs[0].String(), c, spec)
}
