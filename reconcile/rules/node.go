package rules

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// This file reads YAML nodes for the loader: values by kind, positions,
// aliases and syntax errors, each problem reported with its line and
// column.

var reYAMLLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntax reports a YAML syntax error. The line yaml gives is often that of
// the construct around the problem, so syntax looks, from there on, for
// the first line at which the file fails with the same error.
func (l *loader) syntax(err error) {
	msg, line := strings.TrimPrefix(err.Error(), "yaml: "), 0
	if m := reYAMLLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	col := 0
	for k := max(line, 1); k <= min(len(l.lines), line+maxSyntaxSearch); k++ {
		if perr := decodeAll(strings.Join(l.lines[:k], "\n")); perr != nil && strings.HasSuffix(perr.Error(), ": "+msg) {
			line, col = k, l.syntaxColumn(k, msg)
			break
		}
	}
	if col == 0 && line > 0 && line <= len(l.lines) {
		col = 1 + utf8.RuneCountInString(l.lines[line-1]) - utf8.RuneCountInString(strings.TrimLeft(l.lines[line-1], " \t"))
	}
	l.addAt(line, col, "YAML syntax: "+msg, "check the indentation and quoting of this line")
}

// syntaxColumn is the column of line (1-based) at which the file first
// fails with msg: the shortest start of the line that, after the lines
// above it, yaml refuses so. yaml names a line only; an editor wants the
// place. Lines longer than maxSyntaxColumn bytes get 0 (unknown).
func (l *loader) syntaxColumn(line int, msg string) int {
	text := l.lines[line-1]
	if len(text) > maxSyntaxColumn {
		return 0
	}
	above := strings.Join(l.lines[:line-1], "\n")
	if line > 1 {
		above += "\n"
	}
	col := 0
	for j := range text {
		col++
		_, size := utf8.DecodeRuneInString(text[j:])
		if perr := decodeAll(above + text[:j+size]); perr != nil && strings.HasSuffix(perr.Error(), ": "+msg) {
			return col
		}
	}
	return 0
}

// maxSyntaxColumn bounds the line [loader.syntaxColumn] searches, as it
// parses the file up to each of the line's characters.
const maxSyntaxColumn = 400

// maxSyntaxSearch bounds how many lines after the one yaml names
// [loader.syntax] tries, parsing the file up to each.
const maxSyntaxSearch = 50

// decodeAll returns the first syntax error of the YAML documents in s.
func decodeAll(s string) error {
	dec := yaml.NewDecoder(strings.NewReader(s))
	for {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// at returns the file position of byte offset off of n's value: exact for
// one-line plain and quoted scalars written without escapes and for
// literal blocks (|), else the scalar's own position.
func (l *loader) at(n *yaml.Node, off int) (line, col int) {
	if n == nil {
		return 0, 0
	}
	v := n.Value
	if off <= 0 || off > len(v) {
		return n.Line, n.Column
	}
	before := v[:off]
	switch n.Style {
	case yaml.LiteralStyle:
		i := strings.Count(before, "\n")
		line = n.Line + 1 + i
		indent := -1
		for _, s := range l.lines[min(n.Line, len(l.lines)):min(n.Line+1+i, len(l.lines))] {
			if strings.TrimSpace(s) != "" {
				indent = len(s) - len(strings.TrimLeft(s, " "))
				break
			}
		}
		if indent < 0 {
			return n.Line, n.Column
		}
		return line, indent + 1 + utf8.RuneCountInString(before[strings.LastIndexByte(before, '\n')+1:])
	case 0, yaml.SingleQuotedStyle, yaml.DoubleQuotedStyle:
		if strings.Contains(v, "\n") || n.Line < 1 || n.Line > len(l.lines) {
			break
		}
		q := 0
		if n.Style != 0 {
			q = 1
		}
		src := []rune(l.lines[n.Line-1])
		if start := n.Column - 1 + q; start >= 0 && start <= len(src) && strings.HasPrefix(string(src[start:]), before) {
			return n.Line, n.Column + q + utf8.RuneCountInString(before)
		}
	}
	return n.Line, n.Column
}

func (l *loader) add(n *yaml.Node, msg, hint string) {
	if n == nil {
		l.addAt(0, 0, msg, hint)
		return
	}
	l.addAt(n.Line, n.Column, msg, hint)
}

func (l *loader) addAt(line, col int, msg, hint string) {
	l.problems = append(l.problems, Problem{File: l.file, Line: line, Column: col, Msg: msg, Hint: hint})
}

// resolve follows aliases to the node they name, within [maxAliases].
func (l *loader) resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		if l.aliases++; l.aliases > maxAliases {
			if l.aliases == maxAliases+1 {
				l.add(n, "too many YAML aliases", fmt.Sprintf("a file may expand at most %d aliases: repeat values instead", maxAliases))
			}
			return nil
		}
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// present reports whether a resolved node holds a value.
func present(n *yaml.Node) bool { return n != nil && !isNull(n) }

// mapping returns the values of mapping n by key, reporting keys that def
// (a [keys] entry) does not accept. It returns nil for an absent or null n.
func (l *loader) mapping(n *yaml.Node, def string) map[string]*yaml.Node {
	n = l.resolve(n)
	if !present(n) {
		return nil
	}
	accepted := keys[def]
	noun, what := "key", def
	switch def {
	case "precedence":
		noun = "attribute"
	case "config":
		what = "the file"
	}
	if n.Kind != yaml.MappingNode {
		l.add(n, what+" must be a mapping of keys to values", noun+"s: "+strings.Join(accepted, ", "))
		return nil
	}
	m := make(map[string]*yaml.Node)
	first := make(map[string]int)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch line, dup := first[k.Value]; {
		case k.Value == "<<":
			l.add(k, "merge keys (<<) are not supported", "repeat the keys, or use an alias for a whole value")
		case unused[def][k.Value] != "":
			l.add(k, fmt.Sprintf("%s %q in %s is not used by scimd", noun, k.Value, what), unused[def][k.Value])
		case !slices.Contains(accepted, k.Value):
			l.add(k, fmt.Sprintf("unknown %s %q in %s", noun, k.Value, what), didYouMean(k.Value, accepted, noun+"s"))
		case dup:
			l.add(k, fmt.Sprintf("%s %q repeated in %s", noun, k.Value, what), fmt.Sprintf("it is first set at line %d: keep one", line))
		default:
			first[k.Value] = k.Line
			m[k.Value] = v
		}
	}
	return m
}

func didYouMean(v string, accepted []string, plural string) string {
	list := plural + ": " + strings.Join(accepted, ", ")
	if near := nearest(v, accepted); near != "" {
		return fmt.Sprintf("did you mean %s? %s", near, list)
	}
	return list
}

// seq returns the items of list n, key naming it in problems; nil for an
// absent or null n.
func (l *loader) seq(n *yaml.Node, key string) []*yaml.Node {
	n = l.resolve(n)
	if !present(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		l.add(n, key+" must be a list", fmt.Sprintf(`write %s: [a, b], or one "- a" line per item`, key))
		return nil
	}
	items := make([]*yaml.Node, 0, len(n.Content))
	for _, it := range n.Content {
		if it = l.resolve(it); it != nil {
			items = append(items, it)
		}
	}
	return items
}

// str returns scalar n's text; "" for an absent or null n.
func (l *loader) str(n *yaml.Node, what string) string {
	n = l.resolve(n)
	if !present(n) {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		l.add(n, what+" must be a string", `write one value; quote it if it contains ": " or starts with a special character`)
		return ""
	}
	return n.Value
}

func (l *loader) boolean(n *yaml.Node, what string) bool {
	n = l.resolve(n)
	if !present(n) {
		return false
	}
	b, err := strconv.ParseBool(n.Value)
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || err != nil {
		l.add(n, what+" must be true or false", "write true or false, unquoted")
	}
	return b
}

// enums returns the distinct items of list n (named key), each of which
// must be one of accepted (item names one in problems).
func (l *loader) enums(n *yaml.Node, key, item string, accepted []string) []string {
	var out []string
	for _, it := range l.seq(n, key) {
		switch v := l.str(it, item); {
		case !slices.Contains(accepted, v):
			l.add(it, fmt.Sprintf("unknown %s %q in %s", item, v, key), didYouMean(v, accepted, item+"s"))
		case slices.Contains(out, v):
			l.add(it, fmt.Sprintf("%s %q repeated in %s", item, v, key), "list each once")
		default:
			out = append(out, v)
		}
	}
	return out
}

// name returns the required name of mapping n (m holds its keys), unique
// among seen (names → line first used); what and scope word problems.
func (l *loader) name(n *yaml.Node, m map[string]*yaml.Node, what, scope string, seen map[string]int) string {
	v := m["name"]
	name := l.str(v, what+" name")
	if strings.TrimSpace(name) == "" {
		l.add(l.resolve(n), what+" has no name", fmt.Sprintf("add name: … (unique %s)", scope))
		return name
	}
	if line, dup := seen[name]; dup {
		l.add(v, fmt.Sprintf("%s name %q repeated", what, name), fmt.Sprintf("it is first used at line %d: names must be unique %s", line, scope))
		return name
	}
	seen[name] = v.Line
	return name
}
