package platform

import "context"

type proxyURLKey struct{}

// WithProxyURL records the egress proxy URL of the identity a call runs for
// ("" when its traffic leaves directly). Built-in drivers get the proxy as
// their *http.Client; a remote executor cannot, so the engine puts the URL
// here and the executor client forwards it with the request.
func WithProxyURL(ctx context.Context, proxyURL string) context.Context {
	return context.WithValue(ctx, proxyURLKey{}, proxyURL)
}

// ProxyURL returns the URL WithProxyURL recorded, or "".
func ProxyURL(ctx context.Context) string {
	s, _ := ctx.Value(proxyURLKey{}).(string)
	return s
}
