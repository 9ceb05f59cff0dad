package main

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store/storetest"
)

// TestDatabaseOutage stops a real PostgreSQL under a running server: every
// SCIM request, the admin API and /readyz answer 503 with Retry-After (SCIM ones with a
// SCIM error), the outage is logged once however many requests meet it,
// and once more when the database is back, after which requests succeed.
func TestDatabaseOutage(t *testing.T) {
	cluster := storetest.StartCluster(t)
	dsn := cluster.CreateDatabase(t)
	token := newToken(t, dsn, "acme", "okta")
	admin := newToken(t, dsn, "acme", "admins", "--admin")
	db := storetest.Open(t, dsn)
	var logs lockedBuffer
	srv := httptest.NewServer(routes(db, reconcile.New(db, nil), "", 1<<20, 0, slog.New(slog.NewTextHandler(&logs, nil))))
	defer srv.Close()
	base := srv.URL + "/scim/v2/acme"
	res, body := request(t, "POST", base+"/Users", token, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"outage@example.com"}`)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %v", res.StatusCode, body)
	}
	user := base + "/Users/" + body["id"].(string)
	disable := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}`

	cluster.Stop(t)
	requests := []struct{ method, url, body string }{
		{"GET", base + "/Users", ""},
		{"GET", user, ""},
		{"GET", base + `/Users?filter=userName%20eq%20%22outage@example.com%22`, ""},
		{"POST", base + "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"new@example.com"}`},
		{"PATCH", user, disable},
		{"DELETE", user, ""},
		{"GET", base + "/Groups", ""},
	}
	for _, r := range requests {
		res, body := request(t, r.method, r.url, token, r.body)
		if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" ||
			!strings.Contains(body["detail"].(string), "unavailable") || body["status"] != "503" {
			t.Errorf("%s %s during the outage: %d, Retry-After %q, %v", r.method, r.url, res.StatusCode, res.Header.Get("Retry-After"), body)
		}
	}
	if res, body := request(t, "GET", srv.URL+"/admin/v1/acme/users", admin, ""); res.StatusCode != http.StatusServiceUnavailable ||
		res.Header.Get("Retry-After") == "" || body["status"] != "503" {
		t.Errorf("admin API during the outage: %d, Retry-After %q, %v", res.StatusCode, res.Header.Get("Retry-After"), body)
	}
	for range 3 {
		res, _ := request(t, "GET", srv.URL+"/readyz", "", "")
		if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
			t.Errorf("/readyz during the outage: %d, Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
		}
	}
	if n := logs.count("database unavailable"); n != 1 {
		t.Errorf("the outage was logged %d times over %d requests, want once:\n%s", n, len(requests)+4, logs.String())
	}
	if n := logs.count("internal error"); n != 0 {
		t.Errorf("%d internal errors logged during the outage:\n%s", n, logs.String())
	}

	cluster.Start(t)
	// The pool's connections died with the server; the first requests
	// may still meet one, as long as a fresh one follows.
	deadline := time.Now().Add(15 * time.Second)
	for {
		res, body := request(t, "GET", user, token, "")
		if res.StatusCode == http.StatusOK {
			break
		}
		if res.StatusCode != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("after the database's return: %d %v\n%s", res.StatusCode, body, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if res, body := request(t, "PATCH", user, token, disable); res.StatusCode != http.StatusOK {
		t.Fatalf("PATCH after the return: %d %v", res.StatusCode, body)
	}
	if res, _ := request(t, "GET", srv.URL+"/readyz", "", ""); res.StatusCode != http.StatusOK {
		t.Errorf("/readyz after the return: %d", res.StatusCode)
	}
	if n := logs.count("database available again"); n != 1 {
		t.Errorf("the recovery was logged %d times, want once:\n%s", n, logs.String())
	}
	if n := logs.count("database unavailable"); n != 1 {
		t.Errorf("the outage was logged %d times in all, want once:\n%s", n, logs.String())
	}
}

// lockedBuffer is a log destination that handlers on many goroutines
// may write to at once.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// count is how many log lines hold s.
func (b *lockedBuffer) count(s string) int {
	n := 0
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}
