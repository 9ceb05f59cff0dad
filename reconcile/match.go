package reconcile

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/scimd/scimd/reconcile/rules"
	"github.com/scimd/scimd/store"
)

// Match is how an input without a SCIM id was identified with a user that
// exists: by which key, and whether the user is new to the connector (so
// that the connector now links to, and may manage, them).
type Match struct {
	By    rules.MatchKey `json:"by"`
	Value string         `json:"value"`
	// UserID is the matched user's SCIM id.
	UserID string `json:"userId"`
	// Linked means the connector already manages the user.
	Linked bool `json:"linked"`

	user store.User
}

// MatchError refuses an input that cannot be identified safely: two users
// fit the same key, or the one that fits is not the connector's to take.
// Its message is meant for the client.
type MatchError struct {
	Key rules.MatchKey
	Msg string
}

func (e *MatchError) Error() string { return e.Msg }

// match finds the existing user in identifies, trying the connector's keys
// in order (by default its own external ID, then userName, then email);
// the first key that finds anyone decides. A Create matches only users the
// connector does not manage yet, or its own by userName (a duplicate, which
// the caller refuses). It returns nil when nobody matches. Two candidates for one key is a [*MatchError], never a merge;
// so is a user the connector does not manage yet who holds grants outside
// the connector's allow-list (a push must not take over an administrator by
// sending their userName or email). Email is matched only on addresses the
// connector vouches for (rules.Connector.Vouches). A local user found by
// any key is a [*LocalUserError] for a connector's write (local.go).
// Matching never leaves the tenant.
//
// With byIndex (an apply, see [Engine.Apply]), a Create leaves the userName
// key to the unique index when no key after it reads: the insert finds a
// user of that name, and Apply then plans again without byIndex.
func match(ctx context.Context, r reads, conn *rules.Connector, in Input, doc map[string]any, byIndex bool) (*Match, error) {
	creating := in.Op == Create
	for i, key := range conn.Match {
		var (
			found []store.User
			value string
			err   error
		)
		switch key {
		case rules.MatchExternalID:
			// A connector's create is a new object of its own, even with
			// an external ID it used before (RFC 7643 §3.1 makes it not
			// unique); and a user has this connector's external ID only
			// if the connector manages them.
			if value = in.ExternalID; value == "" || creating {
				continue
			}
			found, err = r.UsersByExternalID(ctx, in.TenantID, in.ConnectorID, value)
		case rules.MatchUserName:
			if value, _ = doc["userName"].(string); value == "" || creating && byIndex && !readsAfter(conn, i, doc) {
				continue
			}
			var u store.User
			u, err = r.UserByUserName(ctx, in.TenantID, in.ConnectorID, value)
			if err == nil {
				found = []store.User{u}
			} else if errors.Is(err, store.ErrNotFound) {
				err = nil
			}
		case rules.MatchEmail:
			for _, email := range emails(doc) {
				if !conn.Vouches(email) {
					continue
				}
				value = email
				// A create matches only people the connector does not
				// manage: two of its own may share an address.
				if found, err = r.UsersByEmail(ctx, in.TenantID, in.ConnectorID, email, creating); err != nil || len(found) > 0 {
					break
				}
			}
		}
		if err != nil {
			return nil, err
		}
		switch len(found) {
		case 0:
			continue
		case 1:
		default:
			return nil, &MatchError{Key: key, Msg: fmt.Sprintf(
				"%s %q matches more than one user (%s and %s); scimd will not guess which one is meant: give them distinct values, or link the right one by hand",
				key, value, found[0].ID, found[1].ID)}
		}
		if err := refuseLocal(in, found[0], key); err != nil {
			return nil, err
		}
		m := &Match{By: key, Value: value, UserID: found[0].ID, user: found[0]}
		if m.Linked, err = r.Linked(ctx, in.ConnectorID, m.user.PK); err != nil {
			return nil, err
		}
		if !m.Linked {
			if err := mayClaim(ctx, r, conn, m); err != nil {
				return nil, err
			}
		}
		return m, nil
	}
	return nil, nil
}

// readsAfter reports whether a Create's match reads anything for the keys
// after conn.Match[i]: an email the connector vouches for.
func readsAfter(conn *rules.Connector, i int, doc map[string]any) bool {
	return slices.Contains(conn.Match[i+1:], rules.MatchEmail) && slices.ContainsFunc(emails(doc), conn.Vouches)
}

// mayClaim refuses to link a connector to a user holding any grant the
// connector's rules could not have given.
func mayClaim(ctx context.Context, r reads, conn *rules.Connector, m *Match) error {
	grants, err := r.UserGrants(ctx, m.user.PK)
	if err != nil {
		return err
	}
	for _, g := range grants {
		if !conn.Allow.Permits(rules.Kind(g.Kind), g.Target) {
			return &MatchError{Key: m.By, Msg: fmt.Sprintf(
				"%s %q matches user %s, who holds %s %q, which connector %s may not grant: add it to the connector's allow.%ss if %s may manage this user",
				m.By, m.Value, m.user.ID, g.Kind, g.Target, conn.Name, g.Kind, conn.Name)}
		}
	}
	return nil
}

// emails lists a SCIM document's email addresses, primary first.
func emails(doc map[string]any) []string {
	list, _ := doc["emails"].([]any)
	var primary, rest []string
	for _, v := range list {
		e, _ := v.(map[string]any)
		value, _ := e["value"].(string)
		if value = strings.TrimSpace(value); value == "" {
			continue
		}
		if p, _ := e["primary"].(bool); p {
			primary = append(primary, value)
		} else {
			rest = append(rest, value)
		}
	}
	return append(primary, rest...)
}
