package conda

import "path/filepath"

// SpecFileName is the name the executor should give the spec file it passes
// to BuildCommand. conda 25 and later detect the file format from the name
// (other names need --format, which older versions lack), and the pip
// section runs with the file's directory as working directory, so the file
// belongs in the run's source directory, next to the user's original.
const SpecFileName = "environment.yml"

// BuildCommand returns the argv that creates a conda environment at prefix
// from specFile with tool: "micromamba", "mamba" or "conda", or a path to
// one of them (the base name picks the flavour and argv[0] is tool as
// given). It returns nil for any other tool. prefix must not exist yet:
// none of the forms below replaces an existing prefix without asking.
//
//	micromamba create --yes --quiet --prefix P --file F
//	mamba env create --quiet --prefix P --file F
//	conda env create --quiet --prefix P --file F
//
// See the package documentation for why each form is what it is. Run it
// with BuildEnviron added to the environment and stdin closed.
func BuildCommand(tool, prefix, specFile string) []string {
	tail := []string{"--prefix", prefix, "--file", specFile}
	switch filepath.Base(tool) {
	case "micromamba":
		return append([]string{tool, "create", "--yes", "--quiet"}, tail...)
	case "mamba":
		return append([]string{tool, "env", "create", "--quiet"}, tail...)
	case "conda":
		return append([]string{tool, "env", "create", "--quiet"}, tail...)
	}
	return nil
}

// BuildEnviron returns the environment variables, "KEY=value", to add when
// running a BuildCommand: they answer yes to any confirmation prompt in
// every flavour (conda reads CONDA_ALWAYS_YES, mamba 2 and micromamba read
// MAMBA_ALWAYS_YES) without a flag that older versions would reject.
func BuildEnviron() []string {
	return []string{"CONDA_ALWAYS_YES=true", "MAMBA_ALWAYS_YES=true"}
}
