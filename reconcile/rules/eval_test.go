package rules_test

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/reconcile/rules"
)

// evalHeader is a connector whose rules a test appends, indented for a
// "rules:" list.
const evalHeader = `tenants:
  - name: school
    roles:
      - name: learner
        groups: [Student]
      - name: admin
    connectors:
      - name: okta
        emailDomains: [School.EDU]
        create: {roles: true}
        allow:
          roles: [learner, "staff-*"]
          groups: [Student, Faculty, "Class of *"]
          orgUnits: [Medicine]
        precedence:
          name: [scim, admin]
        rules:
`

func connector(t *testing.T, ruleYAML string) *rules.Connector {
	t.Helper()
	cfg, err := rules.Load("eval.yaml", []byte(evalHeader+ruleYAML))
	if err != nil {
		t.Fatalf("load:\n%v", err)
	}
	c, ok := cfg.Connector("school", "okta")
	if !ok {
		t.Fatal("no connector okta")
	}
	return c
}

func group(name, rule string) rules.Grant {
	return rules.Grant{Kind: rules.KindGroup, Name: name, Rule: rule}
}

func TestEval(t *testing.T) {
	tests := []struct {
		name  string
		rules string
		in    rules.Input
		want  rules.Result
	}{
		{
			"a rule without if always fires",
			`          - name: all
            groups: [Student]
`,
			rules.Input{},
			rules.Result{Fired: []string{"all"}, Grants: []rules.Grant{group("Student", "all")}},
		},
		{
			"a rule whose condition is false neither fires nor grants",
			`          - name: faculty
            if: userType == "Faculty"
            groups: [Faculty]
`,
			rules.Input{UserType: "Student"},
			rules.Result{},
		},
		{
			"conditions see the groups the user is in and what the source sent",
			`          - name: r
            if: >-
              "Engineering" in groups && attributes.team.lead == true &&
              has(attributes.team.name) && source == "scim"
            groups: [Faculty]
`,
			rules.Input{Source: "scim", Groups: []string{"Engineering"}, Attributes: map[string]any{
				"team": map[string]any{"lead": true, "name": "Platform"},
			}},
			rules.Result{Fired: []string{"r"}, Grants: []rules.Grant{group("Faculty", "r")}},
		},
		{
			"templates concatenate literals, strings and ints, and $$ is a literal $",
			`          - name: r
            groups: ["Class of ${gradYear}"]
            externalId: "${source}-${employeeNumber.lowerAscii()}-$${x}"
`,
			rules.Input{Source: "csv", GradYear: 2027, EmployeeNumber: "E7"},
			rules.Result{
				Fired:      []string{"r"},
				Grants:     []rules.Grant{group("Class of 2027", "r")},
				ExternalID: &rules.Value{Value: "csv-e7-${x}", Rule: "r"},
			},
		},
		{
			"an integral JSON number from attributes prints as an int",
			`          - name: r
            groups: ["Class of ${attributes.year}"]
`,
			rules.Input{Attributes: map[string]any{"year": float64(2027)}},
			rules.Result{Fired: []string{"r"}, Grants: []rules.Grant{group("Class of 2027", "r")}},
		},
		{
			"a template yielding the empty string grants and sets nothing",
			`          - name: r
            groups: ["${department}"]
            orgUnit: "${department}"
            status: "${title}"
`,
			rules.Input{},
			rules.Result{Fired: []string{"r"}},
		},
		{
			"a grant two rules name is kept once, from the first",
			`          - name: first
            groups: [Student]
            roles: [learner]
          - name: second
            skipMissing: true
            groups: [Student, "Class of ${gradYear}"]
            roles: [learner]
`,
			rules.Input{GradYear: 2030},
			rules.Result{Fired: []string{"first", "second"}, Grants: []rules.Grant{
				group("Student", "first"),
				{Kind: rules.KindRole, Name: "learner", Rule: "first"},
				{Kind: rules.KindGroup, Name: "Class of 2030", Rule: "second", SkipMissing: true},
			}},
		},
		{
			"a templated grant the allow-list refuses is denied, the permitted ones granted",
			`          - name: r
            groups: ["Class of ${gradYear}", "${department}"]
            roles: ["staff-${title}", "${title}"]
`,
			rules.Input{GradYear: 2027, Department: "Admins", Title: "lead"},
			rules.Result{
				Fired: []string{"r"},
				Grants: []rules.Grant{
					group("Class of 2027", "r"),
					{Kind: rules.KindRole, Name: "staff-lead", Rule: "r"},
				},
				Denied: []rules.Grant{
					{Kind: rules.KindGroup, Name: "Admins", Rule: "r", Reason: `allow.groups of connector "okta" does not permit it`},
					{Kind: rules.KindRole, Name: "lead", Rule: "r", Reason: `allow.roles of connector "okta" does not permit it`},
				},
			},
		},
		{
			"an org unit is cleaned of empty segments, granted and set",
			`          - name: unit
            orgUnit: "/Medicine// ${department} /"
            skipMissing: true
`,
			rules.Input{Department: "Radiology"},
			rules.Result{
				Fired:   []string{"unit"},
				Grants:  []rules.Grant{{Kind: rules.KindOrgUnit, Name: "Medicine/Radiology", Rule: "unit", SkipMissing: true}},
				OrgUnit: &rules.Value{Value: "Medicine/Radiology", Rule: "unit"},
			},
		},
		{
			"an org unit outside the allowed subtree is denied and not set",
			`          - name: unit
            orgUnit: "${department}"
`,
			rules.Input{Department: "Medicinex"},
			rules.Result{
				Fired:  []string{"unit"},
				Denied: []rules.Grant{{Kind: rules.KindOrgUnit, Name: "Medicinex", Rule: "unit", Reason: `allow.orgUnits of connector "okta" does not permit it`}},
			},
		},
		{
			"two rules setting the same status agree, and the first is credited",
			`          - name: a
            status: disabled
          - name: b
            status: "${title}"
`,
			rules.Input{Title: "disabled"},
			rules.Result{Fired: []string{"a", "b"}, Status: &rules.Value{Value: "disabled", Rule: "a"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := connector(t, tt.rules).Eval(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %s\nwant %s", show(got), show(tt.want))
			}
		})
	}
}

// show prints a Result with its pointers followed.
func show(r rules.Result) string {
	deref := func(v *rules.Value) any {
		if v == nil {
			return nil
		}
		return *v
	}
	return fmt.Sprintf("fired %v grants %+v denied %+v orgUnit %+v status %+v externalId %+v",
		r.Fired, r.Grants, r.Denied, deref(r.OrgUnit), deref(r.Status), deref(r.ExternalID))
}

func TestEvalErrors(t *testing.T) {
	many := make([]string, 200)
	for i := range many {
		many[i] = "g"
	}
	tests := []struct {
		name  string
		rules string
		in    rules.Input
		want  []string // words the error contains
	}{
		{
			"two rules setting different org units conflict",
			`          - name: radiology
            orgUnit: Medicine/Radiology
          - name: dept
            orgUnit: "Medicine/${department}"
`,
			rules.Input{Department: "Surgery"},
			[]string{`rule "dept"`, `orgUnit "Medicine/Surgery" conflicts with "Medicine/Radiology" set by rule "radiology"`},
		},
		{
			"two rules setting different external IDs conflict",
			`          - name: a
            externalId: "${employeeNumber}"
          - name: b
            externalId: "${userName}"
`,
			rules.Input{EmployeeNumber: "E1", UserName: "ada"},
			[]string{`rule "b"`, "externalId", `set by rule "a"`},
		},
		{
			"two rules setting different access ends conflict",
			`          - name: a
            accessEnd: "2030-06-30"
          - name: b
            accessEnd: "2031-06-30"
`,
			rules.Input{},
			[]string{`rule "b"`, "accessEnd", `set by rule "a"`},
		},
		{
			"a templated status other than active, disabled or pending fails",
			`          - name: r
            status: "${title}"
`,
			rules.Input{Title: "enabled"},
			[]string{`rule "r": status: "enabled" is not active, disabled or pending`},
		},
		{
			"a templated time that does not parse fails, naming the rule",
			`          - name: r
            accessStart: "${attributes['start']}"
`,
			rules.Input{Attributes: map[string]any{"start": "30/06/2030"}},
			[]string{`rule "r": accessStart: "30/06/2030" is not a time`},
		},
		{
			"reading an attribute the source did not send fails, naming the rule",
			`          - name: r
            if: attributes['Program'] == "Nursing"
`,
			rules.Input{},
			[]string{`rule "r": if:`, "no such key"},
		},
		{
			"a condition over attributes that is not a bool fails",
			`          - name: r
            if: attributes.flag
`,
			rules.Input{Attributes: map[string]any{"flag": "yes"}},
			[]string{`rule "r": if: condition yields a string, want a bool`},
		},
		{
			"a template over attributes that yields a list fails",
			`          - name: r
            groups: ["${attributes.list}"]
`,
			rules.Input{Attributes: map[string]any{"list": []any{"a"}}},
			[]string{`rule "r": groups:`, "want a string or an int"},
		},
		{
			"an expression over its cost budget fails",
			`          - name: r
            if: groups.all(a, groups.all(b, groups.all(c, a == b && b == c)))
`,
			rules.Input{Groups: many},
			[]string{`rule "r": if:`, "cost limit exceeded"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := connector(t, tt.rules).Eval(tt.in)
			if err == nil {
				t.Fatalf("got %s, want an error", show(r))
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestEvalTimes(t *testing.T) {
	end := time.Date(2030, 6, 30, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		in   any
		want time.Time
	}{
		{"RFC 3339 keeps its offset", "2030-06-30T17:00:00+02:00", time.Date(2030, 6, 30, 15, 0, 0, 0, time.UTC)},
		{"RFC 3339 with fractional seconds parses", "2030-06-30T17:00:00.5Z", time.Date(2030, 6, 30, 17, 0, 0, 5e8, time.UTC)},
		{"a date and minutes are UTC", "2030-06-30 17:00", time.Date(2030, 6, 30, 17, 0, 0, 0, time.UTC)},
		{"a date is midnight UTC", "2030-06-30", end},
		{"Unix seconds as text parse", strconv.FormatInt(end.Unix(), 10), end},
		{"Unix seconds as a JSON number parse", float64(end.Unix()), end},
	}
	c := connector(t, `          - name: r
            accessStart: "${attributes.t}"
            accessEnd: "${entryYear}"
`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := c.Eval(rules.Input{Attributes: map[string]any{"t": tt.in}, EntryYear: end.Unix()})
			if err != nil {
				t.Fatal(err)
			}
			if r.AccessStart == nil || !r.AccessStart.Value.Equal(tt.want) || r.AccessStart.Rule != "r" {
				t.Errorf("access start = %+v, want %v from rule r", r.AccessStart, tt.want)
			}
			if r.AccessEnd == nil || !r.AccessEnd.Value.Equal(end) {
				t.Errorf("access end = %+v, want %v (an int template is Unix seconds)", r.AccessEnd, end)
			}
		})
	}
	t.Run("two rules naming the same instant in different formats agree", func(t *testing.T) {
		c := connector(t, `          - name: a
            accessEnd: "2030-06-30"
          - name: b
            accessEnd: "2030-06-30T02:00:00+02:00"
`)
		r, err := c.Eval(rules.Input{})
		if err != nil || r.AccessEnd == nil || r.AccessEnd.Rule != "a" {
			t.Fatalf("access end = %+v, %v; want 2030-06-30 from rule a", r.AccessEnd, err)
		}
	})
}

func TestPermits(t *testing.T) {
	a := rules.Allow{
		Roles:    []string{"learner", "staff-*"},
		Groups:   []string{"Student", "Class of *"},
		OrgUnits: []string{"Medicine", "Nursing/Adult"},
	}
	tests := []struct {
		kind rules.Kind
		name string
		want bool
	}{
		{rules.KindRole, "learner", true},
		{rules.KindRole, "learners", false},
		{rules.KindRole, "staff-lead", true},
		{rules.KindRole, "staff", false},
		{rules.KindGroup, "Student", true},
		{rules.KindGroup, "student", false},
		{rules.KindGroup, "Class of 2027", true},
		{rules.KindGroup, "Class of", false},
		{rules.KindGroup, "learner", false},
		{rules.KindOrgUnit, "Medicine", true},
		{rules.KindOrgUnit, "Medicine/Radiology", true},
		{rules.KindOrgUnit, "/Medicine//Radiology/", true},
		{rules.KindOrgUnit, "Medicinex", false},
		{rules.KindOrgUnit, "Nursing", false},
		{rules.KindOrgUnit, "Nursing/Adult/Night", true},
		{rules.KindOrgUnit, "", false},
		{rules.Kind("user"), "Student", false},
	}
	for _, tt := range tests {
		verb := " does not permit "
		if tt.want {
			verb = " permits "
		}
		t.Run("the allow-list"+verb+string(tt.kind)+" "+tt.name, func(t *testing.T) {
			if got := a.Permits(tt.kind, tt.name); got != tt.want {
				t.Errorf("Permits(%s, %q) = %v", tt.kind, tt.name, got)
			}
		})
	}
	t.Run("an empty allow-list permits nothing and * permits every name", func(t *testing.T) {
		if (rules.Allow{}).Permits(rules.KindGroup, "Student") || !(rules.Allow{Groups: []string{"*"}}).Permits(rules.KindGroup, "Anything") {
			t.Error("wrong")
		}
	})
}

func TestConnectorPolicies(t *testing.T) {
	c := connector(t, "")
	t.Run("a listed source outranks a lower or an unlisted one, and nothing else", func(t *testing.T) {
		for _, tt := range []struct {
			attr, a, b string
			want       bool
		}{
			{"name", "scim", "admin", true},
			{"name", "admin", "scim", false},
			{"name", "admin", "csv", true},
			{"name", "csv", "scim", false},
			{"name", "csv", "oidc", false},
			{"name", "scim", "scim", false},
			{"title", "scim", "admin", false},
		} {
			if got := c.Outranks(tt.attr, rules.Writer{Source: tt.a}, rules.Writer{Source: tt.b}); got != tt.want {
				t.Errorf("Outranks(%s, %s, %s) = %v, want %v", tt.attr, tt.a, tt.b, got, tt.want)
			}
		}
	})
	t.Run("a role is valid with one of its groups, and an uncatalogued role with any", func(t *testing.T) {
		for _, tt := range []struct {
			role   string
			groups []string
			want   bool
		}{
			{"learner", []string{"Faculty", "Student"}, true},
			{"learner", []string{"Faculty"}, false},
			{"learner", nil, false},
			{"admin", nil, true},
			{"dean", []string{"Faculty"}, true},
		} {
			if got := c.RoleValid(tt.role, tt.groups); got != tt.want {
				t.Errorf("RoleValid(%s, %v) = %v, want %v", tt.role, tt.groups, got, tt.want)
			}
		}
	})
	t.Run("the connector vouches for its domains only, whatever the case", func(t *testing.T) {
		for _, tt := range []struct {
			email string
			want  bool
		}{
			{"ada@school.edu", true},
			{"Ada@SCHOOL.edu", true},
			{"ada@sub.school.edu", false},
			{"ada@school.edu.example", false},
			{"school.edu", false},
			{"ada@", false},
			{"", false},
		} {
			if got := c.Vouches(tt.email); got != tt.want {
				t.Errorf("Vouches(%q) = %v, want %v", tt.email, got, tt.want)
			}
		}
	})
	t.Run("an unconfigured connector matches by default, allows and maps nothing", func(t *testing.T) {
		d := rules.Default("acme", "okta")
		want := []rules.MatchKey{rules.MatchExternalID, rules.MatchUserName, rules.MatchEmail}
		if d.Tenant != "acme" || d.Name != "okta" || !reflect.DeepEqual(d.Match, want) ||
			d.Require != (rules.Require{}) || d.Create != (rules.Create{}) || d.Allow.Permits(rules.KindGroup, "x") || d.Vouches("a@b.c") {
			t.Errorf("Default = %+v", d)
		}
		r, err := d.Eval(rules.Input{UserName: "ada"})
		if err != nil || !reflect.DeepEqual(r, rules.Result{}) {
			t.Errorf("Eval = %+v, %v; want nothing", r, err)
		}
	})
}

func TestEvalIsSafeForConcurrentUse(t *testing.T) {
	c := connector(t, `          - name: cohort
            if: gradYear > 0
            groups: ["Class of ${gradYear}"]
`)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				year := int64(2000 + i*100 + j)
				r, err := c.Eval(rules.Input{GradYear: year})
				if err != nil || len(r.Grants) != 1 || r.Grants[0].Name != "Class of "+strconv.FormatInt(year, 10) {
					t.Errorf("year %d: %+v, %v", year, r.Grants, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestReads(t *testing.T) {
	cfg, err := rules.Load("reads.yaml", []byte(`
tenants:
  - name: acme
    roles: [{name: eng}]
    connectors:
      - name: okta
        allow: {roles: [eng]}
        rules:
          - name: eng
            if: '"Engineering" in groups'
            roles: [eng]
      - name: entra
        allow: {roles: [eng]}
        rules:
          - name: dept
            if: department == "groups"
            roles: ["${title}"]
`))
	if err != nil {
		t.Fatal(err)
	}
	okta, _ := cfg.Connector("acme", "okta")
	entra, _ := cfg.Connector("acme", "entra")
	for _, c := range []struct {
		c    *rules.Connector
		name string
		want bool
	}{{okta, "groups", true}, {okta, "department", false}, {entra, "groups", false}, {entra, "department", true}, {entra, "title", true}} {
		if got := c.c.Reads(c.name); got != c.want {
			t.Errorf("connector %s reads %s: %v, want %v", c.c.Name, c.name, got, c.want)
		}
	}
}

func TestExtensions(t *testing.T) {
	t.Run("a tenant's extension is read with its attributes", func(t *testing.T) {
		cfg, err := rules.Load("ext.yaml", []byte(`
tenants:
  - name: school
    extensions:
      - schema: urn:ietf:params:scim:schemas:extension:school:2.0:User
        attributes:
          - {name: gradYear, type: integer}
          - {name: tags, multiValued: true, caseExact: true}
`))
		if err != nil {
			t.Fatal(err)
		}
		tn, _ := cfg.Tenant("school")
		want := []rules.ExtensionAttribute{{Name: "gradYear", Type: "integer"}, {Name: "tags", Type: "string", MultiValued: true, CaseExact: true}}
		if len(tn.Extensions) != 1 || !slices.Equal(tn.Extensions[0].Attributes, want) {
			t.Fatalf("extensions %+v", tn.Extensions)
		}
	})
	for _, c := range []struct{ name, yaml, want string }{
		{"a schema that is not a URN", "      - schema: school\n        attributes: [{name: x}]\n", `ext.yaml:5:17: extension schema "school" is not a URN`},
		{"the enterprise schema", "      - schema: urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\n        attributes: [{name: x}]\n", "is one scimd serves already"},
		{"an unknown type", "      - schema: urn:x:2.0:User\n        attributes: [{name: x, type: int}]\n", `ext.yaml:6:38: unknown attribute type "int"`},
		{"a bad attribute name", "      - schema: urn:x:2.0:User\n        attributes: [{name: 2x}]\n", `attribute name "2x" is not a SCIM attribute name`},
		{"no attributes", "      - schema: urn:x:2.0:User\n", "declares no attributes"},
		{"a repeated schema", "      - schema: urn:x:2.0:User\n        attributes: [{name: x}]\n      - schema: URN:X:2.0:User\n        attributes: [{name: y}]\n", "repeated"},
	} {
		t.Run("refuses "+c.name, func(t *testing.T) {
			_, err := rules.Load("ext.yaml", []byte("\ntenants:\n  - name: school\n    extensions:\n"+c.yaml))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
}
