package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/mailer/mailertest"
	"github.com/scimd/scimd/store/storetest"
)

// TestActivationByMail: a user an IdP pushes through a connector that
// notifies (notify: true), without active, waits for activation and gets exactly one message, over real SMTP; its link,
// opened and posted against the running server, activates them once. A
// resend, through the admin API and the CLI, sends a new link and kills
// the old one; an active user gets none.
func TestActivationByMail(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		smtp := mailertest.Start(t)
		config := filepath.Join(t.TempDir(), "scimd.yaml")
		os.WriteFile(config, []byte("tenants:\n  - name: acme\n    connectors:\n      - name: okta\n        notify: true\n"), 0o600)
		okta := newToken(t, dsn, "acme", "okta")
		admin := newToken(t, dsn, "acme", "admins", "--admin")
		addr := freeAddr(t)
		base := "http://" + addr
		stop := serveInBackground(t, map[string]string{"SCIMD_DATABASE_URL": dsn, "SCIMD_ADDR": addr,
			"SCIMD_SMTP_ADDR": smtp.Addr, "SCIMD_SMTP_FROM": "id@acme.example", "SCIMD_PUBLIC_URL": base, "SCIMD_CONFIG": config})
		defer stop()

		create := func(userName, extra string) string {
			t.Helper()
			status, body := call(t, "POST", base+"/scim/v2/acme/Users", okta,
				`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"`+userName+`",`+extra+
					`"emails":[{"value":"`+userName+`","primary":true}]}`)
			if status != 201 {
				t.Fatalf("POST: %d %s", status, body)
			}
			var doc struct {
				ID     string
				Active bool
			}
			json.Unmarshal([]byte(body), &doc)
			if doc.Active != strings.Contains(extra, `"active":true`) {
				t.Fatalf("%s: active %v", userName, doc.Active)
			}
			return doc.ID
		}
		waitFor := func(n int) []mailertest.Message {
			t.Helper()
			for deadline := time.Now().Add(15 * time.Second); len(smtp.Messages()) < n; {
				if time.Now().After(deadline) {
					t.Fatalf("%d messages, want %d", len(smtp.Messages()), n)
				}
				time.Sleep(20 * time.Millisecond)
			}
			time.Sleep(300 * time.Millisecond) // time for a duplicate to arrive
			got := smtp.Messages()
			if len(got) != n {
				t.Fatalf("%d messages, want %d", len(got), n)
			}
			return got
		}
		open := func(method, link string) (int, string) {
			t.Helper()
			res, err := http.DefaultClient.Do(must(http.NewRequest(method, link, nil)))
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return res.StatusCode, string(b)
		}

		create("bo@acme.example", `"active":true,`) // stated active by the IdP: no message
		ann := create("ann@acme.example", "")
		got := waitFor(1)
		if got[0].To[0] != "ann@acme.example" || got[0].Header.Get("From") != "id@acme.example" {
			t.Fatalf("message: %+v", got[0])
		}
		link := got[0].Link()
		if !strings.HasPrefix(link, base+"/activate/") {
			t.Fatalf("link %q in %q", link, got[0].Body)
		}
		if status, page := open("GET", link); status != 200 || !strings.Contains(page, "<form method=\"post\">") {
			t.Fatalf("GET link: %d %s", status, page)
		}
		if status, body := call(t, "GET", base+"/scim/v2/acme/Users/"+ann, okta, ""); status != 200 || !strings.Contains(body, `"active":false`) {
			t.Fatalf("before activation: %d %s", status, body)
		}
		if status, page := open("POST", link); status != 200 || !strings.Contains(page, "Account activated") {
			t.Fatalf("POST link: %d %s", status, page)
		}
		if status, body := call(t, "GET", base+"/scim/v2/acme/Users/"+ann, okta, ""); status != 200 || !strings.Contains(body, `"active":true`) {
			t.Fatalf("after activation: %d %s", status, body)
		}
		if status, page := open("POST", link); status != 410 || !strings.Contains(page, "used already") {
			t.Fatalf("the link again: %d %s", status, page)
		}
		if status, _ := open("GET", base+"/activate/nonsense"); status != 404 {
			t.Fatalf("an unknown link: %d", status)
		}

		resend := func(id string) (int, string) {
			return call(t, "POST", base+"/admin/v1/acme/users/"+id+"/activation", admin, "")
		}
		if status, body := resend(ann); status != 409 {
			t.Fatalf("resend to an active user: %d %s", status, body)
		}
		cy := create("cy@acme.example", "")
		waitFor(2)
		if status, body := resend(cy); status != 202 {
			t.Fatalf("resend: %d %s", status, body)
		}
		waitFor(3)
		if code, _, errOut := scimd(t, nil, "user", "resend-activation", "--tenant", "acme", "--user", cy,
			"--database-url", dsn, "--public-url", base); code != 0 {
			t.Fatalf("scimd user resend-activation: %s", errOut)
		}
		got = waitFor(4)
		for i, m := range got[1:] {
			if m.To[0] != "cy@acme.example" {
				t.Fatalf("message %d to %v", i+1, m.To)
			}
		}
		if status, _ := open("POST", got[2].Link()); status != 410 {
			t.Fatalf("the link a resend replaced: %d", status)
		}
		if status, _ := open("POST", got[3].Link()); status != 200 {
			t.Fatalf("the newest link: %d", status)
		}
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
