package workspace

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/auth"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// The operator's key commands (firstmate keys ...) recover a workspace whose
// keys are lost. They act as no member and no key: their audit events carry
// no actor and say "via": "operator" in their detail.

// Find resolves a workspace from its uid or its name (compared without
// case). A name that several workspaces share is refused: the operator must
// give the uid.
func (s *Service) Find(ctx context.Context, ref string) (model.Workspace, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return model.Workspace{}, apperr.BadInput("a workspace uid or name is required")
	}
	ws, err := s.DB.WorkspacesByRef(ctx, ref)
	if err != nil {
		return model.Workspace{}, err
	}
	switch len(ws) {
	case 0:
		return model.Workspace{}, apperr.NotFound("no workspace has the uid or name %q", ref)
	case 1:
		return ws[0], nil
	}
	uids := make([]string, len(ws))
	for i, w := range ws {
		uids[i] = w.UID
	}
	return model.Workspace{}, apperr.Conflict("%d workspaces are named %q (%s): give the uid", len(ws), ref, strings.Join(uids, ", "))
}

// OperatorKey is a key the operator made, with the member it acts as.
type OperatorKey struct {
	Key    model.APIKey
	Member model.Member
}

// OperatorCreateKey makes a new API key in a workspace, for the member
// memberRef (uid or e-mail) or, when it is empty, for the workspace's
// earliest member with the role. The key is returned once, like any key.
func (s *Service) OperatorCreateKey(ctx context.Context, w model.Workspace, role, memberRef, name string) (OperatorKey, string, error) {
	if memberRef == "" && !validRole(role) {
		return OperatorKey{}, "", apperr.BadInput("role must be one of owner, ops, user")
	}
	if name = strings.TrimSpace(name); name == "" {
		name = "recovered by the operator"
	}
	if len(name) > 200 {
		return OperatorKey{}, "", apperr.BadInput("name must NOT have more than 200 characters")
	}
	key, display, hash := auth.NewAPIKey()
	var out OperatorKey
	err := s.DB.Tx(ctx, func(tx *store.Tx) error {
		var err error
		if memberRef != "" {
			out.Member, err = store.MemberByUIDOrEmail(ctx, tx, w.ID, memberRef)
			if errors.Is(err, store.ErrNotFound) {
				return apperr.NotFound("workspace %s has no member %q", w.UID, memberRef)
			}
		} else {
			out.Member, err = store.MemberByRole(ctx, tx, w.ID, role)
			if errors.Is(err, store.ErrNotFound) {
				return apperr.NotFound("workspace %s has no member with the role %s", w.UID, role)
			}
		}
		if err != nil {
			return err
		}
		out.Key, err = store.InsertAPIKey(ctx, tx, model.APIKey{UID: uuid.NewString(), WorkspaceID: w.ID,
			MemberID: out.Member.ID, Name: name, Prefix: display}, hash)
		if err != nil {
			return err
		}
		return s.operatorAudit(ctx, tx, w.ID, "api_key.create", out.Key.UID, map[string]any{
			"name": name, "member_uid": out.Member.UID, "role": out.Member.Role})
	})
	if err != nil {
		return OperatorKey{}, "", err
	}
	return out, key, nil
}

// OperatorKeys lists a workspace's API keys (revoked ones too).
func (s *Service) OperatorKeys(ctx context.Context, w model.Workspace) ([]store.WorkspaceKey, error) {
	return s.DB.ListWorkspaceKeys(ctx, w.ID)
}

// OperatorRevokeKey revokes a workspace's key given its uid or its display
// prefix (fm_ and 8 characters, as keys list shows it). A prefix that
// several live keys share is refused.
func (s *Service) OperatorRevokeKey(ctx context.Context, w model.Workspace, ref string) (store.WorkspaceKey, error) {
	defer s.DB.InvalidateAuth()
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return store.WorkspaceKey{}, apperr.BadInput("a key uid or prefix is required")
	}
	var out store.WorkspaceKey
	err := s.DB.Tx(ctx, func(tx *store.Tx) error {
		keys, err := store.ListWorkspaceKeys(ctx, tx, w.ID)
		if err != nil {
			return err
		}
		var match []store.WorkspaceKey
		for _, k := range keys {
			if k.UID == ref || (k.Prefix == ref && k.RevokedAt == nil) {
				match = append(match, k)
			}
		}
		switch {
		case len(match) == 0:
			return apperr.NotFound("workspace %s has no key %q", w.UID, ref)
		case len(match) > 1:
			return apperr.Conflict("%d live keys of workspace %s start with %q: give the key's uid", len(match), w.UID, ref)
		}
		out = match[0]
		ok, err := store.RevokeWorkspaceKey(ctx, tx, w.ID, out.ID)
		if err != nil {
			return err
		}
		if !ok {
			return apperr.Conflict("key %s is already revoked", out.UID)
		}
		return s.operatorAudit(ctx, tx, w.ID, "api_key.revoke", out.UID, map[string]any{"member_uid": out.MemberUID})
	})
	return out, err
}

func (s *Service) operatorAudit(ctx context.Context, tx *store.Tx, workspaceID int64, action, keyUID string, detail map[string]any) error {
	detail["via"] = "operator"
	raw, err := json.Marshal(detail)
	if err != nil {
		return err
	}
	return store.InsertAuditEvent(ctx, tx, store.AuditEvent{UID: uuid.NewString(), WorkspaceID: workspaceID, Action: action,
		TargetType: "api_key", TargetUID: keyUID, Detail: string(raw), CreatedAt: store.Millis(time.Now())}, 0)
}

func validRole(r string) bool {
	return r == model.RoleOwner || r == model.RoleOps || r == model.RoleUser
}
