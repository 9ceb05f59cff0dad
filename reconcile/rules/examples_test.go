package rules_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/scimd/scimd/reconcile/rules"
)

const examples = "../../schemas/examples"

// exampleFiles returns the example configurations IT admins copy.
func exampleFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(examples, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("found %d examples in %s, want okta, entra and school at least", len(files), examples)
	}
	return files
}

func loadFile(t *testing.T, file string) *rules.Config {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := rules.Load(file, data)
	if err != nil {
		t.Fatalf("load %s:\n%v", file, err)
	}
	return cfg
}

func TestExamplesLoad(t *testing.T) {
	for _, file := range exampleFiles(t) {
		t.Run(filepath.Base(file)+" loads without problems", func(t *testing.T) {
			cfg := loadFile(t, file)
			if len(cfg.Tenants) == 0 || len(cfg.Tenants[0].Connectors) == 0 || len(cfg.Tenants[0].Connectors[0].Rules) == 0 {
				t.Fatal("no tenant with a connector with rules: an example should show one")
			}
		})
	}
}

func TestSchoolExample(t *testing.T) {
	cfg := loadFile(t, filepath.Join(examples, "school.yaml"))
	okta, ok := cfg.Connector("school", "okta")
	if !ok {
		t.Fatal("school.yaml has no connector okta in tenant school")
	}

	t.Run("a student graduating in 2027 joins the Student group, the learner role and the cohort", func(t *testing.T) {
		r, err := okta.Eval(rules.Input{Source: "scim", UserType: "Student", GradYear: 2027, EntryYear: 2023})
		if err != nil {
			t.Fatal(err)
		}
		want := []rules.Grant{
			{Kind: rules.KindGroup, Name: "Student", Rule: "students"},
			{Kind: rules.KindRole, Name: "learner", Rule: "students"},
			{Kind: rules.KindGroup, Name: "Class of 2027", Rule: "cohort", SkipMissing: true},
		}
		if !slices.Equal(r.Grants, want) {
			t.Errorf("grants = %+v, want %+v", r.Grants, want)
		}
		if r.AccessEnd == nil || !r.AccessEnd.Value.Equal(time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("access end = %+v, want 2027-06-30 from rule cohort", r.AccessEnd)
		}
		if r.AccessStart == nil || !r.AccessStart.Value.Equal(time.Date(2023, 8, 15, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("access start = %+v, want 2023-08-15 from rule entry", r.AccessStart)
		}
		if !okta.RoleValid("learner", []string{"Student"}) || !okta.RoleValid("learner", []string{"student"}) || okta.RoleValid("learner", []string{"Faculty"}) {
			t.Error("learner should be valid with Student (in any case) only")
		}
	})

	t.Run("a radiology lecturer is placed in Medicine/Radiology", func(t *testing.T) {
		r, err := okta.Eval(rules.Input{Source: "scim", UserType: "Faculty", Department: "Radiology", Title: "Course Director, Anatomy"})
		if err != nil {
			t.Fatal(err)
		}
		if r.OrgUnit == nil || *r.OrgUnit != (rules.Value{Value: "Medicine/Radiology", Rule: "faculty-unit"}) {
			t.Errorf("org unit = %+v, want Medicine/Radiology from faculty-unit", r.OrgUnit)
		}
		want := []string{"faculty", "faculty-unit", "course-directors"}
		if !slices.Equal(r.Fired, want) {
			t.Errorf("fired = %v, want %v", r.Fired, want)
		}
	})

	t.Run("the registrar disables a withdrawn student and sets the student number as external ID", func(t *testing.T) {
		reg, ok := cfg.Connector("school", "registrar")
		if !ok {
			t.Fatal("no connector registrar")
		}
		r, err := reg.Eval(rules.Input{Source: "csv", Attributes: map[string]any{
			"Student Number": "S123", "Enrollment Status": "Withdrawn", "Program": "Nursing",
		}})
		if err != nil {
			t.Fatal(err)
		}
		if r.Status == nil || r.Status.Value != "disabled" || r.ExternalID == nil || r.ExternalID.Value != "S123" {
			t.Errorf("status = %+v, external ID = %+v; want disabled and S123", r.Status, r.ExternalID)
		}
		if r.OrgUnit == nil || r.OrgUnit.Value != "Nursing" {
			t.Errorf("org unit = %+v, want Nursing", r.OrgUnit)
		}
	})
}

func TestOktaAndEntraExamples(t *testing.T) {
	okta, ok := loadFile(t, filepath.Join(examples, "okta.yaml")).Connector("acme", "okta")
	if !ok {
		t.Fatal("okta.yaml has no connector okta in tenant acme")
	}
	entra, ok := loadFile(t, filepath.Join(examples, "entra.yaml")).Connector("acme", "entra")
	if !ok {
		t.Fatal("entra.yaml has no connector entra in tenant acme")
	}

	t.Run("an Okta engineer on cost centre ENG-PLATFORM lands in Engineering/PLATFORM and Team PLATFORM", func(t *testing.T) {
		r, err := okta.Eval(rules.Input{Source: "scim", UserType: "Employee", Department: "Engineering", CostCenter: "ENG-PLATFORM"})
		if err != nil {
			t.Fatal(err)
		}
		want := []rules.Grant{
			{Kind: rules.KindRole, Name: "employee", Rule: "employees"},
			{Kind: rules.KindGroup, Name: "Engineering", Rule: "engineering"},
			{Kind: rules.KindRole, Name: "engineer", Rule: "engineering"},
			{Kind: rules.KindOrgUnit, Name: "Engineering/PLATFORM", Rule: "engineering-unit"},
			{Kind: rules.KindGroup, Name: "Team PLATFORM", Rule: "engineering-team"},
		}
		if !slices.Equal(r.Grants, want) || len(r.Denied) != 0 {
			t.Errorf("grants = %+v, denied = %+v; want %+v", r.Grants, r.Denied, want)
		}
	})

	t.Run("an Okta support lead gets the support-lead role through the prefix wildcard", func(t *testing.T) {
		r, err := okta.Eval(rules.Input{Source: "scim", Department: "Support", Groups: []string{"Support Leads"}})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(r.Grants, rules.Grant{Kind: rules.KindRole, Name: "support-lead", Rule: "support", SkipMissing: true}) {
			t.Errorf("grants = %+v, want support-lead", r.Grants)
		}
	})

	t.Run("an Entra user in an unlisted department has the org unit denied", func(t *testing.T) {
		r, err := entra.Eval(rules.Input{Source: "scim", Department: "Marketing", Title: "Marketing Manager"})
		if err != nil {
			t.Fatal(err)
		}
		if r.OrgUnit != nil || len(r.Denied) != 1 || r.Denied[0].Name != "Marketing" || r.Denied[0].Kind != rules.KindOrgUnit {
			t.Errorf("org unit = %+v, denied = %+v; want Marketing denied", r.OrgUnit, r.Denied)
		}
		if !slices.Contains(r.Fired, "managers") {
			t.Errorf("fired = %v, want managers among them", r.Fired)
		}
	})
}
