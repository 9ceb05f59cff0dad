package scim

import (
	"strings"
	"testing"
)

// TestRedact: the log never keeps a password, wherever a body puts it,
// and cuts long bodies with a marker.
func TestRedact(t *testing.T) {
	for _, c := range []struct {
		name, body string
		keeps      []string
	}{
		{"a User's password", `{"userName":"ann","password":"S3cret"}`, []string{`"userName":"ann"`, `"password":"(removed)"`}},
		{"in any case, with its URN", `{"urn:ietf:params:scim:schemas:core:2.0:User:PassWord":"S3cret"}`, []string{"(removed)"}},
		{"a PATCH operation's value", `{"Operations":[{"op":"replace","path":"password","value":"S3cret"},{"op":"replace","value":{"password":"S3cret","displayName":"A"}}]}`, []string{`"displayName":"A"`}},
		{"a Bulk operation's data", `{"Operations":[{"method":"POST","path":"/Users","data":{"userName":"b","password":"S3cret"}}]}`, []string{`"userName":"b"`}},
		{"spelt with an escape", `{"pass\u0077ord":"S3cret"}`, []string{"(removed)"}},
		{"not JSON", `{"password":"S3cret"`, []string{"not kept"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, truncated := redact([]byte(c.body), 1<<10)
			if strings.Contains(got, "S3cret") || truncated {
				t.Fatalf("kept %s (truncated %v)", got, truncated)
			}
			for _, k := range c.keeps {
				if !strings.Contains(got, k) {
					t.Errorf("%s lost %s", got, k)
				}
			}
		})
	}
	t.Run("a body without a password is kept as sent", func(t *testing.T) {
		body := `{"userName":"ann", "x":1}`
		if got, _ := redact([]byte(body), 1<<10); got != body {
			t.Fatalf("%s", got)
		}
	})
	t.Run("a long body is cut with a marker", func(t *testing.T) {
		got, truncated := redact([]byte(`{"userName":"`+strings.Repeat("é", 100)+`"}`), 50)
		if !truncated || !strings.HasSuffix(got, "…(truncated: 215 bytes)") || len(got) > 50+len("…(truncated: 215 bytes)") {
			t.Fatalf("%q %v", got, truncated)
		}
	})
}
