package scim

import "net/http"

// maxBulkOperations bounds the operations of one bulk request (RFC 7644 §3.7).
const maxBulkOperations = 1000

// serveBulk answers POST /Bulk (RFC 7644 §3.7).
func (s *Server) serveBulk(w http.ResponseWriter, r *http.Request, body []byte) {
	writeError(w, newError(http.StatusNotImplemented, "", "bulk is being built"))
}
