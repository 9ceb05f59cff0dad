package rules_test

import (
	"strings"
	"testing"

	"github.com/scimd/scimd/reconcile/rules"
)

// TestCSVLayout: a csv connector's layout loads with its fields folded to
// their names; a layout on another kind, an unknown field, a repeated
// header and an unknown empty are each a problem with its line.
func TestCSVLayout(t *testing.T) {
	cfg, err := rules.Load("x.yaml", []byte(`tenants:
  - name: acme
    connectors:
      - name: hr
        kind: csv
        csv:
          columns: {"E-mail": email, "First Name": first name, "Staff No": externalId}
          require: [email]
          empty: clear
`))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := cfg.Connector("acme", "hr")
	if c.Kind != rules.KindCSV || c.CSV == nil || c.CSV.Columns["First Name"] != "firstName" || c.CSV.Columns["E-mail"] != "email" ||
		c.CSV.Empty != "clear" || len(c.CSV.Require) != 1 {
		t.Fatalf("layout %+v", c.CSV)
	}
	_, err = rules.Load("x.yaml", []byte(`tenants:
  - name: acme
    connectors:
      - name: okta
        csv: {empty: keep}
      - name: hr
        kind: csv
        csv:
          columns: {"Mail": emial, "A": email, " a ": userName}
          require: [phone]
          empty: sometimes
`))
	for _, want := range []string{
		"x.yaml:5:14: connector \"okta\" has csv settings but is of kind scim",
		"x.yaml:9:29: connector \"hr\": csv.columns maps \"Mail\" to unknown field \"emial\" (hint: did you mean email?",
		"x.yaml:9:48: connector \"hr\": csv.columns repeats header \"a\"",
		"require names phone, which no column fills",
		"x.yaml:11:18: connector \"hr\": csv.empty is \"sometimes\"",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q in\n%v", want, err)
		}
	}
}
