package region

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// decoder turns the YAML node tree into a Config by hand, key by key as the
// yaml tags of its fields name them, so that every key is checked against
// the keys the format knows and every value keeps its line for the
// problems found later.
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
	known := d.keys(reflect.ValueOf(c).Elem())
	known["retention"] = func(v *yaml.Node, path string) {
		c.Retention = map[string]time.Duration{}
		kinds := map[string]field{}
		for k := range DefaultRetention() {
			kinds[k] = func(v *yaml.Node, path string) {
				var t time.Duration
				d.duration(&t)(v, path)
				c.Retention[k] = t
			}
		}
		d.mapping(v, path, kinds)
	}
	d.mapping(root, "", known)
	return c, d.problems, false
}

var durationType = reflect.TypeFor[time.Duration]()

// keys gives the field of each key of the struct s: the key is the
// field's yaml tag, a field without one is no key.
func (d *decoder) keys(s reflect.Value) map[string]field {
	known := map[string]field{}
	for i := range s.NumField() {
		if key := s.Type().Field(i).Tag.Get("yaml"); key != "" {
			known[key] = d.value(s.Field(i))
		}
	}
	return known
}

// value gives the field that decodes into dst, by dst's type: a struct
// is a mapping of its keys; a pointer to one is made when its key is
// present, even with nothing after it; a slice is a list, appended to
// item by item, and a list of single values is non-nil once its key is
// present, even when empty.
func (d *decoder) value(dst reflect.Value) field {
	if dst.Type() == durationType {
		return d.duration(dst.Addr().Interface().(*time.Duration))
	}
	switch dst.Kind() {
	case reflect.String:
		return d.str(dst.Addr().Interface().(*string))
	case reflect.Bool:
		return d.scalar(trueOrFalse, dst.Addr().Interface())
	case reflect.Int, reflect.Int64:
		return d.scalar(wholeNumber, dst.Addr().Interface())
	case reflect.Struct:
		known := d.keys(dst)
		return func(v *yaml.Node, path string) { d.mapping(v, path, known) }
	case reflect.Pointer:
		return func(v *yaml.Node, path string) {
			dst.Set(reflect.New(dst.Type().Elem()))
			d.value(dst.Elem())(v, path)
		}
	case reflect.Slice:
		values := dst.Type().Elem().Kind() != reflect.Struct
		return func(v *yaml.Node, path string) {
			if values {
				dst.Set(reflect.MakeSlice(dst.Type(), 0, 0))
			}
			d.list(v, path, func(n *yaml.Node, path string) {
				dst.Set(reflect.Append(dst, reflect.Zero(dst.Type().Elem())))
				d.value(dst.Index(dst.Len()-1))(n, path)
			})
		}
	}
	panic("region: no decoding for a key of type " + dst.Type().String())
}

// mapping decodes a mapping node: each key must be one of known (an
// unknown key is reported with the closest known key), and appear once.
// A null value (the key with nothing after it) counts as an empty mapping.
func (d *decoder) mapping(n *yaml.Node, path string, known map[string]field) {
	n, ok := d.collection(n, path, yaml.MappingNode, "a mapping of keys")
	if !ok {
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
	n, ok := d.collection(n, path, yaml.SequenceNode, "a list")
	if !ok {
		return
	}
	for i, v := range n.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		d.lines[p] = resolve(v).Line
		item(v, p)
	}
}

// collection resolves n and reports whether it is a node of kind, with
// items to decode. Null (nothing after the key) counts as empty; any other
// node is a problem saying the key takes want.
func (d *decoder) collection(n *yaml.Node, path string, kind yaml.Kind, want string) (*yaml.Node, bool) {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return n, false
	}
	if n.Kind != kind {
		d.wrongKind(n, path, want)
		return n, false
	}
	return n, true
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

// scalarKind says which YAML tag a single-value key takes and how its
// problems read.
type scalarKind struct{ tag, want, unusable string }

var (
	wholeNumber = scalarKind{tag: "!!int", want: "a whole number", unusable: "a usable whole number"}
	trueOrFalse = scalarKind{tag: "!!bool", want: "true or false", unusable: "true or false"}
)

// scalar decodes a single value of kind k into dst, a pointer.
func (d *decoder) scalar(k scalarKind, dst any) field {
	return func(v *yaml.Node, path string) {
		v = resolve(v)
		if v.Kind != yaml.ScalarNode || v.Tag != k.tag {
			d.wrongKind(v, path, k.want)
			return
		}
		if err := v.Decode(dst); err != nil {
			d.add(v.Line, path, fmt.Sprintf("%s is not %s", v.Value, k.unusable), "")
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
