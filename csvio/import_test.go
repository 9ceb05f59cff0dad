package csvio

import (
	"testing"
)

func TestParseAccept(t *testing.T) {
	for _, tc := range []struct {
		in       string
		accepted []int
		refused  []int
		bad      bool
	}{
		{in: "all", accepted: []int{2, 99}},
		{in: "ALL", accepted: []int{2}},
		{in: "none", refused: []int{2, 99}},
		{in: "4, 7", accepted: []int{4, 7}, refused: []int{2, 5}},
		{in: "4,x", bad: true},
		{in: "1", bad: true}, // line 1 is the header
		{in: "", bad: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			a, err := ParseAccept(tc.in)
			if (err != nil) != tc.bad {
				t.Fatalf("error %v, want bad %v", err, tc.bad)
			}
			if tc.bad {
				return
			}
			take := func(line int) bool { return a.all || a.lines[line] }
			for _, l := range tc.accepted {
				if !take(l) {
					t.Errorf("line %d refused", l)
				}
			}
			for _, l := range tc.refused {
				if take(l) {
					t.Errorf("line %d accepted", l)
				}
			}
			if !a.decided {
				t.Error("not decided")
			}
		})
	}
}

func TestProblemNamesLineAndColumn(t *testing.T) {
	for want, p := range map[string]Problem{
		"line 4, column 5 (email): not an email": {Line: 4, Column: 5, Header: "email", Message: "not an email"},
		"line 4: the same person as line 2":      {Line: 4, Message: "the same person as line 2"},
	} {
		if got := p.Error(); got != want {
			t.Errorf("%q, want %q", got, want)
		}
	}
}
