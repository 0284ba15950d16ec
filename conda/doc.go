// Package conda parses conda environment specs and derives their cache key.
//
// ParseSpec reads an environment file as users write them (environment.yml,
// Azure ML's conda_dependencies.yml): name, channels, dependencies with a
// nested "- pip:" list, variables, prefix. Spec.Normalized is its canonical
// text and Spec.Key the hash the executor names a built prefix by: the same
// key means the prefix is reused with no package-manager call at all. The
// package never imports executor; it is a leaf the executor side uses.
//
// # Building a prefix
//
// BuildCommand gives the argv for each tool. The flags were checked against
// the tools' documentation (the tools cannot run in ferry's tests):
//
//	micromamba create --yes --quiet --prefix P --file environment.yml
//
// micromamba's create reads an environment YAML through --file, taking
// channels and the pip section from it; -y/--yes and -q/--quiet are its
// global options. It keeps downloaded packages under its root prefix
// (MAMBA_ROOT_PREFIX, default ~/micromamba or ~/.local/share/mamba).
//
//	mamba env create --quiet --prefix P --file environment.yml
//
// "env create", not "create": mamba 1.x delegates "env create" to conda's,
// while its own "create --file" rejects YAML files (mamba-org/mamba#633);
// mamba 2.x has micromamba's command line, where "env create" is an alias
// of "create". "--yes" is left out because conda's "env create" only gained
// it in 23.x; the prompt it answers only appears for an existing prefix,
// and BuildEnviron answers it anyway.
//
//	conda env create --quiet --prefix P --file environment.yml
//
// conda's "create --file" takes a list of specs, not YAML, so this too is
// "env create"; -q/--quiet keeps progress bars out of the run log. conda 25
// and later pick the file's format from its name, hence SpecFileName.
//
// In all three, --prefix makes the file's "name:" irrelevant, and the pip
// section runs as "pip install -r <temporary file>" from the spec file's
// directory, so relative -r paths resolve as they do for the user.
// "variables:" are applied by "conda activate" only; the executor runs the
// prefix's interpreter directly and must set Spec.Variables itself.
//
// # What the key does not cover
//
// Channels given nowhere in the file come from the target's .condarc;
// remote requirement files ("-r https://...") and packages named by
// absolute path or URL are not hashed. Local paths relative to the spec
// ("./wheels/x.whl", "-e .", "--find-links ./wheels") are: HashLocal puts
// their content in the key, and the build folder holds a copy of them
// around the spec (kept with the prefix for an editable install). Unpinned specs resolve to whatever is
// newest when the prefix is first built; the key stays the same after that.
package conda
