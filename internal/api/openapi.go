package api

import (
	"regexp"
	"sort"
	"strings"

	"github.com/firstmate-oss/firstmate/internal/auth"
)

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

// OpenAPI builds the OpenAPI 3.1 document from the route table, so the two
// cannot drift apart.
func (s *Server) OpenAPI() obj {
	paths := obj{}
	for _, rt := range s.routes {
		p := rt.Path
		if strings.HasPrefix(p, "!") {
			continue // operator routes live outside the API prefix
		}
		item, _ := paths[p].(obj)
		if item == nil {
			item = obj{}
			paths[p] = item
		}
		op := obj{
			"summary":     rt.Summary,
			"tags":        []string{rt.Tag},
			"operationId": operationID(rt),
		}
		var params []obj
		for _, m := range pathParam.FindAllStringSubmatch(p, -1) {
			params = append(params, obj{"name": m[1], "in": "path", "required": true, "schema": str()})
		}
		for _, q := range rt.Query {
			params = append(params, obj{"name": q.Name, "in": "query", "required": false, "schema": q.Schema})
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if rt.Perm == auth.Public {
			op["security"] = []obj{}
		} else {
			op["x-required-role"] = rolesFor(rt.Perm)
		}
		if rt.Body != nil {
			op["requestBody"] = obj{"required": !rt.BodyOptional,
				"content": obj{"application/json": obj{"schema": rt.Body}}}
		}
		status := "200"
		if rt.Status != 0 {
			status = itoa3(rt.Status)
		}
		resp := obj{"description": "Success"}
		if rt.Response != nil {
			resp["content"] = obj{"application/json": obj{"schema": rt.Response}}
		}
		if rt.Binary {
			resp["content"] = obj{"application/octet-stream": obj{"schema": obj{"type": "string", "format": "binary"}}}
		}
		op["responses"] = obj{status: resp, "default": obj{"$ref": "#/components/responses/Error"}}
		item[strings.ToLower(rt.Method)] = op
	}
	return obj{
		"openapi": "3.1.0",
		"info": obj{"title": "Firstmate API", "version": s.Version,
			"description": "Self-hosted actions automation API, compatible with the Captain Data v4 wire format."},
		"servers":  []obj{{"url": "/v4"}, {"url": "/v1"}},
		"security": []obj{{"ApiKey": []string{}}},
		"paths":    paths,
		"components": obj{
			"securitySchemes": obj{"ApiKey": obj{"type": "apiKey", "in": "header", "name": "X-API-Key"}},
			"schemas": obj{"Error": object(obj{
				"error_label": str(), "error_scope": enum("input", "integ", "param", "config", "auth", "server"),
				"error_ref": str(), "message": str(), "status_code": obj{"type": "integer"},
				"params": obj{"type": "object", "additionalProperties": str()},
			}, "error_label", "error_scope", "error_ref", "message", "status_code", "params")},
			"responses": obj{"Error": obj{"description": "The standard error body",
				"content": obj{"application/json": obj{"schema": obj{"$ref": "#/components/schemas/Error"}}}}},
		},
	}
}

func rolesFor(p auth.Permission) []string {
	var roles []string
	for _, r := range []string{"owner", "ops", "user"} {
		if auth.Allows(r, p) {
			roles = append(roles, r)
		}
	}
	sort.Strings(roles)
	return roles
}

func operationID(rt *Route) string {
	parts := []string{strings.ToLower(rt.Method)}
	for _, seg := range strings.Split(strings.Trim(rt.Path, "/!"), "/") {
		seg = strings.Trim(seg, "{}")
		seg = strings.NewReplacer("-", "_", ".", "_").Replace(seg)
		if seg != "" {
			parts = append(parts, seg)
		}
	}
	return strings.Join(parts, "_")
}

func itoa3(n int) string {
	return string([]byte{byte('0' + n/100), byte('0' + n/10%10), byte('0' + n%10)})
}

func (s *Server) openapi(c *rctx) error { return c.ok(s.OpenAPI()) }
