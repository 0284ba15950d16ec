// Package pipenv describes pip environments: a virtual environment made
// from a chosen interpreter with "python -m venv", then "pip install -r
// requirements.txt". It parses a requirements file as pip reads it (nested
// -r/-c files, options such as --index-url, --extra-index-url,
// --find-links and --no-index, local wheels and sdists named by path),
// derives the environment's cache key, and builds a venv at a prefix.
//
// The key covers the normalised requirement lines of every file, the
// content of the local archives, --find-links folders and folders
// installed by path or editable ("-e .") they name, and the interpreter's
// version: the same key means the venv is reused with no pip
// call. Like package conda, it never imports executor.
//
// Paths resolve as pip resolves them when run from the requirements
// file's folder: -r/-c and --find-links relative to the file naming them
// (pip's req_file handles find-links that way), archives named by path
// relative to the working directory, which Build sets to the file's folder.
package pipenv
