package deploy

import (
	"os"
	"testing"
)

// TestRender prints one build's YAML, for reading or applying without the
// kustomize CLI:
//
//	DEPLOY_RENDER=overlays/example go test -run TestRender -v . | sed -n '/^apiVersion/,$p'
//
// Names: base, overlays/<name>, components/<name> (on top of the base),
// all-components. Skipped when DEPLOY_RENDER is unset.
func TestRender(t *testing.T) {
	name := os.Getenv("DEPLOY_RENDER")
	if name == "" {
		t.Skip("set DEPLOY_RENDER to a build name to print it")
	}
	for _, b := range builds(t) {
		if b.Name == name {
			os.Stdout.Write(b.YAML)
			return
		}
	}
	t.Fatalf("no build %q", name)
}
