// Package scimd_test holds the repository-wide policy tests: which
// package may import which, and one package doc per package.
package scimd_test

import (
	"encoding/json"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/scimd/scimd"

// allowed lists, for each package, the packages of ours it may import.
// These arrows are policy (see DESIGN.md): fix the code, not this table.
var allowed = map[string][]string{
	"schemas":         {},
	"store":           {},
	"store/storetest": {"store"},
	"reconcile":       {"store", "schemas", "reconcile/rules"},
	"reconcile/rules": {},
	"scim":            {"reconcile", "store", "schemas", "scim/patch", "scim/dialect"},
	"scim/patch":      {},
	"scim/dialect":    {"scim/patch"},
	"jit":             {"reconcile", "store"},
	"csvio":           {"reconcile", "store", "schemas"},
	"admin":           {"reconcile", "reconcile/rules", "store"},
	"cmd/scimd":       {"*"},
}

type pkg struct {
	ImportPath  string
	Dir         string
	Imports     []string
	TestImports []string
	GoFiles     []string
}

func packages(t *testing.T) []pkg {
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
	for _, p := range packages(t) {
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

// TestOnePackageDoc checks that every package has its doc comment in
// doc.go, and only there.
func TestOnePackageDoc(t *testing.T) {
	for _, p := range packages(t) {
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
