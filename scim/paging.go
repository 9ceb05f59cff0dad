package scim

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	scimlib "github.com/elimity-com/scim"
	scimerr "github.com/elimity-com/scim/errors"

	"github.com/scimd/scimd/store"
)

// Cursor paging (RFC 9865). A cursor is opaque to clients; inside it is a
// position in creation order, the query it belongs to, and when it was
// issued. It is a keyset, so a walk sees every row that exists throughout
// it exactly once, however deep, and rows added or removed meanwhile do
// not shift the pages.
const cursorTimeout = time.Hour

const (
	scimTypeInvalidCursor scimerr.ScimType = "invalidCursor"
	scimTypeExpiredCursor scimerr.ScimType = "expiredCursor"
)

type cursor struct {
	After  int64  `json:"a,omitempty"`
	Before int64  `json:"b,omitempty"`
	Query  string `json:"q"`
	Issued int64  `json:"t"`
}

// queryKey names a query's result set: the resource type and filter. A
// cursor is valid only for the query that issued it.
func queryKey(rt scimlib.ResourceType, p listParams) string {
	h := sha256.Sum256([]byte(rt.Name + "\x00" + strings.TrimSpace(p.Filter)))
	return hex.EncodeToString(h[:8])
}

// applyCursor reads p.Cursor into q. An empty cursor starts at the first page.
func (s *Server) applyCursor(q *store.Query, rt scimlib.ResourceType, p listParams) *Error {
	if q.SortBy != "" {
		return badRequest(scimerr.ScimTypeInvalidValue, "cursor paging follows creation order and cannot be combined with sortBy; use startIndex to page a sorted list")
	}
	if *p.Cursor == "" {
		return nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(*p.Cursor)
	var c cursor
	if err == nil {
		err = json.Unmarshal(raw, &c)
	}
	if err != nil || c.After < 0 || c.Before < 0 || (c.After == 0) == (c.Before == 0) {
		return newError(http.StatusBadRequest, scimTypeInvalidCursor, "the cursor is not one this server issued; start again with cursor=")
	}
	if c.Query != queryKey(rt, p) {
		return newError(http.StatusBadRequest, scimTypeInvalidCursor, "the cursor belongs to another query: send the same filter it was issued for")
	}
	if time.Since(time.Unix(c.Issued, 0)) > cursorTimeout {
		return newError(http.StatusBadRequest, scimTypeExpiredCursor, "the cursor expired (cursors last %s); start again with cursor=", cursorTimeout)
	}
	q.After, q.Before = store.Position(c.After), store.Position(c.Before)
	return nil
}

// cursors returns the next and previous cursors of a page, "" where there
// is no such page.
func (s *Server) cursors(rt scimlib.ResourceType, p listParams, page typePage) (next, prev string) {
	encode := func(c cursor) string {
		c.Query, c.Issued = queryKey(rt, p), time.Now().Unix()
		b, _ := json.Marshal(c)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	if page.hasNext && page.last != 0 {
		next = encode(cursor{After: int64(page.last)})
	}
	if page.hasPrev && page.first != 0 {
		prev = encode(cursor{Before: int64(page.first)})
	}
	return next, prev
}
