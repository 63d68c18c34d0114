package api

// Small builders for the JSON Schemas of request bodies. The same maps
// validate requests and appear in the OpenAPI document.

type obj = map[string]any

func object(props obj, required ...string) obj {
	o := obj{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		o["required"] = required
	}
	return o
}

func str() obj { return obj{"type": "string"} }

func strLen(min, max int) obj { return obj{"type": "string", "minLength": min, "maxLength": max} }

func boolean() obj { return obj{"type": "boolean"} }

func enum(values ...string) obj { return obj{"type": "string", "enum": values} }

func arrayOf(items obj) obj { return obj{"type": "array", "items": items} }

func integer(min, max int) obj { return obj{"type": "integer", "minimum": min, "maximum": max} }

func uriString() obj { return obj{"type": "string", "maxLength": 2048} }

func dateTime() obj { return obj{"type": "string", "format": "date-time"} }

func nullable(o obj) obj {
	c := obj{}
	for k, v := range o {
		c[k] = v
	}
	c["type"] = []any{o["type"], "null"}
	return c
}

// Response documentation schemas.
var (
	workspaceDoc = object(obj{
		"uid": str(), "name": str(), "plan_name": str(), "credits_left": obj{"type": "number"},
		"credits_max": obj{"type": "number"}, "credits_used": obj{"type": "number"},
		"current_month_start": dateTime(), "current_month_end": dateTime(),
		"users_included": obj{"type": "integer"}, "users_synced": obj{"type": "integer"}, "users_remaining": obj{"type": "integer"},
	})
	settingsDoc = object(obj{
		"webhook_url": str(), "logo_url": str(), "callback_signing_secret": str(), "engagement_enabled": boolean(),
		"auto_resume_on_reconnect": boolean(), "smart_limit_overrides": obj{"type": "object"},
	})
	memberDoc = object(obj{"uid": str(), "email": str(), "name": str(), "role": enum("owner", "ops", "user"),
		"created_at": dateTime(), "updated_at": dateTime()})
	invitationDoc = object(obj{"uid": str(), "email": str(), "role": str(), "token": str(), "expires_at": dateTime()})
	apiKeyDoc     = object(obj{"uid": str(), "name": str(), "prefix": str(), "key": str(), "created_at": dateTime(),
		"revoked_at": nullable(dateTime())})
	integrationDoc = object(obj{
		"uid": str(), "name": str(), "integration_permalink": str(), "identity_uid": str(),
		"auth_type": enum("COOKIES", "BASIC", "OAUTH", "APIKEY"), "setup_source": enum("MANUAL", "EXTENSION", "SHARED", "API"),
		"is_shared": boolean(), "level": nullable(str()), "status": enum("VALID", "INVALID", "PENDING", "LIMIT_REACHED"),
		"checkpoint": nullable(obj{"type": "object"}), "error": nullable(str()), "meta": obj{"type": "object"},
		"created_at": dateTime(), "updated_at": dateTime(),
	})
	identityDoc = object(obj{
		"uid": str(), "created_at": dateTime(), "updated_at": dateTime(), "workspace_uid": str(), "name": str(),
		"timezone": str(), "type": enum("standard", "engagement"), "integrations": arrayOf(integrationDoc),
		"identity_login_links": obj{"type": "object", "additionalProperties": str()},
	})
	loginLinksDoc  = object(obj{"identity_login_links": obj{"type": "object", "additionalProperties": str()}})
	loginLinkDoc   = object(obj{"valid": boolean(), "reason": str(), "platform": str(), "expires_at": dateTime()})
	acceptedDoc    = object(obj{"member": memberDoc, "api_key": str()})
	healthDoc      = object(obj{"status": str()})
	limitStatusDoc = object(obj{"key": str(), "max_limit": obj{"type": "integer"}, "consumed": obj{"type": "integer"},
		"remaining": obj{"type": "integer"}, "available_at": nullable(dateTime()), "window": enum("24h", "7d", "30d")})
	limitOverridesBody = obj{"type": "object", "maxProperties": 16, "additionalProperties": obj{
		"oneOf": []any{integer(0, 1_000_000_000), obj{"type": "object", "additionalProperties": integer(0, 1_000_000_000),
			"propertyNames": enum("24h", "7d", "30d")}}}}
	consumptionDoc = object(obj{"credits_left": obj{"type": "number"}, "credits_max": obj{"type": "number"},
		"credits_used": obj{"type": "number"}, "current_month_start": dateTime(), "current_month_end": dateTime(),
		"consumptions": arrayOf(object(obj{"action_slug": str(), "credits_used": obj{"type": "number"},
			"runs": obj{"type": "integer"}, "results": obj{"type": "integer"}}))})
)
