package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// load runs a scenario against a scimd over HTTP.
func load(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", stderr)
	base := fs.String("url", "http://127.0.0.1:8080/scim/v2/bench", "the tenant's SCIM base URL (loopback only)")
	token := fs.String("token", os.Getenv("SCIMBENCH_TOKEN"), "the connector's bearer token (env SCIMBENCH_TOKEN)")
	var w workload
	w.flags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := loopbackOnly(*base); err != nil {
		return err
	}
	c := &client{base: strings.TrimSuffix(*base, "/"), token: *token, http: &http.Client{
		Timeout:   time.Minute,
		Transport: &http.Transport{MaxIdleConnsPerHost: max(w.concurrency, 1), DisableCompression: true},
	}}
	run := fmt.Sprintf("%x", time.Now().UnixNano())
	var do func(ctx context.Context, i int) error
	switch w.scenario {
	case "walk":
		r, err := c.walk(ctx, w)
		if err != nil {
			return err
		}
		reportWalk(stdout, "scimd", w, r)
		return nil
	case "post":
		do = func(ctx context.Context, i int) error {
			_, err := c.do(ctx, "POST", "/Users", entraUser(run, i), http.StatusCreated)
			return err
		}
	case "get-eq":
		do = func(ctx context.Context, i int) error {
			body, err := c.do(ctx, "GET", "/Users?filter="+url.QueryEscape(eqFilter(w.users, true)), nil, http.StatusOK)
			if err == nil && total(body) != 1 {
				err = fmt.Errorf("lookup found %d users, want 1", total(body))
			}
			return err
		}
	case "filter":
		do = func(ctx context.Context, i int) error {
			_, err := c.do(ctx, "GET", "/Users?filter="+url.QueryEscape(fillFilter(w)), nil, http.StatusOK)
			return err
		}
	case "list-first", "deep":
		start := 1
		if w.scenario == "deep" {
			start = w.startIndex
		}
		path := fmt.Sprintf("/Users?startIndex=%d&count=%d", start, w.count)
		do = func(ctx context.Context, i int) error {
			_, err := c.do(ctx, "GET", path, nil, http.StatusOK)
			return err
		}
	default:
		return fmt.Errorf("unknown scenario %q: post, get-eq, filter, list-first, deep or walk", w.scenario)
	}
	r, err := drive(ctx, w, do)
	if err != nil {
		return err
	}
	report(stdout, "scimd", w, r)
	return nil
}

// loopbackOnly refuses to load anything but this machine.
func loopbackOnly(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("--url: %w", err)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("--url %s: scimbench loads loopback addresses only (127.0.0.1, ::1, localhost)", raw)
}

type client struct {
	base, token string
	http        *http.Client
}

// do sends one request and reads the whole response.
func (c *client) do(ctx context.Context, method, path string, body any, want int) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err == nil && res.StatusCode != want {
		err = fmt.Errorf("%s %s: %d, want %d: %.200s", method, path, res.StatusCode, want, out)
	}
	return out, err
}

// walk reads all users by startIndex and count, as Okta's import does.
func (c *client) walk(ctx context.Context, w workload) (walkResult, error) {
	var r walkResult
	began := time.Now()
	for start := 1; len(r.pages) < w.requests; start += w.count {
		t := time.Now()
		body, err := c.do(ctx, "GET", fmt.Sprintf("/Users?startIndex=%d&count=%d", start, w.count), nil, http.StatusOK)
		if err != nil {
			return r, err
		}
		r.pages = append(r.pages, time.Since(t))
		n := items(body)
		r.rows += n
		if n < w.count || start-1+n >= total(body) {
			break
		}
	}
	r.elapsed = time.Since(began)
	return r, nil
}

// total and items read totalResults and itemsPerPage from a ListResponse
// without decoding it: scimd writes its head first, keys sorted.
func total(body []byte) int { return headInt(body, `"totalResults":`) }
func items(body []byte) int { return headInt(body, `"itemsPerPage":`) }

func headInt(body []byte, key string) int {
	i := bytes.Index(body, []byte(key))
	if i < 0 {
		return -1
	}
	rest := body[i+len(key):]
	j := bytes.IndexAny(rest, ",}")
	if j < 0 {
		return -1
	}
	n, err := strconv.Atoi(string(rest[:j]))
	if err != nil {
		return -1
	}
	return n
}

// eqFilter is a lookup of a random seeded user; with otherCase, one in
// twenty is in upper case, as ~5% of IdP lookups differ in case.
func eqFilter(users int, otherCase bool) string {
	name := fmt.Sprintf("User%d@example.com", rand.IntN(max(users, 1)))
	if otherCase && rand.IntN(20) == 0 {
		name = strings.ToUpper(name)
	}
	return fmt.Sprintf("userName eq %q", name)
}

func fillFilter(w workload) string {
	return strings.ReplaceAll(w.filter, "{i}", strconv.Itoa(rand.IntN(max(w.users, 1))))
}

// entraUser is a POST /Users body as Entra ID sends it.
func entraUser(run string, i int) map[string]any {
	name := fmt.Sprintf("bench-%s-%d@example.com", run, i)
	return map[string]any{
		"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"},
		"externalId":  fmt.Sprintf("%08x-0000-4000-8000-%012x", i, time.Now().UnixNano()&0xffffffffffff),
		"userName":    name,
		"active":      true,
		"displayName": "Bench User " + strconv.Itoa(i),
		"title":       "Engineer",
		"emails":      []any{map[string]any{"primary": true, "type": "work", "value": name}},
		"name":        map[string]any{"givenName": "Bench", "familyName": "User" + strconv.Itoa(i), "formatted": "Bench User" + strconv.Itoa(i)},
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": map[string]any{
			"employeeNumber": strconv.Itoa(i), "department": "Engineering",
		},
	}
}
