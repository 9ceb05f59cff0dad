package rules

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/ext"
	"go.yaml.in/yaml/v3"
)

// costLimit bounds the work of one expression evaluation, in CEL cost units
// (roughly one per operation, more per list element touched); Kubernetes
// uses the same figure. Exceeding it fails the evaluation.
const costLimit = 1_000_000

// variables are the names rule expressions may use, in the order hints
// list them; [Input.vars] supplies their values.
var variables = []struct {
	name string
	typ  *cel.Type
}{
	{"source", cel.StringType},
	{"userName", cel.StringType},
	{"displayName", cel.StringType},
	{"givenName", cel.StringType},
	{"familyName", cel.StringType},
	{"middleName", cel.StringType},
	{"title", cel.StringType},
	{"userType", cel.StringType},
	{"locale", cel.StringType},
	{"preferredLanguage", cel.StringType},
	{"externalId", cel.StringType},
	{"email", cel.StringType},
	{"emails", cel.ListType(cel.StringType)},
	{"active", cel.BoolType},
	{"employeeNumber", cel.StringType},
	{"costCenter", cel.StringType},
	{"organization", cel.StringType},
	{"division", cel.StringType},
	{"department", cel.StringType},
	{"manager", cel.StringType},
	{"gradYear", cel.IntType},
	{"entryYear", cel.IntType},
	{"groups", cel.ListType(cel.StringType)},
	{"attributes", cel.MapType(cel.StringType, cel.DynType)},
	{"claims", cel.MapType(cel.StringType, cel.DynType)},
}

func variableNames() []string {
	names := make([]string, len(variables))
	for i, v := range variables {
		names[i] = v.name
	}
	return names
}

// newEnv returns the CEL environment rules compile in: the standard
// library, the strings extension and [variables].
func newEnv() (*cel.Env, error) {
	opts := []cel.EnvOption{cel.StdLib(), ext.Strings()}
	for _, v := range variables {
		opts = append(opts, cel.Variable(v.name, v.typ))
	}
	return cel.NewCustomEnv(opts...)
}

// template is a string with ${expr} segments: literal parts are copied,
// expressions evaluated (to a string or an int) and concatenated.
type template struct {
	parts []part
}

// part is a literal (prg nil) or an expression.
type part struct {
	lit string
	prg cel.Program
}

// literal reports whether t has no expressions, and its text; false for
// a nil t (one that did not compile).
func (t *template) literal() (string, bool) {
	if t == nil {
		return "", false
	}
	if len(t.parts) == 0 {
		return "", true
	}
	if len(t.parts) == 1 && t.parts[0].prg == nil {
		return t.parts[0].lit, true
	}
	return "", false
}

func (t *template) eval(vars map[string]any) (string, error) {
	var b strings.Builder
	for _, p := range t.parts {
		if p.prg == nil {
			b.WriteString(p.lit)
			continue
		}
		out, _, err := p.prg.Eval(vars)
		if err != nil {
			return "", err
		}
		switch v := out.Value().(type) {
		case string:
			b.WriteString(v)
		case int64:
			b.WriteString(strconv.FormatInt(v, 10))
		case uint64:
			b.WriteString(strconv.FormatUint(v, 10))
		case float64:
			// JSON numbers in attributes arrive as doubles.
			if v != math.Trunc(v) || math.Abs(v) > 1<<53 {
				return "", fmt.Errorf("expression yields %v, want a string or an int", v)
			}
			b.WriteString(strconv.FormatInt(int64(v), 10))
		default:
			return "", fmt.Errorf("expression yields a %s, want a string or an int", out.Type().TypeName())
		}
	}
	return b.String(), nil
}

// segment is one piece of a template's source: a literal, or an
// expression starting at byte offset off of the template.
type segment struct {
	text string
	expr bool
	off  int
}

// splitTemplate splits s into literals and ${…} expressions; "$$" is a
// literal "$". On a syntax error it returns the byte offset and a message.
func splitTemplate(s string) ([]segment, int, string) {
	var segs []segment
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			segs = append(segs, segment{text: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$$"):
			lit.WriteByte('$')
			i += 2
		case strings.HasPrefix(s[i:], "${"):
			end := exprEnd(s, i+2)
			if end < 0 {
				return nil, i, "unterminated ${ in template"
			}
			if strings.TrimSpace(s[i+2:end]) == "" {
				return nil, i, "empty ${} in template"
			}
			flush()
			segs = append(segs, segment{text: s[i+2 : end], expr: true, off: i + 2})
			i = end + 1
		default:
			lit.WriteByte(s[i])
			i++
		}
	}
	flush()
	return segs, 0, ""
}

// exprEnd returns the index of the "}" closing an expression that starts
// at i, skipping braces inside string literals and nested braces; -1 if
// there is none.
func exprEnd(s string, i int) int {
	depth := 0
	var quote byte
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '{':
			depth++
		case c == '}':
			if depth == 0 {
				return i
			}
			depth--
		}
	}
	return -1
}

var (
	reUndeclared = regexp.MustCompile(`undeclared reference to '([^']+)'`)
	reOverload   = regexp.MustCompile(`found no matching overload for '([^']+)' applied to '\((.*)\)'`)
)

// explain turns a CEL compile error message into a problem message and a
// hint a person can act on.
func explain(msg string) (string, string) {
	if m := reUndeclared.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("undeclared name %q", m[1]), didYouMean(m[1], variableNames(), "variables")
	}
	if m := reOverload.FindStringSubmatch(msg); m != nil {
		op := operator(m[1])
		found := fmt.Sprintf("no %s for (%s)", op, m[2])
		switch op {
		case "==", "!=", "<", "<=", ">", ">=":
			return found, fmt.Sprintf(`both sides of %s must have the same type, found (%s): quote a number meant as text ("3"), or convert with string(x) or int(x)`, op, m[2])
		case "+", "-", "*", "/", "%":
			return found, fmt.Sprintf("both sides of %s must have the same type, found (%s): convert one with int(x), double(x) or string(x)", op, m[2])
		case "in":
			return found, fmt.Sprintf(`"x in list" needs x of the list's element type, found (%s)`, m[2])
		}
		return found, fmt.Sprintf("check the argument types: found (%s)", m[2])
	}
	if strings.Contains(msg, "'= ") {
		return msg, "compare with ==; a single = is not an operator"
	}
	return msg, "see the CEL language definition: https://cel.dev"
}

// operator names a CEL overload as a person writes it: "_==_" is "==".
func operator(fn string) string {
	switch fn {
	case "@in":
		return "in"
	case "_[_]":
		return "index []"
	case "!_":
		return "!"
	case "-_":
		return "-"
	}
	if strings.HasPrefix(fn, "_") && strings.HasSuffix(fn, "_") && len(fn) > 2 {
		return strings.Trim(fn, "_")
	}
	return fn + "()"
}

// nearest returns the candidate closest to name by edit distance, ignoring
// case (the first of equals), or "" when none is close enough to be what
// was meant: within 2 edits, or half of name's length.
func nearest(name string, candidates []string) string {
	best, dist := "", max(2, utf8.RuneCountInString(name)/2)+1
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(name), strings.ToLower(c)); d < dist {
			best, dist = c, d
		}
	}
	return best
}

// EditDistance is the Levenshtein distance between a and b, in runes:
// how far a misspelt name is from a known one.
func EditDistance(a, b string) int { return editDistance(a, b) }

// editDistance is the Levenshtein distance between a and b, in runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := range ra {
		cur[0] = i + 1
		for j := range rb {
			cost := 1
			if ra[i] == rb[j] {
				cost = 0
			}
			cur[j+1] = min(prev[j+1]+1, cur[j]+1, prev[j]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// typeHint says how to turn an expression of the wrong type into one
// of the wanted type.
func typeHint(wantBool bool) string {
	if wantBool {
		return `compare or test it, e.g. department == "Radiology", "Faculty" in groups or gradYear > 0`
	}
	return `convert it or pick one value, e.g. string(x), emails[0] or attributes['col']`
}

// template compiles the template n holds; nil if it has problems.
func (l *loader) template(ctx string, n *yaml.Node) *template {
	n = l.resolve(n)
	s := l.str(n, ctx)
	segs, off, msg := splitTemplate(s)
	if msg != "" {
		line, col := l.at(n, off)
		l.addAt(line, col, ctx+": "+msg, `close it with "}", or write $$ for a literal $`)
		return nil
	}
	t, ok := &template{}, true
	for _, sg := range segs {
		if !sg.expr {
			t.parts = append(t.parts, part{lit: sg.text})
			continue
		}
		prg := l.program(ctx, n, sg.off, sg.text, false)
		ok = ok && prg != nil
		t.parts = append(t.parts, part{prg: prg})
	}
	if !ok {
		return nil
	}
	return t
}

// program compiles expr, found at byte offset off of n's value, and checks
// its type: bool for a condition (wantBool), else string or int. Dyn is
// let through and checked when evaluated. It returns nil on problems.
func (l *loader) program(ctx string, n *yaml.Node, off int, expr string, wantBool bool) cel.Program {
	ast, iss := l.env.Compile(expr)
	if iss.Err() != nil {
		syntax := false
		for _, e := range iss.Errors() {
			// After the first syntax error, the parser's others are echoes.
			if strings.HasPrefix(e.Message, "Syntax error") {
				if syntax {
					continue
				}
				syntax = true
			}
			msg, hint := explain(e.Message)
			at := off
			if e.Location != nil {
				at += offsetOf(expr, e.Location.Line(), e.Location.Column())
			}
			line, col := l.at(n, at)
			l.addAt(line, col, ctx+": "+msg, hint)
		}
		return nil
	}
	t := ast.OutputType()
	ok, want := t.IsExactType(cel.BoolType), "bool"
	if !wantBool {
		ok, want = t.IsExactType(cel.StringType) || t.IsExactType(cel.IntType), "string or int"
	}
	if !ok && !t.IsExactType(cel.DynType) {
		line, col := l.at(n, off)
		l.addAt(line, col, fmt.Sprintf("%s: expression has type %s, want %s", ctx, t, want), typeHint(wantBool))
		return nil
	}
	for _, ref := range ast.NativeRep().ReferenceMap() {
		if l.reads != nil && ref.Value == nil {
			l.reads[ref.Name] = true
		}
	}
	prg, err := l.env.Program(ast, cel.CostLimit(costLimit))
	if err != nil {
		line, col := l.at(n, off)
		l.addAt(line, col, fmt.Sprintf("%s: %v", ctx, err), "")
		return nil
	}
	return prg
}

// offsetOf turns a CEL location (1-based line, 0-based column in runes)
// into a byte offset of s.
func offsetOf(s string, line, col int) int {
	off := 0
	for i := 1; i < line; i++ {
		nl := strings.IndexByte(s[off:], '\n')
		if nl < 0 {
			return off
		}
		off += nl + 1
	}
	for ; col > 0 && off < len(s); col-- {
		_, size := utf8.DecodeRuneInString(s[off:])
		off += size
	}
	return off
}
