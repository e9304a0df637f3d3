package stackops

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// repairFileBackend removes the torn attribute files an interrupted run can leave in a file://
// backend, so the next run can read the state again.
//
// The Pulumi CLI writes a file backend through gocloud.dev's fileblob, which writes each object
// to a temporary file and renames it (atomic), but writes the object's "<name>.attrs" sidecar in
// place: os.Create, then the JSON (blob/fileblob/attrs.go, setAttrs). A run killed between the
// two (SIGKILL, a crash, a CI timeout) leaves an empty or half-written sidecar, and from then on
// every command fails with "failed to load checkpoint: EOF" although the state file is whole.
// A sidecar only holds the content type and checksum fileblob reports; a missing one reads as
// defaults (getAttrs), so removing an unreadable one loses nothing.
func repairFileBackend(backend string, log io.Writer) error {
	if !strings.HasPrefix(backend, "file://") {
		return nil
	}
	u, err := url.Parse(backend)
	if err != nil {
		return nil // the CLI reports a bad backend URL better than we can
	}
	dir := filepath.FromSlash(u.Path)
	if dir == "" {
		dir = filepath.FromSlash(u.Opaque)
	}
	// The stacks' checkpoints and their locks are what every command reads first; history and
	// backups are not read on open and can hold many files.
	for _, sub := range []string{"stacks", "locks"} {
		if err := removeTornAttributes(filepath.Join(dir, ".pulumi", sub), log); err != nil {
			return err
		}
	}
	return nil
}

func removeTornAttributes(root string, log io.Writer) error {
	if _, err := os.Stat(root); err != nil {
		return nil
	}
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".attrs") {
			return nil
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		var v map[string]any
		if json.Unmarshal(raw, &v) == nil {
			return nil
		}
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("removing the torn state attribute file %s: %w", path, err)
		}
		fmt.Fprintf(log, "removed %s: an interrupted run left it unreadable (the state it describes is intact)\n", path)
		return nil
	})
}
