package azurefacts

import "slices"

// RegionsSource is where the region capability table was read.
const RegionsSource = "Azure regions list, MicrosoftDocs/reliability-docs articles/reliability/regions-list.md @ c7803c50 (2026-07-28) (https://learn.microsoft.com/azure/reliability/regions-list), agreeing on every row with ARM's GET /subscriptions/{id}/locations?api-version=2023-07-01 as cached in Azure/terraform-azurerm-avm-utl-regions @ e9d6240 (2026-03-12); PostgreSQL per-region support from MicrosoftDocs/azure-databases-docs articles/postgresql/flexible-server/includes/regions-table.md (2025-11-18)"

// Region is what the stack needs to know about a region.
type Region struct {
	Name string
	// Zones: the region has availability zones (needed by ZRS/GZRS storage and zone-redundant
	// PostgreSQL HA).
	Zones bool
	// Pair is the paired region (needed by GRS/GZRS storage and PostgreSQL geo-redundant
	// backup); empty for a region without a pair. A pair may be one-way (westus3 → eastus).
	Pair string
	// PostgresZoneRedundantHA: PostgreSQL flexible server offers zone-redundant HA here.
	PostgresZoneRedundantHA bool
	// PostgresGeoBackup: PostgreSQL flexible server offers geo-redundant backup here.
	PostgresGeoBackup bool
}

// knownRegions have their capabilities confirmed by two sources (RegionsSource). PostgreSQL
// zone-redundant HA follows the zones except where the PostgreSQL regions table says otherwise
// (Japan West: no). Its table also marks South India as supported although the regions list
// gives it no zones; that conflict is unresolved, so the stack takes the stricter answer.
// Geo-redundant backup needs a pair; the PostgreSQL table marks the one-way pairs Brazil South
// and West US 3 as unsupported.
func knownRegions() []Region {
	r := func(name string, zones bool, pair string) Region {
		return Region{Name: name, Zones: zones, Pair: pair, PostgresZoneRedundantHA: zones, PostgresGeoBackup: pair != ""}
	}
	regions := []Region{
		r("eastus", true, "westus"),
		r("eastus2", true, "centralus"),
		r("westus", false, "eastus"),
		r("westus2", true, "westcentralus"),
		r("westus3", true, "eastus"),
		r("centralus", true, "eastus2"),
		r("northcentralus", false, "southcentralus"),
		r("southcentralus", true, "northcentralus"),
		r("westcentralus", false, "westus2"),
		r("canadacentral", true, "canadaeast"),
		r("canadaeast", false, "canadacentral"),
		r("brazilsouth", true, "southcentralus"),
		r("northeurope", true, "westeurope"),
		r("westeurope", true, "northeurope"),
		r("uksouth", true, "ukwest"),
		r("ukwest", false, "uksouth"),
		r("francecentral", true, "francesouth"),
		r("germanywestcentral", true, "germanynorth"),
		r("swedencentral", true, "swedensouth"),
		r("switzerlandnorth", true, "switzerlandwest"),
		r("norwayeast", true, "norwaywest"),
		r("polandcentral", true, ""),
		r("italynorth", true, ""),
		r("spaincentral", true, ""),
		r("uaenorth", true, "uaecentral"),
		r("southafricanorth", true, "southafricawest"),
		r("centralindia", true, "southindia"),
		r("southindia", false, "centralindia"),
		r("eastasia", true, "southeastasia"),
		r("southeastasia", true, "eastasia"),
		r("japaneast", true, "japanwest"),
		r("japanwest", true, "japaneast"),
		r("koreacentral", true, "koreasouth"),
		r("australiaeast", true, "australiasoutheast"),
		r("australiasoutheast", false, "australiaeast"),
		r("newzealandnorth", true, ""),
	}
	for i := range regions {
		switch regions[i].Name {
		case "japanwest":
			regions[i].PostgresZoneRedundantHA = false
		case "brazilsouth", "westus3":
			regions[i].PostgresGeoBackup = false
		}
	}
	return regions
}

// LookupRegion returns a region's confirmed capabilities; ok is false for a region whose
// capabilities the stack has not confirmed (it may still be a valid location).
func LookupRegion(name string) (Region, bool) {
	regions := knownRegions()
	i := slices.IndexFunc(regions, func(r Region) bool { return r.Name == name })
	if i < 0 {
		return Region{}, false
	}
	return regions[i], true
}

// RegionNames are the public-cloud region names ARM accepts as a location, from
// `az account list-locations --query "[?metadata.regionType=='Physical'].name"` (the same ARM
// locations call as RegionsSource).
func RegionNames() []string {
	return []string{
		"australiacentral", "australiacentral2", "australiaeast", "australiasoutheast",
		"austriaeast", "belgiumcentral", "brazilsouth", "brazilsoutheast", "canadacentral",
		"canadaeast", "centralindia", "centralus", "chilecentral", "denmarkeast", "eastasia",
		"eastus", "eastus2", "francecentral", "francesouth", "germanynorth",
		"germanywestcentral", "indonesiacentral", "israelcentral", "italynorth", "japaneast",
		"japanwest", "jioindiacentral", "jioindiawest", "koreacentral", "koreasouth",
		"malaysiawest", "mexicocentral", "newzealandnorth", "northcentralus", "northeurope",
		"norwayeast", "norwaywest", "polandcentral", "qatarcentral", "southafricanorth",
		"southafricawest", "southcentralus", "southeastasia", "southindia", "spaincentral",
		"swedencentral", "swedensouth", "switzerlandnorth", "switzerlandwest", "uaecentral",
		"uaenorth", "uksouth", "ukwest", "westcentralus", "westeurope", "westindia", "westus",
		"westus2", "westus3",
	}
}
