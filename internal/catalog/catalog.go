// Package catalog holds every action Firstmate can run: its input,
// parameter and output shapes (generated from the vendor reference by
// tools/catalog-gen, facts only), what Firstmate decides about it (platform,
// kind, credits, Smart Limits: actions.go), and the request decoders that
// turn a live, async or schedule body into a normalized, validated request.
//
// actions_gen.go is generated; never edit it. After a reference update:
//
//	go generate ./internal/catalog
//
// then run the tests: they compare every generated fact with the reference,
// check the file is fresh, and that no reference prose leaked in.
package catalog

//go:generate go run ../../tools/catalog-gen -ref ../../../shared/reference/captaindata-v4-actions.openapi.json -out actions_gen.go

import (
	"fmt"
	"hash/fnv"
	"regexp"
	"sort"

	"github.com/firstmate-oss/firstmate/internal/validate"
)

// Bounds of the max_results parameter in one mode.
type Bounds struct {
	Default, Min, Max          int
	Present                    bool // the mode's parameters accept max_results
	HasDefault, HasMin, HasMax bool
}

// Field is one property of an input, parameters or output object.
type Field struct {
	Name         string
	Type         string // JSON type ("string", "integer", ...); "" when untyped
	Nullable     bool
	Format       string
	Pattern      string // as the reference writes it; validation uses its RE2 translation
	Aliases      []string
	RequiredWith []string // other fields that may stand in for this one
	Enum         []string
	Default      any
	HasDefault   bool
	Required     bool
	Primary      bool
	Deprecated   bool
	Node         *Node // the full fact tree, for nested shapes
}

// Action is one catalogue entry. Everything is computed once at init and
// read-only afterwards.
type Action struct {
	// ID is the action's number (the reference's action_id on runs and
	// schedules): a hash of the slug, so it never changes and needs no
	// table (see actionID).
	ID                   int64
	Slug, Platform, Kind string
	NeedsIdentity        bool
	// Integration is the integration an identity needs to run the action:
	// "linkedin", "salesnavigator", "recruiterlite", "hubspot" or "".
	Integration string

	ListOutput   bool // the live 200 body is an array
	PageSize     int  // live page size; 0 when the action does not page
	CursorPaging bool // live paging also takes an opaque token/cursor
	PrevLink     bool // the reference documents X-Pagination-Previous

	LiveMaxResults, AsyncMaxResults, ScheduleMaxResults Bounds
	AsyncMaxInputs, ScheduleMaxInputs                   int

	// LiveInput is false for actions whose live body carries no "input"
	// (they act on the account itself: connections, inbox, invitations).
	LiveInput bool
	// AcceptsIdentity: the live body may carry identity_ids; identity_mode
	// too when AcceptsIdentityMode. Async and schedule bodies: see
	// AcceptsIdentityIn.
	AcceptsIdentity, AcceptsIdentityMode bool

	CreditRatio float64
	LimitKeys   []string
	// OwnData: the action reads the running account's own data (its inbox,
	// network, viewers, invitations or saved lists), not public data.
	OwnData bool
	// Extension: a Firstmate action the vendor reference does not have
	// (actions_hubspot.go).
	Extension bool

	Inputs  []Field
	Outputs []Field
	// RequiredAlternatives lists, when the input needs one of several
	// fields, each acceptable set (e.g. [[linkedin_post_url]
	// [linkedin_comment_url]]). Nil when Inputs' Required flags say it all.
	RequiredAlternatives [][]string
	LiveParams           []Field
	AsyncParams          []Field
	ScheduleParams       []Field

	gen                                     *genAction
	input                                   *Node // merged input object (anyOf alternatives folded in)
	liveParams, asyncParams, scheduleParams *Node // after overrides
	aliasIndex                              map[string][]string
	fieldRE                                 map[string]*regexp.Regexp

	inputSchema                                         *validate.Schema
	liveEnvelope, asyncEnvelope, schedEnvelope          *validate.Schema
	liveParamSchema, asyncParamSchema, schedParamSchema *validate.Schema

	// asyncMembers are the members an async body may have.
	asyncMembers map[string]bool
}

// ModeIdentity says which identity fields a mode's body accepts.
type ModeIdentity struct{ IDs, Mode bool }

// AcceptsIdentityIn reports the identity fields accepted in mode ("live",
// "async" or "schedule").
func (a *Action) AcceptsIdentityIn(mode string) ModeIdentity {
	var g genIdentity
	switch mode {
	case "live":
		g = a.gen.LiveIdentity
	case "async":
		g = a.gen.AsyncIdentity
	case "schedule":
		g = a.gen.SchedIdentity
	}
	return ModeIdentity{IDs: g.IDs, Mode: g.Mode}
}

// ManagedAllowed reports whether identity_mode "managed" may be used:
// extraction and search of public data only. Actions that read the running
// account's own data (OwnData) would hand the workspace a pool account's
// inbox, network or lists.
func (a *Action) ManagedAllowed() bool {
	return (a.Kind == KindExtract || a.Kind == KindSearch) && !a.OwnData
}

var (
	all    []*Action
	bySlug map[string]*Action
)

func init() {
	if err := build(); err != nil {
		panic("catalog: " + err.Error())
	}
}

// All returns every action, sorted by slug. The slice is a copy; the
// actions are shared and must not be modified.
func All() []*Action { return append([]*Action(nil), all...) }

// Get returns the action with this slug.
func Get(slug string) (*Action, bool) {
	a, ok := bySlug[slug]
	return a, ok
}

func build() error {
	bySlug = make(map[string]*Action, len(generated)+len(extensions))
	for _, g := range append(generated[:len(generated):len(generated)], extensions...) {
		a, err := newAction(g)
		if err != nil {
			return fmt.Errorf("%s: %w", g.Slug, err)
		}
		all = append(all, a)
		bySlug[a.Slug] = a
	}
	for slug := range hand {
		if bySlug[slug] == nil {
			return fmt.Errorf("actions.go describes %q, which the generated catalogue lacks", slug)
		}
	}
	ids := map[int64]string{}
	for _, a := range all {
		if other, dup := ids[a.ID]; dup {
			return fmt.Errorf("actions %q and %q hash to the same id %d", other, a.Slug, a.ID)
		}
		ids[a.ID] = a.Slug
	}
	for slug := range ownData {
		if a := bySlug[slug]; a == nil || a.Kind != KindExtract {
			return fmt.Errorf("actions.go lists %q as reading the account's own data, but it is no extraction of the catalogue", slug)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Slug < all[j].Slug })
	return nil
}

func newAction(g *genAction) (*Action, error) {
	h, ok := hand[g.Slug]
	if !ok {
		h, ok = extensionHand[g.Slug]
	}
	if !ok {
		return nil, fmt.Errorf("no hand-written entry in actions.go")
	}
	platform, integration, needs := platformOf(g.Slug)
	if platform == "" {
		return nil, fmt.Errorf("unknown platform prefix")
	}
	if noAccount[g.Slug] {
		integration, needs = "", false
	}
	a := &Action{
		ID: actionID(g.Slug), Slug: g.Slug, Platform: platform, Kind: h.kind,
		NeedsIdentity: needs, Integration: integration,
		ListOutput: g.ListOutput, PageSize: g.PageSize, CursorPaging: g.CursorPaging, PrevLink: g.PrevLink,
		AsyncMaxInputs: g.AsyncMaxInputs, ScheduleMaxInputs: g.SchedMaxInputs,
		LiveInput:       g.LiveHasInput,
		AcceptsIdentity: g.LiveIdentity.IDs, AcceptsIdentityMode: g.LiveIdentity.Mode,
		CreditRatio: h.ratio, LimitKeys: append([]string(nil), h.limits...), OwnData: ownData[g.Slug],
		Extension: extensionHand[g.Slug].kind != "",
		gen:       g,
	}
	a.liveParams, a.asyncParams, a.scheduleParams = g.LiveParams.clone(), g.AsyncParams.clone(), g.SchedParams.clone()
	for _, o := range overrides {
		if o.slug != g.Slug {
			continue
		}
		for _, p := range []*Node{a.liveParams, a.asyncParams, a.scheduleParams} {
			if f := p.Prop(o.field); f != nil {
				o.fix(f)
			}
		}
	}
	a.LiveMaxResults = boundsOf(a.liveParams)
	a.AsyncMaxResults = boundsOf(a.asyncParams)
	a.ScheduleMaxResults = boundsOf(a.scheduleParams)
	a.LiveParams = fieldsOf(a.liveParams)
	a.AsyncParams = fieldsOf(a.asyncParams)
	a.ScheduleParams = fieldsOf(a.scheduleParams)

	a.input, a.RequiredAlternatives = mergeInput(g.Input)
	a.Inputs = fieldsOf(a.input)
	a.Outputs = fieldsOf(g.Output)
	a.aliasIndex = map[string][]string{}
	for _, f := range a.Inputs {
		for _, al := range f.Aliases {
			if al != f.Name {
				a.aliasIndex[al] = append(a.aliasIndex[al], f.Name)
			}
		}
	}
	if err := a.compile(); err != nil {
		return nil, err
	}
	return a, nil
}

// actionID numbers an action by its slug: the FNV-1a hash, on 31 bits so
// that every client's integer type holds it. build refuses a collision.
func actionID(slug string) int64 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(slug))
	return int64(h.Sum32() & 0x7fffffff)
}

func boundsOf(params *Node) Bounds {
	n := params.Prop("max_results")
	if n == nil {
		return Bounds{}
	}
	b := Bounds{Present: true}
	if n.HasDefault {
		if d, ok := intValue(n.Default); ok {
			b.Default, b.HasDefault = d, true
		}
	}
	if n.Minimum != nil {
		b.Min, b.HasMin = int(*n.Minimum), true
	}
	if n.Maximum != nil {
		b.Max, b.HasMax = int(*n.Maximum), true
	}
	return b
}

func fieldsOf(n *Node) []Field {
	if n == nil {
		return nil
	}
	out := make([]Field, 0, len(n.Props))
	for _, p := range n.Props {
		f := Field{
			Name: p.Name, Nullable: p.Node.Nullable, Format: p.Node.Format, Pattern: p.Node.Pattern,
			Aliases: p.Node.Aliases, RequiredWith: p.Node.RequiredVariations,
			Default: cloneValue(p.Node.Default), HasDefault: p.Node.HasDefault,
			Required: contains(n.Required, p.Name), Primary: p.Node.Primary, Deprecated: p.Node.Deprecated,
			Node: p.Node,
		}
		for _, t := range p.Node.Type {
			if t != "null" {
				f.Type = t
				break
			}
		}
		for _, e := range p.Node.Enum {
			if e != nil {
				f.Enum = append(f.Enum, fmt.Sprint(e))
			}
		}
		out = append(out, f)
	}
	return out
}

// mergeInput folds the properties of anyOf alternatives into the input
// object. The reference declares "additionalProperties: false" next to an
// anyOf whose branches hold the real fields, which, read literally, rejects
// every input; the evident intent is "these fields, one of these required".
func mergeInput(in *Node) (*Node, [][]string) {
	m := in.clone()
	if len(m.AnyOf) == 0 {
		return m, nil
	}
	var alts [][]string
	var branches []*Node
	for _, b := range m.AnyOf {
		for _, p := range b.Props {
			if m.Prop(p.Name) == nil {
				m.Props = append(m.Props, p)
			}
		}
		alts = append(alts, append([]string(nil), b.Required...))
		branches = append(branches, &Node{Required: append([]string(nil), b.Required...)})
	}
	sort.Slice(m.Props, func(i, j int) bool { return m.Props[i].Name < m.Props[j].Name })
	m.AnyOf = branches
	return m, alts
}

func (n *Node) clone() *Node {
	if n == nil {
		return nil
	}
	c := *n
	c.Enum, _ = cloneValue(n.Enum).([]any)
	if n.Enum == nil {
		c.Enum = nil
	}
	c.Default = cloneValue(n.Default)
	c.Props = cloneProps(n.Props)
	c.PatternProps = cloneProps(n.PatternProps)
	c.Required = append([]string(nil), n.Required...)
	if n.Required == nil {
		c.Required = nil
	}
	c.AdditionalSchema = n.AdditionalSchema.clone()
	c.Items = n.Items.clone()
	c.AnyOf = cloneNodes(n.AnyOf)
	c.OneOf = cloneNodes(n.OneOf)
	return &c
}

func cloneProps(ps []Prop) []Prop {
	if ps == nil {
		return nil
	}
	out := make([]Prop, len(ps))
	for i, p := range ps {
		out[i] = Prop{Name: p.Name, Node: p.Node.clone()}
	}
	return out
}

func cloneNodes(ns []*Node) []*Node {
	if ns == nil {
		return nil
	}
	out := make([]*Node, len(ns))
	for i, n := range ns {
		out[i] = n.clone()
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
