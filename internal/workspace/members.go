package workspace

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/auth"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/store"
)

func (s *Service) Members(ctx context.Context, workspaceID int64) ([]model.Member, error) {
	return s.DB.ListMembers(ctx, workspaceID)
}

func (s *Service) Member(ctx context.Context, workspaceID int64, uid string) (model.Member, error) {
	m, err := s.DB.GetMember(ctx, workspaceID, uid)
	if errors.Is(err, store.ErrNotFound) {
		return m, apperr.NotFound("member %s not found", uid)
	}
	return m, err
}

// Invite records an invitation and returns its one-time token.
func (s *Service) Invite(ctx context.Context, p model.Principal, email, role string) (model.Invitation, string, error) {
	email, err := normalizeEmail(email)
	if err != nil {
		return model.Invitation{}, "", err
	}
	if !auth.ValidRole(role) {
		return model.Invitation{}, "", apperr.BadInput("body/role must be equal to one of the allowed values: owner, ops, user")
	}
	token, hash := auth.NewToken()
	inv := model.Invitation{UID: uuid.NewString(), WorkspaceID: p.WorkspaceID, Email: email, Role: role,
		ExpiresAt: time.Now().Add(InvitationTTL).UTC()}
	err = s.DB.Tx(ctx, func(tx *store.Tx) error {
		members, err := store.ListMembers(ctx, tx, p.WorkspaceID)
		if err != nil {
			return err
		}
		for _, m := range members {
			if m.Email == email {
				return apperr.Conflict("%s is already a member of this workspace", email)
			}
		}
		inv, err = store.InsertInvitation(ctx, tx, inv, hash, p.MemberID)
		return err
	})
	return inv, token, err
}

// Accepted is the outcome of accepting an invitation: the new member and
// their first API key, shown once.
type Accepted struct {
	Member model.Member
	APIKey string
}

// Accept turns an invitation into a member. The invitee chooses their own
// name and dashboard password; the token works once.
func (s *Service) Accept(ctx context.Context, token, name, password string) (Accepted, error) {
	if len(password) < 10 || len(password) > 128 {
		return Accepted{}, apperr.BadInput("body/password must be 10 to 128 characters long")
	}
	pwHash, err := auth.HashPassword(password)
	if err != nil {
		return Accepted{}, err
	}
	key, display, keyHash := auth.NewAPIKey()
	var out Accepted
	err = s.DB.Tx(ctx, func(tx *store.Tx) error {
		inv, err := store.ClaimInvitation(ctx, tx, auth.HashToken(token))
		if errors.Is(err, store.ErrNotFound) {
			return apperr.NotFound("invitation not found, already used, or expired")
		}
		if err != nil {
			return err
		}
		m, err := store.InsertMember(ctx, tx, model.Member{UID: uuid.NewString(), WorkspaceID: inv.WorkspaceID,
			Email: inv.Email, Name: name, Role: inv.Role}, pwHash)
		if store.IsUniqueViolation(err) {
			return apperr.Conflict("%s is already a member of this workspace", inv.Email)
		}
		if err != nil {
			return err
		}
		if _, err := store.InsertAPIKey(ctx, tx, model.APIKey{UID: uuid.NewString(), WorkspaceID: inv.WorkspaceID,
			MemberID: m.ID, Name: "first key", Prefix: display}, keyHash); err != nil {
			return err
		}
		out.Member = m
		return nil
	})
	out.APIKey = key
	return out, err
}

// ChangeRole changes a member's role; the last owner cannot be demoted.
func (s *Service) ChangeRole(ctx context.Context, workspaceID int64, uid, role string) (model.Member, error) {
	defer s.DB.InvalidateAuth() // this node refuses the old role at once
	if !auth.ValidRole(role) {
		return model.Member{}, apperr.BadInput("body/role must be equal to one of the allowed values: owner, ops, user")
	}
	var out model.Member
	err := s.DB.Tx(ctx, func(tx *store.Tx) error {
		m, err := store.GetMember(ctx, tx, workspaceID, uid)
		if errors.Is(err, store.ErrNotFound) {
			return apperr.NotFound("member %s not found", uid)
		}
		if err != nil {
			return err
		}
		if m.Role == model.RoleOwner && role != model.RoleOwner {
			if err := s.ensureAnotherOwner(ctx, tx, workspaceID); err != nil {
				return err
			}
		}
		if err := store.SetMemberRole(ctx, tx, m.ID, role); err != nil {
			return err
		}
		out, err = store.GetMember(ctx, tx, workspaceID, uid)
		return err
	})
	return out, err
}

// Remove deletes a member and their keys; the last owner cannot be removed.
func (s *Service) Remove(ctx context.Context, workspaceID int64, uid string) error {
	defer s.DB.InvalidateAuth() // the member's keys stop working here at once
	return s.DB.Tx(ctx, func(tx *store.Tx) error {
		m, err := store.GetMember(ctx, tx, workspaceID, uid)
		if errors.Is(err, store.ErrNotFound) {
			return apperr.NotFound("member %s not found", uid)
		}
		if err != nil {
			return err
		}
		if m.Role == model.RoleOwner {
			if err := s.ensureAnotherOwner(ctx, tx, workspaceID); err != nil {
				return err
			}
		}
		return store.DeleteMember(ctx, tx, m.ID)
	})
}

// ensureAnotherOwner runs inside the write transaction, so two concurrent
// demotions cannot both see "two owners left".
func (s *Service) ensureAnotherOwner(ctx context.Context, tx *store.Tx, workspaceID int64) error {
	// Serialise owner changes per workspace.
	if err := s.DB.LockWorkspace(ctx, tx, workspaceID); err != nil {
		return err
	}
	n, err := store.CountOwners(ctx, tx, workspaceID)
	if err != nil {
		return err
	}
	if n <= 1 {
		return apperr.Conflict("the last owner of a workspace cannot be removed or demoted")
	}
	return nil
}

// Keys.

func (s *Service) APIKeys(ctx context.Context, p model.Principal) ([]model.APIKey, error) {
	return s.DB.ListAPIKeys(ctx, p.MemberID)
}

// CreateAPIKey returns the stored key and the key itself, shown once.
func (s *Service) CreateAPIKey(ctx context.Context, p model.Principal, name string) (model.APIKey, string, error) {
	key, display, hash := auth.NewAPIKey()
	var k model.APIKey
	err := s.DB.Tx(ctx, func(tx *store.Tx) error {
		var err error
		k, err = store.InsertAPIKey(ctx, tx, model.APIKey{UID: uuid.NewString(), WorkspaceID: p.WorkspaceID,
			MemberID: p.MemberID, Name: name, Prefix: display}, hash)
		return err
	})
	return k, key, err
}

func (s *Service) RevokeAPIKey(ctx context.Context, p model.Principal, uid string) error {
	defer s.DB.InvalidateAuth() // refused here at once, elsewhere within store.ReadCacheTTL
	var ok bool
	err := s.DB.Tx(ctx, func(tx *store.Tx) error {
		var err error
		ok, err = store.RevokeAPIKey(ctx, tx, p.MemberID, uid)
		return err
	})
	if err == nil && !ok {
		return apperr.NotFound("API key %s not found", uid)
	}
	return err
}

// Invitations lists the workspace's invitations that were not accepted,
// oldest first; expired ones too (they can be issued again).
func (s *Service) Invitations(ctx context.Context, workspaceID int64) ([]model.Invitation, error) {
	all, err := s.DB.ListInvitations(ctx, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("workspace: list invitations: %w", err)
	}
	out := make([]model.Invitation, 0, len(all))
	for _, inv := range all {
		if inv.AcceptedAt == nil {
			out = append(out, inv)
		}
	}
	return out, nil
}

// RevokeInvitation removes an invitation not yet accepted: its link stops
// working. Another workspace's invitation, or an accepted one, is a 404.
func (s *Service) RevokeInvitation(ctx context.Context, workspaceID int64, uid string) error {
	err := s.DB.DeleteInvitation(ctx, workspaceID, uid)
	if errors.Is(err, store.ErrNotFound) {
		return apperr.NotFound("invitation %s not found or already accepted", uid)
	}
	return err
}

// ReissueInvitation gives an invitation not yet accepted a fresh token and
// a full lifetime (the earlier link stops working) and returns the token,
// shown once like the first.
func (s *Service) ReissueInvitation(ctx context.Context, workspaceID int64, uid string) (model.Invitation, string, error) {
	token, hash := auth.NewToken()
	inv, err := s.DB.ReissueInvitation(ctx, workspaceID, uid, hash, time.Now().Add(InvitationTTL).UTC())
	if errors.Is(err, store.ErrNotFound) {
		return inv, "", apperr.NotFound("invitation %s not found or already accepted", uid)
	}
	return inv, token, err
}

// WorkspaceKeys lists every API key of the workspace's members (revoked ones too),
// with each key's member and role: what the MCP page shows per key.
func (s *Service) WorkspaceKeys(ctx context.Context, workspaceID int64) ([]store.WorkspaceKey, error) {
	return s.DB.ListWorkspaceKeys(ctx, workspaceID)
}
