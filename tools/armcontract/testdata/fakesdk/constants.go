package armfake

type Size string

const (
	SizeSmall Size = "Small"
	SizeLarge Size = "Large"
	SizeHuge  Size = "Huge" // not in PossibleSizeValues: not allowed
)

func PossibleSizeValues() []Size {
	return []Size{
		SizeSmall,
		SizeLarge,
	}
}
