package fakeazure

import (
	"slices"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Fill answers the create of a resource the way the provider behind its type would: the ID it
// gets and its outputs (the inputs plus what the provider computes). Required inputs the real
// API insists on are insisted on here too.
func Fill(typ, name string, in resource.PropertyMap) (string, resource.PropertyMap, error) {
	out := in.Copy()
	id, err := fill(typ, name, in, out)
	if err != nil {
		return "", nil, err
	}
	return id, out, nil
}

// Put records a resource as it now exists, replacing an earlier record of the same URN. The
// mock monitor records registrations; an engine-facing provider records creates and updates, so
// the fake's own lookups (principal types, clusters with Entra ID) see the current state.
func (a *Azure) Put(r *Resource) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, old := range a.resources {
		if old.URN == r.URN {
			r.Order = old.Order
			a.resources[i] = r
			return
		}
	}
	r.Order = len(a.resources)
	a.resources = append(a.resources, r)
}

// Remove forgets a deleted resource.
func (a *Azure) Remove(urn string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.resources = slices.DeleteFunc(a.resources, func(r *Resource) bool { return r.URN == urn })
}

// Lookup returns the recorded resource with this URN.
func (a *Azure) Lookup(urn string) (*Resource, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range a.resources {
		if r.URN == urn {
			return r, true
		}
	}
	return nil, false
}
