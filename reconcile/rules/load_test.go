package rules_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/scimd/scimd/reconcile/rules"
)

var update = flag.Bool("update", false, "rewrite testdata/*.want from the current output")

// header is a valid file up to the connector's rules; rules written after
// it start at line 13.
const header = `tenants:
  - name: school
    roles:
      - name: student
        groups: [Student]
    connectors:
      - name: okta
        allow:
          roles: [student]
          groups: [Student, "Class of *"]
          orgUnits: [Medicine]
        rules:
`

// problem is what a test expects of one [rules.Problem]: its position
// exactly, and words its message and hint contain.
type problem struct {
	line, col int
	msg, hint string
}

func loadProblems(t *testing.T, src string) []rules.Problem {
	t.Helper()
	cfg, err := rules.Load("school.yaml", []byte(src))
	if err == nil {
		t.Fatalf("loaded %+v, want problems", cfg)
	}
	lerr, ok := errors.AsType[*rules.Error](err)
	if !ok {
		t.Fatalf("error %T %v, want *rules.Error", err, err)
	}
	return lerr.Problems
}

func TestLoadProblems(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []problem
	}{
		{
			"comparing a string with an int is a type error at the operator",
			header + `          - name: r
            if: department == 3
`,
			[]problem{{14, 28, `rule "r": if: no == for (string, int)`, "both sides of == must have the same type"}},
		},
		{
			"a string condition is refused, saying bool was wanted",
			header + `          - name: r
            if: department
`,
			[]problem{{14, 17, `rule "r": if: expression has type string, want bool`, `department == "Radiology"`}},
		},
		{
			"an unknown variable is refused with the nearest one and the list",
			header + `          - name: r
            if: departmnt == "Radiology"
`,
			[]problem{{14, 17, `rule "r": if: undeclared name "departmnt"`, "did you mean department? variables: source, userName,"}},
		},
		{
			"an unknown variable inside a template is placed at its column",
			header + `          - name: r
            groups: ["Class of ${gradYaer}"]
`,
			[]problem{{14, 34, `rule "r": groups: undeclared name "gradYaer"`, "did you mean gradYear?"}},
		},
		{
			"an unknown variable in a block condition is placed on its own line",
			header + `          - name: r
            if: |
              userType == "Student" &&
                gradYaer > 0
`,
			[]problem{{16, 17, `undeclared name "gradYaer"`, "did you mean gradYear?"}},
		},
		{
			"a template in a condition is refused with how to write it",
			header + `          - name: r
            if: "${department} == 'Radiology'"
`,
			[]problem{{14, 17, `rule "r": if is a CEL expression, not a template`, "drop the ${ }"}},
		},
		{
			"a template expression of type list is refused",
			header + `          - name: r
            externalId: "id-${emails}"
`,
			[]problem{{14, 31, `rule "r": externalId: expression has type list(string), want string or int`, "emails[0]"}},
		},
		{
			"an unterminated template expression is refused",
			header + `          - name: r
            groups: ["Class of ${gradYear"]
`,
			[]problem{{14, 32, "unterminated ${", "$$"}},
		},
		{
			"an unknown key gets a did-you-mean hint",
			strings.Replace(header, "        allow:\n", "        emailDomain: [school.edu]\n        allow:\n", 1),
			[]problem{{8, 9, `unknown key "emailDomain" in connector`, "did you mean emailDomains?"}},
		},
		{
			"profile is refused, saying where the profile is set: the file never set it",
			strings.Replace(header, "        allow:\n", "        profile: okta\n        allow:\n", 1),
			[]problem{{8, 9, `key "profile" in connector is not used by scimd`, "scimd connector set"}},
		},
		{
			"a precedence of grants or external IDs is refused: it would do nothing",
			strings.Replace(header, "        allow:\n", "        precedence: {groups: [admin], externalId: [scim]}\n        allow:\n", 1),
			[]problem{
				{8, 22, `attribute "groups" in precedence is not used by scimd`, "grants need no precedence"},
				{8, 39, `attribute "externalId" in precedence is not used by scimd`, "each connector has its own external IDs"},
			},
		},
		{
			"a repeated rule name is refused at the second one",
			header + `          - name: r
            groups: [Student]
          - name: r
            roles: [student]
`,
			[]problem{{15, 19, `rule name "r" repeated`, "first used at line 13"}},
		},
		{
			"a literal group outside the allow-list is refused",
			header + `          - name: r
            groups: [Student, Admins]
`,
			[]problem{{14, 31, `rule "r": group "Admins" is not permitted by allow.groups of connector "okta"`, "add it to allow.groups"}},
		},
		{
			"a literal org unit outside the allow-list subtree is refused",
			header + `          - name: r
            orgUnit: Medicinex/Radiology
`,
			[]problem{{14, 22, `orgUnit "Medicinex/Radiology" is not permitted`, "add it, or a unit above it, to allow.orgUnits"}},
		},
		{
			"a literal role outside the allow-list and the catalogue is refused twice",
			header + `          - name: r
            roles: [dean]
`,
			[]problem{
				{14, 21, `role "dean" is not permitted by allow.roles`, "add it to allow.roles"},
				{14, 21, `role "dean" is not in the role catalogue of tenant "school"`, "set create.roles: true"},
			},
		},
		{
			"a literal status other than active, disabled or pending is refused",
			header + `          - name: r
            status: enabled
`,
			[]problem{{14, 21, `rule "r": unknown status "enabled"`, "use active, disabled or pending"}},
		},
		{
			"a literal access time that does not parse is refused",
			header + `          - name: r
            accessEnd: 30/06/2030
`,
			[]problem{{14, 24, `rule "r": accessEnd: "30/06/2030" is not a time`, `"2030-06-30"`}},
		},
		{
			"an unknown precedence attribute and source are refused",
			strings.Replace(header, "        rules:\n", "        precedence:\n          nmae: [scim]\n          roles: [scim, amdin]\n        rules:\n", 1),
			[]problem{
				{13, 11, `unknown attribute "nmae" in precedence`, "did you mean name?"},
				{14, 25, `unknown source "amdin" in precedence.roles`, "did you mean admin?"},
			},
		},
		{
			"a repeated tenant name is refused",
			header + "  - name: school\n",
			[]problem{{13, 11, `tenant name "school" repeated`, "first used at line 2"}},
		},
		{
			"a YAML syntax error is reported at its line, not the line yaml names, and where on it the file stops parsing",
			header + "          - name: [r\n",
			[]problem{{13, 20, "YAML syntax: did not find expected ',' or ']'", "indentation"}},
		},
		{
			"a tab in the indentation is reported at its line and column",
			header + "          - name: r\n\t    groups: [Student]\n",
			[]problem{{14, 1, "YAML syntax: found a tab character", ""}},
		},
		{
			"a second colon on a line is reported at that colon",
			header + "          - name: r: s\n",
			[]problem{{13, 20, "YAML syntax: mapping values are not allowed", ""}},
		},
		{
			"an unterminated quoted string is reported where it starts, at its quote",
			header + "          - name: r\n            if: \"abc\n          - name: s\n",
			[]problem{{14, 17, "YAML syntax", ""}},
		},
		{
			"several problems in one file are reported together, in file order",
			`tenants:
  - name: school
    connectors:
      - name: okta
        match: [externalId, phone]
        require: [group, manager]
        loginName: firstlast
        allow:
          groups: ["Class * of"]
          orgUnits: ["Medicine/*"]
        rules:
          - if: gradYear > 0
            groups: ["Class of ${gradYear}"]
          - name: two
            if: source = "scim"
            skipMissing: yes
            status: "${department"
`,
			[]problem{
				{5, 29, `unknown match key "phone" in match`, "match keys: externalId, userName, email"},
				{6, 26, `unknown requirement "manager"`, "requirements: group, role"},
				{7, 20, `unknown loginName "firstlast"`, "first.last"},
				{9, 20, `allow.groups entry "Class * of" has * before its end`, "trailing *"},
				{10, 22, `allow.orgUnits entry "Medicine/*" has a wildcard`, "every unit below it"},
				{12, 13, "rule has no name", "add name:"},
				{15, 24, "Syntax error", "compare with =="},
				{16, 26, "skipMissing must be true or false", ""},
				{17, 21, "unterminated ${", ""},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := loadProblems(t, tt.src)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(got), len(tt.want), &rules.Error{Problems: got})
			}
			for i, w := range tt.want {
				g := got[i]
				if g.File != "school.yaml" || g.Line != w.line || g.Column != w.col ||
					!strings.Contains(g.Msg, w.msg) || !strings.Contains(g.Hint, w.hint) {
					t.Errorf("problem %d:\n got %s\nwant school.yaml:%d:%d: …%s… (hint: …%s…)", i, g, w.line, w.col, w.msg, w.hint)
				}
			}
		})
	}
}

// TestLoadGoldens loads each testdata/*.yaml and compares the error it
// gives (or "ok") with the .want file beside it; -update rewrites those.
func TestLoadGoldens(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no goldens in testdata (%v)", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(strings.ReplaceAll(name, "-", " "), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			got := "ok\n"
			if _, err := rules.Load(filepath.Base(file), data); err != nil {
				got = err.Error() + "\n"
			}
			wantFile := strings.TrimSuffix(file, ".yaml") + ".want"
			if *update {
				if err := os.WriteFile(wantFile, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(wantFile)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("load %s:\n got:\n%s\nwant:\n%s", file, got, want)
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	e := &rules.Error{Problems: []rules.Problem{
		{File: "c.yaml", Line: 3, Column: 7, Msg: "unknown key \"x\"", Hint: "did you mean y?"},
		{File: "c.yaml", Line: 4, Msg: "YAML syntax: bad"},
	}}
	want := "c.yaml:3:7: unknown key \"x\" (hint: did you mean y?)\nc.yaml:4: YAML syntax: bad"
	if got := e.Error(); got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}
}

func TestLoadAccepts(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		check func(t *testing.T, cfg *rules.Config)
	}{
		{"an empty file is an empty configuration", "", func(t *testing.T, cfg *rules.Config) {
			if len(cfg.Tenants) != 0 {
				t.Errorf("tenants = %v, want none", cfg.Tenants)
			}
		}},
		{"a connector without match gets the default order and lower-cased domains", header + "          - name: r\n            groups: [Student]\n", func(t *testing.T, cfg *rules.Config) {
			c, ok := cfg.Connector("school", "okta")
			if !ok {
				t.Fatal("no connector okta")
			}
			if want := rules.Default("school", "okta").Match; !slices.Equal(c.Match, want) {
				t.Errorf("match = %v, want %v", c.Match, want)
			}
			if len(c.Roles) != 1 || c.Roles[0].Name != "student" || c.Rules[0].Line != 13 {
				t.Errorf("roles = %v, rule line = %d; want the catalogue and line 13", c.Roles, c.Rules[0].Line)
			}
		}},
		{"aliases reuse an allow-list", `tenants:
  - name: acme
    connectors:
      - name: a
        allow: &allow
          groups: [Staff]
        rules: [{name: r, groups: [Staff]}]
      - name: b
        allow: *allow
        rules: [{name: r, groups: [Staff]}]
`, func(t *testing.T, cfg *rules.Config) {
			b, ok := cfg.Connector("acme", "b")
			if !ok || !b.Allow.Permits(rules.KindGroup, "Staff") {
				t.Errorf("connector b = %+v, want allow.groups [Staff]", b)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := rules.Load("c.yaml", []byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, cfg)
		})
	}
	if _, ok := (&rules.Config{}).Connector("school", "okta"); ok {
		t.Error("an empty configuration has a connector")
	}
}

// TestWritePolicies: precedence entries and rules carry write policies;
// an unknown policy, or an entry naming two writers, is refused at its
// line and column.
func TestWritePolicies(t *testing.T) {
	cfg, err := rules.Load("c.yaml", []byte(`tenants:
  - name: acme
    connectors:
      - name: okta
        precedence:
          title: [hr, {okta: onCreate}]
          nickName: [{scim: ifEmpty}, admin]
        rules:
          - name: starter
            write: onCreate
          - name: plain
      - name: hr
        kind: csv
`))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := cfg.Connector("acme", "okta")
	for _, tc := range []struct {
		attr string
		w    rules.Writer
		want string
	}{
		{"title", rules.Writer{Source: "scim", Connector: "okta"}, rules.WriteOnCreate},
		{"title", rules.Writer{Source: "csv", Connector: "hr"}, rules.WriteAlways},
		{"nickName", rules.Writer{Source: "scim", Connector: "okta"}, rules.WriteIfEmpty},
		{"nickName", rules.Writer{Source: "admin"}, rules.WriteAlways},
		{"displayName", rules.Writer{Source: "scim", Connector: "okta"}, rules.WriteAlways},
	} {
		if got := c.WritePolicy(tc.attr, tc.w); got != tc.want {
			t.Errorf("WritePolicy(%s, %+v) = %s, want %s", tc.attr, tc.w, got, tc.want)
		}
	}
	if !slices.Equal(c.Precedence["title"], []string{"hr", "okta"}) || !c.Outranks("title", rules.Writer{Connector: "hr"}, rules.Writer{Connector: "okta"}) {
		t.Errorf("precedence %v", c.Precedence)
	}
	if c.RuleWrite("starter") != rules.WriteOnCreate || c.RuleWrite("plain") != rules.WriteAlways || c.RuleWrite("given groups") != rules.WriteAlways {
		t.Errorf("rule policies %s, %s", c.RuleWrite("starter"), c.RuleWrite("plain"))
	}

	_, err = rules.Load("c.yaml", []byte(`tenants:
  - name: acme
    connectors:
      - name: okta
        precedence:
          title: [{okta: onCreat}]
          nickName: [{okta: ifEmpty, scim: always}]
        rules:
          - name: r
            write: sometimes
`))
	for _, want := range []string{
		`c.yaml:6:26: unknown write policy "onCreat" in precedence.title`,
		`c.yaml:7:22: precedence.nickName: an entry with a write policy names one writer`,
		`c.yaml:10:20: rule "r": unknown write policy "sometimes"`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v\nwant it to say %s", err, want)
		}
	}
}

// TestTenantSource: a tenant's section of a file of several, written as a
// configuration of its own, keeps its comments and loads as it did.
func TestTenantSource(t *testing.T) {
	src := `tenants:
  - name: other
    connectors: [{name: okta}]
  # the school's own
  - name: school
    connectors:
      - name: okta
        allow: {groups: [Staff]}
        rules:
          # everyone at the school is staff
          - name: staff
            if: email.endsWith("@school.example")
            groups: [Staff]
`
	cfg, err := rules.Load("all.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	school, _ := cfg.Tenant("school")
	if strings.Contains(school.Source, "other") || !strings.Contains(school.Source, "# everyone at the school is staff") {
		t.Fatalf("source:\n%s", school.Source)
	}
	again, err := rules.Load("school.yaml", []byte(school.Source))
	if err != nil {
		t.Fatalf("the source does not load: %v\n%s", err, school.Source)
	}
	c, _ := again.Connector("school", "okta")
	if len(again.Tenants) != 1 || len(c.Rules) != 1 || c.Rules[0].Name != "staff" || !c.Allow.Permits(rules.KindGroup, "Staff") {
		t.Fatalf("loaded from the source: %+v", again.Tenants[0])
	}
}
