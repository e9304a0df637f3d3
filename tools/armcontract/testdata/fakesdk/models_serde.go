package armfake

func (w Widget) MarshalJSON() ([]byte, error) {
	objectMap := make(map[string]any)
	populate(objectMap, "id", w.ID)
	populate(objectMap, "location", w.Location)
	populate(objectMap, "properties", w.Properties)
	populate(objectMap, "tags", w.Tags)
	return json.Marshal(objectMap)
}

func (w WidgetProperties) MarshalJSON() ([]byte, error) {
	objectMap := make(map[string]any)
	populate(objectMap, "supportsHttps", w.EnableHTTPS)
	populate(objectMap, "size", w.Size)
	populate(objectMap, "count", w.Count)
	populate(objectMap, "ratio", w.Ratio)
	populateDateTimeRFC3339(objectMap, "created", w.Created)
	populate(objectMap, "parts", w.Parts)
	populate(objectMap, "identities", w.Identities)
	populateByteArray(objectMap, "blob", w.Blob, func() any { return w.Blob })
	populate(objectMap, "anything", w.Anything)
	objectMap["shape"] = w.Shape
	return json.Marshal(objectMap)
}

func (w *WidgetProperties) UnmarshalJSON(data []byte) error {
	for key, val := range rawMsg {
		switch key {
		case "provisioningState":
			err = unpopulate(val, "State", &w.State)
			delete(rawMsg, key)
		}
	}
	return nil
}

func (p *Part) UnmarshalJSON(data []byte) error {
	for key, val := range rawMsg {
		switch key {
		case "name":
			err = unpopulate(val, "Name", &p.Name)
		}
	}
	return nil
}
