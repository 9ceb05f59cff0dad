package rules_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/scimd/scimd/reconcile/rules"
)

// FuzzLoad feeds Load mutations of the examples and goldens: it must
// never panic, must refuse with a *rules.Error listing problems, and what
// it accepts must evaluate without panicking.
func FuzzLoad(f *testing.F) {
	goldens, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range append(exampleFiles(f), goldens...) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	in := rules.Input{
		Source: "scim", UserName: "ada", UserType: "Student", Department: "Radiology", CostCenter: "ENG-X",
		GradYear: 2027, Groups: []string{"Engineering"}, Emails: []string{"ada@school.edu"},
		Attributes: map[string]any{"Student Number": "S1", "Program": "Nursing", "Enrollment Status": "Enrolled"},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := rules.Load("fuzz.yaml", data)
		if err != nil {
			lerr, ok := errors.AsType[*rules.Error](err)
			if !ok || len(lerr.Problems) == 0 {
				t.Fatalf("error %T %v, want a *rules.Error with problems", err, err)
			}
			return
		}
		for _, tn := range cfg.Tenants {
			for _, c := range tn.Connectors {
				_, _ = c.Eval(in) // errors are fine; panics are not
			}
		}
	})
}
