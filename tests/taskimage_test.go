package tests

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The README's task image exists so that tasks start without the package index. Metaflow's
// bootstrap pip-installs its datastore's packages on every task start unless
// METAFLOW_SKIP_INSTALL_DEPENDENCIES is set in the container (metaflow_environment.py,
// _get_install_dependencies_cmd), and downloads the code package with `download-azure-blob`,
// which one of those packages provides. So the image must install every package of that list, at
// the Metaflow version it pins, and set the variable; then a task whose egress is closed still
// starts. The list is read from Metaflow's own source at that version (../shared/upstream).
func TestREADMETaskImageNeedsNoPackageIndex(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	image, err := readmeTaskImage(string(readme))
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join("..", "..", "shared", "upstream", "metaflow-"+image.metaflow+".tar.gz")
	if _, err := os.Stat(archive); err != nil {
		t.Skipf("Metaflow %s's source is not beside the repository (%v); CI has it", image.metaflow, err)
	}
	source, err := fileInArchive(archive, "metaflow/metaflow_environment.py")
	if err != nil {
		t.Fatal(err)
	}
	needed, err := bootstrapPackages(source, "azure")
	if err != nil {
		t.Fatalf("Metaflow %s: %v", image.metaflow, err)
	}
	for _, pkg := range needed {
		if !slices.Contains(image.packages, pkg) {
			t.Errorf("the README's task image does not install %s, which Metaflow %s's Azure bootstrap installs on every task start (it installs %v)", pkg, image.metaflow, image.packages)
		}
	}
	if !strings.Contains(source, "METAFLOW_SKIP_INSTALL_DEPENDENCIES") {
		t.Fatalf("Metaflow %s no longer reads METAFLOW_SKIP_INSTALL_DEPENDENCIES: check how its bootstrap skips pip now", image.metaflow)
	}
	if image.env["METAFLOW_SKIP_INSTALL_DEPENDENCIES"] == "" {
		t.Error("the README's task image does not set METAFLOW_SKIP_INSTALL_DEPENDENCIES, so every task start still runs pip against the package index")
	}
}

// The parsers are shown to catch what they must: an image missing a package, or the variable.
func TestREADMETaskImageCheckCanFail(t *testing.T) {
	const source = `
        datastore_packages = {
            "s3": ["boto3"],
            "azure": [
                "azure-identity",
                "azure-storage-blob",
            ],
        }
        cmd = "{} {}".format(
            base_cmd, " ".join(datastore_packages[datastore_type] + ["requests"])
        )`
	needed, err := bootstrapPackages(source, "azure")
	if err != nil || !slices.Equal(needed, []string{"azure-identity", "azure-storage-blob", "requests"}) {
		t.Fatalf("bootstrapPackages = %v, %v", needed, err)
	}
	image, err := readmeTaskImage("```sh\ncat > Dockerfile.task <<'DOCKERFILE'\nFROM python:3.12-slim\nRUN pip install --no-cache-dir metaflow==2.19.38 azure-identity\nDOCKERFILE\n```\n")
	if err != nil {
		t.Fatal(err)
	}
	if image.metaflow != "2.19.38" || slices.Contains(image.packages, "azure-storage-blob") || image.env["METAFLOW_SKIP_INSTALL_DEPENDENCIES"] != "" {
		t.Errorf("readmeTaskImage = %+v", image)
	}
	if _, err := bootstrapPackages(`datastore_packages = {"s3": ["boto3"]}`, "azure"); err == nil {
		t.Error("a source without the datastore's list must be an error, not an empty list")
	}
}

type taskImage struct {
	metaflow string
	packages []string
	env      map[string]string
}

// readmeTaskImage reads the Dockerfile of the README's "Task images" section: the packages its
// pip install lines name (version pins dropped) and its ENV lines.
func readmeTaskImage(readme string) (taskImage, error) {
	_, rest, ok := strings.Cut(readme, "cat > Dockerfile.task <<'DOCKERFILE'\n")
	if !ok {
		return taskImage{}, errors.New("README: no Dockerfile.task heredoc")
	}
	dockerfile, _, ok := strings.Cut(rest, "\nDOCKERFILE\n")
	if !ok {
		return taskImage{}, errors.New("README: the Dockerfile.task heredoc does not end")
	}
	img := taskImage{env: map[string]string{}}
	// Continuation lines join their instruction.
	for _, line := range strings.Split(strings.ReplaceAll(dockerfile, "\\\n", " "), "\n") {
		fields := strings.Fields(line)
		switch {
		case len(fields) >= 2 && fields[0] == "ENV":
			for _, kv := range fields[1:] {
				if k, v, ok := strings.Cut(kv, "="); ok {
					img.env[k] = strings.Trim(v, `"`)
				}
			}
		case len(fields) >= 4 && fields[0] == "RUN" && fields[1] == "pip" && fields[2] == "install":
			for _, f := range fields[3:] {
				if strings.HasPrefix(f, "-") {
					continue
				}
				name, version, _ := strings.Cut(f, "==")
				img.packages = append(img.packages, name)
				if name == "metaflow" {
					img.metaflow = version
				}
			}
		}
	}
	if img.metaflow == "" {
		return img, errors.New("README: the task image does not pin metaflow==<version>")
	}
	return img, nil
}

var (
	packageList = regexp.MustCompile(`"([a-z0-9-]+)"`)
	extraList   = regexp.MustCompile(`datastore_packages\[datastore_type\]\s*\+\s*\[([^\]]*)\]`)
)

// bootstrapPackages reads, from metaflow_environment.py, what its bootstrap pip-installs for a
// datastore: the datastore's entry of datastore_packages plus the list every datastore adds.
func bootstrapPackages(source, datastore string) ([]string, error) {
	_, rest, ok := strings.Cut(source, fmt.Sprintf("%q: [", datastore))
	if !ok {
		return nil, fmt.Errorf("no %q entry in datastore_packages", datastore)
	}
	list, _, ok := strings.Cut(rest, "]")
	if !ok {
		return nil, fmt.Errorf("the %q entry of datastore_packages does not end", datastore)
	}
	var out []string
	for _, m := range packageList.FindAllStringSubmatch(list, -1) {
		out = append(out, m[1])
	}
	if m := extraList.FindStringSubmatch(source); m != nil {
		for _, p := range packageList.FindAllStringSubmatch(m[1], -1) {
			out = append(out, p[1])
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the %q entry of datastore_packages is empty", datastore)
	}
	return out, nil
}

// fileInArchive returns one file of a .tar.gz whose entries sit under one top directory.
func fileInArchive(archive, name string) (string, error) {
	f, err := os.Open(archive)
	if err != nil {
		return "", err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return "", fmt.Errorf("%s: %w", archive, err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return "", fmt.Errorf("%s has no %s", archive, name)
		}
		if err != nil {
			return "", fmt.Errorf("%s: %w", archive, err)
		}
		if _, rel, ok := strings.Cut(h.Name, "/"); ok && rel == name {
			b, err := io.ReadAll(tr)
			return string(b), err
		}
	}
}
