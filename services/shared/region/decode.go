package region

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// decoder turns the YAML node tree into a Config by hand, so that every key
// is checked against the keys the format knows and every value keeps its
// line for the problems found later.
type decoder struct {
	lines    map[string]int
	bad      map[string]bool
	problems []Problem
}

// field decodes the value of one known key found at path.
type field func(v *yaml.Node, path string)

// decode decodes data into a Config. fatal reports that the file could not
// be read as a mapping at all, so validating the (empty) result would only
// add noise.
func decode(data []byte) (c *Config, problems []Problem, fatal bool) {
	d := &decoder{lines: map[string]int{}, bad: map[string]bool{}}
	c = &Config{lines: d.lines, bad: d.bad}

	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line, msg := yamlError(err)
		return c, []Problem{{Line: line, Message: "not valid YAML: " + msg}}, true
	}
	if len(doc.Content) == 0 {
		return c, []Problem{{Line: 1, Message: "the file is empty", Hint: "start from deploy/examples/region.yaml"}}, true
	}
	root := resolve(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		return c, []Problem{{Line: root.Line, Message: "expected a mapping of keys such as region: and partners:, found " + describe(root), Hint: "start from deploy/examples/region.yaml"}}, true
	}
	d.lines[""] = root.Line
	d.mapping(root, "", map[string]field{
		"region":               d.str(&c.Region),
		"demo":                 d.boolean(&c.Demo),
		"source":               d.str(&c.Source),
		"pseudonym_key_env":    d.str(&c.PseudonymKeyEnv),
		"encryption_key_env":   d.str(&c.EncryptionKeyEnv),
		"extension_attributes": d.strs(&c.ExtensionAttributes),
		"partners": func(v *yaml.Node, path string) {
			d.list(v, path, func(item *yaml.Node, path string) {
				c.Partners = append(c.Partners, Partner{})
				d.partner(item, path, &c.Partners[len(c.Partners)-1])
			})
		},
		"escalation": func(v *yaml.Node, path string) { d.escalation(v, path, &c.Escalation) },
		"samenloop": func(v *yaml.Node, path string) {
			d.mapping(v, path, map[string]field{
				"window_days":  d.integer(&c.Samenloop.WindowDays),
				"regievoerder": d.str(&c.Samenloop.Regievoerder),
			})
		},
		"gateway": func(v *yaml.Node, path string) { d.gateway(v, path, &c.Gateway) },
		"monitor": func(v *yaml.Node, path string) {
			d.mapping(v, path, map[string]field{
				"token_env":       d.str(&c.Monitor.TokenEnv),
				"trusted_header":  d.str(&c.Monitor.TrustedHeader),
				"trusted_proxies": d.strs(&c.Monitor.TrustedProxies),
			})
		},
		"retention": func(v *yaml.Node, path string) {
			c.Retention = map[string]time.Duration{}
			known := map[string]field{}
			for k := range DefaultRetention() {
				known[k] = func(v *yaml.Node, path string) {
					var t time.Duration
					d.duration(&t)(v, path)
					c.Retention[k] = t
				}
			}
			d.mapping(v, path, known)
		},
	})
	return c, d.problems, false
}

func (d *decoder) gateway(n *yaml.Node, path string, g *Gateway) {
	d.mapping(n, path, map[string]field{
		"max_body_bytes": func(v *yaml.Node, path string) {
			var n int
			d.integer(&n)(v, path)
			g.MaxBodyBytes = int64(n)
		},
		"max_header_bytes":    d.integer(&g.MaxHeaderBytes),
		"read_header_timeout": d.duration(&g.ReadHeaderTimeout),
		"read_timeout":        d.duration(&g.ReadTimeout),
		"write_timeout":       d.duration(&g.WriteTimeout),
		"idle_timeout":        d.duration(&g.IdleTimeout),
		"max_time_ahead":      d.duration(&g.MaxTimeAhead),
		"tls": func(v *yaml.Node, path string) {
			g.TLS = &GatewayTLS{}
			d.mapping(v, path, map[string]field{
				"cert_file":      d.str(&g.TLS.CertFile),
				"key_file":       d.str(&g.TLS.KeyFile),
				"client_ca_file": d.str(&g.TLS.ClientCAFile),
			})
		},
	})
}

func (d *decoder) partner(n *yaml.Node, path string, p *Partner) {
	d.mapping(n, path, map[string]field{
		"id":               d.str(&p.ID),
		"name":             d.str(&p.Name),
		"sources":          d.strs(&p.Sources),
		"token_env":        d.str(&p.TokenEnv),
		"token_sha256_env": d.str(&p.TokenSHA256Env),
		"client_cert": func(v *yaml.Node, path string) {
			p.ClientCert = &ClientCert{}
			d.mapping(v, path, map[string]field{
				"common_name": d.str(&p.ClientCert.CommonName),
				"sha256":      d.str(&p.ClientCert.SHA256),
			})
		},
		"publishes": d.strs(&p.Publishes),
		"rate_limit": func(v *yaml.Node, path string) {
			d.mapping(v, path, map[string]field{
				"per_second": d.integer(&p.RateLimit.PerSecond),
				"burst":      d.integer(&p.RateLimit.Burst),
			})
		},
		"subscriptions": func(v *yaml.Node, path string) {
			d.list(v, path, func(item *yaml.Node, path string) {
				p.Subscriptions = append(p.Subscriptions, Subscription{})
				s := &p.Subscriptions[len(p.Subscriptions)-1]
				d.mapping(item, path, map[string]field{
					"name":    d.str(&s.Name),
					"types":   d.strs(&s.Types),
					"filter":  d.str(&s.Filter),
					"purpose": d.str(&s.Purpose),
					"fields":  d.strs(&s.Fields),
				})
			})
		},
		"delivery": func(v *yaml.Node, path string) {
			d.mapping(v, path, map[string]field{
				"webhook": func(v *yaml.Node, path string) {
					w := &Webhook{}
					p.Delivery.Webhook = w
					d.mapping(v, path, map[string]field{
						"url":            d.str(&w.URL),
						"secret_env":     d.str(&w.SecretEnv),
						"token_env":      d.str(&w.TokenEnv),
						"mode":           d.str(&w.Mode),
						"handshake":      d.boolean(&w.Handshake),
						"timeout":        d.duration(&w.Timeout),
						"retry_schedule": d.durations(&w.RetrySchedule),
					})
				},
				"nats": func(v *yaml.Node, path string) {
					p.Delivery.NATS = &NATSDelivery{}
					d.mapping(v, path, map[string]field{})
				},
			})
		},
	})
}

func (d *decoder) escalation(n *yaml.Node, path string, e *Escalation) {
	d.mapping(n, path, map[string]field{
		"ladder": func(v *yaml.Node, path string) {
			d.list(v, path, func(item *yaml.Node, path string) {
				e.Ladder = append(e.Ladder, Level{})
				l := &e.Ladder[len(e.Ladder)-1]
				d.mapping(item, path, map[string]field{
					"level":              d.integer(&l.Level),
					"after_working_days": d.integer(&l.AfterWorkingDays),
					"to":                 d.strs(&l.To),
				})
			})
		},
		"jeugd_wmo": func(v *yaml.Node, path string) {
			d.mapping(v, path, map[string]field{
				"remind_months_before_18": d.integer(&e.JeugdWmo.RemindMonthsBefore18),
				"accept_months_before_18": d.integer(&e.JeugdWmo.AcceptMonthsBefore18),
			})
		},
		"good_friday":    d.boolean(&e.GoodFriday),
		"liberation_day": d.str(&e.LiberationDay),
		"closure_days":   d.strs(&e.ClosureDays),
	})
}

// mapping decodes a mapping node: each key must be one of known (an
// unknown key is reported with the closest known key), and appear once.
// A null value (the key with nothing after it) counts as an empty mapping.
func (d *decoder) mapping(n *yaml.Node, path string, known map[string]field) {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.wrongKind(n, path, "a mapping of keys")
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		p := joinKey(path, k.Value)
		if k.Kind != yaml.ScalarNode {
			d.add(k.Line, path, "a key must be a plain word", "")
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.add(k.Line, p, "key appears twice", fmt.Sprintf("it was first set on line %d; keep one", first))
			continue
		}
		seen[k.Value] = k.Line
		decodeValue, ok := known[k.Value]
		if !ok {
			d.add(k.Line, p, fmt.Sprintf("unknown key %q", k.Value), unknownKeyHint(k.Value, known))
			continue
		}
		d.lines[p] = k.Line
		decodeValue(v, p)
	}
}

// list decodes a sequence node, item by item. A null value counts as an
// empty list.
func (d *decoder) list(n *yaml.Node, path string, item func(n *yaml.Node, path string)) {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.wrongKind(n, path, "a list")
		return
	}
	for i, v := range n.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		d.lines[p] = resolve(v).Line
		item(v, p)
	}
}

func (d *decoder) str(dst *string) field {
	return func(v *yaml.Node, path string) {
		v = resolve(v)
		switch {
		case v.Kind != yaml.ScalarNode:
			d.wrongKind(v, path, "a single value")
		case v.Tag == "!!null":
			*dst = ""
		default:
			*dst = v.Value
		}
	}
}

func (d *decoder) strs(dst *[]string) field {
	return func(v *yaml.Node, path string) {
		*dst = []string{}
		d.list(v, path, func(item *yaml.Node, path string) {
			var s string
			d.str(&s)(item, path)
			*dst = append(*dst, s)
		})
	}
}

func (d *decoder) integer(dst *int) field {
	return func(v *yaml.Node, path string) {
		v = resolve(v)
		if v.Kind != yaml.ScalarNode || v.Tag != "!!int" {
			d.wrongKind(v, path, "a whole number")
			return
		}
		if err := v.Decode(dst); err != nil {
			d.add(v.Line, path, fmt.Sprintf("%s is not a usable whole number", v.Value), "")
			d.bad[path] = true
		}
	}
}

func (d *decoder) boolean(dst *bool) field {
	return func(v *yaml.Node, path string) {
		v = resolve(v)
		if v.Kind != yaml.ScalarNode || v.Tag != "!!bool" {
			d.wrongKind(v, path, "true or false")
			return
		}
		if err := v.Decode(dst); err != nil {
			d.add(v.Line, path, fmt.Sprintf("%s is not true or false", v.Value), "")
			d.bad[path] = true
		}
	}
}

func (d *decoder) duration(dst *time.Duration) field {
	return func(v *yaml.Node, path string) {
		v = resolve(v)
		if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
			d.wrongKind(v, path, "a duration such as 10s or 2m")
			return
		}
		t, err := parseDuration(v.Value)
		if err != nil {
			hint := "write a number with a unit: ms, s, m, h or d (days), such as 10s, 2m, 24h or 730d"
			if _, numErr := strconv.Atoi(v.Value); numErr == nil {
				hint = fmt.Sprintf("add a unit, such as %ss", v.Value)
			}
			d.add(v.Line, path, fmt.Sprintf("%q is not a duration", v.Value), hint)
			d.bad[path] = true
			return
		}
		*dst = t
	}
}

// parseDuration reads a Go duration, or a whole number of days such as
// 730d.
func parseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 || days > 100*365 {
			return 0, fmt.Errorf("%q is not a number of days", s)
		}
		return time.Duration(days) * Day, nil
	}
	return time.ParseDuration(s)
}

func (d *decoder) durations(dst *[]time.Duration) field {
	return func(v *yaml.Node, path string) {
		*dst = []time.Duration{}
		d.list(v, path, func(item *yaml.Node, path string) {
			var t time.Duration
			d.duration(&t)(item, path)
			*dst = append(*dst, t)
		})
	}
}

func (d *decoder) wrongKind(v *yaml.Node, path, want string) {
	d.add(v.Line, path, fmt.Sprintf("expected %s, found %s", want, describe(v)), "")
	d.bad[path] = true
}

func (d *decoder) add(line int, path, msg, hint string) {
	d.problems = append(d.problems, Problem{Line: line, Path: path, Message: msg, Hint: hint})
}

// resolve follows an alias (*name) to the node it refers to.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.Tag {
	case "!!null":
		return "nothing"
	case "!!str":
		return fmt.Sprintf("the text %q", n.Value)
	}
	return n.Value
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// yamlError splits a YAML syntax error into its line and message.
func yamlError(err error) (int, string) {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return line, strings.TrimPrefix(msg, m[0])
	}
	return 0, strings.TrimPrefix(msg, "yaml: ")
}

// unknownKeyHint suggests the known key closest to a mistyped one, or lists
// the known keys when none is close.
func unknownKeyHint(key string, known map[string]field) string {
	if len(known) == 0 {
		return "this mapping takes no keys"
	}
	names := make([]string, 0, len(known))
	for k := range known {
		names = append(names, k)
	}
	slices.Sort(names)
	best, bestDist := "", -1
	for _, k := range names {
		if dist := editDistance(strings.ToLower(key), k); bestDist < 0 || dist < bestDist {
			best, bestDist = k, dist
		}
	}
	if bestDist <= max(2, len(best)/3) {
		return fmt.Sprintf("did you mean %q?", best)
	}
	return "known keys here: " + strings.Join(names, ", ")
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
