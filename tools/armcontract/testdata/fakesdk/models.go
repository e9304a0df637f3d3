package armfake

type Widget struct {
	// REQUIRED; The location.
	Location *string

	// The widget's properties.
	Properties *WidgetProperties

	Tags map[string]*string

	// READ-ONLY; The resource ID.
	ID *string
}

type WidgetProperties struct {
	// Client name differs from the JSON name.
	EnableHTTPS *bool

	Size *Size

	Count *int32

	Ratio *float64

	Created *time.Time

	Parts []*Part

	Identities map[string]*Part

	Blob []byte

	Anything any

	Shape ShapeClassification

	// READ-ONLY; Provisioning state.
	State *string
}

type Part struct {
	Name *string
}

type ShapeClassification interface{ GetShape() *Shape }
