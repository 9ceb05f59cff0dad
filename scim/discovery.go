package scim

import (
	"net/http"

	scimlib "github.com/elimity-com/scim"

	"github.com/scimd/scimd/scim/patch"
)

// LimitsURN is scimd's extension of /ServiceProviderConfig: the bounds
// RFC 7643 §5 has no attribute for, each enforced with a SCIM error
// (README.md, "What a request may hold"). The core attributes advertise
// the others: filter.maxResults (a larger count is clamped to it),
// bulk.maxOperations and bulk.maxPayloadSize.
const LimitsURN = "urn:ietf:params:scim:schemas:extension:scimd:2.0:ServiceProviderConfig"

// limits is the LimitsURN extension's value. Lengths are in bytes.
func (s *Server) limits() map[string]any {
	l := map[string]any{
		"maxBodyBytes":               s.cfg.MaxBodyBytes,
		"maxFilterLength":            maxFilterLen,
		"maxFilterDepth":             maxFilterDepth,
		"maxPathLength":              patch.MaxPathLen,
		"maxPatchOperations":         patch.MaxOperations,
		"maxPatchMembers":            s.cfg.MaxPatchMembers,
		"maxSortByLength":            maxSortByLen,
		"maxAttributesLength":        maxAttributesLen,
		"maxCursorLength":            maxCursorLen,
		"rateLimitRequestsPerSecond": s.cfg.RateLimit,
		"rateLimitBurst":             0,
	}
	if s.limiters != nil {
		l["rateLimitBurst"] = s.limiters.burst
	}
	if s.cfg.MaxImportBytes > 0 {
		l["maxImportBytes"] = s.cfg.MaxImportBytes
	}
	return l
}

// serviceProviderConfig is what the library needs to know of ours.
func (s *Server) serviceProviderConfig() *scimlib.ServiceProviderConfig {
	return &scimlib.ServiceProviderConfig{
		MaxResults:       s.cfg.MaxResults,
		SupportFiltering: true,
		AuthenticationSchemes: []scimlib.AuthenticationScheme{{
			Type:        scimlib.AuthenticationTypeOauthBearerToken,
			Name:        "OAuth Bearer Token",
			Description: "A connector's bearer token, made with 'scimd token create'",
			Primary:     true,
		}},
	}
}

// serveServiceProviderConfig answers GET /ServiceProviderConfig (RFC 7643
// §5) ourselves: the library hard-codes etag, sort and bulk to false and
// has no meta. Every feature listed here as supported works.
func (s *Server) serveServiceProviderConfig(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, map[string]any{
		"schemas":          []string{"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig", LimitsURN},
		"documentationUri": "https://github.com/scimd/scimd#readme",
		"patch":            map[string]any{"supported": true},
		"bulk":             map[string]any{"supported": true, "maxOperations": maxBulkOperations, "maxPayloadSize": s.cfg.MaxBodyBytes},
		"filter":           map[string]any{"supported": true, "maxResults": s.cfg.MaxResults},
		"changePassword":   map[string]any{"supported": false},
		"sort":             map[string]any{"supported": true},
		"pagination": map[string]any{ // RFC 9865 §4
			"cursor":                  true,
			"index":                   true,
			"defaultPaginationMethod": "index",
			"defaultPageSize":         s.cfg.MaxResults,
			"maxPageSize":             s.cfg.MaxResults,
			"cursorTimeout":           int(cursorTimeout.Seconds()),
		},
		"etag": map[string]any{"supported": true},
		"authenticationSchemes": []map[string]any{{
			"type":        "oauthbearertoken",
			"name":        "OAuth Bearer Token",
			"description": "A connector's bearer token, made with 'scimd token create'",
			"primary":     true,
		}},
		LimitsURN: s.limits(),
		"meta": map[string]any{
			"resourceType": "ServiceProviderConfig",
			"location":     s.baseURL(r) + "/ServiceProviderConfig",
		},
	})
}
