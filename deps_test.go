// Package scimd_test holds the repository-wide policy tests: which
// package may import which, and one package doc per package.
package scimd_test

import (
	"encoding/json"
	"fmt"
	"go/parser"
	"go/token"
	"go/types"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/tools/go/packages"
)

const module = "github.com/scimd/scimd"

// allowed lists, for each package, the packages of ours it may import.
// These arrows are policy (see DESIGN.md): fix the code, not this table.
var allowed = map[string][]string{
	"schemas":           {},
	"store":             {},
	"store/storetest":   {"store"},
	"reconcile":         {"store", "schemas", "reconcile/rules"},
	"reconcile/rules":   {},
	"scim":              {"reconcile", "store", "schemas", "scim/patch", "scim/dialect"},
	"scim/patch":        {},
	"scim/dialect":      {"scim/patch"},
	"jit":               {"reconcile", "store"},
	"jit/oidctest":      {},
	"csvio":             {"reconcile", "store", "schemas"},
	"admin":             {"reconcile", "reconcile/rules", "store"},
	"console":           {"store"},
	"mailer":            {"store"},
	"mailer/mailertest": {},
	"ops":               {},
	"cmd/scimd":         {"*"},
	"cmd/scimbench":     {"store"},
	"deploy":            {},
}

type pkg struct {
	ImportPath  string
	Dir         string
	Imports     []string
	TestImports []string
	GoFiles     []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func TestDependencyRules(t *testing.T) {
	for _, p := range listPackages(t) {
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		if rel == "" {
			continue
		}
		rules, ok := allowed[rel]
		if !ok {
			t.Errorf("%s has no entry in the dependency rules: add one", rel)
			continue
		}
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			dep := strings.TrimPrefix(imp, module+"/")
			if strings.HasSuffix(dep, "test") {
				t.Errorf("%s imports %s outside its tests: test helpers are for _test.go files", rel, dep)
			}
			if len(rules) == 1 && rules[0] == "*" {
				continue
			}
			ok := false
			for _, r := range rules {
				ok = ok || r == dep
			}
			if !ok {
				t.Errorf("%s must not import %s (allowed: %v)", rel, dep, rules)
			}
		}
	}
}

// sources are the packages that take writes from outside (and their
// subpackages). They read through store.Reader and write through
// reconcile, so that every write has its audit event: none may hold a
// *store.DB or a *store.Tx, and so none can open a transaction.
var sources = []string{"scim", "admin", "jit", "csvio", "console"}

func isSource(rel string) bool {
	return slices.ContainsFunc(sources, func(s string) bool { return rel == s || strings.HasPrefix(rel, s+"/") })
}

// TestOnlyReconcileWrites type-checks every source package and fails on
// any expression, declaration or field whose type involves store.DB or
// store.Tx: a database held, a RunInTx called, a transaction received.
func TestOnlyReconcileWrites(t *testing.T) {
	n := 0
	for _, p := range typeChecked(t, "./...") {
		rel := strings.TrimPrefix(strings.TrimPrefix(p.PkgPath, module), "/")
		if !isSource(rel) {
			continue
		}
		n++
		for _, w := range writeAccess(p) {
			t.Errorf("%s: %s; a source reads through store.Reader and writes through reconcile", rel, w)
		}
	}
	if n == 0 {
		t.Fatal("no source package was checked")
	}
}

// TestWriteAccessFound checks the check: a package that holds the
// database and opens a transaction is caught.
func TestWriteAccessFound(t *testing.T) {
	pkgs := typeChecked(t, "./testdata/writer")
	got := writeAccess(pkgs[0])
	for _, want := range []string{"writer.go:13", "writer.go:17"} { // the field; the RunInTx call
		if !slices.ContainsFunc(got, func(w string) bool { return strings.Contains(w, want) }) {
			t.Errorf("write access at %s not found; found %q", want, got)
		}
	}
}

func typeChecked(t *testing.T, pattern string) []*packages.Package {
	t.Helper()
	pkgs, err := packages.Load(&packages.Config{Mode: packages.NeedName | packages.NeedFiles |
		packages.NeedSyntax | packages.NeedTypes | packages.NeedTypesInfo}, pattern)
	if err != nil {
		t.Fatal(err)
	}
	if packages.PrintErrors(pkgs) > 0 {
		t.Fatal("packages do not type-check")
	}
	return pkgs
}

// writeAccess lists where p uses a type that involves store.DB or
// store.Tx, one entry per line.
func writeAccess(p *packages.Package) []string {
	var out []string
	seen := map[string]bool{}
	note := func(pos token.Pos, typ types.Type) {
		if typ == nil || !writes(typ, map[types.Type]bool{}) {
			return
		}
		at := p.Fset.Position(pos)
		key := fmt.Sprintf("%s:%d", filepath.Base(at.Filename), at.Line)
		if !seen[key] {
			seen[key] = true
			out = append(out, fmt.Sprintf("%s uses %s", key, types.TypeString(typ, nil)))
		}
	}
	for e, tv := range p.TypesInfo.Types {
		note(e.Pos(), tv.Type)
	}
	for id, obj := range p.TypesInfo.Defs {
		if obj != nil {
			note(id.Pos(), obj.Type())
		}
	}
	slices.Sort(out)
	return out
}

// writes reports whether typ is, points to, or is built of (fields,
// parameters, results, elements) store.DB or store.Tx. Other named types
// are not looked into: a source may hold the engine, which holds the DB.
func writes(typ types.Type, seen map[types.Type]bool) bool {
	if seen[typ] {
		return false
	}
	seen[typ] = true
	switch t := typ.(type) {
	case *types.Named:
		o := t.Obj()
		return o.Pkg() != nil && o.Pkg().Path() == module+"/store" && (o.Name() == "DB" || o.Name() == "Tx")
	case *types.Pointer:
		return writes(t.Elem(), seen)
	case *types.Slice:
		return writes(t.Elem(), seen)
	case *types.Array:
		return writes(t.Elem(), seen)
	case *types.Chan:
		return writes(t.Elem(), seen)
	case *types.Map:
		return writes(t.Key(), seen) || writes(t.Elem(), seen)
	case *types.Signature:
		return writes(t.Params(), seen) || writes(t.Results(), seen)
	case *types.Tuple:
		for v := range t.Variables() {
			if writes(v.Type(), seen) {
				return true
			}
		}
	case *types.Struct:
		for f := range t.Fields() {
			if writes(f.Type(), seen) {
				return true
			}
		}
	}
	return false
}

// TestOnePackageDoc checks that every package has its doc comment in
// doc.go, and only there.
func TestOnePackageDoc(t *testing.T) {
	for _, p := range listPackages(t) {
		if p.ImportPath == module {
			continue
		}
		var docs []string
		for _, f := range p.GoFiles {
			file, err := parser.ParseFile(token.NewFileSet(), filepath.Join(p.Dir, f), nil, parser.PackageClauseOnly|parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			if file.Doc != nil {
				docs = append(docs, f)
			}
		}
		if len(docs) != 1 || docs[0] != "doc.go" {
			t.Errorf("%s: package doc comments in %v, want exactly one, in doc.go", p.ImportPath, docs)
		}
	}
}
