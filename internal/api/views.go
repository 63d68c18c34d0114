package api

import (
	"encoding/json"
	"time"

	"github.com/firstmate-oss/firstmate/internal/model"
)

// Wire shapes. Field names follow the contract; times are RFC 3339 UTC.

type memberView struct {
	UID       string    `json:"uid"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func viewMember(m model.Member) memberView {
	return memberView{UID: m.UID, Email: m.Email, Name: m.Name, Role: m.Role, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}
}

type apiKeyView struct {
	UID       string     `json:"uid"`
	Name      string     `json:"name"`
	Prefix    string     `json:"prefix"`
	Key       string     `json:"key,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at"`
}

func viewKey(k model.APIKey) apiKeyView {
	return apiKeyView{UID: k.UID, Name: k.Name, Prefix: k.Prefix, CreatedAt: k.CreatedAt, RevokedAt: k.RevokedAt}
}

type checkpointView struct {
	Type string `json:"type"`
}

type integrationView struct {
	UID         string          `json:"uid"`
	Name        string          `json:"name"`
	Permalink   string          `json:"integration_permalink"` // the integration's slug: linkedin, salesnavigator...
	ProfileURL  *string         `json:"profile_url"`           // extension: the account's profile; null until known
	IdentityUID string          `json:"identity_uid"`
	AuthType    string          `json:"auth_type"`
	SetupSource string          `json:"setup_source"`
	IsShared    bool            `json:"is_shared"`
	Level       *string         `json:"level"`
	Status      string          `json:"status"`
	Checkpoint  *checkpointView `json:"checkpoint"`
	Error       *string         `json:"error"`
	Meta        json.RawMessage `json:"meta"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
}

// viewIntegration never touches the sealed secret.
func viewIntegration(g model.Integration) integrationView {
	v := integrationView{UID: g.UID, Name: g.Name, Permalink: g.Platform, ProfileURL: optional(g.Permalink), IdentityUID: g.IdentityUID,
		AuthType: g.AuthType, SetupSource: g.SetupSource, IsShared: g.IsShared, Status: g.Status,
		Meta: json.RawMessage(g.Meta), CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt}
	if g.Level != "" {
		v.Level = &g.Level
	}
	if g.Checkpoint != "" {
		v.Checkpoint = &checkpointView{Type: g.Checkpoint}
	}
	if g.Error != "" {
		v.Error = &g.Error
	}
	if len(v.Meta) == 0 {
		v.Meta = json.RawMessage("{}")
	}
	return v
}

type identityView struct {
	UID          string            `json:"uid"`
	CreatedAt    time.Time         `json:"created_at"`
	UpdatedAt    time.Time         `json:"updated_at"`
	WorkspaceUID string            `json:"workspace_uid"`
	Name         string            `json:"name"`
	Timezone     string            `json:"timezone"`
	Type         string            `json:"type"`
	Integrations []integrationView `json:"integrations"`
	LoginLinks   map[string]string `json:"identity_login_links,omitempty"`
	Proxy        *proxyView        `json:"proxy"` // extension; null without a proxy pool
}

func viewIdentity(id model.Identity, links map[string]string) identityView {
	v := identityView{UID: id.UID, CreatedAt: id.CreatedAt, UpdatedAt: id.UpdatedAt, WorkspaceUID: id.WorkspaceUID,
		Name: id.Name, Timezone: id.Timezone, Type: id.Type, Integrations: []integrationView{}, LoginLinks: links,
		Proxy: viewProxy(id.Proxy)}
	for _, g := range id.Integrations {
		v.Integrations = append(v.Integrations, viewIntegration(g))
	}
	return v
}
