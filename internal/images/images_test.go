package images

import (
	"regexp"
	"strings"
	"testing"
)

// TestEveryFactNamesItsSource: each fact cites a repository at a tag or commit and, unless it
// is about the whole tree, a file.
func TestEveryFactNamesItsSource(t *testing.T) {
	t.Parallel()
	src := regexp.MustCompile(`^[\w.-]+/[\w.-]+@[\w.]+ \([0-9a-f]{40}\)|^nginxinc/docker-nginx@[0-9a-f]{40}`)
	for _, f := range Table {
		if f.Image != MetadataImage && f.Image != UIImage && f.Image != DevicePluginImage {
			t.Errorf("fact %q is about %q, not a default image", f.Fact, f.Image)
		}
		if !src.MatchString(f.Source) {
			t.Errorf("fact %q: source %q names no repository at a pinned tag/commit", f.Fact, f.Source)
		}
	}
	for _, img := range []string{MetadataImage, UIImage, DevicePluginImage} {
		if !strings.Contains(img, ":v") {
			t.Errorf("default image %s is not pinned to a release tag", img)
		}
	}
}
