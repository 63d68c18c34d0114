package api

import "github.com/firstmate-oss/firstmate/internal/auth"

// Rate-limit groups (X-RateLimit-Type).
const (
	groupWorkspace  = "workspace"
	groupIdentities = "identities"
	groupActions    = "actions"
	groupLive       = "live"
	groupRuns       = "runs"
)

// allRoutes is the route table. Paths are relative to /v4 (and /v1); a path
// starting with "!" is served as is, without a prefix.
func (s *Server) allRoutes() []*Route {
	uidPath := "/identities/{uid}"
	integPath := uidPath + "/integrations/{integration}"
	return []*Route{
		// Operations.
		{Method: "GET", Path: "!/healthz", Perm: auth.Public, Tag: "operations", Summary: "Liveness probe", Response: healthDoc, handle: s.healthz},
		{Method: "GET", Path: "!/readyz", Perm: auth.Public, Tag: "operations", Summary: "Readiness probe: the database answers", Response: healthDoc, handle: s.readyz},
		{Method: "GET", Path: "!/metrics", Perm: auth.Public, Tag: "operations", Summary: "Prometheus metrics", handle: s.metricsHandler},
		{Method: "GET", Path: "/openapi.json", Perm: auth.Public, Tag: "operations", Summary: "This OpenAPI 3.1 document", handle: s.openapi},
		{Method: "GET", Path: "/executor-protocol.json", Perm: auth.Public, Tag: "operations",
			Summary: "The remote executor protocol, as an OpenAPI 3.1 document (extension)", handle: s.executorProtocol},

		// Workspace.
		{Method: "GET", Path: "/workspaces", Perm: auth.Read, Group: groupWorkspace, Tag: "workspace",
			Summary: "The caller's workspace, plan, credits and identity licences", Response: workspaceDoc, handle: s.getWorkspace},
		{Method: "GET", Path: "/workspaces/settings", Perm: auth.Operate, Group: groupWorkspace, Tag: "workspace",
			Summary: "Webhook URL, callback signing secret and Smart Limit overrides", Response: settingsDoc, handle: s.getSettings},
		{Method: "PUT", Path: "/workspaces/settings", Perm: auth.Operate, Group: groupWorkspace, Tag: "workspace", MaxBody: smallBody,
			Body: settingsBody, Summary: "Update settings; rotate the callback signing secret", Response: settingsDoc, handle: s.putSettings},

		// Members, invitations and keys.
		{Method: "GET", Path: "/members", Perm: auth.Read, Group: groupWorkspace, Tag: "members", Summary: "List members",
			Response: arrayOf(memberDoc), handle: s.listMembers},
		{Method: "POST", Path: "/members", Perm: auth.Own, Group: groupWorkspace, Tag: "members", MaxBody: smallBody,
			Body: object(obj{"email": strLen(3, 254), "role": enum("owner", "ops", "user")}, "email", "role"), Status: 201,
			Summary: "Invite a member; returns a one-time invitation token", Response: invitationDoc, handle: s.inviteMember},
		{Method: "PATCH", Path: "/members/{uid}", Perm: auth.Own, Group: groupWorkspace, Tag: "members", MaxBody: smallBody,
			Body: object(obj{"role": enum("owner", "ops", "user")}, "role"), Summary: "Change a member's role",
			Response: memberDoc, handle: s.patchMember},
		{Method: "DELETE", Path: "/members/{uid}", Perm: auth.Own, Group: groupWorkspace, Tag: "members",
			Summary: "Remove a member and their keys", Response: memberDoc, handle: s.deleteMember},
		{Method: "POST", Path: "/invitations/{token}/accept", Perm: auth.Public, Tag: "members", MaxBody: smallBody,
			Body: object(obj{"name": strLen(0, 200), "password": strLen(10, 128)}, "password"), Status: 201,
			Summary: "Accept an invitation, choosing a dashboard password; returns the first API key", Response: acceptedDoc,
			handle: s.acceptInvitation},
		{Method: "GET", Path: "/invitations", Perm: auth.Own, Group: groupWorkspace, Tag: "members",
			Summary:  "Invitations not yet accepted, expired ones included, oldest first (extension; owners only)",
			Response: arrayOf(pendingInvitationDoc), handle: s.listInvitations},
		{Method: "DELETE", Path: "/invitations/{uid}", Perm: auth.Own, Group: groupWorkspace, Tag: "members",
			Summary:  "Revoke an invitation not yet accepted: its link stops working (extension; owners only)",
			Response: pendingInvitationDoc, handle: s.revokeInvitation},
		{Method: "POST", Path: "/invitations/{uid}/reissue", Perm: auth.Own, Group: groupWorkspace, Tag: "members",
			Summary:  "Issue an invitation not yet accepted again: a new one-time token valid 7 days, the old link stops working (extension; owners only)",
			Response: invitationDoc, handle: s.reissueInvitation},
		{Method: "GET", Path: "/api-keys", Perm: auth.Self, Group: groupWorkspace, Tag: "members", Summary: "The caller's API keys",
			Response: arrayOf(apiKeyDoc), handle: s.listKeys},
		{Method: "POST", Path: "/api-keys", Perm: auth.Self, Group: groupWorkspace, Tag: "members", MaxBody: smallBody, BodyOptional: true,
			Body: object(obj{"name": strLen(0, 100)}), Status: 201, Summary: "Create an API key; the key is shown once",
			Response: apiKeyDoc, handle: s.createKey},
		{Method: "DELETE", Path: "/api-keys/{uid}", Perm: auth.Self, Group: groupWorkspace, Tag: "members",
			Summary: "Revoke one of the caller's API keys", Response: apiKeyDoc, handle: s.revokeKey},

		// Identities.
		{Method: "GET", Path: "/identities", Perm: auth.Read, Group: groupIdentities, Tag: "identities",
			Query:   []Param{{"query", str()}, {"page", integer(1, 1_000_000)}, {"retrieve_accounts", boolean()}},
			Summary: "List identities, 50 per page", Response: arrayOf(identityDoc), handle: s.listIdentities},
		{Method: "POST", Path: "/identities", Perm: auth.Operate, Group: groupIdentities, Tag: "identities", MaxBody: smallBody,
			Body: identityCreateBody, Summary: "Create an identity", Response: identityDoc, handle: s.createIdentity},
		{Method: "GET", Path: uidPath, Perm: auth.Read, Group: groupIdentities, Tag: "identities", Summary: "Get an identity",
			Response: identityDoc, handle: s.getIdentity},
		{Method: "PUT", Path: uidPath, Perm: auth.Operate, Group: groupIdentities, Tag: "identities", MaxBody: smallBody,
			Body: identityUpdateBody, Summary: "Rename an identity or change its time zone", Response: identityDoc, handle: s.putIdentity},
		{Method: "DELETE", Path: uidPath, Perm: auth.Operate, Group: groupIdentities, Tag: "identities",
			Summary: "Delete an identity with its integrations and stored credentials", Response: identityDoc, handle: s.deleteIdentity},
		{Method: "POST", Path: uidPath + "/generate-login-links", Perm: auth.Operate, Group: groupIdentities, Tag: "identities",
			Summary: "Fresh 48-hour links to the hosted connect page", Response: loginLinksDoc, handle: s.loginLinks},
		{Method: "POST", Path: uidPath + "/login-links", Perm: auth.Operate, Group: groupIdentities, Tag: "identities",
			Summary: "Alias of generate-login-links", Response: loginLinksDoc, handle: s.loginLinks},
		{Method: "DELETE", Path: uidPath + "/login-links", Perm: auth.Operate, Group: groupIdentities, Tag: "identities",
			Summary:  "Revoke every login link of the identity; they show the hosted page's 410 (extension)",
			Response: object(obj{"identity_uid": str(), "revoked": obj{"type": "integer"}}), handle: s.revokeLoginLinks},
		{Method: "POST", Path: uidPath + "/refresh-proxy", Perm: auth.Operate, Group: groupIdentities, Tag: "identities",
			Summary: "Move the identity onto another egress proxy (its current one is marked unhealthy)", Response: identityDoc,
			handle: s.refreshProxy},
		{Method: "POST", Path: uidPath + "/rent", Perm: auth.Own, Group: groupIdentities, Tag: "identities", MaxBody: smallBody,
			Body: rentBody, Status: 201, Summary: "Rent a managed pool account for a number of days: it becomes the identity's " +
				"SHARED integration until the period ends (extension; owners only)", Response: rentalDoc, handle: s.rentPoolAccount},
		{Method: "DELETE", Path: uidPath + "/rent", Perm: auth.Own, Group: groupIdentities, Tag: "identities",
			Query: []Param{{"platform", str()}}, Summary: "End the identity's rental now; the account goes back to the pool",
			Response: rentalDoc, handle: s.endRental},
		{Method: "GET", Path: "/login-links/{token}", Perm: auth.Public, Tag: "identities",
			Summary: "Check whether a login link is still usable", Response: loginLinkDoc, handle: s.verifyLoginLink},

		{Method: "GET", Path: uidPath + "/actions/{slug}/limits", Perm: auth.Read, Group: groupIdentities, Tag: "identities",
			Summary: "The identity's Smart Limit windows for every key the action consumes", Response: arrayOf(limitStatusDoc),
			handle: s.identityLimits},
		{Method: "GET", Path: uidPath + "/limits", Perm: auth.Read, Group: groupIdentities, Tag: "identities",
			Summary: "The identity's Smart Limit overrides as last set with PUT ({} when none; extension)", Response: limitOverridesBody,
			handle: s.getIdentityLimits},
		{Method: "PUT", Path: uidPath + "/limits", Perm: auth.Operate, Group: groupIdentities, Tag: "identities", MaxBody: smallBody,
			Body: limitOverridesBody, Summary: "Override the identity's Smart Limits (key: number, or key: {24h|7d|30d: number}; working_hours; outreach_gap)",
			Response: limitOverridesBody, handle: s.putIdentityLimits},

		// Actions.
		{Method: "GET", Path: "/actions", Perm: auth.Read, Group: groupActions, Tag: "actions",
			Summary:  "The action catalogue, each with whether this server serves it (available, unavailable_reason, driver)",
			Response: arrayOf(obj{"type": "object"}), handle: s.listActions},
		{Method: "GET", Path: "/actions/{slug}", Perm: auth.Read, Group: groupActions, Tag: "actions",
			Summary:  "One action: schemas, paging, bounds, credit ratio, Smart Limits, and what serves it here",
			Response: obj{"type": "object"}, handle: s.getAction},
		{Method: "GET", Path: "/actions/linkedin-download-attachment", Perm: auth.Operate, Group: groupLive, Tag: "actions",
			Query: []Param{{"identity_id", str()}, {"url", str()}},
			Summary: "Download a LinkedIn message attachment (url: https://www.linkedin.com/dms/...) with the account of " +
				"identity_id, or of the first identity of the workspace that can see it; streams the file", Binary: true,
			handle: s.downloadAttachment},
		{Method: "POST", Path: "/actions/{slug}/run/live", Perm: auth.Operate, Group: groupLive, Tag: "actions", MaxBody: liveBody,
			Query:   []Param{{"page", integer(1, 1_000_000)}, {"cursor", str()}, {"dry_run", boolean()}},
			Summary: "Run an action live: the bare output object, or an array for list actions; dry_run=true checks the call (identity, Smart Limits, credits) without making it (extension)", handle: s.runLive},
		{Method: "POST", Path: "/actions/{slug}/run/async", Perm: auth.Operate, Group: groupActions, Tag: "actions", MaxBody: bulkBody,
			StreamBody: true, Summary: "Run an action on up to 100,000 inputs in the background; results go to the callback",
			Response: asyncDoc, handle: s.runAsync},

		// Runs.
		{Method: "GET", Path: "/runs", Perm: auth.Read, Group: groupRuns, Tag: "runs", Query: runListQuery,
			Summary: "List runs (bare array)", Response: arrayOf(runDoc), handle: s.listRuns},
		{Method: "GET", Path: "/runs/{uid}", Perm: auth.Read, Group: groupRuns, Tag: "runs", Summary: "Get a run",
			Response: runDoc, handle: s.getRun},
		{Method: "GET", Path: "/runs/{uid}/status", Perm: auth.Read, Group: groupRuns, Tag: "runs", Summary: "A run's status and counts",
			Response: runStatusDoc, handle: s.runStatus},
		{Method: "GET", Path: "/runs/{uid}/outputs", Perm: auth.Read, Group: groupRuns, Tag: "runs",
			Query:   []Param{{"limit", integer(1, 100)}, {"offset", integer(0, 1<<30)}},
			Summary: "An async run's results (bare array)", Response: arrayOf(obj{"type": "object"}), handle: s.runOutputs},
		{Method: "POST", Path: "/runs/{uid}/cancel", Perm: auth.Operate, Group: groupRuns, Tag: "runs",
			Summary: "Stop an async run; results so far are kept", Response: runDoc, handle: s.cancelRun},
		{Method: "POST", Path: "/runs/{uid}/resume", Perm: auth.Operate, Group: groupRuns, Tag: "runs",
			Summary: "Re-queue a BLOCKED run", Response: runDoc, handle: s.resumeRun},
		{Method: "GET", Path: "/api/runs/list", Perm: auth.Read, Group: groupRuns, Tag: "legacy", Query: runListQuery,
			Summary: "Early v4 alias of GET /runs", Response: arrayOf(runDoc), handle: s.listRuns},
		{Method: "GET", Path: "/api/runs/get", Perm: auth.Read, Group: groupRuns, Tag: "legacy", Query: []Param{{"uid", str()}},
			Summary: "Early v4 alias of GET /runs/{uid}", Response: runDoc, handle: s.getRun},
		{Method: "POST", Path: "/api/runs/{uid}/resume", Perm: auth.Operate, Group: groupRuns, Tag: "legacy",
			Summary: "Early v4 alias of POST /runs/{uid}/resume", Response: runDoc, handle: s.resumeRun},
		{Method: "POST", Path: "/api/actions/{slug}/async", Perm: auth.Operate, Group: groupActions, Tag: "legacy", MaxBody: bulkBody,
			StreamBody: true,
			Summary:    "Early v4 alias of POST /actions/{slug}/run/async", Response: asyncDoc, handle: s.runAsync},
		// Early v4 and Edges called identities "users" (and identity_ids
		// "integration_users").
		{Method: "GET", Path: "/users", Perm: auth.Read, Group: groupIdentities, Tag: "legacy",
			Query:   []Param{{"query", str()}, {"page", integer(1, 1_000_000)}, {"retrieve_accounts", boolean()}},
			Summary: "Early v4 and Edges alias of GET /identities", Response: arrayOf(identityDoc), handle: s.listIdentities},
		{Method: "POST", Path: "/users", Perm: auth.Operate, Group: groupIdentities, Tag: "legacy", MaxBody: smallBody,
			Body: identityCreateBody, Summary: "Early v4 and Edges alias of POST /identities", Response: identityDoc,
			handle: s.createIdentity},

		// Callbacks.
		{Method: "GET", Path: "/runs/callbacks", Perm: auth.Read, Group: groupRuns, Tag: "callbacks",
			Query: []Param{{"status", str()}, {"run_uid", str()}, {"limit", integer(1, 20)}, {"offset", integer(0, 1<<30)},
				{"sort", str()}},
			Summary: "Callback deliveries", Response: arrayOf(deliveryDoc), handle: s.listDeliveries("callback", 20)},
		{Method: "GET", Path: "/runs/callbacks/{uid}", Perm: auth.Read, Group: groupRuns, Tag: "callbacks",
			Summary: "One callback delivery", Response: deliveryDoc, handle: s.getDelivery("callback")},
		{Method: "POST", Path: "/runs/callbacks/{uid}/replay", Perm: auth.Operate, Group: groupRuns, Tag: "callbacks",
			Summary: "Send a callback again: a child delivery with the same callback_ref_uid", Response: deliveryDoc,
			handle: s.replayDelivery("callback")},

		// Integration webhooks (extension: the vendor keeps these in its UI).
		{Method: "GET", Path: "/webhooks/deliveries", Perm: auth.Read, Group: groupWorkspace, Tag: "webhooks",
			Query:    []Param{{"status", str()}, {"limit", integer(1, 100)}, {"offset", integer(0, 1<<30)}, {"sort", str()}},
			Summary:  "Integration webhook deliveries (AUTH_SUCCESS, AUTH_PENDING, AUTH_FAILED, AUTH_EXPIRED, DELETED)",
			Response: arrayOf(deliveryDoc), handle: s.listDeliveries("webhook", 100)},
		{Method: "GET", Path: "/webhooks/deliveries/{uid}", Perm: auth.Read, Group: groupWorkspace, Tag: "webhooks",
			Summary: "One integration webhook delivery", Response: deliveryDoc, handle: s.getDelivery("webhook")},
		{Method: "POST", Path: "/webhooks/deliveries/{uid}/replay", Perm: auth.Operate, Group: groupWorkspace, Tag: "webhooks",
			Summary: "Send a webhook again: a child delivery with the same webhook-id", Response: deliveryDoc,
			handle: s.replayDelivery("webhook")},

		{Method: "GET", Path: "/audit-events", Perm: auth.Own, Group: groupWorkspace, Tag: "workspace", Query: auditQuery,
			Summary: "The audit log, newest first (extension; owners only)", Response: arrayOf(auditEventDoc), handle: s.listAuditEvents},
		{Method: "GET", Path: "/workspaces/activity", Perm: auth.Read, Group: groupWorkspace, Tag: "workspace",
			Query:    []Param{{"days", integer(1, 90)}},
			Summary:  "Runs and credits per UTC day (by status, by action) and identities by integration status, for the last `days` days (default 14; extension)",
			Response: activityDoc, handle: s.activity},
		{Method: "POST", Path: "/members/{uid}/password-link", Perm: auth.Own, Group: groupWorkspace, Tag: "members", Status: 201,
			Summary:  "Issue a one-time 48-hour link that sets the member's dashboard password (forgot password, no mail server; extension)",
			Response: object(obj{"member_uid": str(), "url": str(), "expires_at": str()}), handle: s.passwordLink},
		{Method: "GET", Path: "/workspaces/consumption", Perm: auth.Read, Group: groupWorkspace, Tag: "workspace",
			Summary: "Credits of the current period, by action", Response: consumptionDoc, handle: s.consumption},

		// Integrations.
		{Method: "POST", Path: integPath, Perm: auth.Operate, Group: groupIdentities, Tag: "integrations", MaxBody: smallBody,
			Body: connectBody, Summary: "Connect or update the identity's account on a platform", Response: integrationDoc,
			handle: s.connectIntegration},
		{Method: "GET", Path: integPath, Perm: auth.Read, Group: groupIdentities, Tag: "integrations",
			Summary: "Get an integration", Response: integrationDoc, handle: s.getIntegration},
		{Method: "DELETE", Path: integPath, Perm: auth.Operate, Group: groupIdentities, Tag: "integrations",
			Summary: "Disconnect an integration and erase its stored credentials", Response: integrationDoc, handle: s.deleteIntegration},
		{Method: "POST", Path: integPath + "/checkpoint", Perm: auth.Operate, Group: groupIdentities, Tag: "integrations",
			MaxBody: smallBody, BodyOptional: true, Body: object(obj{"code": strLen(0, 200)}),
			Summary: "Answer a login checkpoint with its code; {} polls an IN_APP_VALIDATION", Response: integrationDoc,
			handle: s.answerCheckpoint},

		// The hosted connect page behind login links (HTML, no key).
		{Method: "GET", Path: "!/connect/{token}", Perm: auth.Public, Tag: "identities",
			Summary: "Hosted connect page of a login link", handle: s.connectPage},
		{Method: "POST", Path: "!/connect/{token}", Perm: auth.Public, Tag: "identities",
			Summary: "Hosted connect page form posts (a small urlencoded body)", handle: s.connectPage},
	}
}

var (
	settingsBody = object(obj{
		"webhook_url":              uriString(),
		"logo_url":                 uriString(),
		"rotate_callback_secret":   boolean(),
		"engagement_enabled":       boolean(),
		"auto_resume_on_reconnect": boolean(),
		"smart_limit_overrides":    obj{"type": "object"},
	})
	identityCreateBody = object(obj{
		"name":     strLen(3, 200),
		"timezone": strLen(1, 64),
		"type":     enum("standard", "engagement"),
	}, "name")
	identityUpdateBody = object(obj{
		"name":     strLen(3, 200),
		"timezone": strLen(1, 64),
		"type":     enum("standard", "engagement"),
	})
	connectBody = object(obj{
		"auth_data": obj{
			"type": "object", "additionalProperties": false, "minProperties": 1, "maxProperties": 2,
			"properties": obj{
				"user_agent": strLen(1, 512),
				"cookies": obj{"type": "object", "required": []string{"li_at"}, "additionalProperties": strLen(0, 8192),
					"properties": obj{"li_at": strLen(1, 8192), "li_a": strLen(0, 8192)}},
				"basic": object(obj{"username": strLen(1, 320), "password": strLen(1, 1024)}, "username", "password"),
				"token": strLen(1, 4096),
			},
		},
		"account_name": strLen(0, 200),
	}, "auth_data")
)
