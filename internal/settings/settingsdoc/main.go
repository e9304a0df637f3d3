package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	write := flag.Bool("write", false, "rewrite README.md and Pulumi.yaml instead of checking them")
	root := flag.String("root", "", "the repository's root (default: the nearest directory above the working directory with the module's go.mod)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go run ./internal/settings/settingsdoc [-write] [-root DIR]\n\n"+
			"Renders the README's settings table and Pulumi.yaml's list of optional keys from\n"+
			"internal/settings. Without -write, exits 1 if either is out of date.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := run(*root, *write); err != nil {
		fmt.Fprintln(os.Stderr, "settingsdoc:", err)
		os.Exit(1)
	}
}

func run(root string, write bool) error {
	if root == "" {
		var err error
		if root, err = findRoot(); err != nil {
			return err
		}
	}
	outs, err := generate(root)
	if err != nil {
		return err
	}
	var stale []string
	for _, o := range outs {
		if o.old == o.new {
			continue
		}
		if write {
			if err := os.WriteFile(o.path, []byte(o.new), o.mode); err != nil {
				return err
			}
			fmt.Println("wrote", o.name)
			continue
		}
		stale = append(stale, o.name)
		fmt.Fprintf(os.Stderr, "%s is out of date (- now, + generated):\n%s\n", o.name, diff(o.old, o.new))
	}
	if len(stale) > 0 {
		return fmt.Errorf("%s out of date; run: %s", strings.Join(stale, " and "), command)
	}
	return nil
}

// output is a generated file: its text now and as generated.
type output struct {
	name, path string
	mode       os.FileMode
	old, new   string
}

// generate renders the table and the key list into the repository's README.md and Pulumi.yaml.
func generate(root string) ([]output, error) {
	src, err := parseSource(filepath.Join(root, "internal", "settings"))
	if err != nil {
		return nil, err
	}
	rows, err := buildRows(src)
	if err != nil {
		return nil, err
	}
	var outs []output
	for _, g := range []struct {
		name, begin, end, text string
	}{
		{"README.md", tableBegin, tableEnd, "\n" + renderTable(rows) + "\n"},
		{"Pulumi.yaml", keyListBegin, keyListEnd, renderKeyList(rows)},
	} {
		path := filepath.Join(root, g.name)
		info, err := os.Stat(path)
		if err != nil {
			return nil, err
		}
		old, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		updated, err := splice(string(old), g.begin, g.end, g.text)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", g.name, err)
		}
		outs = append(outs, output{name: g.name, path: path, mode: info.Mode().Perm(), old: string(old), new: updated})
	}
	return outs, nil
}

// splice replaces the lines between the line begin and the line end with text.
func splice(doc, begin, end, text string) (string, error) {
	lines := strings.SplitAfter(doc, "\n")
	start, stop := -1, -1
	for i, l := range lines {
		switch strings.TrimRight(l, "\r\n") {
		case begin:
			if start >= 0 {
				return "", fmt.Errorf("the marker %q is there twice", begin)
			}
			start = i
		case end:
			if start >= 0 && stop < 0 {
				stop = i
			}
		}
	}
	if start < 0 || stop < 0 {
		return "", fmt.Errorf("the markers are missing: a line %q, then a line %q", begin, end)
	}
	return strings.Join(lines[:start+1], "") + text + strings.Join(lines[stop:], ""), nil
}

// region is the generated text of a file: what splice put between its markers.
func region(doc, begin, end string) (string, error) {
	b, e := strings.Index(doc, begin+"\n"), strings.Index(doc, "\n"+end)
	if b < 0 || e < b {
		return "", errors.New("the markers are missing")
	}
	return doc[b+len(begin)+1 : e+1], nil
}

// findRoot is the nearest directory at or above the working directory with this module's go.mod.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(mod, []byte("module metaflow-azure\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the metaflow-azure repository; run it there or pass -root")
		}
		dir = parent
	}
}

// diff lists the lines only a has (-) and only b has (+), each with its line number in that
// text, from a longest common subsequence of the lines.
func diff(a, b string) string {
	x, y := strings.Split(a, "\n"), strings.Split(b, "\n")
	// lcs[i][j] is the length of the longest common subsequence of x[i:] and y[j:].
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out strings.Builder
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			i, j = i+1, j+1
		case i < len(x) && (j == len(y) || lcs[i+1][j] >= lcs[i][j+1]):
			fmt.Fprintf(&out, "-%4d %s\n", i+1, x[i])
			i++
		default:
			fmt.Fprintf(&out, "+%4d %s\n", j+1, y[j])
			j++
		}
	}
	return out.String()
}
