package deployerrole

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Permissions are the action patterns a role definition grants and excludes. Several
// permission blocks (or roles) are merged: a principal holding all of them may do what any
// grants and none of its own block excludes — merging the exclusions is the safe reading.
type Permissions struct {
	Actions        []string
	NotActions     []string
	DataActions    []string
	NotDataActions []string
}

// permissionBlock is one set of actions. encoding/json matches keys case-insensitively, so it
// reads both "Actions" (the create shape) and "actions" (the list shape).
type permissionBlock struct {
	Actions        []string `json:"actions"`
	NotActions     []string `json:"notActions"`
	DataActions    []string `json:"dataActions"`
	NotDataActions []string `json:"notDataActions"`
}

// roleFile is one role definition in any of the shapes Azure tools write: the create shape
// (top-level Actions…), `az role definition list/show` (permissions[]) and the REST API
// (properties.permissions[]).
type roleFile struct {
	permissionBlock
	Permissions []permissionBlock `json:"permissions"`
	Properties  *struct {
		Permissions []permissionBlock `json:"permissions"`
	} `json:"properties"`
}

// ParsePermissions reads a role definition file: one object, or the array
// `az role definition list` prints (all roles in it are merged).
func ParsePermissions(data []byte) (Permissions, error) {
	var roles []roleFile
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if err := json.Unmarshal(trimmed, &roles); err != nil {
			return Permissions{}, fmt.Errorf("parsing the role definition list: %w", err)
		}
	} else {
		var one roleFile
		if err := json.Unmarshal(trimmed, &one); err != nil {
			return Permissions{}, fmt.Errorf("parsing the role definition: %w", err)
		}
		roles = []roleFile{one}
	}
	var p Permissions
	for _, r := range roles {
		blocks := append([]permissionBlock{r.permissionBlock}, r.Permissions...)
		if r.Properties != nil {
			blocks = append(blocks, r.Properties.Permissions...)
		}
		for _, b := range blocks {
			p.Actions = append(p.Actions, b.Actions...)
			p.NotActions = append(p.NotActions, b.NotActions...)
			p.DataActions = append(p.DataActions, b.DataActions...)
			p.NotDataActions = append(p.NotDataActions, b.NotDataActions...)
		}
	}
	if len(p.Actions) == 0 && len(p.DataActions) == 0 {
		return Permissions{}, errors.New("no actions found: want a role definition with Actions (as `az role definition create` reads it) or permissions[].actions (as `az role definition list` prints it)")
	}
	return p, nil
}

// Gap is a requirement a role does not meet, and why.
type Gap struct {
	Requirement
	// Reason is "not granted" or names the exclusion that removes it.
	Reason string
}

// Missing returns the requirements p does not grant, in the order given. Azure's wildcards are
// honoured: "*" matches any run of characters, "/" included ("*/read", "Microsoft.Storage/*"),
// and actions compare case-insensitively. A required wildcard (the Kubernetes data action) is
// met only by a pattern covering all of it, and is unmet when any exclusion overlaps it.
func Missing(reqs []Requirement, p Permissions) []Gap {
	var gaps []Gap
	for _, r := range reqs {
		allow, deny := p.Actions, p.NotActions
		if r.Data {
			allow, deny = p.DataActions, p.NotDataActions
		}
		granted := false
		for _, a := range allow {
			if match(a, r.Action) {
				granted = true
				break
			}
		}
		if !granted {
			gaps = append(gaps, Gap{Requirement: r, Reason: "not granted"})
			continue
		}
		for _, n := range deny {
			// Either direction overlaps: "Microsoft.Storage/*/delete" removes a required
			// delete, and a required wildcard loses whatever an exclusion under it names.
			if match(n, r.Action) || match(r.Action, n) {
				field := "NotActions"
				if r.Data {
					field = "NotDataActions"
				}
				gaps = append(gaps, Gap{Requirement: r, Reason: fmt.Sprintf("excluded by %s %q", field, n)})
				break
			}
		}
	}
	return gaps
}

// match reports whether an Azure action pattern matches s, case-insensitively; "*" in the
// pattern matches any run of characters (a "*" in s is an ordinary character, so a pattern
// matches a wildcard s only when it covers everything s covers).
func match(pattern, s string) bool {
	parts := strings.Split(strings.ToLower(pattern), "*")
	s = strings.ToLower(s)
	if len(parts) == 1 {
		return parts[0] == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return strings.HasSuffix(s, last)
}
