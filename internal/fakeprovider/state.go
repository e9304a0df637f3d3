package fakeprovider

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"metaflow-azure/internal/fakeazure"
)

const (
	lockType          = "azure-native:authorization:ManagementLockByScope"
	resourceGroupType = "azure-native:resources/v20241101:ResourceGroup"
)

// key is where the state keeps a resource: Azure resources by their ARM ID, which is
// case-insensitive and what makes two declarations the same resource; the Terraform-bridged
// ones, whose IDs need not be unique (every random password's is "none"), by URN.
func key(urn resource.URN, typ, id string) string {
	if strings.HasPrefix(typ, "azure-native:") {
		return strings.ToLower(id)
	}
	return string(urn)
}

func (c *Cloud) create(urn resource.URN, typ, name, id string, in, out resource.PropertyMap) error {
	r := &fakeazure.Resource{URN: string(urn), Type: typ, Name: name, ID: id, Custom: true, Inputs: in.Copy(), Outputs: out.Copy()}
	k := key(urn, typ, id)
	c.mu.Lock()
	if _, ok := c.byID[k]; ok && strings.HasPrefix(typ, "azure-native:") {
		c.mu.Unlock()
		// azure-native GETs before its PUT and refuses to take over what exists (provider.go
		// Create); resources that always exist in Azure with a default body (a storage
		// account's blob service, a server's configurations) are refused as subresources
		// once they hold more than their default.
		if subresource(typ) {
			return fmt.Errorf("cannot create already existing subresource '%s'", id)
		}
		return fmt.Errorf("cannot create already existing resource '%s'", id)
	}
	c.byID[k] = r
	c.mu.Unlock()
	c.azure.Put(r)
	c.record(Op{Kind: "create", URN: string(urn), Type: typ, ID: id}, &Event{Kind: "create", Type: typ, URN: string(urn), ID: id, Inputs: r.Inputs, Outputs: r.Outputs})
	return nil
}

// subresource tells the types azure-native creates over a default body that always exists.
func subresource(typ string) bool {
	return typ == "azure-native:storage:BlobServiceProperties" || typ == "azure-native:dbforpostgresql/v20240801:Configuration"
}

func (c *Cloud) update(urn resource.URN, typ, name, id string, in, out resource.PropertyMap) error {
	r := &fakeazure.Resource{URN: string(urn), Type: typ, Name: name, ID: id, Custom: true, Inputs: in.Copy(), Outputs: out.Copy()}
	k := key(urn, typ, id)
	c.mu.Lock()
	if _, ok := c.byID[k]; !ok {
		c.mu.Unlock()
		return fmt.Errorf("fakeazure: %s: ResourceNotFound: the resource %q to update does not exist", typ, id)
	}
	c.byID[k] = r
	c.mu.Unlock()
	c.azure.Put(r)
	c.record(Op{Kind: "update", URN: string(urn), Type: typ, ID: id}, &Event{Kind: "update", Type: typ, URN: string(urn), ID: id, Inputs: r.Inputs, Outputs: r.Outputs})
	return nil
}

// delete removes a resource. A CanNotDelete lock on it or on any scope above it refuses, as ARM
// does (a lock is inherited by everything in its scope); a lock itself is removed by deleting
// it. Deleting a resource group deletes what is in it. Deleting what is already gone succeeds.
func (c *Cloud) delete(urn resource.URN, typ, id string) error {
	k := key(urn, typ, id)
	c.mu.Lock()
	if _, ok := c.byID[k]; !ok {
		c.mu.Unlock()
		// azure-native takes a 404 on delete as done (client_azcore.go); the azuread provider
		// refuses ("Application was not found", "Service Principal was not found").
		if strings.HasPrefix(typ, "azuread:") {
			return fmt.Errorf("%s %s was not found", typ, id)
		}
		c.record(Op{Kind: "delete", URN: string(urn), Type: typ, ID: id}, nil)
		return nil
	}
	gone := []*fakeazure.Resource{c.byID[k]}
	if typ == resourceGroupType {
		for other, r := range c.byID {
			if strings.HasPrefix(other, k+"/") {
				gone = append(gone, r)
			}
		}
	}
	for _, r := range gone {
		if lock := c.lockOn(r); lock != nil {
			c.mu.Unlock()
			return fmt.Errorf("fakeazure: %s: ScopeLocked: the scope %q cannot perform delete operation because the scope %q is locked (%s); remove the lock and try again",
				typ, id, str(lock.Inputs, "scope"), lock.ID)
		}
	}
	for _, r := range gone {
		delete(c.byID, key(resource.URN(r.URN), r.Type, r.ID))
	}
	c.mu.Unlock()
	for _, r := range gone {
		c.azure.Remove(r.URN)
		c.record(Op{Kind: "delete", URN: r.URN, Type: r.Type, ID: r.ID}, &Event{Kind: "delete", Type: r.Type, URN: r.URN, ID: r.ID, Inputs: r.Inputs, Outputs: r.Outputs})
	}
	return nil
}

// lockOn returns a delete lock whose scope is the resource or contains it; c.mu is held.
func (c *Cloud) lockOn(r *fakeazure.Resource) *fakeazure.Resource {
	if r.Type == lockType {
		return nil
	}
	id := strings.ToLower(r.ID)
	for _, l := range c.byID {
		if l.Type != lockType || !strings.EqualFold(str(l.Inputs, "level"), "CanNotDelete") {
			continue
		}
		scope := strings.ToLower(str(l.Inputs, "scope"))
		if id == scope || strings.HasPrefix(id, scope+"/") {
			return l
		}
	}
	return nil
}

func str(m resource.PropertyMap, k string) string {
	v, ok := m[resource.PropertyKey(k)]
	if !ok {
		return ""
	}
	for v.IsSecret() {
		v = v.SecretValue().Element
	}
	if v.IsString() {
		return v.StringValue()
	}
	return ""
}
