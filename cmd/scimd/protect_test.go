package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// insecureClient trusts any certificate: the tests' are self-signed.
var insecureClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
	TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
}}

// TestTimeouts runs serve with short timeouts and shows that a slow client
// cannot hold a connection: one sending its headers a byte at a time
// (slowloris), one sending its body a byte at a time and one that keeps
// an idle connection are each cut off once their timeout has passed.
func TestTimeouts(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "scimd.db")
	token := newToken(t, dsn, "acme", "okta")
	addr := freeAddr(t)
	const readHeader, read, idle = 500 * time.Millisecond, 1500 * time.Millisecond, time.Second
	stop := serveInBackground(t, map[string]string{"SCIMD_DATABASE_URL": dsn, "SCIMD_ADDR": addr,
		"SCIMD_SERVER_READ_HEADER_TIMEOUT": readHeader.String(), "SCIMD_SERVER_READ_TIMEOUT": read.String(), "SCIMD_SERVER_IDLE_TIMEOUT": idle.String()})
	defer stop()

	body := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"slow@example.com"}`
	for _, c := range []struct {
		name    string
		start   string // sent at once
		trickle string // then a byte every 50 ms
		timeout time.Duration
	}{
		{"headers a byte at a time", "GET /healthz HTTP/1.1\r\nHost: scimd\r\n", strings.Repeat("X-Slow: a\r\n", 100), readHeader},
		{"body a byte at a time", "POST /scim/v2/acme/Users HTTP/1.1\r\nHost: scimd\r\nAuthorization: Bearer " + token +
			"\r\nContent-Type: application/scim+json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n", body, read},
		{"idle after a request", "GET /healthz HTTP/1.1\r\nHost: scimd\r\n\r\n", "", idle},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			start := time.Now()
			closed := make(chan string, 1)
			go func() { // read whatever comes until the server closes
				got, _ := io.ReadAll(bufio.NewReader(conn))
				closed <- string(got)
			}()
			if _, err := io.WriteString(conn, c.start); err != nil {
				t.Fatal(err)
			}
			var got string
		trickle:
			for i := 0; ; i++ {
				select {
				case got = <-closed:
					break trickle
				case <-time.After(50 * time.Millisecond):
				}
				if i < len(c.trickle) {
					conn.Write([]byte{c.trickle[i]})
				}
				if time.Since(start) > c.timeout+5*time.Second {
					t.Fatalf("still open %v after the start (timeout %v)", time.Since(start), c.timeout)
				}
			}
			took := time.Since(start)
			if took < c.timeout-100*time.Millisecond || took > c.timeout+2*time.Second {
				t.Errorf("closed after %v, want about %v", took, c.timeout)
			}
			if c.trickle != "" && strings.Contains(got, "201 Created") {
				t.Errorf("the slow request was served: %q", got)
			}
			if strings.HasPrefix(c.start, "POST") && !strings.Contains(got, "408 Request Timeout") {
				t.Errorf("the slow body: %q, want a 408", got)
			}
			t.Logf("closed after %v (timeout %v); the server sent %.60q", took, c.timeout, got)
		})
	}
	// No TLS, no HSTS.
	if res, err := http.Get("http://" + addr + "/healthz"); err != nil || res.Header.Get("Strict-Transport-Security") != "" {
		t.Errorf("plain HTTP: %v, Strict-Transport-Security %q", err, res.Header.Get("Strict-Transport-Security"))
	}
}

// TestGracefulShutdown cancels serve's context (what SIGTERM does, see
// main.go) while a request is in flight: the listener closes at once, so a
// new connection is refused, and the request still finishes with its 201.
func TestGracefulShutdown(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "scimd.db")
	token := newToken(t, dsn, "acme", "okta")
	addr := freeAddr(t)
	stop := serveInBackground(t, map[string]string{"SCIMD_DATABASE_URL": dsn, "SCIMD_ADDR": addr})
	defer stop()

	body := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"inflight@example.com"}`
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", "http://"+addr+"/scim/v2/acme/Users", pr)
	req.ContentLength = int64(len(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/scim+json")
	type result struct {
		res *http.Response
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := (&http.Client{Transport: &http.Transport{}}).Do(req)
		done <- result{res, err}
	}()
	io.WriteString(pw, body[:10]) // the headers are sent: the request is in flight
	time.Sleep(200 * time.Millisecond)

	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break // refused: the listener is closed
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("serve still accepts connections 5 s after its context ended")
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case <-stopped:
		t.Fatal("serve returned with a request in flight")
	default:
	}
	io.WriteString(pw, body[10:])
	pw.Close()
	r := <-done
	if r.err != nil {
		t.Fatalf("the request in flight: %v", r.err)
	}
	got, _ := io.ReadAll(r.res.Body)
	r.res.Body.Close()
	if r.res.StatusCode != http.StatusCreated {
		t.Fatalf("the request in flight: %d %s", r.res.StatusCode, got)
	}
	select {
	case <-stopped:
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not return once the request in flight had finished")
	}
}

// TestTLS serves HTTPS from a certificate and key on disk, with HSTS, and
// serves the new certificate once the files are replaced, without a
// restart.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeCert(t, certFile, keyFile, "one.example.com")
	dsn := filepath.Join(dir, "scimd.db")
	token := newToken(t, dsn, "acme", "okta")
	addr := freeAddr(t)
	stop := serveInBackground(t, map[string]string{"SCIMD_DATABASE_URL": dsn, "SCIMD_ADDR": addr,
		"SCIMD_SERVER_TLS_CERT": certFile, "SCIMD_SERVER_TLS_KEY": keyFile})
	defer stop()

	req, _ := http.NewRequest("GET", "https://"+addr+"/scim/v2/acme/Users", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := insecureClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Strict-Transport-Security") != "max-age=31536000" || res.TLS == nil {
		t.Fatalf("HTTPS: %d, Strict-Transport-Security %q", res.StatusCode, res.Header.Get("Strict-Transport-Security"))
	}
	if name := served(t, addr); name != "one.example.com" {
		t.Fatalf("served %q, want one.example.com", name)
	}
	if res, err := http.Get("http://" + addr + "/healthz"); err == nil && res.StatusCode != http.StatusBadRequest {
		t.Errorf("plain HTTP on the TLS port: %d", res.StatusCode)
	}

	// A renewal: new files in place of the old.
	writeCert(t, certFile, keyFile, "two.example.com")
	deadline := time.Now().Add(certRecheck + 5*time.Second)
	for served(t, addr) != "two.example.com" {
		if time.Now().After(deadline) {
			t.Fatalf("still serving %q %v after the files changed", served(t, addr), certRecheck+5*time.Second)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// A half-written renewal keeps the certificate served.
	os.WriteFile(keyFile, []byte("not a key"), 0o600)
	time.Sleep(certRecheck + 200*time.Millisecond)
	if name := served(t, addr); name != "two.example.com" {
		t.Fatalf("after a broken key file: served %q, want two.example.com still", name)
	}
}

// served is the common name of the certificate the server at addr shows.
func served(t *testing.T, addr string) string {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].Subject.CommonName
}

// writeCert writes a self-signed certificate for name and its key, each
// to a new file renamed into place, as a renewal tool does.
func writeCert(t *testing.T, certFile, keyFile, name string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for file, block := range map[string]*pem.Block{certFile: {Type: "CERTIFICATE", Bytes: der}, keyFile: {Type: "PRIVATE KEY", Bytes: keyDER}} {
		if err := os.WriteFile(file+".new", pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(file+".new", file); err != nil {
			t.Fatal(err)
		}
	}
}

// TestProtectionFlags: a bad value in the environment, or a certificate
// without its key, stops serve before it opens anything (exit 3, a
// configuration problem).
func TestProtectionFlags(t *testing.T) {
	for _, c := range []struct {
		environ map[string]string
		args    []string
		want    string
	}{
		{map[string]string{"SCIMD_LIMITS_CONNECTOR_RATE": "fast"}, nil, "SCIMD_LIMITS_CONNECTOR_RATE"},
		{map[string]string{"SCIMD_SERVER_READ_TIMEOUT": "10"}, nil, "SCIMD_SERVER_READ_TIMEOUT"},
		{nil, []string{"--tls-cert", "cert.pem"}, "server.tls.key"},
		{nil, []string{"--rate-limit", "-1"}, "negative"},
	} {
		code, _, errOut := scimd(t, c.environ, append([]string{"serve", "--database-url", filepath.Join(t.TempDir(), "x.db")}, c.args...)...)
		if code != exitInvalid || !strings.Contains(errOut, c.want) {
			t.Errorf("%v %v: exit %d, %q; want a usage error naming %s", c.environ, c.args, code, errOut, c.want)
		}
	}
}
