package platform

import (
	"context"
	"testing"
)

func TestProxyURLContext(t *testing.T) {
	ctx := context.Background()
	if got := ProxyURL(ctx); got != "" {
		t.Fatalf("ProxyURL of a bare context = %q, want empty", got)
	}
	ctx = WithProxyURL(ctx, "socks5://u:p@10.0.0.1:1080")
	if got := ProxyURL(ctx); got != "socks5://u:p@10.0.0.1:1080" {
		t.Fatalf("ProxyURL = %q", got)
	}
	if got := ProxyURL(WithProxyURL(ctx, "")); got != "" {
		t.Fatalf("an inner empty proxy URL must win (direct egress), got %q", got)
	}
}
