// Package filetest searches what a test left on disk, such as a JetStream
// store that must hold no plaintext.
package filetest

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// Containing returns the files under dir (relative to it) that hold s,
// and how many files there are, so a caller can tell "none found" from
// "nothing searched".
func Containing(tb testing.TB, dir, s string) (found []string, files int) {
	tb.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(s)) {
			rel, _ := filepath.Rel(dir, path)
			found = append(found, rel)
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("read %s: %v", dir, err)
	}
	return found, files
}
