// Package deployerrole derives the least Azure custom role that deploys the stack: the
// management-plane actions (and, with Azure RBAC for Kubernetes, the data action) needed to
// create, read, update and delete everything the stack declares, from the stack's own resource
// types through one table (actions.go). It also checks an existing role definition against
// them. Microsoft Entra rights are not Azure RBAC and are documented in docs/deployer-role.md.
package deployerrole

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
)

// Requirement is one permission the deployer needs.
type Requirement struct {
	// Action is the Azure RBAC action (or data action) string.
	Action string
	// Data marks a data action (DataActions), as opposed to a management-plane action (Actions).
	Data bool
	// NeededBy are the resource type and function tokens that need it, sorted.
	NeededBy []string
	// Why is the reason for an action beyond a type's own read/write/delete; empty for those.
	Why string
}

// Requirements maps what the stacks declare to the permissions the deployer needs, sorted by
// kind and action. Every token must be in the azure-native table or a classified package;
// unknown tokens are all reported in one error.
func Requirements(d *Declared) ([]Requirement, error) {
	if d == nil {
		return nil, fmt.Errorf("internal-error: Requirements needs what the stacks declare")
	}
	byAction := map[string]*Requirement{}
	add := func(action string, data bool, token, why string) {
		r, ok := byAction[action]
		if !ok {
			r = &Requirement{Action: action, Data: data}
			byAction[action] = r
		}
		if !slices.Contains(r.NeededBy, token) {
			r.NeededBy = append(r.NeededBy, token)
		}
		if r.Why == "" {
			r.Why = why
		}
	}
	var unknown []error
	tokens := make([]string, 0, len(d.Tokens))
	for t := range d.Tokens {
		tokens = append(tokens, t)
	}
	slices.Sort(tokens)
	for _, token := range tokens {
		if entry, ok := azureTokens[token]; ok {
			if entry.resource != "" {
				add(entry.resource+"/read", false, token, "")
				add(entry.resource+"/write", false, token, "")
				if entry.noDelete == "" {
					add(entry.resource+"/delete", false, token, "")
				}
			}
			for _, x := range entry.extra {
				add(x.action, false, token, x.why)
			}
			continue
		}
		other, ok := classifyOther(token)
		if !ok {
			unknown = append(unknown, fmt.Errorf("%s (stack %s): no deployer permissions are mapped for this type; add it to the table in internal/deployerrole/actions.go",
				token, strings.Join(d.Tokens[token], ", ")))
			continue
		}
		if other.prefix == "kubernetes:" && len(d.KubernetesAzureRBAC) > 0 {
			add(kubernetesDataAction, true, token, fmt.Sprintf("Kubernetes objects on a cluster with Azure RBAC for Kubernetes (stack %s)", strings.Join(d.KubernetesAzureRBAC, ", ")))
		}
	}
	if err := errors.Join(unknown...); err != nil {
		return nil, err
	}
	reqs := make([]Requirement, 0, len(byAction))
	for _, r := range byAction {
		slices.Sort(r.NeededBy)
		reqs = append(reqs, *r)
	}
	slices.SortFunc(reqs, func(a, b Requirement) int {
		if a.Data != b.Data {
			if a.Data {
				return 1
			}
			return -1
		}
		return strings.Compare(strings.ToLower(a.Action), strings.ToLower(b.Action))
	})
	return reqs, nil
}

// Scope is where the role may be assigned: a subscription, or one resource group in it.
type Scope struct {
	SubscriptionID string
	// ResourceGroup is empty for the whole subscription.
	ResourceGroup string
}

var (
	guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	// Azure's resource group name rule: 1–90 letters, digits, underscores, hyphens, periods and
	// parentheses, not ending in a period.
	resourceGroupPattern = regexp.MustCompile(`^[-\w.()]{0,89}[-\w()]$`)
)

// Validate reports every malformed part of the scope, naming the flag.
func (s Scope) Validate() error {
	var errs []error
	if !guidPattern.MatchString(s.SubscriptionID) {
		errs = append(errs, fmt.Errorf("--subscription %q: want a subscription id, a GUID such as 00000000-0000-0000-0000-000000000000 (az account show --query id)", s.SubscriptionID))
	}
	if s.ResourceGroup != "" && !resourceGroupPattern.MatchString(s.ResourceGroup) {
		errs = append(errs, fmt.Errorf("--resource-group %q: want 1–90 letters, digits, underscores, hyphens, periods or parentheses, not ending in a period", s.ResourceGroup))
	}
	return errors.Join(errs...)
}

// String is the ARM ID of the scope.
func (s Scope) String() string {
	if s.ResourceGroup == "" {
		return "/subscriptions/" + s.SubscriptionID
	}
	return "/subscriptions/" + s.SubscriptionID + "/resourceGroups/" + s.ResourceGroup
}

// Definition is a custom role in the shape `az role definition create --role-definition @file`
// reads (https://learn.microsoft.com/cli/azure/role/definition). Every list is present, empty
// rather than null.
type Definition struct {
	Name             string   `json:"Name"`
	IsCustom         bool     `json:"IsCustom"`
	Description      string   `json:"Description"`
	Actions          []string `json:"Actions"`
	NotActions       []string `json:"NotActions"`
	DataActions      []string `json:"DataActions"`
	NotDataActions   []string `json:"NotDataActions"`
	AssignableScopes []string `json:"AssignableScopes"`
}

// NewDefinition builds the custom role holding exactly the requirements, assignable at scope.
// The name carries the scope's last segment because custom role names are unique per tenant,
// and a tenant may hold one deployer role per subscription or resource group.
func NewDefinition(reqs []Requirement, scope Scope, stacks []string) Definition {
	last := scope.ResourceGroup
	if last == "" {
		last = scope.SubscriptionID
	}
	def := Definition{
		Name:     fmt.Sprintf("Metaflow deployer (%s)", last),
		IsCustom: true,
		Description: fmt.Sprintf("Create, read, update and delete the Azure resources of the metaflow-azure stack(s) %s. Generated by `metaflow-azure deployer-role`; see docs/deployer-role.md.",
			strings.Join(stacks, ", ")),
		Actions: []string{}, NotActions: []string{}, DataActions: []string{}, NotDataActions: []string{},
		AssignableScopes: []string{scope.String()},
	}
	for _, r := range reqs {
		if r.Data {
			def.DataActions = append(def.DataActions, r.Action)
		} else {
			def.Actions = append(def.Actions, r.Action)
		}
	}
	return def
}

// WriteJSON writes the definition as indented JSON.
func (d Definition) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d); err != nil {
		return fmt.Errorf("writing the role definition: %w", err)
	}
	return nil
}
