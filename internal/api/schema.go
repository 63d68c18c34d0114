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
	pendingInvitationDoc = object(obj{"uid": str(), "email": str(), "role": str(), "expires_at": dateTime(),
		"created_at": dateTime(), "expired": boolean()})
	invitationDoc = object(obj{"uid": str(), "email": str(), "role": str(), "token": str(), "expires_at": dateTime()})
	apiKeyDoc     = object(obj{"uid": str(), "name": str(), "prefix": str(), "key": str(), "created_at": dateTime(),
		"revoked_at": nullable(dateTime())})
	integrationDoc = object(obj{
		"uid": str(), "name": str(), "integration_permalink": str(), "profile_url": nullable(str()), "identity_uid": str(),
		"auth_type": enum("COOKIES", "BASIC", "OAUTH", "APIKEY"), "setup_source": enum("MANUAL", "EXTENSION", "SHARED", "API"),
		"is_shared": boolean(), "level": nullable(str()), "status": enum("VALID", "INVALID", "PENDING", "LIMIT_REACHED"),
		"checkpoint": nullable(obj{"type": "object"}), "error": nullable(str()), "meta": obj{"type": "object"},
		"created_at": dateTime(), "updated_at": dateTime(),
	})
	identityDoc = object(obj{
		"uid": str(), "created_at": dateTime(), "updated_at": dateTime(), "workspace_uid": str(), "name": str(),
		"timezone": str(), "type": enum("standard", "engagement"), "integrations": arrayOf(integrationDoc),
		"identity_login_links": obj{"type": "object", "additionalProperties": str()}, "proxy": identityProxyDoc,
	})
	loginLinksDoc  = obj{"type": "object", "properties": obj{"linkedin": str()}, "additionalProperties": str()}
	loginLinkDoc   = object(obj{"valid": boolean(), "reason": str(), "platform": str(), "expires_at": dateTime()})
	acceptedDoc    = object(obj{"member": memberDoc, "api_key": str()})
	healthDoc      = object(obj{"status": str()})
	limitStatusDoc = object(obj{"key": str(), "max_limit": obj{"type": "integer"}, "consumed": obj{"type": "integer"},
		"remaining": obj{"type": "integer"}, "available_at": nullable(dateTime()), "window": str()})
	limitOverridesBody = obj{"type": "object", "maxProperties": 16,
		"properties": obj{
			"working_hours": object(obj{"enabled": boolean(), "start": str(), "end": str(), "days": arrayOf(str()),
				"outreach_only": boolean()}),
			"outreach_gap": object(obj{"min_seconds": integer(0, 86400), "max_seconds": integer(0, 86400)}),
		},
		"additionalProperties": obj{
			"oneOf": []any{integer(0, 1_000_000_000), obj{"type": "object", "additionalProperties": integer(0, 1_000_000_000),
				"propertyNames": enum("24h", "7d", "30d")}}}}
	consumptionDoc = object(obj{"credits_left": obj{"type": "number"}, "credits_max": obj{"type": "number"},
		"credits_used": obj{"type": "number"}, "current_month_start": dateTime(), "current_month_end": dateTime(),
		"consumptions": arrayOf(object(obj{"action_slug": str(), "credits_used": obj{"type": "number"},
			"runs": obj{"type": "integer"}, "results": obj{"type": "integer"}})),
		"engagement_identities_peak": obj{"type": "integer"}})
)

var (
	asyncDoc = object(obj{"run_uid": str(), "run_id": obj{"type": "integer"}, "workspace_uid": str(), "user_uid": str(),
		"action_name": str(), "status": str(), "postponed_until": nullable(dateTime()), "created_at": dateTime(),
		"synced_at": nullable(dateTime()), "updated_at": dateTime()})
	runErrorDoc = nullable(obj{"type": "object", "properties": obj{"label": str(), "message": str(),
		"params": obj{"type": "object", "additionalProperties": str()}}, "required": []string{"label", "message", "params"}})
	runDoc = object(obj{
		"id": obj{"type": "integer"}, "uid": str(), "action_id": nullable(obj{"type": "integer"}), "action_name": str(),
		"status": enum(runStatuses...), "execution_mode": enum("LIVE", "ASYNC"), "user_uid": str(), "workspace_uid": str(), "retry_count": obj{"type": "integer"},
		"postponed_until": nullable(dateTime()), "output_count": obj{"type": "integer"}, "input_count": obj{"type": "integer"},
		"last_error": runErrorDoc, "parameters": obj{"type": "object"},
		"callback":          nullable(obj{"type": "object", "properties": obj{"url": str(), "on": enum("all", "final")}}),
		"scheduled_run_uid": nullable(str()), "started_at": nullable(dateTime()), "finished_at": nullable(dateTime()),
		"synced_at": nullable(dateTime()), "created_at": dateTime(), "updated_at": dateTime(),
	})
	runStatusDoc = object(obj{"uid": str(), "status": enum(runStatuses...), "postponed_until": nullable(dateTime()),
		"input_count": obj{"type": "integer"}, "output_count": obj{"type": "integer"}, "last_error": runErrorDoc,
		"synced_at": nullable(dateTime()), "updated_at": dateTime()})
	deliveryDoc = object(obj{
		"uid": str(), "parent_uid": nullable(str()), "run_uid": str(), "batch_uid": nullable(str()),
		"callback_ref_uid": str(), "webhook_id": str(), "event": str(), "workspace_uid": str(),
		"status": enum("PENDING", "RUNNING", "FAILED", "SUCCESS"), "callback_url": str(), "url": str(),
		"http_status": nullable(obj{"type": "integer"}), "retry_count": obj{"type": "integer"},
		"next_attempt_at": nullable(dateTime()), "last_error": nullable(str()), "created_at": dateTime(), "updated_at": dateTime(),
	})
	runListQuery = []Param{{"status", str()}, {"action_name", str()}, {"execution_mode", str()}, {"uid", str()},
		{"user_uid", str()}, {"workspace_uid", str()}, {"scheduled_run_uid", str()}, {"limit", integer(1, 100)},
		{"offset", integer(0, 1<<30)}, {"sort", str()},
		{"created_after", str()}, {"created_before", str()}, {"identity_uid", str()}} // extensions
)
