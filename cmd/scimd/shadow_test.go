package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/scimd/scimd/store/storetest"
)

// TestConnectorShadowMode: scimd connector set --mode shadow makes a
// connector's writes plans only; scimd connector shadow reports them;
// --mode live is one command, and --clear empties the log.
func TestConnectorShadowMode(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		entra := newToken(t, dsn, "acme", "entra")
		hr := newToken(t, dsn, "acme", "hr")
		db := []string{"--tenant", "acme", "--connector", "entra", "--database-url", dsn}
		if code, _, errOut := scimd(t, nil, append([]string{"connector", "set", "--mode", "dry"}, db...)...); code != 2 || !strings.Contains(errOut, "live or shadow") {
			t.Fatalf("--mode dry: %d %s", code, errOut)
		}
		if code, _, errOut := scimd(t, nil, append([]string{"connector", "set", "--mode", "shadow"}, db...)...); code != 0 || !strings.Contains(errOut, "shadow mode") {
			t.Fatalf("--mode shadow: %d %s", code, errOut)
		}

		addr := freeAddr(t)
		stop := serveInBackground(t, map[string]string{"SCIMD_DATABASE_URL": dsn, "SCIMD_ADDR": addr})
		defer stop()
		base := "http://" + addr + "/scim/v2/acme"
		user := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"%s"}`
		if status, body := call(t, "POST", base+"/Users", entra, strings.Replace(user, "%s", "ada", 1)); status != 201 {
			t.Fatalf("shadow POST: %d %s", status, body)
		}
		if status, body := call(t, "GET", base+"/Users", hr, ""); status != 200 || !strings.Contains(body, `"totalResults":0`) {
			t.Fatalf("the shadow connector wrote a user: %d %s", status, body)
		}

		code, out, errOut := scimd(t, nil, append([]string{"connector", "shadow"}, db...)...)
		var sum struct {
			Mode    string
			Plans   int
			Creates map[string]int
		}
		if err := json.Unmarshal([]byte(out), &sum); code != 0 || err != nil || sum.Mode != "shadow" || sum.Plans != 1 || sum.Creates["User"] != 1 {
			t.Fatalf("connector shadow: %d %v %s %s", code, err, out, errOut)
		}

		if code, _, errOut := scimd(t, nil, append([]string{"connector", "set", "--mode", "live"}, db...)...); code != 0 {
			t.Fatalf("--mode live: %d %s", code, errOut)
		}
		if code, _, errOut := scimd(t, nil, append([]string{"connector", "shadow", "--clear"}, db...)...); code != 0 || !strings.Contains(errOut, "(1 plans)") {
			t.Fatalf("connector shadow --clear: %d %s", code, errOut)
		}
		if status, body := call(t, "POST", base+"/Users", entra, strings.Replace(user, "%s", "ada", 1)); status != 201 {
			t.Fatalf("live POST: %d %s", status, body)
		}
		if status, body := call(t, "GET", base+"/Users", hr, ""); status != 200 || !strings.Contains(body, `"totalResults":1`) {
			t.Fatalf("after the switch to live: %d %s", status, body)
		}
	})
}
