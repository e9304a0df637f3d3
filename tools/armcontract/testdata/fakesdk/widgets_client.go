// A miniature of a generated Azure SDK for Go package, for the generator's tests.
package armfake

type WidgetsClient struct{ subscriptionID string }

func (client *WidgetsClient) createOrUpdateCreateRequest(ctx context.Context, resourceGroupName string, widgetName string, parameters Widget, options *WidgetsClientCreateOrUpdateOptions) (*policy.Request, error) {
	urlPath := "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Fake/widgets/{widgetName}/parts/{partName}"
	urlPath = strings.ReplaceAll(urlPath, "{partName}", url.PathEscape("default"))
	req, err := runtime.NewRequest(ctx, http.MethodPut, runtime.JoinPaths(client.internal.Endpoint(), urlPath))
	reqQP := req.Raw().URL.Query()
	reqQP.Set("api-version", "2030-01-01")
	return req, nil
}

// GadgetsClient is generated from TypeSpec: the API version is a named constant.
type GadgetsClient struct{}

const version20300101 string = "2030-01-01"

func (client *GadgetsClient) createOrUpdateCreateRequest(ctx context.Context, scope string, gadgetName string, parameters Widget, _ *GadgetsClientCreateOrUpdateOptions) (*policy.Request, error) {
	urlPath := "/{scope}/providers/Microsoft.Fake/gadgets/{gadgetName}"
	req, err := runtime.NewRequest(ctx, http.MethodPut, runtime.JoinPaths(client.internal.Endpoint(), urlPath))
	reqQP := req.Raw().URL.Query()
	reqQP.Set("api-version", version20300101)
	return req, nil
}
