package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/firstmate-oss/firstmate/internal/app"
	"github.com/firstmate-oss/firstmate/internal/model"
)

// The keys commands recover a workspace whose keys are lost: the operator
// makes a new one, lists them, revokes them. Each change is in the
// workspace's audit log as an operator action.

func (o *opts) workspaceFlag() *string {
	return o.fs.String("workspace", "", "the workspace's uid, or its name when no other workspace has it (required)")
}

// openWorkspace opens the application and finds the workspace.
func (o *opts) openWorkspace(ctx context.Context, ref string) (*app.App, model.Workspace, error) {
	if ref == "" {
		return nil, model.Workspace{}, fmt.Errorf("%s needs --workspace (a uid or a name)", o.name)
	}
	a, err := o.open(ctx)
	if err != nil {
		return nil, model.Workspace{}, err
	}
	ws, err := a.Workspaces.Find(ctx, ref)
	if err != nil {
		a.Close()
		return nil, model.Workspace{}, err
	}
	return a, ws, nil
}

func (c *cli) keysCreate(args []string) error {
	o := c.flags("keys create", true)
	ref := o.workspaceFlag()
	role := o.fs.String("role", model.RoleOwner, "the key acts as the workspace's earliest member with this role: owner, ops or user")
	member := o.fs.String("member", "", "the key acts as this member (uid or e-mail) instead")
	name := o.fs.String("name", "", "the key's name (default \"recovered by the operator\")")
	asJSON := o.fs.Bool("json", false, "print JSON")
	if err := o.parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, ws, err := o.openWorkspace(ctx, *ref)
	if err != nil {
		return err
	}
	defer a.Close()
	k, key, err := a.Workspaces.OperatorCreateKey(ctx, ws, *role, *member, *name)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(c.stdout).Encode(map[string]string{"workspace_uid": ws.UID, "member_uid": k.Member.UID,
			"member_email": k.Member.Email, "role": k.Member.Role, "key_uid": k.Key.UID, "prefix": k.Key.Prefix, "api_key": key})
	}
	fmt.Fprintf(c.stdout, "New API key of workspace %s (%s), acting as %s (%s); shown once, keep it:\n\n  %s\n\n",
		ws.Name, ws.UID, k.Member.Email, k.Member.Role, key)
	return nil
}

func (c *cli) keysList(args []string) error {
	o := c.flags("keys list", true)
	ref := o.workspaceFlag()
	asJSON := o.fs.Bool("json", false, "print JSON")
	if err := o.parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, ws, err := o.openWorkspace(ctx, *ref)
	if err != nil {
		return err
	}
	defer a.Close()
	keys, err := a.Workspaces.OperatorKeys(ctx, ws)
	if err != nil {
		return err
	}
	if *asJSON {
		type row struct {
			UID         string     `json:"uid"`
			Prefix      string     `json:"prefix"`
			Name        string     `json:"name"`
			MemberUID   string     `json:"member_uid"`
			MemberEmail string     `json:"member_email"`
			Role        string     `json:"role"`
			CreatedAt   time.Time  `json:"created_at"`
			RevokedAt   *time.Time `json:"revoked_at"`
		}
		rows := []row{}
		for _, k := range keys {
			rows = append(rows, row{UID: k.UID, Prefix: k.Prefix, Name: k.Name, MemberUID: k.MemberUID, MemberEmail: k.MemberEmail,
				Role: k.MemberRole, CreatedAt: k.CreatedAt.UTC(), RevokedAt: k.RevokedAt})
		}
		return json.NewEncoder(c.stdout).Encode(rows)
	}
	tw := tabwriter.NewWriter(c.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "UID\tPREFIX\tNAME\tMEMBER\tROLE\tCREATED\tREVOKED")
	for _, k := range keys {
		revoked := "-"
		if k.RevokedAt != nil {
			revoked = k.RevokedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.UID, k.Prefix, k.Name, k.MemberEmail, k.MemberRole,
			k.CreatedAt.UTC().Format(time.RFC3339), revoked)
	}
	return tw.Flush()
}

func (c *cli) keysRevoke(args []string) error {
	o := c.flags("keys revoke", true)
	ref := o.workspaceFlag()
	key := o.fs.String("key", "", "the key's uid, or its prefix (fm_ and 8 characters) as keys list shows it (required)")
	if err := o.parse(args); err != nil {
		return err
	}
	if *key == "" {
		return errors.New("keys revoke needs --key (a uid or a prefix; see keys list)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, ws, err := o.openWorkspace(ctx, *ref)
	if err != nil {
		return err
	}
	defer a.Close()
	k, err := a.Workspaces.OperatorRevokeKey(ctx, ws, *key)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "revoked key %s (%s) of %s in workspace %s\n", k.UID, k.Prefix, k.MemberEmail, ws.UID)
	return nil
}
