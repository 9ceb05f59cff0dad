package rules_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/reconcile/rules"
)

// TestDeletionGuardConfig: deletionGuard loads with its defaults, and
// each bad value is a problem at its line and column.
func TestDeletionGuardConfig(t *testing.T) {
	const file = "tenants:\n  - name: acme\n    connectors:\n      - name: okta\n        deletionGuard: "
	cfg, err := rules.Load("ok.yaml", []byte(file+"{count: 50, percent: 10, notify: [it@acme.org]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := cfg.Connector("acme", "okta")
	g := c.DeletionGuard
	if g == nil || g.Count != 50 || g.Percent != 10 || g.Window != time.Hour || len(g.Notify) != 1 {
		t.Fatalf("guard %+v", g)
	}
	for users, want := range map[int]int{100: 10, 1000: 50, 5: 1} {
		if got := g.Limit(users); got != want {
			t.Errorf("Limit(%d) = %d, want %d", users, got, want)
		}
	}
	for _, tc := range []struct {
		name, guard string
		col         int
		msg         string
	}{
		{"a count below 1", "{count: 0}", 32, "count must be a whole number"},
		{"a percent above 100", "{percent: 150}", 34, "percent must be a number"},
		{"a window too short", "{count: 5, window: 5s}", 43, "window must be a duration"},
		{"an address that is none", "{count: 5, notify: [it]}", 44, "not an email address"},
		{"neither count nor percent", "{window: 1h}", 24, "neither count nor percent"},
		{"an unknown key", "{count: 5, treshold: 3}", 35, `unknown key "treshold"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := rules.Load("bad.yaml", []byte(file+tc.guard+"\n"))
			var re *rules.Error
			if !errors.As(err, &re) || len(re.Problems) != 1 {
				t.Fatalf("want one problem, got %v", err)
			}
			p := re.Problems[0]
			if p.Line != 5 || p.Column != tc.col || !strings.Contains(p.Msg, tc.msg) {
				t.Errorf("problem %d:%d %q, want 5:%d containing %q", p.Line, p.Column, p.Msg, tc.col, tc.msg)
			}
		})
	}
}
