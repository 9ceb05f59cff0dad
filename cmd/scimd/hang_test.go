package main

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store/storetest"
)

// TestDatabaseSilent puts PostgreSQL behind a proxy that then drops its
// connections and accepts new ones without ever answering, as a host gone
// from the network does: requests answer 503 with a SCIM error within the
// connection timeout (5 s) instead of waiting on the handshake, /readyz
// fails, and all is well again once the proxy forwards again.
func TestDatabaseSilent(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	u, _ := url.Parse(dsn)
	proxy := newSilentProxy(t, u.Host)
	u.Host = proxy.addr()
	db := storetest.Open(t, u.String())
	token := newToken(t, dsn, "acme", "okta")
	srv := httptest.NewServer(routes(db, reconcile.New(db, nil), "", 1<<20, 0, slog.New(slog.DiscardHandler)))
	defer srv.Close()
	base := srv.URL + "/scim/v2/acme"
	if res, body := request(t, "GET", base+"/Users", token, ""); res.StatusCode != 200 {
		t.Fatalf("before: %d %v", res.StatusCode, body)
	}

	proxy.silence()
	for _, path := range []string{base + "/Users", base + "/Groups"} {
		start := time.Now()
		res, body := request(t, "GET", path, token, "")
		took := time.Since(start)
		if res.StatusCode != http.StatusServiceUnavailable || body["status"] != "503" || res.Header.Get("Retry-After") == "" || took > 8*time.Second {
			t.Errorf("GET %s with the database silent: %d in %v, Retry-After %q, %v", path, res.StatusCode, took, res.Header.Get("Retry-After"), body)
		}
	}
	if res, _ := request(t, "GET", srv.URL+"/readyz", "", ""); res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/readyz with the database silent: %d", res.StatusCode)
	}

	proxy.restore()
	deadline := time.Now().Add(15 * time.Second)
	for {
		res, body := request(t, "GET", base+"/Users", token, "")
		if res.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the database's return: %d %v", res.StatusCode, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// silentProxy forwards TCP to a server until silenced: then it closes the
// connections it forwards and holds new ones open without a byte.
type silentProxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	silent bool
	conns  []net.Conn
}

func newSilentProxy(t *testing.T, target string) *silentProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &silentProxy{ln: ln, target: target}
	t.Cleanup(func() {
		ln.Close()
		p.silence() // closes every connection
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.conns = append(p.conns, c)
			silent := p.silent
			p.mu.Unlock()
			if silent {
				continue // held, never answered
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	return p
}

func (p *silentProxy) addr() string { return p.ln.Addr().String() }

func (p *silentProxy) silence() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.silent = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *silentProxy) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.silent = false
	for _, c := range p.conns { // the held ones
		c.Close()
	}
	p.conns = nil
}
