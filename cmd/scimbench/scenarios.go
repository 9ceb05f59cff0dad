package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"time"
)

const patchOp = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

// resource is the part of a SCIM resource the scenarios read.
type resource struct {
	ID       string `json:"id"`
	UserName string `json:"userName"`
}

// idOf reads a created resource's id.
func idOf(body []byte) (string, error) {
	var r resource
	if err := json.Unmarshal(body, &r); err != nil || r.ID == "" {
		return "", fmt.Errorf("no id in the response: %.200s", body)
	}
	return r.ID, nil
}

// userPool reads the first n users of the list, in pages of 100: the
// users churn and members change.
func (c *client) userPool(ctx context.Context, n int) ([]resource, error) {
	var pool []resource
	for start := 1; len(pool) < n; start += 100 {
		body, err := c.do(ctx, "GET", fmt.Sprintf("/Users?startIndex=%d&count=100&attributes=userName", start), nil, http.StatusOK)
		if err != nil {
			return nil, err
		}
		var page struct{ Resources []resource }
		if err := json.Unmarshal(body, &page); err != nil {
			return nil, err
		}
		pool = append(pool, page.Resources...)
		if len(page.Resources) < 100 {
			break
		}
	}
	if len(pool) == 0 {
		return nil, fmt.Errorf("the tenant has no users: seed it first (scimbench seed)")
	}
	return pool[:min(n, len(pool))], nil
}

// groupID finds a group by displayName, as Entra does before a POST.
func (c *client) groupID(ctx context.Context, name string) (string, error) {
	body, err := c.do(ctx, "GET", "/Groups?excludedAttributes=members&filter="+url.QueryEscape(fmt.Sprintf("displayName eq %q", name)), nil, http.StatusOK)
	if err != nil {
		return "", err
	}
	var page struct{ Resources []resource }
	if err := json.Unmarshal(body, &page); err != nil {
		return "", err
	}
	if len(page.Resources) != 1 {
		return "", fmt.Errorf("no group %q: seed it first (scimbench seed --groups %s:100000)", name, name)
	}
	return page.Resources[0].ID, nil
}

// bigAndEmpty finds the ids of the large group and of the empty one.
func (c *client) bigAndEmpty(ctx context.Context, o runOpts) (big, empty string, err error) {
	if big, err = c.groupID(ctx, o.groupBig); err != nil {
		return "", "", err
	}
	empty, err = c.groupID(ctx, o.groupEmpty)
	return big, empty, err
}

func addMembers(ids ...string) map[string]any {
	vals := make([]any, len(ids))
	for i, id := range ids {
		vals[i] = map[string]any{"value": id}
	}
	return map[string]any{"schemas": []string{patchOp},
		"Operations": []any{map[string]any{"op": "add", "path": "members", "value": vals}}}
}

func removeMember(id string) map[string]any {
	return map[string]any{"schemas": []string{patchOp},
		"Operations": []any{map[string]any{"op": "remove", "path": fmt.Sprintf("members[value eq %q]", id)}}}
}

// entraSync is Entra's initial cycle: for each user a userName eq lookup
// that finds nothing, then the POST; then for each group a displayName eq
// lookup (members excluded), the POST without members, and PATCHes adding
// the members 100 at a time. The latencies are per object (user or
// group, its requests together); each request's own is under its kind.
func (c *client) entraSync(ctx context.Context, w workload) (result, error) {
	run := fmt.Sprintf("%x", time.Now().UnixNano())
	c.rec = newRecorder()
	ids := make([]string, w.requests)
	var mu sync.Mutex
	users, err := drive(ctx, w, func(ctx context.Context, i int) error {
		name := fmt.Sprintf("sync-%s-%d@example.com", run, i)
		body, err := c.call(ctx, "GET-user-filter", "GET", "/Users?filter="+url.QueryEscape(fmt.Sprintf("userName eq %q", name)), nil, http.StatusOK)
		if err != nil {
			return err
		}
		if n := total(body); n != 0 {
			return fmt.Errorf("lookup of a new user found %d", n)
		}
		body, err = c.call(ctx, "POST-user", "POST", "/Users", entraUserNamed(name, i), http.StatusCreated)
		if err != nil {
			return err
		}
		id, err := idOf(body)
		mu.Lock()
		ids[i] = id
		mu.Unlock()
		return err
	})
	if err != nil {
		return users, err
	}
	var made []string
	for _, id := range ids {
		if id != "" {
			made = append(made, id)
		}
	}
	gw := w
	gw.requests = w.groups
	groups, err := drive(ctx, gw, func(ctx context.Context, g int) error {
		name := fmt.Sprintf("sync-%s-group-%d", run, g)
		body, err := c.call(ctx, "GET-group-filter", "GET", "/Groups?excludedAttributes=members&filter="+
			url.QueryEscape(fmt.Sprintf("displayName eq %q", name)), nil, http.StatusOK)
		if err != nil {
			return err
		}
		if n := total(body); n != 0 {
			return fmt.Errorf("lookup of a new group found %d", n)
		}
		body, err = c.call(ctx, "POST-group", "POST", "/Groups", map[string]any{
			"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
			"displayName": name, "externalId": fmt.Sprintf("%08x-0000-4000-8000-%012x", g, time.Now().UnixNano()&0xffffffffffff),
		}, http.StatusCreated)
		if err != nil {
			return err
		}
		gid, err := idOf(body)
		if err != nil || len(made) == 0 {
			return err
		}
		for lo := 0; lo < w.groupSize; lo += 100 {
			var batch []string
			for k := lo; k < min(lo+100, w.groupSize); k++ {
				batch = append(batch, made[(g*w.groupSize+k)%len(made)])
			}
			if _, err := c.call(ctx, "PATCH-group-add", "PATCH", "/Groups/"+gid, addMembers(batch...), 0); err != nil {
				return err
			}
		}
		return nil
	})
	all := result{
		latencies: append(users.latencies, groups.latencies...),
		errors:    users.errors + groups.errors,
		elapsed:   users.elapsed + groups.elapsed,
		firstErr:  users.firstErr,
		kinds:     c.rec,
	}
	if all.firstErr == nil {
		all.firstErr = groups.firstErr
	}
	return all, err
}

// churn is the steady state: 60% PATCH of a user (active or title), 10%
// PUT, 10% POST, 10% userName eq, 8% group PATCH (1–10 members added or
// removed), 2% DELETE (of users this run created).
func (c *client) churn(ctx context.Context, w workload, run string) (func(ctx context.Context, i int) error, error) {
	pool, err := c.userPool(ctx, w.pool)
	if err != nil {
		return nil, err
	}
	body, err := c.do(ctx, "POST", "/Groups", map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": "churn-" + run}, http.StatusCreated)
	if err != nil {
		return nil, err
	}
	gid, err := idOf(body)
	if err != nil {
		return nil, err
	}
	var (
		mu      sync.Mutex
		created []string
	)
	post := func(ctx context.Context, i int) error {
		body, err := c.call(ctx, "POST-user", "POST", "/Users", entraUser(run, i), http.StatusCreated)
		if err != nil {
			return err
		}
		id, err := idOf(body)
		if err == nil {
			mu.Lock()
			created = append(created, id)
			mu.Unlock()
		}
		return err
	}
	return func(ctx context.Context, i int) error {
		u := pool[rand.IntN(len(pool))]
		switch p := rand.IntN(100); {
		case p < 60:
			op := map[string]any{"op": "replace", "path": "title", "value": fmt.Sprintf("Title %d", i)}
			if p < 20 { // a deactivation, or the user back
				op = map[string]any{"op": "replace", "path": "active", "value": rand.IntN(2) == 0}
			}
			_, err := c.call(ctx, "PATCH-user", "PATCH", "/Users/"+u.ID, map[string]any{"schemas": []string{patchOp}, "Operations": []any{op}}, 0)
			return err
		case p < 70:
			doc := entraUserNamed(u.UserName, i)
			doc["title"] = fmt.Sprintf("Title %d", i)
			_, err := c.call(ctx, "PUT-user", "PUT", "/Users/"+u.ID, doc, http.StatusOK)
			return err
		case p < 80:
			return post(ctx, i)
		case p < 90:
			_, err := c.call(ctx, "GET-filter", "GET", "/Users?filter="+url.QueryEscape(eqFilter(w.users, true)), nil, http.StatusOK)
			return err
		case p < 98:
			var ids []string
			for range 1 + rand.IntN(10) {
				ids = append(ids, pool[rand.IntN(len(pool))].ID)
			}
			patch := addMembers(ids...)
			if rand.IntN(2) == 0 {
				patch = removeMember(ids[0])
			}
			_, err := c.call(ctx, "PATCH-group", "PATCH", "/Groups/"+gid, patch, 0)
			return err
		default:
			mu.Lock()
			var id string
			if n := len(created); n > 0 {
				id, created = created[n-1], created[:n-1]
			}
			mu.Unlock()
			if id == "" {
				return post(ctx, i)
			}
			_, err := c.call(ctx, "DELETE-user", "DELETE", "/Users/"+id, nil, http.StatusNoContent)
			return err
		}
	}, nil
}

// members adds and removes one member of the large group and of the
// empty one, alternately, so both see the same load: request 4k removes
// pool user k from the large group, 4k+1 adds them back, 4k+2 adds them
// to the empty group and 4k+3 removes them. The pool is the first users
// of the list, the ones seed made members of the large group.
func (c *client) members(ctx context.Context, o runOpts) (func(ctx context.Context, i int) error, error) {
	big, empty, err := c.bigAndEmpty(ctx, o)
	if err != nil {
		return nil, err
	}
	pool, err := c.userPool(ctx, o.w.pool)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, i int) error {
		u := pool[(i/4)%len(pool)].ID
		var err error
		switch i % 4 {
		case 0:
			_, err = c.call(ctx, "PATCH-big-remove", "PATCH", "/Groups/"+big, removeMember(u), 0)
		case 1:
			_, err = c.call(ctx, "PATCH-big-add", "PATCH", "/Groups/"+big, addMembers(u), 0)
		case 2:
			_, err = c.call(ctx, "PATCH-empty-add", "PATCH", "/Groups/"+empty, addMembers(u), 0)
		default:
			_, err = c.call(ctx, "PATCH-empty-remove", "PATCH", "/Groups/"+empty, removeMember(u), 0)
		}
		return err
	}, nil
}

// groupRead reads the large and the empty group alternately with
// excludedAttributes=members; every --full-every'th request of each
// reads the whole group instead, members and all.
func (c *client) groupRead(ctx context.Context, o runOpts) (func(ctx context.Context, i int) error, error) {
	big, empty, err := c.bigAndEmpty(ctx, o)
	if err != nil {
		return nil, err
	}
	every := max(o.w.fullEvery, 1)
	return func(ctx context.Context, i int) error {
		id, which := big, "big"
		if i%2 == 1 {
			id, which = empty, "empty"
		}
		if o.w.fullEvery > 0 && (i/2)%every == every-1 {
			_, err := c.call(ctx, "GET-"+which+"-full", "GET", "/Groups/"+id, nil, http.StatusOK)
			return err
		}
		_, err := c.call(ctx, "GET-"+which+"-excluded", "GET", "/Groups/"+id+"?excludedAttributes=members", nil, http.StatusOK)
		return err
	}, nil
}
