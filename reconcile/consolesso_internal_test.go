package reconcile

import "testing"

// TestTopUnit: a console administrator's scope is the unit they hold
// that holds the others; units held apart have none, and are never
// widened to an ancestor nobody granted.
func TestTopUnit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		units []string
		want  string
		ok    bool
	}{
		{"no unit is the tenant", nil, "", true},
		{"one unit is it", []string{"Medicine/Radiology"}, "Medicine/Radiology", true},
		{"a unit and one below it is the upper one", []string{"Medicine/Radiology", "Medicine"}, "Medicine", true},
		{"the same unit in another case is one unit", []string{"Law", "law"}, "Law", true},
		{"a unit and two below it is the upper one, in any order", []string{"Medicine/A", "Medicine/B", "Medicine"}, "Medicine", true},
		{"two siblings have no scope (not their parent)", []string{"Medicine/A", "Medicine/B"}, "", false},
		{"two trees have no scope (not the tenant)", []string{"Medicine", "Law"}, "", false},
		{"a prefix of a name is no parent", []string{"Med", "Medicine"}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := topUnit(tc.units)
			if got != tc.want || ok != tc.ok {
				t.Errorf("topUnit(%q) = %q, %v; want %q, %v", tc.units, got, ok, tc.want, tc.ok)
			}
		})
	}
}
