package devstack

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// DemoEnvFile is the file in the data dir that keeps the secrets of a demo
// region, as `export NAME=value` lines a shell can source.
const DemoEnvFile = "demo.env"

var (
	envName     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	shellSafe   = regexp.MustCompile(`^[A-Za-z0-9+/=_.:@%-]*$`)
	quoteEscape = strings.NewReplacer(`'`, `'\''`)
)

// readDemoEnv reads the export lines of a demo.env file. A file that does
// not exist yields no values and no error.
func readDemoEnv(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read demo secrets: %w", err)
	}
	vals := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		name = strings.TrimSpace(name)
		if !ok || !envName.MatchString(name) {
			return nil, fmt.Errorf("%s:%d: not an `export NAME=value` line (delete the file to generate new demo secrets)", path, n)
		}
		vals[name] = unquote(strings.TrimSpace(value))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read demo secrets: %w", err)
	}
	return vals, nil
}

func unquote(v string) string {
	switch {
	case len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'':
		return strings.ReplaceAll(v[1:len(v)-1], `'\''`, `'`)
	case len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"':
		return v[1 : len(v)-1]
	}
	return v
}

func quote(v string) string {
	if shellSafe.MatchString(v) {
		return v
	}
	return "'" + quoteEscape.Replace(v) + "'"
}

// writeDemoEnv replaces the file at path, readable by its owner only, with
// one export line per name, in the order given.
func writeDemoEnv(path, regionName string, names []string, vals map[string]string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Secrets of the demo region %q, kept by `ketenbus dev` so that tokens and\n", regionName)
	b.WriteString("# pseudonyms stay the same from one start to the next. Load them with:\n")
	fmt.Fprintf(&b, "#     source %s\n", path)
	b.WriteString("# Delete this file to start over with new secrets: every pseudonym changes.\n")
	fmt.Fprintf(&b, "# %s encrypts the JetStream store next to this file: delete the store\n", JetStreamKeyEnv)
	b.WriteString("# with this file, or it can no longer be read.\n")
	for _, name := range names {
		fmt.Fprintf(&b, "export %s=%s\n", name, quote(vals[name]))
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".demo.env-*")
	if err != nil {
		return fmt.Errorf("write demo secrets: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write demo secrets: %w", err)
	}
	if _, err := tmp.WriteString(b.String()); err != nil {
		tmp.Close()
		return fmt.Errorf("write demo secrets: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write demo secrets: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write demo secrets: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write demo secrets: %w", err)
	}
	return nil
}
