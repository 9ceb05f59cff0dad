package scim

import (
	"net/http"

	scimlib "github.com/elimity-com/scim"
)

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
		"schemas":          []string{"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"},
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
		"meta": map[string]any{
			"resourceType": "ServiceProviderConfig",
			"location":     s.baseURL(r) + "/ServiceProviderConfig",
		},
	})
}
