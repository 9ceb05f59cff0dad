package scim

import (
	"net/http"
	"strconv"
	"strings"
)

// ifMatch reads the If-Match precondition of a write (RFC 7644 §3.14): the
// version the client holds, or 0 for none (absent or "*"). A tag scimd did
// not issue names no version and can never match.
func ifMatch(r *http.Request) (int64, *Error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" || h == "*" {
		return 0, nil
	}
	tag, _, _ := strings.Cut(h, ",") // one version per resource: the first tag is the one
	tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
	v, err := strconv.ParseInt(strings.Trim(tag, `"`), 10, 64)
	if err != nil || v < 1 {
		return -1, nil
	}
	return v, nil
}
